//! `docs/deploy.md` (issue 25): every command on the page is one this test
//! runs or checks. `kg-approval-server` lines and the units' `ExecStart` are
//! parsed by the real binary (with `--help` last: an unknown flag or a bad
//! value fails before it); `curl` names a documented route; `pg_dump`'s
//! flags are ones it lists; `systemctl` names a unit of the page; the
//! proxy's upstreams are the processes' addresses; every `kg_*` metric is
//! one the server exports; the bundle command is run.

use std::collections::BTreeSet;
use std::process::Command;

const PAGE: &str = include_str!("../../docs/deploy.md");
const BIN: &str = env!("CARGO_BIN_EXE_kg-approval-server");

/// The fenced blocks of `lang` (their text, indentation removed).
fn blocks(lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in PAGE.lines() {
        let trimmed = line.trim_start();
        match &mut current {
            None if trimmed == format!("```{lang}") => current = Some(String::new()),
            Some(_) if trimmed == "```" => out.push(current.take().unwrap()),
            Some(text) => {
                text.push_str(trimmed);
                text.push('\n');
            }
            None => {}
        }
    }
    out
}

/// Splits a shell line into words (double and single quotes; no expansion).
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (_, c) => {
                word.push(c);
                any = true;
            }
        }
    }
    assert!(quote.is_none(), "unclosed quote: {line}");
    if any {
        out.push(word);
    }
    out
}

/// Parses the server's arguments as the binary does; panics with its error.
fn parses(args: &[String], context: &str) {
    assert!(!args.iter().any(|a| a.contains('&') && !a.starts_with("postgres")), "{context}: a stray '&'");
    let out = Command::new(BIN).args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{context}: {:?} is refused: {}", args, String::from_utf8_lossy(&out.stderr));
}

/// The `ExecStart` of every unit (with `%i` as instance 1, 2 and 3), and
/// the unit names.
fn units() -> (Vec<Vec<String>>, BTreeSet<String>, Vec<String>) {
    let (mut starts, mut names, mut texts) = (Vec::new(), BTreeSet::new(), Vec::new());
    for unit in blocks("ini").into_iter().filter(|b| b.contains("[Service]")) {
        let template = unit.contains("%i");
        names.insert(if template { "kg-history@".to_owned() } else { "kg-history".to_owned() });
        let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("an ExecStart").to_owned();
        for instance in if template { vec!["1", "2", "3"] } else { vec![""] } {
            starts.push(words(&exec.replace("%i", instance)));
        }
        texts.push(unit);
    }
    (starts, names, texts)
}

#[test]
fn every_server_command_and_unit_parses_with_the_real_binary() {
    let (starts, _, texts) = units();
    assert_eq!(starts.len(), 4, "one SQLite unit, three instances of the PostgreSQL template");
    for start in &starts {
        assert_eq!(start[0], "/usr/local/bin/kg-approval-server");
        parses(&start[1..], "ExecStart");
    }
    for unit in &texts {
        // Stopping: systemd's SIGKILL never comes before the server's own deadline.
        let value =
            |key: &str| unit.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| panic!("{key} in\n{unit}")).trim().to_owned();
        let stop: u64 = value("TimeoutStopSec=").parse().unwrap();
        let exec = words(&value("ExecStart="));
        let deadline: u64 =
            exec.iter().position(|w| w == "--shutdown-timeout").map(|i| exec[i + 1].parse().unwrap()).expect("--shutdown-timeout");
        assert!(stop > deadline, "TimeoutStopSec={stop} must exceed --shutdown-timeout {deadline}");
        assert_eq!(value("KillSignal="), "SIGTERM");
        assert_eq!(value("ExecReload="), "/bin/kill -HUP $MAINPID", "reload is SIGHUP (tested in jwt.rs)");
    }
    let mut server_lines = 0;
    for block in blocks("sh") {
        for line in block.lines().filter(|l| !l.trim().is_empty()) {
            let words = words(line);
            if words[0] == "kg-approval-server" {
                server_lines += 1;
                parses(&words[1..], line);
            }
        }
    }
    assert!(server_lines >= 2, "the page runs the server and its bundle command");
}

