//! The status record every linked instance publishes (about 30 times a second), as a fixed
//! array of 32-bit words: the layout that crosses process boundaries, so it holds only numbers
//! (floats as their IEEE bits, text as UTF-8 bytes), never pointers. A record written by one
//! build and read by another of a different format version is refused, not misread.
//!
//! A Stem Channel publishes its identity, levels and state ([`InstanceStatus`]); the Stem
//! Master publishes its own status plus one [`StemFigures`] row per linked stem (the overview
//! it computes), which each Stem Channel reads to show its own share of the master's limiting.

/// Words a record needs (the transport's records must be at least this long).
pub const RECORD_WORDS_USED: usize = ROWS_AT + MAX_ROWS * ROW_WORDS;

/// Most stem rows a master record carries (a link group holds 32 instances, one a master).
pub const MAX_ROWS: usize = 31;

/// Momentary loudness history a record carries, one value per 100 ms (the last 3.2 s).
pub const HISTORY: usize = 32;

/// Longest instance name, UTF-8 bytes (longer names are cut at a character boundary).
pub const NAME_BYTES: usize = 32;

/// The band-energy frame's 1/3-octave bands: the IEC 61260 nominal centres, 20 Hz to 20 kHz.
pub const BAND_CENTRES_HZ: [f32; 31] = [
    20.0, 25.0, 31.5, 40.0, 50.0, 63.0, 80.0, 100.0, 125.0, 160.0, 200.0, 250.0, 315.0, 400.0,
    500.0, 630.0, 800.0, 1000.0, 1250.0, 1600.0, 2000.0, 2500.0, 3150.0, 4000.0, 5000.0, 6300.0,
    8000.0, 10000.0, 12500.0, 16000.0, 20000.0,
];
/// Bands in the frame.
pub const BANDS: usize = BAND_CENTRES_HZ.len();

/// Format version: bumped whenever the layout changes.
const FORMAT: u32 = 0x5354_4c02; // "STL" 2
const KIND_AT: usize = 1;
const NAME_AT: usize = 2;
const ROLE_AT: usize = NAME_AT + NAME_BYTES / 4;
const RATE_AT: usize = ROLE_AT + 1;
const LATENCY_AT: usize = RATE_AT + 1;
const FLAGS_AT: usize = LATENCY_AT + 1;
const LEVELS_AT: usize = FLAGS_AT + 1;
const LEVELS: usize = 7;
const HISTORY_AT: usize = LEVELS_AT + LEVELS;
const BANDS_AT: usize = HISTORY_AT + HISTORY;
const ROW_COUNT_AT: usize = BANDS_AT + BANDS;
const ROWS_AT: usize = ROW_COUNT_AT + 1;
const ROW_WORDS: usize = 8;

const FLAG_LINEAR_PHASE: u32 = 1;
const FLAG_BYPASSED: u32 = 2;
const FLAG_COMPARE: u32 = 4;

/// What an instance is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceKind {
    Channel = 1,
    Master = 2,
}

impl InstanceKind {
    /// The kind a transport slot stores, from its number.
    pub fn from_number(n: u32) -> Option<Self> {
        match n {
            1 => Some(Self::Channel),
            2 => Some(Self::Master),
            _ => None,
        }
    }
}

/// One instance's identity, levels and state. Levels are `f32` with `-inf` for silence and
/// NaN for "not measured".
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceStatus {
    pub kind: InstanceKind,
    /// The stem's (or master's) name as the user typed it.
    pub name: String,
    /// Stem role: the Stem Channel's stem type index (0 drums .. 5 custom); 0 for the master.
    pub role: u32,
    pub sample_rate_hz: f32,
    /// Latency the instance reports to the host, samples.
    pub latency_samples: u32,
    /// Whether any of its filters is linear-phase (the latency audit flags a mix of both).
    pub linear_phase: bool,
    /// Bypassed (by its own bypass switch).
    pub bypassed: bool,
    /// Master: whole-chain compare requested. Channel: it is in its loudness-matched bypass
    /// because the master asked.
    pub compare: bool,
    /// K-weighted loudness before processing, LUFS (BS.1770-5 momentary 400 ms, short-term 3 s).
    pub momentary_in_lufs: f32,
    pub short_term_in_lufs: f32,
    /// The same after processing.
    pub momentary_out_lufs: f32,
    pub short_term_out_lufs: f32,
    /// True peak of the output since the last record, dBTP.
    pub true_peak_dbtp: f32,
    /// Gain reduction since the last record: the compressor's (channel) or limiter's (master), dB.
    pub gain_reduction_db: f32,
    /// Peak reduction since the last record: peak control (channel) or clipper (master), dB.
    pub peak_reduction_db: f32,
    /// Momentary output loudness, one value per 100 ms, oldest first.
    pub history_lufs: [f32; HISTORY],
    /// The output's 1/3-octave band-energy frame at [`BAND_CENTRES_HZ`], dBFS (mono,
    /// `(L + R) / 2`, smoothed over about 150 ms; NaN until measured). The master's is its input.
    pub band_db: [f32; BANDS],
}

