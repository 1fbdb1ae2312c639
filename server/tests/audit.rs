//! The audit trail as auditors use it (issue 13): field-level blame, runs,
//! exports, erasure, audit expiry and the event log, over HTTP on SQLite and
//! PostgreSQL.

use kg_approval_server::Settings;
use kg_approval_server::request_log::RequestLog;
use kg_history::{Store, retention};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{ADMIN, ANN, ANN_ID, AUDITOR, BOB, BOB_ID, Backend, CAROL, Server, new_id, start_on, start_with};

fn graph_v(version: Option<i64>, label: &str, info: &str, stamp: &str) -> Value {
    json!({
        "metadata": {"title": "Blamed", "version": version},
        "nodes": [
            {"id": "a", "label": label, "info": info, "updatedBy": stamp},
            {"id": "b", "label": "B", "visible": false}
        ],
        "edges": [{"id": "a_b", "source": "a", "target": "b", "label": "links"}]
    })
}

async fn save(s: &Server, token: &str, id: &str, graph: Value, audit: Value) -> i64 {
    let (status, body) = s.save(Some(token), json!({"id": id, "graphData": graph, "audit": audit}), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["newVersion"].as_i64().unwrap()
}

/// v1 Ann creates; v2 Bob relabels `a` (run-1, model m1); v3 Ann rewrites `a`'s info.
async fn history(s: &Server) -> String {
    let id = new_id();
    assert_eq!(save(s, ANN, &id, graph_v(None, "A", "first", ANN_ID), json!({"reason": "create", "source": "user"})).await, 1);
    let audit2 = json!({"reason": "clearer label", "source": "ai", "model": "m1", "modelVersion": "2026-11", "runId": "run-1",
                        "confidence": 0.8, "ruleId": "r7", "patchProvenance": {"a": {"confidence": 0.9}},
                        "accepted": ["node/a/label"], "rejected": ["node/a/info"]});
    assert_eq!(save(s, BOB, &id, graph_v(Some(1), "A, relabelled", "first", BOB_ID), audit2).await, 2);
    let long = "a long text ".repeat(40);
    assert_eq!(save(s, ANN, &id, graph_v(Some(2), "A, relabelled", &long, ANN_ID), json!({"reason": "expand", "runId": "run-2"})).await, 3);
    id
}

fn field<'a>(blame: &'a Value, name: &str) -> &'a Value {
    blame["fields"].as_array().unwrap().iter().find(|f| f["field"] == name).unwrap_or_else(|| panic!("no {name} in {blame}"))
}

async fn blame_names_the_version_user_and_reason_of_each_fields_last_change(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = history(&s).await;
    let (status, blame) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&nodeId=a")).await;
    assert_eq!(status, StatusCode::OK, "{blame}");
    assert_eq!((blame["current"].clone(), blame["complete"].clone(), blame["target"].clone()), (json!(true), json!(true), json!("node")));
    assert_eq!((blame["created"]["version"].clone(), blame["created"]["user"].clone()), (json!(1), json!(ANN_ID)));
    let label = field(&blame, "label");
    assert_eq!(label["value"], "A, relabelled");
    assert_eq!(
        (label["version"].clone(), label["user"].clone(), label["reason"].clone()),
        (json!(2), json!(BOB_ID), json!("clearer label"))
    );
    assert_eq!(
        (label["runId"].clone(), label["model"].clone(), label["modelVersion"].clone()),
        (json!("run-1"), json!("m1"), json!("2026-11"))
    );
    assert_eq!(label["since"], label["at"]);
    let info = field(&blame, "info");
    assert_eq!((info["version"].clone(), info["user"].clone()), (json!(3), json!(ANN_ID)));
    assert_eq!(info["value"], "a long text ".repeat(40), "a value kept in a blob comes back whole");
    assert_eq!(field(&blame, "id")["version"], 1);
    // updatedBy changed in v2 (Bob) and v3 (Ann).
    assert_eq!(field(&blame, "updatedBy")["version"], 3);

    // The edge and the metadata.
    let (_, edge) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&edgeId=a_b")).await;
    assert_eq!((field(&edge, "label")["version"].clone(), edge["target"].clone()), (json!(1), json!("edge")));
    let (_, meta) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}")).await;
    assert_eq!(meta["target"], "metadata");
    assert_eq!(field(&meta, "version")["version"], 3, "the server stamps the version on every save");

    // Removed, then added again: blame starts anew.
    let mut removed = graph_v(Some(3), "x", "y", ANN_ID);
    removed["nodes"].as_array_mut().unwrap().remove(0);
    removed["edges"] = json!([]);
    assert_eq!(save(&s, ANN, &id, removed.clone(), json!({})).await, 4);
    let (_, gone) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&nodeId=a")).await;
    assert_eq!((gone["current"].clone(), gone["removed"]["version"].clone()), (json!(false), json!(4)));
    assert_eq!(field(&gone, "label")["version"], 2, "the fields it had last");
    assert_eq!(save(&s, BOB, &id, graph_v(Some(4), "again", "y", BOB_ID), json!({})).await, 5);
    let (_, again) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&nodeId=a")).await;
    assert_eq!((again["created"]["version"].clone(), again["created"]["user"].clone()), (json!(5), json!(BOB_ID)));
    assert_eq!(field(&again, "label")["version"], 5);

    // Who may ask, and what is refused.
    assert_eq!(s.get(&format!("/getknowgraphblame?id={id}&nodeId=a")).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get_as(CAROL, &format!("/getknowgraphblame?id={id}&nodeId=a")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.get_as(ANN, &format!("/getknowgraphblame?id={id}&nodeId=a")).await.0, StatusCode::OK, "the owner may");
    assert_eq!(s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&nodeId=nope")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&nodeId=a&edgeId=a_b")).await.0, StatusCode::BAD_REQUEST);
}

