//! Alarms on abnormal behaviour: rules (from a JSON file, `--alarms FILE`)
//! that watch what happens to the history — sign-ins, saves, reads,
//! erasures — and fire when it looks wrong: a burst of failed sign-ins, an
//! approval that removes much of a graph or accepts many changes in bulk,
//! any override, a user saving version after version, a token reading
//! graph after graph, any erasure.
//!
//! This module holds the rules and their windows ([`Alarms::observe`] turns
//! an [`Observation`] into the alarms it fires), reads what a saved version
//! did ([`saved`]), and writes a fired alarm to the chained event log
//! ([`record`]). Telling people (a log line, a webhook, a metric) is the
//! server's: it knows no rule, only [`Fired`].
//!
//! ```json
//! {"rules": [
//!   {"id": "sign-in-storm", "rule": "failedSignIns", "per": "address", "max": 10, "windowSeconds": 300},
//!   {"rule": "largeRemoval", "maxNodes": 50, "maxPercent": 20},
//!   {"rule": "bulkAccept", "max": 200},
//!   {"rule": "override"},
//!   {"rule": "savesPerUser", "max": 100, "windowSeconds": 3600},
//!   {"rule": "graphsReadPerToken", "max": 25, "windowSeconds": 3600},
//!   {"rule": "erasure"}
//! ]}
//! ```
//!
//! A rule with a `max` fires when its count goes *over* `max` within
//! `windowSeconds` (a sliding window); its subject's window then starts
//! afresh, so a sustained burst fires once per `max + 1` events rather than
//! on every one. `id` names the rule in what it fires (default: `rule`, and
//! its position when a kind is listed twice).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::HistoryError;
use crate::people::Pseudonyms;
use crate::store::{Event, Kind, Reader, Store};

/// Subjects tracked at most per rule (older ones are forgotten first):
/// someone cycling through addresses or tokens cannot grow memory.
const MAX_SUBJECTS: usize = 100_000;

/// What a failed sign-in is counted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// The credential sent (by its fingerprint, never the token itself).
    Token,
    /// The client's network address.
    Address,
}

/// One rule of the file.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "rule", rename_all = "camelCase", deny_unknown_fields)]
pub enum RuleKind {
    /// More than `max` failed sign-ins from one token or address within the window.
    #[serde(rename_all = "camelCase")]
    FailedSignIns { per: Per, max: u64, window_seconds: u64 },
    /// An approval that removes more than `maxNodes` nodes, or more than
    /// `maxPercent` % of the graph's nodes.
    #[serde(rename_all = "camelCase")]
    LargeRemoval { max_nodes: Option<u64>, max_percent: Option<f64> },
    /// An approval that accepts more than `max` changes in bulk (`decidedBy: bulk`).
    BulkAccept { max: u64 },
    /// Any save with `override` (it discards someone's newer version).
    Override {},
    /// More than `max` versions saved by one user within the window.
    #[serde(rename_all = "camelCase")]
    SavesPerUser { max: u64, window_seconds: u64 },
    /// More than `max` distinct graphs read with one token (or, without a
    /// token, from one address) within the window.
    #[serde(rename_all = "camelCase")]
    GraphsReadPerToken { max: u64, window_seconds: u64 },
    /// Any erasure of a person.
    Erasure {},
}

impl RuleKind {
    /// The rule's kind, as the file names it.
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::FailedSignIns { .. } => "failedSignIns",
            RuleKind::LargeRemoval { .. } => "largeRemoval",
            RuleKind::BulkAccept { .. } => "bulkAccept",
            RuleKind::Override {} => "override",
            RuleKind::SavesPerUser { .. } => "savesPerUser",
            RuleKind::GraphsReadPerToken { .. } => "graphsReadPerToken",
            RuleKind::Erasure {} => "erasure",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    rules: Vec<Value>,
}

/// A rule and its name.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub id: String,
    pub kind: RuleKind,
}

