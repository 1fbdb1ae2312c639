//! The `decisions` table: one row per decided change of every version (what
//! the reviewer decided on each suggestion, with who approved it, which
//! model, version and rule proposed it, and how long the approval took),
//! written in the transaction that saves the version, for reports that
//! group and count millions of decisions without reading a record.
//!
//! It is derived data: the version's record (which the hash chain covers)
//! says the same, the table only makes it countable. It is filled for old
//! versions by the migration that creates it (see [`crate::Upgrade::backfill_decisions`]),
//! renamed by erasures, and emptied of expired records by
//! `--keep-audit-days`, like the records themselves.
//!
//! Texts (users, models, fields, rules, node ids, runs) are stored once in
//! `labels` and named by number in `decisions`, so a row is a handful of
//! integers: a report scans 1,000,000 of them in well under a second.
//!
//! A report is aggregated by UTC day; the layer above rolls days up into
//! weeks, months or one total (an approval belongs to one day, so nothing is
//! counted twice). Each row carries `leads`, a bit set that says whether it
//! is the first row of its version (bit 0), of its version and field (bit
//! 1), of its version and rule (bit 2), and of its version, field and rule
//! (bit 3): counting the rows whose bit for the grouping is set counts the
//! approvals of a group exactly, in one pass, without `COUNT(DISTINCT)`.

use std::collections::{HashMap, HashSet};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// How a report's rows are spread over time: by UTC day, by ISO week
/// (starting on Monday) or by calendar month (`None`: one span).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    Day,
    Week,
    Month,
}

/// The first day of the span holding `day` (days since 1970-01-01, UTC).
pub fn span_start(span: Span, day: i64) -> i64 {
    match span {
        Span::Day => day,
        // 1970-01-01 was a Thursday: days since a Monday are (day + 3) mod 7.
        Span::Week => day - (day + 3).rem_euclid(7),
        Span::Month => day - (day_of_month(day) - 1),
    }
}

/// The day of the month of a day since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn day_of_month(day: i64) -> i64 {
    let z = day + 719_468;
    let doe = z - z.div_euclid(146_097) * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    doy - (153 * mp + 2) / 5 + 1
}

/// What a report may group by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dim {
    Model,
    ModelVersion,
    RuleId,
    Field,
    User,
    Graph,
    Source,
}

impl Dim {
    pub const ALL: [Dim; 7] = [Dim::Model, Dim::ModelVersion, Dim::RuleId, Dim::Field, Dim::User, Dim::Graph, Dim::Source];

    /// The name a report uses (`groupBy=modelVersion`).
    pub fn name(self) -> &'static str {
        match self {
            Dim::Model => "model",
            Dim::ModelVersion => "modelVersion",
            Dim::RuleId => "ruleId",
            Dim::Field => "field",
            Dim::User => "user",
            Dim::Graph => "graph",
            Dim::Source => "source",
        }
    }

    pub fn parse(name: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The column of `decisions` that holds it.
    pub(crate) fn column(self) -> &'static str {
        match self {
            Dim::Model => "model",
            Dim::ModelVersion => "model_version",
            Dim::RuleId => "rule",
            Dim::Field => "field",
            Dim::User => "\"user\"",
            Dim::Graph => "gid",
            Dim::Source => "source",
        }
    }
}

/// The bit of `leads` that marks the rows counting the approvals of a
/// grouping: it depends only on whether the grouping splits a version's
/// changes (by field, by rule).
pub fn lead_bit(dims: &[Dim]) -> i64 {
    let field = dims.contains(&Dim::Field) as i64;
    let rule = dims.contains(&Dim::RuleId) as i64;
    1 << (field + 2 * rule)
}

/// The kinds of text `labels` holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Label {
    User = 1,
    Source = 2,
    Model = 3,
    ModelVersion = 4,
    Rule = 5,
    Field = 6,
    Entity = 7,
    Run = 8,
}

/// A decision's outcome, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Accepted = 0,
    Rejected = 1,
    Corrected = 2,
}

/// What a version says of itself (one per version).
#[derive(Clone, Debug, PartialEq)]
pub struct Approval {
    pub gid: i64,
    pub version: i64,
    /// When it was saved (the server's clock), in milliseconds since the epoch.
    pub at_ms: i64,
    pub user: String,
    pub source: String,
    pub model: Option<String>,
    pub model_version: Option<String>,
    pub run_id: Option<String>,
    /// From the proposal to the approval, in milliseconds (when told).
    pub wait_ms: Option<i64>,
}

/// One decided change of the version.
#[derive(Clone, Debug, PartialEq)]
pub struct Decided {
    /// 0 the graph or metadata, 2 a node, 3 an edge (as [`crate::Kind`]).
    pub target: i64,
    /// The node id or edge key.
    pub entity: Option<String>,
    pub field: Option<String>,
    pub rule_id: Option<String>,
    pub outcome: Outcome,
}

