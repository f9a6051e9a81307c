//! The editor's reference window: four slots (load by path, from the built-in file browser, or
//! by dropping a file where the host's window passes drops on), the active slot's loop region
//! or transport playback, the A/B switch with the loudness match's readout, and the blind test.
//!
//! The file browser is drawn by the editor itself: a system file dialog needs a desktop portal
//! or GTK, which a plugin window on Linux cannot count on (and a modal dialog would block the
//! host's GUI thread).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use egui::{RichText, Ui};
use shared_dsp::reference::loudness_match::MatchState;
use shared_dsp::reference::player::Playback;
use shared_dsp::reference::track::LoopRegion;
use stem_plugin_common::widgets::theme;

use super::analysis::{bands_with_match, free_bands, MasterAnalysis};
use super::audio::ReferenceShared;
use super::blind::BlindTest;
use super::loader::SlotStatus;
use super::settings::ReferenceSettings;
use shared_dsp::chain::MASTER_EQ_BANDS;
use shared_dsp::eq::{BandSettings, EqCurve, Placement};
use shared_dsp::meter::comparison::{MeasuredProgramme, ProgrammeComparison};
use shared_dsp::meter::long_term_spectrum::FLOOR_DB;

/// The file types the browser lists (what `stem_delivery::reference_file` decodes).
const AUDIO_EXTENSIONS: [&str; 12] = [
    "wav", "wave", "rf64", "aif", "aiff", "aifc", "flac", "mp3", "ogg", "oga", "m4a", "mp4",
];

/// Where the window first opens, logical pixels from the editor's top left.
pub const REFERENCE_WINDOW_POS: (f32, f32) = (200.0, 70.0);

/// Where the analysis window first opens (over the lower panels, beside the reference window).
pub const ANALYSIS_WINDOW_POS: (f32, f32) = (20.0, 300.0);

/// The window's own state (nothing here is saved with the session but what goes through
/// [`ReferenceSettings`]).
pub struct ReferenceWindow {
    pub open: bool,
    path_text: String,
    browser_dir: PathBuf,
    /// The browser's listing of `browser_dir` (read when the directory changes, not per frame).
    listing: Option<Result<Vec<(String, bool)>, String>>,
    blind: Option<BlindTest>,
    analysis: MasterAnalysis,
    analysis_open: bool,
    view: SpectrumView,
    /// Share of the Match EQ applied, %.
    strength_percent: f64,
}

/// What the window asks of the editor this frame.
pub enum WindowRequest {
    /// Write these bands to the master EQ (and switch it on).
    ApplyEq([BandSettings; MASTER_EQ_BANDS]),
}

impl Default for ReferenceWindow {
    fn default() -> Self {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/"), PathBuf::from);
        Self {
            open: false,
            path_text: String::new(),
            browser_dir: home,
            listing: None,
            blind: None,
            analysis: MasterAnalysis::default(),
            analysis_open: false,
            view: SpectrumView::Stereo,
            strength_percent: 100.0,
        }
    }
}

impl ReferenceWindow {
    /// Whether the blind test runs (nothing may then say which side plays).
    pub fn blind(&self) -> bool {
        self.blind.is_some()
    }

