//! CPU-time clocks for benchmarks. On a shared build machine the wall clock also counts the
//! time other processes had the core, which says nothing about the code measured; CPU time
//! does not. Linux only (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, `getrusage(RUSAGE_CHILDREN)`);
//! elsewhere both fall back to wall time since first use.

use std::time::Duration;

#[cfg(target_os = "linux")]
mod sys {
    use std::time::Duration;

    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }

    #[repr(C)]
    struct Timeval {
        tv_sec: i64,
        tv_usec: i64,
    }

    /// `struct rusage`: user and system time, then 14 `long` counters we do not read.
    #[repr(C)]
    struct Rusage {
        utime: Timeval,
        stime: Timeval,
        counters: [i64; 14],
    }

    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
        fn getrusage(who: i32, usage: *mut Rusage) -> i32;
    }

    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    const RUSAGE_CHILDREN: i32 = -1;

    pub fn thread() -> Duration {
        let mut t = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `t` is a valid, writable timespec; the call only writes it.
        unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) };
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }

    pub fn children() -> Duration {
        let zero = || Timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        let mut u = Rusage {
            utime: zero(),
            stime: zero(),
            counters: [0; 14],
        };
        // SAFETY: `u` is a valid, writable rusage of the platform's layout; the call only
        // writes it.
        unsafe { getrusage(RUSAGE_CHILDREN, &mut u) };
        let t = |v: &Timeval| Duration::new(v.tv_sec as u64, v.tv_usec as u32 * 1000);
        t(&u.utime) + t(&u.stime)
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::time::{Duration, Instant};

    fn since_start() -> Duration {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed()
    }

    pub fn thread() -> Duration {
        since_start()
    }

    pub fn children() -> Duration {
        since_start()
    }
}

/// CPU time of the calling thread.
pub fn thread_cpu_time() -> Duration {
    sys::thread()
}

/// CPU time (user + system) of every child process that has ended and been waited for.
pub fn children_cpu_time() -> Duration {
    sys::children()
}
