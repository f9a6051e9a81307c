//! PATCHED (stem-mastering-suite): a GUI context for the plugin's own GUI-thread tasks.
//!
//! Upstream, a plugin can change its own parameters only through the `GuiContext` its editor
//! receives, so with the editor closed (a host's generic parameter view) it cannot. A task the
//! plugin schedules with `ProcessContext::execute_gui()` now runs with a `GuiContext` of its
//! instance available through [`with_task_gui_context`]: its parameter changes go to the host as
//! ordinary gestures (CLAP output events, VST3 `performEdit`), exactly like edits in the editor,
//! so the host's view, undo and automation stay in step.

use nice_plug_core::context::gui::GuiContext;
use std::cell::RefCell;

thread_local! {
    static TASK_GUI_CONTEXT: RefCell<Option<GuiContext>> = const { RefCell::new(None) };
}

/// Runs `task` with `context` available to [`with_task_gui_context`] on this thread.
pub(crate) fn run_with_task_gui_context<R>(context: GuiContext, task: impl FnOnce() -> R) -> R {
    let previous = TASK_GUI_CONTEXT.with(|slot| slot.replace(Some(context)));
    let result = task();
    TASK_GUI_CONTEXT.with(|slot| *slot.borrow_mut() = previous);
    result
}

/// Calls `f` with the GUI context of the instance whose GUI-thread task is running on this
/// thread, or returns `None` outside such a task (or without the `editor` feature's contexts).
pub fn with_task_gui_context<R>(f: impl FnOnce(&GuiContext) -> R) -> Option<R> {
    let context = TASK_GUI_CONTEXT.with(|slot| slot.borrow().clone());
    context.as_ref().map(f)
}
