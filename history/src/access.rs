//! Who may read and write what.
//!
//! A request is made by a [`Principal`] (whom the server signed in) or by
//! nobody. Two settings shape what it may do:
//!
//! - **Graph access** (`--graph-access`): `open`, the real service's rule,
//!   lets any token with `write` save any graph, with `override` too;
//!   `owned` lets only the graph's owner (whoever saved version 1) and users
//!   it granted `editor` save it, and only owners and admins save with
//!   `override` (it discards someone's newer version). Owners and admins
//!   grant `editor` or `viewer` (`POST /grantGraphAccess`).
//! - **Private reads** (`--private-reads`): the contract's read routes need
//!   `read` (and, under `owned`, a role on the graph). Without it they are
//!   public, as on the real service.
//!
//! The audit trail and chain verification always need `audit` or ownership
//! of the graph: they name people. Refusals are `Unauthorized` without a
//! principal and `Forbidden` naming the missing right; nothing is stored.
//! Writes are decided inside the write transaction, under the graph's lock
//! (see [`crate::save`], [`crate::patch`]).

use serde::Serialize;

use crate::error::HistoryError;
use crate::principal::Principal;
use crate::store::{Grant, Reader, Store, StoreResult};

/// How writes to graphs are shared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GraphAccess {
    /// Any writer may write any graph (the real service's rule).
    #[default]
    Open,
    /// Owners and the editors they grant write; owners and admins override.
    Owned,
}

impl std::str::FromStr for GraphAccess {
    type Err = String;

    /// `open` or `owned` (the command line's `--graph-access`).
    fn from_str(text: &str) -> Result<GraphAccess, String> {
        match text {
            "open" => Ok(GraphAccess::Open),
            "owned" => Ok(GraphAccess::Owned),
            other => Err(format!("'{other}' is not a graph access rule: open or owned")),
        }
    }
}

/// The access settings of a server.
#[derive(Clone, Copy, Debug, Default)]
pub struct Policy {
    pub graph_access: GraphAccess,
    pub private_reads: bool,
}

/// A user's role on one graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Owner,
}

impl Role {
    /// A role that can be granted (`editor` or `viewer`).
    pub fn grantable(name: &str) -> Option<Role> {
        match name {
            "editor" => Some(Role::Editor),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Owner => "owner",
        }
    }
}

/// `user`'s role on a graph: owner if they saved version 1, else what they
/// were granted.
pub fn role_of(db: &mut dyn Reader, graph_id: &str, user: &str) -> StoreResult<Option<Role>> {
    if db.owner(graph_id)?.as_deref() == Some(user) {
        return Ok(Some(Role::Owner));
    }
    Ok(db.grants(graph_id)?.into_iter().find(|g| g.user == user).and_then(|g| Role::grantable(&g.role)))
}

pub fn signed_in(who: Option<&Principal>) -> Result<&Principal, HistoryError> {
    who.ok_or_else(|| HistoryError::Unauthorized("Missing X-API-Token header.".into()))
}

/// A signed-in caller whose token has the write scope: checked before a
/// write's body is parsed (no database needed); the rest of the decision
/// waits for the write transaction ([`WriteAccess`]).
pub fn writer(who: Option<&Principal>) -> Result<&Principal, HistoryError> {
    let who = signed_in(who)?;
    if !who.scopes.can_write() {
        return Err(HistoryError::Forbidden(format!("The token of '{}' has no write scope.", who.user)));
    }
    Ok(who)
}

/// Who writes, under which policy: decided inside the write transaction,
/// after the graph's lock is taken (the lock that orders its versions), on
/// what that transaction sees. Deciding before the lock (on a read
/// connection) let a user with no role write into a graph another user was
/// creating: "the graph does not exist yet, anyone may write", then the
/// save waited for the lock and landed on the new graph.
#[derive(Clone, Copy, Debug)]
pub struct WriteAccess<'a> {
    pub policy: Policy,
    pub who: Option<&'a Principal>,
}

impl WriteAccess<'_> {
    /// Whether the caller may write graph `graph_id` as the transaction
    /// sees it now (`exists`: it has a head).
    pub fn check(&self, tx: &mut dyn Reader, graph_id: &str, exists: bool, override_version: bool) -> Result<(), HistoryError> {
        let role = match (self.who, exists) {
            (Some(who), true) => role_of(tx, graph_id, &who.user)?,
            _ => None,
        };
        self.policy.may_write(self.who, graph_id, exists, role, override_version)
    }
}

