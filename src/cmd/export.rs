//! `gate export`: stream receipts as JSON Lines or CSV for a team or a
//! reviewer, one row at a time (constant memory). The schema is documented
//! in the README and is stable: fields are only ever added. Every record
//! carries the row's chain fields, so an export can be checked offline.
//! CSV cells that a spreadsheet would run as a formula are defused.

use std::io::Write;
use std::process::ExitCode;

use serde_json::Value;

use crate::cli::{ExportArgs, ExportFormat};
use crate::store::{Hashed, RowKind, COLUMNS};

/// The CSV columns, in order: `schema`, every receipt column under its
/// export name, and the derived `outcome` after `reason`. JSONL
/// records use the same names.
pub fn export_fields() -> Vec<&'static str> {
    let mut out = vec!["schema"];
    for c in COLUMNS {
        out.push(c.export);
        if c.column == "reason" {
            out.push("outcome");
        }
    }
    let _ = Hashed::No;
    out
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let mut filter = crate::cmd::filter_of(&args.filter)?;
    let store = crate::cmd::open_for_reading(&mut filter)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let fields = export_fields();
    if let ExportFormat::Csv = args.format {
        writeln!(out, "{}", fields.join(","))?;
    }
    store.for_each(&filter, |r| {
        let outcome = match r.row_kind() {
            RowKind::Decision => store.outcome_status(r.seq).ok().flatten(),
            _ => r.status,
        };
        let record = r.export_record(outcome);
        match args.format {
            ExportFormat::Jsonl => {
                let line = serde_json::to_string(&record).map_err(std::io::Error::other)?;
                writeln!(out, "{line}")?;
            }
            ExportFormat::Csv => {
                let cells: Vec<String> =
                    fields.iter().map(|f| csv_cell(record.get(*f).unwrap_or(&Value::Null))).collect();
                writeln!(out, "{}", cells.join(","))?;
            }
        }
        Ok(true)
    })?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// One CSV cell: quoted when needed, and defused when a spreadsheet would
/// read it as a formula (a leading `=`, `+`, `-`, `@`, tab or CR).
pub fn csv_cell(v: &Value) -> String {
    let text = match v {
        Value::Null => return String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text };
    if text.contains([',', '"', '\n', '\r']) || text.starts_with(' ') || text.ends_with(' ') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        let cases: &[(Value, &str)] = &[
            (Value::Null, ""),
            ("ls".into(), "ls"),
            ("a,b".into(), "\"a,b\""),
            ("say \"hi\"".into(), "\"say \"\"hi\"\"\""),
            ("=HYPERLINK(\"x\")".into(), "\"'=HYPERLINK(\"\"x\"\")\""),
            ("+1".into(), "'+1"),
            ("-rf".into(), "'-rf"),
            ("@SUM(A1)".into(), "'@SUM(A1)"),
            (Value::from(42), "42"),
        ];
        for (v, want) in cases {
            assert_eq!(csv_cell(v), *want, "{v}");
        }
    }
}
