//! A stem's role (drums, bass, synths, vocals, FX) guessed from its file name, the way stems
//! are conventionally named ("01_Drums.wav", "bass-808.wav", "LeadVox.wav").

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use shared_dsp::chain::settings::StemType;

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

/// Words per role, checked in this order (so "synth bass" is bass, "bass drum" drums). A word
/// of four letters or more also matches as the start of a token ("drum" in "Drums", "vocal" in
/// "Vocals"); shorter ones match a whole token or its plural ("hat", "hats"), so the "hat" in
/// "WhatALife" or the "sub" in "Subtle" never counts.
const KEYWORDS: &[(Role, &[&str])] = &[
    (
        Role::Drums,
        &[
            "drum", "kick", "snare", "perc", "beat", "hat", "hihat", "cymbal", "bassdrum", "tom",
        ],
    ),
    (Role::Bass, &["bass", "808", "sub", "subbass"]),
    (
        Role::Vocals,
        &[
            "vocal", "vox", "voice", "sing", "singer", "choir", "bgv", "lyric", "vo", "acapella",
        ],
    ),
    (
        Role::Fx,
        &[
            "fx", "sfx", "effect", "riser", "ambience", "atmo", "noise", "impact", "sweep",
        ],
    ),
    (
        Role::Synths,
        &[
            "synth", "keys", "key", "pad", "chord", "piano", "guitar", "gtr", "lead", "music",
            "harm", "inst", "string", "organ", "pluck", "arp", "brass", "horn",
        ],
    ),
];

/// The tokens of a file name, lower-cased: split at anything but letters and digits, at a
/// lower-to-upper case change ("LeadVox" is lead, vox) and between letters and digits ("TR808"
/// is tr, 808).
pub fn name_tokens(name: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut prev: Option<char> = None;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            let case_change = p.is_lowercase() && c.is_uppercase();
            let digit_change = p.is_ascii_digit() != c.is_ascii_digit();
            if (case_change || digit_change) && !current.is_empty() {
                tokens.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
        prev = Some(c);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// Whether `token` is `word`: the same, its plural, or (for words of four letters or more) a
/// token that starts with it.
fn token_is(token: &str, word: &str) -> bool {
    token == word
        || token
            .strip_prefix(word)
            .is_some_and(|rest| rest == "s" || rest == "es")
        || (word.len() >= 4 && token.starts_with(word))
}

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

    /// Guesses the role from the tokens of the file name (see [`name_tokens`]); `Other` when
    /// no token names a role.
    pub fn from_path(path: &Path) -> Role {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tokens = name_tokens(&name);
        // "bass drum" / "BassDrum" is a drum, whatever else the name says.
        if tokens
            .windows(2)
            .any(|w| w[0] == "bass" && token_is(&w[1], "drum"))
        {
            return Role::Drums;
        }
        for (role, words) in KEYWORDS {
            if tokens.iter().any(|t| words.iter().any(|w| token_is(t, w))) {
                return *role;
            }
        }
        Role::Other
    }

    /// The role named `name` ("drums", "bass", "synths", "vocals", "fx", "other").
    pub fn from_name(name: &str) -> Option<Role> {
        [
            Role::Drums,
            Role::Bass,
            Role::Synths,
            Role::Vocals,
            Role::Fx,
            Role::Other,
        ]
        .into_iter()
        .find(|r| r.name() == name.to_lowercase())
    }
}

/// Roles given on the command line (`--role Take3=vocals`), by file name with or without its
/// extension; they win over the name's guess.
#[derive(Clone, Debug, Default)]
pub struct RoleOverrides(Vec<(String, Role)>);

impl RoleOverrides {
    /// Parses `NAME=ROLE` pairs; names the bad one.
    pub fn parse(pairs: &[String]) -> Result<Self> {
        let mut v = Vec::new();
        for pair in pairs {
            let (name, role) = pair.split_once('=').ok_or_else(|| {
                Error::usage(format!(
                    "--role {pair}: expected FILE=ROLE, e.g. Take3=vocals"
                ))
            })?;
            let role = Role::from_name(role.trim()).ok_or_else(|| {
                Error::usage(format!(
                    "--role {pair}: '{role}' is not a role (drums, bass, synths, vocals, fx, other)"
                ))
            })?;
            v.push((name.trim().to_string(), role));
        }
        Ok(Self(v))
    }

    /// The role of the stem at `path`: the override naming it, else the guess from its name.
    pub fn role_of(&self, path: &Path) -> Role {
        self.0
            .iter()
            .find(|(name, _)| names(path, name))
            .map_or_else(|| Role::from_path(path), |(_, r)| *r)
    }

    /// Fails if an override names none of `stems` (a typo would silently do nothing).
    pub fn check_used(&self, stems: &[PathBuf]) -> Result<()> {
        match self
            .0
            .iter()
            .find(|(name, _)| !stems.iter().any(|p| names(p, name)))
        {
            Some((name, _)) => Err(Error::usage(format!(
                "--role {name}=...: no stem is named '{name}'"
            ))),
            None => Ok(()),
        }
    }
}

/// Whether `name` is the file name of `path`, with or without its extension.
fn names(path: &Path, name: &str) -> bool {
    path.file_name()
        .is_some_and(|f| f.to_string_lossy() == name)
        || path
            .file_stem()
            .is_some_and(|f| f.to_string_lossy() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that each file name maps to its role.
    fn assert_roles(cases: &[(&str, Role)]) {
        for &(name, role) in cases {
            assert_eq!(Role::from_path(Path::new(name)), role, "{name}");
        }
    }

    #[test]
    fn names_map_to_roles() {
        assert_roles(&[
            ("01_Drums.wav", Role::Drums),
            ("Bass Drum.wav", Role::Drums),
            ("808.wav", Role::Bass),
            ("synth_bass.wav", Role::Bass),
            ("LeadVox.wav", Role::Vocals),
            ("fx.wav", Role::Fx),
            ("Pads.wav", Role::Synths),
            ("mix.wav", Role::Other),
        ]);
    }

    /// The guide's naming (`Song_Stem_bits_rate.wav`) and names whose letters hide a keyword
    /// inside another word.
    #[test]
    fn whole_tokens_only() {
        let by_role: [(Role, &[&str]); 6] = [
            (
                Role::Vocals,
                &["WhatALife_Vocals_24bit_48k.wav", "Lead-Vox.wav"],
            ),
            (
                Role::Drums,
                &[
                    "WhatALife_Drums_24bit_48k.wav",
                    "HiHats.wav",
                    "BassDrum.wav",
                ],
            ),
            (Role::Bass, &["WhatALife_Bass_24bit_48k.wav", "TR808.wav"]),
            (
                Role::Synths,
                &["WhatALife_Synths_24bit_48k.wav", "ThatSong_Keys.wav"],
            ),
            (Role::Fx, &["WhatALife_FX_24bit_48k.wav"]),
            (Role::Other, &["Subtle Phaser.wav", "Chatter.wav"]),
        ];
        for (role, names) in by_role {
            for &name in names {
                assert_eq!(Role::from_path(Path::new(name)), role, "{name}");
            }
        }
        assert_eq!(
            name_tokens("WhatALife_Vocals_24bit"),
            ["what", "alife", "vocals", "24", "bit"]
        );
    }
}
