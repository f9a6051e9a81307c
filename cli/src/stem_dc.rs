//! A stem's DC offset, measured before the render, and the render's rule for the Stem
//! Channel's DC filter (issue 16, "DC and subsonics"): a stem whose DC is above
//! [`DC_FILTER_ABOVE_DBFS`] gets the filter unless the preset says otherwise.
//!
//! Why -60 dBFS: a DC offset is inaudible, but the limiter's drive raises it with the music
//! (8-20 dB for club targets), and a master's DC above about -60 dBFS is what `stem report`
//! warns about; a stem at -60 dBFS summed with four others and driven 15 dB reaches it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::decode::AudioReader;
use crate::error::Result;
use crate::files::display_name;
use crate::plan::Delivery;

/// A stem whose DC offset (largest channel) is above this gets its DC filter in `stem render`.
pub const DC_FILTER_ABOVE_DBFS: f64 = -60.0;

/// What the render found and did about one stem's DC.
#[derive(Clone, Debug, Serialize)]
pub struct StemDc {
    /// The stem's file name.
    pub file: String,
    /// DC offset of its most offset channel (mean sample value), dBFS; -inf for none.
    pub dc_offset_dbfs: f64,
    /// Deliveries whose render ran the stem through the DC filter.
    pub dc_filter_deliveries: Vec<String>,
}

/// Whether a stem with this DC gets the filter when the preset leaves it unset.
pub fn needs_dc_filter(dc_offset_dbfs: f64) -> bool {
    dc_offset_dbfs > DC_FILTER_ABOVE_DBFS
}

/// DC offset of the file's most offset channel in dBFS (the mean of every sample, decoded block
/// by block, so memory does not grow with the file).
pub fn dc_offset_dbfs(path: &Path) -> Result<f64> {
    let reader = AudioReader::open(path)?;
    let mut sums = vec![0.0f64; reader.spec().channels];
    let (frames, _) = reader.for_each_block(|block| {
        for (sum, ch) in sums.iter_mut().zip(block) {
            *sum += ch.iter().map(|&x| x as f64).sum::<f64>();
        }
    })?;
    let largest = sums
        .iter()
        .map(|s| (s / frames.max(1) as f64).abs())
        .fold(0.0f64, f64::max);
    Ok(20.0 * largest.log10())
}

/// Turns on the DC filter of every stem whose DC needs it, in every delivery whose preset does
/// not set it, and says per stem what was found and done. `dc_offset_dbfs` is in stem order.
pub fn apply_dc_filters(
    deliveries: &mut [Delivery],
    stems: &[PathBuf],
    dc_offset_dbfs: &[f64],
) -> Vec<StemDc> {
    stems
        .iter()
        .zip(dc_offset_dbfs)
        .enumerate()
        .map(|(i, (path, &dc))| {
            let mut on = Vec::new();
            for d in deliveries.iter_mut() {
                if !d.dc_filter_pinned[i] && needs_dc_filter(dc) {
                    d.stem_settings[i].dc_filter_enabled = true;
                }
                if d.stem_settings[i].dc_filter_enabled {
                    on.push(d.name.clone());
                }
            }
            StemDc {
                file: path.display().to_string(),
                dc_offset_dbfs: dc,
                dc_filter_deliveries: on,
            }
        })
        .collect()
}

/// One line per stem whose DC crossed the threshold, for the terminal.
pub fn format_human(stems: &[StemDc]) -> String {
    let mut out = String::new();
    for s in stems.iter().filter(|s| needs_dc_filter(s.dc_offset_dbfs)) {
        let what = if s.dc_filter_deliveries.is_empty() {
            "DC filter left off by the preset".to_string()
        } else {
            format!("DC filter on ({})", s.dc_filter_deliveries.join(", "))
        };
        out.push_str(&format!(
            "{}: DC offset {:.1} dBFS: {what}\n",
            display_name(Path::new(&s.file)),
            s.dc_offset_dbfs
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_is_strict() {
        assert!(needs_dc_filter(-27.8));
        assert!(!needs_dc_filter(-60.0));
        assert!(!needs_dc_filter(f64::NEG_INFINITY));
    }
}
