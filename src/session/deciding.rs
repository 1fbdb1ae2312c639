//! The reviewer's decisions on the pending review: accept, reject, correct
//! and comment, each recorded with how it was made (see [`crate::decision`]).

use serde_json::Value;

use super::{ApprovalSession, no_review};
use crate::change::{Change, Target};
use crate::decision::{DecidedBy, MAX_COMMENT_CHARS, check_correction};
use crate::error::{Error, ErrorCode, Result};
use crate::text_diff::TextDiffOptions;

/// One decision as the reviewer made it.
#[derive(Clone, Copy)]
struct Decide<'a> {
    accept: bool,
    by: DecidedBy,
    filter: Option<&'a str>,
}

impl ApprovalSession {
    /// Accepts a change, and the changes it requires. Returns the ids whose
    /// decision changed.
    pub fn accept(&mut self, change_id: &str) -> Result<Vec<String>> {
        self.decide_ids(&[change_id], Decide { accept: true, by: DecidedBy::Change, filter: None })
    }

    /// Rejects a change, and the changes that require it. Returns the ids
    /// whose decision changed.
    pub fn reject(&mut self, change_id: &str) -> Result<Vec<String>> {
        self.decide_ids(&[change_id], Decide { accept: false, by: DecidedBy::Change, filter: None })
    }

    /// Accepts every change of one node (its fields, or its addition or removal).
    pub fn accept_node(&mut self, node_id: &str) -> Result<Vec<String>> {
        self.decide_node(node_id, true)
    }

    /// Rejects every change of one node.
    pub fn reject_node(&mut self, node_id: &str) -> Result<Vec<String>> {
        self.decide_node(node_id, false)
    }

    /// Accepts every change: a bulk action, recorded with the filter `all`.
    pub fn accept_all(&mut self) -> Result<Vec<String>> {
        self.decide_all(true)
    }

    /// Rejects every change: a bulk action, recorded with the filter `all`.
    pub fn reject_all(&mut self) -> Result<Vec<String>> {
        self.decide_all(false)
    }

    /// Accepts the changes `ids` at once: a bulk action (say which filter
    /// showed them in `filter`, as the reviewer saw it), recorded as such.
    ///
    /// ```
    /// use kg_approval::{ApprovalSession, DecidedBy, Graph, Proposal, Provenance};
    /// use serde_json::json;
    /// let graph = Graph::from_value(json!({"nodes": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}]})).unwrap();
    /// let mut session = ApprovalSession::new(graph, None);
    /// let proposal = Proposal::from_value(json!({"nodes": [{"id": "a", "label": "A2"}, {"id": "b", "label": "B2"}]})).unwrap();
    /// session.propose(&proposal, Provenance::default()).unwrap();
    /// session.accept_many(&["node/a/label", "node/b/label"], Some("field: label")).unwrap();
    /// let change = &session.review().unwrap().changes[0];
    /// assert_eq!((change.decided_by, change.bulk_filter.as_deref()), (Some(DecidedBy::Bulk), Some("field: label")));
    /// ```
    pub fn accept_many(&mut self, ids: &[&str], filter: Option<&str>) -> Result<Vec<String>> {
        self.decide_ids(ids, Decide { accept: true, by: DecidedBy::Bulk, filter })
    }

    /// Rejects the changes `ids` at once: a bulk action (see [`ApprovalSession::accept_many`]).
    pub fn reject_many(&mut self, ids: &[&str], filter: Option<&str>) -> Result<Vec<String>> {
        self.decide_ids(ids, Decide { accept: false, by: DecidedBy::Bulk, filter })
    }

    /// Accepts a change with the reviewer's `value` instead of the AI's: the
    /// change's `new` becomes `value` and `proposed` keeps the AI's, and the
    /// audit records both. A correction may not do what a proposal may not
    /// (see [`check_correction`]). Returns the ids whose decision changed
    /// (the change, and those it requires).
    ///
    /// ```
    /// use kg_approval::{ApprovalSession, Approver, Decision, Graph, Proposal, Provenance, Timestamp};
    /// use serde_json::json;
    /// let graph = Graph::from_value(json!({"nodes": [{"id": "a", "label": "Fjord"}]})).unwrap();
    /// let mut session = ApprovalSession::new(graph, None);
    /// session.propose(&Proposal::from_value(json!({"nodes": [{"id": "a", "label": "Fjordd"}]})).unwrap(), Provenance::default()).unwrap();
    /// session.correct("node/a/label", json!("Fjords")).unwrap();
    /// let approved = session.approve(&Approver::new("ann", Timestamp::now()).unwrap(), Some("typo")).unwrap();
    /// let record = approved.audit.decisions.get("node/a/label").unwrap();
    /// assert_eq!((record.decision, record.proposed.clone()), (Decision::Corrected, Some(json!("Fjordd"))));
    /// assert_eq!(session.graph().node("a").unwrap().fields()["label"], "Fjords");
    /// ```
    pub fn correct(&mut self, change_id: &str, value: Value) -> Result<Vec<String>> {
        let text = self.options.text_diffs().copied();
        let pending = self.pending.as_mut().ok_or_else(no_review)?;
        let i = position(pending, change_id)?;
        check_correction(&pending.review.changes[i], &value)?;
        let change = &mut pending.review.changes[i];
        let decide = Decide { accept: true, by: DecidedBy::Change, filter: None };
        // Accepted by the reviewer (taking back an earlier correction), then corrected.
        set(change, decide, false, text.as_ref());
        change.proposed = change.new.take();
        change.corrected = true;
        change.new = Some(value);
        change.refresh_text_diff(text.as_ref());
        let requires = change.requires.clone();
        let mut changed = vec![change_id.to_owned()];
        let requires: Vec<&str> = requires.iter().map(String::as_str).collect();
        changed
            .extend(self.decide_ids(&requires, Decide { by: DecidedBy::Dependency, ..decide })?.into_iter().filter(|id| id != change_id));
        Ok(changed)
    }

