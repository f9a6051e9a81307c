//! The reference window's spectrum overlay and Match EQ: the figures `stem compare` reports
//! (`shared_dsp::meter::comparison`, the same functions), for the master as played in the
//! session against the active reference.
//!
//! The master side is a recording of the plugin's output (before the reference player), made
//! while *Capture master* is on, in a buffer the editor allocates and the audio thread fills
//! (the Learn capture's [`LearnCapture`] and hand-over: the audio thread never allocates or
//! frees for it). The reference side is measured by the loader when the file is decoded.
//! Measuring and matching run on worker threads; the editor only polls.
//!
//! *Apply* writes the proposed bands into the master EQ's free (disabled) bands through the
//! host, one gesture per parameter, so the host's undo takes them back; bands the engineer
//! already uses are left alone, and the match proposes no more bands than there are free.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use shared_dsp::chain::learn_capture::LearnCapture;
use shared_dsp::eq::{BandSettings, Placement};
use shared_dsp::meter::comparison::{
    compare_programmes, measure_programme, MeasuredProgramme, ProgrammeComparison,
};

use super::audio::ReferenceShared;

/// Where the master analysis stands.
#[derive(Default)]
pub struct MasterAnalysis {
    /// A capture is with the audio thread.
    outstanding: bool,
    measuring: Option<JoinHandle<Option<MeasuredProgramme>>>,
    master: Option<Arc<MeasuredProgramme>>,
    master_seconds: f64,
    /// The comparison on show, and what it was computed from.
    comparison: Option<Arc<ProgrammeComparison>>,
    computed_for: Option<ComparisonKey>,
    matching: Option<(ComparisonKey, JoinHandle<ProgrammeComparison>)>,
}

/// What a comparison depends on.
#[derive(Clone, Copy, Debug, PartialEq)]
struct ComparisonKey {
    slot: usize,
    /// Identity of the measurements (their addresses: a new measurement is a new `Arc`).
    master: usize,
    reference: usize,
    strength_percent: f64,
    max_bands: usize,
}

/// Shortest capture worth measuring, seconds (a few gating blocks and FFT frames).
pub const MIN_CAPTURE_SECONDS: f64 = 3.0;

impl MasterAnalysis {
    /// Whether the master is being recorded.
    pub fn capturing(shared: &ReferenceShared) -> bool {
        shared.capture_master.load(Ordering::Relaxed)
    }

    /// Starts recording the master: allocates the capture (here, on the editor's thread) and
    /// hands it to the audio thread.
    pub fn start_capture(&mut self, shared: &ReferenceShared, sample_rate_hz: f64) {
        if self.outstanding || Self::capturing(shared) {
            return;
        }
        let capture = Arc::new(LearnCapture::new(LearnCapture::capacity_for(
            sample_rate_hz,
        )));
        self.outstanding = shared.master_capture.send(capture).is_ok();
        shared
            .capture_master
            .store(self.outstanding, Ordering::Relaxed);
    }

    /// Ends the recording; the capture comes back and is measured.
    pub fn stop_capture(&mut self, shared: &ReferenceShared) {
        shared.capture_master.store(false, Ordering::Relaxed);
    }

    /// Whether the master is being measured or matched.
    pub fn busy(&self) -> bool {
        self.measuring.is_some() || self.matching.is_some()
    }

    /// The master's measurement and the seconds it covers.
    pub fn master(&self) -> Option<(&MeasuredProgramme, f64)> {
        self.master.as_deref().map(|m| (m, self.master_seconds))
    }

    /// The comparison on show.
    pub fn comparison(&self) -> Option<&ProgrammeComparison> {
        self.comparison.as_deref()
    }

