//! The Stem Master editor: header (target, learn, loudness-matched A/B, A/B slots, bypass),
//! the loudness panel with its history, the EQ curve over the output spectrum,
//! the glue / limiter / width / output panels with their gain-reduction traces, and the
//! meters. Built from the shared widgets in `stem_plugin_common::widgets`; this module only
//! lays them out and binds them to [`StemMasterParams`] and [`MasterMeters`].

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use egui::{vec2, RichText, Ui};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::EguiEditor;
use stem_plugin_common::widgets::{
    column, create_resizable_editor, knob_row, switched_section, theme, AbCompare,
    CorrelationMeter, EditorApp, EditorLayout, EditorSize, EqLive, EqPanel, GainReductionMeter,
    HistoryPlot, LevelMeter, MeterHold, ParamChoice, ParamKnob, ParamToggle, Readout, ReadoutGrid,
    SECTION_KNOB_DIAMETER,
};
use stem_plugin_common::EditorOpen;

use crate::codec_check::{self, CheckCodec, CheckState};
use crate::learn_plan::{LearnPlanner, LearnWrite, LearnedPlan};
use crate::link::window::LinkWindow;
use crate::link::MasterLinkShared;
use crate::meters::{MasterMeters, GR_HISTORY_LEN, LOUDNESS_HISTORY_LEN};
use crate::params::StemMasterParams;
use crate::reference::audio::ReferenceShared;
use crate::reference::window::{ReferenceWindow, WindowRequest};
use shared_dsp::chain::ranges::LIMITER_DRIVE_DB;
use shared_dsp::chain::settings::MasterSettings;
use stem_delivery::services::{self, Playback, Programme};
use stem_plugin_common::param_helpers::set_param;

/// Distance to target (LU) within which the integrated loudness counts as on target.
const ON_TARGET_LU: f32 = 0.5;

pub struct MasterEditor {
    params: Arc<StemMasterParams>,
    meters: Arc<MasterMeters>,
    eq: EqPanel,
    ab: AbCompare,
    glue_bar: MeterHold,
    limiter_bar: MeterHold,
    /// Scratch buffers the meters are read into (no allocation per frame once grown).
    spectrum: Vec<[f32; 2]>,
    glue_history: Vec<f32>,
    limiter_history: Vec<f32>,
    short_term_history: Vec<f32>,
    /// The delivery preview window (services, codec headroom) and its codec check.
    delivery_open: bool,
    check_codec: CheckCodec,
    check: Arc<Mutex<CheckState>>,
    /// Learn's loudness plan over what the pass heard.
    learn: LearnPlanner,
    /// The reference player's window and what it shares with the audio thread.
    reference: Arc<ReferenceShared>,
    reference_window: ReferenceWindow,
    /// The Stem Link overview.
    link: Arc<MasterLinkShared>,
    link_window: LinkWindow,
}

/// The editor for `params`, showing `meters`.
pub fn create(
    params: Arc<StemMasterParams>,
    meters: Arc<MasterMeters>,
    reference: Arc<ReferenceShared>,
    link: Arc<MasterLinkShared>,
) -> Option<EguiEditor<EditorApp<MasterEditor>>> {
    create_resizable_editor(
        "Stem Master",
        MasterEditor {
            params,
            meters,
            // The master EQ follows each band's static curve in every mode: no dynamics controls.
            eq: EqPanel::new().without_dynamics(),
            ab: AbCompare::default(),
            glue_bar: MeterHold::bar(),
            limiter_bar: MeterHold::bar(),
            spectrum: Vec::new(),
            glue_history: Vec::new(),
            limiter_history: Vec::new(),
            short_term_history: Vec::new(),
            delivery_open: false,
            check_codec: CheckCodec::Mp3_320,
            check: Arc::new(Mutex::new(CheckState::Idle)),
            learn: LearnPlanner::default(),
            reference,
            reference_window: ReferenceWindow::default(),
            link,
            link_window: LinkWindow::default(),
        },
    )
}

