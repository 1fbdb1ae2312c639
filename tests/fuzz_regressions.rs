//! Replays every committed fuzz input (the seed corpora and any input that
//! once crashed) through the same checks the fuzz targets run, so
//! `cargo test` keeps them passing without nightly or libFuzzer.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../fuzz/checks/core.rs"]
mod checks;

use std::path::Path;

/// Runs `check` on each file of `fuzz/corpus/<target>` and
/// `fuzz/regressions/<target>`; returns how many there were.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if dir == "corpus" && !is_seed(&path) {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{} fails its check", path.display());
            count += 1;
        }
    }
    count
}

#[test]
fn parse_inputs() {
    assert!(replay("parse", checks::parse) >= 20);
}

#[test]
fn review_inputs() {
    assert!(replay("review", checks::review) >= 20);
}

#[test]
fn approve_inputs() {
    assert!(replay("approve", checks::approve) >= 20);
}

#[test]
fn text_diff_inputs() {
    assert!(replay("text_diff", checks::text_diff) >= 5);
}

#[test]
fn graph_diff_inputs() {
    assert!(replay("graph_diff", checks::graph_diff) >= 16);
}

/// The committed seeds; what a local fuzz run added to the corpus is not replayed.
fn is_seed(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("seed-"))
}
