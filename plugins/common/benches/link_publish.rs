//! What the Stem Link costs the audio thread (issue 18: under 1 % of the Channel chain's time):
//! publishing one 512-frame stereo block (the ring write through the swappable target) against
//! processing the same block through the Stem Channel chain at the Drums starting point, the
//! lightest chain a linked stem runs with. Criterion times both; the printed ratio comes from
//! the same two loops timed back to back.

use criterion::{criterion_group, criterion_main, Criterion};
use shared_dsp::chain::channel::ChannelChain;
use shared_dsp::chain::settings::{ChannelSettings, StemType};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;
use stem_plugin_common::link::{new_instance_id, LinkGroup};
use stem_plugin_common::link_session::audio::{AudioLinkCell, AudioTarget};

const FS: f64 = 48_000.0;
const BLOCK: usize = 512;

fn linked_cell() -> (Arc<LinkGroup>, AudioLinkCell, u64, usize) {
    let group = Arc::new(
        LinkGroup::open(&format!(
            "bench-{}-{}",
            std::process::id(),
            new_instance_id()
        ))
        .unwrap(),
    );
    let id = new_instance_id();
    let slot = group.claim(id, 1).expect("a free slot");
    let cell = AudioLinkCell::default();
    cell.set(Some(AudioTarget {
        group: group.clone(),
        slot,
    }));
    (group, cell, id, slot)
}

fn drums_chain() -> ChannelChain {
    let mut chain = ChannelChain::new(BLOCK, FS);
    chain.set_settings(&ChannelSettings::for_stem(StemType::Drums));
    chain.reset();
    chain
}

fn block(seed: u64) -> Vec<f32> {
    test_signals::programme(seed, BLOCK, 0.8, 0.05)
}

fn bench(c: &mut Criterion) {
    let (group, cell, id, slot) = linked_cell();
    let (l, r) = (block(1), block(2));
    let mut pos = 0i64;
    c.bench_function("link_publish_block_512", |b| {
        b.iter(|| {
            cell.write_block(black_box(&l), black_box(&r), Some(pos), 0.0);
            pos += BLOCK as i64;
        })
    });
    let mut chain = drums_chain();
    let (mut cl, mut cr) = (l.clone(), r.clone());
    c.bench_function("channel_chain_drums_block_512", |b| {
        b.iter(|| {
            cl.copy_from_slice(&l);
            cr.copy_from_slice(&r);
            chain.process_block(black_box(&mut cl), black_box(&mut cr));
        })
    });

    // The ratio, from both loops timed back to back (median of 15 runs of 2,000 blocks).
    let mut ratios = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        for _ in 0..2000 {
            cell.write_block(black_box(&l), black_box(&r), Some(pos), 0.0);
            pos += BLOCK as i64;
        }
        let publish = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for _ in 0..2000 {
            cl.copy_from_slice(&l);
            cr.copy_from_slice(&r);
            chain.process_block(black_box(&mut cl), black_box(&mut cr));
        }
        let process = t.elapsed().as_secs_f64();
        ratios.push(100.0 * publish / process);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "link publishing: {:.2} % of the Stem Channel chain's time (Drums, 512-frame blocks; \
         goal under 1 %)",
        ratios[ratios.len() / 2]
    );
    cell.set(None);
    group.slot(slot).release(id);
}

criterion_group!(benches, bench);
criterion_main!(benches);
