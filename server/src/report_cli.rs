//! The audit's commands' shared flags (the filters, and where and how a
//! table is written), and `kg-approval-server report`: the figures of
//! `GET /getauditstats` from the command line, on a database directly
//! (also while a server runs on it).
//!
//! ```sh
//! kg-approval-server report --db history.sqlite --group-by modelVersion --bucket week --format csv
//! ```

use std::io::Write;
use std::path::PathBuf;

use kg_history::csv::{CsvOptions, Delimiter};
use kg_history::export::Format;
use kg_history::stats::{self, ReportQuery};

/// The filters of the audit routes, as flags.
#[derive(clap::Args, Debug)]
pub struct FilterArgs {
    /// Only this graph (default: every graph).
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long)]
    pub node_id: Option<String>,
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long)]
    pub run_id: Option<String>,
    /// Saved at or after (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// Saved before (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long)]
    pub to: Option<String>,
}

/// How and where a table (CSV or JSONL) is written.
#[derive(clap::Args, Debug)]
pub struct TableArgs {
    /// csv or jsonl.
    #[arg(long, default_value = "csv")]
    pub format: Format,
    /// CSV: the cell separator (`semicolon` for Excel in locales whose
    /// decimal mark is a comma, e.g. Swedish, Norwegian).
    /// comma or semicolon.
    #[arg(long, default_value = "comma")]
    pub delimiter: Delimiter,
    /// CSV: start with a UTF-8 byte-order mark (Excel then reads UTF-8, not ANSI).
    #[arg(long)]
    pub bom: bool,
    /// The file to write (`-`: standard output).
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
}

impl TableArgs {
    /// The CSV options (refused with `--format jsonl`).
    pub fn csv(&self) -> Result<CsvOptions, String> {
        if self.format == Format::Jsonl && (self.bom || self.delimiter != Delimiter::Comma) {
            return Err("--delimiter and --bom apply to --format csv only".to_owned());
        }
        Ok(CsvOptions { delimiter: self.delimiter, bom: self.bom })
    }

    /// Runs `write` on `--out` (buffered), or on standard output.
    pub fn write<T>(&self, write: impl FnOnce(&mut dyn Write) -> Result<T, String>) -> Result<T, String> {
        if self.out.as_os_str() == "-" {
            return write(&mut std::io::BufWriter::new(std::io::stdout().lock()));
        }
        let file = std::fs::File::create(&self.out).map_err(|e| format!("{}: {e}", self.out.display()))?;
        write(&mut std::io::BufWriter::with_capacity(1 << 16, file))
    }
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    #[arg(long)]
    db: String,
    /// What to group by: model, modelVersion, ruleId, field, user, graph,
    /// source (repeatable, or comma-separated). Default: one group.
    #[arg(long = "group-by", value_name = "DIM[,DIM]")]
    group_by: Vec<String>,
    /// day, week (ISO, from Monday) or month, in UTC. Default: the whole range.
    #[arg(long)]
    bucket: Option<String>,
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    table: TableArgs,
}

/// Writes the report; returns what to tell on stderr.
pub fn run(args: ReportArgs) -> Result<String, String> {
    let csv = args.table.csv()?;
    let group_by = args.group_by.join(",");
    let f = &args.filter;
    let query = ReportQuery::parse(|name| match name {
        "groupBy" => Some(group_by.as_str()),
        "bucket" => args.bucket.as_deref(),
        "id" => f.id.as_deref(),
        "nodeId" => f.node_id.as_deref(),
        "user" => f.user.as_deref(),
        "runId" => f.run_id.as_deref(),
        "from" => f.from.as_deref(),
        "to" => f.to.as_deref(),
        _ => None,
    })
    .map_err(|e| e.to_string())?;
    let store = kg_history::open(&args.db)?;
    let report = store.read(|db| stats::report(db, &query)).map_err(|e| e.to_string())?;
    args.table.write(|out| report.write(args.table.format, csv, out).map_err(|e| e.to_string()))?;
    Ok(format!("{} report rows", report.rows.len()))
}
