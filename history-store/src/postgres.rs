//! The PostgreSQL backend: the same schema, for several server processes on
//! one database.
//!
//! Driver: `tokio-postgres` with a `deadpool-postgres` pool, chosen over
//! sqlx (0.8, its own `PgPool`) by measurement: a save's transaction shape
//! (advisory lock, head read, two rows ended and written, version row, head
//! update), pool of 16, driven from `spawn_blocking` with `block_on` as here,
//! ran at the same speed on both (774–842 vs 692–797 tx/s with one writer,
//! 2,332–2,584 vs 2,286–2,417 with 8, 2,582–2,773 vs 2,273–2,503 with 32;
//! CPU 0.25–0.58 vs 0.28–0.60 ms per transaction; two runs each, 2 cores),
//! while tokio-postgres builds in 29 s instead of 50 s with 67 crates
//! instead of 120. sqlx's compile-time checked queries, its main draw, want
//! a database at build time, which nothing here needs.
//! The save logic is synchronous (it runs in `spawn_blocking`, as with
//! SQLite), so each query is driven to completion with the runtime's
//! `block_on` from that blocking thread. (Async save logic would cost
//! 1.5–2× less CPU per transaction in the same measurement; it would mean two
//! copies of the logic, one per backend, so it waits until the database,
//! not the server, is what limits.)
//!
//! Concurrency: a write transaction (READ COMMITTED) first takes an advisory
//! lock on its graph id (`pg_advisory_xact_lock`), held until it ends, so
//! saves of one graph from any process run one after another and see each
//! other's versions and idempotency keys; saves of different graphs run in
//! parallel. `(graph_id, version)` is still the primary key. Reads run in
//! REPEATABLE READ READ ONLY transactions: one consistent view, no waiting.
//! A read's `BEGIN` is sent together with its first statement and its
//! `ROLLBACK` without waiting for the answer, so the transaction itself
//! costs no round trip (see [`PgStore::read`]). A read whose first query is
//! the newest version needs none while its blob guess holds: one statement
//! sees one state (see [`crate::pg_newest`]).

use std::collections::HashMap;
use std::time::Duration;

use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Transaction};
use tokio::runtime::Handle;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};

use crate::packed::{self, Dictionary};

use crate::pg_newest;
use crate::pg_text::{dec, dec_opt, enc, enc_opt};

use super::entity_patch;
use super::{
    Approval, AuditFilter, DayStats, Decided, Dim, EntityRow, Erased, Event, ExportFilter, Grant, GraphSummary, GraphVersion, Head, KeyUse,
    Kind, Newest, PoolStatus, Reader, Span, Stats, StatsFilter, StoreError, StoreResult, StoredEnds, Upgrade, VersionRow, Writer, compress,
    decompress, digest_bytes, hash_bytes,
};

/// Schema migrations, applied in order at start, in one transaction that
/// holds an advisory lock (processes starting together migrate once).
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE graphs (
        gid BIGSERIAL PRIMARY KEY,
        graph_id TEXT NOT NULL UNIQUE,
        head_version BIGINT NOT NULL,
        head_hash TEXT NOT NULL,
        title TEXT,
        nodes BIGINT NOT NULL,
        saved_at TEXT NOT NULL,
        saved_by TEXT NOT NULL,
        swept_rows BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE versions (
        graph_id TEXT NOT NULL,
        version BIGINT NOT NULL,
        saved_at TEXT NOT NULL,
        \"user\" TEXT NOT NULL,
        source TEXT NOT NULL,
        reason TEXT,
        run_id TEXT,
        idempotency_key TEXT,
        graph_json TEXT,
        audit_json TEXT NOT NULL, -- bytes since migration 8
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        scheme BIGINT NOT NULL,
        pruned BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (graph_id, version)
    );
    CREATE UNIQUE INDEX versions_idempotency ON versions (graph_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE TABLE entities (
        gid BIGINT NOT NULL,
        kind BIGINT NOT NULL,
        key TEXT NOT NULL,
        dup BIGINT NOT NULL,
        from_version BIGINT NOT NULL,
        to_version BIGINT,
        ord BIGINT NOT NULL,
        body TEXT NOT NULL,
        -- An edge's ends, beside its body: PostgreSQL's JSON cannot read a
        -- body holding \\u0000, so they are not indexed from the body here.
        src TEXT,
        dst TEXT,
        PRIMARY KEY (gid, kind, key, dup, from_version)
    );
    CREATE INDEX entities_live ON entities (gid, kind, ord) WHERE to_version IS NULL;
    CREATE INDEX entities_from ON entities (gid, from_version);
    CREATE INDEX entities_to ON entities (gid, to_version) WHERE to_version IS NOT NULL;
    CREATE INDEX entities_src ON entities (gid, src) WHERE to_version IS NULL AND src IS NOT NULL;
    CREATE INDEX entities_dst ON entities (gid, dst) WHERE to_version IS NULL AND dst IS NOT NULL;
    CREATE TABLE blobs (
        gid BIGINT NOT NULL,
        hash BYTEA NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (gid, hash)
    );
    CREATE TABLE pruned_leaves (
        graph_id TEXT NOT NULL,
        version BIGINT NOT NULL,
        leaf TEXT NOT NULL
    );
    CREATE INDEX pruned_leaves_version ON pruned_leaves (graph_id, version);",
    "
    CREATE TABLE graph_access (
        graph_id TEXT NOT NULL,
        member TEXT NOT NULL,
        role TEXT NOT NULL,
        granted_by TEXT NOT NULL,
        granted_at TEXT NOT NULL,
        PRIMARY KEY (graph_id, member)
    );
    CREATE INDEX graph_access_member ON graph_access (member);
    CREATE TABLE request_hashes (
        graph_id TEXT NOT NULL,
        version BIGINT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (graph_id, version)
    );",
    // The audit features: see `schema_4` of the SQLite backend.
    "
    ALTER TABLE versions ADD COLUMN record_digest TEXT;
    ALTER TABLE versions ADD COLUMN audit_expired BOOLEAN NOT NULL DEFAULT FALSE;
    CREATE INDEX versions_run ON versions (run_id) WHERE run_id IS NOT NULL;
    CREATE INDEX versions_user ON versions (\"user\");
    CREATE INDEX versions_saved_at ON versions (saved_at);
    ALTER TABLE graphs ADD COLUMN owner TEXT;
    UPDATE graphs SET owner = (SELECT v.\"user\" FROM versions v WHERE v.graph_id = graphs.graph_id AND v.version = 1);
    CREATE TABLE people (
        pseudonym TEXT PRIMARY KEY,
        person TEXT UNIQUE,
        first_seen TEXT NOT NULL,
        erased_at TEXT
    );
    CREATE TABLE events (
        seq BIGINT PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        detail TEXT NOT NULL,
        hash TEXT NOT NULL
    );",
    // Reports (issue 26): see `crate::decisions`.
    crate::decisions_pg::SCHEMA,
    // Hashes as their 32 bytes (issue 28): a version's hash and record
    // digest and a request's fingerprint were 64-character hex text (a
    // fingerprint 32 characters since, see `crate::fingerprint_bytes`). Text
    // that is not lowercase hex of either length (none this server wrote)
    // keeps its bytes, and no longer verifies. A column already converted is left as
    // it is (a database whose schema number was set back runs this again).
    "
    DO $$
    DECLARE
        col RECORD;
    BEGIN
        FOR col IN SELECT c.table_name, c.column_name FROM information_schema.columns c
                   WHERE c.table_schema = current_schema() AND c.data_type = 'text'
                     AND (c.table_name, c.column_name) IN (('versions', 'hash'), ('versions', 'record_digest'), ('request_hashes', 'hash'))
        LOOP
            EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE BYTEA USING (CASE WHEN %I ~ ''^([0-9a-f]{32}){1,2}$'' THEN decode(%I, ''hex'') ELSE convert_to(%I, ''UTF8'') END)',
                           col.table_name, col.column_name, col.column_name, col.column_name, col.column_name);
        END LOOP;
    END $$;",
    // A request's fingerprint in its version's row (issue 28): see
    // `schema_7` of the SQLite backend. Runs again harmlessly.
    "
    ALTER TABLE versions ADD COLUMN IF NOT EXISTS request_hash BYTEA;
    DO $$
    BEGIN
        IF to_regclass('request_hashes') IS NOT NULL THEN
            UPDATE versions v SET request_hash = h.hash FROM request_hashes h
             WHERE h.graph_id = v.graph_id AND h.version = v.version AND v.request_hash IS NULL;
            DROP TABLE request_hashes;
        END IF;
    END $$;",
    // Each part's current row found by its key (issue 28): see `schema_10`
    // of the SQLite backend. Through the primary key, which lacks
    // `to_version`, a save read every older row of the parts it changed,
    // and every version ends a row of the metadata.
    "CREATE INDEX IF NOT EXISTS entities_current ON entities (gid, kind, key, dup) WHERE to_version IS NULL;",
    // Audit records as bytes (issue 28): a new record is stored packed (see
    // `crate::packed`), a quarter of its text; the records already
    // stored keep their text, as UTF-8 bytes. Runs again harmlessly.
    "
    DO $$
    BEGIN
        IF (SELECT data_type FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = 'versions' AND column_name = 'audit_json') = 'text' THEN
            ALTER TABLE versions ALTER COLUMN audit_json TYPE BYTEA USING convert_to(audit_json, 'UTF8');
        END IF;
    END $$;",
    // No index of versions by user, and the metadata out of the indexes of
    // parts by version (issue 28): see `schema_12` and `schema_13` of the
    // SQLite backend, and `METADATA_AT` here. Runs again harmlessly (the
    // indexes are made anew).
    "
    DROP INDEX IF EXISTS versions_user;
    DROP INDEX IF EXISTS entities_from;
    CREATE INDEX entities_from ON entities (gid, from_version) WHERE kind <> 1;
    DROP INDEX IF EXISTS entities_to;
    CREATE INDEX entities_to ON entities (gid, to_version) WHERE to_version IS NOT NULL AND kind <> 1;",
];

/// The graph's metadata (kind 1, key `''`, dup 0), the one part every
/// version rewrites (its `version` stamp), is left out of `entities_from`
/// and `entities_to` (migration 9): its row at version `$2`, found by the
/// primary key instead, as are its rows opened and ended by a version.
static METADATA_AT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = $1 AND kind = 1 AND key = '' AND dup = 0
           AND from_version = (SELECT MAX(from_version) FROM entities WHERE gid = $1 AND kind = 1 AND key = '' AND dup = 0 AND from_version <= $2)
           AND (to_version IS NULL OR to_version > $2)"
    )
});