async fn a_run_collects_its_approvals_across_graphs(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let (g1, g2) = (new_id(), new_id());
    let run =
        json!({"runId": "run-x", "source": "ai", "model": "m2", "accepted": ["node/a/label", "node/a/info"], "rejected": ["node/b/label"]});
    save(&s, ANN, &g1, graph_v(None, "A", "i", ANN_ID), run.clone()).await;
    save(&s, BOB, &g2, graph_v(None, "A", "i", BOB_ID), run.clone()).await;
    save(&s, ANN, &g1, graph_v(Some(1), "A2", "i", ANN_ID), json!({"runId": "run-x", "accepted": ["node/a/label"]})).await;
    save(&s, ANN, &g1, graph_v(Some(2), "A3", "i", ANN_ID), json!({"runId": "other"})).await;

    let (status, r) = s.get_as(AUDITOR, "/getknowgraphrun?runId=run-x").await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!((r["count"].clone(), r["accepted"].clone(), r["rejected"].clone()), (json!(3), json!(5), json!(2)));
    let mut graphs = vec![g1.clone(), g2.clone()];
    graphs.sort();
    assert_eq!(r["graphs"], json!(graphs));
    assert_eq!(r["users"], json!([ANN_ID, BOB_ID]));
    assert_eq!(r["models"], json!(["m2"]));
    assert!(r["firstAt"].as_str().unwrap() <= r["lastAt"].as_str().unwrap());
    assert!(r["durationMs"].as_i64().unwrap() >= 0);
    let entries = r["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e["runId"] == "run-x" && e["changes"].is_array() && e["graphId"].is_string()));
    let (_, page) = s.get_as(AUDITOR, "/getknowgraphrun?runId=run-x&limit=2&offset=2").await;
    assert_eq!((page["entries"].as_array().unwrap().len(), page["count"].clone()), (1, json!(3)));
    // Ann has no audit scope: she sees the run on the graph she owns only.
    let (_, anns) = s.get_as(ANN, "/getknowgraphrun?runId=run-x").await;
    assert_eq!((anns["count"].clone(), anns["graphs"].clone()), (json!(2), json!([g1])));
    assert_eq!(s.get("/getknowgraphrun?runId=run-x").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.get_as(AUDITOR, "/getknowgraphrun").await.0, StatusCode::BAD_REQUEST);
    let (_, none) = s.get_as(AUDITOR, "/getknowgraphrun?runId=never").await;
    assert_eq!(none["count"], 0);
}

async fn text_as(s: &Server, token: &str, path: &str) -> (StatusCode, String, String) {
    let r = s.http.get(format!("{}{path}", s.url)).header("X-API-Token", token).send().await.unwrap();
    let kind = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (r.status(), kind, r.text().await.unwrap())
}

async fn exports_have_a_row_per_changed_field_and_are_safe_in_a_spreadsheet(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = history(&s).await;
    let formula = "=HYPERLINK(\"http://evil\",\"x\")";
    let reason = "say \"why\", twice\nand on two lines";
    save(&s, BOB, &id, graph_v(Some(3), formula, "@SUM(1)", BOB_ID), json!({"reason": reason, "runId": "run-3"})).await;

    let (status, kind, csv) = text_as(&s, AUDITOR, &format!("/exportknowgraphaudit?format=csv&id={id}")).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "text/csv; charset=utf-8"));
    let rows = support::parse_csv(&csv, ',');
    assert_eq!(rows[0], kg_history::export::COLUMNS.map(str::to_owned).to_vec());
    let col = |name: &str| kg_history::export::COLUMNS.iter().position(|c| *c == name).unwrap();
    // v1 added two nodes (4 + 3 fields), an edge (4 fields) and the metadata (2 fields).
    let v1: Vec<_> = rows[1..].iter().filter(|r| r[col("version")] == "1").collect();
    assert_eq!(v1.len(), 4 + 3 + 4 + 2, "{v1:?}");
    assert!(v1.iter().all(|r| r[col("old")].is_empty() && r[col("accepted")] == "true" && r[col("user")] == ANN_ID));
    // v2: label and updatedBy changed, and one rejected change.
    let v2: Vec<_> = rows[1..].iter().filter(|r| r[col("version")] == "2").collect();
    let label = v2.iter().find(|r| r[col("field")] == "label" && r[col("accepted")] == "true").unwrap();
    assert_eq!((label[col("old")].as_str(), label[col("new")].as_str()), ("A", "A, relabelled"));
    assert_eq!((label[col("model")].as_str(), label[col("runId")].as_str(), label[col("id")].as_str()), ("m1", "run-1", "a"));
    let rejected = v2.iter().find(|r| r[col("accepted")] == "false").unwrap();
    assert_eq!((rejected[col("field")].as_str(), rejected[col("new")].as_str()), ("info", ""));
    // v4: formulas neutralised, quotes, commas and line breaks kept.
    let v4: Vec<_> = rows[1..].iter().filter(|r| r[col("version")] == "4").collect();
    let label = v4.iter().find(|r| r[col("field")] == "label").unwrap();
    assert_eq!(label[col("new")], format!("'{formula}"));
    assert_eq!(v4.iter().find(|r| r[col("field")] == "info").unwrap()[col("new")], "'@SUM(1)");
    assert_eq!(label[col("reason")], reason);
    assert!(!csv.contains("\n=") && !csv.contains(",=") && !csv.contains(",@"), "no cell starts with a formula character");

    // JSONL: the same rows, values as JSON.
    let (status, kind, jsonl) = text_as(&s, AUDITOR, &format!("/exportknowgraphaudit?format=jsonl&id={id}")).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "application/x-ndjson"));
    let lines: Vec<Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), rows.len() - 1);
    let label = lines.iter().find(|l| l["version"] == 4 && l["field"] == "label").unwrap();
    assert_eq!((label["new"].clone(), label["reason"].clone()), (json!(formula), json!(reason)));
    assert!(lines.iter().filter(|l| l["version"] == 1).all(|l| l.get("old").is_none()), "absent values are left out");

    // Filters.
    for (query, expected) in [
        ("user=bob%40example.com", lines.iter().filter(|l| l["user"] == BOB_ID).count()),
        ("runId=run-1", v2.len()),
        ("nodeId=b", 3),
        ("to=2000-01-01", 0),
        ("from=2000-01-01", lines.len()),
    ] {
        let (_, _, body) = text_as(&s, AUDITOR, &format!("/exportknowgraphaudit?format=jsonl&id={id}&{query}")).await;
        assert_eq!(body.lines().count(), expected, "{query}");
    }
    assert_eq!(text_as(&s, AUDITOR, &format!("/exportknowgraphaudit?id={id}&from=yesterday")).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(text_as(&s, AUDITOR, &format!("/exportknowgraphaudit?id={id}&format=xml")).await.0, StatusCode::BAD_REQUEST);
    // Every graph: the audit scope only.
    let (status, _, all) = text_as(&s, AUDITOR, "/exportknowgraphaudit?format=jsonl").await;
    assert_eq!((status, all.lines().count()), (StatusCode::OK, lines.len()));
    assert_eq!(text_as(&s, ANN, "/exportknowgraphaudit").await.0, StatusCode::FORBIDDEN);
    assert_eq!(text_as(&s, ANN, &format!("/exportknowgraphaudit?id={id}")).await.0, StatusCode::OK, "the owner may");
    assert_eq!(text_as(&s, CAROL, &format!("/exportknowgraphaudit?id={id}")).await.0, StatusCode::FORBIDDEN);
}

