//! The Stem Master's *Link* window: one row per linked Stem Channel with its loudness against
//! the mix (live and since the mark), its share of the limiter's gain reduction and of the
//! peaks, its own dynamics, latency and phase audit and bypass state; the low-end conflicts;
//! the group; *Mark*, *Reset* and the whole-chain compare.
//!
//! Nothing here is a host parameter or part of the saved state except the group name (through
//! [`LinkSettings`]): the overview never makes a session dirty.

use super::{MasterLinkShared, MasterLinkView};
use egui::{Color32, RichText, Ui};
use shared_dsp::chain::settings::StemType;
use shared_dsp::link::record::{BANDS, BAND_CENTRES_HZ};
use std::sync::atomic::Ordering;
use stem_plugin_common::link_session::LinkSettings;
use stem_plugin_common::widgets::{theme, EqCurveView, LinkSessionField, SessionField};

/// Where the window first opens, logical pixels from the editor's top left.
pub const LINK_WINDOW_POS: (f32, f32) = (120.0, 90.0);

#[derive(Default)]
pub struct LinkWindow {
    pub open: bool,
    group: LinkSessionField,
}

/// A figure with its unit, or a dash.
fn figure(value: Option<f32>, unit: &str, signed: bool) -> String {
    match value {
        Some(v) if v.is_finite() && signed => format!("{v:+.1} {unit}"),
        Some(v) if v.is_finite() => format!("{v:.1} {unit}"),
        _ => "–".to_string(),
    }
}

/// The stem type a channel reports, by name.
pub fn role_name(role: u32) -> &'static str {
    StemType::ALL
        .get(role as usize)
        .map_or("?", |stem| stem.name())
}

impl LinkWindow {
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        shared: &MasterLinkShared,
        settings: &LinkSettings,
    ) {
        if !self.open {
            return;
        }
        let view = shared.view.lock().map(|v| v.clone()).unwrap_or_default();
        let mut open = self.open;
        egui::Window::new("Stem Link")
            .open(&mut open)
            .resizable(false)
            .collapsible(false)
            .default_width(760.0)
            .default_pos(egui::pos2(LINK_WINDOW_POS.0, LINK_WINDOW_POS.1))
            .show(ctx, |ui| {
                self.group_row(ui, &view, settings);
                ui.separator();
                controls(ui, shared);
                ui.separator();
                table(ui, &view, shared);
                ui.separator();
                conflicts(ui, &view);
                highlighted_spectrum(ui, &view, shared);
            });
        self.open = open;
    }

    fn group_row(&mut self, ui: &mut Ui, view: &MasterLinkView, settings: &LinkSettings) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("Group").color(theme::TEXT_DIM));
            self.group
                .show(ui, settings, SessionField::Group, &view.group, 180.0)
                .on_hover_text(
                    "Instances with the same group name see each other (empty: one group per \
                     host process, or STEM_LINK_GROUP). Give two songs or two sessions \
                     different names; the name is applied when you leave the field.",
                );
            match &view.problem {
                Some(problem) => {
                    ui.label(RichText::new(problem).color(theme::OVER));
                }
                None => {
                    ui.label(
                        RichText::new(format!(
                            "linked as \"{}\": {} stem{}",
                            view.group,
                            view.stems.len(),
                            if view.stems.len() == 1 { "" } else { "s" }
                        ))
                        .color(theme::TEXT_DIM),
                    );
                }
            }
            if view.other_masters > 0 {
                ui.label(RichText::new("another Stem Master is in this group").color(theme::WARN));
            }
        });
    }
}

