//! A/B comparison of two complete settings: the editor keeps one plugin state per slot and
//! swaps them through the host (`GuiContext::set_state`), so both slots are real, recallable
//! settings and the host sees an ordinary state change.

use egui::{vec2, Color32, RichText, Ui};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::PluginState;

use super::theme;

/// Two settings slots; the active one is what the plugin runs.
#[derive(Default)]
pub struct AbCompare {
    /// The stored state of each slot (the active slot's entry is stale while it is active).
    slots: [Option<PluginState>; 2],
    active: usize,
}

impl AbCompare {
    /// Which slot is active: 0 = A, 1 = B.
    pub fn active(&self) -> usize {
        self.active
    }

    /// Draws `A | B | A to B` buttons.
    pub fn show(&mut self, ui: &mut Ui, gui: &GuiContext) {
        ui.spacing_mut().item_spacing.x = 2.0;
        // In a right-to-left row (a header's right side) add them in reverse so they read A, B.
        let right_to_left = ui.layout().prefer_right_to_left();
        if right_to_left {
            self.copy_button(ui, gui);
        }
        let mut slots = [(0, "A"), (1, "B")];
        if right_to_left {
            slots.reverse();
        }
        for (slot, name) in slots {
            let active = self.active == slot;
            let text = RichText::new(name).strong().size(12.0).color(if active {
                Color32::from_rgb(0x10, 0x12, 0x16)
            } else {
                theme::TEXT
            });
            let mut button = egui::Button::new(text).min_size(vec2(24.0, 20.0));
            if active {
                button = button.fill(theme::ACCENT);
            }
            let hover = if active {
                format!("Setting {name} is active")
            } else {
                format!("Switch to setting {name}")
            };
            if ui.add(button).on_hover_text(hover).clicked() && !active {
                self.switch_to(slot, gui);
            }
        }
        if !right_to_left {
            self.copy_button(ui, gui);
        }
    }

    fn copy_button(&mut self, ui: &mut Ui, gui: &GuiContext) {
        let label = if self.active == 0 { "A to B" } else { "B to A" };
        if ui
            .add(egui::Button::new(RichText::new(label).size(11.0)).min_size(vec2(0.0, 20.0)))
            .on_hover_text("Copy the active setting to the other slot")
            .clicked()
        {
            self.slots[1 - self.active] = Some(gui.get_state());
        }
    }

    fn switch_to(&mut self, slot: usize, gui: &GuiContext) {
        self.slots[self.active] = Some(gui.get_state());
        // A slot never used starts as a copy of the current setting.
        if let Some(state) = self.slots[slot].clone() {
            gui.set_state(state);
        }
        self.active = slot;
    }
}
