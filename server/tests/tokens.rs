//! Issue 22, item 2: a mistyped scope list fails closed. The real binary
//! refuses to start on an unknown scope, given with `--token` or in a token
//! file (one rule for both), and says whose token it is — never the token.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kg-approval-server");
const SECRET: &str = "secret-token-5d1e";

/// Starts the binary with `args`; it must exit at once with an error.
fn refused(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite");
    let output = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0", "--db", db.to_str().unwrap()])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{args:?} started: {stderr}");
    assert!(output.stdout.is_empty(), "{args:?} listened: {}", String::from_utf8_lossy(&output.stdout));
    assert!(!stderr.contains(SECRET), "the error shows the token: {stderr}");
    stderr
}

#[test]
fn a_mistyped_scope_list_is_a_start_up_error_naming_the_user_not_the_token() {
    for list in ["read,wirte", "Read", "read audit", "read,", ""] {
        let stderr = refused(&["--token", &format!("{SECRET}=frank@example.com:{list}")]);
        assert!(stderr.contains("the token of 'frank@example.com'"), "{list:?}: {stderr}");
        assert!(stderr.contains("scope"), "{list:?}: {stderr}");
    }
    let dir = tempfile::tempdir().unwrap();
    for entry in [
        r#""frank@example.com:read,wirte""#,
        r#"{"user": "frank@example.com", "scopes": ["Read"]}"#,
        r#"{"user": "frank@example.com", "scopes": ["read audit"]}"#,
    ] {
        let file = dir.path().join("tokens.json");
        std::fs::write(&file, format!("{{\"{SECRET}\": {entry}}}")).unwrap();
        let stderr = refused(&["--tokens", file.to_str().unwrap()]);
        assert!(stderr.contains("the token of 'frank@example.com'"), "{entry}: {stderr}");
    }
    // Nor is a too short or repeated token shown.
    let stderr = refused(&["--token", "short=ann@example.com"]);
    assert!(stderr.contains("shorter than 8") && !stderr.contains("short="), "{stderr}");
    let stderr = refused(&["--token", &format!("{SECRET}=ann@example.com"), "--token", &format!("{SECRET}=bob@example.com")]);
    assert!(stderr.contains("ann@example.com") && stderr.contains("bob@example.com"), "{stderr}");
}