impl EditorLayout for MasterEditor {
    fn editor_open(&self) -> Option<EditorOpen> {
        Some(self.meters.editor_open.clone())
    }

    fn persisted_size(&self) -> Option<&EditorSize> {
        Some(&self.params.editor_size)
    }

    fn ui(&mut self, ui: &mut Ui, gui: &GuiContext, setter: &ParamSetter) {
        self.read_meters(setter);
        self.header(ui, gui, setter);
        self.delivery_window(ui);
        let eq_bands = self.params.eq_bands.to_band_settings();
        let rate = self.meters.output_tail_rate_hz.load().max(1.0) as f64;
        let request = self.reference_window.show(
            ui.ctx(),
            &self.params.reference,
            &self.reference,
            &eq_bands,
            rate,
        );
        self.link_window
            .show(ui.ctx(), &self.link, &self.params.link);
        if let Some(WindowRequest::ApplyEq(bands)) = request {
            // The Match EQ into the master EQ's free bands, as the engineer's own moves.
            self.params.eq_bands.set_from(setter, &bands);
            set_param(setter, &self.params.eq.enabled, true);
        }
        ui.add_space(6.0);
        let gap = ui.spacing().item_spacing.x;
        let total_w = ui.available_width();
        let total_h = ui.available_height();
        let bottom_h = 226.0_f32.min(total_h * 0.45);
        let top_h = total_h - bottom_h - 8.0;
        let loudness_w = 268.0;
        let meters_w = 178.0;
        let eq_w = total_w - loudness_w - meters_w - 2.0 * gap;
        let now = ui.input(|i| i.time);

        ui.horizontal_top(|ui| {
            ui.set_height(top_h);
            column(ui, loudness_w, top_h, |ui| self.loudness_panel(ui, top_h));
            column(ui, eq_w, top_h, |ui| self.eq_panel(ui, setter, eq_w, top_h));
            column(ui, meters_w, top_h, |ui| self.meter_panel(ui, top_h, now));
        });
        ui.add_space(8.0);
        ui.horizontal_top(|ui| {
            ui.set_height(bottom_h);
            let side_w = 124.0;
            let dynamics_w = (total_w - 2.0 * side_w - 3.0 * gap) / 2.0;
            column(ui, dynamics_w, bottom_h, |ui| self.glue_panel(ui, setter));
            column(ui, dynamics_w, bottom_h, |ui| {
                self.limiter_panel(ui, setter)
            });
            column(ui, side_w, bottom_h, |ui| self.width_panel(ui, setter));
            column(ui, side_w, bottom_h, |ui| self.output_panel(ui, setter));
        });
    }
}

/// Where the last Learn's loudness came from, in one line with the details on hover.
fn learn_plan_readout(ui: &mut Ui, learned: &LearnedPlan) {
    let p = &learned.plan;
    let stage = if p.clipper_enabled {
        "clipper + limiter"
    } else {
        "limiter"
    };
    let clipper = match (p.damage_limiter_only_db, p.damage_with_clipper_db) {
        (Some(alone), Some(with)) => format!(
            "Clipper {}: D {alone:.1} dB with the limiter alone, {with:.1} dB with the clipper \
             (kept when at least 0.5 dB cleaner).",
            if p.clipper_enabled { "on" } else { "off" }
        ),
        _ => "Clipper off: the limiter alone cost under 0.3 dB of loudness.".to_owned(),
    };
    let heard = format!(
        "{:.0}:{:02.0}{}",
        (learned.seconds / 60.0).floor(),
        learned.seconds % 60.0,
        if learned.truncated {
            " (the start of a longer pass)"
        } else {
            ""
        }
    );
    ui.label(
        RichText::new(format!(
            "{:+.1} dB gain + {:.1} dB {stage}",
            p.plain_gain_db, p.peak_control_cost_db
        ))
        .font(theme::value_font(12.0))
        .color(theme::TEXT_DIM),
    )
    .on_hover_text(format!(
        "Learn's loudness plan over {heard} heard, for {:.1} LUFS:\n\
         pre-limiter loudness {:.1} LUFS;\n\
         plain gain to the target {:+.2} dB;\n\
         the peak stage cost {:.2} dB more drive (limiter drive {:+.2} dB);\n\
         {clipper}\n\
         Loudness damage D of the chosen stage: {:.1} dB (lower is cleaner).",
        learned.target_lufs,
        p.pre_limiter_lufs,
        p.plain_gain_db,
        p.peak_control_cost_db,
        p.drive_db,
        learned.damage_db,
    ));
}