/// A hash as stored since migration 5: its 32 bytes (see [`digest_bytes`]).
fn stored_digest(hex: &str) -> Vec<u8> {
    digest_bytes(hex).unwrap_or_else(|| hex.as_bytes().to_vec())
}

/// A request's fingerprint as stored: its bytes (see [`crate::fingerprint_bytes`]).
fn stored_fingerprint(hex: &str) -> Vec<u8> {
    crate::fingerprint_bytes(hex).unwrap_or_else(|| hex.as_bytes().to_vec())
}

/// The migration (its number here) that creates the `decisions` table,
/// which the caller's [`Upgrade::backfill_decisions`] fills.
const DECISIONS_SCHEMA: i64 = 4;

/// The tables an erasure rewrites (every column and body that names people).
const PEOPLE_TABLES: [&str; 6] = ["versions", "entities", "graphs", "graph_access", "people", "labels"];

/// The advisory lock key of migrations (any constant; graphs use hashes of their ids).
const MIGRATION_LOCK: i64 = 0x6b67_6170_7072_6f76;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        use std::error::Error;
        let unavailable = match e.as_db_error() {
            // Class 08 (connection), 57P0x (shutting down, cannot connect
            // now), 53300 (too many connections).
            Some(db) => {
                let code = db.code().code();
                code.starts_with("08") || code.starts_with("57P0") || code == "53300"
            }
            // No answer from the server at all: the connection is gone, or
            // could not be made.
            None => e.is_closed() || e.source().is_some_and(|s| s.is::<std::io::Error>()),
        };
        if unavailable { StoreError::Unavailable(crate::with_causes(&e)) } else { StoreError::Failed(crate::with_causes(&e)) }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> StoreError {
        StoreError::Unavailable(crate::with_causes(&e))
    }
}

/// The most connections a process opens.
const POOL_SIZE: usize = 16;

/// The number of schema migrations this build knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub struct PgStore {
    pool: Pool,
    rt: Handle,
    hints: BlobHints,
}

/// The most blob hashes [`BlobHints`] keeps (32 bytes each: 8 MB).
const HINTED_BLOBS: usize = 1 << 18;

/// The blobs each graph's newest version referred to when this process last
/// read it: the next read of the graph asks for them in its first round
/// trip, with the rows, instead of in a second once the rows have named them
/// (bench/read-latency.js: that second round trip was about a third of the
/// PostgreSQL read of a 12-node graph). Only a guess, checked within the
/// read's snapshot: what the rows refer to and the guess lacked (a save
/// since, in any process) is asked for in a second round trip, and what the
/// guess had beyond it is dropped, so the answer is the same either way.
#[derive(Default)]
struct BlobHints(Mutex<Hinted>);

#[derive(Default)]
struct Hinted {
    /// Sorted blob hashes (32 bytes) by graph id.
    graphs: HashMap<String, Arc<Vec<Vec<u8>>>>,
    /// How many hashes `graphs` holds.
    total: usize,
}

impl BlobHints {
    fn get(&self, graph_id: &str) -> Option<Arc<Vec<Vec<u8>>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).graphs.get(graph_id).cloned()
    }

    /// Remembers a graph's blobs; past [`HINTED_BLOBS`] all are forgotten
    /// first (a forgotten graph's next read merely takes two round trips).
    fn set(&self, graph_id: &str, hashes: Vec<Vec<u8>>) {
        let mut hinted = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if hinted.total + hashes.len() > HINTED_BLOBS {
            *hinted = Hinted::default();
        }
        hinted.total += hashes.len();
        if let Some(old) = hinted.graphs.insert(graph_id.to_owned(), Arc::new(hashes)) {
            hinted.total -= old.len();
        }
    }
}

