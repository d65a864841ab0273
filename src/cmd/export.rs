//! `gate export`: stream receipts as JSON Lines or CSV for a team or a
//! reviewer, one row at a time (constant memory). The schema is documented
//! in the README and is stable: fields are only ever added. Every record
//! carries the row's chain fields, so an export can be checked offline.
//! CSV cells that a spreadsheet would run as a formula are defused.

use std::io::Write;
use std::process::ExitCode;

use serde_json::{Map, Value};

use crate::cli::{ExportArgs, ExportFormat};
use crate::clock;
use crate::store::Receipt;

/// The columns, in order. JSONL uses the same names.
pub const FIELDS: &[&str] = &[
    "schema",
    "seq",
    "ts",
    "kind",
    "session_id",
    "tool_use_id",
    "agent",
    "os_user",
    "host",
    "cwd",
    "tool",
    "tool_kind",
    "args",
    "target",
    "decision",
    "approver",
    "source",
    "rule",
    "rule_origin",
    "reason",
    "outcome",
    "links_seq",
    "duration_ms",
    "error",
    "patch",
    "detail",
    "prev_hash",
    "hash",
];

pub const SCHEMA: &str = "gate.receipt/1";

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let mut filter = crate::cmd::filter_of(&args.filter)?;
    let store = crate::cmd::open_for_reading(&mut filter)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if let ExportFormat::Csv = args.format {
        writeln!(out, "{}", FIELDS.join(","))?;
    }
    store.for_each(&filter, |r| {
        let outcome = if r.kind == "decision" { store.outcome_status(r.seq).ok().flatten() } else { r.status.clone() };
        let record = record_of(&r, outcome);
        match args.format {
            ExportFormat::Jsonl => {
                let line = serde_json::to_string(&record).map_err(std::io::Error::other)?;
                writeln!(out, "{line}")?;
            }
            ExportFormat::Csv => {
                let cells: Vec<String> =
                    FIELDS.iter().map(|f| csv_cell(record.get(*f).unwrap_or(&Value::Null))).collect();
                writeln!(out, "{}", cells.join(","))?;
            }
        }
        Ok(true)
    })?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn json_text(s: &Option<String>) -> Value {
    match s {
        Some(t) => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.clone())),
        None => Value::Null,
    }
}

fn record_of(r: &Receipt, outcome: Option<String>) -> Map<String, Value> {
    let s = |v: &Option<String>| v.clone().map(Value::String).unwrap_or(Value::Null);
    let mut m = Map::new();
    m.insert("schema".into(), SCHEMA.into());
    m.insert("seq".into(), r.seq.into());
    m.insert("ts".into(), clock::format_ms(r.ts).into());
    m.insert("kind".into(), r.kind.clone().into());
    m.insert("session_id".into(), s(&r.session_id));
    m.insert("tool_use_id".into(), s(&r.tool_use_id));
    m.insert("agent".into(), s(&r.agent));
    m.insert("os_user".into(), s(&r.os_user));
    m.insert("host".into(), s(&r.host));
    m.insert("cwd".into(), s(&r.cwd));
    m.insert("tool".into(), s(&r.tool));
    m.insert("tool_kind".into(), s(&r.tool_kind));
    m.insert("args".into(), json_text(&r.args));
    m.insert("target".into(), s(&r.target));
    m.insert("decision".into(), s(&r.decision));
    m.insert("approver".into(), s(&r.approver));
    m.insert("source".into(), s(&r.source));
    m.insert("rule".into(), s(&r.rule_id));
    m.insert("rule_origin".into(), s(&r.rule_origin));
    m.insert("reason".into(), s(&r.reason));
    m.insert("outcome".into(), outcome.map(Value::String).unwrap_or(Value::Null));
    m.insert("links_seq".into(), r.links_seq.map(Value::from).unwrap_or(Value::Null));
    m.insert("duration_ms".into(), r.duration_ms.map(Value::from).unwrap_or(Value::Null));
    m.insert("error".into(), s(&r.error));
    m.insert("patch".into(), json_text(&r.patch));
    m.insert("detail".into(), json_text(&r.detail));
    m.insert("prev_hash".into(), r.prev_hash.clone().into());
    m.insert("hash".into(), r.hash.clone().into());
    m
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
