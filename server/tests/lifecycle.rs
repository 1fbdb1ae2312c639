//! Readiness and shutdown (issue 25): `/healthz` and `/readyz`, on a
//! database that goes away and on a schema that is not this build's;
//! SIGTERM to the real binary during a load, with a save in flight and with
//! a save cut off by `--shutdown-timeout`.

mod support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kg_approval_server::Settings;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::{ANN, Backend, graph, new_id, spawn_binary, start_on};

fn script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg.sh")
}

async fn probe(http: &Client, url: &str, path: &str) -> (StatusCode, Value) {
    match http.get(format!("{url}{path}")).timeout(Duration::from_secs(10)).send().await {
        Ok(response) => (response.status(), response.json().await.unwrap_or(Value::Null)),
        Err(e) => panic!("{path}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_is_503_while_postgresql_is_away_and_healthz_stays_200() {
    let out =
        std::process::Command::new("bash").arg(script()).args(["start", "--owner", &std::process::id().to_string()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = String::from_utf8(out.stdout).unwrap();
    let (db, dir) = (out.lines().next().unwrap().to_owned(), out.lines().nth(1).unwrap().to_owned());
    let (mut child, url) = spawn_binary(&["--db", &db]);
    let http = Client::new();
    let (status, body) = probe(&http, &url, "/readyz").await;
    assert_eq!((status, &body["ready"], &body["database"]), (StatusCode::OK, &json!(true), &json!("ok")), "{body}");

    // The database stops abruptly for three seconds.
    let restart = std::thread::spawn({
        let dir = dir.clone();
        move || std::process::Command::new("bash").arg(script()).args(["restart", &dir, "3"]).status().unwrap()
    });
    let (mut unready, mut alive_while_down, started) = (None, false, Instant::now());
    while started.elapsed() < Duration::from_secs(2) {
        let (status, body) = probe(&http, &url, "/readyz").await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            unready = Some(body);
            let (status, health) = probe(&http, &url, "/healthz").await;
            alive_while_down = status == StatusCode::OK && health["database"] == json!("unavailable");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let unready = unready.expect("/readyz turned 503 while the database was down");
    assert_eq!((&unready["ready"], &unready["database"]), (&json!(false), &json!("unavailable")), "{unready}");
    assert!(unready["error"].as_str().unwrap().contains("unavailable"), "{unready}");
    assert!(alive_while_down, "/healthz is 200 (alive) with database: unavailable");
    assert!(restart.join().unwrap().success());

    // Back by itself, without a restart of the server.
    let deadline = Instant::now() + Duration::from_secs(15);
    while probe(&http, &url, "/readyz").await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "/readyz did not come back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::process::Command::new("bash").arg(script()).args(["stop", &dir]).status().unwrap();
}

async fn readyz_is_503_on_a_schema_this_build_does_not_know(backend: Backend) {
    let s = start_on(backend, Settings::default()).await;
    assert_eq!(s.get("/readyz").await.0, StatusCode::OK);
    match backend {
        Backend::Sqlite => s.sql("PRAGMA user_version = 99").await,
        Backend::Postgres => s.sql("UPDATE kg_schema SET version = 99").await,
    };
    let (status, body) = s.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!((&body["schema"], &body["database"]), (&json!(99), &json!("ok")));
    assert!(body["error"].as_str().unwrap().contains("schema version 99"), "{body}");
    assert_eq!(s.get("/healthz").await.0, StatusCode::OK);
}

on_both_backends!(readyz_is_503_on_a_schema_this_build_does_not_know);

/// Sends SIGTERM to `child`.
fn sigterm(child: &std::process::Child) {
    assert!(std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
}

/// Waits for `child` to exit (at most `limit`): its exit code and how long it took.
fn wait_exit(child: &mut std::process::Child, limit: Duration) -> (Option<i32>, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), started.elapsed());
        }
        assert!(started.elapsed() < limit, "the server did not exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A save of a new graph whose body arrives in two halves, `pause` apart,
/// over a raw connection; calls `between` after the first half. The status
/// line of the answer (or the error).
fn slow_save(addr: &str, id: &str, pause: Duration, between: impl FnOnce()) -> Result<String, std::io::Error> {
    let body = json!({"id": id, "graphData": graph(None, "slow"), "override": false}).to_string();
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    // A first request answered on this connection: the server has accepted
    // it (a connection still in the kernel's backlog when SIGTERM closes the
    // listener is reset, and was never in flight).
    stream.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())?;
    support::read_response(&mut stream, Duration::from_secs(30));
    let head = format!(
        "POST /saveGraphWithHistory HTTP/1.1\r\nHost: {addr}\r\nX-API-Token: {ANN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.split_at(body.len() / 2);
    stream.write_all(head.as_bytes())?;
    stream.write_all(first.as_bytes())?;
    stream.flush()?;
    between();
    std::thread::sleep(pause);
    stream.write_all(rest.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer.lines().next().unwrap_or_default().to_owned())
}

/// The binary on a SQLite file of `dir` with Ann's token and `--shutdown-timeout SECS`:
/// the process, its address (`HOST:PORT`) and the file.
fn spawn_on_sqlite(dir: &tempfile::TempDir, secs: &str, more: &[&str]) -> (std::process::Child, String, std::path::PathBuf) {
    let db = dir.path().join("h.sqlite");
    let token = format!("{ANN}=ann@example.com");
    let args = [&["--db", db.to_str().unwrap(), "--token", &token, "--shutdown-timeout", secs][..], more].concat();
    let (child, url) = spawn_binary(&args);
    (child, url.strip_prefix("http://").unwrap().to_owned(), db)
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_accepting_finishes_the_save_in_flight_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, db) = spawn_on_sqlite(&dir, "10", &[]);
    let id = new_id();
    let pid = child.id();
    let refused_meanwhile = Arc::new(AtomicBool::new(false));
    let answer = tokio::task::spawn_blocking({
        let (addr, id, refused) = (addr.clone(), id.clone(), refused_meanwhile.clone());
        move || {
            slow_save(&addr, &id, Duration::from_millis(1500), || {
                assert!(std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
                std::thread::sleep(Duration::from_millis(300));
                // The listener is closed: a new connection is refused.
                refused.store(std::net::TcpStream::connect(&addr).is_err(), Ordering::SeqCst);
            })
        }
    })
    .await
    .unwrap();
    assert_eq!(answer.unwrap(), "HTTP/1.1 200 OK", "the save in flight is finished and answered");
    assert!(refused_meanwhile.load(Ordering::SeqCst), "new connections are refused once SIGTERM arrived");
    let (code, took) = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(code, Some(0), "a clean stop");
    eprintln!("exited {took:?} after the save in flight was answered");
    let store = kg_history::open(db.to_str().unwrap()).unwrap();
    assert!(store.read(|r| kg_history::read::verify(r, &id)).unwrap().ok);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_a_load_loses_no_acknowledged_save_and_stores_none_by_half() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let dir = tempfile::tempdir().unwrap();
        let db = match backend {
            Backend::Sqlite => dir.path().join("h.sqlite").to_string_lossy().into_owned(),
            Backend::Postgres => support::postgres_database().await,
        };
        let (mut child, url) = spawn_binary(&["--db", &db, "--token", &format!("{ANN}=ann@example.com"), "--shutdown-timeout", "5"]);
        let http = Client::builder().pool_max_idle_per_host(0).build().unwrap();
        // Eight writers, each saving its own graph again and again.
        let mut writers = Vec::new();
        for _ in 0..8 {
            let (http, url) = (http.clone(), url.clone());
            writers.push(tokio::spawn(async move {
                let id = new_id();
                let mut acked = 0i64;
                loop {
                    let version = if acked == 0 { None } else { Some(acked) };
                    let body = json!({"id": id, "graphData": graph(version, &format!("v{}", acked + 1)), "override": false});
                    let sent =
                        http.post(format!("{url}/saveGraphWithHistory")).header("X-API-Token", ANN).body(body.to_string()).send().await;
                    match sent {
                        Ok(r) if r.status() == StatusCode::OK => acked = r.json::<Value>().await.unwrap()["newVersion"].as_i64().unwrap(),
                        Ok(r) => panic!("{}: {:?}", r.status(), r.text().await),
                        Err(_) => return (id, acked),
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let signalled = Instant::now();
        sigterm(&child);
        let (code, _) = tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(10))).await.unwrap();
        let stopped = signalled.elapsed();
        assert_eq!(code, Some(0), "{backend:?}");
        let mut total = 0;
        let open = db.clone();
        let store = Arc::new(tokio::task::spawn_blocking(move || kg_history::open(&open).unwrap()).await.unwrap());
        for writer in writers {
            let (id, acked) = tokio::time::timeout(Duration::from_secs(10), writer).await.expect("the writers stop").unwrap();
            assert!(acked >= 1, "{backend:?}: every writer saved before the stop");
            total += acked;
            let store = store.clone();
            let (head, ok) = tokio::task::spawn_blocking(move || {
                store
                    .read(|r| Ok::<_, kg_history::HistoryError>((r.head(&id)?.unwrap().version, kg_history::read::verify(r, &id)?.ok)))
                    .unwrap()
            })
            .await
            .unwrap();
            // Every acknowledged version is there; at most one more (answered, but the answer was lost to the stop).
            assert!(head == acked || head == acked + 1, "{backend:?}: head {head}, acknowledged {acked}");
            assert!(ok, "{backend:?}: the chain verifies");
        }
        eprintln!("{backend:?}: {total} saves acknowledged; stopped {stopped:?} after SIGTERM");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_save_cut_off_by_the_shutdown_timeout_is_not_stored_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, db) = spawn_on_sqlite(&dir, "1", &[]);
    let (id, pid) = (new_id(), child.id());
    // The body's second half comes after the deadline: the save is cut off.
    let answer = tokio::task::spawn_blocking({
        let (addr, id) = (addr.clone(), id.clone());
        move || {
            slow_save(&addr, &id, Duration::from_millis(2500), || {
                assert!(std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
            })
        }
    });
    let (code, took) = tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(5))).await.unwrap();
    assert_eq!(code, Some(1), "cut off: exit status 1");
    assert!(took < Duration::from_millis(1900), "exited at the deadline: {took:?}");
    let answer = answer.await.unwrap();
    assert!(answer.as_deref().map_or(true, |line| !line.contains("200")), "{answer:?}");
    let store = kg_history::open(db.to_str().unwrap()).unwrap();
    assert!(store.read(|r| r.head(&id)).unwrap().is_none(), "nothing of the cut-off save is stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_save_cut_off_mid_transaction_is_stored_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, db) = spawn_on_sqlite(&dir, "1", &["--body-limit", "100000000"]);
    let url = format!("http://{addr}");
    let id = new_id();
    let nodes: Vec<Value> =
        (0..60_000).map(|i| json!({"id": format!("n{i}"), "label": format!("node {i} with some text to store")})).collect();
    let body = json!({"id": id, "graphData": {"metadata": {"title": "big"}, "nodes": nodes, "edges": []}, "override": false}).to_string();
    let save = tokio::spawn({
        let url = url.clone();
        async move {
            Client::new().post(format!("{url}/saveGraphWithHistory")).header("X-API-Token", ANN).body(body).send().await.map(|r| r.status())
        }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let signalled = Instant::now();
    sigterm(&child);
    let (code, _) = tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(30))).await.unwrap();
    let answered = save.await.unwrap();
    eprintln!("exit {code:?} {:?} after SIGTERM; the save: {answered:?}", signalled.elapsed());
    let store = kg_history::open(db.to_str().unwrap()).unwrap();
    match store.read(|r| r.head(&id)).unwrap() {
        None => assert!(!matches!(answered, Ok(StatusCode::OK)), "an acknowledged save is stored"),
        Some(head) => {
            assert_eq!(head.version, 1);
            assert!(store.read(|r| kg_history::read::verify(r, &id)).unwrap().ok, "stored whole: the chain verifies");
            let text = store.read(|r| kg_history::read::graph_text(r, &id, None)).unwrap().0;
            assert!(text.contains("\"n59999\""), "every node is there");
        }
    }
}