async fn erasing_a_person_leaves_no_trace_of_them_and_every_chain_verifies(backend: Backend) {
    let logs = tempfile::tempdir().unwrap();
    let s = start_with(backend, Settings::default(), Some(RequestLog::open(logs.path()))).await;
    let id = history(&s).await;
    let other = new_id();
    save(&s, BOB, &other, graph_v(None, "Bob's", "i", BOB_ID), json!({})).await;
    let (status, grant) = s.post(ANN, "/grantGraphAccess", json!({"graphId": id, "user": BOB_ID, "role": "editor"})).await;
    assert_eq!(status, StatusCode::OK, "{grant}");
    assert!(s.text(&format!("/getknowgraph?id={id}")).await.1.contains(ANN_ID));

    assert_eq!(s.post(ANN, "/eraseUser", json!({"user": ANN_ID})).await.0, StatusCode::FORBIDDEN, "admins only");
    let (status, erasure) = s.post(ADMIN, "/eraseUser", json!({"user": ANN_ID})).await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    let pseudonym = erasure["pseudonym"].as_str().unwrap().to_owned();
    assert!(pseudonym.starts_with("person:"));
    assert_eq!((erasure["versions"].clone(), erasure["parts"].clone()), (json!(2), json!(2)), "{erasure}");
    assert!(erasure["requestLogLines"].as_u64().unwrap() > 0);

    for graph in [&id, &other] {
        let (_, check) = s.get_as(AUDITOR, &format!("/verifyknowgraph?id={graph}")).await;
        assert_eq!(check["ok"], true, "{check}");
    }
    let text = s.text(&format!("/getknowgraph?id={id}")).await.1;
    assert!(!text.contains(ANN_ID) && text.contains(&pseudonym), "{text}");
    let v1 = s.text(&format!("/getknowgraphversion?id={id}&version=1")).await.1;
    assert!(!v1.contains(ANN_ID), "every stored version, not only the newest");
    for path in [
        format!("/getknowgraphaudit?id={id}"),
        format!("/getknowgraphhistory?id={id}"),
        format!("/getknowgraphblame?id={id}&nodeId=a"),
        format!("/getgraphaccess?id={id}"),
        "/getknowgraphs".to_owned(),
        "/exportknowgraphaudit?format=jsonl".to_owned(),
    ] {
        let (status, _, body) = text_as(&s, ADMIN, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!body.contains(ANN_ID), "{path}: {body}");
    }
    let (_, audit) = s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}")).await;
    assert_eq!(audit["entries"].as_array().unwrap().last().unwrap()["user"], pseudonym);
    // Nothing in the database names her (every table, every text column).
    assert!(!s.dump().await.contains(ANN_ID), "the database still names the person");
    // Nor the request log.
    let logged: String = std::fs::read_dir(logs.path()).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
    assert!(logged.contains(&pseudonym) && !logged.contains(ANN_ID));

    // The erasure is an event of the chained event log, naming no one.
    let (_, events) = s.get_as(AUDITOR, "/getauditevents").await;
    assert_eq!(events["verification"]["ok"], true, "{events}");
    let event = &events["events"][0];
    assert_eq!((event["kind"].clone(), event["detail"]["pseudonym"].clone()), (json!("erasure"), json!(pseudonym)));
    assert!(event["actor"].as_str().unwrap().starts_with("person:"), "the admin is named by their pseudonym too");
    assert_eq!(s.get_as(CAROL, "/getauditevents").await.0, StatusCode::FORBIDDEN);
    // Changing an event shows.
    s.sql("UPDATE events SET detail = '{\"pseudonym\":\"someone else\"}'").await;
    assert_eq!(s.get_as(AUDITOR, "/getauditevents").await.1["verification"]["ok"], false);

    // She may come back: a new pseudonym, and the chain goes on.
    save(&s, ANN, &other, graph_v(Some(1), "Ann again", "i", ANN_ID), json!({})).await;
    assert_eq!(s.get_as(AUDITOR, &format!("/verifyknowgraph?id={other}")).await.1["ok"], true);
    assert_eq!(s.post(ADMIN, "/eraseUser", json!({"user": "person:0123456789abcdef"})).await.0, StatusCode::BAD_REQUEST);
}

