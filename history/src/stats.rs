//! Reports on the AI's suggestions and the reviewers' decisions: per group
//! (model, model version, rule, field, reviewer, graph, source — any of
//! them) and per UTC day, week or month, how many approvals, how many
//! changes proposed, accepted, rejected and corrected, the acceptance rate
//! and the median time from proposal to approval.
//!
//! Every version's decided changes are kept as rows of the storage layer's
//! `decisions` table, written with the version ([`record`]); a report sums
//! them per day ([`crate::store::Reader::decision_stats`]) and rolls the
//! days up here.
//!
//! **What is counted.** A *change* is one entry of a version's `accepted`
//! or `rejected` list (a node field, a whole added or removed node or edge,
//! a metadata field). Its decision is the reviewer's, from the record's
//! `decisions` (`accepted`, `rejected` or `corrected`), or, for clients that
//! send no decisions, the list it is in. `proposed` = `accepted` +
//! `rejected` + `corrected`; `acceptanceRate` = `accepted` / `proposed` (a
//! corrected suggestion was not right as proposed), `null` when nothing
//! was proposed. An *approval* is a version with at least one decided
//! change; grouped by field or rule, an approval counts once in each group
//! it has a change in. `medianMsToApproval` is the median, over the
//! approvals of the group whose record says when the proposal was made
//! (`proposedAt`), of the time from then to the approval (its `approvedAt`,
//! the reviewer's clock, else when it was saved), in milliseconds (the mean
//! of the two middle values for an even count). A change's rule is its
//! node's or edge's `ruleId` (`patchProvenance`, `edgeProvenance`), else
//! the proposal's. Buckets are UTC: a day `YYYY-MM-DD`, a week the date of
//! its Monday (ISO weeks), a month `YYYY-MM`, by when the version was saved.

use std::io::{self, Write};

use kg_approval::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::csv::CsvOptions;
use crate::error::HistoryError;
use crate::export::{Format, parse_change_id, provenance_of};
use crate::principal::Principal;
use crate::store::{Approval, DayStats, Decided, Dim, Outcome, Reader, Span, StatsFilter, StoreResult, VersionRow, Writer};

/// How the days of a report are gathered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Day,
    Week,
    Month,
}

impl std::str::FromStr for Bucket {
    type Err = String;

    /// `day`, `week` or `month`.
    fn from_str(text: &str) -> Result<Bucket, String> {
        match text {
            "day" => Ok(Bucket::Day),
            "week" => Ok(Bucket::Week),
            "month" => Ok(Bucket::Month),
            other => Err(format!("bucket must be day, week or month, got '{other}'.")),
        }
    }
}

impl Bucket {
    /// The bucket of a day (days since 1970-01-01, UTC), as printed.
    pub fn label(self, day: i64) -> String {
        let date = |day: i64| Timestamp::from_unix_millis(day * 86_400_000).map(|t| t.to_string()).unwrap_or_default();
        match self {
            Bucket::Day => date(day).chars().take(10).collect(),
            // 1970-01-01 was a Thursday: days since a Monday are (day + 3) mod 7.
            Bucket::Week => date(day - (day + 3).rem_euclid(7)).chars().take(10).collect(),
            Bucket::Month => date(day).chars().take(7).collect(),
        }
    }
}

/// Parses a `groupBy` list: dimension names separated by commas.
pub fn parse_group_by(text: &str) -> Result<Vec<Dim>, HistoryError> {
    let mut dims = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let dim = Dim::parse(name).ok_or_else(|| {
            let names: Vec<&str> = Dim::ALL.iter().map(|d| d.name()).collect();
            HistoryError::BadRequest(format!("groupBy takes {}, got '{name}'.", names.join(", ")))
        })?;
        if dims.contains(&dim) {
            return Err(HistoryError::BadRequest(format!("groupBy names {name} twice.")));
        }
        dims.push(dim);
    }
    Ok(dims)
}

/// What a report is asked for.
#[derive(Clone, Debug, Default)]
pub struct ReportQuery {
    pub group_by: Vec<Dim>,
    pub bucket: Option<Bucket>,
    pub filter: StatsFilter,
}

