//! The request log (`--request-log DIR`): one JSON line per HTTP request in
//! `DIR/requests-YYYY-MM-DD.jsonl` (the UTC day the request started).
//!
//! ```json
//! {"ts":"2026-02-04T14:30:45.123Z","requestId":"3f2a…","method":"POST","route":"/saveGraphWithHistory","graphId":"6f1c…","version":4,"user":"ann@example.com","status":200,"durationMs":12,"bytesIn":5120,"bytesOut":131}
//! ```
//!
//! - **What is written**: when the request started, an id (also sent to the
//!   client as `X-Request-Id`), the method, the route *pattern* (never the
//!   raw path or its query string, which may carry secrets; `(unmatched)`
//!   for paths no route matches), the graph id and version (from the `id` and
//!   `version` query parameters of reads, from [`LoggedSave`] for saves), the
//!   user (`anonymous` without a valid token), the status, the time until
//!   the response body was sent (or dropped), the request body bytes read and
//!   the response body bytes sent. Never a body, a header, a token. A body
//!   that stalled is logged as the 408 that `serve` answers (with the bytes
//!   of the app's answer, which is not sent, as 0); the 431 of `serve` for
//!   too many headers is answered before the routes and is not logged.
//! - **Never in the way of a request**: lines go through a bounded channel to
//!   one writer thread; when the channel is full the line is counted as
//!   dropped. A write that fails (disk full, directory gone) is counted, its
//!   error kept for `/healthz` and logged with `tracing::error!` (the first
//!   time, then at most once a minute); the request that made the line has
//!   been answered already.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use kg_approval::Timestamp;
use serde::Serialize;

use crate::request::{BodyTimedOut, Caller, REQUEST_ID};

/// Lines the channel to the writer holds; more are dropped (and counted).
pub const DEFAULT_CAPACITY: usize = 10_000;
/// The route of a request no route matched.
pub const UNMATCHED: &str = "(unmatched)";
/// Failures are logged the first time, then at most this often.
const REPORT_EVERY: Duration = Duration::from_secs(60);
/// Longer graph ids (from a query string) are cut to this many characters.
const MAX_GRAPH_ID: usize = 200;

/// What a successful save puts on its response (in the extensions, not the
/// body) for the request log: the request body is never parsed twice.
#[derive(Clone, Debug)]
pub struct LoggedSave {
    pub graph_id: String,
    pub version: i64,
}

/// The writer's counters and last failure, shared with `/healthz`.
#[derive(Default)]
struct Stats {
    /// Lines handed to the channel.
    queued: AtomicU64,
    written: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    /// Whether the last write (or the directory's creation) failed.
    failing: AtomicBool,
    last_error: Mutex<Option<(String, Timestamp)>>,
    /// Held by the writer while it writes, and by an erasure while it
    /// rewrites the files; an erasure then bumps `rewrites` so the writer
    /// reopens its file instead of appending to the one replaced.
    files: Mutex<()>,
    rewrites: AtomicU64,
    /// People erased while this process ran, and their pseudonyms: a line
    /// made after the erasure (a request in flight, the erasure's own line
    /// when an admin erased themself, a token still configured for them)
    /// names the pseudonym.
    erased: Mutex<HashMap<String, String>>,
}

/// The state of the request log, as `/healthz` shows it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub dir: String,
    /// False while writes fail (true again once one succeeds).
    pub ok: bool,
    pub written: u64,
    pub failed: u64,
    pub dropped: u64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

/// One line, with the UTC day that names its file.
struct Entry {
    day: String,
    line: String,
}

/// The request log: a handle that queues lines for its writer thread.
pub struct RequestLog {
    dir: PathBuf,
    sender: SyncSender<Entry>,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLog").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl RequestLog {
    /// Starts the writer for `dir` (created if missing). Never fails: a
    /// directory that cannot be created is a failure like any write, counted
    /// and reported, and retried with the next line.
    pub fn open(dir: impl Into<PathBuf>) -> Arc<RequestLog> {
        RequestLog::with_capacity(dir, DEFAULT_CAPACITY)
    }

