//! The editor both plugins open until their own dedicated editors land: every parameter as a
//! labelled slider that shows its unit, accepts typed values (double-click) and resets on
//! ctrl-click, with the plugin's name on top. Built on nice-plug-egui's generic parameter list.

use std::sync::Arc;

use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::generic_ui::{self, GenericSlider};
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, Frame, NiceEguiApp,
    RepaintNotifier,
};

/// Initial editor size in logical pixels; the host may scale it.
pub const EDITOR_SIZE: (f32, f32) = (440.0, 320.0);

/// An egui app listing every parameter of `P`.
pub struct ParamListApp<P: Params> {
    params: Arc<P>,
    title: &'static str,
    /// Handed over in `build()`; `ui()` does not receive it.
    gui_context: Option<GuiContext>,
}

impl<P: Params + 'static> NiceEguiApp for ParamListApp<P> {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui_context = Some(nice_gui_ctx);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        egui::Frame::NONE.inner_margin(12.0).show(ui, |ui| {
            ui.heading(self.title);
            ui.separator();
            if let Some(context) = &self.gui_context {
                let setter = context.param_setter();
                generic_ui::create(ui, self.params.clone(), &setter, GenericSlider);
            }
        });
    }

    fn editor_closed(&mut self) {
        self.gui_context = None;
    }
}

/// The editor for a plugin whose parameters are `params`, titled with the plugin's name.
pub fn param_list_editor<P: Params + 'static>(
    params: Arc<P>,
    title: &'static str,
) -> Option<EguiEditor<ParamListApp<P>>> {
    create_egui_editor(
        EguiEditorState::from_size(LogicalSize::new(EDITOR_SIZE.0, EDITOR_SIZE.1), 1.0),
        RepaintNotifier::new(),
        EguiNiceSettings::new().with_tile(title),
        ParamListApp {
            params,
            title,
            gui_context: None,
        },
    )
}
