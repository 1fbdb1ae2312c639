//! The `decisions` table on SQLite (see [`crate::decisions`]): its schema,
//! its writes, and reports, which stream the rows into a sum kept here
//! (SQLite groups by sorting; summing as the rows come is 2–3× faster).

use std::collections::HashMap;

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::StoreResult;
use crate::decisions::{
    Approval, DAY_MS, DayStats, Decided, Dim, Label, Span, StatsFilter, Summer, lead_bit, named_ids, needed_labels, numbered, resolve,
    span_start,
};

/// Migration 5: the tables (filled by the caller's `Upgrade::backfill_decisions`).
pub(crate) const SCHEMA: &str = "
    CREATE TABLE labels (
        id INTEGER PRIMARY KEY,
        kind INTEGER NOT NULL,
        text TEXT NOT NULL,
        UNIQUE (kind, text)
    );
    CREATE TABLE decisions (
        gid INTEGER NOT NULL,
        version INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        user INTEGER NOT NULL,
        source INTEGER NOT NULL,
        model INTEGER,
        model_version INTEGER,
        run INTEGER,
        target INTEGER NOT NULL,
        entity INTEGER,
        field INTEGER,
        rule INTEGER,
        outcome INTEGER NOT NULL,
        leads INTEGER NOT NULL,
        wait_ms INTEGER,
        PRIMARY KEY (gid, version, seq)
    ) WITHOUT ROWID;
    CREATE INDEX decisions_at ON decisions (at_ms);
    CREATE INDEX decisions_user ON decisions (user);
    CREATE INDEX decisions_run ON decisions (run) WHERE run IS NOT NULL;
    CREATE INDEX decisions_entity ON decisions (entity) WHERE entity IS NOT NULL;";

fn label_id(conn: &Connection, kind: Label, text: &str) -> StoreResult<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM labels WHERE kind = ?1 AND text = ?2")?
        .query_row(params![kind as i64, text], |r| r.get(0))
        .optional()?)
}

