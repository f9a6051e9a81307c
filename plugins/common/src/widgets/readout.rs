//! A grid of labelled numbers (loudness figures, latency, net gain change).

use egui::{Color32, RichText, Ui};

use super::theme;

/// One labelled value.
pub struct Readout {
    pub label: String,
    pub value: String,
    pub colour: Color32,
}

impl Readout {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
            colour: theme::TEXT,
        }
    }

    /// Colours the value (e.g. [`theme::OVER`] when a target is exceeded).
    pub fn colour(mut self, colour: Color32) -> Self {
        self.colour = colour;
        self
    }
}

/// Readouts laid out in `columns` columns, label over value.
pub struct ReadoutGrid<'a> {
    id: &'a str,
    readouts: &'a [Readout],
    columns: usize,
    value_size: f32,
}

impl<'a> ReadoutGrid<'a> {
    pub fn new(id: &'a str, readouts: &'a [Readout]) -> Self {
        Self {
            id,
            readouts,
            columns: 3,
            value_size: 15.0,
        }
    }

    pub fn columns(mut self, columns: usize) -> Self {
        self.columns = columns.max(1);
        self
    }

    /// Font size of the values in logical pixels.
    pub fn value_size(mut self, size: f32) -> Self {
        self.value_size = size;
        self
    }

    pub fn show(self, ui: &mut Ui) {
        egui::Grid::new(self.id)
            .num_columns(self.columns)
            .spacing(egui::vec2(14.0, 4.0))
            .show(ui, |ui| {
                for row in self.readouts.chunks(self.columns) {
                    for readout in row {
                        ui.vertical(|ui| {
                            ui.spacing_mut().item_spacing.y = 0.0;
                            ui.add(
                                egui::Label::new(
                                    RichText::new(&readout.label)
                                        .font(theme::small_font())
                                        .color(theme::TEXT_DIM),
                                )
                                .extend(),
                            );
                            ui.add(
                                egui::Label::new(
                                    RichText::new(&readout.value)
                                        .font(theme::value_font(self.value_size))
                                        .color(readout.colour),
                                )
                                .extend(),
                            );
                        });
                    }
                    ui.end_row();
                }
            });
    }
}