async fn an_erasure_that_would_break_an_old_chain_is_refused_whole(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = history(&s).await;
    // As if version 1 had been saved before people were pseudonymised.
    s.sql(&format!("UPDATE versions SET scheme = 2 WHERE graph_id = '{id}' AND version = 1")).await;
    let (status, refused) = s.post(ADMIN, "/eraseUser", json!({"user": ANN_ID})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("Nothing was erased"));
    assert!(s.dump().await.contains(ANN_ID), "nothing was changed");
    assert_eq!(s.get_as(AUDITOR, "/getauditevents").await.1["events"], json!([]));
}

async fn expired_audit_records_lose_who_and_why_but_every_chain_verifies(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = history(&s).await;
    let store = open(&s).await;
    // While a record is there its digest is implied, not stored (issue 28);
    // the expiry stores it first.
    let digestless = format!("SELECT COUNT(*) FROM versions WHERE graph_id = '{id}' AND record_digest IS NULL");
    assert_eq!(support::count_at(backend, &s.db, &digestless).await, 3);
    let in_ten_days = kg_approval::Timestamp::from_unix_millis(kg_approval::Timestamp::now().unix_millis() + 10 * 86_400_000).unwrap();
    let expired = tokio::task::spawn_blocking(move || retention::expire_audit(&store, 7, in_ten_days)).await.unwrap().unwrap();
    assert_eq!(expired, 3);
    assert_eq!(support::count_at(backend, &s.db, &digestless).await, 0);
    let (_, audit) = s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}")).await;
    for entry in audit["entries"].as_array().unwrap() {
        assert_eq!(entry["auditExpired"], true, "{entry}");
        assert!(entry.get("user").is_none() && entry.get("reason").is_none() && entry.get("runId").is_none(), "{entry}");
        assert!(!entry["changes"].as_array().unwrap().is_empty(), "what changed stays");
    }
    assert_eq!(s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await.1["ok"], true);
    let (_, blame) = s.get_as(AUDITOR, &format!("/getknowgraphblame?id={id}&nodeId=a")).await;
    assert_eq!((field(&blame, "label")["user"].clone(), field(&blame, "label")["auditExpired"].clone()), (Value::Null, json!(true)));
    let (_, events) = s.get_as(AUDITOR, "/getauditevents").await;
    assert_eq!((events["events"][0]["kind"].clone(), events["events"][0]["detail"]["versions"].clone()), (json!("audit-expiry"), json!(3)));
    // The kept digest is what the chain checks now: changing it shows.
    s.sql(&format!("UPDATE versions SET record_digest = 'x' || substr(record_digest, 2) WHERE graph_id = '{id}' AND version = 2")).await;
    assert_eq!(s.get_as(AUDITOR, &format!("/verifyknowgraph?id={id}")).await.1["firstBroken"]["version"], 2);
}

