//! Replays committed fuzz inputs through a target's check in `cargo test`:
//! the seeds of `corpus/<target>` (what a local fuzz run added there is not
//! replayed) and every input in `regressions/<target>`.

use std::path::Path;

/// Runs `check` on each committed input of `target` under `fuzz_dir`, failing
/// with the file's name if the check panics; returns how many there were.
pub fn replay(fuzz_dir: &Path, target: &str, check: fn(&[u8])) -> usize {
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir.join(dir).join(target)) else { continue };
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

fn is_seed(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("seed-"))
}
