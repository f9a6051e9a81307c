//! Real-time rule: no allocation inside `process_block` of the filters and EQs, including
//! automation, dynamic bands, structural changes, linear-phase redesign and quality changes.

use shared_dsp::eq::{
    BandKind, BandSettings, DynamicSettings, LinearPhaseEq, LinearPhaseQuality, ParametricEq,
    Placement,
};
use shared_dsp::filter::{BiquadCascade, CascadeCoefs, LinkwitzRiley, LinkwitzRileyOrder, Slope};

mod alloc_support;
use alloc_support::allocations;

#[test]
fn processing_never_allocates() {
    let sr = 48_000.0;
    let mut l = vec![0.1f32; 4096];
    let mut r = vec![-0.2f32; 4096];
    for (i, (a, b)) in l.iter_mut().zip(r.iter_mut()).enumerate() {
        *a = ((i as f32) * 0.05).sin() * 0.5;
        *b = ((i as f32) * 0.013).cos() * 0.5;
    }

    let mut eq = ParametricEq::new(sr);
    eq.set_sample_rate(sr);
    let mut cascade = BiquadCascade::new(CascadeCoefs::butterworth_highpass(sr, 35.0, Slope::Db48));
    let mut lr = LinkwitzRiley::new(LinkwitzRileyOrder::Lr8, sr, 120.0);
    let mut lo = vec![0.0f32; 4096];
    let mut hi = vec![0.0f32; 4096];
    let mut lp = LinearPhaseEq::new(sr, sr);
    lp.set_quality(LinearPhaseQuality::Low);
    lp.set_sample_rate(sr);
    let dynamic = BandSettings {
        dynamic: DynamicSettings {
            enabled: true,
            threshold_db: -40.0,
            range_db: -6.0,
            attack_ms: 2.0,
            release_ms: 30.0,
        },
        ..BandSettings::bell(80.0, 0.0, 1.0)
    };
    let n = allocations(|| {
        for step in 0..40 {
            // Automation every block, structural changes now and then, a dynamic band.
            eq.set_band(0, BandSettings::bell(200.0 + 50.0 * step as f32, 3.0, 1.0));
            eq.set_band(1, dynamic);
            if step == 10 {
                eq.set_band(2, BandSettings::new(BandKind::HighPass, 40.0, 0.0, 0.7));
            }
            if step == 20 {
                eq.set_band(
                    3,
                    BandSettings {
                        placement: Placement::Side,
                        ..BandSettings::new(BandKind::HighShelf, 12_000.0, 2.0, 0.7)
                    },
                );
            }
            for (cl, cr) in l.chunks_mut(113).zip(r.chunks_mut(113)) {
                eq.process_block(cl, cr);
            }
            cascade.process_block(&mut l);
            lr.split_block(&r, &mut lo, &mut hi);
            // Linear phase: new band sets and a quality change while running.
            if step % 8 == 0 {
                lp.set_bands(&[BandSettings::bell(1_000.0 + step as f32, 2.0, 1.0), dynamic]);
            }
            if step == 30 {
                lp.set_quality(LinearPhaseQuality::Medium);
            }
            lp.process_block(&mut l, &mut r);
        }
    });
    assert_eq!(n, 0, "{n} allocations while processing");
}
