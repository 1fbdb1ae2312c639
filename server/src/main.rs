//! `kg-approval-server`: the history service as a command.
//!
//! ```sh
//! cargo run --release -p kg-approval-server -- --db history.sqlite --token demo-token-123=demo@example.com
//! kg-approval-server export --db history.sqlite --format csv --out audit.csv
//! kg-approval-server bundle --db history.sqlite --out bundle --zip
//! kg-approval-server erase-user --db history.sqlite --user ann@example.com
//! kg-approval-server report --db history.sqlite --group-by modelVersion --bucket week --format csv
//! ```

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use kg_approval_server::auth::Auth;
use kg_approval_server::auth::jwt::{JwtArgs, JwtVerifier};
use kg_approval_server::log_files::{self, LogDir};
use kg_approval_server::report_cli::{FilterArgs, TableArgs};
use kg_approval_server::request_log::RequestLog;
use kg_approval_server::serve::{self, DEFAULT_BODY_TIMEOUT_SECS, DEFAULT_HEADER_TIMEOUT_SECS, DEFAULT_MAX_CONNECTIONS, Limits};
use kg_approval_server::shutdown::{self, DEFAULT_SHUTDOWN_TIMEOUT_SECS};
use kg_approval_server::{AppState, Settings, router};
use kg_history::access::{GraphAccess, Policy};
use kg_history::erase::{self, NoRecords, PersonalRecords};
use kg_history::export::{self, parse_time};
use kg_history::store::ExportFilter;
use kg_history::{Store, bundle, retention, seed};
use tracing_subscriber::EnvFilter;

/// History server for kg-approval: keeps every version of every graph, with
/// who saved it, why, a server-computed diff and a hash chain. Without a
/// command it serves (the flags below); the commands work on a database
/// directly, also while a server runs on it.
#[derive(Parser, Debug)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Args,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Command {
    /// Serve the history API (the default).
    Serve(Args),
    /// Export the audit trail: one CSV row or JSONL line per changed field.
    Export(ExportArgs),
    /// Write a debug bundle: an online backup, recent audit rows, stats,
    /// system info, a manifest of checksums. Never a token.
    Bundle(BundleArgs),
    /// Replace a person by their pseudonym everywhere (audit entries, stamps,
    /// heads, grants, request logs); every chain still verifies.
    EraseUser(EraseArgs),
    /// Report on the AI's suggestions and the decisions on them (the figures
    /// of GET /getauditstats): per group and UTC day, week or month.
    Report(kg_approval_server::report_cli::ReportArgs),
}

#[derive(clap::Args, Debug)]
struct ExportArgs {
    #[arg(long)]
    db: String,
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    table: TableArgs,
}

