//! Slow and greedy clients against the real binary: raw TCP connections
//! that send nothing, half a request, a stalled body, too many headers, or
//! more connections than allowed (`src/serve.rs`).

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

mod support;
use support::read_response;

const TOKEN: &str = "ann-token-0001";

/// The binary on a loopback port, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(limits: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.sqlite");
        let mut child = Command::new(env!("CARGO_BIN_EXE_kg-approval-server"))
            .args(["--addr", "127.0.0.1:0", "--db", db.to_str().unwrap(), "--token", &format!("{TOKEN}=ann@example.com")])
            .args(limits)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Server { addr: addr.parse().unwrap(), child, _dir: dir }
    }

    fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads until the server closes the connection or `limit` passes; returns
/// the bytes and whether it was closed (EOF or reset).
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (got, false);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return (got, false),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return (got, true),
        }
    }
}

fn body_of(response: &str) -> serde_json::Value {
    let body = &response[response.find("\r\n\r\n").expect("a complete head") + 4..];
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {response:?}"))
}

fn get(path: &str, extra_headers: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra_headers}\r\n")
}

#[test]
fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let server = Server::start(&["--header-timeout-secs", "1"]);
    let mut stream = server.connect();
    let start = Instant::now();
    let (got, closed) = read_until_closed(&mut stream, Duration::from_secs(3));
    assert!(closed, "still open after 3 s with a 1 s header timeout");
    assert!(got.is_empty(), "nothing is answered to a silent connection: {got:?}");
    assert!(start.elapsed() >= Duration::from_millis(900), "closed before the timeout: {:?}", start.elapsed());
}

#[test]
fn a_connection_that_sends_half_the_headers_is_closed_after_the_header_timeout() {
    let server = Server::start(&["--header-timeout-secs", "1"]);
    let mut stream = server.connect();
    stream.write_all(b"GET /capabilities HTTP/1.1\r\nHost: localhost\r\nX-Half: ").unwrap();
    let start = Instant::now();
    let (got, closed) = read_until_closed(&mut stream, Duration::from_secs(3));
    assert!(closed, "still open after 3 s with a 1 s header timeout");
    assert!(got.is_empty(), "a half request is not answered: {:?}", String::from_utf8_lossy(&got));
    assert!(start.elapsed() >= Duration::from_millis(900), "closed before the timeout: {:?}", start.elapsed());
}

#[test]
fn a_connection_that_trickles_its_headers_is_closed_after_the_header_timeout() {
    // One byte every 100 ms: each byte is progress, but the timeout is for
    // the whole head, so it still fires.
    let server = Server::start(&["--header-timeout-secs", "1"]);
    let mut stream = server.connect();
    let request = get("/capabilities", &"X-Slow: aaaaaaaaaaaaaaaaaaaa\r\n".repeat(10));
    let start = Instant::now();
    let mut failed_at = None;
    for byte in request.as_bytes().iter().take(50) {
        if stream.write_all(&[*byte]).is_err() {
            failed_at = Some(start.elapsed());
            break;
        }
        sleep(Duration::from_millis(100));
    }
    let failed_at = failed_at.unwrap_or_else(|| panic!("still accepting bytes after {:?} with a 1 s header timeout", start.elapsed()));
    assert!(failed_at <= Duration::from_secs(3), "closed late: {failed_at:?}");
    assert!(failed_at >= Duration::from_millis(900), "closed before the timeout: {failed_at:?}");
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let server = Server::start(&["--header-timeout-secs", "1"]);
    let mut stream = server.connect();
    stream.write_all(get("/capabilities", "").as_bytes()).unwrap();
    let response = read_response(&mut stream, Duration::from_secs(2));
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
    let start = Instant::now();
    let (got, closed) = read_until_closed(&mut stream, Duration::from_secs(3));
    assert!(closed && got.is_empty(), "an idle keep-alive connection stays open past the header timeout");
    assert!(start.elapsed() >= Duration::from_millis(900), "closed before the timeout: {:?}", start.elapsed());
}

