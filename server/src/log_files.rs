//! The request log's files (`--request-log DIR`): one per UTC day,
//! `requests-YYYY-MM-DD.jsonl`, each line a request of that day. What is
//! done to them as files: listed (bundles), removed when older than
//! `--keep-request-log-days` (retention), rewritten (erasure). The running
//! server's writer is paused meanwhile (see [`crate::request_log`]).

use std::io;
use std::path::{Path, PathBuf};

use serde_json::json;

/// The request log files in `dir` with their days, oldest first (none if
/// `dir` does not exist).
pub fn list(dir: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let day = path.file_name().and_then(|n| n.to_str()).and_then(day_of).map(str::to_owned);
        if let Some(day) = day.filter(|_| path.is_file()) {
            files.push((day, path));
        }
    }
    files.sort();
    Ok(files)
}

/// The day of a request log file's name, `requests-YYYY-MM-DD.jsonl`.
fn day_of(name: &str) -> Option<&str> {
    let day = name.strip_prefix("requests-")?.strip_suffix(".jsonl")?;
    let digits = |part: &str, n: usize| part.len() == n && part.bytes().all(|b| b.is_ascii_digit());
    let mut parts = day.split('-');
    let ok = [4, 2, 2].iter().all(|n| parts.next().is_some_and(|p| digits(p, *n))) && parts.next().is_none();
    ok.then_some(day)
}

/// `--keep-request-log-days D`: removes the files of days that ended more
/// than `days` days before `now` (every line in them is older than that);
/// returns the files removed. Lines live D days, and at most one day more
/// (the file of the day the limit falls in waits for its last line).
pub fn expire(dir: &Path, days: i64, now: kg_approval::Timestamp) -> io::Result<Vec<PathBuf>> {
    let cutoff = kg_approval::Timestamp::from_unix_millis(now.unix_millis() - days * 86_400_000)
        .map_err(|e| io::Error::other(e.to_string()))?
        .to_string();
    // A day's file is older than the cutoff when the day before the
    // cutoff's day is its day or later: its day < the cutoff's day.
    let mut removed = Vec::new();
    for (day, path) in list(dir)? {
        if day.as_str() < &cutoff[..10] {
            std::fs::remove_file(&path)?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Replaces `person` by `pseudonym` in the `user` field of every request
/// log line in `dir` (each file rewritten to a temporary file, then renamed
/// over it); returns how many lines changed.
pub fn rename_person(dir: &Path, person: &str, pseudonym: &str) -> io::Result<u64> {
    let mut changed = 0;
    for (_, path) in list(dir)? {
        let text = std::fs::read_to_string(&path)?;
        let mut out = String::with_capacity(text.len());
        let mut here = 0;
        for line in text.lines() {
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(mut value) if value.get("user").and_then(|u| u.as_str()) == Some(person) => {
                    value["user"] = json!(pseudonym);
                    out.push_str(&value.to_string());
                    here += 1;
                }
                _ => out.push_str(line),
            }
            out.push('\n');
        }
        if here > 0 {
            let temporary = path.with_extension("jsonl.erasing");
            std::fs::write(&temporary, out)?;
            std::fs::rename(&temporary, &path)?;
            changed += here;
        }
    }
    Ok(changed)
}

/// A directory of request logs no server writes now (the command line's
/// `erase-user --request-log DIR`): an erasure rewrites its files.
pub struct LogDir<'a>(pub &'a Path);

impl kg_history::erase::PersonalRecords for LogDir<'_> {
    fn rename_person(&self, person: &str, pseudonym: &str) -> io::Result<u64> {
        rename_person(self.0, person, pseudonym)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_of_days_older_than_the_limit_go() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["requests-2026-01-01.jsonl", "requests-2026-01-09.jsonl", "requests-2026-01-10.jsonl", "requests-x.jsonl", "notes.txt"]
        {
            std::fs::write(dir.path().join(name), "{}\n").unwrap();
        }
        let now = kg_approval::Timestamp::parse("2026-01-17T12:00:00.000Z").unwrap();
        let removed = expire(dir.path(), 7, now).unwrap();
        // The limit is 2026-01-10T12:00: the 10th still holds younger lines.
        assert_eq!(removed, [dir.path().join("requests-2026-01-01.jsonl"), dir.path().join("requests-2026-01-09.jsonl")]);
        let left: Vec<String> = list(dir.path()).unwrap().into_iter().map(|(day, _)| day).collect();
        assert_eq!(left, ["2026-01-10"]);
        assert!(dir.path().join("notes.txt").exists() && dir.path().join("requests-x.jsonl").exists(), "other files stay");
        assert!(list(&dir.path().join("missing")).unwrap().is_empty());
    }
}