impl PgStore {
    /// Connects (the password in the URL or `PGPASSWORD`) and migrates.
    /// Must be called from a Tokio runtime, outside an async task (e.g. in
    /// `spawn_blocking`), since it waits for the database.
    pub fn open(url: &str, upgrade: &dyn Upgrade) -> Result<PgStore, String> {
        let (mut config, tls) = crate::tls::parse_url(url).map_err(|e| format!("{}: {e}", redact(url)))?;
        if config.get_password().is_none() {
            if let Ok(password) = std::env::var("PGPASSWORD") {
                config.password(password);
            }
        }
        config.connect_timeout(Duration::from_secs(5));
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            _ => "localhost".to_owned(),
        };
        let connector = tls.connector().map_err(|e| format!("{}: {e}", redact(url)))?;
        let manager = Manager::from_config(config, connector, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| e.to_string())?;
        let rt = Handle::try_current().map_err(|_| "PostgreSQL needs a Tokio runtime".to_owned())?;
        let store = PgStore { pool, rt, hints: BlobHints::default() };
        store.migrate(upgrade).map_err(|e| {
            let text = e.to_string();
            let said = tls.explain(&host, &text).unwrap_or(text);
            format!("{}: {said}", redact(url))
        })?;
        Ok(store)
    }

    /// The schema version the database holds.
    pub fn schema_version(&self) -> StoreResult<i64> {
        let client = self.rt.block_on(self.pool.get())?;
        Ok(self.rt.block_on(client.query_one("SELECT version FROM kg_schema", &[]))?.get(0))
    }

    /// Connections open and in use now, and the most the pool opens.
    pub fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus { open: status.size, in_use: status.size.saturating_sub(status.available), max: status.max_size }
    }

    fn migrate(&self, upgrade: &dyn Upgrade) -> StoreResult<()> {
        let mut client = self.rt.block_on(self.pool.get())?;
        let tx = self.rt.block_on(client.transaction())?;
        self.rt.block_on(tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]))?;
        self.rt.block_on(tx.batch_execute("CREATE TABLE IF NOT EXISTS kg_schema (version BIGINT NOT NULL); INSERT INTO kg_schema SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM kg_schema)"))?;
        let applied: i64 = self.rt.block_on(tx.query_one("SELECT version FROM kg_schema", &[]))?.get(0);
        for (i, sql) in (1i64..).zip(MIGRATIONS).skip(applied.max(0) as usize) {
            self.rt.block_on(tx.batch_execute(sql))?;
            upgrade.after_schema(i, &mut PgConn::new(&tx, &self.rt))?;
            if i == DECISIONS_SCHEMA {
                upgrade.backfill_decisions(&mut PgConn::new(&tx, &self.rt))?;
            }
            self.rt.block_on(tx.execute("UPDATE kg_schema SET version = $1", &[&i]))?;
        }
        self.rt.block_on(tx.commit())?;
        // Statements the upgrades prepared may read a column a later
        // migration changed the type of ("cached plan must not change result
        // type"): the connection goes back to the pool without them.
        client.statement_cache.clear();
        Ok(())
    }

    /// See [`super::Store::scrub`].
    pub fn scrub(&self) -> StoreResult<()> {
        let client = self.rt.block_on(self.pool.get())?;
        self.rt.block_on(client.batch_execute(&format!("VACUUM (FULL, ANALYZE) {}", PEOPLE_TABLES.join(", "))))?;
        self.rt.block_on(client.batch_execute("VACUUM FULL pg_catalog.pg_statistic"))?;
        Ok(())
    }

    pub fn write<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut dyn Writer) -> Result<T, E>) -> Result<T, E> {
        let mut client = self.rt.block_on(self.pool.get()).map_err(StoreError::from)?;
        let tx = self
            .rt
            .block_on(client.build_transaction().isolation_level(IsolationLevel::ReadCommitted).start())
            .map_err(StoreError::from)?;
        let out = f(&mut PgConn::new(&tx, &self.rt))?;
        self.rt.block_on(tx.commit()).map_err(StoreError::from)?;
        Ok(out)
    }

    /// Runs `f` in a REPEATABLE READ READ ONLY transaction. Its `BEGIN`
    /// goes out with the first statement (pipelined: one round trip for
    /// both) and its `ROLLBACK` (a read-only transaction has nothing to
    /// commit) is sent without waiting for the answer, which the connection
    /// reads before the answer to anything sent on it later. Each round
    /// trip costs a read about 0.1–0.2 ms here (bench/read-latency.js: a
    /// 12-node graph took 2.2–3.2 ms in 17 round trips, 1.05–1.54 ms in two).
    pub fn read<T, E: From<StoreError>>(&self, f: impl FnOnce(&mut dyn Reader) -> Result<T, E>) -> Result<T, E> {
        // Shared, so a query can run as a task of its own (see `PgConn::on_runtime`).
        let client = Arc::new(self.rt.block_on(self.pool.get()).map_err(StoreError::from)?);
        f(&mut PgConn::reading(&client, &self.rt, &self.hints))
    }
}

