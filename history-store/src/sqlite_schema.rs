//! The SQLite backend's schema: its migrations, applied in order at start
//! (see `SqliteStore::open`), each in the transaction that also records it in
//! `PRAGMA user_version`. A migration can run again harmlessly on a database
//! whose schema number was set back (the tests do that to build old
//! layouts), and the statements the server runs must work on every layout a
//! migration before the last one leaves, because the conversion of the
//! first schema's snapshots (after schema 4) and the backfill of decisions
//! (after schema 5) run them there.

use rusqlite::Transaction;

/// Schema migrations, applied in order at start, each in the transaction
/// that also records it in `PRAGMA user_version`.
pub(crate) const MIGRATIONS: &[fn(&Transaction<'_>) -> rusqlite::Result<()>] =
    &[schema_1, schema_2, schema_3, schema_4, schema_5, schema_6, schema_7, schema_8, schema_9, schema_10, schema_11, schema_12, schema_13];

/// The migration that creates the `decisions` table (issue 26), which the
/// caller's [`Upgrade::backfill_decisions`] fills from the stored versions.
pub(crate) const DECISIONS_SCHEMA: i64 = 5;

/// The number of schema migrations this build knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn schema_1(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE versions (
            graph_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            saved_at TEXT NOT NULL,
            user TEXT NOT NULL,
            source TEXT NOT NULL,
            reason TEXT,
            run_id TEXT,
            idempotency_key TEXT,
            graph_json TEXT,
            audit_json TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (graph_id, version)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX versions_idempotency ON versions (graph_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE TABLE version_nodes (
            graph_id TEXT NOT NULL,
            node_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (graph_id, node_id, version)
        ) WITHOUT ROWID;",
    )
}

/// The DDL of the delta schema (migration 2), also used by its tests.
pub const SCHEMA_2: &str = "
    ALTER TABLE versions ADD COLUMN scheme INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE versions ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE graphs (
        gid INTEGER PRIMARY KEY,
        graph_id TEXT NOT NULL UNIQUE,
        head_version INTEGER NOT NULL,
        head_hash TEXT NOT NULL,
        title TEXT,
        nodes INTEGER NOT NULL,
        saved_at TEXT NOT NULL,
        saved_by TEXT NOT NULL,
        swept_rows INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE entities (
        gid INTEGER NOT NULL,
        kind INTEGER NOT NULL,
        key TEXT NOT NULL,
        dup INTEGER NOT NULL,
        from_version INTEGER NOT NULL,
        to_version INTEGER,
        ord INTEGER NOT NULL,
        body TEXT NOT NULL,
        -- Since schema 8 (see there); here too because a database of the
        -- first schema has its snapshots converted into these rows before
        -- the later migrations run.
        born INTEGER,
        PRIMARY KEY (gid, kind, key, dup, from_version)
    );
    CREATE INDEX entities_live ON entities (gid, kind, ord) WHERE to_version IS NULL;
    CREATE INDEX entities_from ON entities (gid, from_version);
    CREATE INDEX entities_to ON entities (gid, to_version) WHERE to_version IS NOT NULL;
    CREATE INDEX entities_src ON entities (gid, coalesce(json_extract(body, '$.source'), json_extract(body, '$.from')))
        WHERE to_version IS NULL AND kind = 3;
    CREATE INDEX entities_dst ON entities (gid, coalesce(json_extract(body, '$.target'), json_extract(body, '$.to')))
        WHERE to_version IS NULL AND kind = 3;
    CREATE TABLE blobs (
        gid INTEGER NOT NULL,
        hash BLOB NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (gid, hash)
    );
    CREATE TABLE pruned_leaves (
        graph_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        leaf TEXT NOT NULL
    );
    CREATE INDEX pruned_leaves_version ON pruned_leaves (graph_id, version);";

/// Migration 2: from one whole snapshot per version to the rows each
/// version changed: the tables (the caller's `Upgrade` converts the
/// snapshots, after schema 4).
fn schema_2(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(SCHEMA_2)
}

/// Access control and bound idempotency keys (issue 12): the rights granted
/// on a graph (its owner is whoever saved version 1), and the fingerprint of
/// the request behind each version.
fn schema_3(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "CREATE TABLE graph_access (
            graph_id TEXT NOT NULL,
            member TEXT NOT NULL,
            role TEXT NOT NULL,
            granted_by TEXT NOT NULL,
            granted_at TEXT NOT NULL,
            PRIMARY KEY (graph_id, member)
        ) WITHOUT ROWID;
        CREATE INDEX graph_access_member ON graph_access (member);
        CREATE TABLE request_hashes (
            graph_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (graph_id, version)
        ) WITHOUT ROWID;",
    )
}

