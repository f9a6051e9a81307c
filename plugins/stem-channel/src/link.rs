//! The Stem Channel's side of the Stem Link (issue 18): it publishes its stem's name, type,
//! loudness before and after its processing, true peak, gain reduction, latency and bypass
//! state about 30 times a second, writes its output to its ring for the master's analysis, and
//! reads back from the group's Stem Master its own figures (loudness against the mix, share of
//! the master's limiting) and whether the master asks for the whole-chain compare.
//!
//! The audio thread writes its output to the ring and a few atomics, nothing else; the levels
//! of the output are measured from the ring on the link thread, and the loudness before
//! processing is the output's minus the chain's own net loudness change (which the chain
//! measures anyway while the link has a master: the compare needs it).

use crate::meters::StemChannelMeters;
use shared_dsp::chain::settings::StemType;
use shared_dsp::link::record::{InstanceKind, InstanceStatus, StemFigures};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use stem_plugin_common::link_session::{
    Endpoint, InstanceShared, LinkSettings, LinkWorker, Peer, RingLevels,
};

/// Largest gain the whole-chain compare gives the unprocessed stem, dB (as the master's own
/// loudness-matched compare).
pub const COMPARE_MAX_GAIN_DB: f32 = 24.0;

/// What the audio thread, the link thread and the editor share.
pub struct ChannelLinkShared {
    /// Ring, rate, latency, bypass, compressor (and multiband) gain reduction, peak-control
    /// reduction.
    pub instance: InstanceShared,
    pub stem_type: AtomicU32,
    /// Set by the link thread: the group's master asks for the whole-chain compare.
    pub compare_requested: AtomicBool,
    /// Set by the link thread: the group has a master (the chain then keeps measuring its net
    /// loudness change, which the compare's gain comes from).
    pub master_present: AtomicBool,
    pub view: Mutex<ChannelLinkView>,
}

impl Default for ChannelLinkShared {
    fn default() -> Self {
        Self {
            instance: InstanceShared::default(),
            stem_type: AtomicU32::new(StemType::Custom as u32),
            compare_requested: AtomicBool::new(false),
            master_present: AtomicBool::new(false),
            view: Mutex::new(ChannelLinkView::default()),
        }
    }
}

impl ChannelLinkShared {
    /// The gain the whole-chain compare gives the unprocessed stem, dB: the chain's net
    /// loudness change when the compare engages (held while it lasts), so the raw stem plays
    /// as loud as the processed one.
    pub fn compare_gain_db(net_loudness_change_lu: f32) -> f32 {
        if net_loudness_change_lu.is_finite() {
            net_loudness_change_lu.clamp(-COMPARE_MAX_GAIN_DB, COMPARE_MAX_GAIN_DB)
        } else {
            0.0
        }
    }
}

/// What the editor shows of the link.
#[derive(Clone, Debug, Default)]
pub struct ChannelLinkView {
    pub group: String,
    pub problem: Option<String>,
    /// The name this stem is shown under.
    pub name: String,
    pub master_present: bool,
    /// This stem's row in the master's overview.
    pub figures: Option<StemFigures>,
    pub comparing: bool,
}

/// Starts the channel's link thread.
pub fn spawn(
    shared: Arc<ChannelLinkShared>,
    settings: Arc<LinkSettings>,
    meters: Arc<StemChannelMeters>,
) -> Option<LinkWorker> {
    let endpoint = Endpoint::new(
        InstanceKind::Channel,
        settings.clone(),
        shared.instance.audio.clone(),
    );
    let mut state = LinkState {
        shared,
        settings,
        endpoint,
        levels: None,
        peers: Vec::new(),
    };
    LinkWorker::spawn("stem-channel-link", move || state.tick(&meters)).ok()
}

struct LinkState {
    shared: Arc<ChannelLinkShared>,
    settings: Arc<LinkSettings>,
    endpoint: Endpoint,
    levels: Option<RingLevels>,
    peers: Vec<Peer>,
}

impl LinkState {
    fn tick(&mut self, meters: &StemChannelMeters) {
        let shared = &self.shared;
        let stem_type = StemType::ALL
            .get(shared.stem_type.load(Ordering::Relaxed) as usize)
            .copied()
            .unwrap_or_default();
        let session = self.settings.session();
        let name = if session.name.is_empty() {
            stem_type.name().to_string()
        } else {
            session.name
        };
        if !self.endpoint.maintain() {
            shared.master_present.store(false, Ordering::Relaxed);
            shared.compare_requested.store(false, Ordering::Relaxed);
            let mut view = shared.view.lock().unwrap_or_else(|e| e.into_inner());
            *view = ChannelLinkView {
                group: self.endpoint.group_name().to_string(),
                problem: self.endpoint.problem().map(str::to_string),
                name,
                ..ChannelLinkView::default()
            };
            return;
        }
        let rate = shared.instance.sample_rate_hz();
        if rate <= 0.0 {
            return;
        }
        if self
            .levels
            .as_ref()
            .is_none_or(|l| l.sample_rate_hz() != rate)
        {
            self.levels = Some(RingLevels::new(rate));
        }
        let (Some(group), Some(own), Some(levels)) = (
            self.endpoint.group().cloned(),
            self.endpoint.slot(),
            self.levels.as_mut(),
        ) else {
            return;
        };
        let out = levels.update(group.slot(own));
        let net = meters.net_loudness_change_lu.load();
        let before = |out: f32| if net.is_finite() { out - net } else { f32::NAN };
        let comparing = shared.compare_requested.load(Ordering::Relaxed);
        let mut status = InstanceStatus::new(InstanceKind::Channel, &name);
        status.role = stem_type as u32;
        shared.instance.fill_status(&mut status);
        status.compare = comparing;
        status.momentary_out_lufs = out.momentary_lufs;
        status.short_term_out_lufs = out.short_term_lufs;
        status.momentary_in_lufs = before(out.momentary_lufs);
        status.short_term_in_lufs = before(out.short_term_lufs);
        status.true_peak_dbtp = out.true_peak_dbtp;
        status.history_lufs = levels.history();
        status.band_db = levels.band_frame();
        self.endpoint.publish(&status, &[]);

        self.endpoint.peers(&mut self.peers);
        let id = self.endpoint.instance_id();
        let master = self
            .peers
            .iter()
            .find(|p| p.status.kind == InstanceKind::Master);
        shared
            .master_present
            .store(master.is_some(), Ordering::Relaxed);
        shared
            .compare_requested
            .store(master.is_some_and(|m| m.status.compare), Ordering::Relaxed);
        let figures = master.and_then(|m| m.rows.iter().find(|r| r.instance_id == id).copied());
        let mut view = shared.view.lock().unwrap_or_else(|e| e.into_inner());
        *view = ChannelLinkView {
            group: self.endpoint.group_name().to_string(),
            problem: None,
            name,
            master_present: master.is_some(),
            figures,
            comparing,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::ChannelLinkShared;

    #[test]
    fn the_compare_gain_follows_the_net_change_within_its_limit() {
        assert_eq!(ChannelLinkShared::compare_gain_db(-3.5), -3.5);
        assert_eq!(ChannelLinkShared::compare_gain_db(40.0), 24.0);
        assert_eq!(ChannelLinkShared::compare_gain_db(f32::NAN), 0.0);
    }
}