impl ReportQuery {
    /// A query from named parameters (a route's query, the command line's
    /// flags): `groupBy`, `bucket`, `from`/`to` (RFC 3339 or `YYYY-MM-DD`,
    /// UTC) and the audit routes' filters `id`, `nodeId`, `user`, `runId`.
    /// Empty values count as absent.
    pub fn parse<'a>(param: impl Fn(&str) -> Option<&'a str>) -> Result<ReportQuery, HistoryError> {
        let param = |name: &str| param(name).filter(|v| !v.is_empty());
        let text = |name: &str| param(name).map(str::to_owned);
        let millis = |name: &str| -> Result<Option<i64>, HistoryError> {
            let Some(t) = param(name) else { return Ok(None) };
            let canonical = crate::export::parse_time(name, t)?;
            Ok(Timestamp::parse(&canonical).ok().map(|t| t.unix_millis()))
        };
        Ok(ReportQuery {
            group_by: parse_group_by(param("groupBy").unwrap_or(""))?,
            bucket: param("bucket").map(str::parse::<Bucket>).transpose().map_err(HistoryError::BadRequest)?,
            filter: StatsFilter {
                graph_id: text("id"),
                graphs: None,
                node_id: text("nodeId"),
                user: text("user"),
                run_id: text("runId"),
                from_ms: millis("from")?,
                to_ms: millis("to")?,
            },
        })
    }
}

/// One row of a report: a group in a bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportRow {
    pub bucket: Option<String>,
    /// The group's values, in the order of `groupBy`.
    pub group: Vec<Option<String>>,
    pub approvals: i64,
    pub proposed: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub corrected: i64,
    pub acceptance_rate: Option<f64>,
    pub median_ms_to_approval: Option<f64>,
}

/// The figures of a row, named as in JSON and CSV, after its bucket and group.
pub const FIGURES: [&str; 7] = ["approvals", "proposed", "accepted", "rejected", "corrected", "acceptanceRate", "medianMsToApproval"];

/// A report.
#[derive(Clone, Debug)]
pub struct Report {
    pub group_by: Vec<Dim>,
    pub bucket: Option<Bucket>,
    pub rows: Vec<ReportRow>,
}

/// A number as JSON: an integer when it is one.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9e15 { json!(value as i64) } else { json!(value) }
}

impl ReportRow {
    /// The row as a JSON object: `bucket` (with a bucket), each group
    /// dimension by name, then the figures.
    pub fn to_json(&self, report: &Report) -> Value {
        let mut out = Map::new();
        if report.bucket.is_some() {
            out.insert("bucket".to_owned(), json!(self.bucket));
        }
        for (dim, value) in report.group_by.iter().zip(&self.group) {
            out.insert(dim.name().to_owned(), json!(value));
        }
        for (name, value) in FIGURES.iter().zip(self.figures()) {
            out.insert((*name).to_owned(), value);
        }
        Value::Object(out)
    }

    fn figures(&self) -> [Value; 7] {
        [
            json!(self.approvals),
            json!(self.proposed),
            json!(self.accepted),
            json!(self.rejected),
            json!(self.corrected),
            self.acceptance_rate.map_or(Value::Null, |r| json!(r)),
            self.median_ms_to_approval.map_or(Value::Null, number),
        ]
    }
}

impl Report {
    /// The report as the route answers it.
    pub fn to_json(&self) -> Value {
        json!({
            "groupBy": self.group_by.iter().map(|d| d.name()).collect::<Vec<_>>(),
            "bucket": self.bucket,
            "timeZone": "UTC",
            "rows": self.rows.iter().map(|r| r.to_json(self)).collect::<Vec<_>>(),
        })
    }

