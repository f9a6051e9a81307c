//! Real-time safety of the meters (and of the gain-reduction attribution's recording, within the
//! frames it was built for): after construction, processing (any block size, bad samples
//! included), reading every value, changing settings, pausing and resetting never allocate.
//! Proven with a counting global allocator.

use shared_dsp::meter::attribution::{peak_shares, AttributionRecorder, ShareAccumulator};
use shared_dsp::meter::correlation::Correlation;
use shared_dsp::meter::level::{Rms, SamplePeak};
use shared_dsp::meter::loudness::{LoudnessMeter, WEIGHTS_5_1};
use shared_dsp::meter::programme::ProgrammeMeter;
use shared_dsp::meter::spectrum::SpectrumAnalyser;
use shared_dsp::meter::true_peak::TruePeakDetector;

mod alloc_support;
use alloc_support::thread_allocations;

#[test]
fn meters_never_allocate_after_construction() {
    let sr = 48_000.0;
    // Construction and test signals may allocate.
    let mut programme = ProgrammeMeter::new(6, sr);
    let mut loudness = LoudnessMeter::new(2, sr);
    let mut detector = TruePeakDetector::new(sr);
    let mut peak = SamplePeak::new(2);
    let mut rms = Rms::new(2, sr);
    let mut corr = Correlation::new(sr);
    let mut spec = SpectrumAnalyser::new(4096, sr);
    let x: Vec<f32> = (0..48_000 * 4)
        .map(|i| {
            if i % 9_001 == 0 {
                f32::NAN
            } else {
                0.3 * (i as f32 * 0.031).sin() * (1.0 + (i as f32 * 1e-4).sin())
            }
        })
        .collect();
    let silent = vec![0.0f32; x.len()];
    let mut attribution = AttributionRecorder::new(3, sr, 217, x.len());
    let mut accumulator = ShareAccumulator::new(3);
    let (mut window_shares, mut percent) = ([0.0f32; 3], [0.0f64; 3]);

    let before = thread_allocations();
    let mut sink = 0.0f64;
    for &block in &[1usize, 113, 4096] {
        for chunk in x[..48_000].chunks(block) {
            sink += detector.process_sample(chunk[0]) as f64;
            sink += detector.process_block_max(chunk) as f64;
        }
    }
    programme.loudness_mut().set_channel_weights(&WEIGHTS_5_1);
    programme.loudness_mut().set_lra_update_interval_ms(1000.0);
    for (start, chunk) in x.chunks(4096).enumerate() {
        let s = &silent[start * 4096..start * 4096 + chunk.len()];
        programme.process_block(&[chunk, chunk, chunk, s, chunk, chunk]);
        loudness.process_block(&[chunk, chunk]);
        peak.process_block(&[chunk, chunk]);
        rms.process_block(&[chunk, chunk]);
        corr.process_block(chunk, chunk);
        spec.process_block(chunk);
        attribution.record([chunk, chunk], &[[chunk, s], [s, chunk], [s, s]]);
        peak_shares(
            &chunk[..3],
            chunk[0] + chunk[1] + chunk[2],
            &mut window_shares,
        );
        accumulator.add(&window_shares, 1.5);
        accumulator.percent_into(&mut percent);
        sink += programme.plr_db() + programme.psr_db() + programme.max_true_peak_dbtp();
        let l = programme.loudness();
        sink += l.momentary_lufs() + l.short_term_lufs() + l.integrated_lufs();
        sink += l.loudness_range_lu() + l.max_momentary_lufs() + l.max_short_term_lufs();
        sink += loudness.integrated_lufs() + peak.peak_dbfs() + rms.rms_dbfs();
        sink += corr.correlation() + spec.band_db()[0] as f64 + spec.bin_db()[10] as f64;
    }
    spec.set_bands_per_octave(24);
    spec.set_smoothing_ms(50.0);
    spec.process_block(&x[..8192]);
    loudness.set_paused(true);
    loudness.process_block(&[&x[..100], &x[..100]]);
    loudness.set_paused(false);
    programme.reset();
    loudness.reset();
    detector.reset();
    spec.reset();
    programme.set_sample_rate(96_000.0);
    programme.process_block(&[&x[..4096]]);
    attribution.finish();
    let after = thread_allocations();
    assert!(!sink.is_nan());
    assert_eq!(
        after - before,
        0,
        "meters allocated {} times",
        after - before
    );
}
