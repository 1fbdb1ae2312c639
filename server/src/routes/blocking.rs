//! The history is synchronous (its store runs transactions on blocking
//! threads): handlers hand it their work here, off the async workers, and
//! get its refusals back as [`ApiError`]s.

use kg_history::HistoryError;
use kg_history::access::{Role, role_of};
use kg_history::store::Reader;

use crate::error::ApiError;
use crate::request::Caller;
use crate::state::AppState;

/// Runs the history's blocking work (the store is synchronous) off the async threads.
pub(super) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, HistoryError> + Send + 'static) -> Result<T, ApiError> {
    let done = tokio::task::spawn_blocking(f).await.map_err(|e| HistoryError::Internal(format!("worker: {e}")))?;
    Ok(done?)
}

pub(super) async fn read_db<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn Reader) -> Result<T, HistoryError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    blocking(move || store.read(f)).await
}

/// Whether a graph exists, and the caller's role on it.
pub(super) async fn role_on(state: &AppState, caller: &Caller, graph_id: &str) -> Result<(bool, Option<Role>), ApiError> {
    let (id, user) = (graph_id.to_owned(), caller.0.as_ref().map(|p| p.user.clone()));
    read_db(state, move |db| {
        let exists = db.head(&id)?.is_some();
        let role = match (&user, exists) {
            (Some(user), true) => role_of(db, &id, user)?,
            _ => None,
        };
        Ok((exists, role))
    })
    .await
}