impl<'a> PgConn<'a, deadpool_postgres::Client> {
    fn reading(client: &'a Arc<deadpool_postgres::Client>, rt: &'a Handle, hints: &'a BlobHints) -> Self {
        let begin = Cell::new(Some("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
        PgConn { db: &**client, rt, begin, read: true, hints: Some(hints), shared: Some(Arc::clone(client)) }
    }
}

/// `work`, with `begin` (if any) sent before it, in the same round trip.
async fn after_begin<C: GenericClient, T>(
    db: &C,
    begin: Option<&'static str>,
    work: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, tokio_postgres::Error> {
    let Some(begin) = begin else { return work.await };
    let mut begun = std::pin::pin!(db.batch_execute(begin));
    // Polled once before `work` is, so it is queued first.
    let first = std::future::poll_fn(|cx| Poll::Ready(begun.as_mut().poll(cx))).await;
    let out = work.await;
    match first {
        Poll::Ready(begun) => begun?,
        Poll::Pending => begun.await?,
    }
    out
}

/// Sends a request without waiting for its answer: tokio-postgres queues a
/// request on the connection when its future is first polled; the answer,
/// once nobody waits for it, is read and dropped by the connection.
fn send_only<F: Future>(request: F) {
    let mut request = std::pin::pin!(request);
    let _ = request.as_mut().poll(&mut Context::from_waker(Waker::noop()));
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// A connection in a transaction: a write's (`C` = [`Transaction`]), or a
/// read's on a pooled client, whose `BEGIN` waits in `begin` to go out with
/// the first statement and which ends it when dropped.
struct PgConn<'a, C: GenericClient> {
    db: &'a C,
    rt: &'a Handle,
    begin: Cell<Option<&'static str>>,
    read: bool,
    /// A read's guesses of the blobs a graph's newest version needs.
    hints: Option<&'a BlobHints>,
    /// A read's pooled client (`db`), to lend to a task (see [`PgConn::on_runtime`]).
    shared: Option<Arc<deadpool_postgres::Client>>,
}

/// A read's transaction ends with the read, however it ends (a panic too:
/// the connection goes back to the pool, and must not stay in it).
impl<C: GenericClient> Drop for PgConn<'_, C> {
    fn drop(&mut self) {
        if self.read && self.begin.get().is_none() {
            send_only(self.db.batch_execute("ROLLBACK"));
        }
    }
}

const ENTITY_COLUMNS: &str = "kind, key, dup, from_version, to_version, ord, body";
const VERSION_COLUMNS: &str = "graph_id, version, saved_at, \"user\", source, reason, run_id, idempotency_key, graph_json, audit_json, \
    prev_hash, hash, scheme, pruned, record_digest, audit_expired";
const VERSION_COLUMNS_NO_GRAPH: &str = "graph_id, version, saved_at, \"user\", source, reason, run_id, idempotency_key, NULL::text, \
    audit_json, prev_hash, hash, scheme, pruned, record_digest, audit_expired";
/// The same, qualified by the table alias `v`, after the graph's gid.
const GID_V_COLUMNS: &str = "g.gid, v.graph_id, v.version, v.saved_at, v.\"user\", v.source, v.reason, v.run_id, v.idempotency_key, \
    NULL::text, v.audit_json, v.prev_hash, v.hash, v.scheme, v.pruned, v.record_digest, v.audit_expired";

fn entity(r: &Row) -> StoreResult<EntityRow> {
    entity_at(r, 0)
}

/// An entity row from the columns (`ENTITY_COLUMNS`) starting at `at`.
fn entity_at(r: &Row, at: usize) -> StoreResult<EntityRow> {
    let kind: i64 = r.get(at);
    Ok(EntityRow {
        kind: Kind::from_i64(kind).ok_or_else(|| StoreError::Failed(format!("unknown kind {kind}")))?,
        key: dec(r.get(at + 1)),
        dup: r.get(at + 2),
        from_version: r.get(at + 3),
        to_version: r.get(at + 4),
        ord: r.get(at + 5),
        body: r.get(at + 6),
    })
}

fn version_row(r: &Row) -> StoreResult<VersionRow> {
    version_row_at(r, 0)
}

/// A version row from the columns starting at `at`.
fn version_row_at(r: &Row, at: usize) -> StoreResult<VersionRow> {
    Ok(VersionRow {
        graph_id: dec(r.get(at)),
        version: r.get(at + 1),
        saved_at: r.get(at + 2),
        user: dec(r.get(at + 3)),
        source: dec(r.get(at + 4)),
        reason: dec_opt(r.get(at + 5)),
        run_id: dec_opt(r.get(at + 6)),
        idempotency_key: dec_opt(r.get(at + 7)),
        graph_json: r.get(at + 8),
        audit_json: crate::record_of_bytes(r.get(at + 9)),
        prev_hash: r.get(at + 10),
        hash: crate::entity::hex(r.get(at + 11)),
        scheme: r.get(at + 12),
        pruned: r.get(at + 13),
        record_digest: r.get::<_, Option<&[u8]>>(at + 14).map(crate::entity::hex),
        audit_expired: r.get(at + 15),
    })
}

/// A head from `gid, head_version, head_hash, nodes` (the first columns).
fn head_row(r: &Row) -> Head {
    Head { gid: r.get(0), version: r.get(1), hash: r.get(2), nodes: r.get(3) }
}

fn graph_version(r: &Row) -> StoreResult<GraphVersion> {
    Ok(GraphVersion { gid: r.get(0), row: version_row_at(r, 1)? })
}

impl<'a, C: GenericClient> PgConn<'a, C> {
    fn new(db: &'a C, rt: &'a Handle) -> Self {
        PgConn { db, rt, begin: Cell::new(None), read: false, hints: None, shared: None }
    }

    /// Waits for `work`, sending the pending `BEGIN` (if any) first, in the
    /// same round trip.
    fn send<T>(&self, work: impl Future<Output = Result<T, tokio_postgres::Error>>) -> StoreResult<T> {
        Ok(self.rt.block_on(after_begin(self.db, self.begin.take(), work))?)
    }

    fn query(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
        let stmt = self.rt.block_on(self.db.prepare_cached(sql))?;
        self.send(self.db.query(&stmt, args))
    }

    fn execute(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        let stmt = self.rt.block_on(self.db.prepare_cached(sql))?;
        self.send(self.db.execute(&stmt, args))
    }

    fn rows(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<EntityRow>> {
        self.query(sql, args)?.iter().map(entity).collect()
    }
}

impl<C: GenericClient> crate::decisions_pg::PgSql for PgConn<'_, C> {
    fn query(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
        PgConn::query(self, sql, args)
    }

    fn execute(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        PgConn::execute(self, sql, args)
    }

    fn batch(&self, sql: &str) -> StoreResult<()> {
        self.send(self.db.batch_execute(sql))
    }
}

/// A graph's newest version: its head, its current rows and the blobs
/// [`BlobHints`] expects them to refer to in one round trip (statements sent
/// together, pipelined, each needing only the graph's id), then any blob the
/// rows refer to that the guess lacked in a second, all in the read's
/// REPEATABLE READ transaction, so they see one state. (Finding the blobs
/// in SQL instead, from the bodies, made it one round trip without a guess
/// but cost 38 ms for a 1,000-node graph with a regular expression, 8 ms
/// splitting the bodies on the reference mark.)
const NEWEST_HEAD: &str = r#"SELECT g.gid, g.head_version, g.head_hash, g.nodes, v.graph_id, v.version, v.saved_at, v."user", v.source,
        v.reason, v.run_id, v.idempotency_key, v.graph_json, v.audit_json, v.prev_hash, v.hash, v.scheme, v.pruned, v.record_digest,
        v.audit_expired
    FROM graphs g JOIN versions v ON v.graph_id = g.graph_id AND v.version = g.head_version WHERE g.graph_id = $1"#;
/// The current rows and the blobs the guess (`$2`) names, in one statement
/// of one shape: a row's `data` is NULL; a blob's columns are NULL but
/// `body`, its hash in hex, and `data`. One statement instead of two saves
/// PostgreSQL 28 µs of a 12-node graph's 220 (pgbench, pipelined). In no
/// particular order: [`newest_parts`] sorts the rows.
const NEWEST_PARTS: &str = "SELECT kind, key, dup, from_version, to_version, ord, body, NULL::bytea FROM entities
    WHERE gid = (SELECT gid FROM graphs WHERE graph_id = $1) AND to_version IS NULL
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, encode(hash, 'hex'), data FROM blobs
    WHERE gid = (SELECT gid FROM graphs WHERE graph_id = $1) AND hash = ANY($2)";
const BLOBS: &str = "SELECT hash, data FROM blobs WHERE gid = $1 AND hash = ANY($2)";

/// Blob texts by hash (hex) from rows of `(hash, data)`.
fn blob_texts(rows: &[Row]) -> HashMap<String, String> {
    rows.iter().filter_map(|r| Some((crate::entity::hex(r.get::<_, &[u8]>(0)), decompress(r.get::<_, &[u8]>(1))?))).collect()
}

/// The blobs `rows` refer to, as sorted, distinct hashes (hex). A body
/// without the reference mark (every edge, as a rule) is not parsed, as
/// [`crate::entity::assemble`] does not parse it either: 2,000 edges' parse
/// was 0.5 ms of a 1,000-node graph's read.
fn referenced(rows: &[EntityRow]) -> StoreResult<Vec<String>> {
    let mut hashes = Vec::new();
    for row in rows.iter().filter(|r| r.body.contains("\\u0001")) {
        hashes.extend(crate::entity::references(&row.body).map_err(StoreError::Failed)?);
    }
    hashes.sort_unstable();
    hashes.dedup();
    Ok(hashes)
}

/// The first round trip of [`Reader::newest`]: the head, and the rows with
/// the blobs `guess` names ([`NEWEST_PARTS`]).
async fn newest_first<C: GenericClient>(db: &C, id: &str, guess: &Vec<Vec<u8>>) -> Result<(Vec<Row>, Vec<Row>), tokio_postgres::Error> {
    let (head, parts) = tokio::try_join!(db.prepare_cached(NEWEST_HEAD), db.prepare_cached(NEWEST_PARTS))?;
    let (args, parts_args): ([&(dyn ToSql + Sync); 1], [&(dyn ToSql + Sync); 2]) = ([&id], [&id, guess]);
    tokio::try_join!(db.query(&head, &args), db.query(&parts, &parts_args))
}

/// The rows (ordered by kind and position) and the blob texts by hash
/// (hex) of the answer to [`NEWEST_PARTS`].
fn newest_parts<'r>(parts: impl IntoIterator<Item = &'r Row>) -> StoreResult<(Vec<EntityRow>, HashMap<String, String>)> {
    let (mut rows, mut blobs) = (Vec::new(), HashMap::new());
    for part in parts {
        match part.get::<_, Option<&[u8]>>(7) {
            Some(data) => {
                if let Some(text) = decompress(data) {
                    blobs.insert(part.get(6), text);
                }
            }
            None => rows.push(entity(part)?),
        }
    }
    rows.sort_by_key(|r| (r.kind, r.ord));
    Ok((rows, blobs))
}

impl<C: GenericClient> PgConn<'_, C> {
    /// Runs `work` as a task on the runtime, beside the connection's own
    /// task, and waits for it. Driven from this (blocking) thread instead,
    /// every buffer of the answer (8 KB) the connection's task reads wakes
    /// this thread, and the driver's channel (one buffer deep) makes the
    /// connection wait for it in turn: ~300 hand-overs between threads for
    /// a 1,000-node graph's 2.4 MB, each a futex wake and a context switch
    /// (a quarter of the server's CPU time in `perf`); between two tasks of
    /// the runtime they are mostly a poll.
    fn on_runtime<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, tokio_postgres::Error>> + Send + 'static,
    ) -> StoreResult<T> {
        match self.rt.block_on(self.rt.spawn(work)) {
            Ok(out) => Ok(out?),
            Err(e) => Err(StoreError::Failed(format!("query task: {e}"))),
        }
    }

    /// The blobs with these hashes (hex) of graph `gid`.
    fn blobs(&self, gid: i64, hashes: &[&String]) -> StoreResult<HashMap<String, String>> {
        let hashes: Vec<Vec<u8>> = hashes.iter().map(|h| hash_bytes(h)).collect();
        let stmt = self.rt.block_on(self.db.prepare_cached(BLOBS))?;
        let args: [&(dyn ToSql + Sync); 2] = [&gid, &hashes];
        Ok(blob_texts(&self.send(self.db.query(&stmt, &args))?))
    }
}

