//! `GET /getauditstats`: reports on the AI's suggestions and the reviewers'
//! decisions (see [`kg_history::stats`]), as JSON, CSV or JSONL.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kg_history::HistoryError;
use kg_history::access;
use kg_history::csv::CsvOptions;
use kg_history::export::Format;
use kg_history::stats::{self, ReportQuery};

use super::blocking::read_db;
use super::reads::param;
use crate::error::ApiError;
use crate::request::Caller;
use crate::state::AppState;

/// `GET /getauditstats?groupBy=&bucket=day|week|month&from=&to=&id=&nodeId=&user=&runId=&format=json|csv|jsonl`
/// (CSV also `&delimiter=comma|semicolon&bom=true|false`): the audit scope,
/// or an owner over their own graphs.
#[utoipa::path(get, path = "/getauditstats", tag = "audit", summary = "Reports on the AI's suggestions and the reviewers' decisions",
    params(crate::openapi::StatsQuery, crate::openapi::AuditFilters),
    responses((status = 200, description = "The report: JSON, or CSV / JSON lines with format.", content((Object = "application/json"), (String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 400, description = "A bad parameter.", body = crate::openapi::ErrorBody),
        (status = 403, description = "Needs the audit scope (or ownership of the graphs asked for).", body = crate::openapi::ErrorBody)),
    security(("apiToken" = []), ("bearer" = [])))]
pub(super) async fn get_stats(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let who = access::signed_in(caller.0.as_ref())?.clone();
    let query = ReportQuery::parse(|name| params.get(name).map(String::as_str))?;
    let format = match param(&params, "format").unwrap_or("json") {
        "json" => None,
        other => Some(Format::parse(other)?),
    };
    let (delimiter, bom) = (param(&params, "delimiter"), param(&params, "bom"));
    if format != Some(Format::Csv) && (delimiter.is_some() || bom.is_some()) {
        return Err(HistoryError::BadRequest("delimiter and bom apply to format=csv only.".into()).into());
    }
    let csv = CsvOptions::parse(delimiter, bom).map_err(HistoryError::BadRequest)?;
    let report = read_db(&state, move |db| stats::report_for(db, &who, &query)).await?;
    let Some(format) = format else { return Ok(axum::Json(report.to_json()).into_response()) };
    let mut body = Vec::new();
    report.write(format, csv, &mut body).map_err(|e| HistoryError::Internal(format!("writing the report: {e}")))?;
    let name = format!("report.{}", if format == Format::Csv { "csv" } else { "jsonl" });
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response())
}

/// `GET /getalarms?limit=`: the alarms in the event log, newest first (audit
/// scope), each `{seq, at, rule, kind, subject, figures}` — a user in the
/// subject named as the person again where the pseudonym still says who
/// (the log itself names pseudonyms only), with the log's check.
#[utoipa::path(get, path = "/getalarms", tag = "audit", summary = "The alarms in the event log, newest first",
    params(crate::openapi::AlarmsQuery),
    responses((status = 200, description = "{alarms: [{seq, at, rule, kind, subject, figures, hash}], verification}.", body = crate::openapi::Alarms),
        (status = 400, description = "A bad parameter.", body = crate::openapi::ErrorBody),
        (status = 403, description = "Needs the audit scope.", body = crate::openapi::ErrorBody)),
    security(("apiToken" = []), ("bearer" = [])))]
pub(super) async fn get_alarms(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let who = access::signed_in(caller.0.as_ref())?;
    if !who.scopes.can_audit() {
        return Err(HistoryError::Forbidden("Alarms need the audit scope.".into()).into());
    }
    let limit = super::reads::number(&params, "limit", 200, 5000)? as usize;
    let (events, people) = read_db(&state, |db| Ok((db.events()?, db.pseudonyms()?))).await?;
    let check = kg_history::events::verify(&events);
    let person: HashMap<&str, &str> = people.iter().map(|(person, pseudonym)| (pseudonym.as_str(), person.as_str())).collect();
    let alarms: Vec<serde_json::Value> = events
        .iter()
        .rev()
        .filter(|e| e.kind == kg_history::alarms::EVENT_KIND)
        .take(limit)
        .map(|e| {
            let mut detail: serde_json::Value = serde_json::from_str(&e.detail).unwrap_or_default();
            let named = detail["subject"]["user"].as_str().and_then(|p| person.get(p)).map(|p| p.to_string());
            if let Some(named) = named {
                detail["subject"]["pseudonym"] = detail["subject"]["user"].clone();
                detail["subject"]["user"] = serde_json::json!(named);
            }
            serde_json::json!({"seq": e.seq, "at": e.at, "rule": detail["rule"], "kind": detail["kind"], "subject": detail["subject"],
                               "figures": detail["figures"], "hash": e.hash})
        })
        .collect();
    Ok(axum::Json(serde_json::json!({ "alarms": alarms, "verification": check })).into_response())
}
