//! The built web app, served at `/`: tower-http's `ServeDir` (with
//! `index.html` for directories), behind two refusals it does not make.
//!
//! - A path with a segment that starts with `.` (`/.env`, `/.git/config`,
//!   `/%2egit/`): dotfiles are never part of the app.
//! - A file or directory whose canonical path (symlinks resolved) is outside
//!   the canonical directory, such as a symlink to `/etc`. For a directory,
//!   the `index.html` it would serve is checked too. The directory itself is
//!   resolved on each request, so it may be a symlink swapped on deploy.
//!
//! `ServeDir` itself refuses `..` (also as `%2e%2e` or with an encoded
//! slash); paths with a backslash (`\` or `%5c`) are refused here too. Every
//! refusal, and every file that does not exist, gets the same answer: 404
//! with `{"error":"Not found."}`, so the answer does not tell a refused file
//! from a missing one.

use std::convert::Infallible;
use std::future::Future;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde_json::json;
use tower::{Service, ServiceExt};
use tower_http::services::ServeDir;

/// The service for `Router::fallback_service`: the files of `dir`.
pub fn service(dir: PathBuf) -> Www {
    Www { files: ServeDir::new(&dir).append_index_html_on_directories(true), dir: Arc::from(dir) }
}

/// Serves a directory of static files (see the module documentation).
#[derive(Clone, Debug)]
pub struct Www {
    dir: Arc<Path>,
    files: ServeDir,
}

impl<B: Send + 'static> Service<Request<B>> for Www {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (dir, files) = (self.dir.clone(), self.files.clone());
        Box::pin(async move {
            if !inside(&dir, request.uri().path()).await {
                return Ok(not_found());
            }
            let response = match files.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if response.status() == StatusCode::NOT_FOUND {
                return Ok(not_found());
            }
            Ok(response.map(Body::new))
        })
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(json!({ "error": "Not found." }))).into_response()
}

/// Whether the request path may be served: no dot segment, no backslash,
/// and what it names exists and resolves to inside `dir`.
async fn inside(dir: &Path, uri_path: &str) -> bool {
    let Some(relative) = relative_path(uri_path) else { return false };
    let (dir, target) = (dir.to_path_buf(), dir.join(relative));
    let resolved = tokio::task::spawn_blocking(move || -> Option<bool> {
        let root = dir.canonicalize().ok()?;
        // Missing or unreadable: refused (the same 404 ServeDir would give).
        let target = target.canonicalize().ok()?;
        if !target.starts_with(&root) {
            return Some(false);
        }
        if target.is_dir() {
            // The index.html served for the directory must be inside too.
            if let Ok(index) = target.join("index.html").canonicalize() {
                return Some(index.starts_with(&root));
            }
        }
        Some(true)
    })
    .await;
    matches!(resolved, Ok(Some(true)))
}

/// The path below the directory that `ServeDir` will serve for `uri_path`
/// (the same decoding and splitting), or `None` to refuse it.
fn relative_path(uri_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode_str(uri_path).decode_utf8().ok()?;
    if decoded.contains(['\\', '\0']) {
        return None;
    }
    let mut relative = PathBuf::new();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment.starts_with('.') {
            return None;
        }
        // One plain name per segment (no `C:` prefix or root on Windows).
        let mut components = Path::new(segment).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(name)), None) => relative.push(name),
            _ => return None,
        }
    }
    Some(relative)
}

#[cfg(test)]
mod tests {
    use super::relative_path;

    #[test]
    fn dot_segments_and_backslashes_are_refused() {
        for path in
            ["/.env", "/.git/config", "/a/.hidden/b", "/%2egit/config", "/%2E%2E/etc/passwd", "/..%2fetc", "/a%5c..%5cb", "/a\\b", "/a%00b"]
        {
            assert_eq!(relative_path(path), None, "{path}");
        }
        assert_eq!(relative_path("/"), Some("".into()));
        assert_eq!(relative_path("/assets//app.js"), Some("assets/app.js".into()));
        assert_eq!(relative_path("/a%20b.txt"), Some("a b.txt".into()));
    }
}
