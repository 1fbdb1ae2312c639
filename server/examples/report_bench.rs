//! Reports at scale: 1,000,000 decided changes (40,000 approvals of 25
//! changes, over a year, 50 graphs, 20 reviewers, 3 models in 4 versions,
//! 30 rules, 12 fields), reported on SQLite and PostgreSQL as
//! `GET /getauditstats` would (`kg_history::stats::report`), each report
//! the median of 5 runs after a warm-up.
//!
//! `cargo run --release -p kg-approval-server --example report_bench -- [CHANGES]`
//! prints one JSON object (times in ms). PostgreSQL: the cluster
//! `KG_BENCH_POSTGRES` names (a URL), else one started with `scripts/pg.sh`
//! for the run; `--sqlite-only` skips it.
//!
//! The decisions are written as a save writes them (`Writer::insert_decisions`,
//! 1,000 approvals a transaction) on graphs made by real saves, without
//! writing the graphs' parts: what is measured is the report.

use std::time::Instant;

use kg_approval::Timestamp;
use kg_history::Store;
use kg_history::save::{SaveBody, save};
use kg_history::stats::{self, ReportQuery};
use kg_history::store::{Approval, Decided, Outcome};
use kg_history::write::SaveContext;
use serde_json::{Value, json};

const GRAPHS: usize = 50;
const PER_APPROVAL: usize = 25;
const FIELDS: [&str; 12] = ["label", "info", "type", "kind", "date", "place", "bibl", "note", "source", "alias", "period", "url"];

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn build(store: &Store, changes: usize) -> f64 {
    let started = Instant::now();
    let mut gids = Vec::new();
    for g in 0..GRAPHS {
        let id = format!("{:08x}-0000-4000-8000-{:012x}", g + 1, g + 1);
        let body = json!({"id": id, "graphData": {"metadata": {"title": format!("graph {g}")}, "nodes": [{"id": "n0"}], "edges": []}});
        let ctx = SaveContext { user: "bench@example.com", idempotency_key: None, now: Timestamp::now(), keep_versions: None };
        save(store, SaveBody::parse(body.to_string().as_bytes()).unwrap(), ctx).unwrap();
        gids.push(store.read(|db| db.head(&id)).unwrap().unwrap().gid);
    }
    let approvals = changes / PER_APPROVAL;
    let start = Timestamp::parse("2026-01-01T00:00:00Z").unwrap().unix_millis();
    let year_ms = 365 * 86_400_000i64;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut versions = vec![1i64; GRAPHS];
    for batch in (0..approvals).collect::<Vec<_>>().chunks(1000) {
        store
            .write(|tx| {
                for &i in batch {
                    let g = rng.below(GRAPHS);
                    versions[g] += 1;
                    let model = rng.below(3);
                    let approval = Approval {
                        gid: gids[g],
                        version: versions[g],
                        at_ms: start + (i as i64 * year_ms / approvals as i64),
                        user: format!("reviewer{}@example.com", rng.below(20)),
                        source: if rng.below(10) == 0 { "user".into() } else { "ai".into() },
                        model: Some(["gpt", "claude", "mistral"][model].to_owned()),
                        model_version: Some(format!("{}-v{}", ["gpt", "claude", "mistral"][model], 1 + rng.below(4))),
                        run_id: Some(format!("run-{}", i / 100)),
                        wait_ms: Some(1_000 + rng.below(3_600_000) as i64),
                    };
                    let rule = format!("rule-{}", rng.below(30));
                    let rows: Vec<Decided> = (0..PER_APPROVAL)
                        .map(|_| {
                            let roll = rng.below(10);
                            Decided {
                                target: 2,
                                entity: Some(format!("n{}", rng.below(10_000))),
                                field: Some(FIELDS[rng.below(FIELDS.len())].to_owned()),
                                rule_id: Some(if rng.below(4) == 0 { format!("rule-{}", rng.below(30)) } else { rule.clone() }),
                                outcome: match roll {
                                    0..=6 => Outcome::Accepted,
                                    7 | 8 => Outcome::Rejected,
                                    _ => Outcome::Corrected,
                                },
                            }
                        })
                        .collect();
                    tx.insert_decisions(&approval, &rows)?;
                }
                Ok::<_, kg_history::store::StoreError>(())
            })
            .unwrap();
    }
    started.elapsed().as_secs_f64()
}

