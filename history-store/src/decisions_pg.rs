//! The `decisions` table on PostgreSQL (see [`crate::decisions`]): its
//! schema, its writes (a version's labels and rows in three statements at
//! most), and reports, which PostgreSQL groups itself (hash aggregation,
//! approvals counted by the `leads` bit), except for one node's decisions,
//! which are few and summed here as on SQLite.

use std::collections::HashMap;

use tokio_postgres::types::ToSql;

use crate::decisions::{
    Approval, DAY_MS, DayStats, Decided, Dim, Key, Label, Span, StatsFilter, Summer, lead_bit, named_ids, needed_labels, numbered, resolve,
    span_start,
};
use crate::pg_text::{dec, enc};
use crate::{StoreError, StoreResult};

/// The migration that creates the tables (the caller's
/// `Upgrade::backfill_decisions` fills them).
pub(crate) const SCHEMA: &str = "
    CREATE TABLE labels (
        id SERIAL PRIMARY KEY,
        kind INT NOT NULL,
        text TEXT NOT NULL,
        UNIQUE (kind, text)
    );
    CREATE TABLE decisions (
        gid BIGINT NOT NULL,
        version BIGINT NOT NULL,
        seq INT NOT NULL,
        at_ms BIGINT NOT NULL,
        \"user\" INT NOT NULL,
        source INT NOT NULL,
        model INT,
        model_version INT,
        run INT,
        target SMALLINT NOT NULL,
        entity INT,
        field INT,
        rule INT,
        outcome SMALLINT NOT NULL,
        leads SMALLINT NOT NULL,
        wait_ms BIGINT,
        PRIMARY KEY (gid, version, seq)
    );
    CREATE INDEX decisions_at ON decisions (at_ms);
    CREATE INDEX decisions_user ON decisions (\"user\");
    CREATE INDEX decisions_run ON decisions (run) WHERE run IS NOT NULL;
    CREATE INDEX decisions_entity ON decisions (entity) WHERE entity IS NOT NULL;";

/// What the backend's connection does for this module.
pub(crate) trait PgSql {
    fn query(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<tokio_postgres::Row>>;
    fn execute(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> StoreResult<u64>;
    /// Statements without parameters or results (settings).
    fn batch(&self, sql: &str) -> StoreResult<()>;
}

type Args = Vec<Box<dyn ToSql + Sync + Send>>;

fn refs(args: &Args) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| a.as_ref() as &(dyn ToSql + Sync)).collect()
}

fn id32(id: Option<i64>) -> Option<i32> {
    id.and_then(|i| i32::try_from(i).ok())
}

/// The ids of `labels`, adding those missing (in the sorted order they come in).
fn label_ids(db: &dyn PgSql, labels: &[(Label, String)]) -> StoreResult<HashMap<(Label, String), i64>> {
    let kinds: Vec<i32> = labels.iter().map(|(k, _)| *k as i32).collect();
    let texts: Vec<String> = labels.iter().map(|(_, t)| enc(t).into_owned()).collect();
    let select = "SELECT l.kind, l.text, l.id FROM labels l JOIN unnest($1::int[], $2::text[]) AS w(kind, text)
                  ON l.kind = w.kind AND l.text = w.text";
    let found = |rows: Vec<tokio_postgres::Row>| -> HashMap<(i32, String), i64> {
        rows.iter().map(|r| ((r.get::<_, i32>(0), dec(r.get(1))), i64::from(r.get::<_, i32>(2)))).collect()
    };
    let mut ids = found(db.query(select, &[&kinds, &texts])?);
    if ids.len() < labels.len() {
        db.execute(
            "INSERT INTO labels (kind, text) SELECT * FROM unnest($1::int[], $2::text[]) ON CONFLICT (kind, text) DO NOTHING",
            &[&kinds, &texts],
        )?;
        ids = found(db.query(select, &[&kinds, &texts])?);
    }
    labels
        .iter()
        .map(|(kind, text)| {
            let id =
                ids.get(&(*kind as i32, text.clone())).copied().ok_or_else(|| StoreError::Failed("a label was not kept".to_owned()))?;
            Ok(((*kind, text.clone()), id))
        })
        .collect()
}

pub(crate) fn insert(db: &dyn PgSql, approval: &Approval, rows: &[Decided]) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids = label_ids(db, &needed_labels(approval, rows))?;
    let numbered = numbered(approval, rows, &ids);
    let column = |f: &dyn Fn(usize) -> Option<i64>| -> Vec<Option<i32>> { (0..rows.len()).map(|i| id32(f(i))).collect() };
    let seq: Vec<i32> = (0..rows.len() as i32).collect();
    let user = column(&|i| Some(numbered[i].0.user));
    let source = column(&|i| Some(numbered[i].0.source));
    let model = column(&|i| numbered[i].0.model);
    let model_version = column(&|i| numbered[i].0.model_version);
    let run = column(&|i| numbered[i].0.run);
    let entity = column(&|i| numbered[i].0.entity);
    let field = column(&|i| numbered[i].0.field);
    let rule = column(&|i| numbered[i].0.rule);
    let target: Vec<i16> = rows.iter().map(|r| r.target as i16).collect();
    let outcome: Vec<i16> = rows.iter().map(|r| r.outcome as i16).collect();
    let leads: Vec<i16> = numbered.iter().map(|(_, l)| *l as i16).collect();
    db.execute(
        "INSERT INTO decisions (gid, version, seq, at_ms, \"user\", source, model, model_version, run, target, entity, field, rule,
                                outcome, leads, wait_ms)
         SELECT $1::bigint, $2::bigint, s, $3::bigint, u, so, m, mv, r, t, e, f, ru, o, l, $4::bigint
         FROM unnest($5::int[], $6::int[], $7::int[], $8::int[], $9::int[], $10::int[], $11::smallint[], $12::int[], $13::int[],
                     $14::int[], $15::smallint[], $16::smallint[]) AS x(s, u, so, m, mv, r, t, e, f, ru, o, l)",
        &[
            &approval.gid,
            &approval.version,
            &approval.at_ms,
            &approval.wait_ms,
            &seq,
            &user,
            &source,
            &model,
            &model_version,
            &run,
            &target,
            &entity,
            &field,
            &rule,
            &outcome,
            &leads,
        ],
    )?;
    Ok(())
}