    /// The column names of CSV.
    pub fn columns(&self) -> Vec<&'static str> {
        let mut columns: Vec<&'static str> = Vec::new();
        if self.bucket.is_some() {
            columns.push("bucket");
        }
        columns.extend(self.group_by.iter().map(|d| d.name()));
        columns.extend(FIGURES);
        columns
    }

    /// Writes the report as CSV (a header, a line per row; see
    /// [`crate::csv`]) or JSONL (a line per row, as in JSON).
    pub fn write(&self, format: Format, csv: CsvOptions, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Csv => {
                csv.start(out, &self.columns())?;
                for row in &self.rows {
                    let mut cells: Vec<String> = Vec::new();
                    if self.bucket.is_some() {
                        cells.push(row.bucket.clone().unwrap_or_default());
                    }
                    cells.extend(row.group.iter().map(|v| v.clone().unwrap_or_default()));
                    cells.extend(row.figures().iter().map(|v| if v.is_null() { String::new() } else { v.to_string() }));
                    csv.line(out, &cells)?;
                }
            }
            Format::Jsonl => {
                for row in &self.rows {
                    serde_json::to_writer(&mut *out, &row.to_json(self))?;
                    out.write_all(b"\n")?;
                }
            }
        }
        out.flush()
    }
}

/// Computes a report.
pub fn report(db: &mut dyn Reader, query: &ReportQuery) -> Result<Report, HistoryError> {
    let span = query.bucket.map(|b| match b {
        Bucket::Day => Span::Day,
        Bucket::Week => Span::Week,
        Bucket::Month => Span::Month,
    });
    let days = db.decision_stats(&query.group_by, span, &query.filter)?;
    Ok(Report { group_by: query.group_by.clone(), bucket: query.bucket, rows: roll_up(days, query.bucket) })
}

/// A report for `who`: with the `audit` scope over every graph; else only
/// over the graphs they own (a named graph they do not own is refused).
pub fn report_for(db: &mut dyn Reader, who: &Principal, query: &ReportQuery) -> Result<Report, HistoryError> {
    if who.scopes.can_audit() {
        return report(db, query);
    }
    let mut query = query.clone();
    match &query.filter.graph_id {
        Some(graph_id) => {
            if crate::access::role_of(db, graph_id, &who.user)? != Some(crate::access::Role::Owner) {
                return Err(HistoryError::Forbidden(format!(
                    "A report on graph {graph_id} needs the audit scope or ownership of the graph."
                )));
            }
        }
        None => {
            let owned = db.owned_by(&who.user)?;
            if owned.is_empty() {
                return Err(HistoryError::Forbidden("Reports need the audit scope, or graphs of your own.".into()));
            }
            query.filter.graphs = Some(owned);
        }
    }
    report(db, &query)
}

/// Gathers the spans of each group into its buckets (or one row per
/// group): the store gives each span by its first day.
pub fn roll_up(days: Vec<DayStats>, bucket: Option<Bucket>) -> Vec<ReportRow> {
    let mut rows: std::collections::BTreeMap<(Option<String>, Vec<Option<String>>), DayStats> = std::collections::BTreeMap::new();
    for day in days {
        let label = bucket.map(|b| b.label(day.day));
        let sum = rows.entry((label, day.group.clone())).or_default();
        sum.approvals += day.approvals;
        sum.accepted += day.accepted;
        sum.rejected += day.rejected;
        sum.corrected += day.corrected;
        sum.waits.extend(day.waits);
    }
    rows.into_iter()
        .map(|((bucket, group), mut sum)| {
            let proposed = sum.accepted + sum.rejected + sum.corrected;
            ReportRow {
                bucket,
                group,
                approvals: sum.approvals,
                proposed,
                accepted: sum.accepted,
                rejected: sum.rejected,
                corrected: sum.corrected,
                acceptance_rate: (proposed > 0).then(|| sum.accepted as f64 / proposed as f64),
                median_ms_to_approval: median(&mut sum.waits),
            }
        })
        .collect()
}

/// The median (the mean of the two middle values of an even count).
pub fn median(values: &mut [i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 { values[mid] as f64 } else { (values[mid - 1] as f64 + values[mid] as f64) / 2.0 })
}