impl Policy {
    /// May `who` save graph `graph_id` (which exists iff `role` was looked
    /// up on an existing graph: `exists`), with `override` or not? Call it
    /// through [`WriteAccess`], inside the write transaction.
    pub fn may_write(
        &self,
        who: Option<&Principal>,
        graph_id: &str,
        exists: bool,
        role: Option<Role>,
        override_version: bool,
    ) -> Result<(), HistoryError> {
        let who = writer(who)?;
        if self.graph_access == GraphAccess::Open || who.scopes.admin || !exists {
            return Ok(());
        }
        match role {
            Some(Role::Owner) => Ok(()),
            Some(Role::Editor) if !override_version => Ok(()),
            Some(Role::Editor) => {
                Err(HistoryError::Forbidden(format!("Saving graph {graph_id} with override needs its owner or an admin.")))
            }
            _ => Err(HistoryError::Forbidden(format!("Saving graph {graph_id} needs the editor role on it."))),
        }
    }

    /// May `who` read graph data (the contract's read routes)?
    pub fn may_read(&self, who: Option<&Principal>, graph_id: &str, role: Option<Role>) -> Result<(), HistoryError> {
        if !self.private_reads {
            return Ok(());
        }
        let who = signed_in(who)?;
        if !who.scopes.can_read() {
            return Err(HistoryError::Forbidden(format!("The token of '{}' has no read scope.", who.user)));
        }
        if self.graph_access == GraphAccess::Owned && !who.scopes.admin && role.is_none() {
            return Err(HistoryError::Forbidden(format!("Reading graph {graph_id} needs a role on it (viewer or more).")));
        }
        Ok(())
    }

    /// Whether `who` (holding `role` on graph `graph_id`) sees people's
    /// identities in the graph's trail: who saved each version and why, and
    /// who saved the newest (the listing's `updatedBy`). The one rule: those
    /// who work on the graph — who may write it (its owner, its editors, any
    /// writer under `open` access, admins) — and those who may audit it (the
    /// `audit` scope, the owner) see them, on every route and whatever
    /// `--private-reads` says; a viewer, a read-only token and an anonymous
    /// reader do not (before, a viewer under `--private-reads` read every
    /// version's user and reason while the audit trail was refused to them).
    /// The graph's content, its stamps included, is for whoever may read it.
    pub fn shows_people(&self, who: Option<&Principal>, graph_id: &str, role: Option<Role>) -> bool {
        who.is_some() && (may_audit(who, graph_id, role).is_ok() || self.may_write(who, graph_id, true, role, false).is_ok())
    }

    /// Whether the graph listing shows `who` a graph where it has `role`.
    pub fn lists(&self, who: Option<&Principal>, role: Option<Role>) -> bool {
        match (self.private_reads, who) {
            (false, _) => true,
            (true, None) => false,
            (true, Some(who)) => who.scopes.can_read() && (self.graph_access == GraphAccess::Open || who.scopes.admin || role.is_some()),
        }
    }
}

/// May `who` read a graph's audit trail or verify its chain? They name
/// people: it takes the `audit` scope or ownership of the graph.
pub fn may_audit(who: Option<&Principal>, graph_id: &str, role: Option<Role>) -> Result<(), HistoryError> {
    let who = signed_in(who)?;
    if who.scopes.can_audit() || role == Some(Role::Owner) {
        return Ok(());
    }
    Err(HistoryError::Forbidden(format!("The audit trail of graph {graph_id} needs the audit scope or ownership of the graph.")))
}

/// May `who` grant or take away rights on a graph? Its owner and admins may.
pub fn may_grant(who: Option<&Principal>, graph_id: &str, role: Option<Role>) -> Result<(), HistoryError> {
    let who = signed_in(who)?;
    if who.scopes.admin || role == Some(Role::Owner) {
        return Ok(());
    }
    Err(HistoryError::Forbidden(format!("Granting rights on graph {graph_id} needs its owner or an admin.")))
}

/// Grants `user` a role on a graph (`None`: takes their role away), as
/// `who` asks; returns whether anything changed. Decided under the graph's
/// lock, on what this transaction sees: an ownership or grant that changes
/// meanwhile cannot slip by.
pub fn grant(store: &Store, who: &Principal, graph_id: &str, user: &str, role: Option<Role>) -> Result<bool, HistoryError> {
    store.write(|tx| {
        tx.lock_graph(graph_id)?;
        let exists = tx.head(graph_id)?.is_some();
        let caller_role = if exists { role_of(tx, graph_id, &who.user)? } else { None };
        may_grant(Some(who), graph_id, caller_role)?;
        if !exists {
            return Err(HistoryError::NotFound("Graph not found.".into()));
        }
        if tx.owner(graph_id)?.as_deref() == Some(user) {
            return Err(HistoryError::BadRequest(format!("'{user}' owns graph {graph_id}: an owner needs no grant")));
        }
        match role {
            Some(role) => {
                let grant = Grant {
                    user: user.to_owned(),
                    role: role.as_str().to_owned(),
                    granted_by: who.user.clone(),
                    granted_at: kg_approval::Timestamp::now().to_string(),
                };
                tx.put_grant(graph_id, &grant)?;
                Ok(true)
            }
            None => Ok(tx.delete_grant(graph_id, user)?),
        }
    })
}