impl<C: GenericClient> PgConn<'_, C> {
    /// [`Reader::newest`] as the read's only statement, outside a
    /// transaction (see [`crate::pg_newest`]): `None` if the rows refer to a
    /// blob `guess` lacks, for the caller to read in a transaction instead.
    fn newest_alone(
        &self,
        client: &Arc<deadpool_postgres::Client>,
        graph_id: &str,
        guess: &Arc<Vec<Vec<u8>>>,
    ) -> StoreResult<Option<Option<Newest>>> {
        let (client, id, sent) = (Arc::clone(client), enc(graph_id).into_owned(), Arc::clone(guess));
        let answer = self.on_runtime(async move {
            let stmt = client.prepare_cached(pg_newest::NEWEST).await?;
            let args: [&(dyn ToSql + Sync); 2] = [&id, &*sent];
            client.query(&stmt, &args).await
        })?;
        let Some(at) = answer.iter().position(pg_newest::is_head) else { return Ok(Some(None)) };
        let (head, version) = pg_newest::head_of(&answer[at]).map_err(StoreError::Failed)?;
        let (rows, mut blobs) = newest_parts(answer.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, r)| r))?;
        let wanted = referenced(&rows)?;
        self.remember_blobs(graph_id, &wanted, guess);
        if wanted.iter().any(|h| !blobs.contains_key(h)) {
            return Ok(None);
        }
        blobs.retain(|hash, _| wanted.binary_search(hash).is_ok());
        Ok(Some(Some(Newest { head, version, rows, blobs })))
    }

    /// Keeps the blobs a graph's current rows refer to (`wanted`, sorted)
    /// as the guess for its next read, unless the guess (`guess`) is that
    /// already: a guess that lacked some, or named blobs no row refers to
    /// any more, would cost every later read a round trip, or blobs fetched
    /// for nothing.
    fn remember_blobs(&self, graph_id: &str, wanted: &[String], guess: &[Vec<u8>]) {
        let Some(hints) = self.hints else { return };
        let hashes: Vec<Vec<u8>> = wanted.iter().map(|h| hash_bytes(h)).collect();
        if hashes != guess {
            hints.set(graph_id, hashes);
        }
    }
}