#[test]
fn every_other_command_is_one_this_test_checks() {
    let (_, units, _) = units();
    let routes = kg_approval_server::routes::document()["paths"].as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>();
    let pg_dump = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|mut d| d.next()).map(|e| e.unwrap().path().join("bin/pg_dump"));
    for block in blocks("sh") {
        for line in block.lines().filter(|l| !l.trim().is_empty()) {
            let words = words(line);
            match words[0].as_str() {
                "kg-approval-server" => {}
                "cargo" => assert_eq!(words, ["cargo", "build", "--release", "-p", env!("CARGO_PKG_NAME")], "{line}"),
                "install" => assert_eq!(words.last().unwrap(), "/usr/local/bin/kg-approval-server", "{line}"),
                "systemctl" => {
                    for unit in words.iter().skip(2).filter(|w| !w.starts_with("--")) {
                        let name = unit.split('@').next().unwrap();
                        let known = if unit.contains('@') { units.contains(&format!("{name}@")) } else { units.contains(name) };
                        assert!(known, "{line}: unit {unit} is not on the page");
                    }
                }
                "curl" => {
                    let url = words.iter().find(|w| w.starts_with("http")).unwrap_or_else(|| panic!("{line}"));
                    let path = url.splitn(4, '/').nth(3).map(|p| format!("/{}", p.split('?').next().unwrap())).unwrap();
                    assert!(routes.contains(&path), "{line}: {path} is not a route of the OpenAPI document");
                }
                "pg_dump" => {
                    let Some(pg_dump) = &pg_dump else { panic!("pg_dump is missing (apt-get install postgresql)") };
                    let help = String::from_utf8(Command::new(pg_dump).arg("--help").output().unwrap().stdout).unwrap();
                    for flag in words.iter().filter(|w| w.starts_with("--")) {
                        let name = flag.split('=').next().unwrap();
                        assert!(help.contains(name), "{line}: pg_dump has no {name}");
                    }
                }
                other => panic!("docs/deploy.md runs `{other}`, which no test checks: {line}"),
            }
        }
    }
}

#[test]
fn the_proxy_sends_to_the_processes_and_the_alerts_name_real_metrics() {
    let (starts, _, _) = units();
    let addrs: BTreeSet<String> = starts
        .iter()
        .filter(|s| s.iter().any(|w| w.starts_with("postgres://")))
        .map(|s| s[s.iter().position(|w| w == "--addr").unwrap() + 1].clone())
        .collect();
    let nginx = blocks("nginx").concat();
    let upstreams: BTreeSet<String> = nginx
        .lines()
        .filter_map(|l| l.trim().strip_prefix("server ").filter(|l| l.ends_with(';')))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    assert_eq!(upstreams, addrs, "the proxy's upstreams are the three processes");
    // Each process's URL verifies the database's certificate.
    for start in starts.iter().filter(|s| s.iter().any(|w| w.starts_with("postgres://"))) {
        let db = start.iter().find(|w| w.starts_with("postgres://")).unwrap();
        assert!(db.contains("sslmode=verify-full") && db.contains("sslrootcert="), "{db}");
    }
    // The metrics the page names are the server's.
    let exported = include_str!("../src/metrics.rs");
    let mut named = BTreeSet::new();
    for word in PAGE.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| w.starts_with("kg_")) {
        let family = ["_bucket", "_sum", "_count"].iter().find_map(|s| word.strip_suffix(s)).unwrap_or(word);
        named.insert(family.to_owned());
    }
    assert!(named.len() >= 6, "{named:?}");
    for name in named {
        assert!(exported.contains(&format!("\"{name}\"")), "docs/deploy.md names {name}, which the server does not export");
    }
}

#[test]
fn the_backup_command_makes_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    kg_history::open(db.to_str().unwrap()).unwrap();
    let line = blocks("sh").concat().lines().find(|l| l.starts_with("kg-approval-server bundle")).expect("the bundle command").to_owned();
    let args: Vec<String> = words(&line)[1..]
        .iter()
        .map(|w| {
            w.replace("/var/lib/kg-history/history.sqlite", db.to_str().unwrap())
                .replace("/var/backups/kg-history", dir.path().to_str().unwrap())
        })
        .collect();
    let out = Command::new(BIN).args(&args).output().unwrap();
    assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("latest/database.sqlite").is_file() && dir.path().join("latest.zip").is_file());
}
