//! The editor window: resizable from its corner (and by hosts that resize plugin windows), with a
//! default and minimum size in logical pixels, and a size that survives in the plugin's state.
//!
//! nice-plug-egui scales logical pixels by the host's (or the system's) scale factor, so
//! everything here is in logical pixels and HiDPI screens get sharp, full-size editors.
//! `EguiEditorState` is not a persistent field, so the size is kept in an [`EditorSize`]
//! (a plugin's params hold one as `#[persist = "editor-size"]`): the editor starts at the
//! default size, asks the window for the persisted size when it opens, and records every
//! resize.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::meters::EditorOpen;

use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::params::persist::PersistentField;
use nice_plug::prelude::*;
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::{
    baseview::WindowSize, create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, Frame,
    NiceEguiApp, RepaintNotifier,
};

/// Default editor size in logical pixels: fits a 1280x800 laptop screen with room for the
/// host's window decorations.
pub const DEFAULT_EDITOR_SIZE: (u32, u32) = (1000, 640);
/// Below this the sections no longer fit side by side.
pub const MIN_EDITOR_SIZE: (u32, u32) = (860, 560);
/// Redraw interval while the editor is open, for meters and spectra.
pub const METER_FRAME_MS: u64 = 33;
/// Larger than any current screen at scale 1, small enough to catch a corrupt state.
pub const MAX_EDITOR_SIZE: (u32, u32) = (3840, 2400);

/// The editor's logical size as a persistent field of the plugin state.
#[derive(Debug)]
pub struct EditorSize(AtomicU64);

impl Default for EditorSize {
    fn default() -> Self {
        Self::new(DEFAULT_EDITOR_SIZE)
    }
}

impl EditorSize {
    pub fn new(size: (u32, u32)) -> Self {
        Self(AtomicU64::new(pack(clamp_size(size))))
    }

    /// Width and height in logical pixels.
    pub fn get(&self) -> (u32, u32) {
        unpack(self.0.load(Ordering::Relaxed))
    }

    /// Stores a size, clamped to the editor's limits.
    pub fn set(&self, size: (u32, u32)) {
        self.0.store(pack(clamp_size(size)), Ordering::Relaxed);
    }
}

impl<'a> PersistentField<'a, (u32, u32)> for EditorSize {
    fn set(&self, new_value: (u32, u32)) {
        EditorSize::set(self, new_value);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&(u32, u32)) -> R,
    {
        f(&self.get())
    }
}

fn clamp_size((width, height): (u32, u32)) -> (u32, u32) {
    (
        width.clamp(MIN_EDITOR_SIZE.0, MAX_EDITOR_SIZE.0),
        height.clamp(MIN_EDITOR_SIZE.1, MAX_EDITOR_SIZE.1),
    )
}

fn pack((width, height): (u32, u32)) -> u64 {
    (u64::from(width) << 32) | u64::from(height)
}

fn unpack(packed: u64) -> (u32, u32) {
    ((packed >> 32) as u32, packed as u32)
}

/// What a plugin's editor draws; [`EditorApp`] does the window, the theme and the plumbing.
pub trait EditorLayout: Send + 'static {
    /// Draws one frame.
    fn ui(&mut self, ui: &mut egui::Ui, gui: &GuiContext, setter: &ParamSetter);

    /// The plugin's flag for "editor visible": set when the window opens, cleared when it
    /// closes, so the audio thread computes meters only while someone looks.
    fn editor_open(&self) -> Option<EditorOpen> {
        None
    }

    /// The persisted window size, when the plugin keeps one.
    fn persisted_size(&self) -> Option<&EditorSize> {
        None
    }
}

/// Runs a function once when dropped. [`EditorApp`] stores one in the window's egui context, so
/// it runs when the window (and with it the context) goes away.
pub struct CloseHook(std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>);

impl CloseHook {
    pub fn new(on_close: impl FnOnce() + Send + 'static) -> Self {
        Self(std::sync::Mutex::new(Some(Box::new(on_close))))
    }
}

impl Drop for CloseHook {
    fn drop(&mut self) {
        let hook = match self.0.get_mut() {
            Ok(hook) => hook.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(hook) = hook {
            hook();
        }
    }
}

/// Stores `hook` in `ctx`, to run when the context is destroyed.
pub fn run_on_context_drop(ctx: &egui::Context, hook: CloseHook) {
    let hook = std::sync::Arc::new(hook);
    ctx.data_mut(|d| d.insert_temp(egui::Id::unique("stem-editor-close-hook"), hook));
}

/// A fixed-size column of an editor's grid, whose panel fills it.
pub fn column(ui: &mut egui::Ui, width: f32, height: f32, add: impl FnOnce(&mut egui::Ui)) {
    ui.allocate_ui_with_layout(
        egui::vec2(width, height),
        egui::Layout::top_down(egui::Align::Min),
        |ui| {
            ui.set_width(width);
            ui.set_min_height(height);
            add(ui);
        },
    );
}

/// A nice-plug-egui app around an [`EditorLayout`].
pub struct EditorApp<L: EditorLayout> {
    layout: L,
    /// Handed over in `build()`; `ui()` does not receive it.
    gui: Option<GuiContext>,
    window: EditorWindow,
}

impl<L: EditorLayout> NiceEguiApp for EditorApp<L> {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        super::theme::apply(&egui_ctx);
        self.gui = Some(nice_gui_ctx);
        self.window.opened();
        if let Some(flag) = self.layout.editor_open() {
            flag.set(true);
            // nice-plug-egui 0.6 never calls `NiceEguiApp::editor_closed`; the window's egui
            // context is destroyed exactly when the window closes.
            run_on_context_drop(&egui_ctx, CloseHook::new(move || flag.set(false)));
        }
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();
        let Self { layout, window, .. } = self;
        let size = layout.persisted_size().map(|s| s.get());
        window.show(ui, size, |ui| layout.ui(ui, &gui, &setter));
        // Meters and spectra move while audio runs: redraw at a steady 30 frames per second
        // (smooth for meters, a fraction of the CPU of redrawing at the display rate); input
        // and parameter changes redraw at once anyway.
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(METER_FRAME_MS));
    }

    fn resized(&mut self, new_size: WindowSize) {
        if let Some(size) = self.layout.persisted_size() {
            EditorWindow::resized(size, &new_size);
        }
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }
}