impl<C: GenericClient> Reader for PgConn<'_, C> {
    fn newest(&mut self, graph_id: &str) -> StoreResult<Option<Newest>> {
        let guess = self.hints.and_then(|hints| hints.get(graph_id)).unwrap_or_default();
        // The read's first statement: alone, it needs no transaction.
        if let (true, Some(client)) = (self.begin.get().is_some(), &self.shared) {
            if let Some(found) = self.newest_alone(client, graph_id, &guess)? {
                return Ok(found);
            }
        }
        // (The guess again: a statement alone that missed has corrected it.)
        let guess = self.hints.and_then(|hints| hints.get(graph_id)).unwrap_or_default();
        let id = enc(graph_id).into_owned();
        let (head, parts) = match &self.shared {
            Some(client) => {
                let (client, begin, guess) = (Arc::clone(client), self.begin.take(), Arc::clone(&guess));
                self.on_runtime(async move { after_begin(&*client, begin, newest_first(&*client, &id, &guess)).await })?
            }
            None => self.send(newest_first(self.db, &id, &guess))?,
        };
        let Some(h) = head.first() else { return Ok(None) };
        let head = head_row(h);
        let (rows, mut blobs) = newest_parts(parts.iter())?;
        let wanted = referenced(&rows)?;
        let missing: Vec<&String> = wanted.iter().filter(|h| !blobs.contains_key(*h)).collect();
        if !missing.is_empty() {
            blobs.extend(self.blobs(head.gid, &missing)?);
        }
        // A stale guess fetched blobs these rows no longer refer to.
        blobs.retain(|hash, _| wanted.binary_search(hash).is_ok());
        self.remember_blobs(graph_id, &wanted, &guess);
        Ok(Some(Newest { head, version: version_row_at(h, 4)?, rows, blobs }))
    }

    fn head(&mut self, graph_id: &str) -> StoreResult<Option<Head>> {
        let rows = self.query("SELECT gid, head_version, head_hash, nodes FROM graphs WHERE graph_id = $1", &[&enc(graph_id)])?;
        Ok(rows.first().map(head_row))
    }

    fn graphs(&mut self) -> StoreResult<Vec<GraphSummary>> {
        let rows = self.query("SELECT graph_id, head_version, title, nodes, saved_at, saved_by FROM graphs ORDER BY graph_id", &[])?;
        Ok(rows
            .iter()
            .map(|r| GraphSummary {
                graph_id: dec(r.get(0)),
                version: r.get(1),
                title: dec_opt(r.get(2)),
                nodes: r.get(3),
                saved_at: r.get(4),
                saved_by: dec(r.get(5)),
            })
            .collect())
    }

    fn rows_at(&mut self, gid: i64, version: Option<i64>) -> StoreResult<Vec<EntityRow>> {
        match version {
            None => self
                .rows(&format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = $1 AND to_version IS NULL ORDER BY kind, ord"), &[&gid]),
            Some(v) => {
                let mut rows = self.rows(
                    &format!(
                        "SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = $1 AND kind <> 1 AND from_version <= $2 AND (to_version IS NULL OR to_version > $2)
                         UNION ALL {}",
                        METADATA_AT.as_str()
                    ),
                    &[&gid, &v],
                )?;
                rows.sort_unstable_by_key(|r| (r.kind, r.ord));
                entity_patch::whole_rows(self, gid, rows, false)
            }
        }
    }

    fn live(&mut self, gid: i64, kind: Kind, key: &str) -> StoreResult<Vec<EntityRow>> {
        self.rows(
            &format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = $1 AND kind = $2 AND key = $3 AND to_version IS NULL ORDER BY ord"),
            &[&gid, &(kind as i64), &enc(key)],
        )
    }

    fn edges_at(&mut self, gid: i64, node: &str) -> StoreResult<Vec<String>> {
        let rows = self.query(
            "SELECT key FROM entities WHERE gid = $1 AND src = $2 AND to_version IS NULL
             UNION ALL SELECT key FROM entities WHERE gid = $1 AND dst = $2 AND to_version IS NULL",
            &[&gid, &enc(node)],
        )?;
        Ok(rows.iter().map(|r| dec(r.get(0))).collect())
    }

    fn max_ord(&mut self, gid: i64, kind: Kind) -> StoreResult<Option<i64>> {
        let rows =
            self.query("SELECT MAX(ord) FROM entities WHERE gid = $1 AND kind = $2 AND to_version IS NULL", &[&gid, &(kind as i64)])?;
        Ok(rows.first().and_then(|r| r.get(0)))
    }

    fn max_dup(&mut self, gid: i64, key: &str) -> StoreResult<Option<i64>> {
        let rows = self
            .query("SELECT MAX(dup) FROM entities WHERE gid = $1 AND kind = 3 AND key = $2 AND to_version IS NULL", &[&gid, &enc(key)])?;
        Ok(rows.first().and_then(|r| r.get(0)))
    }

    fn rows_changed_by(&mut self, gid: i64, version: i64) -> StoreResult<(Vec<EntityRow>, Vec<EntityRow>)> {
        let opened = self.rows(
            &format!(
                "SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = $1 AND kind <> 1 AND from_version = $2
                 UNION ALL
                 SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = $1 AND kind = 1 AND key = '' AND dup = 0 AND from_version = $2"
            ),
            &[&gid, &version],
        )?;
        let closed = self.rows(
            &format!(
                "SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = $1 AND kind <> 1 AND to_version = $2
                 UNION ALL
                 SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = $1 AND kind = 1 AND key = '' AND dup = 0 AND to_version = $2
                   AND from_version = (SELECT MAX(from_version) FROM entities
                                       WHERE gid = $1 AND kind = 1 AND key = '' AND dup = 0 AND from_version < $2)"
            ),
            &[&gid, &version],
        )?;
        Ok((entity_patch::whole_rows(self, gid, opened, false)?, entity_patch::whole_rows(self, gid, closed, false)?))
    }

    fn rows_ended_by(&mut self, gid: i64, version: i64) -> StoreResult<Vec<EntityRow>> {
        let rows = self.rows(
            &format!(
                "SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = $1 AND kind <> 1 AND to_version IS NOT NULL AND to_version <= $2
                 UNION ALL
                 SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = $1 AND kind = 1 AND key = '' AND dup = 0 AND to_version <= $2"
            ),
            &[&gid, &version],
        )?;
        entity_patch::whole_rows(self, gid, rows, false)
    }

    fn all_rows(&mut self, gid: i64) -> StoreResult<Vec<EntityRow>> {
        let rows = self.rows(&format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = $1"), &[&gid])?;
        Ok(entity_patch::rows_to_verify(rows))
    }

    fn newer_rows(&mut self, gid: i64, parts: &[(Kind, String, i64, i64)]) -> StoreResult<Vec<EntityRow>> {
        // All parts in one round trip, each a seek on the primary key.
        let kinds: Vec<i64> = parts.iter().map(|p| p.0 as i64).collect();
        let keys: Vec<String> = parts.iter().map(|p| enc(&p.1).into_owned()).collect();
        let dups: Vec<i64> = parts.iter().map(|p| p.2).collect();
        let since: Vec<i64> = parts.iter().map(|p| p.3).collect();
        self.rows(
            "SELECT e.kind, e.key, e.dup, e.from_version, e.to_version, e.ord, e.body
             FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) AS p(p_kind, p_key, p_dup, p_since)
             CROSS JOIN LATERAL (SELECT * FROM entities e WHERE e.gid = $1 AND e.kind = p.p_kind AND e.key = p.p_key AND e.dup = p.p_dup
                                   AND e.from_version >= p.p_since ORDER BY e.from_version LIMIT $6) e",
            &[&gid, &kinds, &keys, &dups, &since, &(entity_patch::MAX_DEPTH as i64)],
        )
    }

    fn patch_depth(&mut self, gid: i64, kind: Kind, key: &str, dup: i64, version: i64) -> StoreResult<u32> {
        let rows = self.query(
            "SELECT substr(body, 1, 12) FROM entities WHERE gid = $1 AND kind = $2 AND key = $3 AND dup = $4 AND from_version < $5
               AND to_version = $5 ORDER BY from_version DESC LIMIT 1",
            &[&gid, &(kind as i64), &enc(key), &dup, &version],
        )?;
        Ok(rows.first().map_or(0, |r| entity_patch::depth(r.get(0))))
    }

    fn stored_ends(&mut self, gid: i64) -> StoreResult<StoredEnds> {
        let rows = self.query(
            "SELECT kind, key, dup, from_version, src, dst FROM entities WHERE gid = $1 AND (kind = 3 OR src IS NOT NULL OR dst IS NOT NULL)",
            &[&gid],
        )?;
        Ok(rows.iter().map(|r| ((r.get(0), dec(r.get(1)), r.get(2), r.get(3)), (dec_opt(r.get(4)), dec_opt(r.get(5))))).collect())
    }

    fn blob(&mut self, gid: i64, hash: &str) -> StoreResult<Option<String>> {
        let rows = self.query("SELECT data FROM blobs WHERE gid = $1 AND hash = $2", &[&gid, &hash_bytes(hash)])?;
        Ok(rows.first().and_then(|r| decompress(r.get::<_, &[u8]>(0))))
    }

    fn blob_hashes(&mut self, gid: i64) -> StoreResult<Vec<String>> {
        let rows = self.query("SELECT hash FROM blobs WHERE gid = $1", &[&gid])?;
        Ok(rows.iter().map(|r| crate::entity::hex(r.get::<_, &[u8]>(0))).collect())
    }

    fn version(&mut self, graph_id: &str, version: i64) -> StoreResult<Option<VersionRow>> {
        let rows = self
            .query(&format!("SELECT {VERSION_COLUMNS} FROM versions WHERE graph_id = $1 AND version = $2"), &[&enc(graph_id), &version])?;
        rows.first().map(version_row).transpose()
    }

    fn by_idempotency_key(&mut self, graph_id: &str, key: &str) -> StoreResult<Option<KeyUse>> {
        let rows = self.query(
            "SELECT version, \"user\", request_hash FROM versions WHERE graph_id = $1 AND idempotency_key = $2",
            &[&enc(graph_id), &enc(key)],
        )?;
        Ok(rows.first().map(|r| KeyUse {
            version: r.get(0),
            user: dec(r.get(1)),
            request_hash: r.get::<_, Option<&[u8]>>(2).map(crate::entity::hex),
        }))
    }

    fn owner(&mut self, graph_id: &str) -> StoreResult<Option<String>> {
        let rows = self.query("SELECT owner FROM graphs WHERE graph_id = $1", &[&enc(graph_id)])?;
        Ok(rows.first().and_then(|r| dec_opt(r.get(0))))
    }

    fn grants(&mut self, graph_id: &str) -> StoreResult<Vec<Grant>> {
        let rows = self.query(
            "SELECT member, role, granted_by, granted_at FROM graph_access WHERE graph_id = $1 ORDER BY member",
            &[&enc(graph_id)],
        )?;
        Ok(rows.iter().map(|r| Grant { user: dec(r.get(0)), role: r.get(1), granted_by: dec(r.get(2)), granted_at: r.get(3) }).collect())
    }

    fn granted_to(&mut self, user: &str) -> StoreResult<Vec<(String, String)>> {
        let rows = self.query("SELECT graph_id, role FROM graph_access WHERE member = $1", &[&enc(user)])?;
        Ok(rows.iter().map(|r| (dec(r.get(0)), r.get(1))).collect())
    }

    fn owned_by(&mut self, user: &str) -> StoreResult<Vec<String>> {
        Ok(self.query("SELECT graph_id FROM graphs WHERE owner = $1", &[&enc(user)])?.iter().map(|r| dec(r.get(0))).collect())
    }

    fn all_versions(&mut self, graph_id: &str) -> StoreResult<Vec<VersionRow>> {
        self.query(&format!("SELECT {VERSION_COLUMNS} FROM versions WHERE graph_id = $1 ORDER BY version"), &[&enc(graph_id)])?
            .iter()
            .map(version_row)
            .collect()
    }

    fn history(&mut self, graph_id: &str) -> StoreResult<Vec<VersionRow>> {
        self.query(
            &format!("SELECT {VERSION_COLUMNS_NO_GRAPH} FROM versions WHERE graph_id = $1 ORDER BY version DESC"),
            &[&enc(graph_id)],
        )?
        .iter()
        .map(version_row)
        .collect()
    }

    fn digestless_before(&mut self, cutoff: &str, limit: i64) -> StoreResult<Vec<VersionRow>> {
        self.query(
            &format!(
                "SELECT {VERSION_COLUMNS_NO_GRAPH} FROM versions
                     WHERE saved_at < $1 AND scheme >= 3 AND NOT audit_expired AND record_digest IS NULL LIMIT $2"
            ),
            &[&cutoff, &limit],
        )?
        .iter()
        .map(version_row)
        .collect()
    }

    fn audit(&mut self, graph_id: &str, gid: Option<i64>, filter: &AuditFilter) -> StoreResult<(i64, Vec<VersionRow>)> {
        let condition = "graph_id = $1
            AND ($2::text IS NULL OR version IN (
                SELECT from_version FROM entities WHERE gid = $5 AND kind = 2 AND key = $2
                UNION SELECT to_version FROM entities WHERE gid = $5 AND kind = 2 AND key = $2 AND to_version IS NOT NULL))
            AND ($3::text IS NULL OR \"user\" = $3)
            AND ($4::text IS NULL OR run_id = $4)
            AND ($6::text IS NULL OR saved_at >= $6)
            AND ($7::text IS NULL OR saved_at < $7)";
        let (graph_id, node_id, user, run_id) = (enc(graph_id), enc_opt(&filter.node_id), enc_opt(&filter.user), enc_opt(&filter.run_id));
        let args: [&(dyn ToSql + Sync); 7] = [&graph_id, &node_id, &user, &run_id, &gid, &filter.from, &filter.to];
        let total: i64 = self.query(&format!("SELECT COUNT(*) FROM versions WHERE {condition}"), &args)?.first().map_or(0, |r| r.get(0));
        let paged: [&(dyn ToSql + Sync); 9] =
            [&graph_id, &node_id, &user, &run_id, &gid, &filter.from, &filter.to, &filter.limit, &filter.offset];
        let rows = self.query(
            &format!("SELECT {VERSION_COLUMNS_NO_GRAPH} FROM versions WHERE {condition} ORDER BY version DESC LIMIT $8 OFFSET $9"),
            &paged,
        )?;
        Ok((total, rows.iter().map(version_row).collect::<StoreResult<_>>()?))
    }

    fn pruned_leaves(&mut self, graph_id: &str) -> StoreResult<HashMap<i64, Vec<String>>> {
        let mut out: HashMap<i64, Vec<String>> = HashMap::new();
        for r in self.query("SELECT version, leaf FROM pruned_leaves WHERE graph_id = $1", &[&enc(graph_id)])? {
            out.entry(r.get(0)).or_default().push(r.get(1));
        }
        Ok(out)
    }

    fn sweep_counters(&mut self, gid: i64) -> StoreResult<(i64, i64)> {
        let rows = self.query("SELECT swept_rows, nodes FROM graphs WHERE gid = $1", &[&gid])?;
        rows.first().map(|r| (r.get(0), r.get(1))).ok_or_else(|| StoreError::Failed(format!("no graph {gid}")))
    }

    fn entity_history(&mut self, gid: i64, kind: Kind, key: &str) -> StoreResult<Vec<EntityRow>> {
        let rows = self.rows(
            &format!("SELECT {ENTITY_COLUMNS} FROM entities WHERE gid = $1 AND kind = $2 AND key = $3 ORDER BY dup, from_version"),
            &[&gid, &(kind as i64), &enc(key)],
        )?;
        entity_patch::whole_rows(self, gid, rows, true)
    }

    fn versions_in(&mut self, graph_id: &str, versions: &[i64]) -> StoreResult<Vec<VersionRow>> {
        self.query(
            &format!("SELECT {VERSION_COLUMNS_NO_GRAPH} FROM versions WHERE graph_id = $1 AND version = ANY($2) ORDER BY version"),
            &[&enc(graph_id), &versions],
        )?
        .iter()
        .map(version_row)
        .collect()
    }

    fn run_versions(&mut self, run_id: &str) -> StoreResult<Vec<GraphVersion>> {
        self.query(
            &format!(
                "SELECT {GID_V_COLUMNS} FROM versions v JOIN graphs g ON g.graph_id = v.graph_id
                     WHERE v.run_id = $1 ORDER BY v.saved_at, v.graph_id, v.version"
            ),
            &[&enc(run_id)],
        )?
        .iter()
        .map(graph_version)
        .collect()
    }

    fn export_page(&mut self, f: &ExportFilter, after: (&str, i64), limit: i64) -> StoreResult<Vec<GraphVersion>> {
        let (graph_id, node_id, user, run_id, after_id) =
            (enc_opt(&f.graph_id), enc_opt(&f.node_id), enc_opt(&f.user), enc_opt(&f.run_id), enc(after.0));
        self.query(
            &format!(
                "SELECT {GID_V_COLUMNS} FROM versions v JOIN graphs g ON g.graph_id = v.graph_id
                     WHERE ($1::text IS NULL OR v.graph_id = $1)
                       AND ($3::text IS NULL OR v.\"user\" = $3)
                       AND ($4::text IS NULL OR v.run_id = $4)
                       AND ($5::text IS NULL OR v.saved_at >= $5)
                       AND ($6::text IS NULL OR v.saved_at < $6)
                       AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM entities e WHERE e.gid = g.gid AND e.kind = 2 AND e.key = $2
                                                       AND (e.from_version = v.version OR e.to_version = v.version)))
                       AND (v.graph_id, v.version) > ($7, $8)
                     ORDER BY v.graph_id, v.version LIMIT $9"
            ),
            &[&graph_id, &node_id, &user, &run_id, &f.from, &f.to, &after_id, &after.1, &limit],
        )?
        .iter()
        .map(graph_version)
        .collect()
    }

    fn pseudonym(&mut self, person: &str) -> StoreResult<Option<String>> {
        Ok(self.query("SELECT pseudonym FROM people WHERE person = $1", &[&enc(person)])?.first().map(|r| r.get(0)))
    }

    fn pseudonyms(&mut self) -> StoreResult<HashMap<String, String>> {
        Ok(self
            .query("SELECT person, pseudonym FROM people WHERE person IS NOT NULL", &[])?
            .iter()
            .map(|r| (dec(r.get(0)), r.get(1)))
            .collect())
    }

    fn events(&mut self) -> StoreResult<Vec<Event>> {
        Ok(self
            .query("SELECT seq, at, kind, actor, detail, hash FROM events ORDER BY seq", &[])?
            .iter()
            .map(|r| Event { seq: r.get(0), at: r.get(1), kind: r.get(2), actor: dec(r.get(3)), detail: r.get(4), hash: r.get(5) })
            .collect())
    }

    fn parts_containing(&mut self, text: &str) -> StoreResult<Vec<(i64, i64, EntityRow)>> {
        let parts = self
            .query(
                "SELECT e.gid, v.scheme, e.kind, e.key, e.dup, e.from_version, e.to_version, e.ord, e.body
                 FROM entities e JOIN graphs g ON g.gid = e.gid JOIN versions v ON v.graph_id = g.graph_id AND v.version = e.from_version
                 WHERE strpos(e.body, $1) > 0",
                &[&text],
            )?
            .iter()
            .map(|r| Ok((r.get(0), r.get(1), entity_at(r, 2)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        entity_patch::whole_parts(self, parts)
    }

    fn old_versions_by(&mut self, person: &str) -> StoreResult<i64> {
        Ok(self.query("SELECT COUNT(*) FROM versions WHERE \"user\" = $1 AND scheme < 3", &[&enc(person)])?.first().map_or(0, |r| r.get(0)))
    }

    fn stats(&mut self) -> StoreResult<Stats> {
        Stats::count("SELECT version FROM kg_schema", "SELECT COALESCE(SUM(length(data)), 0)::bigint FROM blobs", |sql| {
            Ok(self.query(sql, &[])?.first().map_or(0, |r| r.get(0)))
        })
    }

    fn newest_saved_at(&mut self, n: i64) -> StoreResult<Option<String>> {
        Ok(self.query("SELECT saved_at FROM versions ORDER BY saved_at DESC LIMIT 1 OFFSET $1", &[&(n - 1)])?.first().map(|r| r.get(0)))
    }

    fn database_version(&mut self) -> StoreResult<String> {
        Ok(self.query("SELECT version()", &[])?.first().map(|r| r.get(0)).unwrap_or_default())
    }

    fn decision_stats(&mut self, dims: &[Dim], span: Option<Span>, filter: &StatsFilter) -> StoreResult<Vec<DayStats>> {
        crate::decisions_pg::stats(&*self, dims, span, filter)
    }
}

impl Writer for PgConn<'_, Transaction<'_>> {
    fn lock_graph(&mut self, graph_id: &str) -> StoreResult<()> {
        self.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&enc(graph_id)])?;
        Ok(())
    }

    fn insert_graph(&mut self, graph_id: &str, s: &GraphSummary, hash: &str) -> StoreResult<i64> {
        let rows = self.query(
            "INSERT INTO graphs (graph_id, head_version, head_hash, title, nodes, saved_at, saved_by, owner) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING gid",
            &[&enc(graph_id), &s.version, &hash, &enc_opt(&s.title), &s.nodes, &s.saved_at, &enc(&s.saved_by)],
        )?;
        rows.first().map(|r| r.get(0)).ok_or_else(|| StoreError::Failed("no gid returned".to_owned()))
    }

    fn update_graph(&mut self, gid: i64, s: &GraphSummary, hash: &str) -> StoreResult<()> {
        self.execute(
            "UPDATE graphs SET head_version = $2, head_hash = $3, title = $4, nodes = $5, saved_at = $6, saved_by = $7 WHERE gid = $1",
            &[&gid, &s.version, &hash, &enc_opt(&s.title), &s.nodes, &s.saved_at, &enc(&s.saved_by)],
        )?;
        Ok(())
    }

    fn set_swept_rows(&mut self, gid: i64, rows: i64) -> StoreResult<()> {
        self.execute("UPDATE graphs SET swept_rows = $2 WHERE gid = $1", &[&gid, &rows])?;
        Ok(())
    }

    fn insert_entity(&mut self, gid: i64, row: &EntityRow) -> StoreResult<()> {
        let (src, dst) = if row.kind == Kind::Edge { crate::entity::edge_ends(&row.body) } else { (None, None) };
        let (src, dst) = (enc_opt(&src), enc_opt(&dst));
        self.execute(
            "INSERT INTO entities (gid, kind, key, dup, from_version, to_version, ord, body, src, dst) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[&gid, &(row.kind as i64), &enc(&row.key), &row.dup, &row.from_version, &row.to_version, &row.ord, &row.body, &src, &dst],
        )?;
        Ok(())
    }

    fn close_entity(&mut self, gid: i64, kind: Kind, key: &str, dup: i64, version: i64, patch: Option<&str>) -> StoreResult<bool> {
        let n = self.execute(
            "UPDATE entities SET to_version = $5, body = coalesce($6, body)
             WHERE gid = $1 AND kind = $2 AND key = $3 AND dup = $4 AND to_version IS NULL",
            &[&gid, &(kind as i64), &enc(key), &dup, &version, &patch],
        )?;
        Ok(n == 1)
    }

    fn delete_entity(&mut self, gid: i64, row: &EntityRow) -> StoreResult<()> {
        self.execute(
            "DELETE FROM entities WHERE gid = $1 AND kind = $2 AND key = $3 AND dup = $4 AND from_version = $5",
            &[&gid, &(row.kind as i64), &enc(&row.key), &row.dup, &row.from_version],
        )?;
        Ok(())
    }

    fn insert_blob(&mut self, gid: i64, hash: &str, text: &str) -> StoreResult<()> {
        self.execute(
            "INSERT INTO blobs (gid, hash, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&gid, &hash_bytes(hash), &compress(text)],
        )?;
        Ok(())
    }

    fn delete_blob(&mut self, gid: i64, hash: &str) -> StoreResult<()> {
        self.execute("DELETE FROM blobs WHERE gid = $1 AND hash = $2", &[&gid, &hash_bytes(hash)])?;
        Ok(())
    }

    fn put_grant(&mut self, graph_id: &str, g: &Grant) -> StoreResult<()> {
        self.execute(
            "INSERT INTO graph_access (graph_id, member, role, granted_by, granted_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (graph_id, member) DO UPDATE SET role = excluded.role, granted_by = excluded.granted_by, granted_at = excluded.granted_at",
            &[&enc(graph_id), &enc(&g.user), &g.role, &enc(&g.granted_by), &g.granted_at],
        )?;
        Ok(())
    }

    fn delete_grant(&mut self, graph_id: &str, user: &str) -> StoreResult<bool> {
        Ok(self.execute("DELETE FROM graph_access WHERE graph_id = $1 AND member = $2", &[&enc(graph_id), &enc(user)])? > 0)
    }

    fn insert_version(&mut self, v: &VersionRow, request_hash: Option<&str>) -> StoreResult<()> {
        self.execute(
            &format!(
                "INSERT INTO versions ({VERSION_COLUMNS}, request_hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
            ),
            &[
                &enc(&v.graph_id),
                &v.version,
                &v.saved_at,
                &enc(&v.user),
                &enc(&v.source),
                &enc_opt(&v.reason),
                &enc_opt(&v.run_id),
                &enc_opt(&v.idempotency_key),
                &v.graph_json,
                &packed::stored_bytes(v.record_to_write()?, Dictionary::Record),
                &v.prev_hash,
                &stored_digest(&v.hash),
                &v.scheme,
                &v.pruned,
                &v.record_digest.as_deref().map(stored_digest),
                &v.audit_expired,
                &request_hash.map(stored_fingerprint),
            ],
        )?;
        Ok(())
    }

    fn mark_pruned(&mut self, graph_id: &str, cutoff: i64) -> StoreResult<()> {
        self.execute(
            "UPDATE versions SET pruned = TRUE, graph_json = NULL WHERE graph_id = $1 AND version <= $2 AND NOT pruned",
            &[&enc(graph_id), &cutoff],
        )?;
        Ok(())
    }

    fn headless_graphs(&mut self) -> StoreResult<Vec<String>> {
        let rows = self
            .query("SELECT DISTINCT graph_id FROM versions WHERE graph_id NOT IN (SELECT graph_id FROM graphs) ORDER BY graph_id", &[])?;
        Ok(rows.iter().map(|r| dec(r.get::<_, String>(0))).collect())
    }

    fn mark_version_pruned(&mut self, graph_id: &str, version: i64) -> StoreResult<()> {
        self.execute("UPDATE versions SET pruned = TRUE WHERE graph_id = $1 AND version = $2", &[&enc(graph_id), &version])?;
        Ok(())
    }

    fn drop_snapshot(&mut self, graph_id: &str, version: i64) -> StoreResult<()> {
        self.execute("UPDATE versions SET graph_json = NULL WHERE graph_id = $1 AND version = $2", &[&enc(graph_id), &version])?;
        Ok(())
    }

    fn insert_pruned_leaf(&mut self, graph_id: &str, version: i64, leaf: &str) -> StoreResult<()> {
        self.execute("INSERT INTO pruned_leaves (graph_id, version, leaf) VALUES ($1, $2, $3)", &[&enc(graph_id), &version, &leaf])?;
        Ok(())
    }

    fn insert_pseudonym(&mut self, person: &str, pseudonym: &str, at: &str) -> StoreResult<()> {
        self.execute(
            "INSERT INTO people (pseudonym, person, first_seen) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&pseudonym, &enc(person), &at],
        )?;
        Ok(())
    }

    fn erase_person(&mut self, person: &str, pseudonym: &str, at: &str) -> StoreResult<Erased> {
        let (person, pseudonym) = (enc(person), enc(pseudonym));
        let versions = self.execute("UPDATE versions SET \"user\" = $2 WHERE \"user\" = $1", &[&person, &pseudonym])?;
        let graphs = self.execute(
            "UPDATE graphs SET saved_by = CASE WHEN saved_by = $1 THEN $2 ELSE saved_by END,
                               owner = CASE WHEN owner = $1 THEN $2 ELSE owner END
             WHERE saved_by = $1 OR owner = $1",
            &[&person, &pseudonym],
        )?;
        let grants = self.execute("UPDATE graph_access SET member = $2 WHERE member = $1", &[&person, &pseudonym])?
            + self.execute("UPDATE graph_access SET granted_by = $2 WHERE granted_by = $1", &[&person, &pseudonym])?;
        self.execute("UPDATE people SET person = NULL, erased_at = $3 WHERE pseudonym = $2 AND person = $1", &[&person, &pseudonym, &at])?;
        crate::decisions_pg::rename_user(&*self, &dec(person.into_owned()), &dec(pseudonym.into_owned()))?;
        Ok(Erased { versions, parts: 0, graphs, grants })
    }

    fn set_body(&mut self, gid: i64, row: &EntityRow, body: &str) -> StoreResult<()> {
        self.execute(
            "UPDATE entities SET body = $6 WHERE gid = $1 AND kind = $2 AND key = $3 AND dup = $4 AND from_version = $5",
            &[&gid, &(row.kind as i64), &enc(&row.key), &row.dup, &row.from_version, &body],
        )?;
        Ok(())
    }

    fn expire_audit(&mut self, cutoff: &str) -> StoreResult<u64> {
        crate::decisions_pg::expire(&*self, cutoff)?;
        let n = self.execute(
            "UPDATE versions SET audit_expired = TRUE, \"user\" = '', source = '', reason = NULL, run_id = NULL, idempotency_key = NULL,
                 audit_json = convert_to('{}', 'UTF8'), request_hash = NULL
             WHERE scheme >= 3 AND NOT audit_expired AND saved_at < $1",
            &[&cutoff],
        )?;
        // The head names who saved the newest version too (the listing's updatedBy).
        self.execute(
            "UPDATE graphs SET saved_by = '' WHERE saved_by <> '' AND EXISTS (SELECT 1 FROM versions v
                 WHERE v.graph_id = graphs.graph_id AND v.version = graphs.head_version AND v.audit_expired)",
            &[],
        )?;
        Ok(n)
    }

    fn keep_record_digest(&mut self, graph_id: &str, version: i64, digest: &str) -> StoreResult<()> {
        self.execute(
            "UPDATE versions SET record_digest = $3 WHERE graph_id = $1 AND version = $2",
            &[&enc(graph_id), &version, &stored_digest(digest)],
        )?;
        Ok(())
    }

    fn append_event(&mut self, e: &Event) -> StoreResult<()> {
        self.execute(
            "INSERT INTO events (seq, at, kind, actor, detail, hash) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&e.seq, &e.at, &e.kind, &enc(&e.actor), &e.detail, &e.hash],
        )?;
        Ok(())
    }

    fn insert_decisions(&mut self, approval: &Approval, rows: &[Decided]) -> StoreResult<()> {
        crate::decisions_pg::insert(&*self, approval, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::{dec, enc};

    #[test]
    fn text_with_nul_and_backslashes_comes_back_as_it_was() {
        for text in ["plain", "x\0y", "a\\0b", "\\", "\0", "ends\\", "\\\\0\0"] {
            let stored = enc(text).into_owned();
            assert!(!stored.contains('\0'), "{text:?}");
            assert_eq!(dec(stored), text);
        }
    }
}