/// Parses a rules file (see the module docs); errors name the rule by its position.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, String> {
    let file: RulesFile = serde_json::from_str(text).map_err(|e| format!("expected {{\"rules\": [...]}}: {e}"))?;
    let mut rules: Vec<Rule> = Vec::new();
    for (i, value) in file.rules.into_iter().enumerate() {
        let Value::Object(mut fields) = value else { return Err(format!("rules[{i}]: a rule is an object")) };
        let id = match fields.shift_remove("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id),
            Some(_) => return Err(format!("rules[{i}]: id must be a string")),
        };
        let kind: RuleKind = serde_json::from_value(Value::Object(fields)).map_err(|e| format!("rules[{i}]: {e}"))?;
        let entry = (id, kind);
        let problem = match &entry.1 {
            RuleKind::FailedSignIns { window_seconds: 0, .. }
            | RuleKind::SavesPerUser { window_seconds: 0, .. }
            | RuleKind::GraphsReadPerToken { window_seconds: 0, .. } => Some("windowSeconds must be at least 1"),
            RuleKind::LargeRemoval { max_nodes: None, max_percent: None } => Some("give maxNodes, maxPercent or both"),
            RuleKind::LargeRemoval { max_percent: Some(p), .. } if !(0.0..=100.0).contains(p) => Some("maxPercent is from 0 to 100"),
            _ => None,
        };
        if let Some(problem) = problem {
            return Err(format!("rules[{i}] ({}): {problem}", entry.1.name()));
        }
        let (id, kind) = entry;
        let id = match id {
            Some(id) if id.trim().is_empty() => return Err(format!("rules[{i}]: id is empty")),
            Some(id) => id,
            None if rules.iter().any(|r| r.kind.name() == kind.name()) => format!("{}-{i}", kind.name()),
            None => kind.name().to_owned(),
        };
        if rules.iter().any(|r| r.id == id) {
            return Err(format!("rules[{i}]: the id '{id}' is used twice"));
        }
        rules.push(Rule { id, kind });
    }
    Ok(rules)
}

/// Something that happened, as the rules see it.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    /// Credentials were sent and refused.
    SignInFailed { token: Option<String>, address: Option<String> },
    /// A version was saved (see [`saved`]).
    Saved(SavedVersion),
    /// A graph's content or trail was read; `token` is the credential's fingerprint.
    GraphRead { token: Option<String>, address: Option<String>, graph_id: String },
    /// A person was erased: the erasure event's detail.
    Erased { event: i64, detail: Value },
}

/// What a saved version did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SavedVersion {
    pub graph_id: String,
    pub version: i64,
    pub user: String,
    pub override_version: bool,
    pub nodes_before: u64,
    pub nodes_removed: u64,
    /// Changes accepted (or corrected) by a bulk action.
    pub bulk_accepted: u64,
}

/// An alarm a rule fired.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fired {
    /// The rule's id.
    pub rule: String,
    /// The rule's kind.
    pub kind: &'static str,
    /// What it is about: `token`, `address`, `user`, `graphId`, `version`, `pseudonym`.
    pub subject: Map<String, Value>,
    /// The figures that crossed the line (`count`, `max`, `windowSeconds`, ...).
    pub figures: Map<String, Value>,
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A sliding window of one subject: times (ms), and for distinct counts the item.
#[derive(Default)]
struct Window {
    events: VecDeque<(i64, Option<String>)>,
}

/// Which kinds of [`Observation`] some rule looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Watches {
    pub sign_ins: bool,
    pub saves: bool,
    pub reads: bool,
    pub erasures: bool,
}

/// The rules and their windows.
pub struct Alarms {
    rules: Vec<Rule>,
    windows: Mutex<Vec<HashMap<String, Window>>>,
}

impl std::fmt::Debug for Alarms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alarms").field("rules", &self.rules).finish_non_exhaustive()
    }
}

