//! Roles come from whole tokens of the file name (the guide's `Song_Stem_24bit_48k.wav` naming
//! gives each stem its own role; the "hat" in "WhatALife" is no hi-hat), `--role FILE=ROLE`
//! overrides a guess, and an override naming no stem is an error.

mod common;
use common::*;

#[test]
fn guide_naming_gives_each_stem_its_role_and_overrides_win() {
    let dir = temp_dir("roles_guide");
    let mut st = stems(1.0);
    let names = [
        "WhatALife_Drums_24bit_48k.wav",
        "WhatALife_Bass_24bit_48k.wav",
        "WhatALife_Vocals_24bit_48k.wav",
        "WhatALife_Take3_24bit_48k.wav",
    ];
    for (s, name) in st.iter_mut().zip(names) {
        s.0 = name.to_string();
    }
    let mix = mix_of(&st);
    let (paths, mix_path) = write_set(&dir, &st, &mix);
    let mut args = vec!["check", "--json"];
    args.extend(paths.iter().map(|p| s(p)));
    args.extend([
        "--mix",
        s(&mix_path),
        "--role",
        "WhatALife_Take3_24bit_48k=synths",
    ]);
    let v = json(&stem(&args));
    let roles: Vec<&str> = (0..4)
        .map(|i| v["stems"][i]["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["drums", "bass", "vocals", "synths"], "{v:#}");

    // An override that names no stem, and an unknown role, are usage errors.
    for (role, words) in [
        ("Nobody=vocals", "no stem is named 'Nobody'"),
        ("WhatALife_Take3_24bit_48k=kazoo", "'kazoo' is not a role"),
    ] {
        let mut args = vec!["render"];
        args.extend(paths.iter().map(|p| s(p)));
        let out_dir = dir.join("masters");
        args.extend(["--out", s(&out_dir), "--role", role]);
        let out = stem(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(words), "expected '{words}' in: {err}");
    }
}
