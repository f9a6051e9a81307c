//! Runtime filters: Linkwitz-Riley complementarity, SVF realisation of biquads, bad-sample
//! recovery and block-size independence.

mod eq_support;

use eq_support::{db, fft_mag};
use shared_dsp::filter::{
    BiquadCascade, BiquadCoefs, CascadeCoefs, LinkwitzRiley, LinkwitzRileyAllpass,
    LinkwitzRileyOrder, Slope, Svf, SvfCoefs,
};
use test_signals::noise;

const ORDERS: [LinkwitzRileyOrder; 3] = [
    LinkwitzRileyOrder::Lr2,
    LinkwitzRileyOrder::Lr4,
    LinkwitzRileyOrder::Lr8,
];

#[test]
fn linkwitz_riley_bands_sum_to_flat_magnitude() {
    let n = 1 << 15;
    let mut worst = 0.0f64;
    for sr in [44_100.0, 48_000.0, 192_000.0] {
        for order in ORDERS {
            for &hz in &[60.0, 250.0, 2_000.0, 8_000.0] {
                let mut lr = LinkwitzRiley::new(order, sr, hz);
                let mut x = vec![0.0f32; n];
                x[0] = 1.0;
                let mut lo = vec![0.0f32; n];
                let mut hi = vec![0.0f32; n];
                lr.split_block(&x, &mut lo, &mut hi);
                let sum: Vec<f64> = lo
                    .iter()
                    .zip(hi.iter())
                    .map(|(a, b)| (a + b) as f64)
                    .collect();
                for m in fft_mag(&sum, n).iter().skip(1) {
                    worst = worst.max(db(*m).abs());
                }
                // Each band is -6.02 dB at the crossover (squared Butterworth).
                let l = lr.response_low(hz).norm();
                let h = lr.response_high(hz).norm();
                assert!((db(l) + 6.0206).abs() < 1e-6 && (db(h) + 6.0206).abs() < 1e-6);
                // The allpass compensator has exactly the sum's response.
                let ap = LinkwitzRileyAllpass::new(order, sr, hz);
                for &f in &[20.0, hz * 0.5, hz, hz * 2.0, 0.4 * sr] {
                    assert!((ap.response(f) - lr.response_sum(f)).norm() < 1e-9);
                }
            }
        }
    }
    println!("LR sum worst deviation from flat: {worst:.6} dB");
    assert!(worst < 0.01, "{worst}");
}

#[test]
fn linkwitz_riley_slopes_match_order() {
    // Two octaves out the low band of LR(2n) falls by ~ 2 * 6n dB per octave (analogue
    // |H| = 1 / (1 + r^(2n)) for the squared Butterworth of order n).
    let sr = 96_000.0;
    for (order, n) in [(LinkwitzRileyOrder::Lr4, 2), (LinkwitzRileyOrder::Lr8, 4)] {
        let lr = LinkwitzRiley::new(order, sr, 500.0);
        let expect = |r: f64| -20.0 * (1.0 + r.powi(2 * n)).log10();
        let g = db(lr.response_low(2_000.0).norm());
        assert!((g - expect(4.0)).abs() < 0.1, "{order:?}: {g}");
        let g = db(lr.response_high(125.0).norm());
        assert!((g - expect(4.0)).abs() < 0.1, "{order:?}: {g}");
    }
}

#[test]
fn svf_realises_matched_biquads_exactly() {
    for c in [
        BiquadCoefs::bell(48_000.0, 12_000.0, 0.7, 9.0),
        BiquadCoefs::high_shelf(44_100.0, 15_000.0, 0.8, -6.0),
        BiquadCoefs::highpass(48_000.0, 30.0, 0.6),
        BiquadCoefs::notch(48_000.0, 3_000.0, 8.0),
    ] {
        let svf = SvfCoefs::from_biquad(&c);
        for &f in &[10.0, 100.0, 1_000.0, 10_000.0, 20_000.0] {
            let a = c.response(f);
            let b = svf.response(c.sample_rate_hz, f);
            assert!((a - b).norm() < 1e-9 * (1.0 + a.norm()), "{f}: {a} vs {b}");
        }
        // Sample by sample, against the TDF-II biquad.
        let x = noise(4096, 7);
        let mut y1 = x.clone();
        let mut y2 = x.clone();
        BiquadCascade::new(CascadeCoefs::single(c)).process_block(&mut y1);
        Svf::new(svf).process_block(&mut y2);
        for (a, b) in y1.iter().zip(y2.iter()) {
            assert!((a - b).abs() < 1e-5, "{a} {b}");
        }
    }
}