pub(crate) fn insert(conn: &Connection, approval: &Approval, rows: &[Decided]) -> StoreResult<()> {
    let mut ids = HashMap::new();
    for (kind, text) in needed_labels(approval, rows) {
        conn.prepare_cached("INSERT OR IGNORE INTO labels (kind, text) VALUES (?1, ?2)")?.execute(params![kind as i64, text])?;
        let id = label_id(conn, kind, &text)?.ok_or_else(|| crate::StoreError::Failed("a label was not kept".to_owned()))?;
        ids.insert((kind, text), id);
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO decisions (gid, version, seq, at_ms, user, source, model, model_version, run, target, entity, field, rule, outcome, leads, wait_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    for (seq, (row, (n, leads))) in rows.iter().zip(numbered(approval, rows, &ids)).enumerate() {
        insert.execute(params![
            approval.gid,
            approval.version,
            seq as i64,
            approval.at_ms,
            n.user,
            n.source,
            n.model,
            n.model_version,
            n.run,
            row.target,
            n.entity,
            n.field,
            n.rule,
            row.outcome as i64,
            leads,
            approval.wait_ms
        ])?;
    }
    Ok(())
}

/// A report: the matching rows, summed per group and day.
pub(crate) fn stats(conn: &Connection, dims: &[Dim], span: Option<Span>, filter: &StatsFilter) -> StoreResult<Vec<DayStats>> {
    let mut conditions: Vec<String> = Vec::new();
    let mut args: Vec<Sql> = Vec::new();
    let mut condition = |sql: &str, value: Sql| {
        args.push(value);
        conditions.push(sql.replace('?', &format!("?{}", args.len())));
    };
    let gid_of = |graph_id: &str| -> StoreResult<Option<i64>> {
        Ok(conn.prepare_cached("SELECT gid FROM graphs WHERE graph_id = ?1")?.query_row([graph_id], |r| r.get(0)).optional()?)
    };
    // A filter naming what was never stored matches nothing.
    for (text, kind, column) in
        [(&filter.user, Label::User, "user"), (&filter.run_id, Label::Run, "run"), (&filter.node_id, Label::Entity, "entity")]
    {
        if let Some(text) = text {
            match label_id(conn, kind, text)? {
                Some(id) => condition(&format!("{column} = ?"), Sql::Integer(id)),
                None => return Ok(Vec::new()),
            }
        }
    }
    if let Some(graph_id) = &filter.graph_id {
        match gid_of(graph_id)? {
            Some(gid) => condition("gid = ?", Sql::Integer(gid)),
            None => return Ok(Vec::new()),
        }
    }
    if let Some(graphs) = &filter.graphs {
        let list = serde_json::to_string(graphs).unwrap_or_else(|_| "[]".to_owned());
        condition("gid IN (SELECT g.gid FROM graphs g WHERE g.graph_id IN (SELECT value FROM json_each(?)))", Sql::Text(list));
    }
    if let Some(from) = filter.from_ms {
        condition("at_ms >= ?", Sql::Integer(from));
    }
    if let Some(to) = filter.to_ms {
        condition("at_ms < ?", Sql::Integer(to));
    }
    let columns: String = dims.iter().map(|d| format!("{}, ", d.column())).collect();
    let sql = format!(
        "SELECT {columns}at_ms, gid, version, outcome, wait_ms, leads FROM decisions{}{}",
        if conditions.is_empty() { "" } else { " WHERE " },
        conditions.join(" AND ")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    let mut summer = Summer::default();
    let n = dims.len();
    // One node's rows are part of their versions: the leads do not apply.
    let bit = filter.node_id.is_none().then(|| lead_bit(dims));
    // A month's start is worked out once per day seen.
    let mut last_day = (i64::MIN, 0);
    while let Some(row) = rows.next()? {
        let mut values = [-1i64; 7];
        for (i, value) in values.iter_mut().enumerate().take(n) {
            *value = row.get::<_, Option<i64>>(i)?.unwrap_or(-1);
        }
        let day = row.get::<_, i64>(n)?.div_euclid(DAY_MS);
        if last_day.0 != day {
            last_day = (day, span.map_or(0, |s| span_start(s, day)));
        }
        let lead = bit.map(|bit| row.get::<_, i64>(n + 5).map(|leads| leads & bit != 0)).transpose()?;
        summer.add((values, last_day.1), (row.get(n + 1)?, row.get(n + 2)?), row.get(n + 3)?, row.get(n + 4)?, lead);
    }
    let summed = summer.finish();
    let (label_ids, gids) = named_ids(dims, &summed);
    let labels = lookup(conn, "SELECT id, text FROM labels WHERE id IN (SELECT value FROM json_each(?1))", &label_ids)?;
    let graphs = lookup(conn, "SELECT gid, graph_id FROM graphs WHERE gid IN (SELECT value FROM json_each(?1))", &gids)?;
    Ok(resolve(dims, summed, &labels, &graphs))
}

fn lookup(conn: &Connection, sql: &str, ids: &[i64]) -> StoreResult<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned());
    let mut stmt = conn.prepare_cached(sql)?;
    Ok(stmt.query_map([list], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?)
}

/// An erasure: the label that named `person` names `pseudonym`.
pub(crate) fn rename_user(conn: &Connection, person: &str, pseudonym: &str) -> StoreResult<()> {
    let Some(old) = label_id(conn, Label::User, person)? else { return Ok(()) };
    match label_id(conn, Label::User, pseudonym)? {
        Some(new) => {
            conn.execute("UPDATE decisions SET user = ?2 WHERE user = ?1", params![old, new])?;
            conn.execute("DELETE FROM labels WHERE id = ?1", [old])?;
        }
        None => {
            conn.execute("UPDATE labels SET text = ?2 WHERE id = ?1", params![old, pseudonym])?;
        }
    }
    Ok(())
}

/// `--keep-audit-days`: the decisions of the versions whose records expire
/// (scheme 3, saved before `cutoff`), and the users no decision names any more.
pub(crate) fn expire(conn: &Connection, cutoff: &str) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM decisions WHERE at_ms < CAST(round((julianday(?1) - 2440587.5) * 86400000.0) AS INTEGER)
           AND EXISTS (SELECT 1 FROM graphs g JOIN versions v ON v.graph_id = g.graph_id
                       WHERE g.gid = decisions.gid AND v.version = decisions.version AND v.scheme >= 3 AND v.saved_at < ?2)",
        rusqlite::params![cutoff, crate::sqlite_time::stored_time(cutoff)],
    )?;
    conn.execute(
        "DELETE FROM labels WHERE kind = ?1 AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.user = labels.id)",
        [Label::User as i64],
    )?;
    Ok(())
}
