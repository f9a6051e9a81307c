//! NaN and infinite samples in a float file are reported by every command that reads it (a
//! warning on stderr naming the file and the count, and `non_finite_samples` in the JSON
//! report), never measured or mastered silently as silence.

mod common;
use common::*;

use stem_cli::audio::{write_wav_atomic, OutputFormat};

#[test]
fn report_and_render_say_how_many_samples_were_not_finite() {
    let dir = temp_dir("non_finite");
    let mut st = stems(1.0);
    // Three bad samples in the first stem, written as 32-bit float.
    st[0].1[0][100] = f32::NAN;
    st[0].1[0][200] = f32::INFINITY;
    st[0].1[1][300] = f32::NEG_INFINITY;
    let bad = dir.join("drums_float.wav");
    write_wav_atomic(
        &bad,
        SR,
        &[&st[0].1[0], &st[0].1[1]],
        OutputFormat::Float32,
        &[],
    )
    .unwrap();

    let out = stem(&["report", s(&bad), "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("drums_float.wav") && err.contains("3 NaN or infinite"),
        "{err}"
    );
    assert_eq!(json(&out)["non_finite_samples"], 3);

    let others: Vec<_> = st[1..]
        .iter()
        .map(|(name, ch)| {
            let p = dir.join(name);
            write(&p, ch, SR);
            p
        })
        .collect();
    let masters = dir.join("masters");
    let mut args = vec!["render", s(&bad)];
    args.extend(others.iter().map(|p| s(p)));
    args.extend(["--out", s(&masters), "--deliver", "streaming"]);
    let out = stem(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("drums_float.wav") && err.contains("3 NaN or infinite"),
        "{err}"
    );
}
