//! The Stem Master's side of the Stem Link (issue 18): it publishes its own status, reads every
//! Stem Channel of its link group, lines their output up with its own input and computes the
//! overview (`shared_dsp::link::overview`): each stem's loudness against the mix, its share of
//! the limiter's gain reduction and of the peaks, the low-end conflicts, the latency and phase
//! audit. The figures go to the editor and, in the master's record, back to each channel.
//!
//! The audio thread only writes its input (and the limiter's gain reduction) to its ring
//! ([`MasterLinkShared::audio`]); everything else runs on the link thread.

pub mod feed;
pub mod window;

use crate::meters::MasterMeters;
use feed::{AlignedFeed, StemSource};
use shared_dsp::link::low_end::LowEndPair;
use shared_dsp::link::overview::{LinkAnalysis, MAX_LINKED_STEMS};
use shared_dsp::link::record::{InstanceKind, InstanceStatus, StemFigures, BANDS};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use stem_plugin_common::link::now_ms;
use stem_plugin_common::link_session::endpoint::STALE_MS;
use stem_plugin_common::link_session::{
    Endpoint, InstanceShared, LinkSettings, LinkWorker, Peer, RingLevels,
};

/// What the audio thread, the link thread and the editor share.
pub struct MasterLinkShared {
    /// Ring (the master's input), rate, latency, bypass, limiter gain reduction, clipper
    /// reduction.
    pub instance: InstanceShared,
    pub linear_phase: AtomicBool,
    /// Whole-chain compare: set by the editor; the master compares, and so does every linked
    /// channel.
    pub compare: AtomicBool,
    /// Editor requests: set the reference point, forget everything.
    pub mark_requested: AtomicBool,
    pub reset_requested: AtomicBool,
    /// The stem whose spectrum the editor draws over the master's (its instance id; 0: none).
    pub highlighted: AtomicU64,
    /// The overview as last computed.
    pub view: Mutex<MasterLinkView>,
}

impl Default for MasterLinkShared {
    fn default() -> Self {
        Self {
            instance: InstanceShared::default(),
            linear_phase: AtomicBool::new(false),
            compare: AtomicBool::new(false),
            mark_requested: AtomicBool::new(false),
            reset_requested: AtomicBool::new(false),
            highlighted: AtomicU64::new(0),
            view: Mutex::new(MasterLinkView::default()),
        }
    }
}

/// One linked stem as the editor shows it.
#[derive(Clone, Debug)]
pub struct LinkedStem {
    pub status: InstanceStatus,
    pub figures: StemFigures,
    /// Its latency differs from the most common one among the stems.
    pub latency_differs: bool,
    /// It is linear-phase where most are not, or the other way round.
    pub phase_differs: bool,
}

/// The overview the editor draws.
#[derive(Clone, Debug, Default)]
pub struct MasterLinkView {
    pub group: String,
    /// Why the master is not linked, if it is not.
    pub problem: Option<String>,
    pub stems: Vec<LinkedStem>,
    /// Pairs of stems (by their index in `stems`) whose low ends overlap.
    pub conflicts: Vec<(usize, usize, LowEndPair)>,
    /// Other masters in the group (a second master confuses the channels' figures).
    pub other_masters: usize,
    /// The master input's 1/3-octave band-energy frame (each stem's is in its status).
    pub master_band_db: [f32; BANDS],
}

/// Starts the master's link thread.
pub fn spawn(
    shared: Arc<MasterLinkShared>,
    settings: Arc<LinkSettings>,
    meters: Arc<MasterMeters>,
) -> Option<LinkWorker> {
    let mut state = LinkState::new(shared.clone(), settings);
    LinkWorker::spawn("stem-master-link", move || state.tick(&meters)).ok()
}

struct LinkState {
    shared: Arc<MasterLinkShared>,
    endpoint: Endpoint,
    analysis: Option<LinkAnalysis>,
    feed: AlignedFeed,
    levels: Option<RingLevels>,
    peers: Vec<Peer>,
    rows: Vec<StemFigures>,
}

impl LinkState {
    fn new(shared: Arc<MasterLinkShared>, settings: Arc<LinkSettings>) -> Self {
        let endpoint = Endpoint::new(
            InstanceKind::Master,
            settings,
            shared.instance.audio.clone(),
        );
        Self {
            shared,
            endpoint,
            analysis: None,
            feed: AlignedFeed::new(MAX_LINKED_STEMS),
            levels: None,
            peers: Vec::new(),
            rows: Vec::new(),
        }
    }

