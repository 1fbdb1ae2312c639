//! Hashes stored as their 32 bytes (issue 28): a database whose hashes are
//! still 64-character hex text, as the previous schema wrote them, is
//! migrated at start on both backends; every version reads back with the
//! same hash, every chain verifies, idempotency still finds the request's
//! fingerprint, and new versions store 32 bytes. The same database also
//! has its request fingerprints in a table of their own, as before they
//! moved into the versions' rows (SQLite schema 7, PostgreSQL 6). And
//! audit records stored as text, as before they were packed.

use kg_approval::Timestamp;
use kg_history::save::{SaveBody, save};
use kg_history::write::SaveContext;
use kg_history::{Store, read};
use serde_json::json;

mod support;
use support::{Backend, count_at, sql_at};

const ID: &str = "2b7e7c1a-9d4f-4e8b-a1c3-5f6d7e8f9a0b";

fn body(version: Option<i64>, label: &str) -> SaveBody {
    let graph = json!({"metadata": {"title": "T", "version": version}, "nodes": [{"id": "a", "label": label}], "edges": []});
    SaveBody::parse(json!({"id": ID, "graphData": graph}).to_string().as_bytes()).unwrap()
}

fn ctx(key: Option<&str>) -> SaveContext<'static> {
    SaveContext { user: "ann@example.com", idempotency_key: key.map(str::to_owned), now: Timestamp::now(), keep_versions: None }
}

/// SQLite: `versions` back to the table it was before schema 9 (keyed by
/// the graph's id; since then a view of `version_rows`, keyed by its gid).
const UNKEYED: &str = "CREATE TABLE old_versions (graph_id TEXT NOT NULL, version INTEGER NOT NULL, saved_at TEXT NOT NULL,
        user TEXT NOT NULL, source TEXT NOT NULL, reason TEXT, run_id TEXT, idempotency_key TEXT, graph_json TEXT,
        audit_json TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, scheme INTEGER NOT NULL DEFAULT 1,
        pruned INTEGER NOT NULL DEFAULT 0, record_digest TEXT, audit_expired INTEGER NOT NULL DEFAULT 0, request_hash BLOB,
        PRIMARY KEY (graph_id, version)) WITHOUT ROWID;
    INSERT INTO old_versions SELECT * FROM versions;
    DROP VIEW versions;
    DROP TABLE version_rows;
    ALTER TABLE old_versions RENAME TO versions;
    CREATE UNIQUE INDEX versions_idempotency ON versions (graph_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX versions_run ON versions (run_id) WHERE run_id IS NOT NULL;
    CREATE INDEX versions_user ON versions (user);
    CREATE INDEX versions_saved_at ON versions (saved_at)";

/// The versions' hashes, oldest first.
fn hashes(store: &Store) -> Vec<String> {
    store.read(|db| db.all_versions(ID)).unwrap().into_iter().map(|v| v.hash).collect()
}

/// How many of the versions' hashes are stored as 32 bytes.
async fn stored_as_bytes(backend: Backend, db: &str) -> i64 {
    let query = match backend {
        Backend::Sqlite => "SELECT COUNT(*) FROM versions WHERE typeof(hash) = 'blob' AND length(hash) = 32",
        Backend::Postgres => "SELECT COUNT(*) FROM versions WHERE octet_length(hash) = 32",
    };
    count_at(backend, db, query).await
}

/// Runs `statements` (`;`-separated) on the database behind the store's back.
async fn sql(backend: Backend, db: &str, statements: &str) {
    for statement in statements.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        sql_at(backend, db, statement).await;
    }
}

async fn open(db: &str) -> Store {
    let db = db.to_owned();
    tokio::task::spawn_blocking(move || kg_history::open(&db).unwrap()).await.unwrap()
}

/// A new database on `backend`: a file in `dir`, or a database of the test cluster.
async fn new_database(backend: Backend, dir: &tempfile::TempDir) -> String {
    match backend {
        Backend::Sqlite => dir.path().join("h.sqlite").to_string_lossy().into_owned(),
        Backend::Postgres => support::postgres_database().await,
    }
}

