//! What a linked instance saves with the session: its link group and the name it shows under.
//! Both are text the user types (or a hostile session file carries): restored through
//! [`LinkSession::sanitised`], so any state loads as the nearest valid one.
//!
//! The instance's identity is deliberately *not* saved: a host that duplicates a track copies
//! the plugin's state, and the copy must get a row of its own, not take over the original's.

use nice_plug::params::persist::PersistentField;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

/// Longest group name kept, characters.
pub const MAX_GROUP_CHARS: usize = 64;
/// Longest instance name kept, characters (the record holds 32 bytes of UTF-8).
pub const MAX_NAME_CHARS: usize = 32;
/// The environment variable that sets the default group (a host's launch script, tests).
pub const GROUP_ENV: &str = "STEM_LINK_GROUP";

/// The saved fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkSession {
    /// The link group; empty: the default ([`default_group`]).
    pub group: String,
    /// The name shown in the master's overview; empty: the instance's own default (the
    /// Stem Channel's stem type).
    pub name: String,
}

fn clean(text: &str, max_chars: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect::<String>()
        .trim()
        .to_string()
}

impl LinkSession {
    /// Control characters removed, surrounding blanks trimmed, lengths capped.
    pub fn sanitised(&self) -> Self {
        Self {
            group: clean(&self.group, MAX_GROUP_CHARS),
            name: clean(&self.name, MAX_NAME_CHARS),
        }
    }

    /// The group this session links into: its own, else [`default_group`].
    pub fn effective_group(&self) -> String {
        if self.group.is_empty() {
            default_group()
        } else {
            self.group.clone()
        }
    }
}

/// The default group: `STEM_LINK_GROUP` if set, else one group per host process. A plugin
/// sandbox process (Bitwig's plug-in hosts, yabridge) counts as its parent's, so instances a
/// DAW spreads over sandboxes still meet.
pub fn default_group() -> String {
    if let Ok(group) = std::env::var(GROUP_ENV) {
        let group = clean(&group, MAX_GROUP_CHARS);
        if !group.is_empty() {
            return group;
        }
    }
    format!("host-{}", host_process_id())
}

/// The DAW's process: this one, or its parent when this one is a plug-in sandbox.
fn host_process_id() -> u32 {
    let own = std::process::id();
    #[cfg(target_os = "linux")]
    {
        let exe = std::fs::read_link("/proc/self/exe")
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_lowercase()))
            .unwrap_or_default();
        let sandbox = [
            "plugin-host",
            "pluginhost",
            "yabridge",
            "plugin_host",
            "bridge",
        ];
        if sandbox.iter().any(|s| exe.contains(s)) {
            return std::os::unix::process::parent_id();
        }
    }
    own
}

/// The persisted field: the session behind a lock (read by the link thread and the editor,
/// never by the audio thread) and a generation the link thread watches for changes.
#[derive(Debug, Default)]
pub struct LinkSettings {
    session: RwLock<LinkSession>,
    generation: AtomicU64,
}

impl LinkSettings {
    pub fn session(&self) -> LinkSession {
        self.session.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Replaces the session (sanitised); the link thread re-links on the next tick.
    pub fn set_session(&self, session: LinkSession) {
        if let Ok(mut s) = self.session.write() {
            *s = session.sanitised();
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Bumped on every change.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

/// Plugins keep the settings in an `Arc` (their link thread holds it too) and persist that.
impl<'a> PersistentField<'a, LinkSession> for std::sync::Arc<LinkSettings> {
    fn set(&self, new_value: LinkSession) {
        self.set_session(new_value);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&LinkSession) -> R,
    {
        f(&self.session())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_sessions_load_as_the_nearest_valid_one() {
        let s = std::sync::Arc::new(LinkSettings::default());
        let g0 = s.generation();
        s.set(LinkSession {
            group: format!("  mix\u{0}\n{}  ", "x".repeat(500)),
            name: "Kick \u{1b}[31m\u{1f941}".repeat(10),
        });
        let got = s.session();
        assert!(got.group.starts_with("mix") && got.group.chars().count() <= MAX_GROUP_CHARS);
        assert!(!got.group.contains('\n') && !got.group.contains('\u{0}'));
        assert!(got.name.chars().count() <= MAX_NAME_CHARS && !got.name.contains('\u{1b}'));
        assert!(s.generation() > g0);
        // The saved form is plain JSON with both fields; unknown or missing fields default.
        let json = serde_json::to_string(&s.session()).unwrap();
        let back: LinkSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back, got);
        let partial: LinkSession = serde_json::from_str(r#"{"name":"Bass","extra":1}"#).unwrap();
        assert_eq!(partial.group, "");
        assert_eq!(partial.effective_group(), default_group());
    }
}