    /// Sets (or, with `None` or an empty text, clears) the reviewer's comment
    /// on a change: why they rejected or corrected it, say. It is kept in the
    /// audit entry beside the change's decision.
    pub fn comment(&mut self, change_id: &str, text: Option<&str>) -> Result<()> {
        let pending = self.pending.as_mut().ok_or_else(no_review)?;
        let i = position(pending, change_id)?;
        let text = text.filter(|t| !t.trim().is_empty());
        if let Some(t) = text.filter(|t| t.chars().count() > MAX_COMMENT_CHARS) {
            let n = t.chars().count();
            return Err(Error::at(
                ErrorCode::InvalidArgument,
                "text",
                format!("a comment is at most {MAX_COMMENT_CHARS} characters, got {n}"),
            ));
        }
        pending.review.changes[i].comment = text.map(str::to_owned);
        Ok(())
    }

    fn decide_node(&mut self, node_id: &str, accept: bool) -> Result<Vec<String>> {
        let pending = self.pending.as_ref().ok_or_else(no_review)?;
        let ids: Vec<String> = pending
            .review
            .changes
            .iter()
            .filter(|c| c.target == Target::Node && c.node_id.as_deref() == Some(node_id))
            .map(|c| c.id.clone())
            .collect();
        if ids.is_empty() {
            return Err(Error::new(ErrorCode::UnknownNode, format!("no change of the pending review is about node '{node_id}'")));
        }
        self.decide_ids(&ids.iter().map(String::as_str).collect::<Vec<_>>(), Decide { accept, by: DecidedBy::Node, filter: None })
    }

    fn decide_all(&mut self, accept: bool) -> Result<Vec<String>> {
        let text = self.options.text_diffs().copied();
        let pending = self.pending.as_mut().ok_or_else(no_review)?;
        let decide = Decide { accept, by: DecidedBy::Bulk, filter: Some("all") };
        Ok(pending.review.changes.iter_mut().filter_map(|c| set(c, decide, false, text.as_ref()).then(|| c.id.clone())).collect())
    }

    /// Sets decisions, keeping the invariant that an accepted change has all
    /// the changes it requires accepted. Changes decided only to keep it are
    /// recorded as decided by dependency.
    fn decide_ids(&mut self, ids: &[&str], decide: Decide<'_>) -> Result<Vec<String>> {
        let text = self.options.text_diffs().copied();
        let pending = self.pending.as_mut().ok_or_else(no_review)?;
        let mut stack = Vec::with_capacity(ids.len());
        for id in ids {
            stack.push((position(pending, id)?, false));
        }
        let mut changed = Vec::new();
        while let Some((i, dependency)) = stack.pop() {
            let change = &mut pending.review.changes[i];
            if !set(change, decide, dependency, text.as_ref()) {
                continue;
            }
            changed.push(change.id.clone());
            if decide.accept {
                stack.extend(change.requires.iter().filter_map(|r| pending.position.get(r)).map(|&j| (j, true)));
            } else if let Some(dependents) = pending.required_by.get(&change.id) {
                stack.extend(dependents.iter().map(|&j| (j, true)));
            }
        }
        Ok(changed)
    }
}

fn position(pending: &super::Pending, id: &str) -> Result<usize> {
    pending
        .position
        .get(id)
        .copied()
        .ok_or_else(|| Error::new(ErrorCode::UnknownChange, format!("'{id}' is not a change of the pending review")))
}

/// Sets one decision; true if it changed anything. Deciding a conflict
/// resolves it. Accepting or rejecting a corrected change takes back the
/// correction (the AI's value is what was accepted or rejected). A change
/// decided as a dependency keeps a decision the reviewer made themself, if it
/// is already the one needed.
fn set(change: &mut Change, decide: Decide<'_>, dependency: bool, text: Option<&TextDiffOptions>) -> bool {
    let was_open = change.conflict.as_ref().is_some_and(|k| !k.resolved);
    if dependency && change.accepted == Some(decide.accept) && !was_open {
        return false;
    }
    if let Some(conflict) = change.conflict.as_mut() {
        conflict.resolved = true;
    }
    let by = if dependency { DecidedBy::Dependency } else { decide.by };
    let filter = decide.filter.filter(|_| by == DecidedBy::Bulk).map(str::to_owned);
    let mut changed = change.accepted != Some(decide.accept) || was_open || change.decided_by != Some(by) || change.bulk_filter != filter;
    if change.corrected && !(dependency && decide.accept) {
        change.new = change.proposed.take();
        change.corrected = false;
        change.refresh_text_diff(text);
        changed = true;
    }
    change.accepted = Some(decide.accept);
    change.decided_by = Some(by);
    change.bulk_filter = filter;
    changed
}
