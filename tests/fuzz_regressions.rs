//! Replays every committed fuzz input (the seed corpora and any input that
//! once crashed) through the same checks the fuzz targets run, so
//! `cargo test` keeps them passing without nightly or libFuzzer.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../fuzz/checks/core.rs"]
mod checks;

#[path = "../fuzz/checks/replay.rs"]
mod replay;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    replay::replay(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz"), target, check)
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