#[derive(clap::Args, Debug)]
struct BundleArgs {
    #[arg(long)]
    db: String,
    /// The directory to write (created; must not exist or be empty).
    #[arg(long)]
    out: PathBuf,
    /// Also pack it into OUT.zip.
    #[arg(long)]
    zip: bool,
    /// How many of the newest audit entries (versions) to export as CSV.
    #[arg(long, default_value_t = 1000)]
    audit_limit: i64,
    /// The request log directory (`--request-log` of the server): its files
    /// go into the bundle's `request-log/`.
    #[arg(long, value_name = "DIR")]
    request_log: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct EraseArgs {
    #[arg(long)]
    db: String,
    /// The person (user id) to erase.
    #[arg(long)]
    user: String,
    /// The request log directory to rewrite too (stop the server writing it, or
    /// use the admin route /eraseUser on the running server instead).
    #[arg(long, value_name = "DIR")]
    request_log: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8787")]
    addr: SocketAddr,
    /// The database: a SQLite file (created if missing), or a PostgreSQL URL
    /// `postgres://USER[:PASSWORD]@HOST:PORT/DBNAME` (or `PGPASSWORD`).
    #[arg(long, default_value = "kg-history.sqlite")]
    db: String,
    /// JSON file of API tokens: {"<token>": "<user id>"} (read and write) or
    /// {"<token>": {"user": "<user id>", "scopes": ["read", "write", "audit", "admin"]}}.
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// An API token for a user, TOKEN=USER (read and write) or
    /// TOKEN=USER:SCOPE,SCOPE with scopes from read, write, audit, admin (repeatable).
    #[arg(long = "token", value_name = "TOKEN=USER[:SCOPES]")]
    token: Vec<String>,
    /// Who may write a graph: `open` (any token with write, as the real
    /// service) or `owned` (its owner and the editors it grants; only owners
    /// and admins save with override).
    /// open or owned.
    #[arg(long, default_value = "open")]
    graph_access: GraphAccess,
    /// Reading graphs and their history needs a token with the read scope
    /// (and, with --graph-access owned, a role on the graph).
    #[arg(long)]
    private_reads: bool,
    /// Largest request body in bytes (larger ones get 413).
    #[arg(long, default_value_t = 10 * 1024 * 1024)]
    body_limit: usize,
    /// Keep the graph snapshots of only the newest N versions; their audit
    /// entries and hashes are always kept. Default: keep everything.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    keep_versions: Option<i64>,
    /// An origin allowed by CORS (repeatable). Default: any origin.
    #[arg(long = "allow-origin")]
    allow_origin: Vec<String>,
    /// Directory with the built web app, served at /.
    #[arg(long)]
    www: Option<PathBuf>,
    /// Import the *.json graphs of this directory (once) as new graphs; repeatable.
    #[arg(long)]
    seed: Vec<PathBuf>,
    /// The user seeded graphs are saved as.
    #[arg(long, default_value = "seed@kg-approval")]
    seed_user: String,
    /// Seconds a client has to send a request line and its headers (and the
    /// longest a keep-alive connection may idle); slower connections are closed.
    #[arg(long, default_value_t = DEFAULT_HEADER_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_secs: u64,
    /// Seconds a request body may stop arriving before the request gets 408.
    #[arg(long, default_value_t = DEFAULT_BODY_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout_secs: u64,
    /// Connections served at once; further ones wait in the accept backlog.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    max_connections: usize,
    /// Write one JSON line per request to DIR/requests-YYYY-MM-DD.jsonl (UTC
    /// day; DIR is created if missing): time, request id, method, route,
    /// graph id, version, user, status, duration, bytes in and out. Never a
    /// body, token or query string. A failing log never fails a request (see /healthz).
    #[arg(long, value_name = "DIR")]
    request_log: Option<PathBuf>,
    /// Remove the audit records (who, why, run, decisions) of versions older
    /// than D days; each version's time, changes and hashes stay, and every
    /// chain still verifies. Checked at start and hourly. Default: keep all.
    #[arg(long, value_name = "D", value_parser = clap::value_parser!(i64).range(1..))]
    keep_audit_days: Option<i64>,
    /// Remove the request log's files of days older than D days (they name
    /// people); checked at start and hourly. Default: keep all.
    #[arg(long, value_name = "D", requires = "request_log", value_parser = clap::value_parser!(i64).range(1..))]
    keep_request_log_days: Option<i64>,
    #[command(flatten)]
    alarms: kg_approval_server::alarms::AlarmArgs,
    #[command(flatten)]
    jwt: JwtArgs,
    /// Also serve GET /metrics, without a token, on this address (keep it
    /// private: a port the Prometheus scraper reaches and clients do not).
    /// On the main address /metrics needs the admin scope.
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<SocketAddr>,
    /// On SIGTERM, seconds to let requests in flight finish (a save
    /// completes or is rolled back, never half stored) before the process exits.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_SHUTDOWN_TIMEOUT_SECS)]
    shutdown_timeout: u64,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    // Logs go to stderr; stdout carries only the "listening on" line.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let args = match cli.command {
        None => cli.serve,
        Some(Command::Serve(args)) => args,
        Some(Command::Export(args)) => return offline(move || run_export(args)).await,
        Some(Command::Bundle(args)) => {
            return offline(move || {
                let request_log = match args.request_log.as_deref() {
                    Some(dir) => log_files::list(dir).map_err(|e| format!("{}: {e}", dir.display()))?,
                    None => Vec::new(),
                };
                let made_by = (env!("CARGO_PKG_NAME").to_owned(), env!("CARGO_PKG_VERSION").to_owned());
                let contents = bundle::Contents { zip: args.zip, audit_limit: args.audit_limit, request_log, made_by };
                bundle::write(&args.db, &args.out, &contents)
            })
            .await;
        }
        Some(Command::EraseUser(args)) => return offline(move || run_erase(args)).await,
        Some(Command::Report(args)) => return offline(move || kg_approval_server::report_cli::run(args)).await,
    };