impl Alarms {
    pub fn new(rules: Vec<Rule>) -> Alarms {
        let windows = Mutex::new(rules.iter().map(|_| HashMap::new()).collect());
        Alarms { rules, windows }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// What the rules watch, so that nothing else need be noted.
    pub fn watches(&self) -> Watches {
        let any = |f: fn(&RuleKind) -> bool| self.rules.iter().any(|r| f(&r.kind));
        Watches {
            sign_ins: any(|k| matches!(k, RuleKind::FailedSignIns { .. })),
            saves: any(|k| {
                matches!(
                    k,
                    RuleKind::LargeRemoval { .. } | RuleKind::BulkAccept { .. } | RuleKind::Override {} | RuleKind::SavesPerUser { .. }
                )
            }),
            reads: any(|k| matches!(k, RuleKind::GraphsReadPerToken { .. })),
            erasures: any(|k| matches!(k, RuleKind::Erasure {})),
        }
    }

    /// The alarms `observation`, made at `now_ms`, fires.
    pub fn observe(&self, observation: &Observation, now_ms: i64) -> Vec<Fired> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let mut fired = Vec::new();
        for (rule, windows) in self.rules.iter().zip(windows.iter_mut()) {
            let mut fire = |subject: Value, figures: Value| {
                fired.push(Fired { rule: rule.id.clone(), kind: rule.kind.name(), subject: object(subject), figures: object(figures) })
            };
            match (&rule.kind, observation) {
                (RuleKind::FailedSignIns { per, max, window_seconds }, Observation::SignInFailed { token, address }) => {
                    let key = match per {
                        Per::Token => token.as_ref().map(|t| ("token", t)),
                        Per::Address => address.as_ref().map(|a| ("address", a)),
                    };
                    if let Some((name, value)) = key {
                        if let Some(count) = count(windows, value, None, now_ms, *window_seconds, *max) {
                            fire(json!({ name: value }), json!({"count": count, "max": max, "windowSeconds": window_seconds}));
                        }
                    }
                }
                (RuleKind::GraphsReadPerToken { max, window_seconds }, Observation::GraphRead { token, address, graph_id }) => {
                    let key = token.as_ref().map(|t| ("token", t)).or(address.as_ref().map(|a| ("address", a)));
                    if let Some((name, value)) = key {
                        let item = Some(graph_id.clone());
                        if let Some(count) = count(windows, value, item, now_ms, *window_seconds, *max) {
                            fire(json!({ name: value }), json!({"graphs": count, "max": max, "windowSeconds": window_seconds}));
                        }
                    }
                }
                (RuleKind::SavesPerUser { max, window_seconds }, Observation::Saved(saved)) => {
                    if let Some(count) = count(windows, &saved.user, None, now_ms, *window_seconds, *max) {
                        fire(json!({"user": saved.user}), json!({"versions": count, "max": max, "windowSeconds": window_seconds}));
                    }
                }
                (RuleKind::LargeRemoval { max_nodes, max_percent }, Observation::Saved(saved)) => {
                    let percent =
                        if saved.nodes_before == 0 { 0.0 } else { saved.nodes_removed as f64 * 100.0 / saved.nodes_before as f64 };
                    let over_nodes = max_nodes.is_some_and(|max| saved.nodes_removed > max);
                    let over_percent = max_percent.is_some_and(|max| percent > max);
                    if over_nodes || over_percent {
                        fire(
                            saved_subject(saved),
                            json!({"nodesRemoved": saved.nodes_removed, "nodesBefore": saved.nodes_before,
                                   "percentRemoved": (percent * 100.0).round() / 100.0, "maxNodes": max_nodes, "maxPercent": max_percent}),
                        );
                    }
                }
                (RuleKind::BulkAccept { max }, Observation::Saved(saved)) if saved.bulk_accepted > *max => {
                    fire(saved_subject(saved), json!({"acceptedInBulk": saved.bulk_accepted, "max": max}));
                }
                (RuleKind::Override {}, Observation::Saved(saved)) if saved.override_version => {
                    fire(saved_subject(saved), json!({"override": true}));
                }
                (RuleKind::Erasure {}, Observation::Erased { event, detail }) => {
                    let mut figures = detail.clone();
                    if let Value::Object(map) = &mut figures {
                        map.shift_remove("pseudonym");
                        map.insert("event".to_owned(), json!(event));
                    }
                    fire(json!({"pseudonym": detail.get("pseudonym")}), figures);
                }
                _ => {}
            }
        }
        fired
    }
}

fn saved_subject(saved: &SavedVersion) -> Value {
    json!({"user": saved.user, "graphId": saved.graph_id, "version": saved.version})
}

