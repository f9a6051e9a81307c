//! The Stem Channel editor: header (stem type, A/B, gain match, bypass), input with its
//! gain-staging window, the EQ curve over the live spectra, the compressor / mid-side /
//! saturation / output panels and the meters. Built from the shared widgets in
//! `stem_plugin_common::widgets`; this module only lays them out and binds them to
//! [`StemChannelParams`] and [`StemChannelMeters`].

use crate::link::ChannelLinkShared;
use std::sync::Arc;

use egui::{vec2, RichText, Ui};
use nice_plug::context::gui::GuiContext;
use nice_plug::prelude::*;
use nice_plug_egui::EguiEditor;
use stem_plugin_common::widgets::{
    column, create_resizable_editor, knob_row, switched_section, theme, AbCompare,
    CorrelationMeter, EditorApp, EditorLayout, EditorSize, EqLive, EqPanel, GainReductionMeter,
    HistoryPlot, LevelMeter, LinkSessionField, MeterHold, ParamChoice, ParamKnob, ParamToggle,
    SessionField, SECTION_KNOB_DIAMETER,
};
use stem_plugin_common::EditorOpen;

use crate::meters::{StemChannelMeters, HISTORY_LEN};
use crate::params::{DynamicsModeParam, StemChannelParams, StemTypeParam};

/// The guide wants stems peaking between -12 and -6 dBFS before processing.
const GAIN_STAGING_DBFS: (f32, f32) = (-12.0, -6.0);
/// The guide's limit on how far processing may move a stem's level in the mix.
const NET_CHANGE_LIMIT_LU: f32 = 1.5;

pub struct ChannelEditor {
    params: Arc<StemChannelParams>,
    meters: Arc<StemChannelMeters>,
    eq: EqPanel,
    ab: AbCompare,
    /// Multiband band whose controls are shown.
    multiband_band: usize,
    input_bar: MeterHold,
    input_hold: MeterHold,
    output_bar: MeterHold,
    output_hold: MeterHold,
    gr_bar: MeterHold,
    /// The peak control's reduction readout, held so it can be read.
    peak_reduction: MeterHold,
    /// Scratch buffers the meters are read into (no allocation per frame once grown).
    pre_spectrum: Vec<[f32; 2]>,
    post_spectrum: Vec<[f32; 2]>,
    gr_history: Vec<f32>,
    /// The Stem Link: this stem's figures from the group's master, and the name being typed.
    link: Arc<ChannelLinkShared>,
    link_name: LinkSessionField,
    link_group: LinkSessionField,
}

/// The editor for `params`, showing `meters`.
pub fn create(
    params: Arc<StemChannelParams>,
    meters: Arc<StemChannelMeters>,
    link: Arc<ChannelLinkShared>,
) -> Option<EguiEditor<EditorApp<ChannelEditor>>> {
    create_resizable_editor(
        "Stem Channel",
        ChannelEditor {
            params,
            meters,
            eq: EqPanel::new(),
            ab: AbCompare::default(),
            multiband_band: 0,
            input_bar: MeterHold::bar(),
            input_hold: MeterHold::default(),
            output_bar: MeterHold::bar(),
            output_hold: MeterHold::default(),
            gr_bar: MeterHold::bar(),
            peak_reduction: MeterHold::default(),
            pre_spectrum: Vec::new(),
            post_spectrum: Vec::new(),
            gr_history: Vec::new(),
            link,
            link_name: LinkSessionField::default(),
            link_group: LinkSessionField::default(),
        },
    )
}

/// Readings of one frame.
struct Levels {
    input_peak_db: f32,
    input_hold_db: f32,
    output_peak_db: f32,
    output_hold_db: f32,
    compressor_gr_db: f32,
}

impl EditorLayout for ChannelEditor {
    fn editor_open(&self) -> Option<EditorOpen> {
        Some(self.meters.editor_open.clone())
    }

    fn persisted_size(&self) -> Option<&EditorSize> {
        Some(&self.params.editor_size)
    }

