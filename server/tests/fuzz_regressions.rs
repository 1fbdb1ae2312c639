//! Replays every committed fuzz input of the `save_request` target (see
//! `fuzz/checks/server.rs`) in `cargo test`.

#[path = "../../fuzz/checks/server.rs"]
mod checks;

use std::path::Path;

#[test]
fn save_request_inputs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join("save_request")) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if dir == "corpus" && !is_seed(&path) {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            assert!(std::panic::catch_unwind(|| checks::save_request(&data)).is_ok(), "{} fails its check", path.display());
            count += 1;
        }
    }
    assert!(count >= 5, "the seed corpus is there ({count} inputs)");
}

/// The committed seeds; what a local fuzz run added to the corpus is not replayed.
fn is_seed(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("seed-"))
}