async fn the_proposals_provenance_is_kept_in_the_audit_entry(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = history(&s).await;
    let (_, audit) = s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}&runId=run-1")).await;
    let entry = &audit["entries"][0];
    assert_eq!(
        (entry["modelVersion"].clone(), entry["confidence"].clone(), entry["ruleId"].clone(), entry["patchProvenance"].clone()),
        (json!("2026-11"), json!(0.8), json!("r7"), json!({"a": {"confidence": 0.9}}))
    );
    let (_, plain) = s.get_as(AUDITOR, &format!("/getknowgraphaudit?id={id}&runId=run-2")).await;
    assert_eq!((plain["entries"][0]["confidence"].clone(), plain["entries"][0]["ruleId"].clone()), (Value::Null, Value::Null));
}

/// A second handle on the server's database (as another process would open it).
async fn open(s: &Server) -> Store {
    let db = s.db.clone();
    tokio::task::spawn_blocking(move || kg_history::open(&db)).await.unwrap().unwrap()
}

on_both_backends!(
    blame_names_the_version_user_and_reason_of_each_fields_last_change,
    a_run_collects_its_approvals_across_graphs,
    exports_have_a_row_per_changed_field_and_are_safe_in_a_spreadsheet,
    erasing_a_person_leaves_no_trace_of_them_and_every_chain_verifies,
    an_erasure_that_would_break_an_old_chain_is_refused_whole,
    expired_audit_records_lose_who_and_why_but_every_chain_verifies,
    the_proposals_provenance_is_kept_in_the_audit_entry,
);