    /// Draws the window. `eq_bands`: the master EQ's bands now; `sample_rate_hz`: the
    /// plugin's rate.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        settings: &ReferenceSettings,
        shared: &ReferenceShared,
        eq_bands: &[BandSettings; MASTER_EQ_BANDS],
        sample_rate_hz: f64,
    ) -> Option<WindowRequest> {
        shared.loader.collect_retired();
        let active = settings.active();
        let reference = matches!(shared.loader.status()[active], SlotStatus::Loaded { .. })
            .then(|| shared.loader.measured(active))
            .flatten();
        let max_bands = free_bands(eq_bands).max(1);
        self.analysis.poll(
            shared,
            active,
            reference.clone(),
            self.strength_percent,
            max_bands,
        );
        // A file dropped on the editor goes into the active slot (where the host passes drops).
        let dropped = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .find(|p| !p.as_os_str().is_empty())
        });
        if let Some(path) = dropped {
            self.load(settings, shared, active, &path);
            self.open = true;
        }
        let mut open = self.open;
        let mut request = None;
        egui::Window::new("Reference")
            .open(&mut open)
            .resizable(false)
            .collapsible(false)
            .default_width(560.0)
            // Over the EQ curve, clear of the header (the screenshot test clicks in it).
            .default_pos(egui::pos2(REFERENCE_WINDOW_POS.0, REFERENCE_WINDOW_POS.1))
            .show(ctx, |ui| {
                self.slots(ui, settings, shared);
                ui.separator();
                self.file_input(ui, settings, shared);
                ui.separator();
                self.playback(ui, settings, shared);
                ui.separator();
                self.ab(ui, shared);
                ui.separator();
                if ui
                    .selectable_label(self.analysis_open, "Spectrum and Match EQ")
                    .on_hover_text(
                        "The master captured in the session against this reference: figures, \
                         spectra at matched loudness, and an EQ that brings it closer",
                    )
                    .clicked()
                {
                    self.analysis_open = !self.analysis_open;
                }
            });
        self.open = open;
        let mut analysis_open = self.analysis_open && self.open;
        egui::Window::new("Reference: spectrum and Match EQ")
            .open(&mut analysis_open)
            .resizable(false)
            .collapsible(false)
            .default_pos(egui::pos2(ANALYSIS_WINDOW_POS.0, ANALYSIS_WINDOW_POS.1))
            .show(ctx, |ui| {
                request =
                    self.comparison(ui, shared, reference.as_deref(), eq_bands, sample_rate_hz);
            });
        // Closing the reference window hides this one too, without forgetting it was open.
        self.analysis_open = analysis_open || (self.analysis_open && !self.open);
        if !self.open && MasterAnalysis::capturing(shared) {
            self.analysis.stop_capture(shared);
        }
        request
    }

    /// The master captured in the session against the active reference: both programmes'
    /// figures, the overlay and the Match EQ with its *Apply*.
    fn comparison(
        &mut self,
        ui: &mut Ui,
        shared: &ReferenceShared,
        reference: Option<&MeasuredProgramme>,
        eq_bands: &[BandSettings; MASTER_EQ_BANDS],
        sample_rate_hz: f64,
    ) -> Option<WindowRequest> {
        let capturing = MasterAnalysis::capturing(shared);
        ui.horizontal(|ui| {
            let label = if capturing {
                "Stop capture"
            } else {
                "Capture master"
            };
            if ui
                .add(egui::Button::new(label).selected(capturing))
                .on_hover_text(
                    "Records the master as it leaves the plugin while the song plays (up to 8 \
                     minutes), then measures it as `stem compare` does",
                )
                .clicked()
            {
                if capturing {
                    self.analysis.stop_capture(shared);
                } else {
                    self.analysis.start_capture(shared, sample_rate_hz);
                }
            }
            let state = match (capturing, self.analysis.busy(), self.analysis.master()) {
                (true, ..) => {
                    "recording the master: play the song (or its loudest part)".to_owned()
                }
                (_, true, _) => "measuring…".to_owned(),
                (_, _, Some((_, seconds))) => format!("master: {seconds:.0} s captured"),
                _ => "no master captured yet".to_owned(),
            };
            ui.label(RichText::new(state).color(theme::TEXT_DIM));
        });
        let (Some((master, _)), Some(reference)) = (self.analysis.master(), reference) else {
            if reference.is_none() {
                ui.label(
                    RichText::new("Load a reference into the active slot.").color(theme::TEXT_DIM),
                );
            }
            return None;
        };
        let Some(comparison) = self.analysis.comparison() else {
            figures_grid(ui, master, reference);
            return None;
        };
        let proposal: Vec<BandSettings> = comparison
            .match_eq
            .as_ref()
            .map(|m| {
                m.bands
                    .iter()
                    .map(|b| {
                        BandSettings::new(b.kind, b.freq_hz as f32, b.gain_db as f32, b.q as f32)
                    })
                    .collect()
            })
            .unwrap_or_default();
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| figures_grid(ui, master, reference));
            ui.vertical(|ui| {
                ui.horizontal(|ui| {
                    for (view, name) in [
                        (SpectrumView::Stereo, "Stereo"),
                        (SpectrumView::Mid, "Mid"),
                        (SpectrumView::Side, "Side"),
                    ] {
                        ui.selectable_value(&mut self.view, view, name);
                    }
                });
                overlay_plot(
                    ui,
                    master,
                    reference,
                    comparison,
                    &proposal,
                    sample_rate_hz,
                    self.view,
                );
            });
        });
        let mut request = None;
        ui.horizontal(|ui| {
            ui.label(RichText::new("Match EQ").color(theme::TEXT_DIM));
            ui.add(
                egui::Slider::new(&mut self.strength_percent, 0.0..=100.0)
                    .suffix(" %")
                    .text("strength"),
            );
            let free = free_bands(eq_bands);
            let label = format!("Apply {} band(s) to the master EQ", proposal.len());
            let apply = ui
                .add_enabled(!proposal.is_empty() && free > 0, egui::Button::new(label))
                .on_hover_text(
                    "Writes the proposed bells and shelves into the master EQ's free bands \
                     (bands in use stay as they are), through the host: undo takes them back",
                );
            if apply.clicked() {
                request = bands_with_match(eq_bands, &proposal).map(WindowRequest::ApplyEq);
            }
        });
        if let Some(m) = &comparison.match_eq {
            let bands: Vec<String> = m
                .bands
                .iter()
                .map(|b| {
                    format!(
                        "{:?} {:.0} Hz {:+.1} dB Q {:.2}",
                        b.kind, b.freq_hz, b.gain_db, b.q
                    )
                })
                .collect();
            ui.label(
                RichText::new(format!(
                    "{}; residual {:.1} dB max, {:.1} dB rms; followed up to {:.1} kHz",
                    if bands.is_empty() {
                        "no band needed".to_owned()
                    } else {
                        bands.join(", ")
                    },
                    m.residual_max_db,
                    m.residual_rms_db,
                    m.content_top_hz / 1000.0
                ))
                .color(theme::TEXT_DIM),
            );
        }
        request
    }

    fn load(
        &mut self,
        settings: &ReferenceSettings,
        shared: &ReferenceShared,
        slot: usize,
        path: &Path,
    ) {
        settings.set_file(slot, Some(path.to_path_buf()));
        settings.set_loop_region(slot, LoopRegion::WHOLE);
        shared.loader.load(slot, path);
        if let Some(dir) = path.parent().filter(|d| d.is_dir()) {
            self.set_browser_dir(dir.to_path_buf());
        }
    }

    fn slots(&mut self, ui: &mut Ui, settings: &ReferenceSettings, shared: &ReferenceShared) {
        let status = shared.loader.status();
        let active = settings.active();
        egui::Grid::new("reference-slots")
            .num_columns(3)
            .striped(true)
            .show(ui, |ui| {
                for (slot, s) in status.iter().enumerate() {
                    if ui
                        .selectable_label(slot == active, format!("{}", slot + 1))
                        .on_hover_text("Play this reference")
                        .clicked()
                    {
                        settings.set_active(slot);
                    }
                    let (text, colour) = match s {
                        SlotStatus::Empty => ("empty".to_owned(), theme::TEXT_DIM),
                        SlotStatus::Loading { name } => {
                            (format!("{name}: decoding…"), theme::TEXT_DIM)
                        }
                        SlotStatus::Loaded {
                            name,
                            duration_s,
                            source_rate_hz,
                            non_finite_samples,
                        } => {
                            let mut t = format!(
                                "{name}  {}  {:.1} kHz",
                                clock(*duration_s),
                                *source_rate_hz as f64 / 1000.0
                            );
                            if *non_finite_samples > 0 {
                                t.push_str(&format!(
                                    "  ({non_finite_samples} bad samples silenced)"
                                ));
                            }
                            (t, theme::TEXT)
                        }
                        SlotStatus::Failed { message } => (message.clone(), theme::WARN),
                    };
                    ui.label(RichText::new(text).color(colour));
                    if !matches!(s, SlotStatus::Empty) && ui.small_button("Remove").clicked() {
                        settings.set_file(slot, None);
                        shared.loader.clear(slot);
                    }
                    ui.end_row();
                }
            });
    }

    fn file_input(&mut self, ui: &mut Ui, settings: &ReferenceSettings, shared: &ReferenceShared) {
        let slot = settings.active();
        ui.horizontal(|ui| {
            ui.label(RichText::new("File").color(theme::TEXT_DIM));
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.path_text)
                    .hint_text("/path/to/reference.wav (or drop a file)")
                    .desired_width(380.0),
            );
            let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button(format!("Load into {}", slot + 1)).clicked() || enter)
                && !self.path_text.trim().is_empty()
            {
                let path = PathBuf::from(self.path_text.trim());
                self.load(settings, shared, slot, &path);
            }
        });
        egui::CollapsingHeader::new("Browse").show(ui, |ui| {
            self.browser(ui, settings, shared, slot);
        });
    }

    fn set_browser_dir(&mut self, dir: PathBuf) {
        if dir != self.browser_dir {
            self.browser_dir = dir;
            self.listing = None;
        }
    }

    fn browser(
        &mut self,
        ui: &mut Ui,
        settings: &ReferenceSettings,
        shared: &ReferenceShared,
        slot: usize,
    ) {
        let listing = self
            .listing
            .get_or_insert_with(|| list_directory(&self.browser_dir))
            .clone();
        ui.horizontal(|ui| {
            if ui.small_button("Up").clicked() {
                if let Some(parent) = self.browser_dir.parent() {
                    let parent = parent.to_path_buf();
                    self.set_browser_dir(parent);
                }
            }
            ui.label(RichText::new(self.browser_dir.display().to_string()).color(theme::TEXT_DIM));
        });
        egui::ScrollArea::vertical()
            .max_height(140.0)
            .show(ui, |ui| match listing {
                Err(why) => {
                    ui.label(RichText::new(why).color(theme::WARN));
                }
                Ok(entries) => {
                    for (name, is_dir) in entries {
                        let label = if is_dir {
                            format!("{name}/")
                        } else {
                            name.clone()
                        };
                        if ui.selectable_label(false, label).clicked() {
                            let path = self.browser_dir.join(&name);
                            if is_dir {
                                self.set_browser_dir(path);
                            } else {
                                self.path_text = path.display().to_string();
                                self.load(settings, shared, slot, &path);
                            }
                        }
                    }
                }
            });
    }

    fn playback(&mut self, ui: &mut Ui, settings: &ReferenceSettings, shared: &ReferenceShared) {
        let slot = settings.active();
        let duration = match &shared.loader.status()[slot] {
            SlotStatus::Loaded { duration_s, .. } => Some(*duration_s),
            _ => None,
        };
        ui.horizontal(|ui| {
            let mut playback = settings.playback();
            ui.label(RichText::new("Plays").color(theme::TEXT_DIM));
            ui.selectable_value(&mut playback, Playback::Loop, "Loop")
                .on_hover_text(
                "A commercial reference: its loop region, over and over, while the transport plays",
            );
            ui.selectable_value(&mut playback, Playback::Transport, "With the song")
                .on_hover_text(
                    "The song's own stereo mix: frame for frame with the transport, aligned with \
                     the master through the plugin's latency",
                );
            settings.set_playback(playback);
            let position = shared.position_s.load();
            if position.is_finite() {
                ui.label(
                    RichText::new(format!("at {}", clock(position as f64)))
                        .font(theme::value_font(12.0)),
                );
            }
        });
        let (Some(duration), Playback::Loop) = (duration, settings.playback()) else {
            return;
        };
        let region = settings.loop_region(slot);
        let whole = region.frames(usize::MAX, 1.0) == (0, usize::MAX);
        let (mut start, mut end) = if whole {
            (0.0, duration)
        } else {
            (region.start_s, region.end_s.min(duration))
        };
        ui.horizontal(|ui| {
            ui.label(RichText::new("Loop").color(theme::TEXT_DIM));
            ui.add(
                egui::DragValue::new(&mut start)
                    .range(0.0..=duration)
                    .speed(0.1)
                    .suffix(" s"),
            );
            ui.label("to");
            ui.add(
                egui::DragValue::new(&mut end)
                    .range(0.0..=duration)
                    .speed(0.1)
                    .suffix(" s"),
            );
            let position = shared.position_s.load() as f64;
            if ui.small_button("Start here").clicked() && position.is_finite() {
                start = position;
            }
            if ui.small_button("End here").clicked() && position.is_finite() {
                end = position;
            }
            if ui.small_button("Whole").clicked() {
                (start, end) = (0.0, 0.0);
            }
        });
        let new_region = if start == 0.0 && (end == 0.0 || end >= duration) {
            LoopRegion::WHOLE
        } else {
            LoopRegion {
                start_s: start,
                end_s: end,
            }
        };
        if new_region != region && !(whole && new_region == LoopRegion::WHOLE) {
            settings.set_loop_region(slot, new_region);
        }
    }

    fn ab(&mut self, ui: &mut Ui, shared: &ReferenceShared) {
        let listening = shared.listen_reference.load(Ordering::Relaxed);
        let mut blind_on = self.blind.is_some();
        ui.horizontal(|ui| {
            if self.blind.is_none() {
                for (reference, label) in [(false, "Master"), (true, "Reference")] {
                    if ui
                        .add(
                            egui::Button::new(RichText::new(label).strong())
                                .selected(listening == reference)
                                .min_size(egui::vec2(96.0, 26.0)),
                        )
                        .clicked()
                    {
                        shared.listen_reference.store(reference, Ordering::Relaxed);
                    }
                }
            }
            if shared.offline.load(Ordering::Relaxed) {
                ui.label(RichText::new("offline render: master only").color(theme::WARN));
            }
            ui.checkbox(&mut blind_on, "Blind test")
                .on_hover_text("Hide which side plays; shuffle, listen, and say which it was");
        });
        match (blind_on, self.blind.is_some()) {
            (true, false) => {
                let seed = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64);
                self.blind = Some(BlindTest::new(seed));
            }
            (false, true) => self.blind = None,
            _ => {}
        }
        if let Some(blind) = &mut self.blind {
            blind_panel(ui, blind, shared);
        }
        match_readout(ui, shared);
    }
}