    /// Once per editor frame: takes a returned capture to measure, collects finished work,
    /// and starts the comparison of the master with `reference` (slot `slot`) when either
    /// changed.
    pub fn poll(
        &mut self,
        shared: &ReferenceShared,
        slot: usize,
        reference: Option<Arc<MeasuredProgramme>>,
        strength_percent: f64,
        max_bands: usize,
    ) {
        if let Some(capture) = shared.master_capture.receive() {
            self.outstanding = false;
            if capture.seconds() >= MIN_CAPTURE_SECONDS && self.measuring.is_none() {
                self.master_seconds = capture.seconds();
                self.measuring = Some(std::thread::spawn(move || {
                    let [l, r] = capture.to_channels();
                    let fs = capture.sample_rate_hz();
                    drop(capture);
                    Some(measure_programme(&l, &r, fs))
                }));
            }
        }
        if let Some(job) = self.measuring.take_if(|j| j.is_finished()) {
            if let Ok(Some(m)) = job.join() {
                self.master = Some(Arc::new(m));
            }
        }
        if let Some((key, job)) = self.matching.take_if(|(_, j)| j.is_finished()) {
            if let Ok(c) = job.join() {
                self.comparison = Some(Arc::new(c));
                self.computed_for = Some(key);
            }
        }
        let (Some(master), Some(reference)) = (self.master.clone(), reference) else {
            self.comparison = None;
            self.computed_for = None;
            return;
        };
        let key = ComparisonKey {
            slot,
            master: Arc::as_ptr(&master) as usize,
            reference: Arc::as_ptr(&reference) as usize,
            strength_percent,
            max_bands,
        };
        let pending = self.matching.as_ref().map(|(k, _)| *k);
        if self.computed_for != Some(key) && pending != Some(key) && self.matching.is_none() {
            let job = std::thread::spawn(move || {
                compare_programmes(&master, &reference, strength_percent, max_bands)
            });
            self.matching = Some((key, job));
        }
    }
}

/// The master EQ's bands with the proposal written into the free (disabled) ones, in order;
/// `None` when nothing would change. The proposal's bands act on both channels (stereo), as
/// the match is of the stereo power.
pub fn bands_with_match(
    current: &[BandSettings; shared_dsp::chain::MASTER_EQ_BANDS],
    proposal: &[BandSettings],
) -> Option<[BandSettings; shared_dsp::chain::MASTER_EQ_BANDS]> {
    let mut bands = *current;
    let mut proposed = proposal.iter();
    let mut changed = false;
    for band in bands.iter_mut().filter(|b| !b.enabled) {
        let Some(p) = proposed.next() else { break };
        *band = BandSettings {
            enabled: true,
            placement: Placement::Stereo,
            ..*p
        };
        changed = true;
    }
    changed.then_some(bands)
}

/// Free (disabled) bands of the master EQ: the most bands a match may propose.
pub fn free_bands(current: &[BandSettings]) -> usize {
    current.iter().filter(|b| !b.enabled).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_dsp::eq::BandKind;

    #[test]
    fn the_match_goes_into_free_bands_and_leaves_used_ones_alone() {
        let mut current = [BandSettings::default(); 8];
        current[0] = BandSettings::new(BandKind::HighPass, 25.0, 0.0, 0.7);
        current[0].enabled = true;
        current[3] = BandSettings::bell(900.0, -1.0, 2.0);
        current[3].enabled = true;
        assert_eq!(free_bands(&current), 6);
        let proposal = [
            BandSettings::new(BandKind::HighShelf, 6_000.0, 3.0, 0.7),
            BandSettings::bell(300.0, -2.0, 1.0),
        ];
        let out = bands_with_match(&current, &proposal).unwrap();
        assert_eq!(out[0], current[0]);
        assert_eq!(out[3], current[3]);
        assert_eq!(out[1].kind, BandKind::HighShelf);
        assert!(out[1].enabled && out[2].enabled && !out[4].enabled);
        assert_eq!((out[2].freq_hz, out[2].gain_db), (300.0, -2.0));
        assert!(bands_with_match(&current, &[]).is_none());
    }
}