    fn ui(&mut self, ui: &mut Ui, gui: &GuiContext, setter: &ParamSetter) {
        let levels = self.read_meters(ui.input(|i| i.time));
        self.header(ui, gui, setter);
        self.link_row(ui);
        ui.add_space(6.0);
        let gap = ui.spacing().item_spacing.x;
        let total_w = ui.available_width();
        let total_h = ui.available_height();
        let bottom_h = 226.0_f32.min(total_h * 0.45);
        let top_h = total_h - bottom_h - 8.0;
        let side_w = 132.0;
        let meters_w = 226.0;
        let eq_w = total_w - side_w - meters_w - 2.0 * gap;

        ui.horizontal_top(|ui| {
            ui.set_height(top_h);
            column(ui, side_w, top_h, |ui| {
                self.input_panel(ui, setter, &levels)
            });
            column(ui, eq_w, top_h, |ui| self.eq_panel(ui, setter, eq_w, top_h));
            column(ui, meters_w, top_h, |ui| {
                self.meter_panel(ui, &levels, top_h)
            });
        });
        ui.add_space(8.0);
        ui.horizontal_top(|ui| {
            ui.set_height(bottom_h);
            let compressor_w = (total_w * 0.43).max(380.0);
            let output_w = 124.0;
            let peak_w = 112.0;
            let rest = (total_w - compressor_w - output_w - peak_w - 4.0 * gap) / 2.0;
            column(ui, compressor_w, bottom_h, |ui| {
                self.compressor_panel(ui, setter, &levels)
            });
            column(ui, rest, bottom_h, |ui| self.stereo_panel(ui, setter));
            column(ui, rest, bottom_h, |ui| self.saturation_panel(ui, setter));
            column(ui, peak_w, bottom_h, |ui| {
                self.peak_control_panel(ui, setter)
            });
            column(ui, output_w, bottom_h, |ui| self.output_panel(ui, setter));
        });
    }
}

impl ChannelEditor {
    fn read_meters(&mut self, now_s: f64) -> Levels {
        let m = &self.meters;
        let input = m.input_peak_dbfs.take(f32::NEG_INFINITY);
        let output = m.output_peak_dbfs.take(f32::NEG_INFINITY);
        let gr = m.compressor_gr_db.take(0.0);
        m.pre_spectrum.read(&mut self.pre_spectrum);
        m.post_spectrum.read(&mut self.post_spectrum);
        m.gr_history.snapshot(&mut self.gr_history);
        Levels {
            input_peak_db: self.input_bar.update(input, now_s),
            input_hold_db: self.input_hold.update(input, now_s),
            output_peak_db: self.output_bar.update(output, now_s),
            output_hold_db: self.output_hold.update(output, now_s),
            compressor_gr_db: self.gr_bar.update(gr.abs(), now_s),
        }
    }