    let mut auth = Auth::from_sources(args.tokens.clone(), args.token.clone())?;
    if let Some(config) = args.jwt.config()? {
        auth = auth.with_jwt(JwtVerifier::new(config).await?);
    }
    if auth.is_empty() {
        tracing::warn!("no API tokens or sign-in provider configured: reads work, every write will get 401");
    }
    let auth = Arc::new(auth);
    let stop = shutdown::listen(auth.clone()).map_err(|e| format!("signals: {e}"))?;
    // Opening (and seeding) waits for the database: off the async workers.
    let (db, seed_dir, seed_user) = (args.db.clone(), args.seed.clone(), args.seed_user.clone());
    let store = tokio::task::spawn_blocking(move || -> Result<Store, String> {
        let store = kg_history::open(&db)?;
        for dir in &seed_dir {
            for (file, id) in seed::seed_dir(&store, dir, &seed_user)? {
                tracing::info!(%file, %id, "seeded");
            }
        }
        finish_scrubs(&store);
        Ok(store)
    })
    .await
    .map_err(|e| e.to_string())??;
    tracing::info!(backend = store.backend(), "history store open");
    let settings = Settings {
        body_limit: args.body_limit,
        keep_versions: args.keep_versions,
        allowed_origins: args.allow_origin,
        www: args.www,
        access: Policy { graph_access: args.graph_access, private_reads: args.private_reads },
        alarms: None,
    };
    let request_log = args.request_log.as_ref().map(|dir| {
        tracing::info!(dir = %dir.display(), "request log on");
        RequestLog::open(dir)
    });
    let store = Arc::new(store);
    let metrics = kg_approval_server::metrics::Metrics::new();
    let alarms = kg_approval_server::alarms::start_from(&args.alarms, store.clone(), request_log.clone(), metrics.clone())?;
    let settings = Settings { alarms, ..settings };
    let store_handle = store.clone();
    let state = AppState { store, auth, settings: Arc::new(settings), request_log: request_log.clone(), metrics };
    let app = router(state.clone());

    tokio::spawn(scrubs_owed(store_handle.clone()));
    let log_days = args.keep_request_log_days.zip(request_log.clone());
    if args.keep_audit_days.is_some() || log_days.is_some() {
        tokio::spawn(retention_hourly(store_handle, args.keep_audit_days, log_days));
    }

    let listener = tokio::net::TcpListener::bind(args.addr).await.map_err(|e| format!("{}: {e}", args.addr))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    // Tests and scripts read this line to find the port.
    println!("listening on http://{bound}");
    let limits = Limits {
        header_read_timeout: Duration::from_secs(args.header_timeout_secs),
        body_read_timeout: Duration::from_secs(args.body_timeout_secs),
        max_connections: args.max_connections,
        ..Limits::default()
    };
    if let Some(addr) = args.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("--metrics-addr {addr}: {e}"))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!("metrics on http://{bound}/metrics");
        let metrics = kg_approval_server::metrics::router(state.metrics.clone(), state.store.clone(), state.request_log.clone());
        tokio::spawn(serve::serve(listener, metrics, Limits::default(), stop.clone().requested()));
    }
    let timeout = Duration::from_secs(args.shutdown_timeout);
    let cut_off = tokio::select! {
        served = serve::serve(listener, app, limits, stop.clone().requested()) => { served.map_err(|e| e.to_string())?; false }
        () = stop.deadline(timeout) => true,
    };
    if cut_off {
        tracing::warn!(
            seconds = args.shutdown_timeout,
            "--shutdown-timeout passed: requests still running are cut off (uncommitted saves roll back)"
        );
    }
    // The last requests' lines, before the process ends.
    if let Some(log) = request_log {
        tokio::task::spawn_blocking(move || log.flush(Duration::from_secs(5))).await.map_err(|e| e.to_string())?;
    }
    if cut_off {
        // Not a return: the runtime would wait for the cut-off saves' threads.
        std::process::exit(1);
    }
    Ok(())
}