fn label_id(db: &dyn PgSql, kind: Label, text: &str) -> StoreResult<Option<i64>> {
    let rows = db.query("SELECT id FROM labels WHERE kind = $1 AND text = $2", &[&(kind as i32), &enc(text)])?;
    Ok(rows.first().map(|r| i64::from(r.get::<_, i32>(0))))
}

/// A report (see the module docs).
pub(crate) fn stats(db: &dyn PgSql, dims: &[Dim], span: Option<Span>, filter: &StatsFilter) -> StoreResult<Vec<DayStats>> {
    let mut conditions: Vec<String> = Vec::new();
    let mut args: Args = Vec::new();
    let mut condition = |sql: &str, value: Box<dyn ToSql + Sync + Send>| {
        args.push(value);
        conditions.push(sql.replace('?', &format!("${}", args.len())));
    };
    for (text, kind, column) in
        [(&filter.user, Label::User, "\"user\""), (&filter.run_id, Label::Run, "run"), (&filter.node_id, Label::Entity, "entity")]
    {
        if let Some(text) = text {
            match label_id(db, kind, text)? {
                Some(id) => condition(&format!("{column} = ?"), Box::new(id as i32)),
                None => return Ok(Vec::new()),
            }
        }
    }
    if let Some(graph_id) = &filter.graph_id {
        match db.query("SELECT gid FROM graphs WHERE graph_id = $1", &[&enc(graph_id)])?.first() {
            Some(row) => condition("gid = ?", Box::new(row.get::<_, i64>(0))),
            None => return Ok(Vec::new()),
        }
    }
    if let Some(graphs) = &filter.graphs {
        let list: Vec<String> = graphs.iter().map(|g| enc(g).into_owned()).collect();
        condition("gid IN (SELECT g.gid FROM graphs g WHERE g.graph_id = ANY(?))", Box::new(list));
    }
    if let Some(from) = filter.from_ms {
        condition("at_ms >= ?", Box::new(from));
    }
    if let Some(to) = filter.to_ms {
        condition("at_ms < ?", Box::new(to));
    }
    let filter_sql = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
    let columns: String = dims.iter().map(|d| format!("{}::bigint, ", d.column())).collect();
    let n = dims.len();
    let summed: Vec<(Key, i64, [i64; 3], Vec<i64>)> = if filter.node_id.is_some() {
        // One node's decisions: few rows, whose leads (marking the first
        // rows of whole versions) do not apply to a part of a version.
        let sql = format!("SELECT {columns}at_ms, gid, version, outcome::bigint, wait_ms FROM decisions{filter_sql}");
        let mut summer = Summer::default();
        for row in db.query(&sql, &refs(&args))? {
            let start = span.map_or(0, |s| span_start(s, row.get::<_, i64>(n).div_euclid(DAY_MS)));
            summer.add((key_values(&row, n), start), (row.get(n + 1), row.get(n + 2)), row.get(n + 3), row.get(n + 4), None);
        }
        summer.finish()
    } else {
        // Large reports: more memory than the default 4 MB for the hash
        // aggregate (else it spills to disk), and no JIT (compiling the
        // query costs more than it saves here).
        db.batch("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")?;
        let bit = lead_bit(dims);
        let group: String = dims.iter().map(|d| format!("{}, ", d.column())).collect();
        // The span's first day, as `span_start` works it out (integers only:
        // no time zone comes in).
        let day = format!("(at_ms / {DAY_MS})");
        let start = match span {
            None => "0::bigint".to_owned(),
            Some(Span::Day) => day,
            Some(Span::Week) => format!("({day} - ({day} + 3) % 7)"),
            Some(Span::Month) => format!("({day} - (EXTRACT(DAY FROM DATE '1970-01-01' + {day}::int)::bigint - 1))"),
        };
        let sql = format!(
            "SELECT {columns}{start} AS day, count(*) FILTER (WHERE leads & {bit} <> 0),
                    count(*) FILTER (WHERE outcome = 0), count(*) FILTER (WHERE outcome = 1), count(*) FILTER (WHERE outcome = 2),
                    array_agg(wait_ms) FILTER (WHERE leads & {bit} <> 0 AND wait_ms IS NOT NULL)
             FROM decisions{filter_sql} GROUP BY {group}day"
        );
        db.query(&sql, &refs(&args))?
            .iter()
            .map(|row| {
                let key = (key_values(row, n), row.get::<_, i64>(n));
                let counts = [row.get(n + 2), row.get(n + 3), row.get(n + 4)];
                (key, row.get(n + 1), counts, row.get::<_, Option<Vec<i64>>>(n + 5).unwrap_or_default())
            })
            .collect()
    };
    let (label_ids, gids) = named_ids(dims, &summed);
    let labels: Vec<i32> = label_ids.iter().filter_map(|i| id32(Some(*i))).collect();
    let labels: HashMap<i64, String> = db
        .query("SELECT id, text FROM labels WHERE id = ANY($1)", &[&labels])?
        .iter()
        .map(|r| (i64::from(r.get::<_, i32>(0)), dec(r.get(1))))
        .collect();
    let graphs: HashMap<i64, String> =
        db.query("SELECT gid, graph_id FROM graphs WHERE gid = ANY($1)", &[&gids])?.iter().map(|r| (r.get(0), dec(r.get(1)))).collect();
    Ok(resolve(dims, summed, &labels, &graphs))
}