/// Counts an event of `subject` (an `item` makes it a count of distinct
/// items) and answers the count if it went over `max` (the window then starts afresh).
fn count(
    windows: &mut HashMap<String, Window>,
    subject: &str,
    item: Option<String>,
    now_ms: i64,
    window_seconds: u64,
    max: u64,
) -> Option<u64> {
    let since = now_ms - (window_seconds as i64).saturating_mul(1000);
    if windows.len() >= MAX_SUBJECTS && !windows.contains_key(subject) {
        // Forget the subjects whose windows have emptied, and if that is not
        // enough the stalest tenth (at once: a stream of new subjects pays
        // for this once per tenth of them, not on every one).
        windows.retain(|_, w| w.events.back().is_some_and(|(at, _)| *at > since));
        if windows.len() >= MAX_SUBJECTS * 9 / 10 {
            let mut last: Vec<i64> = windows.values().map(|w| w.events.back().map_or(i64::MIN, |(at, _)| *at)).collect();
            let tenth = last.len() / 10;
            let cutoff = *last.select_nth_unstable(tenth).1;
            windows.retain(|_, w| w.events.back().is_some_and(|(at, _)| *at > cutoff));
        }
    }
    let window = windows.entry(subject.to_owned()).or_default();
    while window.events.front().is_some_and(|(at, _)| *at <= since) {
        window.events.pop_front();
    }
    let counted = match &item {
        Some(item) => {
            window.events.retain(|(_, seen)| seen.as_ref() != Some(item));
            window.events.push_back((now_ms, Some(item.clone())));
            window.events.len() as u64
        }
        None => {
            window.events.push_back((now_ms, None));
            // Only whether it goes over `max` matters: keep no more than that.
            if window.events.len() as u64 > max.saturating_add(1) {
                window.events.pop_front();
            }
            window.events.len() as u64
        }
    };
    if counted > max {
        windows.remove(subject);
        return Some(counted);
    }
    None
}

/// What version `version` of `graph_id` did, for the rules.
pub fn saved(db: &mut dyn Reader, graph_id: &str, version: i64) -> Result<Option<SavedVersion>, HistoryError> {
    let (Some(head), Some(row)) = (db.head(graph_id)?, db.version(graph_id, version)?) else { return Ok(None) };
    let record = row.record().unwrap_or(Value::Null);
    let (opened, closed) = db.rows_changed_by(head.gid, version)?;
    let nodes = |rows: &[crate::store::EntityRow]| -> std::collections::HashSet<String> {
        rows.iter().filter(|r| r.kind == Kind::Node).map(|r| r.key.clone()).collect()
    };
    let (put, ended) = (nodes(&opened), nodes(&closed));
    let removed = ended.difference(&put).count() as u64;
    let added = put.difference(&ended).count() as u64;
    let nodes_after = if head.version == version {
        head.nodes.max(0) as u64
    } else {
        db.rows_at(head.gid, Some(version))?.iter().filter(|r| r.kind == Kind::Node).count() as u64
    };
    let bulk_accepted = record
        .get("decisions")
        .and_then(Value::as_object)
        .map(|d| d.values().filter(|d| d.get("decidedBy") == Some(&json!("bulk")) && d.get("decision") != Some(&json!("rejected"))).count())
        .unwrap_or(0) as u64;
    Ok(Some(SavedVersion {
        graph_id: graph_id.to_owned(),
        version,
        user: row.user.clone(),
        override_version: record.get("override") == Some(&json!(true)),
        nodes_before: (nodes_after + removed).saturating_sub(added),
        nodes_removed: removed,
        bulk_accepted,
    }))
}

/// The erasure event `seq`'s detail (for [`Observation::Erased`]).
pub fn erasure(db: &mut dyn Reader, seq: i64) -> Result<Option<Value>, HistoryError> {
    Ok(db.events()?.into_iter().find(|e| e.seq == seq && e.kind == "erasure").and_then(|e| serde_json::from_str(&e.detail).ok()))
}

/// The kind of the events alarms write.
pub const EVENT_KIND: &str = "alarm";