impl InstanceStatus {
    /// A status with nothing measured yet.
    pub fn new(kind: InstanceKind, name: &str) -> Self {
        Self {
            kind,
            name: truncated(name).to_string(),
            role: 0,
            sample_rate_hz: 0.0,
            latency_samples: 0,
            linear_phase: false,
            bypassed: false,
            compare: false,
            momentary_in_lufs: f32::NAN,
            short_term_in_lufs: f32::NAN,
            momentary_out_lufs: f32::NAN,
            short_term_out_lufs: f32::NAN,
            true_peak_dbtp: f32::NAN,
            gain_reduction_db: 0.0,
            peak_reduction_db: 0.0,
            history_lufs: [f32::NAN; HISTORY],
            band_db: [f32::NAN; BANDS],
        }
    }

    fn levels(&self) -> [f32; LEVELS] {
        [
            self.momentary_in_lufs,
            self.short_term_in_lufs,
            self.momentary_out_lufs,
            self.short_term_out_lufs,
            self.true_peak_dbtp,
            self.gain_reduction_db,
            self.peak_reduction_db,
        ]
    }
}

/// The master's figures for one linked stem: the live counterpart of the render report's
/// `stem_attribution` row, with the same names and units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StemFigures {
    /// The stem's instance id.
    pub instance_id: u64,
    /// Its share of the master limiter's gain reduction since the mark, percent (`None`: the
    /// limiter has not acted).
    pub limiter_gain_reduction_share_percent: Option<f32>,
    /// Its share of the mix's peaks within 3 dB of the loudest since the mark, percent.
    pub peak_share_percent: Option<f32>,
    /// Its integrated loudness minus the mix's since the mark, LU.
    pub loudness_vs_mix_lu: Option<f32>,
    /// Its short-term (3 s) loudness minus the mix's, LU.
    pub short_term_vs_mix_lu: Option<f32>,
    /// How far its short-term loudness against the mix has moved since the mark, LU.
    pub change_since_mark_lu: Option<f32>,
}

impl StemFigures {
    /// A row with nothing measured.
    pub fn empty(instance_id: u64) -> Self {
        Self {
            instance_id,
            limiter_gain_reduction_share_percent: None,
            peak_share_percent: None,
            loudness_vs_mix_lu: None,
            short_term_vs_mix_lu: None,
            change_since_mark_lu: None,
        }
    }
}

/// The band-energy frame of an analyser's 1/3-octave bands (`centres_hz` ascending, `levels_db`
/// beside them): each of [`BAND_CENTRES_HZ`] takes the level of the analyser band nearest to it
/// on a log axis within a sixth of an octave (an analyser whose bands sit on other centres, or
/// stop below 20 kHz at a low rate, leaves the rest NaN).
pub fn band_frame(centres_hz: &[f32], levels_db: &[f32]) -> [f32; BANDS] {
    let mut frame = [f32::NAN; BANDS];
    for (out, &centre) in frame.iter_mut().zip(&BAND_CENTRES_HZ) {
        let nearest = centres_hz
            .iter()
            .zip(levels_db)
            .map(|(&hz, &db)| ((hz / centre).log2().abs(), db))
            .filter(|(octaves, _)| octaves.is_finite())
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((octaves, db)) = nearest {
            if octaves <= 1.0 / 6.0 {
                *out = db;
            }
        }
    }
    frame
}

/// Why a record could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// Written by another format version (or never written).
    Format(u32),
    /// A field holds a value no writer writes.
    Field(&'static str),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Format(found) => write!(
                f,
                "link record of format {found:#010x}, this build reads {FORMAT:#010x}"
            ),
            Self::Field(name) => write!(f, "link record field `{name}` is out of range"),
        }
    }
}

impl std::error::Error for RecordError {}