/// What a report counts: every filter is optional.
#[derive(Clone, Debug, Default)]
pub struct StatsFilter {
    pub graph_id: Option<String>,
    /// Only these graphs (an owner's), if given.
    pub graphs: Option<Vec<String>>,
    pub node_id: Option<String>,
    pub user: Option<String>,
    pub run_id: Option<String>,
    /// Saved at or after, in ms since the epoch.
    pub from_ms: Option<i64>,
    /// Saved before, in ms since the epoch.
    pub to_ms: Option<i64>,
}

/// The figures of one group in one span of time.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DayStats {
    /// The group's values, in the order of the dimensions asked for.
    pub group: Vec<Option<String>>,
    /// The span's first day, in days since 1970-01-01 (UTC); 0 without spans.
    pub day: i64,
    pub approvals: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub corrected: i64,
    /// The time from proposal to approval of each of its approvals that told one (ms).
    pub waits: Vec<i64>,
}

/// The `leads` of a version's rows (see the module docs), by row.
pub(crate) fn leads(rows: &[(Option<i64>, Option<i64>)]) -> Vec<i64> {
    let (mut fields, mut rules, mut pairs) = (HashSet::new(), HashSet::new(), HashSet::new());
    rows.iter()
        .enumerate()
        .map(|(i, &(field, rule))| {
            let mut bits = (i == 0) as i64;
            bits |= (fields.insert(field) as i64) << 1;
            bits |= (rules.insert(rule) as i64) << 2;
            bits |= (pairs.insert((field, rule)) as i64) << 3;
            bits
        })
        .collect()
}

/// Group values as numbers: a label id or gid, `-1` for none.
pub(crate) type Key = ([i64; 7], i64);

/// A fast hash for small integer keys (FxHash's mixing): a report hashes
/// one key per row, a million times.
#[derive(Default)]
pub(crate) struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fx>>;

/// Sums rows one by one (the SQLite backend, and PostgreSQL for a node's
/// decisions), counting approvals by `leads` when given, else by the
/// versions seen (exact whatever order the rows come in).
#[derive(Default)]
pub(crate) struct Summer {
    groups: FxMap<Key, Sum>,
}

#[derive(Default)]
struct Sum {
    approvals: i64,
    counts: [i64; 3],
    waits: Vec<i64>,
    last: (i64, i64),
    seen: HashSet<(i64, i64)>,
}

impl Summer {
    /// Adds a row of group `key` of version `(gid, version)`; `lead`: whether
    /// it is the first row of its version in this grouping, when known.
    pub(crate) fn add(&mut self, key: Key, approval: (i64, i64), outcome: i64, wait: Option<i64>, lead: Option<bool>) {
        let sum = self.groups.entry(key).or_default();
        if let Some(count) = sum.counts.get_mut(outcome as usize) {
            *count += 1;
        }
        let first = match lead {
            Some(lead) => lead,
            // Rows of a version mostly come together: the set is asked only
            // when the version changes.
            None => sum.last != approval && sum.seen.insert(approval),
        };
        if first {
            sum.approvals += 1;
            sum.waits.extend(wait);
        }
        sum.last = approval;
    }

    pub(crate) fn finish(self) -> Vec<(Key, i64, [i64; 3], Vec<i64>)> {
        self.groups.into_iter().map(|(key, s)| (key, s.approvals, s.counts, s.waits)).collect()
    }
}

/// The texts of the labels and graphs that `keys` name, as group values.
pub(crate) fn resolve(
    dims: &[Dim],
    rows: Vec<(Key, i64, [i64; 3], Vec<i64>)>,
    labels: &HashMap<i64, String>,
    graphs: &HashMap<i64, String>,
) -> Vec<DayStats> {
    rows.into_iter()
        .map(|((values, day), approvals, [accepted, rejected, corrected], waits)| DayStats {
            group: dims
                .iter()
                .zip(values)
                .map(|(dim, id)| match dim {
                    _ if id < 0 => None,
                    Dim::Graph => graphs.get(&id).cloned(),
                    _ => labels.get(&id).cloned(),
                })
                .collect(),
            day,
            approvals,
            accepted,
            rejected,
            corrected,
            waits,
        })
        .collect()
}

/// The label ids and gids a report's keys name, to look up.
pub(crate) fn named_ids(dims: &[Dim], rows: &[(Key, i64, [i64; 3], Vec<i64>)]) -> (Vec<i64>, Vec<i64>) {
    let (mut labels, mut graphs) = (HashSet::new(), HashSet::new());
    for ((values, _), ..) in rows {
        for (dim, id) in dims.iter().zip(values) {
            if *id >= 0 {
                if *dim == Dim::Graph {
                    graphs.insert(*id)
                } else {
                    labels.insert(*id)
                };
            }
        }
    }
    (labels.into_iter().collect(), graphs.into_iter().collect())
}