async fn a_database_with_hex_hashes_is_migrated_and_still_verifies(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = new_database(backend, &dir).await;
    let store = open(&db).await;
    let before = tokio::task::spawn_blocking(move || {
        save(&store, body(None, "one"), ctx(Some("key-1"))).unwrap();
        save(&store, body(Some(1), "two"), ctx(Some("key-2"))).unwrap();
        save(&store, body(Some(2), "three"), ctx(None)).unwrap();
        hashes(&store)
    })
    .await
    .unwrap();
    assert_eq!(stored_as_bytes(backend, &db).await, 3, "new versions store 32 bytes");

    assert_eq!(count_at(backend, &db, "SELECT COUNT(*) FROM versions WHERE request_hash IS NOT NULL").await, 2, "one per key");

    // Back to the schema before both: hashes as hex text, fingerprints in their own table.
    match backend {
        Backend::Sqlite => {
            sql(
                backend,
                &db,
                &format!("{UNKEYED};
                 CREATE TABLE request_hashes (graph_id TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL,
                     PRIMARY KEY (graph_id, version)) WITHOUT ROWID;
                 INSERT INTO request_hashes SELECT graph_id, version, lower(hex(request_hash)) FROM versions WHERE request_hash IS NOT NULL;
                 ALTER TABLE versions DROP COLUMN request_hash;
                 UPDATE versions SET hash = lower(hex(hash));
                 UPDATE versions SET record_digest = lower(hex(record_digest)) WHERE record_digest IS NOT NULL;
                 PRAGMA user_version = 5;"),
            )
            .await
        }
        Backend::Postgres => {
            sql(
                backend,
                &db,
                "CREATE TABLE request_hashes (graph_id TEXT NOT NULL, version BIGINT NOT NULL, hash TEXT NOT NULL,
                     PRIMARY KEY (graph_id, version));
                 INSERT INTO request_hashes SELECT graph_id, version, encode(request_hash, 'hex') FROM versions WHERE request_hash IS NOT NULL;
                 ALTER TABLE versions DROP COLUMN request_hash;
                 ALTER TABLE versions ALTER COLUMN hash TYPE TEXT USING encode(hash, 'hex'),
                     ALTER COLUMN record_digest TYPE TEXT USING encode(record_digest, 'hex');
                 DROP INDEX entities_from;
                 CREATE INDEX entities_from ON entities (gid, from_version);
                 DROP INDEX entities_to;
                 CREATE INDEX entities_to ON entities (gid, to_version) WHERE to_version IS NOT NULL;
                 CREATE INDEX versions_user ON versions (\"user\");
                 UPDATE kg_schema SET version = 4;",
            )
            .await
        }
    }
    assert_eq!(stored_as_bytes(backend, &db).await, 0);

    let store = open(&db).await;
    assert_eq!(stored_as_bytes(backend, &db).await, 3, "the migration stored every hash as its bytes");
    let moved = "SELECT COUNT(*) FROM versions WHERE request_hash IS NOT NULL AND version IN (1, 2)";
    assert_eq!(count_at(backend, &db, moved).await, 2, "both fingerprints moved into their versions' rows");
    if backend == Backend::Postgres {
        // Migration 9: no index of versions by user; the metadata's rows in
        // neither index of parts by version (the reads below find them).
        let partial = "SELECT COUNT(*) FROM pg_indexes WHERE indexname IN ('entities_from', 'entities_to') AND indexdef LIKE '%kind <> 1%'";
        assert_eq!(count_at(backend, &db, partial).await, 2);
        assert_eq!(count_at(backend, &db, "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'versions_user'").await, 0);
    }
    let (after, verified, replay, text) = tokio::task::spawn_blocking(move || {
        let after = hashes(&store);
        let verified = store.read(|db| read::verify(db, ID)).unwrap();
        // The request behind version 2 is bound to its key: the same request
        // again is a replay, answered with version 2.
        let replay = save(&store, body(Some(1), "two"), ctx(Some("key-2"))).unwrap();
        // Another request with that key is refused: its fingerprint was kept.
        let other = save(&store, body(Some(2), "another"), ctx(Some("key-2")));
        assert!(matches!(other, Err(kg_history::HistoryError::Unprocessable(_))), "{other:?}");
        let text = store.read(|db| read::graph_text(db, ID, Some(2))).unwrap();
        (after, verified, replay, text)
    })
    .await
    .unwrap();
    assert_eq!(after, before, "every version keeps its hash");
    assert!(verified.ok, "the chain verifies after the migration");
    assert_eq!((replay.version, replay.replayed, &replay.hash), (2, true, &before[1]));
    assert_eq!(text.1, before[1]);
}

/// A request's fingerprint is 16 bytes since issue 28; one kept whole (32
/// bytes) by an older build still binds its key: the same request is a
/// replay, another is refused.
async fn a_fingerprint_kept_whole_still_binds_its_key(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = new_database(backend, &dir).await;
    let store = open(&db).await;
    let store = tokio::task::spawn_blocking(move || {
        save(&store, body(None, "one"), ctx(Some("key-1"))).unwrap();
        save(&store, body(Some(1), "two"), ctx(Some("key-2"))).unwrap();
        store
    })
    .await
    .unwrap();
    let (length, table) = match backend {
        Backend::Sqlite => ("length", "version_rows"),
        Backend::Postgres => ("octet_length", "versions"),
    };
    let sixteen = format!("SELECT COUNT(*) FROM {table} WHERE {length}(request_hash) = 16");
    assert_eq!(count_at(backend, &db, &sixteen).await, 2, "new fingerprints are 16 bytes");
    // As an older build kept it: the whole digest, of which the fingerprint is the start.
    let (whole, changed) = match backend {
        Backend::Sqlite => (
            "UPDATE version_rows SET request_hash = unhex(hex(request_hash) || '00112233445566778899aabbccddeeff') WHERE version = 2",
            "UPDATE version_rows SET request_hash = unhex('ff' || substr(hex(request_hash), 3)) WHERE version = 2",
        ),
        Backend::Postgres => (
            "UPDATE versions SET request_hash = request_hash || '\\x00112233445566778899aabbccddeeff'::bytea WHERE version = 2",
            "UPDATE versions SET request_hash = '\\xff'::bytea || substring(request_hash FROM 2) WHERE version = 2",
        ),
    };
    sql_at(backend, &db, whole).await;
    let thirty_two = format!("SELECT COUNT(*) FROM {table} WHERE {length}(request_hash) = 32");
    assert_eq!(count_at(backend, &db, &thirty_two).await, 1);
    let store = tokio::task::spawn_blocking(move || {
        let replay = save(&store, body(Some(1), "two"), ctx(Some("key-2"))).unwrap();
        assert_eq!((replay.version, replay.replayed), (2, true), "the same request is a replay");
        let other = save(&store, body(Some(2), "another"), ctx(Some("key-2")));
        assert!(matches!(other, Err(kg_history::HistoryError::Unprocessable(_))), "{other:?}");
        store
    })
    .await
    .unwrap();
    // A whole digest that does not start with the fingerprint is another request's.
    sql_at(backend, &db, changed).await;
    let refused = tokio::task::spawn_blocking(move || save(&store, body(Some(1), "two"), ctx(Some("key-2")))).await.unwrap();
    assert!(matches!(refused, Err(kg_history::HistoryError::Unprocessable(_))), "{refused:?}");
}

/// How many versions store their audit record packed (see
/// `kg_history_store::packed`), not as text.
async fn packed_records(backend: Backend, db: &str) -> i64 {
    let query = match backend {
        Backend::Sqlite => "SELECT COUNT(*) FROM versions WHERE typeof(audit_json) = 'blob'",
        Backend::Postgres => {
            let bytes = "SELECT COUNT(*) FROM information_schema.columns
                         WHERE table_name = 'versions' AND column_name = 'audit_json' AND data_type = 'bytea'";
            if count_at(backend, db, bytes).await == 0 {
                return 0; // text, as before migration 8
            }
            "SELECT COUNT(*) FROM versions WHERE get_byte(audit_json, 0) <> 123"
        }
    };
    count_at(backend, db, query).await
}

/// Audit records are stored packed since issue 28 (SQLite: a blob in the
/// same column; PostgreSQL: the column became `bytea`, migration 8). A
/// database whose records are text, as every build before wrote them, is
/// read as it is: each record comes back the same, the chain verifies, and
/// only new versions are packed. A packed record cut short makes its
/// version, not the read, fail.
async fn records_stored_as_text_read_back_and_new_ones_are_packed(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = new_database(backend, &dir).await;
    let store = open(&db).await;
    let saved = tokio::task::spawn_blocking(move || {
        save(&store, approval(None, "one", "0f8e6c2a-4b1d-4e7f-9a3c-5d2e1b0c9f8a"), ctx(None)).unwrap();
        save(&store, approval(Some(1), "two", "1f8e6c2a-4b1d-4e7f-9a3c-5d2e1b0c9f8a"), ctx(None)).unwrap();
        store.read(|db| db.all_versions(ID)).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(packed_records(backend, &db).await, 2, "new records are packed");
    let records =
        |versions: &[kg_history::store::VersionRow]| -> Vec<serde_json::Value> { versions.iter().map(|v| v.record().unwrap()).collect() };
    assert_eq!(records(&saved)[1]["approvalId"], "1f8e6c2a-4b1d-4e7f-9a3c-5d2e1b0c9f8a");

    // Back to text, as before packing (PostgreSQL: the column too).
    let quoted = |v: &kg_history::store::VersionRow| v.audit_json.as_ref().unwrap().replace('\'', "''");
    let (column, table, schema) = match backend {
        Backend::Sqlite => ("", "version_rows", "PRAGMA user_version = 10"),
        Backend::Postgres => {
            ("ALTER TABLE versions ALTER COLUMN audit_json TYPE TEXT USING '';", "versions", "UPDATE kg_schema SET version = 7")
        }
    };
    let back: String =
        saved.iter().map(|v| format!("UPDATE {table} SET audit_json = '{}' WHERE version = {};", quoted(v), v.version)).collect();
    sql(backend, &db, &format!("{column}{back}{schema}")).await;
    assert_eq!(packed_records(backend, &db).await, 0);

    let store = open(&db).await;
    let (after, verified, store) = tokio::task::spawn_blocking(move || {
        let after = store.read(|db| db.all_versions(ID)).unwrap();
        let verified = store.read(|db| read::verify(db, ID)).unwrap();
        save(&store, approval(Some(2), "three", "2f8e6c2a-4b1d-4e7f-9a3c-5d2e1b0c9f8a"), ctx(None)).unwrap();
        (after, verified, store)
    })
    .await
    .unwrap();
    assert_eq!(records(&after), records(&saved), "records stored as text read back the same");
    assert!(verified.ok, "{verified:?}");
    assert_eq!(packed_records(backend, &db).await, 1, "old records stay text, the new one is packed");

    // A packed record cut short: its version is named broken, every version still reads.
    let cut = match backend {
        Backend::Sqlite => "UPDATE version_rows SET audit_json = substr(audit_json, 1, length(audit_json) - 4) WHERE version = 3",
        Backend::Postgres => {
            "UPDATE versions SET audit_json = substring(audit_json FROM 1 FOR octet_length(audit_json) - 4) WHERE version = 3"
        }
    };
    sql_at(backend, &db, cut).await;
    let (versions, verified) = tokio::task::spawn_blocking(move || {
        (store.read(|db| db.all_versions(ID)).unwrap(), store.read(|db| read::verify(db, ID)).unwrap())
    })
    .await
    .unwrap();
    assert_eq!(versions.len(), 3);
    assert!(versions[2].audit_json.as_ref().is_err_and(|e| e.starts_with("audit record:")), "{:?}", versions[2].audit_json);
    assert_eq!(verified.first_broken.as_ref().map(|b| b.version), Some(3), "{verified:?}");
}

on_both_backends!(
    a_database_with_hex_hashes_is_migrated_and_still_verifies,
    a_fingerprint_kept_whole_still_binds_its_key,
    records_stored_as_text_read_back_and_new_ones_are_packed
);

/// A save whose approval id (its idempotency key) is `key`.
fn approval(version: Option<i64>, label: &str, key: &str) -> SaveBody {
    let graph = json!({"metadata": {"title": "T", "version": version}, "nodes": [{"id": "a", "label": label}], "edges": []});
    SaveBody::parse(json!({"id": ID, "graphData": graph, "audit": {"approvalId": key}}).to_string().as_bytes()).unwrap()
}

/// SQLite keeps a UUID idempotency key as its 16 bytes and a record digest
/// only once its record expires (schema 9, issue 28); a database written
/// before, with 36-character keys and every digest, is migrated at start.
/// Keys and records read back as they were sent, idempotency still finds
/// each key, and the chain verifies.
#[tokio::test(flavor = "multi_thread")]
async fn uuid_keys_are_stored_as_bytes_and_digests_only_when_needed() {
    const UUID: &str = "0f8e6c2a-4b1d-4e7f-9a3c-5d2e1b0c9f8a";
    const UPPER: &str = "0F8E6C2A-4B1D-4E7F-9A3C-5D2E1B0C9F8B";
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.sqlite").to_string_lossy().into_owned();
    let store = open(&db).await;
    let (saved, digests) = tokio::task::spawn_blocking(move || {
        save(&store, approval(None, "one", UUID), ctx(None)).unwrap();
        save(&store, approval(Some(1), "two", UPPER), ctx(None)).unwrap();
        let names = kg_history::people::Pseudonyms::from(store.read(|db| db.pseudonyms()).unwrap());
        let versions = store.read(|db| db.all_versions(ID)).unwrap();
        let digests: Vec<String> = versions.iter().map(|v| kg_history::chain::record_digest(&v.record().unwrap(), &names)).collect();
        (versions, digests)
    })
    .await
    .unwrap();
    let keys = |v: &[kg_history::store::VersionRow]| -> Vec<(Option<String>, serde_json::Value)> {
        v.iter().map(|v| (v.idempotency_key.clone(), v.record().unwrap()["approvalId"].clone())).collect()
    };
    assert_eq!(keys(&saved), [(Some(UUID.to_owned()), json!(UUID)), (Some(UPPER.to_owned()), json!(UPPER))]);
    let count = |query: &'static str| {
        let db = db.clone();
        async move { count_at(Backend::Sqlite, &db, query).await }
    };
    let as_bytes = "SELECT COUNT(*) FROM versions WHERE typeof(idempotency_key) = 'blob' AND length(idempotency_key) = 16";
    assert_eq!(count(as_bytes).await, 1, "the lowercase UUID as 16 bytes; the uppercase one stays text");
    let kept = "SELECT COUNT(*) FROM versions WHERE record_digest IS NOT NULL";
    assert_eq!(count(kept).await, 0, "implied by the records");

    let keyed_by_gid = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'view' AND name = 'versions'";
    assert_eq!(count(keyed_by_gid).await, 1);
    // Back to schema 8: versions keyed by the graph's id, keys as text, every
    // digest stored (as the build before wrote them).
    sql(
        Backend::Sqlite,
        &db,
        &format!(
            "{UNKEYED};
             UPDATE versions SET idempotency_key = '{UUID}' WHERE version = 1;
             UPDATE versions SET record_digest = unhex('{}') WHERE version = 1;
             UPDATE versions SET record_digest = unhex('{}') WHERE version = 2;
             PRAGMA user_version = 8;",
            digests[0], digests[1]
        ),
    )
    .await;
    assert_eq!((count(as_bytes).await, count(kept).await, count(keyed_by_gid).await), (0, 2, 0));

    let store = open(&db).await;
    assert_eq!((count(as_bytes).await, count(kept).await, count(keyed_by_gid).await), (1, 0, 1), "migrated");
    let (after, verified) = tokio::task::spawn_blocking(move || {
        // Each key still finds its version: the same request again is a replay.
        let replay = save(&store, approval(None, "one", UUID), ctx(None)).unwrap();
        assert_eq!((replay.version, replay.replayed), (1, true));
        // Another approval under that key (its fingerprint covers the approval) is refused.
        let graph = json!({"metadata": {"title": "T", "version": 2}, "nodes": [{"id": "a", "label": "three"}], "edges": []});
        let body = json!({"id": ID, "graphData": graph, "audit": {"approvalId": UUID, "reason": "another"}});
        let other = save(&store, SaveBody::parse(body.to_string().as_bytes()).unwrap(), ctx(None));
        assert!(matches!(other, Err(kg_history::HistoryError::Unprocessable(_))), "{other:?}");
        let replay = save(&store, approval(Some(1), "two", UPPER), ctx(None)).unwrap();
        assert_eq!((replay.version, replay.replayed), (2, true));
        (store.read(|db| db.all_versions(ID)).unwrap(), store.read(|db| read::verify(db, ID)).unwrap())
    })
    .await
    .unwrap();
    assert_eq!(keys(&after), keys(&saved));
    assert_eq!(after.iter().map(|v| &v.hash).collect::<Vec<_>>(), saved.iter().map(|v| &v.hash).collect::<Vec<_>>());
    assert!(verified.ok, "{verified:?}");
}

/// SQLite stores a version's time as 8 bytes since schema 11 (issue 28),
/// not 24 characters; a database written before, with times as text, is
/// migrated at start. Every time reads back as it was, the chain verifies,
/// and filters by time still find the same versions, whichever side of
/// the migration wrote them. (Schema 12 drops the index of versions by user.)
#[tokio::test(flavor = "multi_thread")]
async fn times_are_stored_as_bytes_and_still_filter_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.sqlite").to_string_lossy().into_owned();
    let store = open(&db).await;
    // Before 1970, just after it and now: the bytes must sort as the times do.
    const TIMES: [&str; 3] = ["1969-12-31T23:59:59.500Z", "1970-01-01T00:00:00.001Z", "2026-12-07T06:00:00.000Z"];
    let times = TIMES;
    let at = |i: usize| SaveContext { now: Timestamp::parse(TIMES[i]).unwrap(), ..ctx(None) };
    let saved = tokio::task::spawn_blocking(move || {
        for (i, label) in ["one", "two", "three"].into_iter().enumerate() {
            save(&store, body((i > 0).then_some(i as i64), label), at(i)).unwrap();
        }
        store.read(|db| db.all_versions(ID)).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(saved.iter().map(|v| v.saved_at.as_str()).collect::<Vec<_>>(), times);
    let as_bytes = "SELECT COUNT(*) FROM version_rows WHERE typeof(saved_at) = 'blob' AND length(saved_at) = 8";
    assert_eq!(count_at(Backend::Sqlite, &db, as_bytes).await, 3);

    // Back to text, as every build before schema 11 stored times.
    let back: String =
        saved.iter().map(|v| format!("UPDATE version_rows SET saved_at = '{}' WHERE version = {};", v.saved_at, v.version)).collect();
    sql(Backend::Sqlite, &db, &format!("{back}CREATE INDEX versions_user ON version_rows (user);PRAGMA user_version = 10")).await;
    assert_eq!(count_at(Backend::Sqlite, &db, as_bytes).await, 0);

    let store = open(&db).await;
    assert_eq!(count_at(Backend::Sqlite, &db, as_bytes).await, 3, "migrated");
    let by_user = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'versions_user'";
    assert_eq!(count_at(Backend::Sqlite, &db, by_user).await, 0, "schema 12 dropped the index of versions by user");
    let (after, verified, found) = tokio::task::spawn_blocking(move || {
        let after = store.read(|db| db.all_versions(ID)).unwrap();
        let verified = store.read(|db| read::verify(db, ID)).unwrap();
        let between = |from: Option<&str>, to: Option<&str>| {
            let filter = kg_history::store::AuditFilter {
                from: from.map(str::to_owned),
                to: to.map(str::to_owned),
                limit: 10,
                ..Default::default()
            };
            let (total, rows) = store.read(|db| db.audit(ID, None, &filter)).unwrap();
            assert_eq!(total as usize, rows.len());
            rows.into_iter().map(|v| v.version).collect::<Vec<_>>()
        };
        let found = [
            between(Some(times[1]), None),
            between(None, Some(times[1])),
            between(Some("1969-01-01T00:00:00.000Z"), Some("2026-12-07T06:00:00.001Z")),
            between(Some("2026-12-07T06:00:00.001Z"), None),
        ];
        (after, verified, found)
    })
    .await
    .unwrap();
    assert_eq!(after, saved, "every version reads back as it was");
    assert!(verified.ok, "{verified:?}");
    assert_eq!(found, [vec![3, 2], vec![1], vec![3, 2, 1], vec![]]);
}