    fn header(&mut self, ui: &mut Ui, gui: &GuiContext, setter: &ParamSetter) {
        let params = self.params.clone();
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("STEM CHANNEL")
                    .font(egui::FontId::proportional(17.0))
                    .strong()
                    .color(theme::TEXT),
            );
            ui.add_space(14.0);
            ui.label(RichText::new("Stem").color(theme::TEXT_DIM));
            // Choosing a stem type writes the guide's starting points for it through the host
            // (one undoable gesture per parameter), not just the type.
            let current = params.stem_type.value();
            egui::ComboBox::from_id_salt("stem-type")
                .selected_text(params.stem_type.to_string())
                .width(140.0)
                .show_ui(ui, |ui| {
                    for stem in [
                        StemTypeParam::Drums,
                        StemTypeParam::Bass,
                        StemTypeParam::Synths,
                        StemTypeParam::Vocals,
                        StemTypeParam::Fx,
                        StemTypeParam::Custom,
                    ] {
                        let name = params.stem_type.normalized_value_to_string(
                            params.stem_type.preview_normalized(stem),
                            false,
                        );
                        if ui.selectable_label(current == stem, name).clicked() && current != stem {
                            params.choose_stem_type(setter, stem.into());
                        }
                    }
                })
                .response
                .on_hover_text("Loads the guide's starting points for this kind of stem");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.add(
                    ParamToggle::for_param(&params.bypass, setter)
                        .label("Bypass")
                        .on_colour(theme::WARN),
                );
                ui.add_space(10.0);
                self.ab.show(ui, gui);
                ui.add_space(10.0);
                self.net_change(ui);
                ui.add(ParamToggle::for_param(&params.gain_match, setter).label("Gain Match"));
            });
        });
    }

    /// The Stem Link: the name this stem shows under in the master's overview, the group, and
    /// what the master says of this stem (its loudness against the mix, its share of the
    /// master limiter's gain reduction and of the peaks).
    fn link_row(&mut self, ui: &mut Ui) {
        let view = self.link.view.lock().map(|v| v.clone()).unwrap_or_default();
        ui.horizontal(|ui| {
            ui.label(RichText::new("Link").color(theme::TEXT_DIM));
            let settings = &self.params.link;
            self.link_name
                .show(ui, settings, SessionField::Name, &view.name, 100.0)
                .on_hover_text("The name this stem shows under in the Stem Master's Link window");
            self.link_group
                .show(ui, settings, SessionField::Group, &view.group, 100.0)
                .on_hover_text(
                    "The link group: the Stem Master and Stem Channels with the same group see \
                     each other (empty: one group per host process)",
                );
            let dim = |s: String| RichText::new(s).color(theme::TEXT_DIM);
            if let Some(problem) = &view.problem {
                ui.label(RichText::new(problem).color(theme::OVER));
                return;
            }
            if !view.master_present {
                ui.label(dim("no Stem Master in this group".to_string()));
                return;
            }
            let figure = |v: Option<f32>, unit: &str| {
                v.filter(|v| v.is_finite())
                    .map_or("–".to_string(), |v| format!("{v:+.1} {unit}"))
            };
            let f = view.figures;
            ui.label(dim(format!(
                "vs mix {}  ·  limiter share {}  ·  peak share {}",
                figure(f.and_then(|f| f.short_term_vs_mix_lu), "LU"),
                f.and_then(|f| f.limiter_gain_reduction_share_percent)
                    .map_or("–".to_string(), |v| format!("{v:.0} %")),
                f.and_then(|f| f.peak_share_percent)
                    .map_or("–".to_string(), |v| format!("{v:.0} %")),
            )))
            .on_hover_text(
                "From the group's Stem Master: this stem's short-term loudness against the \
                 mix, and its share of the master limiter's gain reduction and of the mix's \
                 loudest peaks since the master's mark",
            );
            if view.comparing {
                ui.label(RichText::new("WHOLE-CHAIN COMPARE").color(theme::ACCENT));
            }
        });
    }

    /// Net loudness change of the whole chain in LU, coloured when it exceeds the guide's
    /// +-1.5 dB.
    fn net_change(&self, ui: &mut Ui) {
        let lu = self.meters.net_loudness_change_lu.load();
        let shown = if lu.is_finite() { lu } else { 0.0 };
        let colour = if shown.abs() > NET_CHANGE_LIMIT_LU {
            theme::OVER
        } else {
            theme::GOOD
        };
        ui.label(
            RichText::new(format!("{shown:+.1} LU"))
                .font(theme::value_font(13.0))
                .color(colour),
        )
        .on_hover_text(
            "Net loudness change through the channel (K-weighted, short-term).\n\
             The guide keeps it within ±1.5 dB; Gain Match holds it at 0.",
        );
        ui.label(RichText::new("net").color(theme::TEXT_DIM).size(11.0));
    }

    fn input_panel(&mut self, ui: &mut Ui, setter: &ParamSetter, levels: &Levels) {
        let params = self.params.clone();
        theme::section(
            ui,
            "Input",
            |_| {},
            |ui| {
                ui.vertical_centered(|ui| {
                    knob_over_caption(ui, setter, (&params.input.trim, "Trim"), "Gain staging");
                    ui.add(ParamToggle::for_param(&params.dc_filter, setter).label("DC Filter"))
                        .on_hover_text("10 Hz high-pass: removes a DC offset and subsonic rumble");
                    let peak = levels.input_hold_db;
                    let (text, colour) = if !peak.is_finite() || peak < -150.0 {
                        ("no signal".to_owned(), theme::TEXT_DIM)
                    } else if peak < GAIN_STAGING_DBFS.0 {
                        (format!("{peak:.1} dBFS low"), theme::WARN)
                    } else if peak > GAIN_STAGING_DBFS.1 {
                        (format!("{peak:.1} dBFS hot"), theme::OVER)
                    } else {
                        (format!("{peak:.1} dBFS ok"), theme::GOOD)
                    };
                    ui.label(
                        RichText::new(text)
                            .font(theme::value_font(11.5))
                            .color(colour),
                    )
                    .on_hover_text("Stems should peak between -12 and -6 dBFS before processing");
                    ui.add_space(4.0);
                    LevelMeter::new("PEAK", &[levels.input_peak_db])
                        .holds(&[levels.input_hold_db])
                        .target_band(GAIN_STAGING_DBFS.0, GAIN_STAGING_DBFS.1)
                        .show(ui, (ui.available_height() - 8.0).max(120.0));
                });
            },
        );
    }

    fn eq_panel(&mut self, ui: &mut Ui, setter: &ParamSetter, width: f32, height: f32) {
        let params = self.params.clone();
        let dynamic: [f32; 8] = std::array::from_fn(|i| self.meters.eq_dynamic_gain_db[i].load());
        switched_section(ui, "EQ", &params.eq.enabled, setter, |ui| {
            let live = EqLive {
                pre_spectrum: &self.pre_spectrum,
                post_spectrum: &self.post_spectrum,
                dynamic_gain_db: &dynamic,
            };
            let curve_h = (height - 196.0).max(110.0);
            self.eq.show(
                ui,
                &params.eq.bands,
                setter,
                &live,
                vec2(width - 22.0, curve_h),
            );
        });
    }

    fn meter_panel(&mut self, ui: &mut Ui, levels: &Levels, height: f32) {
        let m = self.meters.clone();
        theme::section(
            ui,
            "Meters",
            |_| {},
            |ui| {
                let meter_h = height - 128.0;
                ui.horizontal(|ui| {
                    ui.spacing_mut().item_spacing.x = 4.0;
                    LevelMeter::new("IN", &[levels.input_peak_db])
                        .holds(&[levels.input_hold_db])
                        .loudness(m.input_short_term_lufs.load())
                        .show(ui, meter_h);
                    LevelMeter::new("OUT", &[levels.output_peak_db])
                        .holds(&[levels.output_hold_db])
                        .loudness(m.output_short_term_lufs.load())
                        .show(ui, meter_h);
                    GainReductionMeter::new("GR", levels.compressor_gr_db)
                        .range(12.0)
                        .show(ui, meter_h);
                });
                ui.label(
                    RichText::new("peak dBFS · short-term LUFS")
                        .font(theme::small_font())
                        .color(theme::TEXT_DIM),
                );
                CorrelationMeter::new(m.correlation.load()).show(ui, ui.available_width());
            },
        );
    }

    fn compressor_panel(&mut self, ui: &mut Ui, setter: &ParamSetter, levels: &Levels) {
        let params = self.params.clone();
        let c = &params.compressor;
        theme::section(
            ui,
            "Compressor",
            |ui| {
                ui.add(ParamToggle::for_param(&c.enabled, setter).label("On"));
                ui.add(ParamChoice::for_param(&c.mode, setter));
            },
            |ui| {
                let multiband = c.mode.value() == DynamicsModeParam::Multiband;
                ui.horizontal_top(|ui| {
                    let knobs_w = 4.0 * 64.0;
                    ui.vertical(|ui| {
                        ui.set_width(knobs_w);
                        if multiband {
                            self.multiband_controls(ui, setter);
                        } else {
                            ui.horizontal(|ui| {
                                ui.add(ParamChoice::for_param(&c.style, setter));
                                ui.add(ParamChoice::for_param(&c.detection, setter));
                            });
                            let core = [&c.threshold_db, &c.ratio, &c.attack_ms, &c.release_ms];
                            let after = [
                                (&c.knee_db, "Knee"),
                                (&c.makeup_db, "Makeup"),
                                (&c.mix_percent, "Mix"),
                                (&c.sidechain_hpf_hz, "SC HPF"),
                            ];
                            compressor_knobs(ui, setter, &[], core, &after);
                        }
                    });
                    ui.vertical(|ui| {
                        if !multiband {
                            ui.horizontal(|ui| {
                                ui.add(
                                    ParamToggle::for_param(&c.auto_release, setter)
                                        .label("Auto Rel"),
                                );
                                ui.add(
                                    ParamToggle::for_param(&c.auto_makeup, setter)
                                        .label("Auto Makeup"),
                                );
                            });
                        }
                        let plot_w = ui.available_width();
                        let plot_h = ui.available_height().max(80.0) - 4.0;
                        ui.horizontal_top(|ui| {
                            HistoryPlot::new(&self.gr_history)
                                .range(-12.0, 0.0, 3.0)
                                .colour(theme::REDUCTION)
                                .fill_from_top()
                                .capacity(HISTORY_LEN)
                                .show(ui, vec2(plot_w - 48.0, plot_h))
                                .on_hover_text("Gain reduction over the last 8 s (dB)");
                            GainReductionMeter::new("GR", levels.compressor_gr_db)
                                .range(12.0)
                                .show(ui, plot_h);
                        });
                    });
                });
            },
        );
    }

    fn multiband_controls(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let params = self.params.clone();
        let mb = &params.multiband;
        ui.horizontal(|ui| {
            ui.add(ParamChoice::for_param(&mb.num_bands, setter));
            ui.add_space(6.0);
            let bands = (mb.num_bands.value() as usize).clamp(1, mb.bands.len());
            self.multiband_band = self.multiband_band.min(bands - 1);
            for i in 0..bands {
                let gr = self.meters.multiband_gr_db[i].load();
                let text = format!("{} {:.1}", i + 1, -gr.abs());
                if ui
                    .selectable_label(self.multiband_band == i, RichText::new(text).size(11.0))
                    .on_hover_text("Band and its gain reduction (dB)")
                    .clicked()
                {
                    self.multiband_band = i;
                }
            }
        });
        let band = &mb.bands[self.multiband_band];
        let before = [
            (&mb.crossover_low_hz, "X-over Lo"),
            (&mb.crossover_high_hz, "X-over Hi"),
        ];
        let core = [
            &band.threshold_db,
            &band.ratio,
            &band.attack_ms,
            &band.release_ms,
        ];
        let after = [(&band.makeup_db, "Makeup"), (&band.knee_db, "Knee")];
        compressor_knobs(ui, setter, &before, core, &after);
    }

    fn stereo_panel(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let params = self.params.clone();
        let s = &params.stereo;
        switched_section(ui, "Mid / Side", &s.enabled, setter, |ui| {
            knob_row(
                ui,
                setter,
                &[(&s.width_percent, "Width"), (&s.balance_percent, "Balance")],
            );
            ui.horizontal(|ui| {
                ui.vertical(|ui| {
                    ui.add_space(18.0);
                    ui.add(ParamToggle::for_param(&s.mono_enabled, setter).label("Mono Bass"));
                });
                ui.add(
                    ParamKnob::for_param(&s.mono_below_hz, setter)
                        .label("Below")
                        .diameter(SECTION_KNOB_DIAMETER),
                );
            });
        });
    }

    fn saturation_panel(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let params = self.params.clone();
        let s = &params.saturation;
        switched_section(ui, "Saturation", &s.enabled, setter, |ui| {
            ui.horizontal(|ui| {
                ui.add(ParamChoice::for_param(&s.mode, setter).combo_width(86.0));
                ui.add_space(4.0);
                ui.add(ParamChoice::for_param(&s.oversampling, setter))
                    .on_hover_text("Oversampling (adds latency, reported to the host)");
            });
            knob_row(ui, setter, &[(&s.drive_db, "Drive"), (&s.color, "Colour")]);
            knob_row(
                ui,
                setter,
                &[(&s.mix_percent, "Mix"), (&s.output_db, "Output")],
            );
        });
    }

    fn peak_control_panel(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let params = self.params.clone();
        let p = &params.peak_control;
        let reduction_db = self.meters.peak_control_reduction_db.take(0.0);
        let shown_db = self
            .peak_reduction
            .update(reduction_db, ui.input(|i| i.time));
        switched_section(ui, "Peak", &p.enabled, setter, |ui| {
            knob_with_readout(
                ui,
                setter,
                (&p.level_dbfs, "Level"),
                "Peak cut",
                p.enabled
                    .value()
                    .then(|| format!("{:.1} dB", finite_or_zero(shown_db).max(0.0))),
                "How far the soft clipper takes the stem's peaks down (oversampled, adds latency \
                 while on)",
            );
        });
    }

    fn output_panel(&mut self, ui: &mut Ui, setter: &ParamSetter) {
        let params = self.params.clone();
        let gain_match_db = self.meters.gain_match_db.load();
        theme::section(
            ui,
            "Output",
            |_| {},
            |ui| {
                knob_with_readout(
                    ui,
                    setter,
                    (&params.output.gain, "Gain"),
                    "Gain match",
                    params
                        .gain_match
                        .value()
                        .then(|| format!("{:+.1} dB", finite_or_zero(gain_match_db))),
                    "Gain the loudness match applies to hold the stem's loudness",
                );
            },
        );
    }
}

