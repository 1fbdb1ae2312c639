//! Issue 22: the trust holes found when the access model, erasure,
//! retention and exports were attacked again. One test per hole, named
//! after it, over HTTP on SQLite and PostgreSQL (the request log's and the
//! binary's own in `request_log.rs`, `tokens.rs`, `write_race.rs` and
//! `erasure_bytes.rs`).

use kg_approval_server::Settings;
use kg_approval_server::request_log::RequestLog;
use kg_history::access::{GraphAccess, Policy};
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;
use support::{ADMIN, ANN, ANN_ID, AUDITOR, BOB, BOB_ID, Backend, CAROL, Server, new_id, start_on};

async fn versions(s: &Server, id: &str) -> usize {
    s.get_as(ADMIN, &format!("/getknowgraphhistory?id={id}")).await.1["history"]["results"].as_array().map_or(0, Vec::len)
}

async fn graph_level_stamps_of_someone_else_are_refused(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = new_id();
    let graph = json!({"description": "Ann's", "updatedBy": ANN_ID, "metadata": {"title": "T"}, "nodes": [{"id": "a"}], "edges": []});
    assert_eq!(s.save(Some(ANN), json!({"id": id, "graphData": graph}), None).await.0, StatusCode::OK);
    let current = || async { s.get(&format!("/getknowgraph?id={id}")).await.1 };
    // Bob's whole graph whose top level names Carol, or Dave as its creator.
    for (field, who) in [("updatedBy", "carol@example.com"), ("createdBy", "dave@example.com")] {
        let mut g = current().await;
        g[field] = json!(who);
        let (status, body) = s.save(Some(BOB), json!({"id": id, "graphData": g}), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{field}: {body}");
        assert!(body["error"].as_str().unwrap().contains("the graph is stamped"), "{body}");
    }
    // A top-level change under Ann's stamp is a forgery too.
    let mut g = current().await;
    g["description"] = json!("Bob's");
    assert_eq!(s.save(Some(BOB), json!({"id": id, "graphData": g}), None).await.0, StatusCode::FORBIDDEN);
    // A new graph whose top level names someone else.
    let forged = json!({"createdBy": "dave@example.com", "nodes": []});
    assert_eq!(s.save(Some(BOB), json!({"id": new_id(), "graphData": forged}), None).await.0, StatusCode::FORBIDDEN);
    // The delta route.
    for fields in [json!({"updatedBy": "dave@example.com"}), json!({"createdBy": BOB_ID, "updatedBy": BOB_ID}), json!({"license": "x"})] {
        let (status, body) = s.patch(BOB, json!({"graphId": id, "expectedVersion": 1, "patchGraph": {"fields": fields}})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{fields}: {body}");
    }
    assert_eq!(versions(&s, &id).await, 1, "nothing stored");
    // Stamped as himself, the change is his to make; nodes alone leave the top level alone.
    let patched = s
        .patch(BOB, json!({"graphId": id, "expectedVersion": 1, "patchGraph": {"fields": {"description": "Bob's", "updatedBy": BOB_ID}}}))
        .await;
    assert_eq!(patched.0, StatusCode::OK, "{}", patched.1);
    let mut g = current().await;
    g["nodes"][0]["label"] = json!("relabelled by Bob");
    assert_eq!(s.save(Some(BOB), json!({"id": id, "graphData": g}), None).await.0, StatusCode::OK);
    let mut g = current().await;
    g["updatedBy"] = json!(ANN_ID);
    g["description"] = json!("Ann's again");
    assert_eq!(s.save(Some(ANN), json!({"id": id, "graphData": g}), None).await.0, StatusCode::OK);
    assert_eq!(versions(&s, &id).await, 4);
}

/// The rows of a graph's history as `token` (None: anonymous) sees them.
async fn history_as(s: &Server, token: Option<&str>, id: &str) -> Vec<Value> {
    let path = format!("/getknowgraphhistory?id={id}");
    let (status, body) = match token {
        Some(token) => s.get_as(token, &path).await,
        None => s.get(&path).await,
    };
    assert_eq!(status, StatusCode::OK, "{body}");
    body["history"]["results"].as_array().unwrap().clone()
}

/// The `updatedBy` of graph `id` in the listing as `token` sees it.
async fn listed_by(s: &Server, token: Option<&str>, id: &str) -> Value {
    let (_, body) = match token {
        Some(token) => s.get_as(token, "/getknowgraphs").await,
        None => s.get("/getknowgraphs").await,
    };
    let graph = body["graphs"].as_array().unwrap().iter().find(|g| g["id"] == id).unwrap_or_else(|| panic!("{id} not listed: {body}"));
    graph["updatedBy"].clone()
}

async fn who_saved_a_version_and_why_are_shown_only_to_the_graphs_writers_and_auditors(backend: Backend) {
    let private = Settings { access: Policy { graph_access: GraphAccess::Owned, private_reads: true }, ..Settings::default() };
    let s = start_on(backend, private).await;
    let id = new_id();
    let graph = json!({"metadata": {"title": "T"}, "nodes": [{"id": "a"}]});
    let body = json!({"id": id, "graphData": graph, "audit": {"reason": "Ann's private reason", "source": "user"}});
    assert_eq!(s.save(Some(ANN), body, None).await.0, StatusCode::OK);
    let grant = json!({"graphId": id, "user": BOB_ID, "role": "viewer"});
    assert_eq!(s.post(ANN, "/grantGraphAccess", grant).await.0, StatusCode::OK);
    // Bob views the graph, but may not audit it: versions, times and sources, no people.
    assert_eq!(s.get_as(BOB, &format!("/getknowgraphaudit?id={id}")).await.0, StatusCode::FORBIDDEN);
    let rows = history_as(&s, Some(BOB), &id).await;
    assert_eq!((rows[0]["version"].clone(), rows[0]["source"].clone()), (json!(1), json!("user")));
    assert!(rows[0]["timestamp"].is_string() && rows[0]["createdAt"].is_string(), "{rows:?}");
    assert_eq!((rows[0]["user"].clone(), rows[0]["reason"].clone()), (Value::Null, Value::Null), "{rows:?}");
    assert_eq!(listed_by(&s, Some(BOB), &id).await, Value::Null);
    // Those who may audit it (and read it: an auditor needs a role too here)
    // or write it (its owner, an editor, an admin) see who and why.
    for (user, role) in [("auditor@example.com", "viewer"), (BOB_ID, "editor")] {
        assert_eq!(s.post(ANN, "/grantGraphAccess", json!({"graphId": id, "user": user, "role": role})).await.0, StatusCode::OK);
    }
    for token in [ANN, AUDITOR, ADMIN, BOB] {
        let rows = history_as(&s, Some(token), &id).await;
        assert_eq!((rows[0]["user"].clone(), rows[0]["reason"].clone()), (json!(ANN_ID), json!("Ann's private reason")), "{token}");
        assert_eq!(listed_by(&s, Some(token), &id).await, json!(ANN_ID), "{token}");
    }

    // The same rule with public reads: anyone reads the history; who and why
    // go to the graph's writers (any writer, under open access) and auditors.
    let s = start_on(backend, Settings::default()).await;
    let id = s.create().await;
    for token in [None, Some(CAROL)] {
        let rows = history_as(&s, token, &id).await;
        assert_eq!((rows.len(), rows[0]["user"].clone(), rows[0]["reason"].clone()), (1, Value::Null, Value::Null), "{token:?}");
        assert_eq!(listed_by(&s, token, &id).await, Value::Null, "{token:?}");
    }
    for token in [ANN, BOB, AUDITOR] {
        assert_eq!(history_as(&s, Some(token), &id).await[0]["user"], ANN_ID, "{token}");
        assert_eq!(listed_by(&s, Some(token), &id).await, json!(ANN_ID), "{token}");
    }
}

async fn expired_audit_records_forget_the_saver_of_the_graphs_head(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = s.create().await;
    assert_eq!(listed_by(&s, Some(AUDITOR), &id).await, json!(ANN_ID));
    let store = {
        let db = s.db.clone();
        tokio::task::spawn_blocking(move || kg_history::open(&db)).await.unwrap().unwrap()
    };
    let now = kg_approval::Timestamp::now().unix_millis();
    let in_ten_days = kg_approval::Timestamp::from_unix_millis(now + 10 * 86_400_000).unwrap();
    let expired = tokio::task::spawn_blocking(move || kg_history::retention::expire_audit(&store, 7, in_ten_days)).await.unwrap();
    assert_eq!(expired.unwrap(), 1);
    for token in [None, Some(AUDITOR), Some(ANN)] {
        assert_eq!(listed_by(&s, token, &id).await, Value::Null, "{token:?}: the listing forgot the saver");
    }
    // Nor does the head keep them (the owner stays: it holds the graph's rights).
    assert_eq!(s.sql(&format!("UPDATE graphs SET title = title WHERE graph_id = '{id}' AND saved_by = ''")).await, 1);
    assert_eq!(s.sql(&format!("UPDATE graphs SET title = title WHERE graph_id = '{id}' AND owner = '{ANN_ID}'")).await, 1);
    // A new version names its saver again.
    let mut graph = s.get(&format!("/getknowgraph?id={id}")).await.1;
    graph["nodes"][0]["label"] = json!("Bob's");
    assert_eq!(s.save(Some(BOB), json!({"id": id, "graphData": graph}), None).await.0, StatusCode::OK);
    assert_eq!(listed_by(&s, Some(AUDITOR), &id).await, json!(BOB_ID));
}

async fn an_admin_who_erases_themself_is_not_written_back(backend: Backend) {
    let logs = tempfile::tempdir().unwrap();
    let s = support::start_with(backend, Settings::default(), Some(RequestLog::open(logs.path()))).await;
    const ME: &str = "admin@example.com";
    let id = new_id();
    let graph = json!({"metadata": {"updatedBy": ME}, "nodes": [{"id": "a", "createdBy": ME}]});
    assert_eq!(s.save(Some(ADMIN), json!({"id": id, "graphData": graph}), None).await.0, StatusCode::OK);
    let (status, erasure) = s.post(ADMIN, "/eraseUser", json!({"user": ME})).await;
    assert_eq!(status, StatusCode::OK, "{erasure}");
    let pseudonym = erasure["pseudonym"].as_str().unwrap();
    assert!(!s.dump().await.contains(ME), "the database names the admin again (people re-created)");
    let (_, events) = s.get_as(AUDITOR, "/getauditevents").await;
    assert_eq!(events["verification"]["ok"], true, "{events}");
    assert_eq!(events["events"][0]["actor"], pseudonym, "the event names the actor by the erased pseudonym");
    // The erasure's own line, and any later one of the same token, are written after the log was rewritten.
    assert_eq!(s.get_as(ADMIN, "/whoami").await.0, StatusCode::OK);
    let file = logs.path().join(format!("requests-{}.jsonl", &kg_approval::Timestamp::now().to_string()[..10]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_to_string(&file).unwrap_or_default().lines().filter(|l| l.contains("/whoami")).count() == 0 {
        assert!(std::time::Instant::now() < deadline, "the /whoami line is written");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let log = std::fs::read_to_string(&file).unwrap();
    assert!(!log.contains(ME) && log.contains(pseudonym), "{log}");
}

/// Texts a spreadsheet would evaluate, each behind what it skips or folds.
const FORMULAS: [&str; 12] = [
    " =1+1",
    "\u{a0}=1+1",
    "\u{3000}=1+1",
    "\u{200b}=1+1",
    "\u{feff}=1+1",
    "＝1+1",
    "＋1",
    "－1",
    "＠SUM(A1)",
    "\n=1+1",
    "\r\n@SUM(A1)",
    "\t=1",
];

async fn csv_exports_neutralise_every_cell_a_spreadsheet_would_evaluate(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    let id = new_id();
    let nodes: Vec<Value> = FORMULAS.iter().enumerate().map(|(i, f)| json!({"id": format!("n{i}"), "label": f})).collect();
    let graph = json!({"metadata": {"title": "håndverk"}, "nodes": nodes});
    let audit = json!({"reason": "\u{a0}=HYPERLINK(\"http://evil\")", "source": "user"});
    assert_eq!(s.save(Some(ANN), json!({"id": id, "graphData": graph, "audit": audit}), None).await.0, StatusCode::OK);
    let export = |query: String| {
        let request = s.http.get(format!("{}/exportknowgraphaudit?id={id}{query}", s.url)).header("X-API-Token", AUDITOR);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.bytes().await.unwrap().to_vec())
        }
    };
    let (status, plain) = export(String::new()).await;
    assert_eq!(status, StatusCode::OK);
    let rows = support::parse_csv(std::str::from_utf8(&plain).unwrap(), ',');
    let col = |name: &str| kg_history::export::COLUMNS.iter().position(|c| *c == name).unwrap();
    for (i, formula) in FORMULAS.iter().enumerate() {
        let row = rows.iter().find(|r| r[col("id")] == format!("n{i}") && r[col("field")] == "label").unwrap();
        assert_eq!(row[col("new")], format!("'{formula}"), "{formula:?} is shown as text");
    }
    assert!(rows[1..].iter().all(|r| r[col("reason")] == "'\u{a0}=HYPERLINK(\"http://evil\")"));
    // Every cell: either it starts with ', or nothing a spreadsheet skips leads to a formula character.
    for cell in rows.iter().flatten() {
        let first = cell.trim_start_matches(|c: char| c.is_whitespace() || ('\u{200b}'..='\u{200f}').contains(&c) || c == '\u{feff}');
        assert!(cell.starts_with('\'') || !first.starts_with(['=', '+', '-', '@', '＝', '＋', '－', '＠']), "{cell:?}");
    }

    // Nordic Excel: a byte-order mark and `;`, the same cells.
    let (status, nordic) = export("&delimiter=semicolon&bom=true".to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(nordic.starts_with(b"\xef\xbb\xbfgraphId;version;time;user;"), "{:?}", String::from_utf8_lossy(&nordic[..40]));
    let text = std::str::from_utf8(&nordic[3..]).unwrap();
    assert!(text.contains("håndverk"), "UTF-8 text");
    assert_eq!(support::parse_csv(text, ';'), rows);
    // The command line writes the same bytes.
    let out = tempfile::NamedTempFile::new().unwrap();
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_kg-approval-server"))
        .args(["export", "--db", &s.db, "--id", &id, "--delimiter", "semicolon", "--bom", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    assert_eq!(std::fs::read(out.path()).unwrap(), nordic);
    for query in ["&delimiter=tab", "&bom=yes", "&format=jsonl&bom=true", "&format=jsonl&delimiter=semicolon"] {
        assert_eq!(export(query.to_owned()).await.0, StatusCode::BAD_REQUEST, "{query}");
    }
}

on_both_backends!(
    csv_exports_neutralise_every_cell_a_spreadsheet_would_evaluate,
    an_admin_who_erases_themself_is_not_written_back,
    graph_level_stamps_of_someone_else_are_refused,
    who_saved_a_version_and_why_are_shown_only_to_the_graphs_writers_and_auditors,
    expired_audit_records_forget_the_saver_of_the_graphs_head,
);