    /// [`RequestLog::open`] with a channel of `capacity` lines.
    pub fn with_capacity(dir: impl Into<PathBuf>, capacity: usize) -> Arc<RequestLog> {
        let dir = dir.into();
        let stats = Arc::new(Stats::default());
        let (sender, receiver) = std::sync::mpsc::sync_channel(capacity.max(1));
        let mut writer =
            Writer { dir: dir.clone(), stats: stats.clone(), file: None, opened_at: 0, torn: false, last_report: None, unreported: 0 };
        if let Err(e) = std::fs::create_dir_all(&dir) {
            writer.failed(0, format!("{}: {e}", dir.display()));
        }
        std::thread::Builder::new().name("request-log".into()).spawn(move || writer.run(receiver)).expect("a thread for the request log");
        Arc::new(RequestLog { dir, sender, stats })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Counters and the last failure.
    pub fn status(&self) -> Status {
        let s = &self.stats;
        let last = s.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Status {
            dir: self.dir.display().to_string(),
            ok: !s.failing.load(Ordering::Acquire),
            written: s.written.load(Ordering::Relaxed),
            failed: s.failed.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            last_error_at: last.as_ref().map(|(_, at)| at.to_string()),
            last_error: last.map(|(text, _)| text),
        }
    }

    /// Waits (at most `limit`) until every queued line is written or has
    /// failed: at shutdown, so that the last requests are not lost.
    pub fn flush(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let s = &self.stats;
        while s.written.load(Ordering::Acquire) + s.failed.load(Ordering::Acquire) < s.queued.load(Ordering::Acquire)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Replaces `person` by `pseudonym` in every line of the log (erasure),
    /// with the writer paused; returns the lines rewritten.
    pub fn rename_person(&self, person: &str, pseudonym: &str) -> std::io::Result<u64> {
        self.stats.erased.lock().unwrap_or_else(|e| e.into_inner()).insert(person.to_owned(), pseudonym.to_owned());
        // Lines queued before are written first, then rewritten with the rest.
        self.flush(Duration::from_secs(5));
        let _files = self.stats.files.lock().unwrap_or_else(|e| e.into_inner());
        let lines = crate::log_files::rename_person(&self.dir, person, pseudonym)?;
        self.stats.rewrites.fetch_add(1, Ordering::AcqRel);
        Ok(lines)
    }

    /// `--keep-request-log-days`: removes the files of days older than
    /// `days` (see [`crate::log_files::expire`]), with the writer paused.
    pub fn expire(&self, days: i64, now: Timestamp) -> std::io::Result<Vec<PathBuf>> {
        let _files = self.stats.files.lock().unwrap_or_else(|e| e.into_inner());
        let removed = crate::log_files::expire(&self.dir, days, now)?;
        self.stats.rewrites.fetch_add(1, Ordering::AcqRel);
        Ok(removed)
    }

    /// Writes a line that is no request's (an alarm, see `crate::alarms`)
    /// to the file of the UTC day it is made, through the same queue.
    pub fn note(&self, line: &serde_json::Value) {
        let day = Timestamp::now().to_string()[..10].to_owned();
        self.send(Entry { day, line: line.to_string() });
    }

    fn send(&self, entry: Entry) {
        match self.sender.try_send(entry) {
            Ok(()) => {
                self.stats.queued.fetch_add(1, Ordering::AcqRel);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The writer thread: appends batches of lines to the file of their day.
struct Writer {
    dir: PathBuf,
    stats: Arc<Stats>,
    /// The open file and its day.
    file: Option<(String, File)>,
    /// `Stats::rewrites` when the file was opened.
    opened_at: u64,
    /// A write failed part way: the next one starts on a new line.
    torn: bool,
    last_report: Option<Instant>,
    /// Failures since the last report.
    unreported: u64,
}

impl Writer {
    fn run(mut self, receiver: Receiver<Entry>) {
        let mut batch = Vec::new();
        while let Ok(first) = receiver.recv() {
            batch.push(first);
            while batch.len() < 1024 {
                match receiver.try_recv() {
                    Ok(entry) => batch.push(entry),
                    Err(_) => break,
                }
            }
            for day in batch.chunk_by(|a, b| a.day == b.day) {
                self.write(day);
            }
            batch.clear();
        }
    }

    fn write(&mut self, entries: &[Entry]) {
        let mut buf = Vec::with_capacity(entries.iter().map(|e| e.line.len() + 1).sum::<usize>() + 1);
        if self.torn {
            buf.push(b'\n');
        }
        for entry in entries {
            buf.extend_from_slice(entry.line.as_bytes());
            buf.push(b'\n');
        }
        let day = &entries[0].day;
        let path = self.dir.join(format!("requests-{day}.jsonl"));
        let stats = self.stats.clone();
        let _files = stats.files.lock().unwrap_or_else(|e| e.into_inner());
        let rewrites = stats.rewrites.load(Ordering::Acquire);
        if self.opened_at != rewrites {
            self.file = None;
            self.opened_at = rewrites;
        }
        if self.file.as_ref().is_none_or(|(open, _)| open != day) {
            self.file = None;
            let opened = std::fs::create_dir_all(&self.dir).and_then(|()| OpenOptions::new().create(true).append(true).open(&path));
            match opened {
                Ok(file) => self.file = Some((day.clone(), file)),
                Err(e) => return self.failed(entries.len() as u64, format!("{}: {e}", path.display())),
            }
        }
        let (_, file) = self.file.as_mut().expect("opened above");
        match file.write_all(&buf) {
            Ok(()) => {
                self.torn = false;
                self.stats.written.fetch_add(entries.len() as u64, Ordering::AcqRel);
                if self.stats.failing.swap(false, Ordering::AcqRel) {
                    tracing::info!(dir = %self.dir.display(), "request log: writing again");
                    self.last_report = None;
                }
            }
            Err(e) => {
                // Reopened (and retried) with the next batch.
                self.file = None;
                self.torn = true;
                self.failed(entries.len() as u64, format!("{}: {e}", path.display()));
            }
        }
    }

    fn failed(&mut self, lines: u64, error: String) {
        let stats = &self.stats;
        *stats.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some((error.clone(), Timestamp::now()));
        stats.failing.store(true, Ordering::Release);
        // Counted last: `flush` waits on it.
        stats.failed.fetch_add(lines, Ordering::AcqRel);
        self.unreported += lines;
        if self.last_report.is_none_or(|at| at.elapsed() >= REPORT_EVERY) {
            tracing::error!(%error, lost_lines = self.unreported, "request log: cannot write (requests are still served; next report in a minute at most)");
            self.last_report = Some(Instant::now());
            self.unreported = 0;
        }
    }
}

/// One request's line, written when its response body ends or is dropped.
struct Pending {
    log: Arc<RequestLog>,
    started: Instant,
    ts: Timestamp,
    request_id: String,
    method: Method,
    route: Option<String>,
    graph_id: Option<String>,
    version: Option<i64>,
    user: Option<String>,
    status: u16,
    bytes_in: Arc<AtomicU64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Line<'a> {
    ts: String,
    request_id: &'a str,
    method: &'a str,
    route: &'a str,
    graph_id: Option<&'a str>,
    version: Option<i64>,
    user: &'a str,
    status: u16,
    duration_ms: u64,
    bytes_in: u64,
    bytes_out: u64,
}

impl Pending {
    fn finish(self, bytes_out: u64) {
        let ts = self.ts.to_string();
        let erased = self.user.as_ref().and_then(|u| self.log.stats.erased.lock().unwrap_or_else(|e| e.into_inner()).get(u).cloned());
        let line = Line {
            ts: ts.clone(),
            request_id: &self.request_id,
            method: self.method.as_str(),
            route: self.route.as_deref().unwrap_or(UNMATCHED),
            graph_id: self.graph_id.as_deref(),
            version: self.version,
            user: erased.as_deref().or(self.user.as_deref()).unwrap_or("anonymous"),
            status: self.status,
            duration_ms: self.started.elapsed().as_millis().try_into().unwrap_or(u64::MAX),
            bytes_in: self.bytes_in.load(Ordering::Acquire),
            bytes_out,
        };
        let line = serde_json::to_string(&line).expect("a line serializes");
        self.log.send(Entry { day: ts[..10].to_owned(), line });
    }
}

/// The middleware (`axum::middleware::from_fn_with_state`): outside
/// authentication, so that refused requests are logged too.
pub async fn middleware(State(log): State<Arc<RequestLog>>, request: Request, next: Next) -> Response {
    let (started, ts) = (Instant::now(), Timestamp::now());
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let (mut graph_id, mut version) = (None, None);
    if route.is_some() && method == Method::GET {
        if let Ok(Query(params)) = Query::<std::collections::HashMap<String, String>>::try_from_uri(request.uri()) {
            graph_id = params.get("id").filter(|id| !id.is_empty()).map(|id| id.chars().take(MAX_GRAPH_ID).collect());
            if route.as_deref() == Some("/getknowgraphversion") {
                version = params.get("version").and_then(|v| v.parse::<i64>().ok());
            }
        }
    }
    // Set by `serve` when the body stalls: the client gets a 408, not the app's answer.
    let timed_out = request.extensions().get::<BodyTimedOut>().cloned();
    let bytes_in = Arc::new(AtomicU64::new(0));
    let counter = bytes_in.clone();
    let request = request.map(|body| Body::new(CountedBody { inner: body, count: counter }));

    let mut response = next.run(request).await;

    if let Some(saved) = response.extensions().get::<LoggedSave>() {
        graph_id = Some(saved.graph_id.clone());
        version = Some(saved.version);
    }
    let user = response.extensions().get::<Caller>().and_then(|c| c.0.as_ref()).map(|p| p.user.clone());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let status = if timed_out.is_some_and(|t| t.get()) { 408 } else { response.status().as_u16() };
    let pending = Pending { log, started, ts, request_id, method, route, graph_id, version, user, status, bytes_in };
    response.map(|body| Body::new(LoggedBody { inner: body, sent: 0, pending: Some(pending) }))
}

/// A request body that counts the bytes read from it.
struct CountedBody {
    inner: Body,
    count: Arc<AtomicU64>,
}

impl HttpBody for CountedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.count.fetch_add(data.len() as u64, Ordering::AcqRel);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that counts the bytes sent and writes the request's line
/// when it ends, fails or is dropped (a client that went away).
struct LoggedBody {
    inner: Body,
    sent: u64,
    pending: Option<Pending>,
}

impl LoggedBody {
    fn finish(&mut self) {
        if let Some(pending) = self.pending.take() {
            pending.finish(self.sent);
        }
    }
}

impl HttpBody for LoggedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.sent += data.len() as u64;
                }
                // hyper stops polling a body that says it has ended.
                if this.inner.is_end_stream() {
                    this.finish();
                }
            }
            Poll::Ready(None | Some(Err(_))) => this.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for LoggedBody {
    fn drop(&mut self) {
        self.finish();
    }
}

/// An erasure rewrites the live log, with its writer paused.
impl kg_history::erase::PersonalRecords for RequestLog {
    fn rename_person(&self, person: &str, pseudonym: &str) -> std::io::Result<u64> {
        RequestLog::rename_person(self, person, pseudonym)
    }
}
