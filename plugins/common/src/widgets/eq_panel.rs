//! The EQ section both editors show: the [`EqCurveView`] bound to an [`EqParams`] (handles
//! move the bands' parameters through the host), a band strip to pick a band, and the picked
//! band's controls (type, frequency, gain, Q, slope, stereo placement, dynamics).

use egui::{vec2, RichText, Ui};
use nice_plug::prelude::{Param, ParamSetter};
use shared_dsp::eq::{BandKind, BandSettings, EqCurve, Placement};

use super::eq_curve::{BandEdit, BandHandle, EqCurveView};
use super::knob::{ParamChoice, ParamKnob, ParamToggle};
use super::theme;
use crate::eq_params::{BandType, EqBandParams, EqParams, EQ_BANDS};
use crate::param_helpers::set_param;

/// The curve is drawn from matched designs at this rate: the editor does not know the host's
/// rate, and at 44.1-192 kHz the matched designs differ from the analogue prototype by well
/// under the width of the drawn line below 20 kHz.
const DISPLAY_SAMPLE_RATE_HZ: f64 = 48_000.0;

/// What the EQ panel shows besides the parameters.
#[derive(Default)]
pub struct EqLive<'a> {
    /// Input spectrum as `(hz, dBFS)` pairs.
    pub pre_spectrum: &'a [[f32; 2]],
    /// Output spectrum as `(hz, dBFS)` pairs.
    pub post_spectrum: &'a [[f32; 2]],
    /// Each band's momentary dynamic gain change in dB (empty: no dynamic readings).
    pub dynamic_gain_db: &'a [f32],
}

/// EQ panel state kept between frames (the selected band).
pub struct EqPanel {
    selected: usize,
    /// Whether the EQ runs dynamic bands (the linear-phase master EQ does not).
    dynamics: bool,
}

impl Default for EqPanel {
    fn default() -> Self {
        Self::new()
    }
}

impl EqPanel {
    pub fn new() -> Self {
        Self {
            selected: 0,
            dynamics: true,
        }
    }

    /// For an EQ without dynamic bands: their controls are not shown.
    pub fn without_dynamics(mut self) -> Self {
        self.dynamics = false;
        self
    }

    /// Draws the curve in `curve_size` and the band controls below it.
    pub fn show(
        &mut self,
        ui: &mut Ui,
        eq: &EqParams,
        setter: &ParamSetter,
        live: &EqLive,
        curve_size: egui::Vec2,
    ) {
        let bands: [BandSettings; EQ_BANDS] = eq.to_band_settings();
        // The curve of the selected band's signal path: a mid-only band shows the mid curve.
        let view = if bands[self.selected].enabled {
            bands[self.selected].placement
        } else {
            Placement::Stereo
        };
        let curve = EqCurve::new(DISPLAY_SAMPLE_RATE_HZ, &bands);
        let response = |hz: f32| curve.magnitude_db(hz as f64, view) as f32;
        let dynamic_gain = |i: usize| {
            live.dynamic_gain_db
                .get(i)
                .copied()
                .filter(|g| g.is_finite())
        };
        let any_dynamic = bands
            .iter()
            .enumerate()
            .any(|(i, b)| b.enabled && b.is_dynamic() && dynamic_gain(i).is_some_and(|g| g != 0.0));
        let moving_bands: [BandSettings; EQ_BANDS] = std::array::from_fn(|i| {
            let mut band = bands[i];
            if band.is_dynamic() {
                band.gain_db += dynamic_gain(i).unwrap_or(0.0);
            }
            band
        });
        let moving_curve = EqCurve::new(DISPLAY_SAMPLE_RATE_HZ, &moving_bands);
        let moving = |hz: f32| moving_curve.magnitude_db(hz as f64, view) as f32;
        let handles: [BandHandle; EQ_BANDS] = std::array::from_fn(|i| {
            let b = &bands[i];
            BandHandle {
                enabled: b.enabled && b.acts_on(view),
                freq_hz: b.freq_hz,
                gain_db: b.gain_db,
                q: b.q,
                has_gain: b.kind.has_gain(),
                uses_q: !matches!(
                    b.kind,
                    BandKind::HighPass | BandKind::LowPass | BandKind::Tilt
                ),
                dynamic_gain_db: if b.is_dynamic() {
                    dynamic_gain(i)
                } else {
                    None
                },
            }
        });

        let mut view_curve = EqCurveView::new(&response, &handles)
            .spectra(live.pre_spectrum, live.post_spectrum)
            .selected(Some(self.selected));
        if any_dynamic {
            view_curve = view_curve.dynamic_response(&moving);
        }
        let output = view_curve.show(ui, curve_size);
        if let Some(band) = output.clicked_band {
            self.selected = band;
        }
        for edit in &output.edits {
            apply_edit(&eq.bands[edit.band], setter, edit);
        }
        if let Some((hz, db)) = output.add_band_at {
            // The first band that is off becomes a bell there (nothing happens when all eight
            // are in use).
            if let Some(index) = bands.iter().position(|b| !b.enabled) {
                let band = &eq.bands[index];
                set_param(setter, &band.kind, BandType::Bell);
                set_param(setter, &band.freq_hz, hz);
                set_param(setter, &band.gain_db, (db * 2.0).round() / 2.0);
                set_param(setter, &band.enabled, true);
                self.selected = index;
            }
        }
        if view != Placement::Stereo {
            ui.painter().text(
                output.response.rect.right_top() + vec2(-8.0, 6.0),
                egui::Align2::RIGHT_TOP,
                format!("{view:?} curve"),
                theme::small_font(),
                theme::TEXT_DIM,
            );
        }

        ui.add_space(4.0);
        self.band_strip(ui, eq, setter);
        ui.add_space(2.0);
        band_controls(
            ui,
            &eq.bands[self.selected],
            &bands[self.selected],
            setter,
            self.dynamics,
            dynamic_gain(self.selected),
        );
    }

