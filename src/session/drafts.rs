//! Drafts of the pending review: taken as plain JSON while the reviewer
//! works, and resumed after a reload (see [`crate::draft`]).

use super::{ApprovalSession, no_review};
use crate::decision::check_correction;
use crate::draft::{DRAFT_FORMAT, Draft, DraftChange, DraftChanges, fingerprint, mismatch};
use crate::error::Result;
use crate::proposal::Proposal;
use crate::review::{Review, ReviewKind};
use crate::warning::{Warning, WarningCode};

impl ApprovalSession {
    /// The pending review in progress, with the reason typed so far.
    pub fn draft(&mut self, reason: Option<&str>) -> Result<Draft> {
        let proposal_id = self.proposal_id().ok_or_else(no_review)?.to_owned();
        let pending = self.pending.as_ref().ok_or_else(no_review)?;
        let is_proposal = pending.kind == ReviewKind::Proposal;
        if is_proposal && pending.proposal.is_none() {
            return Err(mismatch(
                "proposal",
                "this review's proposal was not kept (read it with Proposal::from_value): it cannot be drafted",
            ));
        }
        let changes = pending.review.changes.iter().filter_map(|c| DraftChange::of(c).map(|d| (c.id.clone(), d))).collect();
        Ok(Draft {
            draft: DRAFT_FORMAT,
            kind: pending.kind,
            graph_id: self.graph_id.clone(),
            base_version: self.base_version.clone(),
            proposal_id,
            proposal: pending.proposal.clone().filter(|_| is_proposal),
            provenance: Some(pending.review.provenance.clone()).filter(|_| is_proposal),
            decision_mode: self.decision_mode,
            changes: DraftChanges(changes),
            reason: reason.filter(|r| !r.is_empty()).map(str::to_owned),
        })
    }

    /// Puts a draft back: a proposal draft is proposed again (on this
    /// session's graph, which may have moved since); a revert or rebase
    /// draft applies to the pending review made the same way again
    /// (`revert_to` the same version, `rebase` the same pending save). Each
    /// change's decision, correction and comment is restored only if the
    /// change is still the one the reviewer saw; the others are listed in
    /// `draft_decision_dropped` warnings. The draft's reason is `draft.reason`.
    pub fn resume(&mut self, draft: &Draft) -> Result<&Review> {
        if let (Some(ours), Some(theirs)) = (&self.graph_id, &draft.graph_id) {
            if ours != theirs {
                return Err(mismatch("graphId", format!("the draft is of graph '{theirs}', this session holds graph '{ours}'")));
            }
        }
        match (draft.kind, &draft.proposal) {
            (ReviewKind::Proposal, Some(proposal)) => {
                let proposal = Proposal::from_value_unhashed(proposal.clone()).map_err(|e| mismatch("proposal", e.to_string()))?;
                self.propose_unhashed(proposal, draft.provenance.clone().unwrap_or_default())?;
            }
            (ReviewKind::Proposal, None) => return Err(mismatch("proposal", "is missing")),
            (kind, _) => {
                let pending = self.proposal_id().map(str::to_owned);
                let same = self.pending.as_ref().is_some_and(|p| p.kind == kind) && pending.as_deref() == Some(draft.proposal_id.as_str());
                if !same {
                    let how = if kind == ReviewKind::Revert { "revert_to the same version" } else { "rebase the same pending save" };
                    return Err(mismatch("proposalId", format!("the pending review is not the one this draft was taken of: {how} first")));
                }
            }
        }
        let text = self.options.text_diffs().copied();
        let pending = self.pending.as_mut().ok_or_else(no_review)?;
        let moved = draft.base_version != self.base_version;
        for (id, saved) in &draft.changes.0 {
            let found = pending.position.get(id).copied();
            let Some(i) = found.filter(|&i| fingerprint(&pending.review.changes[i]) == saved.seen) else {
                let why = match found {
                    None => "is no longer proposed",
                    Some(_) if moved => "changed: the graph moved since the draft was taken",
                    Some(_) => "differs from the one decided",
                };
                let message = format!("the draft's decision on change '{id}' was not restored: the change {why}");
                pending
                    .review
                    .warnings
                    .push(locate(Warning::new(WarningCode::DraftDecisionDropped, message), found.map(|i| &pending.review.changes[i])));
                continue;
            };
            let change = &mut pending.review.changes[i];
            if let (Some(accepted), Some(by)) = (saved.accepted, saved.decided_by) {
                change.accepted = Some(accepted);
                change.decided_by = Some(by);
                change.bulk_filter = saved.filter.clone();
                if let Some(conflict) = change.conflict.as_mut() {
                    conflict.resolved = true;
                }
            }
            if let Some(value) = &saved.correction {
                if check_correction(change, value).is_ok() {
                    change.proposed = change.new.replace(value.clone());
                    change.corrected = true;
                    change.refresh_text_diff(text.as_ref());
                }
            }
            change.comment = saved.comment.clone();
        }
        Ok(&pending.review)
    }
}

/// The warning, about the change's node, edge and field if known.
fn locate(warning: Warning, change: Option<&crate::change::Change>) -> Warning {
    let Some(change) = change else { return warning };
    let warning = match (&change.node_id, &change.edge_id) {
        (Some(node), _) => warning.node(node),
        (_, Some(edge)) => warning.edge(edge),
        _ => warning,
    };
    match &change.field {
        Some(field) => warning.field(field),
        None => warning,
    }
}