/// The audit features (issue 13): pseudonyms (the chain hashes them, so a
/// person can be erased), record digests and expiry, the store-wide event
/// log, each graph's owner kept beside its head (so that expiring who saved
/// version 1 does not orphan the graph), and indexes for runs, people and
/// time.
fn schema_4(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE versions ADD COLUMN record_digest TEXT;
        ALTER TABLE versions ADD COLUMN audit_expired INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX versions_run ON versions (run_id) WHERE run_id IS NOT NULL;
        CREATE INDEX versions_user ON versions (user);
        CREATE INDEX versions_saved_at ON versions (saved_at);
        ALTER TABLE graphs ADD COLUMN owner TEXT;
        CREATE TABLE people (
            pseudonym TEXT PRIMARY KEY,
            person TEXT UNIQUE,
            first_seen TEXT NOT NULL,
            erased_at TEXT
        ) WITHOUT ROWID;
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            actor TEXT NOT NULL,
            detail TEXT NOT NULL,
            hash TEXT NOT NULL
        );",
    )?;
    // A database of the first schema has its snapshots converted after
    // this, in the same transaction, by the caller's `Upgrade`.
    tx.execute_batch("UPDATE graphs SET owner = (SELECT v.user FROM versions v WHERE v.graph_id = graphs.graph_id AND v.version = 1);")
}

/// Reports (issue 26): one row per decided change (see [`crate::decisions`]).
fn schema_5(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(crate::decisions_sqlite::SCHEMA)
}

/// Hashes as their 32 bytes (issue 28): a version's hash and record digest
/// and a request's fingerprint were 64-character hex text. SQLite keeps any
/// type in any column, so only values that come back as the same text are
/// converted (lowercase hex of 64 digits); reads take either.
fn schema_6(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let digest = |column: &str| {
        format!("typeof({column}) = 'text' AND length({column}) = 64 AND {column} = lower({column}) AND unhex({column}) IS NOT NULL")
    };
    tx.execute_batch(&format!(
        "UPDATE versions SET hash = unhex(hash) WHERE {};
         UPDATE versions SET record_digest = unhex(record_digest) WHERE {};",
        digest("hash"),
        digest("record_digest"),
    ))?;
    // Gone since schema 7 (a database whose schema number was set back runs this again).
    if has_table(tx, "request_hashes")? {
        tx.execute_batch(&format!("UPDATE request_hashes SET hash = unhex(hash) WHERE {};", digest("hash")))?;
    }
    Ok(())
}

/// A request's fingerprint in its version's row (issue 28): its own table,
/// keyed by the graph's id and version again, cost 75 B per version. Runs
/// again harmlessly on a database whose schema number was set back.
fn schema_7(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    if !has_column(tx, "versions", "request_hash")? {
        tx.execute_batch("ALTER TABLE versions ADD COLUMN request_hash BLOB;")?;
    }
    if has_table(tx, "request_hashes")? {
        tx.execute_batch(
            "UPDATE versions SET request_hash =
                 (SELECT h.hash FROM request_hashes h WHERE h.graph_id = versions.graph_id AND h.version = versions.version)
             WHERE request_hash IS NULL;
             DROP TABLE request_hashes;",
        )?;
    }
    Ok(())
}

/// A part's row found by the version its cell was first written at (issue
/// 28), not by `from_version`. A replaced part's new row is written over its
/// current cell, so `from_version` changed on every edit and its entry in
/// `entities_from` moved: one more page in a random place per edited part (a
/// fifth of the pages a save at 100,000 nodes writes, `bench/save-pages.js`).
/// `born` never changes once written: a cell keeps the version it was
/// inserted at, an ended row added beside it gets its own `from_version`.
/// So `born <= from_version` for every row, and the rows a version opened
/// are those born then plus the cells it rewrote (found through the rows it
/// ended). Runs again harmlessly on a database whose schema number was set
/// back.
fn schema_8(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    if !has_column(tx, "entities", "born")? {
        tx.execute_batch("ALTER TABLE entities ADD COLUMN born INTEGER;")?;
    }
    tx.execute_batch(
        "UPDATE entities SET born = from_version WHERE born IS NULL;
         DROP INDEX IF EXISTS entities_from;
         CREATE INDEX IF NOT EXISTS entities_born ON entities (gid, born);",
    )
}

