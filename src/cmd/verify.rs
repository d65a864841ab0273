//! `gate verify`: prove the receipt was not altered. Exit 0 with a one-line
//! summary when the chain is intact; otherwise exit 1 naming the first bad
//! seq and what is wrong with it.

use std::process::ExitCode;

use crate::paths::Paths;
use crate::store::{self, Store};

pub fn run(head: Option<String>, json: bool) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let db = paths.db();
    let store = Store::open_read(&db)?;
    let report = store::verify(&store)?;
    let head_missing = match &head {
        Some(h) => !store.has_hash(h)?,
        None => false,
    };
    if json {
        let mut v = serde_json::to_value(&report)?;
        v["ok"] = (report.problem.is_none() && report.missing_triggers.is_empty() && !head_missing).into();
        v["expected_head_found"] = head.as_ref().map(|_| !head_missing).into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        if let Some(p) = &report.problem {
            println!("gate verify: FAILED: {p}");
        }
        if !report.missing_triggers.is_empty() {
            println!(
                "gate verify: FAILED: the append-only triggers are gone ({}); someone opened {} with write access",
                report.missing_triggers.join(", "),
                db.display()
            );
        }
        if head_missing {
            println!(
                "gate verify: FAILED: hash {} is no longer in the chain: rows at the end were removed or rewritten",
                head.as_deref().unwrap_or("")
            );
        }
        if report.problem.is_none() && report.missing_triggers.is_empty() && !head_missing {
            println!(
                "ok: {} rows, chain intact from seq 1 to {}; head {}",
                report.rows, report.head_seq, report.head_hash
            );
        }
    }
    let ok = report.problem.is_none() && report.missing_triggers.is_empty() && !head_missing;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