fn blind_panel(ui: &mut Ui, blind: &mut BlindTest, shared: &ReferenceShared) {
    ui.horizontal(|ui| {
        if ui.button("Shuffle").clicked() {
            let side = blind.shuffle();
            shared.listen_reference.store(side, Ordering::Relaxed);
        }
        let awaiting = blind.awaiting_guess();
        for (reference, label) in [(false, "It's the master"), (true, "It's the reference")] {
            if ui.add_enabled(awaiting, egui::Button::new(label)).clicked() {
                blind.guess(reference);
            }
        }
        if ui.small_button("Reset score").clicked() {
            blind.reset_score();
        }
    });
    let last = match blind.revealed() {
        Some(true) if blind.trials > 0 => " (that was the reference)",
        Some(false) if blind.trials > 0 => " (that was the master)",
        _ => "",
    };
    if blind.trials > 0 {
        ui.label(format!(
            "{} of {} right{last}; chance of at least this many by guessing: {:.0} %",
            blind.correct,
            blind.trials,
            100.0 * blind.chance_probability()
        ));
    } else {
        ui.label("Shuffle, listen, then say which one plays.");
    }
}

fn match_readout(ui: &mut Ui, shared: &ReferenceShared) {
    let state = shared.match_state();
    let (master, reference) = (
        shared.master_span_lufs.load(),
        shared.reference_span_lufs.load(),
    );
    ui.horizontal(|ui| {
        let text = match state {
            MatchState::Waiting => "Loudness match: waiting for both to play".to_owned(),
            MatchState::Settling | MatchState::Held => format!(
                "Reference {:+.1} dB to match ({}, over {:.0} s: master {:.1}, reference {:.1} LUFS)",
                shared.match_gain_db.load(),
                if state == MatchState::Held { "held" } else { "settling" },
                shared.match_span_s.load(),
                master,
                reference
            ),
        };
        ui.label(RichText::new(text).color(theme::TEXT_DIM)).on_hover_text(
            "Both are measured over the same played span (BS.1770 integrated loudness); the \
             gain settles, then holds, so the reference's level does not pump",
        );
        if ui.small_button("Match again").clicked() {
            shared.rematch_requested.store(true, Ordering::Relaxed);
        }
    });
}

