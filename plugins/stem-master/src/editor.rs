//! The Stem Master editor: header (A/B, bypass), the loudness panel, the EQ curve, glue and
//! limiter panels and the meters. Built from the shared widgets in
//! `stem_plugin_common::widgets`; this module only lays them out and binds them to
//! [`StemMasterParams`].

use std::sync::Arc;

use nice_plug::prelude::*;
use nice_plug_egui::EguiEditor;
use stem_plugin_common::widgets::{
    create_resizable_editor, group_controls, theme, EditorApp, EditorLayout, ParamGroups,
    ParamKnob, ParamToggle,
};

use crate::params::StemMasterParams;

/// Groups drawn in their own panels; every other group becomes a generic section panel.
const DEDICATED_GROUPS: [&str; 2] = ["Input", "Output"];

pub struct MasterEditor {
    params: Arc<StemMasterParams>,
    groups: ParamGroups,
}

/// The editor for `params`.
pub fn create(params: Arc<StemMasterParams>) -> Option<EguiEditor<EditorApp<MasterEditor>>> {
    create_resizable_editor(
        "Stem Master",
        MasterEditor {
            groups: ParamGroups::new(params.clone()),
            params,
        },
    )
}

impl EditorLayout for MasterEditor {
    fn ui(
        &mut self,
        ui: &mut egui::Ui,
        _gui: &nice_plug::context::gui::GuiContext,
        setter: &ParamSetter,
    ) {
        let params = self.params.clone();
        ui.horizontal(|ui| {
            ui.label(
                egui::RichText::new("STEM MASTER")
                    .font(egui::FontId::proportional(17.0))
                    .strong()
                    .color(theme::TEXT),
            );
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.add(
                    ParamToggle::for_param(&params.bypass, setter)
                        .label("Bypass")
                        .on_colour(theme::WARN),
                );
            });
        });
        ui.add_space(6.0);
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(150.0);
                theme::section(
                    ui,
                    "Input",
                    |_| {},
                    |ui| {
                        ui.vertical_centered(|ui| {
                            ui.add(ParamKnob::for_param(&params.input.trim, setter).label("Gain"));
                        });
                    },
                );
                ui.add_space(6.0);
                theme::section(
                    ui,
                    "Output",
                    |_| {},
                    |ui| {
                        ui.vertical_centered(|ui| {
                            ui.add(ParamKnob::for_param(&params.output.gain, setter).label("Gain"));
                        });
                    },
                );
            });
            let centre_w = ui.available_width();
            ui.vertical(|ui| {
                ui.set_width(centre_w);
                let names: Vec<String> = self
                    .groups
                    .names()
                    .filter(|n| !n.is_empty() && !DEDICATED_GROUPS.contains(n))
                    .map(str::to_owned)
                    .collect();
                ui.horizontal_wrapped(|ui| {
                    for name in names {
                        theme::section(
                            ui,
                            &name,
                            |_| {},
                            |ui| {
                                group_controls(ui, self.groups.group(&name), setter);
                            },
                        );
                    }
                });
            });
        });
    }
}
