//! What erasing in the bytes costs (issue 22): a save's time with SQLite's
//! `secure_delete` off and on, and an erasure's time (its scrub: SQLite's
//! `VACUUM` and WAL truncation, PostgreSQL's `VACUUM (FULL, ANALYZE)` of the
//! tables that name people) on a graph of NODES nodes with VERSIONS versions,
//! each relabelling CHANGED nodes.
//!
//! `cargo run --release -p kg-approval-server --example erasure_cost -- [NODES VERSIONS CHANGED] [--db POSTGRES_URL]`

use std::time::{Duration, Instant};

use kg_approval::{Graph, Timestamp};
use kg_history::erase;
use kg_history::save::{SaveBody, compare, save};
use kg_history::store::sqlite::SqliteConn;
use kg_history::write::{ClientAudit, NewVersion, SaveContext, title_of, write_version};
use serde_json::{Value, json};

const ID: &str = "0b9f4c1e-6a2d-4f3b-8c7e-1d2a3b4c5d6e";
const PEOPLE: [&str; 4] = ["ann@example.com", "bob@example.com", "carol@example.com", "dave@example.com"];

/// Version `v` of the graph: `changed` nodes relabelled by one of four people.
fn graph(nodes: usize, changed: usize, v: usize) -> Value {
    let who = PEOPLE[v % PEOPLE.len()];
    let nodes: Vec<Value> = (0..nodes)
        .map(|i| {
            let last = (0..=v).rev().find(|w| (i + w) % (nodes / changed).max(1) == 0).unwrap_or(0);
            json!({"id": format!("n{i}"), "label": format!("N{i} v{last}"), "info": format!("about {i}"),
                   "createdBy": PEOPLE[0], "updatedBy": PEOPLE[last % PEOPLE.len()]})
        })
        .collect();
    let version = if v == 0 { Value::Null } else { json!(v) };
    json!({"metadata": {"title": "cost", "version": version, "updatedBy": who}, "nodes": nodes, "edges": []})
}

fn ctx(user: &str) -> SaveContext<'_> {
    SaveContext { user, idempotency_key: None, now: Timestamp::now(), keep_versions: None }
}

/// Saves every version on a raw connection with `secure_delete` as given
/// (the server's save path: compare, then write the version); returns the
/// mean time per save and the database's size.
fn sqlite_saves(path: &std::path::Path, nodes: usize, changed: usize, versions: usize, secure_delete: bool) -> (Duration, u64) {
    drop(kg_history::open(path.to_str().unwrap()).unwrap());
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.pragma_update(None, "secure_delete", if secure_delete { "ON" } else { "OFF" }).unwrap();
    let mut total = Duration::ZERO;
    for v in 0..versions {
        let mut new = Graph::from_value(graph(nodes, changed, v)).unwrap();
        let user = PEOPLE[v % PEOPLE.len()];
        let started = Instant::now();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        let mut w = SqliteConn(&tx);
        let head = kg_history::store::Reader::head(&mut w, ID).unwrap();
        new.set_version(json!(v + 1));
        let live = match &head {
            Some(h) => kg_history::store::Reader::rows_at(&mut w, h.gid, None).unwrap(),
            None => Vec::new(),
        };
        let changes = compare(&live, &new, Some(user), |_| None).unwrap();
        let context = ctx(user);
        let audit = ClientAudit::default();
        let version = NewVersion {
            graph_id: ID,
            head: head.as_ref(),
            ctx: &context,
            audit: &audit,
            key: None,
            request_hash: None,
            override_version: false,
            via: "full",
            title: title_of(new.metadata()),
            nodes: nodes as i64,
        };
        write_version(&mut w, version, changes).unwrap();
        tx.commit().unwrap();
        total += started.elapsed();
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    (total / versions as u32, std::fs::metadata(path).unwrap().len())
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let out = f();
    (out, started.elapsed())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let db = args.iter().position(|a| a == "--db").map(|i| args[i + 1].clone());
    let numbers: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let (nodes, versions) = (numbers.first().copied().unwrap_or(2000), numbers.get(1).copied().unwrap_or(200));
    let changed = numbers.get(2).copied().unwrap_or(25);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    let store = match &db {
        None => {
            let dir = tempfile::tempdir().unwrap();
            for secure_delete in [false, true] {
                let path = dir.path().join(format!("cost-{secure_delete}.sqlite"));
                let (per_save, bytes) = sqlite_saves(&path, nodes, changed, versions, secure_delete);
                println!("sqlite, secure_delete={secure_delete}: {per_save:?} per save, {} MB", bytes >> 20);
            }
            let path = dir.path().join("cost-true.sqlite");
            let store = kg_history::open(path.to_str().unwrap()).unwrap();
            std::mem::forget(dir);
            store
        }
        Some(url) => {
            let store = kg_history::open(url).unwrap();
            let mut total = Duration::ZERO;
            for v in 0..versions {
                let body = SaveBody::parse(json!({"id": ID, "graphData": graph(nodes, changed, v)}).to_string().as_bytes()).unwrap();
                total += timed(|| save(&store, body, ctx(PEOPLE[v % PEOPLE.len()])).unwrap()).1;
            }
            println!("postgres: {:?} per save", total / versions as u32);
            store
        }
    };
    let (erasure, took) = timed(|| erase::erase(&store, PEOPLE[1], "cli", &erase::NoRecords).unwrap());
    println!("erasure of one of four people ({} versions, {} parts renamed): {took:?}", erasure.erased.versions, erasure.erased.parts);
    let (_, scrub) = timed(|| store.scrub().unwrap());
    println!("of which the scrub alone (VACUUM / VACUUM FULL, run again): {scrub:?}");
}