/// Creates a resizable egui editor titled `title` drawing `layout`, at the default size.
pub fn create_resizable_editor<L: EditorLayout>(
    title: &str,
    layout: L,
) -> Option<EguiEditor<EditorApp<L>>> {
    let (width, height) = DEFAULT_EDITOR_SIZE;
    let hint = ResizeHint::resizable().with_min_max_logical_size(
        Some(LogicalSize::new(
            MIN_EDITOR_SIZE.0 as f32,
            MIN_EDITOR_SIZE.1 as f32,
        )),
        Some(LogicalSize::new(
            MAX_EDITOR_SIZE.0 as f32,
            MAX_EDITOR_SIZE.1 as f32,
        )),
    );
    create_egui_editor(
        EguiEditorState::from_size(LogicalSize::new(width as f32, height as f32), 1.0),
        RepaintNotifier::new(),
        EguiNiceSettings::new()
            .with_tile(title)
            .with_resize_hint(hint),
        EditorApp {
            layout,
            gui: None,
            window: EditorWindow::new(),
        },
    )
}

/// The window frame an editor app draws into. Keeps an [`EditorSize`] in step with the window.
pub struct EditorWindow {
    /// Whether the persisted size still has to be applied to a newly opened window.
    restore_pending: bool,
}

impl EditorWindow {
    pub fn new() -> Self {
        Self {
            restore_pending: false,
        }
    }

    /// Call from `NiceEguiApp::build()`: a newly opened window restores the persisted size.
    pub fn opened(&mut self) {
        self.restore_pending = true;
    }

    /// Call from `NiceEguiApp::resized()` with the persisted size to record.
    pub fn resized(size: &EditorSize, new_size: &WindowSize) {
        size.set((
            new_size.logical.width.round() as u32,
            new_size.logical.height.round() as u32,
        ));
    }

    /// Draws the window: a resize corner and `contents`. On the first frame after opening it
    /// asks for the persisted size (`persisted`), when that differs from the current one.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        persisted: Option<(u32, u32)>,
        contents: impl FnOnce(&mut egui::Ui),
    ) {
        if std::mem::take(&mut self.restore_pending) {
            if let Some((width, height)) = persisted {
                let current = ui.ctx().content_rect().size();
                if (current.x - width as f32).abs() > 1.0 || (current.y - height as f32).abs() > 1.0
                {
                    ui.ctx()
                        .send_viewport_cmd(egui::ViewportCommand::InnerSize(egui::vec2(
                            width as f32,
                            height as f32,
                        )));
                }
            }
        }
        ResizableWindow::new("stem-editor")
            .min_size(egui::vec2(
                MIN_EDITOR_SIZE.0 as f32,
                MIN_EDITOR_SIZE.1 as f32,
            ))
            .max_size(egui::vec2(
                MAX_EDITOR_SIZE.0 as f32,
                MAX_EDITOR_SIZE.1 as f32,
            ))
            .show(ui, |ui| {
                egui::Frame::NONE
                    .fill(super::theme::BACKGROUND)
                    .inner_margin(egui::Margin::same(10))
                    .show(ui, contents);
            });
    }
}

impl Default for EditorWindow {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_round_trips_through_the_persistent_field() {
        let size = EditorSize::default();
        assert_eq!(size.get(), DEFAULT_EDITOR_SIZE);
        PersistentField::set(&size, (1234, 777));
        assert_eq!(PersistentField::map(&size, |s| *s), (1234, 777));
        let json = nice_plug::params::persist::serialize_field(&size.get()).unwrap();
        let restored = EditorSize::default();
        PersistentField::set(
            &restored,
            nice_plug::params::persist::deserialize_field::<(u32, u32)>(&json).unwrap(),
        );
        assert_eq!(restored.get(), (1234, 777));
    }

    #[test]
    fn close_hook_runs_once_when_the_egui_context_is_destroyed() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls = std::sync::Arc::new(AtomicUsize::new(0));
        let ctx = egui::Context::default();
        let counter = calls.clone();
        run_on_context_drop(
            &ctx,
            CloseHook::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        );
        // Frames come and go: the hook stays.
        let mut output = ctx.run_ui(egui::RawInput::default(), |_| {});
        output.textures_delta.clear();
        let clone = ctx.clone();
        drop(ctx);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        drop(clone);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn corrupt_sizes_are_clamped() {
        let size = EditorSize::new((0, u32::MAX));
        assert_eq!(size.get(), (MIN_EDITOR_SIZE.0, MAX_EDITOR_SIZE.1));
    }
}