/// `-14.2` or `—` before anything was measured.
fn lufs(value: f32) -> String {
    if value.is_finite() && value > -150.0 {
        format!("{value:.1}")
    } else {
        "—".to_owned()
    }
}

impl MasterEditor {
    fn read_meters(&mut self, setter: &ParamSetter) {
        let m = &self.meters;
        m.spectrum.read(&mut self.spectrum);
        m.glue_gr_history.snapshot(&mut self.glue_history);
        m.limiter_gr_history.snapshot(&mut self.limiter_history);
        m.short_term_history.snapshot(&mut self.short_term_history);
        // A finished learn pass: write its plan (or the solver's step) through the host, so
        // the session and automation record it like a user's move.
        let params = &self.params;
        let write = self.learn.poll(
            &m.learn_capture,
            m.learning.load(Ordering::Relaxed),
            m.take_learn_result(),
            m.output_tail_rate_hz.load() as f64,
            || {
                let mut settings = MasterSettings::default();
                params.settings(&mut settings);
                let target = params.loudness.target.value().target().integrated_lufs;
                (settings, target as f64)
            },
        );
        let (lo, hi) = LIMITER_DRIVE_DB.bounds();
        let limiter = &params.limiter;
        let (drive_db, clipper) = match write {
            None => return,
            Some(LearnWrite::Drive(drive_db)) => (drive_db, None),
            Some(LearnWrite::Plan { drive_db, clipper }) => (drive_db, Some(clipper)),
        };
        setter.begin_set_parameter(&limiter.gain_db);
        setter.set_parameter(&limiter.gain_db, drive_db.clamp(lo, hi));
        setter.end_set_parameter(&limiter.gain_db);
        if let Some(on) = clipper {
            setter.begin_set_parameter(&limiter.clipper);
            setter.set_parameter(&limiter.clipper, on);
            setter.end_set_parameter(&limiter.clipper);
        }
    }

