//! The static files of the web app (`src/www.rs`): the app is served;
//! dotfiles, symlinks out of the directory and traversal spellings are not.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use kg_approval_server::www;

const SECRET: &str = "TOP-SECRET-OUTSIDE";

/// `www::service(dir)` as the fallback of a plain router on a loopback port.
fn start(dir: &Path) -> SocketAddr {
    let dir = dir.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().fallback_service(www::service(dir));
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// Sends `GET <target>` exactly as written (no client-side normalisation);
/// returns the status and the response.
fn get(addr: SocketAddr, target: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(stream, "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status: {response:?}"));
    (status, response)
}

fn assert_json_not_found(addr: SocketAddr, target: &str) {
    let (status, response) = get(addr, target);
    assert_eq!(status, 404, "{target}: {response:?}");
    assert!(response.to_ascii_lowercase().contains("content-type: application/json"), "{target}: {response:?}");
    assert!(response.ends_with(r#"{"error":"Not found."}"#), "{target}: {response:?}");
}

#[cfg(unix)]
#[test]
fn the_app_is_served_and_dotfiles_symlinks_out_and_traversals_are_not() {
    use std::fs;
    use std::os::unix::fs::symlink;

    let tmp = tempfile::tempdir().unwrap();
    let (root, outside) = (tmp.path().join("www"), tmp.path().join("outside"));
    for dir in [&root, &outside, &root.join(".git"), &root.join("assets"), &root.join("sub")] {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(root.join("index.html"), "<h1>the app</h1>").unwrap();
    fs::write(root.join("assets/app.js"), "console.log('app')").unwrap();
    fs::write(root.join(".env"), SECRET).unwrap();
    fs::write(root.join(".git/config"), SECRET).unwrap();
    fs::write(outside.join("secret.txt"), SECRET).unwrap();
    fs::write(outside.join("index.html"), SECRET).unwrap();
    symlink(outside.join("secret.txt"), root.join("leak.txt")).unwrap();
    symlink(&outside, root.join("leakdir")).unwrap();
    symlink(outside.join("index.html"), root.join("sub/index.html")).unwrap();
    symlink(root.join("assets/app.js"), root.join("same.js")).unwrap();
    let addr = start(&root);

    for (target, content) in
        [("/", "<h1>the app</h1>"), ("/index.html", "<h1>the app</h1>"), ("/assets/app.js", "console.log"), ("/same.js", "console.log")]
    {
        let (status, response) = get(addr, target);
        assert_eq!(status, 200, "{target}: {response:?}");
        assert!(response.contains(content), "{target}: {response:?}");
    }
    // A directory without its slash is still redirected (ServeDir's own behaviour).
    assert_eq!(get(addr, "/assets").0, 307);

    let refused = [
        // Dotfiles and dot directories, plain and encoded.
        "/.env",
        "/.git/config",
        "/.git/",
        "/.git",
        "/%2egit/config",
        "/%2Eenv",
        "/assets/../.env",
        // Symlinks out of the directory: a file, a directory, its files, an index.html.
        "/leak.txt",
        "/leakdir",
        "/leakdir/",
        "/leakdir/secret.txt",
        "/sub/",
        "/sub/index.html",
        // Traversal spellings.
        "/../outside/secret.txt",
        "/%2e%2e/outside/secret.txt",
        "/%2E%2E/outside/secret.txt",
        "/..%2foutside%2fsecret.txt",
        "/assets/..%2F..%2Foutside/secret.txt",
        "/..%5coutside%5csecret.txt",
        "/assets%5c..%5c..%5coutside%5csecret.txt",
        // And a file that does not exist: the same answer.
        "/missing.js",
    ];
    for target in refused {
        assert_json_not_found(addr, target);
    }
    // Raw backslashes and absolute-form targets: refused one way or another.
    for target in ["/..\\outside\\secret.txt", "/assets\\..\\..\\outside\\secret.txt", "//etc/hostname"] {
        let (status, response) = get(addr, target);
        assert!(status == 400 || status == 404, "{target}: {response:?}");
        assert!(!response.contains(SECRET), "{target}: {response:?}");
    }
}
