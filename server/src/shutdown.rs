//! Signals: SIGTERM (or Ctrl-C) stops the server, SIGHUP reloads its
//! credentials.
//!
//! **Stopping.** On SIGTERM the listener closes (new connections are
//! refused), idle keep-alive connections close, and requests in flight run
//! to their end — a save finishes its transaction and is answered — for at
//! most `--shutdown-timeout` seconds ([`Stop::deadline`]). Whatever is still
//! running then is cut off by the process's exit: a save whose transaction
//! had not committed is rolled back by the database (SQLite at the next
//! open, PostgreSQL when the connection drops), so it is stored whole or
//! not at all, never half; a client that retries with its `Idempotency-Key`
//! learns which.
//!
//! **Reloading.** On SIGHUP the token file (and the JWKS) is read again
//! ([`crate::auth::Auth::reload`]): a token removed from the file stops
//! working without a restart. A file with an error keeps the tokens held.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::auth::Auth;

/// The default of `--shutdown-timeout`.
pub const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 30;

/// Set once SIGTERM (or Ctrl-C) arrived.
#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Completes when the server is asked to stop.
    pub async fn requested(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Completes `timeout` after the stop was asked for.
    pub async fn deadline(self, timeout: Duration) {
        self.requested().await;
        tokio::time::sleep(timeout).await;
    }
}

/// Listens for the signals for the life of the process: returns the stop
/// they ask for. SIGHUP reloads `auth`.
pub fn listen(auth: Arc<Auth>) -> std::io::Result<Stop> {
    let (sender, receiver) = watch::channel(false);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut hangup = signal(SignalKind::hangup())?;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = term.recv() => break,
                    _ = tokio::signal::ctrl_c() => break,
                    _ = hangup.recv() => match auth.reload().await {
                        Ok(tokens) => tracing::info!(tokens, "SIGHUP: credentials reloaded"),
                        Err(e) => tracing::error!(error = %e, "SIGHUP: reload failed; the credentials held are kept"),
                    },
                }
            }
            tracing::info!("stop requested");
            let _ = sender.send(true);
        });
    }
    #[cfg(not(unix))]
    {
        let _ = auth;
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = sender.send(true);
        });
    }
    Ok(Stop(receiver))
}
