//! A counting global allocator for the real-time tests: `mod alloc_support;` installs it in a
//! test binary. Counts are per thread, so tests running in parallel do not count each other's
//! allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static THREAD_ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the allocator also runs while thread-locals are being torn down.
    let _ = THREAD_ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (and reallocations) made by this thread so far.
#[allow(dead_code)]
pub fn thread_allocations() -> usize {
    THREAD_ALLOCATIONS.with(|c| c.get())
}

/// Allocations `f` makes on this thread.
#[allow(dead_code)]
pub fn allocations<F: FnOnce()>(f: F) -> usize {
    let before = thread_allocations();
    f();
    thread_allocations() - before
}