    fn tick(&mut self, meters: &MasterMeters) {
        let linked = self.endpoint.maintain();
        if !linked {
            let mut view = self.shared.view.lock().unwrap_or_else(|e| e.into_inner());
            view.group = self.endpoint.group_name().to_string();
            view.problem = self.endpoint.problem().map(str::to_string);
            view.stems.clear();
            view.conflicts.clear();
            return;
        }
        let shared = &self.shared;
        let rate = shared.instance.sample_rate_hz();
        let latency = shared.instance.latency_samples.load(Ordering::Relaxed) as usize;
        if rate <= 0.0 {
            return;
        }
        let analysis = match &mut self.analysis {
            Some(a) if a.sample_rate_hz() == rate && a.master_latency_samples() == latency => a,
            _ => {
                self.feed.restart();
                self.levels = Some(RingLevels::new(rate));
                self.analysis.insert(LinkAnalysis::new(rate, latency))
            }
        };
        if shared.reset_requested.swap(false, Ordering::Relaxed) {
            analysis.reset();
            self.feed.restart();
        }
        if shared.mark_requested.swap(false, Ordering::Relaxed) {
            analysis.mark();
        }
        self.endpoint.peers(&mut self.peers);
        let Some(group) = self.endpoint.group().cloned() else {
            return;
        };
        let Some(own) = self.endpoint.slot() else {
            return;
        };
        let channels: Vec<&Peer> = self
            .peers
            .iter()
            .filter(|p| p.status.kind == InstanceKind::Channel)
            .filter(|p| (p.status.sample_rate_hz as f64 - rate).abs() < 0.5)
            .collect();
        let gone: Vec<u64> = analysis
            .stem_ids()
            .filter(|id| !channels.iter().any(|p| p.instance_id == *id))
            .collect();
        for id in gone {
            analysis.remove(id);
        }
        let now = now_ms();
        let mut sources = Vec::with_capacity(channels.len());
        for p in &channels {
            let Some(column) = analysis.column_of(p.instance_id) else {
                continue;
            };
            let slot = group.slot(p.slot);
            sources.push(StemSource {
                column,
                slot,
                waiting: now.saturating_sub(slot.heartbeat_ms()) < STALE_MS,
            });
        }
        let largest_latency = channels
            .iter()
            .map(|p| p.status.latency_samples as i64)
            .max()
            .unwrap_or(0);
        self.feed
            .run(group.slot(own), &sources, -largest_latency, analysis);
        analysis.figures(&mut self.rows);

        let input = self
            .levels
            .as_mut()
            .map(|l| l.update(group.slot(own)))
            .unwrap_or(stem_plugin_common::link_session::Levels {
                momentary_lufs: f32::NAN,
                short_term_lufs: f32::NAN,
                true_peak_dbtp: f32::NAN,
            });
        let mut status = InstanceStatus::new(InstanceKind::Master, "Stem Master");
        shared.instance.fill_status(&mut status);
        status.linear_phase = shared.linear_phase.load(Ordering::Relaxed);
        status.compare = shared.compare.load(Ordering::Relaxed);
        status.momentary_in_lufs = input.momentary_lufs;
        status.short_term_in_lufs = input.short_term_lufs;
        status.momentary_out_lufs = meters.momentary_lufs.load();
        status.short_term_out_lufs = meters.short_term_lufs.load();
        status.true_peak_dbtp = meters.true_peak_max_dbtp.load();
        if let Some(levels) = &self.levels {
            status.history_lufs = levels.history();
            status.band_db = levels.band_frame();
        }
        self.endpoint.publish(&status, &self.rows);

        let mut view = build_view(&channels, &self.rows, analysis, &self.peers);
        view.master_band_db = status.band_db;
        let mut shown = self.shared.view.lock().unwrap_or_else(|e| e.into_inner());
        *shown = MasterLinkView {
            group: self.endpoint.group_name().to_string(),
            problem: None,
            ..view
        };
    }
}

/// The most common value (the smallest on a tie).
fn most_common<T: Copy + Ord>(values: impl Iterator<Item = T>) -> Option<T> {
    let mut v: Vec<T> = values.collect();
    v.sort();
    let mut best: Option<(T, usize)> = None;
    for chunk in v.chunk_by(|a, b| a == b) {
        if best.is_none_or(|(_, n)| chunk.len() > n) {
            best = Some((chunk[0], chunk.len()));
        }
    }
    best.map(|(value, _)| value)
}

fn build_view(
    channels: &[&Peer],
    rows: &[StemFigures],
    analysis: &LinkAnalysis,
    peers: &[Peer],
) -> MasterLinkView {
    let common_latency = most_common(channels.iter().map(|p| p.status.latency_samples));
    let common_phase = most_common(channels.iter().map(|p| p.status.linear_phase));
    let stems: Vec<LinkedStem> = channels
        .iter()
        .map(|p| LinkedStem {
            status: p.status.clone(),
            figures: rows
                .iter()
                .find(|r| r.instance_id == p.instance_id)
                .copied()
                .unwrap_or(StemFigures::empty(p.instance_id)),
            latency_differs: common_latency.is_some_and(|c| c != p.status.latency_samples),
            phase_differs: common_phase.is_some_and(|c| c != p.status.linear_phase),
        })
        .collect();
    let mut conflicts = Vec::new();
    for i in 0..channels.len() {
        for j in i + 1..channels.len() {
            if let Some(pair) = analysis.low_end(channels[i].instance_id, channels[j].instance_id) {
                if pair.is_conflict() {
                    conflicts.push((i, j, pair));
                }
            }
        }
    }
    MasterLinkView {
        stems,
        conflicts,
        other_masters: peers
            .iter()
            .filter(|p| p.status.kind == InstanceKind::Master)
            .count(),
        master_band_db: [f32::NAN; BANDS],
        ..MasterLinkView::default()
    }
}

#[cfg(test)]
mod tests {
    use super::most_common;

    #[test]
    fn the_audit_compares_with_the_most_common_value() {
        assert_eq!(most_common([64u32, 0, 0, 2048].into_iter()), Some(0));
        assert_eq!(most_common([true, false].into_iter()), Some(false));
        assert_eq!(most_common(std::iter::empty::<u32>()), None);
    }
}
