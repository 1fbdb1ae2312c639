//! PostgreSQL over TLS (issue 25): a cluster of the test's own with `ssl=on`
//! and a CA and server certificate the test makes; the URL's `sslmode` and
//! `sslrootcert` as libpq spells them.

#[path = "support/keys.rs"]
mod keys;
mod support;

use std::path::Path;
use std::process::Command;

use kg_history::read;
use serde_json::json;

/// A throwaway cluster (scripts/pg.sh) with TLS on, its certificate issued
/// for `localhost` by a CA of the test's: (URL base `127.0.0.1:PORT`, the
/// cluster's directory, the CA file).
struct TlsCluster {
    port: String,
    dir: String,
    ca: std::path::PathBuf,
    _certs: tempfile::TempDir,
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(script()).args(["stop", &self.dir]).status();
    }
}

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg.sh")
}

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("the cluster answers");
    tokio::spawn(connection);
    client
}

async fn tls_cluster() -> TlsCluster {
    let out = Command::new("bash").arg(script()).args(["start", "--owner", &std::process::id().to_string()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = String::from_utf8(out.stdout).unwrap();
    let (url, dir) = (out.lines().next().unwrap().to_owned(), out.lines().nth(1).unwrap().to_owned());
    let port = url.rsplit_once(':').unwrap().1.split('/').next().unwrap().to_owned();
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = keys::ca_and_server_cert(certs.path(), &["localhost"]);
    // The server's key must belong to the cluster's user, readable by it alone.
    let data = Path::new(&dir).join("data");
    for (from, to) in [(&cert, "server.crt"), (&key, "server.key")] {
        let mut install = Command::new("install");
        install.args(["-m", "600"]);
        if is_root() {
            install.args(["-o", "postgres", "-g", "postgres"]);
        }
        assert!(install.arg(from).arg(data.join(to)).status().unwrap().success());
    }
    let client = admin(&url).await;
    for statement in [
        "ALTER SYSTEM SET ssl = on",
        "ALTER SYSTEM SET ssl_cert_file = 'server.crt'",
        "ALTER SYSTEM SET ssl_key_file = 'server.key'",
        "SELECT pg_reload_conf()",
    ] {
        client.batch_execute(statement).await.unwrap();
    }
    // The reload takes effect for new connections once the postmaster has read it.
    for _ in 0..50 {
        if admin(&url).await.query_one("SHOW ssl", &[]).await.unwrap().get::<_, String>(0) == "on" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    TlsCluster { port, dir, ca, _certs: certs }
}

fn is_root() -> bool {
    String::from_utf8(Command::new("id").arg("-u").output().unwrap().stdout).unwrap().trim() == "0"
}

impl TlsCluster {
    /// A fresh database; its URL on `host` with `query`.
    async fn database(&self, host: &str, query: &str) -> String {
        let name = format!("kg_tls_{}", uuid::Uuid::new_v4().simple());
        admin(&format!("postgres://kg@127.0.0.1:{}/postgres", self.port))
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        format!("postgres://kg@{host}:{}/{name}?{query}", self.port)
    }

    /// How many connections to `url`'s database use TLS, and how many do not.
    async fn connections(&self, url: &str) -> (i64, i64) {
        let name = url.split('?').next().unwrap().rsplit_once('/').unwrap().1.to_owned();
        let row = admin(&format!("postgres://kg@127.0.0.1:{}/postgres?sslmode=disable", self.port))
            .await
            .query_one(
                "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1",
                &[&name],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    }
}

async fn open(url: String) -> Result<kg_history::Store, String> {
    tokio::task::spawn_blocking(move || kg_history::open(&url)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_full_stores_over_tls_and_every_misconfiguration_is_a_clear_start_up_error() {
    let cluster = tls_cluster().await;
    let ca = cluster.ca.display().to_string();

    // verify-full: the CA and the host name check out; every connection is TLS.
    let url = cluster.database("localhost", &format!("sslmode=verify-full&sslrootcert={ca}")).await;
    let store = std::sync::Arc::new(open(url.clone()).await.expect("verify-full against a certificate for localhost"));
    let saved = tokio::task::spawn_blocking({
        let store = store.clone();
        move || {
            let body = kg_history::save::SaveBody::parse(
                json!({"id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", "graphData": support::graph(None, "A"), "override": false})
                    .to_string()
                    .as_bytes(),
            )
            .unwrap();
            let ctx = kg_history::write::SaveContext {
                user: "ann@example.com",
                idempotency_key: None,
                now: kg_approval::Timestamp::now(),
                keep_versions: None,
            };
            kg_history::save::save(&store, body, ctx).unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(saved.version, 1);
    let verified = tokio::task::spawn_blocking({
        let store = store.clone();
        move || store.read(|db| read::verify(db, "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f")).unwrap()
    })
    .await
    .unwrap();
    assert!(verified.ok);
    let (tls, plain) = cluster.connections(&url).await;
    assert!(tls >= 1 && plain == 0, "{tls} TLS, {plain} plain connections");

    // verify-ca checks the CA only: an address the certificate does not name is fine.
    open(cluster.database("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca}")).await).await.expect("verify-ca by address");
    // require encrypts without checking; disable does not encrypt.
    open(cluster.database("127.0.0.1", "sslmode=require").await).await.expect("require");
    let url = cluster.database("127.0.0.1", "sslmode=disable").await;
    let _plain_store = open(url.clone()).await.expect("disable");
    assert_eq!(cluster.connections(&url).await.0, 0);

    // verify-full on a name the certificate does not hold.
    let error = open(cluster.database("127.0.0.1", &format!("sslmode=verify-full&sslrootcert={ca}")).await).await.err().unwrap();
    assert!(error.contains("not issued for the host name '127.0.0.1'") && error.contains("verify-full"), "{error}");
    // verify-full against a certificate of another CA.
    let other = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = keys::ca_and_server_cert(other.path(), &["localhost"]);
    let error =
        open(cluster.database("localhost", &format!("sslmode=verify-full&sslrootcert={}", other_ca.display())).await).await.err().unwrap();
    assert!(error.contains("TLS certificate was refused"), "{error}");
    // verify-full without a CA, a CA file that is not there, a mistyped mode.
    let error = open(cluster.database("localhost", "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem").await).await.err().unwrap();
    assert!(error.contains("/nonexistent/ca.pem"), "{error}");
    let error = open(cluster.database("localhost", "sslmode=verify_full").await).await.err().unwrap();
    assert!(error.contains("verify_full") && error.contains("verify-full"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn require_against_a_server_without_tls_is_a_clear_start_up_error() {
    // The shared test cluster runs without TLS.
    let plain = support::postgres_database().await;
    let error = open(format!("{plain}?sslmode=require")).await.err().unwrap();
    assert!(error.contains("does not accept TLS") && error.contains("sslmode=require"), "{error}");
    assert!(!error.contains("password"), "{error}");
    // prefer (the default) falls back to a plain connection.
    open(format!("{plain}?sslmode=prefer")).await.expect("prefer without TLS");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_serves_on_a_tls_only_database_and_exits_on_a_wrong_host_name() {
    let cluster = tls_cluster().await;
    // TLS only: plain connections refused by pg_hba.
    let hba = Path::new(&cluster.dir).join("data/pg_hba.conf");
    let text = std::fs::read_to_string(&hba).unwrap().replace("\nhost ", "\nhostssl ");
    std::fs::write(&hba, text).unwrap();
    admin(&format!("postgres://kg@127.0.0.1:{}/postgres", cluster.port)).await.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let ca = cluster.ca.display().to_string();
    let plain = tokio_postgres::connect(&format!("postgres://kg@127.0.0.1:{}/postgres", cluster.port), tokio_postgres::NoTls).await;
    assert!(plain.is_err(), "a plain connection is refused now");
    let tls = format!("postgres://kg@localhost:{}/postgres?sslmode=verify-full&sslrootcert={ca}", cluster.port);
    let (mut child, url) = support::spawn_binary(&["--db", &tls]);
    let ready = reqwest::get(format!("{url}/readyz")).await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    child.kill().unwrap();
    child.wait().unwrap();

    let wrong = format!("postgres://kg@127.0.0.1:{}/postgres?sslmode=verify-full&sslrootcert={ca}", cluster.port);
    let out = Command::new(env!("CARGO_BIN_EXE_kg-approval-server")).args(["--addr", "127.0.0.1:0", "--db", &wrong]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not issued for the host name '127.0.0.1'"), "{stderr}");
}
