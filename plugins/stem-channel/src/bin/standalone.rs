//! Stem Channel as a standalone application (nice-plug's standalone wrapper): JACK or ALSA, or
//! `--backend dummy` to open the editor with no sound card (the screenshot test does that).
//! `--help` lists the options.

fn main() {
    nice_plug::prelude::nice_export_standalone::<stem_channel::StemChannel>();
}