#[test]
fn a_request_body_that_stops_arriving_gets_408_after_the_body_timeout() {
    let server = Server::start(&["--body-timeout-secs", "1"]);
    let mut stream = server.connect();
    let head = format!(
        "POST /saveGraphWithHistory HTTP/1.1\r\nHost: localhost\r\nX-API-Token: {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(br#"{"id": "6f1c2d3e-4b5a-4c6d"#).unwrap();
    let start = Instant::now();
    let (got, closed) = read_until_closed(&mut stream, Duration::from_secs(3));
    let elapsed = start.elapsed();
    let response = String::from_utf8_lossy(&got).into_owned();
    assert!(response.starts_with("HTTP/1.1 408"), "not a 408 within 3 s: {response:?}");
    assert!(response.to_ascii_lowercase().contains("content-type: application/json"), "{response:?}");
    assert!(body_of(&response)["error"].is_string(), "{response:?}");
    assert!(closed, "the connection stays open after the 408");
    assert!(elapsed >= Duration::from_millis(900), "answered before the timeout: {elapsed:?}");
}

#[test]
fn the_fifth_connection_waits_until_one_of_four_open_connections_closes() {
    let server = Server::start(&["--max-connections", "4", "--header-timeout-secs", "30"]);
    let mut idle: Vec<TcpStream> = (0..4).map(|_| server.connect()).collect();
    sleep(Duration::from_millis(200));
    let mut fifth = server.connect();
    fifth.write_all(get("/capabilities", "Connection: close\r\n").as_bytes()).unwrap();
    let (got, closed) = read_until_closed(&mut fifth, Duration::from_millis(1000));
    assert!(got.is_empty() && !closed, "the 5th connection was served while 4 were open: {:?}", String::from_utf8_lossy(&got));

    drop(idle.pop());
    let start = Instant::now();
    let (got, closed) = read_until_closed(&mut fifth, Duration::from_secs(2));
    let response = String::from_utf8_lossy(&got);
    assert!(response.starts_with("HTTP/1.1 200"), "the 5th connection is not served once one closed: {response:?}");
    assert!(closed, "Connection: close is honoured");
    assert!(start.elapsed() < Duration::from_millis(1000), "served late: {:?}", start.elapsed());

    // The other three were being served all along.
    idle[0].write_all(get("/capabilities", "").as_bytes()).unwrap();
    assert!(read_response(&mut idle[0], Duration::from_secs(2)).starts_with("HTTP/1.1 200"));
}

#[test]
fn more_than_the_maximum_of_headers_get_431_with_a_json_error() {
    let server = Server::start(&[]);
    let headers = |n: usize| (0..n).map(|i| format!("X-Extra-{i}: {i}\r\n")).collect::<String>();
    let ask = |request: String| {
        let mut stream = server.connect();
        stream.write_all(request.as_bytes()).unwrap();
        read_response(&mut stream, Duration::from_secs(3))
    };
    // Host + 99 = 100 headers: allowed.
    let response = ask(get("/capabilities", &headers(99)));
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
    // Host + 100 = 101 headers: ours, with a JSON body (also off the routes).
    for path in ["/capabilities", "/no-such-route"] {
        let response = ask(get(path, &headers(100)));
        assert!(response.starts_with("HTTP/1.1 431"), "{response:?}");
        assert!(response.to_ascii_lowercase().contains("content-type: application/json"), "{response:?}");
        assert!(body_of(&response)["error"].as_str().unwrap().contains("at most 100"), "{response:?}");
    }
    // Beyond hyper's raised limit (200): hyper's own 431, empty body.
    let response = ask(get("/capabilities", &headers(300)));
    assert!(response.starts_with("HTTP/1.1 431"), "{response:?}");
}

#[test]
fn sigterm_finishes_the_request_in_flight_then_exits() {
    let mut server = Server::start(&[]);
    let _idle = server.connect();
    let mut busy = server.connect();
    let body = br#"{"not": "a graph"}"#;
    let head = format!(
        "POST /saveGraphWithHistory HTTP/1.1\r\nHost: localhost\r\nX-API-Token: {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    busy.write_all(head.as_bytes()).unwrap();
    busy.write_all(&body[..5]).unwrap();
    sleep(Duration::from_millis(200));

    let killed = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    sleep(Duration::from_millis(300));
    assert!(server.child.try_wait().unwrap().is_none(), "exited with a request in flight");

    busy.write_all(&body[5..]).unwrap();
    let response = read_response(&mut busy, Duration::from_secs(3));
    assert!(response.starts_with("HTTP/1.1 400"), "the request in flight is answered: {response:?}");

    let start = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(3), "still running 3 s after its last request (an idle connection is open)");
        sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    assert!(TcpStream::connect(server.addr).is_err(), "still accepting after shutdown");
}

#[test]
fn a_clean_stop_folds_the_write_ahead_log_into_the_database_file() {
    let mut server = Server::start(&[]);
    let db = server._dir.path().join("h.sqlite");
    let wal = server._dir.path().join("h.sqlite-wal");
    // Letters that do not compress much, so the file's size shows the graph is in it.
    let mut seed = 7u32;
    let info: String = (0..200_000)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            char::from(b'a' + (seed >> 16) as u8 % 26)
        })
        .collect();
    let body =
        format!(r#"{{"id":"6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f","graphData":{{"nodes":[{{"id":"a","info":"{info}"}}],"edges":[]}}}}"#);
    let mut stream = server.connect();
    let head = format!(
        "POST /saveGraphWithHistory HTTP/1.1\r\nHost: localhost\r\nX-API-Token: {TOKEN}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let response = read_response(&mut stream, Duration::from_secs(5));
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
    // A read, so a read-only connection is open too (the last to close used to be one).
    let mut reader = server.connect();
    reader.write_all(get("/getknowgraph?id=6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "Connection: close\r\n").as_bytes()).unwrap();
    assert!(read_response(&mut reader, Duration::from_secs(5)).starts_with("HTTP/1.1 200"));
    assert!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 0, "the save is in the log while the server runs");

    assert!(Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap().success());
    assert!(server.child.wait().unwrap().success());
    assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0, "the log is folded in at a clean stop");
    assert!(std::fs::metadata(&db).unwrap().len() > 100_000, "the file holds the saved graph");
}
