//! A stem's role (drums, bass, synths, vocals, FX) guessed from its file name, the way stems
//! are conventionally named ("01_Drums.wav", "bass-808.wav", "LeadVox.wav").

use std::path::Path;

use serde::Serialize;
use shared_dsp::chain::channel::StemType;

/// The guide's five stem groups, plus anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Drums,
    Bass,
    Synths,
    Vocals,
    Fx,
    Other,
}

/// Name fragments per role, checked in this order (so "bassdrum" is drums, "synth bass" bass).
const KEYWORDS: &[(Role, &[&str])] = &[
    (
        Role::Drums,
        &[
            "drum", "kick", "snare", "perc", "beat", "hat", "cymbal", "bassdrum",
        ],
    ),
    (Role::Bass, &["bass", "808", "sub"]),
    (Role::Vocals, &["vocal", "vox", "voice", "sing", "choir"]),
    (
        Role::Fx,
        &["fx", "sfx", "effect", "riser", "ambience", "atmo", "noise"],
    ),
    (
        Role::Synths,
        &[
            "synth", "keys", "pad", "chord", "piano", "guitar", "lead", "music", "harm", "inst",
            "string",
        ],
    ),
];

impl Role {
    /// Lower-case name as used in presets and reports.
    pub fn name(self) -> &'static str {
        match self {
            Role::Drums => "drums",
            Role::Bass => "bass",
            Role::Synths => "synths",
            Role::Vocals => "vocals",
            Role::Fx => "fx",
            Role::Other => "other",
        }
    }

    /// The Stem Channel chain's stem type for this role (its starting point in the guide).
    pub fn stem_type(self) -> StemType {
        match self {
            Role::Drums => StemType::Drums,
            Role::Bass => StemType::Bass,
            Role::Synths => StemType::Synths,
            Role::Vocals => StemType::Vocals,
            Role::Fx => StemType::Fx,
            Role::Other => StemType::Custom,
        }
    }

    /// Guesses the role from the file name (case-insensitive); `Other` when nothing matches.
    pub fn from_path(path: &Path) -> Role {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        // "bassdrum"/"bass drum" is a drum, whatever else the name says.
        let squashed: String = name.chars().filter(|c| c.is_alphanumeric()).collect();
        if squashed.contains("bassdrum") {
            return Role::Drums;
        }
        for (role, words) in KEYWORDS {
            if words.iter().any(|w| name.contains(w)) {
                return *role;
            }
        }
        Role::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_roles() {
        let r = |s: &str| Role::from_path(Path::new(s));
        assert_eq!(r("01_Drums.wav"), Role::Drums);
        assert_eq!(r("Bass Drum.wav"), Role::Drums);
        assert_eq!(r("808.wav"), Role::Bass);
        assert_eq!(r("synth_bass.wav"), Role::Bass);
        assert_eq!(r("LeadVox.wav"), Role::Vocals);
        assert_eq!(r("fx.wav"), Role::Fx);
        assert_eq!(r("Pads.wav"), Role::Synths);
        assert_eq!(r("mix.wav"), Role::Other);
    }
}