/// `m:ss.s`.
fn clock(seconds: f64) -> String {
    format!("{}:{:04.1}", (seconds / 60.0).floor(), seconds % 60.0)
}

/// Subdirectories and audio files of `dir`, directories first, each sorted by name; hidden
/// entries left out.
fn list_directory(dir: &Path) -> Result<Vec<(String, bool)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out: Vec<(String, bool)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.path().is_dir();
            let audio = Path::new(&name)
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| AUDIO_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()));
            (!name.starts_with('.') && (is_dir || audio)).then_some((name, is_dir))
        })
        .collect();
    out.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.0.to_lowercase().cmp(&b.0.to_lowercase()))
    });
    Ok(out)
}

/// Both programmes' figures side by side (the reference as measured, before the match gain).
fn figures_grid(ui: &mut Ui, master: &MeasuredProgramme, reference: &MeasuredProgramme) {
    let (m, r) = (&master.figures, &reference.figures);
    egui::Grid::new("reference-figures")
        .num_columns(3)
        .striped(true)
        .show(ui, |ui| {
            for h in ["", "Master", "Reference"] {
                ui.label(RichText::new(h).color(theme::TEXT_DIM));
            }
            ui.end_row();
            let rows: [(&str, f64, f64, &str); 5] = [
                ("Integrated", m.integrated_lufs, r.integrated_lufs, "LUFS"),
                ("LRA", m.lra_lu, r.lra_lu, "LU"),
                ("True peak", m.true_peak_dbtp, r.true_peak_dbtp, "dBTP"),
                ("PLR", m.plr_db, r.plr_db, "dB"),
                ("PSR", m.psr_db, r.psr_db, "dB"),
            ];
            for (name, a, b, unit) in rows {
                ui.label(name);
                ui.label(figure(a, unit));
                ui.label(figure(b, unit));
                ui.end_row();
            }
            for (a, b) in m.width.iter().zip(&r.width) {
                ui.label(format!("Width {:.0}-{:.0} Hz", a.from_hz, a.to_hz))
                    .on_hover_text("Side power against mid power, dB (-inf: mono)");
                ui.label(figure(a.side_to_mid_db, "dB"));
                ui.label(figure(b.side_to_mid_db, "dB"));
                ui.end_row();
            }
        });
}

