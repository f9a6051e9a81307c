//! The Stem Link's framework-free pieces (issue 18): what every linked instance publishes
//! ([`record`]), and what the Stem Master computes from its linked stems ([`overview`],
//! [`low_end`]). The transport across processes (shared memory) lives with the plugins
//! (`stem_plugin_common::link`); nothing here knows of it, so the `stem` tool and tests use the
//! same arithmetic on files.

pub mod low_end;
pub mod overview;
pub mod record;