    fn header(&mut self, ui: &mut Ui, gui: &GuiContext, setter: &ParamSetter) {
        let params = self.params.clone();
        let meters = self.meters.clone();
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("STEM MASTER")
                    .font(egui::FontId::proportional(17.0))
                    .strong()
                    .color(theme::TEXT),
            );
            ui.add_space(14.0);
            ui.label(RichText::new("Target").color(theme::TEXT_DIM));
            ui.add(ParamChoice::for_param(&params.loudness.target, setter).combo());
            if ui
                .selectable_label(self.delivery_open, "Delivery")
                .on_hover_text(
                    "How the streaming services will play this master, and what a lossy codec \
                     does to its true peak",
                )
                .clicked()
            {
                self.delivery_open = !self.delivery_open;
            }
            // In the blind test nothing outside the test says which side plays.
            let hearing_reference = self.reference.listen_reference.load(Ordering::Relaxed)
                && !self.reference_window.blind();
            if ui
                .selectable_label(
                    self.reference_window.open || hearing_reference,
                    if hearing_reference {
                        "REFERENCE"
                    } else {
                        "Reference"
                    },
                )
                .on_hover_text(
                    "Up to four reference tracks, loudness-matched, to A/B against the master \
                     (loop or in step with the song; blind test)",
                )
                .clicked()
            {
                self.reference_window.open = !self.reference_window.open;
            }
            let comparing = self.link.compare.load(Ordering::Relaxed);
            if ui
                .selectable_label(
                    self.link_window.open || comparing,
                    if comparing { "LINK: COMPARE" } else { "Link" },
                )
                .on_hover_text(
                    "The Stem Link: every Stem Channel of this group, its loudness against the \
                     mix, its share of the limiter's work, low-end conflicts, and the \
                     whole-chain compare",
                )
                .clicked()
            {
                self.link_window.open = !self.link_window.open;
            }
            let learning = meters.learning.load(Ordering::Relaxed);
            ui.add(
                ParamToggle::for_param(&params.loudness.learn, setter)
                    .label(if learning { "Learning…" } else { "Learn" })
                    .on_colour(theme::WARN),
            )
            .on_hover_text(
                "On: listen while the song plays (the loudest parts matter most).\n\
                 Off: plan the loudness over what was heard, as `stem render` does: the \
                 limiter gain that lands the master on the target, and the clipper where it \
                 is measured to be cleaner (lower loudness damage D) than the limiter alone.",
            );
            if self.learn.planning() {
                ui.label(RichText::new("Planning…").color(theme::WARN));
            } else if let (false, Some(p)) = (learning, self.learn.last()) {
                learn_plan_readout(ui, p);
            }
            if learning {
                ui.label(
                    RichText::new(format!("{} LUFS", lufs(meters.learn_measured_lufs.load())))
                        .font(theme::value_font(12.0))
                        .color(theme::WARN),
                );
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.add(
                    ParamToggle::for_param(&params.bypass, setter)
                        .label("Bypass")
                        .on_colour(theme::WARN),
                );
                ui.add_space(10.0);
                self.ab.show(ui, gui);
                ui.add_space(10.0);
                if params.loudness.compare.value() {
                    ui.label(
                        RichText::new(format!("{:+.1} dB", meters.compare_gain_db.load()))
                            .font(theme::value_font(12.0))
                            .color(theme::ACCENT),
                    )
                    .on_hover_text("Gain given to the unprocessed signal to match loudness");
                }
                ui.add(
                    ParamToggle::for_param(&params.loudness.compare, setter)
                        .label("Matched Bypass"),
                )
                .on_hover_text(
                    "Hear the unprocessed input at the processed loudness (measured), \
                     so louder never wins by being louder",
                );
            });
        });
    }

    /// The delivery preview: each streaming service's playback of the master as measured so
    /// far (`stem_delivery::services`, the table `stem` reports use), and the codec headroom
    /// check of the last seconds ([`codec_check`]).
    fn delivery_window(&mut self, ui: &mut Ui) {
        let mut open = self.delivery_open;
        egui::Window::new("Delivery preview")
            .open(&mut open)
            .resizable(false)
            .collapsible(false)
            .show(ui.ctx(), |ui| {
                self.services_grid(ui);
                ui.separator();
                self.codec_headroom(ui);
            });
        self.delivery_open = open;
    }

    fn services_grid(&self, ui: &mut Ui) {
        let m = &self.meters;
        let integrated = m.integrated_lufs.load() as f64;
        let tp = m.true_peak_max_dbtp.load() as f64;
        // The meters hold the true peak, not the sample peak: the sample peak is at most the
        // true peak, so Spotify Loud's limiter estimate errs towards engaging.
        let rows = services::preview(&Programme {
            integrated_lufs: integrated,
            true_peak_dbtp: tp,
            sample_peak_dbfs: tp,
        });
        ui.label(
            RichText::new(format!(
                "Streaming services (integrated {} LUFS, true peak {} dBTP so far)",
                lufs(integrated as f32),
                lufs(tp as f32)
            ))
            .color(theme::TEXT_DIM),
        );
        if rows.is_empty() {
            ui.label("Play the song to measure its loudness first.");
            return;
        }
        egui::Grid::new("services").striped(true).show(ui, |ui| {
            for h in ["Service", "Gain", "Plays at", "True peak", ""] {
                ui.label(RichText::new(h).color(theme::TEXT_DIM));
            }
            ui.end_row();
            for r in &rows {
                let approx = if r.estimated { "~" } else { "" };
                ui.label(&r.service);
                ui.label(format!("{:+.1} dB", r.playback_gain_db));
                ui.label(format!("{approx}{:.1} LUFS", r.result_lufs));
                ui.label(format!("{approx}{:.1} dBTP", r.result_true_peak_dbtp));
                ui.label(
                    match (r.turn_up_withheld_db, r.limiter_reduction_db, r.playback) {
                        (Some(w), _, _) => format!("turn-up held {w:.1} dB short"),
                        (_, Some(l), _) => format!("its limiter takes ~{l:.1} dB"),
                        (_, _, Playback::TurnedDown) => "turned down".to_owned(),
                        (_, _, Playback::TurnedUp) => "turned up".to_owned(),
                        (_, _, Playback::AsMastered) => "as mastered".to_owned(),
                    },
                );
                ui.end_row();
            }
        });
    }

    fn codec_headroom(&mut self, ui: &mut Ui) {
        let m = &self.meters;
        let rate = m.output_tail_rate_hz.load().max(1.0) as u32;
        let ceiling = m.target_ceiling_dbtp.load() as f64;
        let state = self.check.lock().unwrap_or_else(|e| e.into_inner()).clone();
        ui.horizontal(|ui| {
            ui.label(RichText::new("Codec headroom").color(theme::TEXT_DIM));
            egui::ComboBox::from_id_salt("check-codec")
                .selected_text(self.check_codec.label())
                .show_ui(ui, |ui| {
                    for c in CheckCodec::ALL {
                        ui.selectable_value(&mut self.check_codec, c, c.label());
                    }
                });
            let running = state == CheckState::Running;
            let tail_s = crate::meters::OUTPUT_TAIL_LEN as f64 / rate as f64;
            if ui
                .add_enabled(
                    !running,
                    egui::Button::new(format!("Check last {tail_s:.0} s")),
                )
                .on_hover_text(
                    "Encodes the last seconds of the output, decodes them and measures the true \
                     peak a listener's decoder produces",
                )
                .clicked()
            {
                let (mut left, mut right) = (Vec::new(), Vec::new());
                m.output_tail[0].snapshot(&mut left);
                m.output_tail[1].snapshot(&mut right);
                let n = left.len().min(right.len());
                left.truncate(n);
                right.truncate(n);
                codec_check::start(&self.check, self.check_codec, left, right, rate);
            }
        });
        let text = match &state {
            CheckState::Idle => RichText::new("Not checked yet.").color(theme::TEXT_DIM),
            CheckState::Running => RichText::new("Encoding and decoding…").color(theme::TEXT_DIM),
            CheckState::Failed(why) => RichText::new(why).color(theme::WARN),
            CheckState::Done(r) => {
                let over = r.decoded_true_peak_dbtp > ceiling;
                RichText::new(format!(
                    "{}, last {:.1} s: decoded true peak {:.2} dBTP ({:+.2} dB) {} the {:.1} dBTP \
                     ceiling",
                    r.codec.label(),
                    r.seconds,
                    r.decoded_true_peak_dbtp,
                    r.rise_db(),
                    if over { "over" } else { "within" },
                    ceiling
                ))
                .color(if over { theme::OVER } else { theme::GOOD })
            }
        };
        ui.label(text);
    }

    fn loudness_panel(&mut self, ui: &mut Ui, height: f32) {
        let m = self.meters.clone();
        theme::section(
            ui,
            "Loudness",
            |ui| {
                if ui
                    .button(RichText::new("Reset").size(11.0))
                    .on_hover_text("Restart the integrated, LRA and true-peak measurements")
                    .clicked()
                {
                    m.request_reset();
                }
            },
            |ui| {
                let target = m.target_lufs.load();
                let ceiling = m.target_ceiling_dbtp.load();
                let distance = m.distance_to_target_lu.load();
                let integrated = m.integrated_lufs.load();
                let tp_max = m.true_peak_max_dbtp.load();
                let over_ceiling = m.over_ceiling.load(Ordering::Relaxed);
                let distance_colour = if !distance.is_finite() {
                    theme::TEXT_DIM
                } else if distance > ON_TARGET_LU {
                    theme::OVER
                } else if distance < -ON_TARGET_LU {
                    theme::WARN
                } else {
                    theme::GOOD
                };
                ui.horizontal(|ui| {
                    ui.vertical(|ui| {
                        ui.spacing_mut().item_spacing.y = 0.0;
                        ui.label(
                            RichText::new("INTEGRATED")
                                .font(theme::small_font())
                                .color(theme::TEXT_DIM),
                        );
                        ui.label(
                            RichText::new(lufs(integrated))
                                .font(theme::value_font(30.0))
                                .color(theme::TEXT),
                        );
                        ui.label(
                            RichText::new("LUFS")
                                .font(theme::small_font())
                                .color(theme::TEXT_DIM),
                        );
                    });
                    ui.add_space(8.0);
                    ui.vertical(|ui| {
                        ui.spacing_mut().item_spacing.y = 0.0;
                        ui.label(
                            RichText::new(format!("TARGET {target:.1} LUFS / {ceiling:.1} dBTP"))
                                .font(theme::small_font())
                                .color(theme::TEXT_DIM),
                        );
                        let text = if distance.is_finite() {
                            format!("{distance:+.1} LU")
                        } else {
                            "—".to_owned()
                        };
                        ui.label(
                            RichText::new(text)
                                .font(theme::value_font(20.0))
                                .color(distance_colour),
                        )
                        .on_hover_text("Integrated loudness minus target (red: over)");
                        let turn_down = m.streaming_turn_down_db.load();
                        ui.label(
                            RichText::new(if turn_down > 0.05 {
                                format!("Streaming: -{turn_down:.1} dB")
                            } else {
                                "Streaming: no turn-down".to_owned()
                            })
                            .font(theme::value_font(11.0))
                            .color(theme::TEXT_DIM),
                        )
                        .on_hover_text(
                            "How far a service normalising to -14 LUFS would turn this master down",
                        );
                    });
                });
                ui.add_space(4.0);
                let readouts = [
                    Readout::new("MOMENTARY", lufs(m.momentary_lufs.load())),
                    Readout::new("SHORT-TERM", lufs(m.short_term_lufs.load())),
                    Readout::new(
                        "LRA",
                        format!("{:.1} LU", m.loudness_range_lu.load().max(0.0)),
                    ),
                    Readout::new("TRUE PEAK", lufs(tp_max)).colour(if over_ceiling {
                        theme::OVER
                    } else {
                        theme::TEXT
                    }),
                    Readout::new("PLR", lufs(m.plr_db.load())),
                    Readout::new(
                        "LIMITER GR",
                        reduction_text(m.limiter_gain_reduction_db.load()),
                    )
                    .colour(theme::REDUCTION),
                ];
                ReadoutGrid::new("loudness-readouts", &readouts)
                    .columns(3)
                    .value_size(14.0)
                    .show(ui);
                ui.add_space(4.0);
                let plot_h = (height - 206.0).max(60.0);
                let target_label = format!("target {target:.0}");
                HistoryPlot::new(&self.short_term_history)
                    .range(target - 18.0, target + 6.0, 6.0)
                    .capacity(LOUDNESS_HISTORY_LEN)
                    .target(target, &target_label)
                    .show(ui, vec2(ui.available_width(), plot_h))
                    .on_hover_text("Short-term loudness over the last 3 minutes (LUFS)");
            },
        );
    }

    fn eq_panel(&mut self, ui: &mut Ui, setter: &ParamSetter, width: f32, height: f32) {
        let params = self.params.clone();
        let eq_latency_ms = self.meters.eq_latency_ms.load();
        theme::section(
            ui,
            "EQ",
            |ui| {
                ui.add(ParamToggle::for_param(&params.eq.enabled, setter).label("On"));
                ui.label(
                    RichText::new(format!("{eq_latency_ms:.1} ms"))
                        .font(theme::value_font(11.0))
                        .color(theme::TEXT_DIM),
                )
                .on_hover_text(
                    "Latency of the EQ in this mode: zero latency is minimum phase; the \
                     linear-phase modes keep the phase intact at the cost of latency",
                );
                ui.add(ParamChoice::for_param(&params.eq.mode, setter).combo());
            },
            |ui| {
                let live = EqLive {
                    pre_spectrum: &[],
                    post_spectrum: &self.spectrum,
                    dynamic_gain_db: &[],
                };
                let curve_h = (height - 196.0).max(110.0);
                self.eq.show(
                    ui,
                    &params.eq_bands,
                    setter,
                    &live,
                    vec2(width - 22.0, curve_h),
                );
            },
        );
    }

    fn meter_panel(&mut self, ui: &mut Ui, height: f32, now_s: f64) {
        let m = self.meters.clone();
        let glue = self
            .glue_bar
            .update(m.glue_gain_reduction_db.load().abs(), now_s);
        let limiter = self
            .limiter_bar
            .update(m.limiter_gain_reduction_db.load().abs(), now_s);
        theme::section(
            ui,
            "Meters",
            |_| {},
            |ui| {
                let meter_h = height - 128.0;
                ui.horizontal(|ui| {
                    ui.spacing_mut().item_spacing.x = 4.0;
                    LevelMeter::new("M / S", &[m.momentary_lufs.load()])
                        .loudness(m.short_term_lufs.load())
                        .range(-48.0, 0.0)
                        .show(ui, meter_h)
                        .on_hover_text("Momentary and short-term loudness, LUFS");
                    GainReductionMeter::new("GLUE", glue)
                        .range(6.0)
                        .show(ui, meter_h);
                    GainReductionMeter::new("LIM", limiter)
                        .range(12.0)
                        .show(ui, meter_h);
                });
                ui.label(
                    RichText::new(format!("latency {:.1} ms", self.meters.latency_ms.load()))
                        .font(theme::small_font())
                        .color(theme::TEXT_DIM),
                );
                CorrelationMeter::new(m.correlation.load()).show(ui, ui.available_width());
            },
        );
    }

    fn glue_panel(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let params = self.params.clone();
        let g = &params.glue;
        switched_section(ui, "Glue", &g.enabled, setter, |ui| {
            ui.horizontal(|ui| {
                ui.add(ParamChoice::for_param(&g.ratio, setter));
                ui.add(ParamChoice::for_param(&g.attack, setter).combo());
                ui.add(ParamChoice::for_param(&g.release, setter).combo());
            });
            knobs_beside_reduction(
                ui,
                setter,
                [
                    &[(&g.threshold_db, "Threshold"), (&g.makeup_db, "Make-up")],
                    &[(&g.mix_percent, "Mix"), (&g.sidechain_hpf_hz, "SC HPF")],
                ],
                &self.glue_history,
                &GLUE_TRACE,
            );
        });
    }

    fn limiter_panel(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let params = self.params.clone();
        let l = &params.limiter;
        switched_section(ui, "True-peak limiter", &l.enabled, setter, |ui| {
            ui.horizontal(|ui| {
                ui.add(
                    ParamToggle::for_param(&l.ceiling_from_target, setter)
                        .label("Ceiling from target"),
                );
                ui.add(ParamToggle::for_param(&l.auto_release, setter).label("Auto release"));
                ui.add(ParamToggle::for_param(&l.clipper, setter).label("Clipper"));
                ui.add(ParamToggle::for_param(&params.dc_filter, setter).label("DC filter"));
            });
            knobs_beside_reduction(
                ui,
                setter,
                [
                    &[
                        (&l.gain_db, "Gain"),
                        (&l.ceiling_dbtp, "Ceiling"),
                        (&l.release_ms, "Release"),
                    ],
                    &[
                        (&l.lookahead_ms, "Lookahead"),
                        (&l.link_percent, "Link"),
                        (&l.clipper_margin_db, "Clip level"),
                    ],
                ],
                &self.limiter_history,
                &LIMITER_TRACE,
            );
        });
    }

    fn width_panel(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let params = self.params.clone();
        let w = &params.width;
        switched_section(ui, "Width", &w.enabled, setter, |ui| {
            ui.vertical_centered(|ui| {
                ui.add(
                    ParamKnob::for_param(&w.width_percent, setter)
                        .label("Width")
                        .diameter(SECTION_KNOB_DIAMETER),
                );
                ui.add(
                    ParamKnob::for_param(&w.mono_below_hz, setter)
                        .label("Mono below")
                        .diameter(SECTION_KNOB_DIAMETER),
                );
            });
        });
    }

    fn output_panel(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let params = self.params.clone();
        theme::section(
            ui,
            "Output",
            |_| {},
            |ui| {
                ui.vertical_centered(|ui| {
                    ui.add(
                        ParamKnob::for_param(&params.output.gain, setter)
                            .label("Gain")
                            .diameter(SECTION_KNOB_DIAMETER),
                    );
                    ui.label(
                        RichText::new("Dither")
                            .font(theme::small_font())
                            .color(theme::TEXT_DIM),
                    );
                    ui.add(
                        ParamChoice::for_param(&params.dither.mode, setter)
                            .combo_width(ui.available_width() - 8.0),
                    );
                    ui.add(ParamChoice::for_param(&params.dither.bits, setter));
                });
            },
        );
    }
}