/// Runs a command that works on the database directly, off the async workers.
async fn offline(f: impl FnOnce() -> Result<String, String> + Send + 'static) -> Result<(), String> {
    let said = tokio::task::spawn_blocking(f).await.map_err(|e| e.to_string())??;
    eprintln!("{said}");
    Ok(())
}

fn run_export(args: ExportArgs) -> Result<String, String> {
    let time = |name: &str, t: &Option<String>| t.as_deref().map(|t| parse_time(name, t).map_err(|e| e.to_string())).transpose();
    let f = args.filter;
    let filter = ExportFilter {
        graph_id: f.id,
        node_id: f.node_id,
        user: f.user,
        run_id: f.run_id,
        from: time("from", &f.from)?,
        to: time("to", &f.to)?,
    };
    let csv = args.table.csv()?;
    let store = kg_history::open(&args.db)?;
    let rows = args.table.write(|out| export::export_with(&store, &filter, args.table.format, csv, out).map_err(|e| e.to_string()))?;
    Ok(format!("exported {rows} rows"))
}

fn run_erase(args: EraseArgs) -> Result<String, String> {
    let store = kg_history::open(&args.db)?;
    let records: &dyn PersonalRecords = match args.request_log.as_deref() {
        Some(dir) => &LogDir(dir),
        None => &NoRecords,
    };
    let erasure = erase::erase(&store, &args.user, "cli", records).map_err(|e| e.to_string())?;
    serde_json::to_string(&erasure).map_err(|e| e.to_string())
}

/// Does the scrub an erasure owes, if one does (see [`erase::finish_scrubs`]).
fn finish_scrubs(store: &Store) {
    match erase::finish_scrubs(store) {
        Ok(Some(through)) => tracing::info!(through, "the scrub an erasure owed is done"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "an erasure's scrub is owed and failed; retried in 5 minutes"),
    }
}

/// An erasure whose scrub failed (readers held old pages) is scrubbed
/// within 5 minutes; one cut off by a stop, when the server starts.
async fn scrubs_owed(store: Arc<Store>) {
    let mut every = tokio::time::interval(Duration::from_secs(300));
    every.tick().await;
    loop {
        every.tick().await;
        let store = store.clone();
        let _ = tokio::task::spawn_blocking(move || finish_scrubs(&store)).await;
    }
}

/// `--keep-audit-days` and `--keep-request-log-days`: expires old audit
/// records and request log files at start, then hourly.
async fn retention_hourly(store: Arc<Store>, audit_days: Option<i64>, log_days: Option<(i64, Arc<RequestLog>)>) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        every.tick().await;
        if let Some(days) = audit_days {
            let store = store.clone();
            match tokio::task::spawn_blocking(move || retention::expire_audit(&store, days, kg_approval::Timestamp::now())).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(versions = n, days, "audit records expired"),
                Ok(Err(e)) => tracing::warn!(error = %e, "audit expiry failed; retried in an hour"),
                Err(e) => tracing::warn!(error = %e, "audit expiry failed"),
            }
        }
        if let Some((days, log)) = log_days.clone() {
            match tokio::task::spawn_blocking(move || log.expire(days, kg_approval::Timestamp::now())).await {
                Ok(Ok(removed)) if removed.is_empty() => {}
                Ok(Ok(removed)) => tracing::info!(files = removed.len(), days, "request log files expired"),
                Ok(Err(e)) => tracing::warn!(error = %e, "request log expiry failed; retried in an hour"),
                Err(e) => tracing::warn!(error = %e, "request log expiry failed"),
            }
        }
    }
}
