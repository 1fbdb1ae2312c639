//! A consistent copy of a live database, taken while servers keep reading
//! and writing: SQLite's backup API, or `pg_dump` for PostgreSQL.

use std::path::{Path, PathBuf};

/// A copy of the database in a directory.
#[derive(Clone, Debug, PartialEq)]
pub struct Backup {
    /// The copy's file name in the directory (`database.sqlite`, `database.pgdump`).
    pub file: String,
    /// Whether the copy is itself a database this layer opens (SQLite's is).
    pub openable: bool,
}

/// Copies database `db` (a SQLite path or a PostgreSQL URL) into `dir`.
pub fn backup(db: &str, dir: &Path) -> Result<Backup, String> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        dump_postgres(db, &dir.join("database.pgdump"))?;
        Ok(Backup { file: "database.pgdump".to_owned(), openable: false })
    } else {
        backup_sqlite(db, &dir.join("database.sqlite"))?;
        Ok(Backup { file: "database.sqlite".to_owned(), openable: true })
    }
}

/// An online backup of a SQLite file: SQLite's backup API copies the pages
/// of one consistent state while other connections keep reading and writing.
fn backup_sqlite(db: &str, to: &Path) -> Result<(), String> {
    let source = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| format!("{db}: {e}"))?;
    source.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?;
    source.backup(rusqlite::MAIN_DB, to, None::<fn(rusqlite::backup::Progress)>).map_err(|e| format!("backup of {db}: {e}"))
}

/// `pg_dump --format=custom`: a consistent snapshot taken in one
/// transaction while the servers keep working (restore with `pg_restore -d
/// NEWDB`; it needs the client tools of the server's major version).
fn dump_postgres(url: &str, to: &Path) -> Result<(), String> {
    let status = std::process::Command::new(pg_tool("pg_dump"))
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(to)
        .arg(url)
        .status()
        .map_err(|e| format!("pg_dump (install the PostgreSQL client tools): {e}"))?;
    if !status.success() {
        return Err(format!("pg_dump failed: {status}"));
    }
    Ok(())
}

/// A PostgreSQL client tool: on the PATH, else Debian's versioned directories.
pub fn pg_tool(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).map(|d| d.join(name));
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin").join(name))
        .collect::<Vec<_>>();
    on_path.chain(debian).find(|p| p.is_file()).unwrap_or_else(|| PathBuf::from(name))
}
