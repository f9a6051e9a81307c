//! The two streaming passes of `stem check`, so its memory does not grow with the programme's
//! length: each file measured on its own as it is decoded ([`measure`]: its [`FileStats`], the
//! bass stem's low side, and where its downmix is loudest), then every file read side by side
//! ([`aligned_pass`]: the null test's residual summed block by block, and the excerpts the
//! offset search correlates, each stem's loudest window of [`crate::align::WINDOW_FRAMES`]).
//!
//! Channels: a set of mono and stereo files is summed as stereo (a mono file feeds both sides,
//! as it sits in a stereo mix); a multichannel set (5.0, 5.1, 7.1, ...) must share one layout and
//! is summed channel by channel. Anything else is refused by [`channel_plan`], naming the files.

use crate::align::{mono_into, Window, WindowEnergies};
use crate::analysis::{FileStats, FileStatsMeter, LowSideMeter};
use crate::audio::warn_non_finite;
use crate::decode::{AudioReader, AudioSpec, READ_BLOCK_FRAMES};
use crate::error::{Error, Result};
use crate::files::display_name;
use crate::progress::Progress;

use super::null::NullSums;

/// How the set's files line up channel by channel.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelPlan {
    /// Channels the set is summed in.
    pub channels: usize,
    /// BS.1770 weight of each (the residual's loudness).
    pub weights: Vec<f64>,
}

impl ChannelPlan {
    /// The channel of a file with `file_channels` channels that feeds set channel `c` (a mono
    /// file feeds both sides of a stereo set).
    fn source(&self, file_channels: usize, c: usize) -> usize {
        c.min(file_channels - 1)
    }
}

/// "6 channels (5.1)", "2 channels (stereo)".
fn layout_label(spec: &AudioSpec) -> String {
    let n = spec.channels;
    format!(
        "{n} channel{} ({})",
        if n == 1 { "" } else { "s" },
        spec.layout.name
    )
}

/// The set's channels: stereo for mono and stereo files, else the one multichannel layout every
/// file shares. Files in different multichannel layouts, or multichannel among mono or stereo
/// ones, cannot be summed channel by channel: an error naming each file's layout.
pub fn channel_plan(specs: &[&AudioSpec]) -> Result<ChannelPlan> {
    if specs.iter().all(|s| s.channels <= 2) {
        return Ok(ChannelPlan {
            channels: 2,
            weights: vec![1.0, 1.0],
        });
    }
    let first = &specs[0].layout;
    if specs.iter().all(|s| s.layout == *first) {
        return Ok(ChannelPlan {
            channels: first.weights.len(),
            weights: first.weights.clone(),
        });
    }
    // Group the files by layout, in order of first appearance.
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for s in specs {
        let label = layout_label(s);
        let name = display_name(&s.path);
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, names)) => names.push(name),
            None => groups.push((label, vec![name])),
        }
    }
    let listed: Vec<String> = groups
        .iter()
        .map(|(label, names)| format!("{} {label}", names.join(", ")))
        .collect();
    Err(Error::usage(format!(
        "the stems and the mix do not share one channel layout ({}): they are summed channel by \
         channel, so they must all be mono or stereo, or all share one multichannel layout",
        listed.join("; ")
    )))
}

/// What the first pass learns of one file.
pub struct FileMeasure {
    pub stats: FileStats,
    /// Where its downmix is loudest, for the offset search.
    pub energies: WindowEnergies,
    /// Side energy below 100 Hz against mid (when asked for: the bass stem).
    pub low_side_to_mid_db: Option<f64>,
}

/// Measures one file as it is decoded, block by block.
pub fn measure(spec: &AudioSpec, low_side: bool) -> Result<FileMeasure> {
    let reader = AudioReader::open_for_measurement(&spec.path)?;
    let mut stats = FileStatsMeter::new(&spec.layout, spec.sample_rate_hz);
    let mut energies = WindowEnergies::default();
    let mut side = low_side.then(|| LowSideMeter::new(spec.sample_rate_hz));
    let mut mono = Vec::with_capacity(READ_BLOCK_FRAMES);
    let (frames, non_finite) = reader.for_each_block(|block| {
        stats.process(block);
        mono.clear();
        mono_into(block, &mut mono);
        energies.push(&mono);
        if let Some(m) = &mut side {
            m.process(block);
        }
    })?;
    warn_non_finite(&spec.path, non_finite);
    Ok(FileMeasure {
        stats: stats.finish(spec, frames, non_finite),
        energies,
        low_side_to_mid_db: side.map(|m| m.finish()),
    })
}

/// One stem's excerpts for the offset search, over its loudest window: the stem's downmix `x`
/// over the window and the target `y` (mix minus every stem, plus this one: see
/// `check::run_check`) over the window widened by `max_lag` on both sides; the same per channel
/// for stems of two or more channels. Frames outside the stream stay silent.
pub struct Excerpt {
    pub window: Window,
    from: i64,
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub x_channels: Vec<Vec<f32>>,
    pub y_channels: Vec<Vec<f32>>,
}