fn truncated(name: &str) -> &str {
    let mut end = name.len().min(NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

fn option_bits(v: Option<f32>) -> u32 {
    v.unwrap_or(f32::NAN).to_bits()
}

fn bits_option(w: u32) -> Option<f32> {
    let v = f32::from_bits(w);
    (!v.is_nan()).then_some(v)
}

/// Writes `status` and the master's `rows` (empty for a channel; at most [`MAX_ROWS`], the
/// rest dropped) into `words` (at least [`RECORD_WORDS_USED`] long; the rest untouched).
pub fn encode(status: &InstanceStatus, rows: &[StemFigures], words: &mut [u32]) {
    assert!(words.len() >= RECORD_WORDS_USED, "link record too short");
    words[0] = FORMAT;
    words[KIND_AT] = status.kind as u32;
    let mut name = [0u8; NAME_BYTES];
    let text = truncated(&status.name).as_bytes();
    name[..text.len()].copy_from_slice(text);
    for (w, chunk) in words[NAME_AT..ROLE_AT].iter_mut().zip(name.chunks(4)) {
        *w = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    words[ROLE_AT] = status.role;
    words[RATE_AT] = status.sample_rate_hz.to_bits();
    words[LATENCY_AT] = status.latency_samples;
    words[FLAGS_AT] = (u32::from(status.linear_phase) * FLAG_LINEAR_PHASE)
        | (u32::from(status.bypassed) * FLAG_BYPASSED)
        | (u32::from(status.compare) * FLAG_COMPARE);
    for (w, v) in words[LEVELS_AT..HISTORY_AT].iter_mut().zip(status.levels()) {
        *w = v.to_bits();
    }
    for (w, v) in words[HISTORY_AT..BANDS_AT]
        .iter_mut()
        .zip(status.history_lufs)
    {
        *w = v.to_bits();
    }
    for (w, v) in words[BANDS_AT..ROW_COUNT_AT].iter_mut().zip(status.band_db) {
        *w = v.to_bits();
    }
    let rows = &rows[..rows.len().min(MAX_ROWS)];
    words[ROW_COUNT_AT] = rows.len() as u32;
    for (row, out) in rows.iter().zip(words[ROWS_AT..].chunks_mut(ROW_WORDS)) {
        out[0] = row.instance_id as u32;
        out[1] = (row.instance_id >> 32) as u32;
        out[2] = option_bits(row.limiter_gain_reduction_share_percent);
        out[3] = option_bits(row.peak_share_percent);
        out[4] = option_bits(row.loudness_vs_mix_lu);
        out[5] = option_bits(row.short_term_vs_mix_lu);
        out[6] = option_bits(row.change_since_mark_lu);
        out[7] = 0;
    }
}

/// Reads a record: the status, and the rows into `rows` (cleared first; a master's overview).
pub fn decode(words: &[u32], rows: &mut Vec<StemFigures>) -> Result<InstanceStatus, RecordError> {
    rows.clear();
    if words.len() < RECORD_WORDS_USED || words[0] != FORMAT {
        return Err(RecordError::Format(words.first().copied().unwrap_or(0)));
    }
    let kind = InstanceKind::from_number(words[KIND_AT]).ok_or(RecordError::Field("kind"))?;
    let mut name = Vec::with_capacity(NAME_BYTES);
    for w in &words[NAME_AT..ROLE_AT] {
        name.extend_from_slice(&w.to_le_bytes());
    }
    let len = name.iter().position(|&b| b == 0).unwrap_or(NAME_BYTES);
    let name = String::from_utf8_lossy(&name[..len]).into_owned();
    let level = |i: usize| f32::from_bits(words[LEVELS_AT + i]);
    let flags = words[FLAGS_AT];
    let mut history_lufs = [f32::NAN; HISTORY];
    for (h, &w) in history_lufs.iter_mut().zip(&words[HISTORY_AT..BANDS_AT]) {
        *h = f32::from_bits(w);
    }
    let mut band_db = [f32::NAN; BANDS];
    for (b, &w) in band_db.iter_mut().zip(&words[BANDS_AT..ROW_COUNT_AT]) {
        *b = f32::from_bits(w);
    }
    let status = InstanceStatus {
        kind,
        name,
        role: words[ROLE_AT],
        sample_rate_hz: f32::from_bits(words[RATE_AT]),
        latency_samples: words[LATENCY_AT],
        linear_phase: flags & FLAG_LINEAR_PHASE != 0,
        bypassed: flags & FLAG_BYPASSED != 0,
        compare: flags & FLAG_COMPARE != 0,
        momentary_in_lufs: level(0),
        short_term_in_lufs: level(1),
        momentary_out_lufs: level(2),
        short_term_out_lufs: level(3),
        true_peak_dbtp: level(4),
        gain_reduction_db: level(5),
        peak_reduction_db: level(6),
        history_lufs,
        band_db,
    };
    let count = words[ROW_COUNT_AT] as usize;
    if count > MAX_ROWS {
        return Err(RecordError::Field("rows"));
    }
    for w in words[ROWS_AT..].chunks(ROW_WORDS).take(count) {
        rows.push(StemFigures {
            instance_id: w[0] as u64 | ((w[1] as u64) << 32),
            limiter_gain_reduction_share_percent: bits_option(w[2]),
            peak_share_percent: bits_option(w[3]),
            loudness_vs_mix_lu: bits_option(w[4]),
            short_term_vs_mix_lu: bits_option(w[5]),
            change_since_mark_lu: bits_option(w[6]),
        });
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_with_its_rows() {
        let mut status = InstanceStatus::new(InstanceKind::Master, "Master bus");
        status.latency_samples = 1234;
        status.linear_phase = true;
        status.compare = true;
        status.short_term_out_lufs = -8.25;
        status.momentary_in_lufs = f32::NEG_INFINITY;
        status.history_lufs[HISTORY - 1] = -9.5;
        status.band_db[BANDS - 1] = -42.25;
        let rows: Vec<StemFigures> = (0..MAX_ROWS as u64 + 3)
            .map(|i| StemFigures {
                instance_id: u64::MAX - i,
                limiter_gain_reduction_share_percent: Some(i as f32),
                peak_share_percent: None,
                loudness_vs_mix_lu: Some(-3.01),
                short_term_vs_mix_lu: None,
                change_since_mark_lu: Some(0.5),
            })
            .collect();
        let mut words = vec![0u32; RECORD_WORDS_USED];
        encode(&status, &rows, &mut words);
        let mut back = Vec::new();
        let decoded = decode(&words, &mut back).unwrap();
        // NaN != NaN: compare the bits of the levels, the rest field by field.
        assert_eq!(decoded.name, status.name);
        assert_eq!(decoded.kind, status.kind);
        assert_eq!(decoded.latency_samples, 1234);
        assert!(decoded.linear_phase && decoded.compare && !decoded.bypassed);
        assert_eq!(
            decoded.levels().map(f32::to_bits),
            status.levels().map(f32::to_bits)
        );
        assert_eq!(decoded.history_lufs[HISTORY - 1], -9.5);
        assert_eq!(decoded.band_db[BANDS - 1], -42.25);
        assert_eq!(back, rows[..MAX_ROWS]);
    }

    #[test]
    fn the_band_frame_takes_the_nearest_band_and_leaves_missing_ones_empty() {
        // Exact third-octave centres (base-two) up to 10 kHz, as an analyser at a low rate has.
        let centres: Vec<f32> = (-17..=10)
            .map(|k| 1000.0 * 2f32.powf(k as f32 / 3.0))
            .collect();
        let levels: Vec<f32> = (0..centres.len()).map(|i| -(i as f32)).collect();
        let frame = band_frame(&centres, &levels);
        // 1 kHz is band 17, 20 Hz the first (19.7 Hz), 10 kHz band 27 (10.08 kHz).
        assert_eq!(frame[17], -17.0);
        assert_eq!(frame[0], 0.0);
        assert_eq!(frame[27], -27.0);
        // Above the analyser's last band: nothing.
        assert!(frame[28..].iter().all(|v| v.is_nan()), "{frame:?}");
    }

    #[test]
    fn long_and_multibyte_names_are_cut_at_a_character_boundary() {
        let name = "Drums \u{1f941}\u{1f941}\u{1f941}\u{1f941}\u{1f941}\u{1f941}\u{1f941}";
        let status = InstanceStatus::new(InstanceKind::Channel, name);
        assert!(status.name.len() <= NAME_BYTES && name.starts_with(&status.name));
        let mut words = vec![0u32; RECORD_WORDS_USED];
        encode(&status, &[], &mut words);
        assert_eq!(decode(&words, &mut Vec::new()).unwrap().name, status.name);
    }

    #[test]
    fn foreign_or_corrupt_records_are_refused() {
        let mut rows = Vec::new();
        assert_eq!(
            decode(&[0; RECORD_WORDS_USED], &mut rows),
            Err(RecordError::Format(0))
        );
        assert!(decode(&[FORMAT; 4], &mut rows).is_err());
        let mut words = vec![0u32; RECORD_WORDS_USED];
        encode(
            &InstanceStatus::new(InstanceKind::Channel, "x"),
            &[],
            &mut words,
        );
        words[KIND_AT] = 9;
        assert_eq!(decode(&words, &mut rows), Err(RecordError::Field("kind")));
        words[KIND_AT] = 1;
        words[ROW_COUNT_AT] = 1000;
        assert_eq!(decode(&words, &mut rows), Err(RecordError::Field("rows")));
        // Garbage bytes in the name decode lossily instead of failing.
        words[ROW_COUNT_AT] = 0;
        words[NAME_AT] = 0xffff_ffff;
        assert!(decode(&words, &mut rows).is_ok());
    }
}