/// How the glue and limiter panels plot a gain-reduction history: 0 dB at the top, filled down
/// to the reduction, over the last [`GR_HISTORY_LEN`] points.
struct ReductionTrace {
    /// Bottom of the plot (the deepest reduction shown), dB.
    bottom_db: f32,
    /// Grid line spacing, dB.
    grid_step_db: f32,
    hover: &'static str,
}

const GLUE_TRACE: ReductionTrace = ReductionTrace {
    bottom_db: -6.0,
    grid_step_db: 2.0,
    hover: "Glue gain reduction over the last 10 s (dB)",
};
const LIMITER_TRACE: ReductionTrace = ReductionTrace {
    bottom_db: -12.0,
    grid_step_db: 3.0,
    hover: "Limiter gain reduction over the last 10 s (dB)",
};

/// Two rows of section knobs with a gain-reduction trace filling the rest of the row: the
/// body of the glue and limiter panels.
fn knobs_beside_reduction(
    ui: &mut Ui,
    setter: &ParamSetter,
    rows: [&[(&FloatParam, &str)]; 2],
    history: &[f32],
    trace: &ReductionTrace,
) {
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            for row in rows {
                knob_row(ui, setter, row);
            }
        });
        let plot_h = ui.available_height().max(80.0) - 4.0;
        HistoryPlot::new(history)
            .range(trace.bottom_db, 0.0, trace.grid_step_db)
            .colour(theme::REDUCTION)
            .fill_from_top()
            .capacity(GR_HISTORY_LEN)
            .show(ui, vec2(ui.available_width(), plot_h))
            .on_hover_text(trace.hover);
    });
}

/// Gain reduction as a negative dB figure, `0.0` when there is none.
fn reduction_text(reduction_db: f32) -> String {
    let db = reduction_db.abs();
    if db.is_finite() && db >= 0.05 {
        format!("{:.1}", -db)
    } else {
        "0.0".to_owned()
    }
}