/// A figure with its unit, "mono" for a width of minus infinity, a dash where there is none
/// (a silent programme).
fn figure(value: f64, unit: &str) -> String {
    if value.is_finite() {
        format!("{value:.1} {unit}")
    } else if value == f64::NEG_INFINITY && unit == "dB" {
        "mono / -inf".to_owned()
    } else {
        "—".to_owned()
    }
}

/// Which spectra the overlay shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpectrumView {
    /// `(L^2 + R^2) / 2`: what the Match EQ follows.
    #[default]
    Stereo,
    Mid,
    Side,
}

impl SpectrumView {
    fn of(self, p: &MeasuredProgramme) -> &[f64] {
        match self {
            SpectrumView::Stereo => &p.stereo_db,
            SpectrumView::Mid => &p.spectrum.mid_db,
            SpectrumView::Side => &p.spectrum.side_db,
        }
    }
}

/// Lowest and highest frequency of the overlay, Hz.
const PLOT_HZ: (f64, f64) = (20.0, 20_000.0);
/// Range of the spectra panel below its loudest point, and half range of the difference
/// panel, dB.
const PLOT_SPECTRA_RANGE_DB: f64 = 60.0;
const PLOT_DIFFERENCE_DB: f64 = 9.0;

/// The stereo spectra of the master and of the reference at matched loudness (top), and the
/// difference reference minus master with the Match EQ's curve over it (bottom).
fn overlay_plot(
    ui: &mut Ui,
    master: &MeasuredProgramme,
    reference: &MeasuredProgramme,
    comparison: &ProgrammeComparison,
    proposal: &[BandSettings],
    sample_rate_hz: f64,
    view: SpectrumView,
) {
    let size = egui::vec2(560.0, 240.0);
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, theme::PLOT);
    let split = rect.top() + rect.height() * 0.55;
    let x_of = |hz: f64| {
        let t = (hz / PLOT_HZ.0).log10() / (PLOT_HZ.1 / PLOT_HZ.0).log10();
        rect.left() + rect.width() * t.clamp(0.0, 1.0) as f32
    };
    for (hz, text) in [(100.0, "100"), (1_000.0, "1k"), (10_000.0, "10k")] {
        let x = x_of(hz);
        painter.line_segment(
            [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
            egui::Stroke::new(1.0, theme::GRID),
        );
        painter.text(
            egui::pos2(x + 3.0, rect.bottom() - 3.0),
            egui::Align2::LEFT_BOTTOM,
            text,
            egui::FontId::proportional(10.0),
            theme::TEXT_DIM,
        );
    }
    painter.line_segment(
        [
            egui::pos2(rect.left(), split),
            egui::pos2(rect.right(), split),
        ],
        egui::Stroke::new(1.0, theme::GRID),
    );
    let gain = comparison.reference_gain_db.unwrap_or(0.0);
    let (master_db, reference_db) = (view.of(master), view.of(reference));
    let reference_matched: Vec<f64> = reference_db.iter().map(|d| d + gain).collect();
    let top_db = master_db
        .iter()
        .chain(&reference_matched)
        .cloned()
        .fold(f64::NEG_INFINITY, f64::max);
    let spectra_y = |db: f64| {
        let t = ((top_db - db) / PLOT_SPECTRA_RANGE_DB).clamp(0.0, 1.0);
        rect.top() + 4.0 + (split - rect.top() - 8.0) * t as f32
    };
    let mid_y = (split + rect.bottom()) / 2.0;
    let difference_y = |db: f64| {
        let t = (db / PLOT_DIFFERENCE_DB).clamp(-1.0, 1.0);
        mid_y - (rect.bottom() - split - 8.0) / 2.0 * t as f32
    };
    let curve = |hz: &[f64], db: &[f64], y: &dyn Fn(f64) -> f32, colour: egui::Color32| {
        let points: Vec<egui::Pos2> = hz
            .iter()
            .zip(db)
            .filter(|(&f, &d)| f >= PLOT_HZ.0 && f <= PLOT_HZ.1 && d > -150.0)
            .map(|(&f, &d)| egui::pos2(x_of(f), y(d)))
            .collect();
        painter.add(egui::Shape::line(points, egui::Stroke::new(1.5, colour)));
    };
    curve(&master.spectrum.hz, master_db, &spectra_y, theme::ACCENT);
    curve(
        &reference.spectrum.hz,
        &reference_matched,
        &spectra_y,
        theme::WARN,
    );
    // The difference: the comparison's own for the stereo power (what the match follows);
    // for mid or side the same subtraction on those spectra (both programmes are at the
    // session rate, so their grids are the same).
    let (dhz, ddb): (Vec<f64>, Vec<f64>) = match view {
        SpectrumView::Stereo => comparison
            .spectrum
            .hz
            .iter()
            .zip(&comparison.spectrum.difference_db)
            .filter_map(|(&f, d)| d.map(|d| (f, d)))
            .unzip(),
        SpectrumView::Mid | SpectrumView::Side => master
            .spectrum
            .hz
            .iter()
            .zip(master_db.iter().zip(reference_db))
            .filter(|(_, (&m, &r))| m > FLOOR_DB && r > FLOOR_DB)
            .map(|(&f, (&m, &r))| (f, r + gain - m))
            .unzip(),
    };
    curve(&dhz, &ddb, &difference_y, theme::TEXT_DIM);
    if !proposal.is_empty() && view == SpectrumView::Stereo {
        let enabled: Vec<BandSettings> = proposal
            .iter()
            .map(|b| BandSettings {
                enabled: true,
                ..*b
            })
            .collect();
        let eq = EqCurve::new(sample_rate_hz, &enabled);
        let match_db: Vec<f64> = dhz
            .iter()
            .map(|&f| eq.magnitude_db(f, Placement::Mid))
            .collect();
        curve(&dhz, &match_db, &difference_y, theme::GOOD);
    }
    let label = |pos: egui::Pos2, text: &str, colour: egui::Color32| {
        painter.text(
            pos,
            egui::Align2::LEFT_TOP,
            text,
            egui::FontId::proportional(11.0),
            colour,
        );
    };
    label(
        rect.left_top() + egui::vec2(6.0, 4.0),
        "master",
        theme::ACCENT,
    );
    label(
        rect.left_top() + egui::vec2(60.0, 4.0),
        "reference (matched)",
        theme::WARN,
    );
    label(
        egui::pos2(rect.left() + 6.0, split + 4.0),
        "reference - master",
        theme::TEXT_DIM,
    );
    label(
        egui::pos2(rect.left() + 130.0, split + 4.0),
        "Match EQ",
        theme::GOOD,
    );
    label(
        egui::pos2(rect.right() - 70.0, split + 4.0),
        &format!("+-{PLOT_DIFFERENCE_DB:.0} dB"),
        theme::TEXT_DIM,
    );
}