fn table(ui: &mut Ui, view: &MasterLinkView, shared: &MasterLinkShared) {
    if view.stems.is_empty() {
        ui.label(
            RichText::new(
                "No Stem Channel in this group yet. Figures follow the transport: press \
                     play.",
            )
            .color(theme::TEXT_DIM),
        );
        return;
    }
    egui::Grid::new("link-stems")
        .striped(true)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            for head in [
                "Stem",
                "Type",
                "vs mix now",
                "vs mix",
                "since mark",
                "limiter GR share",
                "peak share",
                "own GR",
                "latency",
                "phase",
                "",
            ] {
                ui.label(RichText::new(head).color(theme::TEXT_DIM));
            }
            ui.end_row();
            for stem in &view.stems {
                let s = &stem.status;
                let f = &stem.figures;
                let name = if s.name.is_empty() {
                    role_name(s.role)
                } else {
                    &s.name
                };
                let selected = shared.highlighted.load(Ordering::Relaxed) == f.instance_id;
                if ui
                    .selectable_label(selected, name)
                    .on_hover_text("Draws this stem's spectrum over the master's")
                    .clicked()
                {
                    let id = if selected { 0 } else { f.instance_id };
                    shared.highlighted.store(id, Ordering::Relaxed);
                }
                ui.label(role_name(s.role));
                ui.label(figure(f.short_term_vs_mix_lu, "LU", true));
                ui.label(figure(f.loudness_vs_mix_lu, "LU", true));
                ui.label(figure(f.change_since_mark_lu, "LU", true));
                ui.label(figure(f.limiter_gain_reduction_share_percent, "%", false));
                ui.label(figure(f.peak_share_percent, "%", false));
                ui.label(figure(Some(s.gain_reduction_db), "dB", false));
                let warn = |differs: bool| if differs { theme::WARN } else { theme::TEXT };
                ui.label(
                    RichText::new(format!("{} smp", s.latency_samples))
                        .color(warn(stem.latency_differs)),
                )
                .on_hover_text("Flagged when it differs from most stems' latency");
                ui.label(
                    RichText::new(if s.linear_phase { "linear" } else { "minimum" })
                        .color(warn(stem.phase_differs)),
                );
                let state = match (s.bypassed, s.compare) {
                    (true, _) => RichText::new("bypassed").color(theme::WARN),
                    (false, true) => RichText::new("comparing").color(theme::ACCENT),
                    _ => RichText::new(""),
                };
                ui.label(state);
                ui.end_row();
            }
        });
}

/// The highlighted stem's spectrum (accent) over the master input's (grey), 1/3-octave.
fn highlighted_spectrum(ui: &mut Ui, view: &MasterLinkView, shared: &MasterLinkShared) {
    let id = shared.highlighted.load(Ordering::Relaxed);
    let Some(stem) = view.stems.iter().find(|s| s.figures.instance_id == id) else {
        return;
    };
    ui.separator();
    ui.label(
        RichText::new(format!(
            "{} (colour) over the master's input (grey), 1/3-octave band energies as each \
             publishes them",
            stem.status.name
        ))
        .color(theme::TEXT_DIM),
    );
    let pairs = |frame: &[f32; BANDS]| -> Vec<[f32; 2]> {
        BAND_CENTRES_HZ
            .iter()
            .zip(frame)
            .filter(|(_, db)| db.is_finite())
            .map(|(&hz, &db)| [hz, db])
            .collect()
    };
    let (master, stem) = (pairs(&view.master_band_db), pairs(&stem.status.band_db));
    let flat = |_hz: f32| 0.0;
    EqCurveView::new(&flat, &[])
        .spectra(&master, &stem)
        .spectrum_range_db(-90.0, 0.0)
        .show(ui, egui::vec2(ui.available_width().min(740.0), 120.0));
}

fn controls(ui: &mut Ui, shared: &MasterLinkShared) {
    ui.horizontal(|ui| {
        if ui
            .button("Mark")
            .on_hover_text(
                "Sets the reference point: every figure counts again from here, and \"since \
                 mark\" shows how far each stem moved against the mix",
            )
            .clicked()
        {
            shared.mark_requested.store(true, Ordering::Relaxed);
        }
        if ui
            .button("Reset")
            .on_hover_text("Forgets every figure and the mark")
            .clicked()
        {
            shared.reset_requested.store(true, Ordering::Relaxed);
        }
        let comparing = shared.compare.load(Ordering::Relaxed);
        if ui
            .add(egui::Button::new("Compare whole chain").selected(comparing))
            .on_hover_text(
                "Every linked Stem Channel and this master switch to their loudness-matched \
                 bypass at once: the raw stems summed, at the processed loudness",
            )
            .clicked()
        {
            shared.compare.store(!comparing, Ordering::Relaxed);
        }
    });
}

fn conflicts(ui: &mut Ui, view: &MasterLinkView) {
    if view.stems.len() < 2 {
        return;
    }
    if view.conflicts.is_empty() {
        ui.label(
            RichText::new("Low end (below 150 Hz): no two stems share it").color(theme::TEXT_DIM),
        );
        return;
    }
    ui.label(RichText::new("Low-end conflicts (below 150 Hz)").color(theme::TEXT_DIM));
    for (i, j, pair) in &view.conflicts {
        let name = |k: usize| view.stems[k].status.name.clone();
        let how = if pair.correlation > 0.5 {
            "they add up (low-end build-up)"
        } else if pair.correlation < -0.5 {
            "they cancel (check polarity or phase)"
        } else {
            "they beat against each other"
        };
        let colour: Color32 = if pair.overlap > 0.6 {
            theme::OVER
        } else {
            theme::WARN
        };
        ui.label(
            RichText::new(format!(
                "{} × {}: overlap {:.0} %, correlation {:+.2}: {how}",
                name(*i),
                name(*j),
                100.0 * pair.overlap,
                pair.correlation
            ))
            .color(colour),
        );
    }
}