    /// One button per band (coloured like its handle) with its on/off state.
    fn band_strip(&mut self, ui: &mut Ui, eq: &EqParams, setter: &ParamSetter) {
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 3.0;
            for (i, band) in eq.bands.iter().enumerate() {
                let on = band.enabled.value();
                let selected = self.selected == i;
                let colour = theme::band_colour(i);
                let text = RichText::new(format!("{}", i + 1))
                    .size(12.0)
                    .strong()
                    .color(if selected {
                        egui::Color32::from_rgb(0x10, 0x12, 0x16)
                    } else if on {
                        colour
                    } else {
                        theme::TEXT_DIM
                    });
                let mut button = egui::Button::new(text).min_size(vec2(26.0, 20.0));
                if selected {
                    button = button.fill(if on { colour } else { theme::TEXT_DIM });
                }
                let response = ui.add(button).on_hover_text(format!(
                    "Band {}: {} {} (double-click: on/off)",
                    i + 1,
                    band.kind,
                    band.freq_hz
                ));
                if response.double_clicked() {
                    setter.begin_set_parameter(&band.enabled);
                    setter.set_parameter(&band.enabled, !on);
                    setter.end_set_parameter(&band.enabled);
                }
                if response.clicked() {
                    self.selected = i;
                }
            }
        });
    }
}

/// Applies a curve edit to a band's parameters as one host gesture per parameter.
fn apply_edit(band: &EqBandParams, setter: &ParamSetter, edit: &BandEdit) {
    let gain_moves = band_has_gain(band);
    let params: [(&nice_plug::prelude::FloatParam, f32, bool); 3] = [
        (&band.freq_hz, edit.freq_hz, true),
        (&band.gain_db, edit.gain_db, gain_moves),
        (&band.q, edit.q, true),
    ];
    for (param, value, applies) in params {
        if !applies {
            continue;
        }
        if edit.begin {
            setter.begin_set_parameter(param);
        }
        if (param.unmodulated_plain_value() - value).abs() > f32::EPSILON * value.abs().max(1.0) {
            setter.set_parameter(param, value);
        }
        if edit.end {
            setter.end_set_parameter(param);
        }
    }
}

fn band_has_gain(band: &EqBandParams) -> bool {
    BandKind::from(band.kind.value()).has_gain()
}

/// The selected band's controls; only the ones that apply to its type.
fn band_controls(
    ui: &mut Ui,
    band: &EqBandParams,
    settings: &BandSettings,
    setter: &ParamSetter,
    dynamics: bool,
    moving_gain_db: Option<f32>,
) {
    ui.horizontal(|ui| {
        ui.add(ParamToggle::for_param(&band.enabled, setter).label("On"));
        ui.add(ParamChoice::for_param(&band.kind, setter).combo());
        ui.add(ParamChoice::for_param(&band.placement, setter));
        if matches!(settings.kind, BandKind::HighPass | BandKind::LowPass) {
            ui.add(ParamChoice::for_param(&band.slope, setter).combo());
        }
    });
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 0.0;
        ui.add(ParamKnob::for_param(&band.freq_hz, setter).label("Freq"));
        if settings.kind.has_gain() {
            ui.add(ParamKnob::for_param(&band.gain_db, setter).label("Gain"));
        }
        if !matches!(
            settings.kind,
            BandKind::HighPass | BandKind::LowPass | BandKind::Tilt
        ) {
            ui.add(ParamKnob::for_param(&band.q, setter).label("Q"));
        }
        if dynamics && settings.kind.has_gain() {
            ui.add_space(8.0);
            ui.vertical(|ui| {
                ui.add_space(14.0);
                ui.add(
                    ParamToggle::for_param(&band.dynamic, setter)
                        .label("Dynamic")
                        .on_colour(theme::REDUCTION),
                );
                if let (true, Some(gain_db)) = (settings.dynamic.enabled, moving_gain_db) {
                    ui.label(
                        RichText::new(format!("{gain_db:+.1} dB"))
                            .font(theme::value_font(11.0))
                            .color(theme::REDUCTION),
                    )
                    .on_hover_text("The gain change the dynamic band applies right now");
                }
            });
            if settings.dynamic.enabled {
                let colour = theme::REDUCTION;
                ui.add(
                    ParamKnob::for_param(&band.dyn_threshold_db, setter)
                        .label("Threshold")
                        .colour(colour),
                );
                ui.add(
                    ParamKnob::for_param(&band.dyn_range_db, setter)
                        .label("Range")
                        .colour(colour),
                );
                ui.add(
                    ParamKnob::for_param(&band.dyn_attack_ms, setter)
                        .label("Attack")
                        .colour(colour),
                );
                ui.add(
                    ParamKnob::for_param(&band.dyn_release_ms, setter)
                        .label("Release")
                        .colour(colour),
                );
            }
        }
    });
}