fn assert_clean(y: &[f32]) {
    for v in y {
        assert!(
            v.is_finite() && (*v == 0.0 || v.abs() >= f32::MIN_POSITIVE),
            "{v}"
        );
    }
}

#[test]
fn bad_samples_never_leave_and_filters_recover() {
    let mut x = noise(2048, 3);
    x[100] = f32::NAN;
    x[101] = f32::INFINITY;
    x[102] = f32::NEG_INFINITY;
    x[103] = f32::MIN_POSITIVE / 8.0;
    let mut clean = x.clone();
    clean[100..104].fill(0.0);
    let c = CascadeCoefs::butterworth_highpass(48_000.0, 40.0, Slope::Db24);
    let (mut a, mut b) = (x.clone(), clean.clone());
    BiquadCascade::new(c).process_block(&mut a);
    BiquadCascade::new(c).process_block(&mut b);
    assert_clean(&a);
    assert_eq!(a, b, "bad samples must act as silence");

    let (mut a, mut b) = (x.clone(), clean.clone());
    Svf::new(SvfCoefs::lowpass(48_000.0, 500.0, 2.0)).process_block(&mut a);
    Svf::new(SvfCoefs::lowpass(48_000.0, 500.0, 2.0)).process_block(&mut b);
    assert_clean(&a);
    assert_eq!(a, b);

    let mut lr = LinkwitzRiley::new(LinkwitzRileyOrder::Lr8, 48_000.0, 300.0);
    let mut lr2 = lr;
    let (mut l1, mut h1, mut l2, mut h2) = (
        vec![0.0; 2048],
        vec![0.0; 2048],
        vec![0.0; 2048],
        vec![0.0; 2048],
    );
    lr.split_block(&x, &mut l1, &mut h1);
    lr2.split_block(&clean, &mut l2, &mut h2);
    assert_clean(&l1);
    assert_clean(&h1);
    assert_eq!((l1, h1), (l2, h2));

    // Silence after a loud burst decays to exact zeros, never to subnormals.
    let mut tail = vec![0.0f32; 200_000];
    tail[0] = 1.0;
    let mut f = BiquadCascade::new(c);
    f.process_block(&mut tail);
    assert_clean(&tail);
    assert_eq!(*tail.last().unwrap(), 0.0);
}

#[test]
fn block_sizes_agree_with_one_big_block() {
    let x = noise(20_000, 11);
    let c = CascadeCoefs::butterworth_lowpass(44_100.0, 900.0, Slope::Db36);
    let mut whole = x.clone();
    BiquadCascade::new(c).process_block(&mut whole);
    let mut lr_whole = (vec![0.0; x.len()], vec![0.0; x.len()]);
    LinkwitzRiley::new(LinkwitzRileyOrder::Lr4, 44_100.0, 120.0).split_block(
        &x,
        &mut lr_whole.0,
        &mut lr_whole.1,
    );
    for block in [1usize, 113, 4096] {
        let mut f = BiquadCascade::new(c);
        let mut lr = LinkwitzRiley::new(LinkwitzRileyOrder::Lr4, 44_100.0, 120.0);
        let mut y = x.clone();
        let mut lo = vec![0.0; x.len()];
        let mut hi = vec![0.0; x.len()];
        for (i, chunk) in y.chunks_mut(block).enumerate() {
            f.process_block(chunk);
            let s = i * block;
            let e = s + chunk.len();
            lr.split_block(&x[s..e], &mut lo[s..e], &mut hi[s..e]);
        }
        for (a, b) in y.iter().zip(whole.iter()) {
            assert!((a - b).abs() <= 1e-7, "block {block}: {a} vs {b}");
        }
        for (a, b) in lo
            .iter()
            .zip(lr_whole.0.iter())
            .chain(hi.iter().zip(lr_whole.1.iter()))
        {
            assert!((a - b).abs() <= 1e-7, "block {block}: {a} vs {b}");
        }
    }
}