/// Versions keyed by the graph's number (see `keyed_by_gid`), and two
/// values a version row no longer needs as text (issue 28). An
/// idempotency key that is a UUID as lowercase text (kg-approval sends one
/// per approval) is stored as its 16 bytes, not 36 characters, in the row
/// and again in `versions_idempotency` (see `sqlite::stored_key`). And a record
/// digest is stored only once its record expires: until then the record
/// implies it (`retention::expire_audit` stores it first), so the digests
/// kept beside records that are still there go. Runs again harmlessly.
fn schema_9(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    if has_table(tx, "versions")? {
        keyed_by_gid(tx)?;
    }
    tx.execute_batch(&format!(
        "UPDATE version_rows SET idempotency_key = unhex(replace(idempotency_key, '-', '')) WHERE {};
         UPDATE version_rows SET record_digest = NULL WHERE scheme >= 3 AND audit_expired = 0 AND record_digest IS NOT NULL;",
        uuid_text("idempotency_key")
    ))
}

/// Each part's current row found by its key (issue 28). A part keeps every
/// row it ever had under its key, and every version ends a row of the
/// graph's metadata (its stamps), so finding a part's current row through
/// the primary key (`to_version` is not in it) read every older row of the
/// part from the table: a graph's 1,000th save read 1,000 metadata rows.
/// The rows a save writes over a current cell keep their entry here (key
/// and `to_version` stay), so a save writes to this index only for parts it
/// adds or removes. Runs again harmlessly.
fn schema_10(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("CREATE INDEX IF NOT EXISTS entities_current ON entities (gid, kind, key, dup) WHERE to_version IS NULL;")
}

/// A version's time as 8 bytes, not 24 characters (issue 28; see
/// `sqlite::stored_time`): 17 B less in the row and again in
/// `versions_saved_at`. Each row is rewritten in place; a time that would
/// not read back as the same text stays text. Runs again harmlessly.
fn schema_11(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let times: Vec<(i64, i64, String)> = tx
        .prepare("SELECT gid, version, saved_at FROM version_rows WHERE typeof(saved_at) = 'text'")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = tx.prepare("UPDATE version_rows SET saved_at = ?3 WHERE gid = ?1 AND version = ?2")?;
    for (gid, version, text) in times {
        let stored = crate::sqlite_time::stored_time(&text);
        if matches!(stored, rusqlite::types::Value::Blob(_)) {
            update.execute(rusqlite::params![gid, version, stored])?;
        }
    }
    Ok(())
}

/// No index of versions by user (issue 28): 24 B per version, and only an
/// erasure looked versions up by user (its check for versions of the
/// first hash schemes, and the rename), and an erasure reads every stored
/// part anyway (`parts_containing`). An audit or export filtered by user
/// walks the graph's versions or all versions in order, by the primary
/// key, with or without it. Runs again harmlessly.
fn schema_12(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch("DROP INDEX IF EXISTS versions_user;")
}

/// The graph's metadata out of the indexes of parts by version (issue
/// 28): every version rewrites its `version` stamp, so it ended a
/// metadata row and indexed it twice, in `entities_to` and `entities_born`:
/// about 24 B per version. The metadata is one part (kind 1, key `''`, dup
/// 0), so its rows are found by the primary key (see `sqlite::METADATA_AT`).
/// Runs again harmlessly (the indexes are made anew).
fn schema_13(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DROP INDEX IF EXISTS entities_to;
         CREATE INDEX entities_to ON entities (gid, to_version) WHERE to_version IS NOT NULL AND kind <> 1;
         DROP INDEX IF EXISTS entities_born;
         CREATE INDEX entities_born ON entities (gid, born) WHERE kind <> 1;",
    )
}

/// The columns of a version, in the order `versions` has always had them.
const VERSION_FIELDS: [&str; 16] = [
    "version",
    "saved_at",
    "user",
    "source",
    "reason",
    "run_id",
    "idempotency_key",
    "graph_json",
    "audit_json",
    "prev_hash",
    "hash",
    "scheme",
    "pruned",
    "record_digest",
    "audit_expired",
    "request_hash",
];

