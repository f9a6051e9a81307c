//! The Stem Channel editor: header (stem type, A/B, bypass), input with its gain-staging
//! window, the EQ curve, the section panels and the meters. Built from the shared widgets in
//! `stem_plugin_common::widgets`; this module only lays them out and binds them to
//! [`StemChannelParams`].

use std::sync::Arc;

use nice_plug::prelude::*;
use nice_plug_egui::EguiEditor;
use stem_plugin_common::widgets::{
    create_resizable_editor, group_controls, theme, EditorApp, EditorLayout, ParamGroups,
    ParamKnob, ParamToggle,
};

use crate::params::StemChannelParams;

/// Groups drawn in their own panels; every other group becomes a generic section panel.
const DEDICATED_GROUPS: [&str; 2] = ["Input", "Output"];

pub struct ChannelEditor {
    params: Arc<StemChannelParams>,
    groups: ParamGroups,
}

/// The editor for `params`.
pub fn create(params: Arc<StemChannelParams>) -> Option<EguiEditor<EditorApp<ChannelEditor>>> {
    create_resizable_editor(
        "Stem Channel",
        ChannelEditor {
            groups: ParamGroups::new(params.clone()),
            params,
        },
    )
}

impl EditorLayout for ChannelEditor {
    fn ui(
        &mut self,
        ui: &mut egui::Ui,
        _gui: &nice_plug::context::gui::GuiContext,
        setter: &ParamSetter,
    ) {
        self.layout(ui, setter);
    }
}

impl ChannelEditor {
    fn layout(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        let params = self.params.clone();
        self.header(ui, setter);
        ui.add_space(6.0);
        let full = ui.available_rect_before_wrap();
        let input_w = 150.0;
        ui.horizontal_top(|ui| {
            ui.set_height(full.height());
            ui.vertical(|ui| {
                ui.set_width(input_w);
                theme::section(
                    ui,
                    "Input",
                    |_| {},
                    |ui| {
                        ui.vertical_centered(|ui| {
                            ui.add(ParamKnob::for_param(&params.input.trim, setter).label("Trim"));
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
                self.sections(ui, setter);
            });
        });
    }

    fn header(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        ui.horizontal(|ui| {
            ui.label(
                egui::RichText::new("STEM CHANNEL")
                    .font(egui::FontId::proportional(17.0))
                    .strong()
                    .color(theme::TEXT),
            );
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.add(
                    ParamToggle::for_param(&self.params.bypass, setter)
                        .label("Bypass")
                        .on_colour(theme::WARN),
                );
            });
        });
    }

    /// Every group without a dedicated panel, as generic section panels.
    fn sections(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        let names: Vec<String> = self
            .groups
            .names()
            .filter(|n| !n.is_empty() && !DEDICATED_GROUPS.contains(n))
            .map(str::to_owned)
            .collect();
        ui.horizontal_wrapped(|ui| {
            for name in names {
                ui.vertical(|ui| {
                    theme::section(
                        ui,
                        &name,
                        |_| {},
                        |ui| {
                            group_controls(ui, self.groups.group(&name), setter);
                        },
                    );
                });
            }
        });
    }
}
