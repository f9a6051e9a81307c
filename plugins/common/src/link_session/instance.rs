//! What every linked plugin's audio thread tells its link thread besides its ring: its rate,
//! latency, bypass state and the largest gain and peak reduction since the last record. One
//! struct for both plugins, so each publishes these the same way.

use super::audio::AudioLinkCell;
use crate::MeterValue;
use atomic_float::AtomicF32;
use shared_dsp::link::record::InstanceStatus;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

pub struct InstanceShared {
    /// Where the audio thread writes its block.
    pub audio: Arc<AudioLinkCell>,
    pub sample_rate_hz: AtomicF32,
    pub latency_samples: AtomicU32,
    pub bypassed: AtomicBool,
    /// Largest gain reduction (the channel's compressor, the master's limiter) and peak
    /// reduction (peak control, clipper) since the link thread last read them, dB.
    pub gain_reduction_db: MeterValue,
    pub peak_reduction_db: MeterValue,
}

impl Default for InstanceShared {
    fn default() -> Self {
        Self {
            audio: Arc::new(AudioLinkCell::default()),
            sample_rate_hz: AtomicF32::new(0.0),
            latency_samples: AtomicU32::new(0),
            bypassed: AtomicBool::new(false),
            gain_reduction_db: MeterValue::new(0.0),
            peak_reduction_db: MeterValue::new(0.0),
        }
    }
}

impl InstanceShared {
    /// The rate the host activated the instance at (0 before activation).
    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz.load(Ordering::Relaxed) as f64
    }

    /// Writes rate, latency, bypass and the reductions (read and cleared) into `status`.
    pub fn fill_status(&self, status: &mut InstanceStatus) {
        status.sample_rate_hz = self.sample_rate_hz.load(Ordering::Relaxed);
        status.latency_samples = self.latency_samples.load(Ordering::Relaxed);
        status.bypassed = self.bypassed.load(Ordering::Relaxed);
        status.gain_reduction_db = self.gain_reduction_db.take(0.0);
        status.peak_reduction_db = self.peak_reduction_db.take(0.0);
    }
}