/// The labels a version's rows need, each `(kind, text)` once, sorted (two
/// PostgreSQL transactions that add the same labels add them in the same
/// order, so neither waits for the other in a cycle).
pub(crate) fn needed_labels(approval: &Approval, rows: &[Decided]) -> Vec<(Label, String)> {
    let mut out: Vec<(Label, String)> = vec![(Label::User, approval.user.clone()), (Label::Source, approval.source.clone())];
    for (kind, text) in [(Label::Model, &approval.model), (Label::ModelVersion, &approval.model_version), (Label::Run, &approval.run_id)] {
        out.extend(text.iter().map(|t| (kind, t.clone())));
    }
    for row in rows {
        for (kind, text) in [(Label::Entity, &row.entity), (Label::Field, &row.field), (Label::Rule, &row.rule_id)] {
            out.extend(text.iter().map(|t| (kind, t.clone())));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The numbered columns of one row, from the labels' ids.
pub(crate) struct RowIds {
    pub user: i64,
    pub source: i64,
    pub model: Option<i64>,
    pub model_version: Option<i64>,
    pub run: Option<i64>,
    pub entity: Option<i64>,
    pub field: Option<i64>,
    pub rule: Option<i64>,
}

/// Each row's numbered columns and its `leads`.
pub(crate) fn numbered(approval: &Approval, rows: &[Decided], ids: &HashMap<(Label, String), i64>) -> Vec<(RowIds, i64)> {
    let id = |kind: Label, text: &Option<String>| text.as_ref().and_then(|t| ids.get(&(kind, t.clone())).copied());
    let numbered: Vec<RowIds> = rows
        .iter()
        .map(|row| RowIds {
            user: ids.get(&(Label::User, approval.user.clone())).copied().unwrap_or(-1),
            source: ids.get(&(Label::Source, approval.source.clone())).copied().unwrap_or(-1),
            model: id(Label::Model, &approval.model),
            model_version: id(Label::ModelVersion, &approval.model_version),
            run: id(Label::Run, &approval.run_id),
            entity: id(Label::Entity, &row.entity),
            field: id(Label::Field, &row.field),
            rule: id(Label::Rule, &row.rule_id),
        })
        .collect();
    let leads = leads(&numbered.iter().map(|r| (r.field, r.rule)).collect::<Vec<_>>());
    numbered.into_iter().zip(leads).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_start_on_the_day_monday_or_first_of_the_month() {
        // 2026-02-04 (a Wednesday) is day 20,488; 2024-02-29 is day 19,782.
        assert_eq!(span_start(Span::Day, 20_488), 20_488);
        assert_eq!(span_start(Span::Week, 20_488), 20_486);
        assert_eq!(span_start(Span::Month, 20_488), 20_485);
        assert_eq!(span_start(Span::Month, 19_782), 19_754, "a leap day");
        assert_eq!(span_start(Span::Month, 0), 0);
        assert_eq!(span_start(Span::Week, 0), -3, "1970-01-01 was a Thursday");
        for day in 19_000..21_000 {
            let first = span_start(Span::Month, day);
            assert!(day_of_month(first) == 1 && day - first < 31, "{day}");
        }
    }

    #[test]
    fn leads_mark_the_first_row_of_each_split_of_a_version() {
        let rows = [(Some(1), Some(7)), (Some(1), Some(8)), (Some(2), Some(7)), (Some(1), Some(7)), (None, None)];
        assert_eq!(leads(&rows), [0b1111, 0b1100, 0b1010, 0, 0b1110]);
        assert_eq!(lead_bit(&[]), 1);
        assert_eq!(lead_bit(&[Dim::Model, Dim::Field]), 2);
        assert_eq!(lead_bit(&[Dim::RuleId]), 4);
        assert_eq!(lead_bit(&[Dim::RuleId, Dim::Field, Dim::User]), 8);
    }

    #[test]
    fn a_summer_counts_each_approval_once_in_any_order() {
        let mut s = Summer::default();
        let key = ([1, -1, -1, -1, -1, -1, -1], 20_000);
        for (approval, outcome, wait) in [((1, 1), 0, Some(5)), ((1, 2), 1, None), ((1, 1), 2, Some(5)), ((1, 2), 0, None)] {
            s.add(key, approval, outcome, wait, None);
        }
        let rows = s.finish();
        assert_eq!(rows, vec![(key, 2, [2, 1, 1], vec![5])]);
    }
}