/// Versions keyed by the graph's number, not its id (issue 28): the 36
/// characters of a graph id were stored in every version row and again in
/// each of its three indexes, 150 B of a one-label version's 1,260.
///
/// The rows move to `version_rows` (`gid`, `version`, the rest as before),
/// and `versions` becomes a view of them with the graph id joined back in,
/// whose triggers turn an insert, update or delete of the view into one of
/// the table. So every statement written for `versions` reads and writes
/// the same on both layouts: the conversion of the first schema's
/// snapshots and the backfill of decisions run on the old table (before
/// this migration) with the statements the server uses on the view. What
/// the view cannot do, or does dearly, is said where it matters: `INDEXED
/// BY`, a count of the rows an update changed (SQLite counts none through a
/// view), and the updates only the running server makes (the update
/// trigger sets every column, so SQLite rewrites the row's entry in each of
/// its indexes) go to `version_rows` itself. Every version row moves or the migration fails:
/// each has a graph (the conversion gave one to every graph of the first
/// schema).
fn keyed_by_gid(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let fields = VERSION_FIELDS.join(", ");
    let v_fields = VERSION_FIELDS.map(|f| format!("v.{f}")).join(", ");
    let new_fields = VERSION_FIELDS.map(|f| format!("NEW.{f}")).join(", ");
    let set_fields = VERSION_FIELDS.map(|f| format!("{f} = NEW.{f}")).join(", ");
    let gid_of = |row: &str| format!("(SELECT gid FROM graphs WHERE graph_id = {row}.graph_id)");
    let before: i64 = tx.query_row("SELECT COUNT(*) FROM versions", [], |r| r.get(0))?;
    tx.execute_batch(&format!(
        "CREATE TABLE version_rows (
            gid INTEGER NOT NULL,
            version INTEGER NOT NULL,
            saved_at TEXT NOT NULL,
            user TEXT NOT NULL,
            source TEXT NOT NULL,
            reason TEXT,
            run_id TEXT,
            idempotency_key,
            graph_json TEXT,
            audit_json TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash NOT NULL,
            scheme INTEGER NOT NULL DEFAULT 1,
            pruned INTEGER NOT NULL DEFAULT 0,
            record_digest,
            audit_expired INTEGER NOT NULL DEFAULT 0,
            request_hash BLOB,
            PRIMARY KEY (gid, version)
        ) WITHOUT ROWID;
        INSERT INTO version_rows (gid, {fields}) SELECT g.gid, {v_fields} FROM versions v JOIN graphs g ON g.graph_id = v.graph_id;"
    ))?;
    let moved: i64 = tx.query_row("SELECT COUNT(*) FROM version_rows", [], |r| r.get(0))?;
    if moved != before {
        let message = format!("{} of {before} versions have no graph to be keyed by", before - moved);
        return Err(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT), Some(message)));
    }
    tx.execute_batch(&format!(
        "DROP TABLE versions;
        CREATE UNIQUE INDEX versions_idempotency ON version_rows (gid, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE INDEX versions_run ON version_rows (run_id) WHERE run_id IS NOT NULL;
        CREATE INDEX versions_user ON version_rows (user);
        CREATE INDEX versions_saved_at ON version_rows (saved_at);
        CREATE VIEW versions AS SELECT g.graph_id, {v_fields} FROM version_rows v JOIN graphs g ON g.gid = v.gid;
        CREATE TRIGGER versions_insert INSTEAD OF INSERT ON versions BEGIN
            INSERT INTO version_rows (gid, {fields}) VALUES ({new_gid}, {new_fields});
        END;
        CREATE TRIGGER versions_update INSTEAD OF UPDATE ON versions BEGIN
            UPDATE version_rows SET gid = {new_gid}, {set_fields} WHERE gid = {old_gid} AND version = OLD.version;
        END;
        CREATE TRIGGER versions_delete INSTEAD OF DELETE ON versions BEGIN
            DELETE FROM version_rows WHERE gid = {old_gid} AND version = OLD.version;
        END;",
        new_gid = gid_of("NEW"),
        old_gid = gid_of("OLD"),
    ))
}

/// SQL: `column` is a UUID as `sqlite::stored_key` would store as bytes.
fn uuid_text(column: &str) -> String {
    format!(
        "typeof({column}) = 'text' AND length({column}) = 36 AND {column} = lower({column})
         AND substr({column}, 9, 1) = '-' AND substr({column}, 14, 1) = '-' AND substr({column}, 19, 1) = '-' AND substr({column}, 24, 1) = '-'
         AND length(replace({column}, '-', '')) = 32 AND unhex(replace({column}, '-', '')) IS NOT NULL"
    )
}

fn has_table(tx: &Transaction<'_>, name: &str) -> rusqlite::Result<bool> {
    tx.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| r.get::<_, i64>(0)).map(|n| n > 0)
}

fn has_column(tx: &Transaction<'_>, table: &str, column: &str) -> rusqlite::Result<bool> {
    tx.query_row("SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2", [table, column], |r| r.get::<_, i64>(0)).map(|n| n > 0)
}