/// A knob over a caption and a value readout under it (`None`: the readout's section is off).
fn knob_with_readout(
    ui: &mut Ui,
    setter: &ParamSetter,
    knob: (&FloatParam, &str),
    caption: &str,
    readout: Option<String>,
    hover: &str,
) {
    ui.vertical_centered(|ui| {
        knob_over_caption(ui, setter, knob, caption);
        let (text, colour) = match readout {
            Some(text) => (text, theme::ACCENT),
            None => ("off".to_owned(), theme::TEXT_DIM),
        };
        ui.label(
            RichText::new(text)
                .font(theme::value_font(13.0))
                .color(colour),
        )
        .on_hover_text(hover);
    });
}

fn finite_or_zero(value: f32) -> f32 {
    if value.is_finite() {
        value
    } else {
        0.0
    }
}

/// The compressor panel's eight knobs in two rows of four: `before`, the threshold, ratio,
/// attack and release every compressor has (`core`), then `after`. The broadband compressor
/// and each multiband band lay out the same way, so switching modes keeps the panel's size.
fn compressor_knobs(
    ui: &mut Ui,
    setter: &ParamSetter,
    before: &[(&FloatParam, &str)],
    core: [&FloatParam; 4],
    after: &[(&FloatParam, &str)],
) {
    let core = core
        .into_iter()
        .zip(["Threshold", "Ratio", "Attack", "Release"]);
    let knobs: Vec<_> = before
        .iter()
        .copied()
        .chain(core)
        .chain(after.iter().copied())
        .collect();
    debug_assert_eq!(knobs.len(), 8, "two rows of four");
    for row in knobs.chunks(4) {
        knob_row(ui, setter, row);
    }
}

/// The top of the Input and Output panels: the section's gain knob over a small caption.
fn knob_over_caption(ui: &mut Ui, setter: &ParamSetter, knob: (&FloatParam, &str), caption: &str) {
    ui.add(ParamKnob::for_param(knob.0, setter).label(knob.1));
    ui.add_space(6.0);
    ui.label(
        RichText::new(caption)
            .font(theme::small_font())
            .color(theme::TEXT_DIM),
    );
}
