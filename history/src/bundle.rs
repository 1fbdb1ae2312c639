//! The debug bundle: what support needs to see a problem, taken from a
//! running server's database without stopping it.
//!
//! `kg-approval-server bundle --db ... --out DIR [--zip] [--audit-limit N]`
//! writes to DIR:
//!
//! - `database.sqlite` — a consistent online copy made with SQLite's backup
//!   API (readers and writers carry on meanwhile); for PostgreSQL,
//!   `database.pgdump` from `pg_dump --format=custom` (restore with
//!   `pg_restore -d NEWDB database.pgdump`; it needs the PostgreSQL client
//!   tools of the server's major version on the PATH).
//! - `audit.csv` — the rows of the newest N audit entries (see [`crate::export`]).
//! - `stats.json` — graphs, versions, parts, blobs, people, events, sizes, schema version.
//! - `system.json` — server version, OS, architecture, database version.
//! - `request-log/requests-YYYY-MM-DD.jsonl` — with `--request-log DIR`,
//!   the request log's files as they are (what `--keep-request-log-days`
//!   and erasures left of them).
//! - `manifest.json` — every file with its size and SHA-256.
//! - `README.md` — what each file is.
//!
//! Tokens are never read, so they cannot go in. The copy holds the people
//! the database (and the request log) names: treat it as the database itself.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::entity::hex;
use crate::export::{self, Format};
use crate::store::ExportFilter;
use crate::store::backup::backup;

/// What goes into a bundle besides the database.
#[derive(Clone, Debug, Default)]
pub struct Contents {
    /// Pack the files into `OUT.zip` too.
    pub zip: bool,
    /// The audit rows of the newest N entries.
    pub audit_limit: i64,
    /// The request log's files: (day, path), oldest first.
    pub request_log: Vec<(String, PathBuf)>,
    /// Who makes the bundle, for `system.json`: a name and a version.
    pub made_by: (String, String),
}

/// Writes the bundle; returns a line saying what was written.
pub fn write(db: &str, out: &Path, contents: &Contents) -> Result<String, String> {
    let (zip, audit_limit) = (contents.zip, contents.audit_limit);
    if out.exists() && std::fs::read_dir(out).map_err(|e| format!("{}: {e}", out.display()))?.next().is_some() {
        return Err(format!("{} exists and is not empty", out.display()));
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let live = crate::open(db)?;
    // The audit rows and stats are read from the copy where there is one
    // (SQLite), so they describe exactly what the bundle holds; PostgreSQL's
    // are read just after its dump.
    let copy = backup(db, out)?;
    let store = if copy.openable { crate::open(&out.join(&copy.file).to_string_lossy())? } else { live };
    let backup = copy.file;
    let database_version = store.read(|db| db.database_version()).map_err(|e| e.to_string())?;

    // The newest entries: from the time of the N-th newest version on.
    let from = store.read(|db| db.newest_saved_at(audit_limit.max(1))).map_err(|e| e.to_string())?;
    let filter = ExportFilter { from, ..ExportFilter::default() };
    let mut csv = std::io::BufWriter::new(create(&out.join("audit.csv"))?);
    let rows = export::export(&store, &filter, Format::Csv, &mut csv).map_err(|e| e.to_string())?;
    drop(csv);

    let logs = copy_request_log(&contents.request_log, out)?;
    let stats = store.read(|db| db.stats()).map_err(|e| e.to_string())?;
    let mut stats = serde_json::to_value(&stats).map_err(|e| e.to_string())?;
    stats["requestLogFiles"] = json!(logs.len());
    stats["backupBytes"] = json!(std::fs::metadata(out.join(&backup)).map(|m| m.len()).unwrap_or(0));
    stats["auditRows"] = json!(rows);
    stats["backend"] = json!(store.backend());
    write_json(&out.join("stats.json"), &stats)?;
    write_json(&out.join("system.json"), &system(&contents.made_by, &database_version))?;
    std::fs::write(out.join("README.md"), readme(&backup, audit_limit, !logs.is_empty())).map_err(|e| e.to_string())?;
    // Closing the copy's connections folds its write-ahead log back in.
    drop(store);

    let mut names = vec![backup.as_str(), "audit.csv", "stats.json", "system.json", "README.md"];
    names.extend(logs.iter().map(String::as_str));
    let mut files: Vec<Value> = Vec::new();
    for name in &names {
        let bytes = std::fs::read(out.join(name)).map_err(|e| format!("{name}: {e}"))?;
        files.push(json!({ "file": name, "bytes": bytes.len(), "sha256": hex(&Sha256::digest(&bytes)) }));
    }
    write_json(&out.join("manifest.json"), &json!({ "createdAt": kg_approval::Timestamp::now().to_string(), "files": files }))?;
    names.push("manifest.json");

    let mut said = format!("bundle written to {} ({rows} audit rows)", out.display());
    if zip {
        let archive = zip_dir(out, &names)?;
        said.push_str(&format!("; packed into {}", archive.display()));
    }
    Ok(said)
}

/// Copies the request log's files into `OUT/request-log/`; returns their
/// names in the bundle.
fn copy_request_log(files: &[(String, PathBuf)], out: &Path) -> Result<Vec<String>, String> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(out.join("request-log")).map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    for (day, path) in files {
        let name = format!("request-log/requests-{day}.jsonl");
        std::fs::copy(path, out.join(&name)).map_err(|e| format!("{}: {e}", path.display()))?;
        names.push(name);
    }
    Ok(names)
}

fn system((name, version): &(String, String), database_version: &str) -> Value {
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let pretty = os_release.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).map(|v| v.trim_matches('"').to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|k| k.trim().to_owned());
    json!({
        "server": { "name": name, "version": version },
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "distribution": pretty,
        "kernel": kernel,
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "database": database_version,
    })
}

fn readme(backup: &str, audit_limit: i64, request_log: bool) -> String {
    let logs = if request_log {
        "- `request-log/`: the request log's files, a JSON line per request (who, route, status, sizes; never a body or token). They name people.\n"
    } else {
        ""
    };
    format!(
        "# kg-approval debug bundle\n\n\
         - `{backup}`: a consistent online copy of the history database. It names people: handle it as the database.\n\
         - `audit.csv`: one row per changed field of the newest {audit_limit} audit entries (RFC 4180, formulas neutralised).\n\
         - `stats.json`: counts and sizes, and the schema version.\n\
         - `system.json`: server version, OS, architecture and database version.\n\
         {logs}\
         - `manifest.json`: every file with its size and SHA-256; check with `sha256sum`.\n\n\
         No API token is in this bundle. A SQLite copy opens with `kg-approval-server --db {backup}`;\n\
         `GET /verifyknowgraph?id=...` then checks each graph's hash chain.\n"
    )
}

fn create(path: &Path) -> Result<std::fs::File, String> {
    std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_json(path: &Path, value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
}

/// Packs the bundle's files into `<dir>.zip` (deflated).
fn zip_dir(dir: &Path, names: &[&str]) -> Result<PathBuf, String> {
    let archive = dir.with_extension("zip");
    let mut zip = zip::ZipWriter::new(create(&archive)?);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for name in names {
        zip.start_file(*name, options).map_err(|e| e.to_string())?;
        let mut file = std::fs::File::open(dir.join(name)).map_err(|e| e.to_string())?;
        std::io::copy(&mut file, &mut zip).map_err(|e| e.to_string())?;
    }
    zip.finish().map_err(|e| e.to_string())?.flush().map_err(|e| e.to_string())?;
    Ok(archive)
}
