//! Reports on the AI's suggestions (issue 26): a known set of approvals by
//! several models, model versions, rules and reviewers, whose report this
//! test computes itself and compares field by field with `GET
//! /getauditstats` and `kg-approval-server report`, on SQLite and
//! PostgreSQL; who may ask; and an existing database's decisions filled in
//! by the migration, its chains unchanged.

use std::collections::{BTreeMap, BTreeSet};

use kg_approval_server::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{ANN, AUDITOR, BOB, Backend, CAROL, Server, graph, new_id, parse_csv, start_on};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Accepted,
    Rejected,
    Corrected,
}

/// One approval the test makes.
struct Approval {
    token: &'static str,
    graph: usize,
    source: &'static str,
    model: Option<&'static str>,
    model_version: Option<&'static str>,
    rule: Option<&'static str>,
    run: Option<&'static str>,
    /// (node, field — `None`: the node is added —, outcome, the node patch's rule)
    changes: Vec<(&'static str, Option<&'static str>, Outcome, Option<&'static str>)>,
    /// From the proposal to the approval, if told.
    wait_ms: Option<i64>,
    /// Whether the client sends its decisions (else only the lists).
    decisions: bool,
}

use Outcome::{Accepted as A, Corrected as C, Rejected as R};

fn approvals() -> Vec<Approval> {
    let base = |token, graph, model, mv, rule, changes, wait_ms| Approval {
        token,
        graph,
        source: "ai",
        model,
        model_version: mv,
        rule,
        run: Some("run-1"),
        changes,
        wait_ms,
        decisions: true,
    };
    vec![
        base(
            ANN,
            0,
            Some("gpt"),
            Some("v1"),
            Some("r-names"),
            vec![("a", Some("label"), A, None), ("b", Some("label"), R, None)],
            Some(60_000),
        ),
        base(
            ANN,
            0,
            Some("gpt"),
            Some("v2"),
            None,
            vec![("a", Some("label"), C, Some("r-typo")), ("a", Some("info"), A, Some("r-typo")), ("b", Some("info"), A, None)],
            Some(30_000),
        ),
        base(BOB, 0, Some("gpt"), Some("v2"), Some("r-names"), vec![("n1", None, A, Some("r-add")), ("b", Some("label"), R, None)], None),
        base(
            BOB,
            1,
            Some("claude"),
            Some("3"),
            Some("r-dates"),
            vec![("a", Some("date"), A, None), ("b", Some("date"), C, None)],
            Some(90_000),
        ),
        Approval {
            run: Some("run-2"),
            ..base(
                BOB,
                1,
                Some("claude"),
                Some("3"),
                None,
                vec![("a", Some("label"), R, None), ("b", Some("label"), R, None)],
                Some(10_000),
            )
        },
        Approval {
            source: "user",
            run: None,
            decisions: false,
            ..base(ANN, 1, None, None, None, vec![("a", Some("info"), A, None), ("b", Some("date"), R, None)], Some(20_000))
        },
        base(ANN, 0, Some("gpt"), Some("v1"), Some("r-names"), vec![("a", Some("date"), A, None)], Some(45_000)),
    ]
}

const APPROVED_AT: &str = "2026-03-02T12:00:00.000Z";

fn millis(t: &str) -> i64 {
    kg_approval::Timestamp::parse(t).unwrap().unix_millis()
}

/// Saves the approvals in order on two graphs (Ann's and Bob's); returns their ids.
async fn approve_all(s: &Server) -> Vec<String> {
    let ids = vec![s.create().await, new_id()];
    let (status, body) = s.save(Some(BOB), json!({"id": ids[1], "graphData": graph(None, "A"), "override": false}), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut versions = [1, 1];
    for (i, a) in approvals().iter().enumerate() {
        let (mut patch_nodes, mut add_nodes, mut accepted, mut rejected) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut decisions, mut provenance) = (serde_json::Map::new(), serde_json::Map::new());
        let user = if a.token == ANN { "ann@example.com" } else { "bob@example.com" };
        for (node, field, outcome, rule) in &a.changes {
            let id = match field {
                Some(field) => format!("node/{node}/{field}"),
                None => format!("node/{node}"),
            };
            if let Some(rule) = rule {
                provenance.insert(node.to_string(), json!({"ruleId": rule}));
            }
            let decision = match outcome {
                R => json!({"decision": "rejected", "decidedBy": "change"}),
                A => json!({"decision": "accepted", "decidedBy": "bulk", "filter": "all"}),
                C => json!({"decision": "corrected", "decidedBy": "change", "proposed": "the AI's"}),
            };
            decisions.insert(id.clone(), decision);
            if *outcome == R {
                rejected.push(id);
                continue;
            }
            accepted.push(id);
            match field {
                Some(field) => match patch_nodes.iter_mut().find(|p: &&mut Value| p["nodeId"] == *node) {
                    Some(patch) => patch["fields"][*field] = json!(format!("{field} {i}")),
                    None => patch_nodes.push(json!({"nodeId": node, "fields": {*field: format!("{field} {i}")}})),
                },
                None => add_nodes.push(json!({"id": node, "label": "added", "createdBy": user, "updatedBy": user})),
            }
        }
        let mut audit = json!({"source": a.source, "accepted": accepted, "rejected": rejected, "at": APPROVED_AT,
                               "reason": format!("approval {i}")});
        for (key, value) in [("model", a.model), ("modelVersion", a.model_version), ("ruleId", a.rule), ("runId", a.run)] {
            if let Some(value) = value {
                audit[key] = json!(value);
            }
        }
        if let Some(wait) = a.wait_ms {
            audit["proposedAt"] = json!(kg_approval::Timestamp::from_unix_millis(millis(APPROVED_AT) - wait).unwrap().to_string());
        }
        if a.decisions {
            audit["decisions"] = json!(decisions);
            audit["decisionMode"] = json!("explicit");
        }
        if !provenance.is_empty() {
            audit["patchProvenance"] = json!(provenance);
        }
        let body = json!({"graphId": ids[a.graph], "expectedVersion": versions[a.graph], "patchNodes": patch_nodes,
                          "addNodes": add_nodes, "audit": audit});
        let (status, saved) = s.patch(a.token, body).await;
        assert_eq!(status, StatusCode::OK, "approval {i}: {saved}");
        versions[a.graph] += 1;
    }
    ids
}

/// One decided change, as the test knows it.
struct Fact {
    approval: usize,
    values: BTreeMap<&'static str, Option<String>>,
    outcome: Outcome,
    wait_ms: Option<i64>,
}

fn facts(ids: &[String]) -> Vec<Fact> {
    let mut out = Vec::new();
    for (i, a) in approvals().iter().enumerate() {
        for (node, field, outcome, rule) in &a.changes {
            let user = if a.token == ANN { "ann@example.com" } else { "bob@example.com" };
            let values = BTreeMap::from([
                ("model", a.model.map(str::to_owned)),
                ("modelVersion", a.model_version.map(str::to_owned)),
                ("ruleId", rule.or(a.rule).map(str::to_owned)),
                ("field", field.map(str::to_owned)),
                ("user", Some(user.to_owned())),
                ("graph", Some(ids[a.graph].clone())),
                ("source", Some(a.source.to_owned())),
                ("runId", a.run.map(str::to_owned)),
                ("node", Some(node.to_string())),
            ]);
            // A client without decisions told only its lists: a correction reads as accepted.
            let outcome = if !a.decisions && *outcome == C { A } else { *outcome };
            out.push(Fact { approval: i, values, outcome, wait_ms: a.wait_ms });
        }
    }
    out
}

/// The report the test expects: group values → the row's figures, as JSON.
fn expected(facts: &[Fact], dims: &[&'static str], keep: impl Fn(&Fact) -> bool) -> BTreeMap<Vec<Option<String>>, Value> {
    let mut groups: BTreeMap<Vec<Option<String>>, Vec<&Fact>> = BTreeMap::new();
    for fact in facts.iter().filter(|f| keep(f)) {
        groups.entry(dims.iter().map(|d| fact.values[d].clone()).collect()).or_default().push(fact);
    }
    groups
        .into_iter()
        .map(|(key, facts)| {
            let count = |o: Outcome| facts.iter().filter(|f| f.outcome == o).count() as i64;
            let approvals: BTreeSet<usize> = facts.iter().map(|f| f.approval).collect();
            let mut waits: Vec<i64> = approvals.iter().filter_map(|i| facts.iter().find(|f| f.approval == *i).unwrap().wait_ms).collect();
            waits.sort();
            let median = match waits.len() {
                0 => Value::Null,
                n if n % 2 == 1 => json!(waits[n / 2]),
                n if (waits[n / 2 - 1] + waits[n / 2]) % 2 == 0 => json!((waits[n / 2 - 1] + waits[n / 2]) / 2),
                n => json!((waits[n / 2 - 1] + waits[n / 2]) as f64 / 2.0),
            };
            let proposed = facts.len() as i64;
            let figures = json!({
                "approvals": approvals.len(), "proposed": proposed, "accepted": count(A), "rejected": count(R), "corrected": count(C),
                "acceptanceRate": count(A) as f64 / proposed as f64, "medianMsToApproval": median,
            });
            (key, figures)
        })
        .collect()
}

fn compare(report: &Value, dims: &[&'static str], want: &BTreeMap<Vec<Option<String>>, Value>, what: &str) {
    let rows = report["rows"].as_array().unwrap_or_else(|| panic!("{what}: {report}"));
    assert_eq!(rows.len(), want.len(), "{what}: rows {report}");
    for (key, figures) in want {
        let row = rows
            .iter()
            .find(|r| dims.iter().zip(key).all(|(d, v)| r[*d] == json!(v)))
            .unwrap_or_else(|| panic!("{what}: no row for {key:?} in {report}"));
        for (name, value) in figures.as_object().unwrap() {
            assert_eq!(&row[name], value, "{what}: {name} of {key:?}: {row}");
        }
    }
}

fn query(dims: &[&str], extra: &str) -> String {
    format!("/getauditstats?groupBy={}{extra}", dims.join(","))
}

async fn a_report_counts_every_decision_by_model_version_rule_field_and_reviewer(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let ids = approve_all(&s).await;
    let facts = facts(&ids);
    for dims in [
        vec![],
        vec!["model"],
        vec!["modelVersion"],
        vec!["model", "modelVersion"],
        vec!["ruleId"],
        vec!["field"],
        vec!["user"],
        vec!["graph"],
        vec!["source"],
        vec!["field", "ruleId"],
        vec!["user", "field"],
    ] {
        let (status, report) = s.get_as(AUDITOR, &query(&dims, "")).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!((report["timeZone"].clone(), report["groupBy"].clone()), (json!("UTC"), json!(dims)));
        compare(&report, &dims, &expected(&facts, &dims, |_| true), &format!("groupBy {dims:?}"));
    }
    // Filters: those of the audit routes.
    let by_model = ["model"];
    let bob = |f: &Fact| f.values["user"].as_deref() == Some("bob@example.com");
    for (extra, keep) in [
        ("&user=bob@example.com".to_owned(), Box::new(bob) as Box<dyn Fn(&Fact) -> bool>),
        (format!("&id={}", ids[1]), Box::new(|f: &Fact| f.values["graph"].as_deref() == Some(ids[1].as_str()))),
        ("&runId=run-2".to_owned(), Box::new(|f: &Fact| f.values["runId"].as_deref() == Some("run-2"))),
        ("&from=2000-01-01&to=2999-01-01".to_owned(), Box::new(|_: &Fact| true)),
        ("&to=2000-01-01".to_owned(), Box::new(|_: &Fact| false)),
        ("&user=nobody@example.com".to_owned(), Box::new(|_: &Fact| false)),
    ] {
        let (status, report) = s.get_as(AUDITOR, &query(&by_model, &extra)).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        compare(&report, &by_model, &expected(&facts, &by_model, keep), &extra);
    }
    // One node's decisions: every change of node `a` in graph 1, by field.
    let (_, report) = s.get_as(AUDITOR, &query(&["field"], &format!("&id={}&nodeId=a", ids[0]))).await;
    let node_a = |f: &Fact| f.values["node"].as_deref() == Some("a") && f.values["graph"].as_deref() == Some(ids[0].as_str());
    compare(&report, &["field"], &expected(&facts, &["field"], node_a), "nodeId=a");

    // Buckets: every approval was saved today (UTC).
    let today = kg_approval::Timestamp::now().to_string();
    for (bucket, label) in [("day", &today[..10]), ("month", &today[..7])] {
        let (_, report) = s.get_as(AUDITOR, &query(&["modelVersion"], &format!("&bucket={bucket}"))).await;
        assert_eq!(report["bucket"], bucket);
        assert!(report["rows"].as_array().unwrap().iter().all(|r| r["bucket"] == label), "{report}");
        compare(&report, &["modelVersion"], &expected(&facts, &["modelVersion"], |_| true), bucket);
    }
    let (_, week) = s.get_as(AUDITOR, &query(&[], "&bucket=week")).await;
    let monday = week["rows"][0]["bucket"].as_str().unwrap().to_owned();
    let weekday = (millis(&format!("{monday}T00:00:00Z")) / 86_400_000 + 3).rem_euclid(7);
    assert_eq!(weekday, 0, "a week is named by its Monday: {week}");

    // CSV and JSONL from the route, and the same from the command line.
    let response = s.http.get(format!("{}{}", s.url, query(&["model", "modelVersion"], "&format=csv"))).header("X-API-Token", AUDITOR);
    let table = parse_csv(&response.send().await.unwrap().text().await.unwrap(), ',');
    assert_eq!(
        table[0],
        ["model", "modelVersion", "approvals", "proposed", "accepted", "rejected", "corrected", "acceptanceRate", "medianMsToApproval"]
    );
    let (_, json_report) = s.get_as(AUDITOR, &query(&["model", "modelVersion"], "")).await;
    assert_eq!(table.len() - 1, json_report["rows"].as_array().unwrap().len());
    let db = s.db.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_kg-approval-server"))
            .args(["report", "--db", &db, "--group-by", "model,modelVersion", "--format", "jsonl"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(json!(lines), json_report["rows"], "the command line gives the route's rows");
}

async fn reports_need_the_audit_scope_or_cover_only_the_owners_graphs(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let ids = approve_all(&s).await;
    let facts = facts(&ids);
    // Bob owns graph 2: without the audit scope he sees only its decisions.
    let (status, report) = s.get_as(BOB, &query(&["graph"], "")).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    compare(&report, &["graph"], &expected(&facts, &["graph"], |f| f.values["graph"].as_deref() == Some(ids[1].as_str())), "Bob's");
    let (status, _) = s.get_as(BOB, &query(&["graph"], &format!("&id={}", ids[0]))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a graph he does not own");
    let (status, _) = s.get_as(CAROL, &query(&["model"], "")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "Carol owns nothing and may not audit");
    let (status, _) = s.get("/getauditstats").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for bad in ["?groupBy=reviewer", "?bucket=year", "?from=yesterday", "?groupBy=model,model", "?format=xml"] {
        let (status, body) = s.get_as(AUDITOR, &format!("/getauditstats{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

async fn the_migration_fills_in_the_decisions_of_versions_saved_before_and_leaves_every_chain(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let ids = approve_all(&s).await;
    let dims = ["model", "field"];
    let (_, before) = s.get_as(AUDITOR, &query(&dims, "")).await;
    let verify = |id: String| {
        let s = &s;
        async move { s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await.1 }
    };
    let chains = [verify(ids[0].clone()).await, verify(ids[1].clone()).await];
    // The database as a server before reports left it: no decisions, one schema earlier.
    let downgrade = match backend {
        Backend::Sqlite => "DROP TABLE decisions; DROP TABLE labels; PRAGMA user_version = 4;",
        Backend::Postgres => "DROP TABLE decisions; DROP TABLE labels; UPDATE kg_schema SET version = 3;",
    };
    for statement in downgrade.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        s.sql(statement).await;
    }
    let db = s.db.clone();
    let store = tokio::task::spawn_blocking(move || kg_history::open(&db).unwrap()).await.unwrap();
    let store = std::sync::Arc::new(store);
    let query = kg_history::stats::ReportQuery::parse(|name| (name == "groupBy").then_some("model,field")).unwrap();
    let reopened = store.clone();
    let report = tokio::task::spawn_blocking(move || reopened.read(|db| kg_history::stats::report(db, &query)).unwrap()).await.unwrap();
    assert_eq!(report.to_json()["rows"], before["rows"], "the same report from the filled-in table");
    for (id, chain) in ids.iter().zip(chains) {
        let (owned, reopened) = (id.clone(), store.clone());
        let again = tokio::task::spawn_blocking(move || reopened.read(|db| kg_history::read::verify(db, &owned)).unwrap()).await.unwrap();
        assert!(again.ok, "{again:?}");
        assert_eq!((json!(again)["versions"].clone(), chain["ok"].clone()), (chain["versions"].clone(), json!(true)));
    }
}

async fn buckets_are_utc_days_iso_weeks_and_calendar_months_on_either_backend(backend: Backend) {
    use kg_history::store::{Approval, Decided, Outcome as Stored};
    let s = start_on(backend, Settings::default()).await;
    let id = s.create().await;
    let db = s.db.clone();
    let rows = tokio::task::spawn_blocking(move || {
        let store = kg_history::open(&db).unwrap();
        let gid = store.read(|db| db.head(&id)).unwrap().unwrap().gid;
        // Around a leap day, and a Sunday and the Monday after it.
        let times = ["2024-02-29T23:59:59.999Z", "2024-03-01T00:00:00.000Z", "2026-01-04T12:00:00Z", "2026-01-05T00:00:00Z"];
        store
            .write(|tx| {
                for (i, at) in times.iter().enumerate() {
                    let approval = Approval {
                        gid,
                        version: 100 + i as i64,
                        at_ms: millis(at),
                        user: "ann@example.com".into(),
                        source: "ai".into(),
                        model: None,
                        model_version: None,
                        run_id: None,
                        wait_ms: Some(1000 * (i as i64 + 1)),
                    };
                    let row = Decided {
                        target: 2,
                        entity: Some("a".into()),
                        field: Some("label".into()),
                        rule_id: None,
                        outcome: Stored::Accepted,
                    };
                    tx.insert_decisions(&approval, &[row])?;
                }
                Ok::<_, kg_history::store::StoreError>(())
            })
            .unwrap();
        ["day", "week", "month"].map(|bucket| {
            let query = kg_history::stats::ReportQuery::parse(|name| (name == "bucket").then_some(bucket)).unwrap();
            let report = store.read(|db| kg_history::stats::report(db, &query)).unwrap();
            report.rows.iter().map(|r| (r.bucket.clone().unwrap(), r.approvals, r.median_ms_to_approval)).collect::<Vec<_>>()
        })
    })
    .await
    .unwrap();
    let b = |s: &str| s.to_owned();
    assert_eq!(
        rows[0],
        [
            (b("2024-02-29"), 1, Some(1000.0)),
            (b("2024-03-01"), 1, Some(2000.0)),
            (b("2026-01-04"), 1, Some(3000.0)),
            (b("2026-01-05"), 1, Some(4000.0))
        ]
    );
    assert_eq!(rows[1], [(b("2024-02-26"), 2, Some(1500.0)), (b("2025-12-29"), 1, Some(3000.0)), (b("2026-01-05"), 1, Some(4000.0))]);
    assert_eq!(rows[2], [(b("2024-02"), 1, Some(1000.0)), (b("2024-03"), 1, Some(2000.0)), (b("2026-01"), 2, Some(3500.0))]);
}

async fn erasure_renames_the_reviewer_and_retention_forgets_the_decisions(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    approve_all(&s).await;
    let (status, erased) = s.post(support::ADMIN, "/eraseUser", json!({"user": "ann@example.com"})).await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    let (_, report) = s.get_as(AUDITOR, &query(&["user"], "")).await;
    let users: Vec<Value> = report["rows"].as_array().unwrap().iter().map(|r| r["user"].clone()).collect();
    assert!(users.contains(&erased["pseudonym"]) && users.contains(&json!("bob@example.com")), "{report}");
    assert!(!s.dump().await.contains("ann@example.com"), "no table names her any more");
    // Every record expires: its decisions go with it, and so do the people they named.
    let db = s.db.clone();
    let expired = tokio::task::spawn_blocking(move || {
        let store = kg_history::open(&db).unwrap();
        let later = kg_approval::Timestamp::from_unix_millis(kg_approval::Timestamp::now().unix_millis() + 10 * 86_400_000).unwrap();
        kg_history::retention::expire_audit(&store, 1, later).unwrap()
    })
    .await
    .unwrap();
    assert!(expired >= 7, "{expired}");
    let (_, report) = s.get_as(AUDITOR, &query(&["user"], "")).await;
    assert_eq!(report["rows"], json!([]), "{report}");
    assert_eq!(s.count("SELECT COUNT(*) FROM decisions").await, 0);
    assert_eq!(s.count("SELECT COUNT(*) FROM labels WHERE kind = 1").await, 0, "no reviewer is named by a label any more");
}

on_both_backends!(
    erasure_renames_the_reviewer_and_retention_forgets_the_decisions,
    buckets_are_utc_days_iso_weeks_and_calendar_months_on_either_backend,
    a_report_counts_every_decision_by_model_version_rule_field_and_reviewer,
    reports_need_the_audit_scope_or_cover_only_the_owners_graphs,
    the_migration_fills_in_the_decisions_of_versions_saved_before_and_leaves_every_chain,
);
