//! Replays every committed fuzz input of the `save_request` target (see
//! `fuzz/checks/server.rs`) in `cargo test`.

#[path = "../../fuzz/checks/server.rs"]
mod checks;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;

#[test]
fn save_request_inputs() {
    let fuzz_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let count = replay::replay(&fuzz_dir, "save_request", checks::save_request);
    assert!(count >= 5, "the seed corpus is there ({count} inputs)");
}