/// Writes a fired alarm to the chained event log (kind `alarm`, actor
/// `server`): `{rule, kind, subject, figures}`, a user in the subject named
/// by their pseudonym — the log can never be rewritten, so it names no one.
pub fn record(store: &Store, fired: &Fired, at: &str) -> Result<Event, HistoryError> {
    store.write(|tx| {
        let mut subject = fired.subject.clone();
        if let Some(user) = subject.get("user").and_then(Value::as_str).map(str::to_owned) {
            let mut names = Pseudonyms::default();
            names.learn(tx, [user.as_str()], at)?;
            subject.insert("user".to_owned(), json!(names.name(&user)));
        }
        let detail = json!({"rule": fired.rule, "kind": fired.kind, "subject": subject, "figures": fired.figures});
        Ok(crate::events::append(tx, EVENT_KIND, "server", &detail, at)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarms(json: &str) -> Alarms {
        Alarms::new(parse_rules(json).unwrap())
    }

    #[test]
    fn a_rules_file_is_checked_whole() {
        let rules = parse_rules(
            r#"{"rules": [{"rule": "override"}, {"rule": "override"}, {"id": "night", "rule": "graphsReadPerToken", "max": 3, "windowSeconds": 60}]}"#,
        )
        .unwrap();
        assert_eq!(rules.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["override", "override-1", "night"]);
        for (bad, says) in [
            (r#"{"rules": [{"rule": "sneeze"}]}"#, "rules[0]"),
            (r#"{"rules": [{"rule": "bulkAccept"}]}"#, "max"),
            (r#"{"rules": [{"rule": "bulkAccept", "max": 1, "extra": 2}]}"#, "extra"),
            (r#"{"rules": [{"rule": "largeRemoval"}]}"#, "maxNodes"),
            (r#"{"rules": [{"rule": "savesPerUser", "max": 1, "windowSeconds": 0}]}"#, "windowSeconds"),
            (r#"{"rules": [{"id": "a", "rule": "override"}, {"id": "a", "rule": "erasure"}]}"#, "twice"),
            (r#"[{"rule": "override"}]"#, "rules"),
        ] {
            let error = parse_rules(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn a_window_fires_once_over_its_max_and_starts_afresh() {
        let a = alarms(r#"{"rules": [{"rule": "failedSignIns", "per": "address", "max": 2, "windowSeconds": 10}]}"#);
        let failed = Observation::SignInFailed { token: Some("t1".into()), address: Some("10.0.0.1".into()) };
        assert!(a.observe(&failed, 0).is_empty());
        assert!(a.observe(&failed, 1_000).is_empty());
        let fired = a.observe(&failed, 2_000);
        assert_eq!(fired.len(), 1);
        assert_eq!(json!(fired[0].subject), json!({"address": "10.0.0.1"}));
        assert_eq!(fired[0].figures["count"], 3);
        assert!(a.observe(&failed, 3_000).is_empty(), "the window started afresh");
        // Old failures leave the window.
        assert!(a.observe(&failed, 20_000).is_empty());
        assert!(a.observe(&failed, 21_000).is_empty());
        assert!(a.observe(&failed, 40_000).is_empty(), "the first two are older than 10 s");
    }

    #[test]
    fn distinct_graphs_are_counted_once_each() {
        let a = alarms(r#"{"rules": [{"rule": "graphsReadPerToken", "max": 2, "windowSeconds": 60}]}"#);
        let read = |g: &str| Observation::GraphRead { token: Some("fp".into()), address: None, graph_id: g.into() };
        for g in ["a", "a", "b", "b", "a"] {
            assert!(a.observe(&read(g), 0).is_empty(), "{g}");
        }
        assert_eq!(a.observe(&read("c"), 0)[0].figures["graphs"], 3);
    }

    #[test]
    fn saves_fire_on_removals_bulk_accepts_and_overrides() {
        let a = alarms(
            r#"{"rules": [{"rule": "largeRemoval", "maxNodes": 10, "maxPercent": 50}, {"rule": "bulkAccept", "max": 3}, {"rule": "override"}]}"#,
        );
        let save = |removed, before, bulk, over| {
            Observation::Saved(SavedVersion {
                graph_id: "g".into(),
                version: 2,
                user: "ann".into(),
                override_version: over,
                nodes_before: before,
                nodes_removed: removed,
                bulk_accepted: bulk,
            })
        };
        assert!(a.observe(&save(10, 100, 3, false), 0).is_empty());
        let kinds = |fired: Vec<Fired>| fired.into_iter().map(|f| f.kind).collect::<Vec<_>>();
        assert_eq!(kinds(a.observe(&save(11, 100, 0, false), 0)), ["largeRemoval"]);
        assert_eq!(kinds(a.observe(&save(3, 5, 4, true), 0)), ["largeRemoval", "bulkAccept", "override"]);
    }
}