fn key_values(row: &tokio_postgres::Row, n: usize) -> [i64; 7] {
    let mut values = [-1i64; 7];
    for (i, value) in values.iter_mut().enumerate().take(n) {
        *value = row.get::<_, Option<i64>>(i).unwrap_or(-1);
    }
    values
}

/// An erasure: the label that named `person` names `pseudonym`.
pub(crate) fn rename_user(db: &dyn PgSql, person: &str, pseudonym: &str) -> StoreResult<()> {
    let Some(old) = label_id(db, Label::User, person)? else { return Ok(()) };
    let old = old as i32;
    match label_id(db, Label::User, pseudonym)? {
        Some(new) => {
            db.execute("UPDATE decisions SET \"user\" = $2 WHERE \"user\" = $1", &[&old, &(new as i32)])?;
            db.execute("DELETE FROM labels WHERE id = $1", &[&old])?;
        }
        None => {
            db.execute("UPDATE labels SET text = $2 WHERE id = $1", &[&old, &enc(pseudonym)])?;
        }
    }
    Ok(())
}

/// `--keep-audit-days`: see the SQLite backend's `expire`.
pub(crate) fn expire(db: &dyn PgSql, cutoff: &str) -> StoreResult<()> {
    db.execute(
        "DELETE FROM decisions d USING graphs g, versions v
         WHERE g.gid = d.gid AND v.graph_id = g.graph_id AND v.version = d.version AND v.scheme >= 3 AND v.saved_at < $1
           AND d.at_ms < (extract(epoch from $2::text::timestamptz) * 1000)::bigint",
        &[&cutoff, &cutoff],
    )?;
    db.execute(
        "DELETE FROM labels WHERE kind = $1 AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.\"user\" = labels.id)",
        &[&(Label::User as i32)],
    )?;
    Ok(())
}
