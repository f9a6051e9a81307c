//! Where a file sits on the session's timeline, from its Broadcast Wave metadata: the guide's
//! rule that every stem is exported "from the same start point" as the mix, checked by the
//! timestamps DAWs write (Pro Tools, Nuendo, REAPER, Logic, Ardour, Bitwig and others stamp
//! exported WAVs) as well as by the audio.
//!
//! - `bext` (EBU Tech 3285, Broadcast Wave Format): `TimeReference`, the first sample's position
//!   in samples since midnight, as two little-endian 32-bit words at byte 338 of the chunk body
//!   (after Description 256, Originator 32, OriginatorReference 32, OriginationDate 10,
//!   OriginationTime 8 bytes).
//! - `iXML` (the iXML specification, v2.x): `<BWF_TIME_REFERENCE_LOW>`/`<BWF_TIME_REFERENCE_HIGH>`
//!   inside `<BEXT>`, the same value for files whose `bext` chunk was dropped. Two integer
//!   elements are found by their tags; nothing else of the XML is needed.
//!
//! Only RIFF-family files carry these; AIFF and FLAC have no start time here.

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};
use crate::riff::{chunks, is_riff, read_at};

/// Byte offset of `TimeReferenceLow` in a `bext` body.
const BEXT_TIME_REFERENCE_OFFSET: u64 = 338;

/// Largest iXML chunk read (real ones are a few kB).
const MAX_IXML_BYTES: u64 = 1 << 20;

/// A file's start on the session timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartTime {
    /// Samples since midnight at the file's own sample rate.
    pub samples: u64,
    /// Which chunk said so.
    pub source: StartTimeSource,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartTimeSource {
    Bext,
    Ixml,
}

impl StartTimeSource {
    pub fn name(self) -> &'static str {
        match self {
            Self::Bext => "BWF bext",
            Self::Ixml => "iXML",
        }
    }
}

impl StartTime {
    /// Seconds since midnight.
    pub fn seconds(&self, sample_rate_hz: u32) -> f64 {
        self.samples as f64 / sample_rate_hz as f64
    }
}

/// `h:mm:ss.mmm` of a time in seconds.
pub fn clock(seconds: f64) -> String {
    let ms = (seconds * 1000.0).round() as u64;
    format!(
        "{}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// The start time `path` declares (the `bext` one when both chunks are present), or `None`.
pub fn start_time(path: &Path) -> Result<Option<StartTime>> {
    let read = |e: std::io::Error| Error::file(path, format!("cannot read: {e}"));
    let mut file = File::open(path).map_err(read)?;
    let len = file.metadata().map_err(read)?.len();
    let mut head = [0u8; 12];
    if !read_at(&mut file, 0, &mut head).map_err(read)? || !is_riff(&head) {
        return Ok(None);
    }
    let found = chunks(&mut file, len, |_| false).map_err(read)?;
    let mut from_ixml = None;
    for chunk in &found {
        match &chunk.id {
            b"bext" if chunk.size >= BEXT_TIME_REFERENCE_OFFSET + 8 => {
                let mut words = [0u8; 8];
                if read_at(
                    &mut file,
                    chunk.body_offset + BEXT_TIME_REFERENCE_OFFSET,
                    &mut words,
                )
                .map_err(read)?
                {
                    return Ok(Some(StartTime {
                        samples: u64::from_le_bytes(words),
                        source: StartTimeSource::Bext,
                    }));
                }
            }
            b"iXML" if chunk.size <= MAX_IXML_BYTES => {
                let mut text = vec![0u8; chunk.size as usize];
                if read_at(&mut file, chunk.body_offset, &mut text).map_err(read)? {
                    from_ixml =
                        ixml_time_reference(&String::from_utf8_lossy(&text)).map(|samples| {
                            StartTime {
                                samples,
                                source: StartTimeSource::Ixml,
                            }
                        });
                }
            }
            _ => {}
        }
    }
    Ok(from_ixml)
}

/// `BWF_TIME_REFERENCE_HIGH * 2^32 + BWF_TIME_REFERENCE_LOW` from an iXML document.
fn ixml_time_reference(xml: &str) -> Option<u64> {
    let element = |tag: &str| -> Option<u64> {
        let open = format!("<{tag}>");
        let start = xml.find(&open)? + open.len();
        let end = start + xml[start..].find('<')?;
        xml[start..end].trim().parse().ok()
    };
    let low = element("BWF_TIME_REFERENCE_LOW")?;
    let high = element("BWF_TIME_REFERENCE_HIGH").unwrap_or(0);
    (low <= u32::MAX as u64 && high <= u32::MAX as u64).then_some((high << 32) | low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ixml_time_reference_joins_its_two_words() {
        let xml = "<BWFXML><BEXT><BWF_TIME_REFERENCE_LOW>172800000</BWF_TIME_REFERENCE_LOW>\
                   <BWF_TIME_REFERENCE_HIGH>1</BWF_TIME_REFERENCE_HIGH></BEXT></BWFXML>";
        assert_eq!(ixml_time_reference(xml), Some((1 << 32) + 172_800_000));
        assert_eq!(
            ixml_time_reference("<BWF_TIME_REFERENCE_LOW> 48000 </BWF_TIME_REFERENCE_LOW>"),
            Some(48_000)
        );
        assert_eq!(ixml_time_reference("<BWFXML></BWFXML>"), None);
        assert_eq!(
            ixml_time_reference("<BWF_TIME_REFERENCE_LOW>-5</BWF_TIME_REFERENCE_LOW>"),
            None
        );
    }

    #[test]
    fn clock_reads_hours_minutes_seconds_milliseconds() {
        assert_eq!(clock(0.0), "0:00:00.000");
        assert_eq!(clock(3723.5), "1:02:03.500");
    }
}