impl Excerpt {
    pub fn new(window: Window, max_lag: usize, stem_channels: usize) -> Self {
        let (from, span) = window.span(max_lag);
        let per_channel = if stem_channels >= 2 { stem_channels } else { 0 };
        Self {
            window,
            from,
            x: vec![0.0; window.len],
            y: vec![0.0; span],
            x_channels: vec![vec![0.0; window.len]; per_channel],
            y_channels: vec![vec![0.0; span]; per_channel],
        }
    }

    /// Takes what falls in its frames from a block starting at stream frame `at`: the stem's
    /// downmix and channels, and the residual's (mix minus every stem).
    fn capture(&mut self, at: usize, own: &Block, residual_mono: &[f64], residual: &[Vec<f64>]) {
        let n = residual_mono.len();
        if at + n <= self.from.max(0) as usize || at as i64 >= self.from + self.y.len() as i64 {
            return;
        }
        let (start, x_len, from, y_len) =
            (self.window.start, self.x.len(), self.from, self.y.len());
        let in_x = |k: usize| (k + at).checked_sub(start).filter(|&i| i < x_len);
        let in_y = |k: usize| {
            usize::try_from((k + at) as i64 - from)
                .ok()
                .filter(|&i| i < y_len)
        };
        for k in 0..n {
            let own_mono = own.mono.get(k).copied().unwrap_or(0.0);
            if let Some(i) = in_x(k) {
                self.x[i] = own_mono;
            }
            if let Some(i) = in_y(k) {
                self.y[i] = (residual_mono[k] + own_mono as f64) as f32;
            }
            for (c, (xc, yc)) in self
                .x_channels
                .iter_mut()
                .zip(&mut self.y_channels)
                .enumerate()
            {
                let own_c = own.channels[c].get(k).copied().unwrap_or(0.0);
                if let Some(i) = in_x(k) {
                    xc[i] = own_c;
                }
                if let Some(i) = in_y(k) {
                    yc[i] = (residual[c][k] + own_c as f64) as f32;
                }
            }
        }
    }
}

/// One file's current block and its downmix.
struct Block {
    channels: Vec<Vec<f32>>,
    mono: Vec<f32>,
}

/// Reads the mix and `stems` side by side, block by block (a file that ends early reads as
/// silence): sums the null test's residual `mix - sum of stems` in every channel of `plan`, and
/// fills each stem's excerpt (`None`: a silent stem, nothing to capture).
pub fn aligned_pass(
    mix: &AudioSpec,
    stems: &[&AudioSpec],
    plan: &ChannelPlan,
    excerpts: &mut [Option<Excerpt>],
    progress: &Progress,
) -> Result<NullSums> {
    let mut readers = Vec::with_capacity(stems.len() + 1);
    for spec in std::iter::once(mix).chain(stems.iter().copied()) {
        readers.push(AudioReader::open_for_measurement(&spec.path)?);
    }
    let mut blocks: Vec<Block> = readers
        .iter()
        .map(|r| Block {
            channels: vec![Vec::new(); r.spec().channels],
            mono: Vec::new(),
        })
        .collect();
    let mut sums = NullSums::new(plan, mix.sample_rate_hz);
    let mut residual_mono: Vec<f64> = Vec::with_capacity(READ_BLOCK_FRAMES);
    let mut residual: Vec<Vec<f64>> = vec![Vec::with_capacity(READ_BLOCK_FRAMES); plan.channels];
    let longest = std::iter::once(mix)
        .chain(stems.iter().copied())
        .filter_map(|s| s.declared_frames)
        .max()
        .unwrap_or(0);
    let bar = progress.bar(longest, "null test");
    let mut at = 0usize;
    loop {
        let mut n = 0;
        for (reader, block) in readers.iter_mut().zip(&mut blocks) {
            n = n.max(reader.read_block(&mut block.channels, READ_BLOCK_FRAMES)?);
            block.mono.clear();
            let refs: Vec<&[f32]> = block.channels.iter().map(Vec::as_slice).collect();
            mono_into(&refs, &mut block.mono);
        }
        if n == 0 {
            break;
        }
        // Residual in f64 (the files' own rounding only), the stems taken out in order.
        let value = |b: &Block, c: usize, k: usize| -> f64 {
            b.channels[plan.source(b.channels.len(), c)]
                .get(k)
                .map_or(0.0, |&x| x as f64)
        };
        residual_mono.clear();
        residual_mono.extend((0..n).map(|k| {
            let mut r = blocks[0].mono.get(k).map_or(0.0, |&x| x as f64);
            for b in &blocks[1..] {
                r -= b.mono.get(k).map_or(0.0, |&x| x as f64);
            }
            r
        }));
        for (c, res) in residual.iter_mut().enumerate() {
            res.clear();
            res.extend((0..n).map(|k| {
                let mut r = value(&blocks[0], c, k);
                for b in &blocks[1..] {
                    r -= value(b, c, k);
                }
                r
            }));
        }
        sums.add(&residual);
        for (excerpt, own) in excerpts.iter_mut().zip(&blocks[1..]) {
            if let Some(e) = excerpt {
                e.capture(at, own, &residual_mono, &residual);
            }
        }
        at += n;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(sums)
}