/// The median of 5 timed runs of `f` (after one that warms the caches), and its row count.
fn median_ms(mut f: impl FnMut() -> usize) -> (f64, usize) {
    let rows = f();
    let mut times: Vec<f64> = std::iter::repeat_with(|| {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64() * 1000.0
    })
    .take(5)
    .collect();
    times.sort_by(f64::total_cmp);
    (times[2], rows)
}

fn reports(store: &Store) -> Value {
    let cases: [(&str, &str); 10] = [
        ("everything, one row", ""),
        ("by model version and week", "groupBy=modelVersion&bucket=week"),
        ("by model and model version, by month", "groupBy=model,modelVersion&bucket=month"),
        ("by field", "groupBy=field"),
        ("by rule", "groupBy=ruleId"),
        ("by field and rule", "groupBy=field,ruleId"),
        ("by reviewer, by day", "groupBy=user&bucket=day"),
        ("by graph", "groupBy=graph"),
        ("one reviewer, by field", "groupBy=field&user=reviewer7@example.com"),
        ("one month, by model version", "groupBy=modelVersion&from=2026-03-01&to=2026-04-01"),
    ];
    let mut out = serde_json::Map::new();
    for (name, query) in cases {
        let params: std::collections::HashMap<String, String> =
            query.split('&').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        let query = ReportQuery::parse(|name| params.get(name).map(String::as_str)).unwrap();
        let (ms, rows) = median_ms(|| store.read(|db| stats::report(db, &query)).unwrap().rows.len());
        out.insert(name.to_owned(), json!({"ms": (ms * 10.0).round() / 10.0, "rows": rows}));
    }
    Value::Object(out)
}

fn postgres_cluster() -> Option<(String, Option<String>)> {
    if let Ok(url) = std::env::var("KG_BENCH_POSTGRES") {
        return Some((url, None));
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg.sh");
    let out = std::process::Command::new("bash").arg(script).arg("start").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines();
    Some((lines.next()?.to_owned(), lines.next().map(str::to_owned)))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut changes = 1_000_000usize;
    let mut sqlite_only = false;
    for arg in args.by_ref() {
        match arg.as_str() {
            "--sqlite-only" => sqlite_only = true,
            n => changes = n.parse().expect("CHANGES is a number"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let _entered = runtime.enter();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = kg_history::open(&dir.path().join("report.sqlite").to_string_lossy()).unwrap();
    let built = build(&sqlite, changes);
    let mut result = json!({"changes": changes, "approvals": changes / PER_APPROVAL,
                            "sqlite": {"buildSeconds": (built * 10.0).round() / 10.0, "reports": reports(&sqlite)}});
    drop(sqlite);
    if !sqlite_only {
        let (cluster, started) = postgres_cluster().expect("a PostgreSQL cluster (scripts/pg.sh start, or KG_BENCH_POSTGRES)");
        let name = format!("kg_report_bench_{}", std::process::id());
        let db = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&cluster, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
            format!("{}/{name}", cluster.rsplit_once('/').unwrap().0)
        });
        let pg = kg_history::open(&db).unwrap();
        let built = build(&pg, changes);
        // As after autovacuum has seen the table: fresh statistics.
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&db, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            client.batch_execute("VACUUM ANALYZE decisions").await.unwrap();
        });
        result["postgres"] = json!({"buildSeconds": (built * 10.0).round() / 10.0, "reports": reports(&pg)});
        drop(pg);
        if let Some(dir) = started {
            let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg.sh");
            let _ = std::process::Command::new("bash").arg(script).args(["stop", &dir]).status();
        }
    }
    result["machine"] = json!({"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)});
    println!("{}", serde_json::to_string_pretty(&result).unwrap());
}
