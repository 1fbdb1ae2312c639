//! The history is synchronous (its store runs transactions on blocking
//! threads): handlers hand it their work here, off the async workers, and
//! get its refusals back as [`ApiError`]s.

use kg_history::HistoryError;
use kg_history::access::{self, Role, role_of};
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
    read_db(state, move |db| role_in(db, &id, user.as_deref())).await
}

/// Whether graph `id` exists, and the role of `user` on it (none on a
/// graph that does not exist).
fn role_in(db: &mut dyn Reader, id: &str, user: Option<&str>) -> Result<(bool, Option<Role>), HistoryError> {
    let exists = db.head(id)?.is_some();
    let role = match (user, exists) {
        (Some(user), true) => role_of(db, id, user)?,
        _ => None,
    };
    Ok((exists, role))
}

/// What a read asks of its caller.
#[derive(Clone, Copy)]
pub(super) enum Need {
    /// The graph itself: anyone's, unless `--private-reads` ([`access::Policy::may_read`]).
    Read,
    /// Who did what: the audit scope or ownership ([`access::may_audit`]).
    Audit,
}

/// `f` on graph `id`, once the caller may read it as `need` says. The check
/// runs in the read's own transaction: a right taken away while the read
/// waited for a connection cannot let it through, as it could when the check
/// was a transaction of its own (issue 22 left the two apart).
pub(super) async fn read_as<T: Send + 'static>(
    state: &AppState,
    caller: &Caller,
    id: String,
    need: Need,
    f: impl FnOnce(&mut dyn Reader, &str) -> Result<T, HistoryError> + Send + 'static,
) -> Result<T, ApiError> {
    read_checked(state, caller, id, need, false, move |db, id, _| f(db, id)).await
}

/// As [`read_as`], with the caller's role on the graph for `f` too (looked
/// up once, for the check and for `f`; `None` when signed out).
pub(super) async fn read_with_role<T: Send + 'static>(
    state: &AppState,
    caller: &Caller,
    id: String,
    need: Need,
    f: impl FnOnce(&mut dyn Reader, &str, Option<Role>) -> Result<T, HistoryError> + Send + 'static,
) -> Result<T, ApiError> {
    read_checked(state, caller, id, need, true, f).await
}

async fn read_checked<T: Send + 'static>(
    state: &AppState,
    caller: &Caller,
    id: String,
    need: Need,
    role_wanted: bool,
    f: impl FnOnce(&mut dyn Reader, &str, Option<Role>) -> Result<T, HistoryError> + Send + 'static,
) -> Result<T, ApiError> {
    let (who, policy) = (caller.0.clone(), state.settings.access);
    read_db(state, move |db| {
        let checked = match need {
            Need::Read => policy.private_reads,
            Need::Audit => true,
        };
        let role = match checked || role_wanted {
            true => role_in(db, &id, who.as_ref().map(|p| p.user.as_str()))?.1,
            false => None,
        };
        if checked {
            match need {
                Need::Read => policy.may_read(who.as_ref(), &id, role)?,
                Need::Audit => access::may_audit(who.as_ref(), &id, role)?,
            }
        }
        f(db, &id, role)
    })
    .await
}