/// The decided changes a version's record tells, and what the version says
/// of itself, as the `decisions` table keeps them (nothing for a record
/// that decided nothing, or that expired).
pub fn decided(gid: i64, row: &VersionRow) -> Option<(Approval, Vec<Decided>)> {
    if row.audit_expired {
        return None;
    }
    let record = row.record().ok()?;
    let text = |key: &str| record.get(key).and_then(Value::as_str).map(str::to_owned);
    let millis = |key: &str| record.get(key).and_then(Value::as_str).and_then(|t| Timestamp::parse(t).ok()).map(|t| t.unix_millis());
    let saved_ms = Timestamp::parse(&row.saved_at).ok()?.unix_millis();
    let approved_ms = millis("approvedAt").unwrap_or(saved_ms);
    let approval = Approval {
        gid,
        version: row.version,
        at_ms: saved_ms,
        user: row.user.clone(),
        source: row.source.clone(),
        model: text("model"),
        model_version: text("modelVersion"),
        run_id: row.run_id.clone(),
        wait_ms: millis("proposedAt").map(|proposed| approved_ms - proposed),
    };
    let decisions = record.get("decisions").and_then(Value::as_object);
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for (list, listed) in [("accepted", Outcome::Accepted), ("rejected", Outcome::Rejected)] {
        for id in record.get(list).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if !seen.insert(id) {
                continue;
            }
            let outcome = match decisions.and_then(|d| d.get(id)).and_then(|d| d.get("decision")).and_then(Value::as_str) {
                Some("corrected") => Outcome::Corrected,
                Some("rejected") => Outcome::Rejected,
                Some("accepted") => Outcome::Accepted,
                _ => listed,
            };
            let (target, entity, field) = parse_change_id(id);
            let rule = entity.as_deref().and_then(|e| provenance_of(&record, target, e, "ruleId"));
            let target = match target {
                "node" => 2,
                "edge" => 3,
                "metadata" => 1,
                _ => 0,
            };
            rows.push(Decided { target, entity, field, rule_id: rule.or_else(|| text("ruleId")), outcome });
        }
    }
    (!rows.is_empty()).then_some((approval, rows))
}

/// Stores the decided changes of a version just written (see [`decided`]).
pub fn record(tx: &mut dyn Writer, gid: i64, row: &VersionRow) -> StoreResult<()> {
    match decided(gid, row) {
        Some((approval, rows)) => tx.insert_decisions(&approval, &rows),
        None => Ok(()),
    }
}

/// Fills the `decisions` table from every stored version (the migration
/// that creates it), a page of versions at a time.
pub fn backfill(db: &mut dyn Writer) -> StoreResult<()> {
    let mut after = (String::new(), 0i64);
    loop {
        let page = db.export_page(&Default::default(), (&after.0, after.1), 500)?;
        let Some(last) = page.last() else { return Ok(()) };
        after = (last.row.graph_id.clone(), last.row.version);
        for version in &page {
            record(db, version.gid, &version.row)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_utc_days_iso_weeks_and_months() {
        // 2026-02-04 is a Wednesday.
        let day = Timestamp::parse("2026-02-04T23:59:59Z").unwrap().unix_millis().div_euclid(86_400_000);
        assert_eq!(Bucket::Day.label(day), "2026-02-04");
        assert_eq!(Bucket::Week.label(day), "2026-02-02");
        assert_eq!(Bucket::Month.label(day), "2026-02");
        assert_eq!(Bucket::Week.label(day - 2), "2026-02-02", "a Monday is its own week");
        assert_eq!(Bucket::Week.label(day - 3), "2026-01-26", "a Sunday ends the week before");
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut [5, 1, 3]), Some(3.0));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn group_by_names_every_dimension_once() {
        assert_eq!(parse_group_by("model, modelVersion,field").unwrap(), [Dim::Model, Dim::ModelVersion, Dim::Field]);
        assert!(parse_group_by("model,model").is_err());
        assert!(parse_group_by("reviewer").unwrap_err().to_string().contains("modelVersion"));
        assert!(parse_group_by("").unwrap().is_empty());
    }
}
