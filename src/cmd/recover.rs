//! `gate recover`: when the receipt store is damaged (the hook denies every call and says
//! so), move it aside and start a new chain whose first row records the old store's last
//! intact head. Refuses a store that reads as healthy unless `--force`. Agents may not run
//! it (`no-gate-control` in the default policy). `gate verify` then verifies the new chain
//! and reports on the old file ([`previous_store`]).

use std::process::ExitCode;

use serde_json::{json, Value};

use crate::paths::Paths;
use crate::store::recover::{self, RecoverError};
use crate::store::{seal, Filter, RowKind, Store};

pub fn run(force: bool) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let db = paths.db();
    let damage = match (recover::damage(&db)?, force) {
        (Some(why), _) => why,
        (None, true) => "none found; recovered with --force".to_string(),
        (None, false) => {
            let state = "it opens, passes SQLite's quick_check and its newest row reads".to_string();
            return Err(RecoverError::Healthy { path: db, state }.into());
        }
    };
    let stamp: String =
        crate::clock::format_ms(crate::clock::now_ms()).chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let moved = recover::move_aside(&db, &stamp)?;
    let old = recover::read_old(&moved);
    let log = recover::move_log_aside(&paths.checkpoints(), &stamp)?;
    let mut store = Store::open(&db)?;
    let mut rec = recover::row(&moved, &damage, &old, log.as_ref(), force);
    store.append(&mut rec)?;
    let sealed = match seal::checkpoint(&paths, &store) {
        Ok(_) => String::new(),
        Err(e) => format!(" (no signed checkpoint of the new chain yet: {e})"),
    };
    let head = match &old.head {
        Some(h) => format!("its last intact row, seq {} ({}), is recorded", h.seq, h.hash),
        None => "no row of it could be read, and the new chain says so".to_string(),
    };
    println!(
        "gate recover: moved the damaged store to {} (kept for `gate verify`); a new chain starts at seq 1 in {}, and {head}{sealed}",
        moved.display(),
        db.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// When the store's chain starts with a `recover` row: one line on the store it replaced
/// (the old file, if still there, verified), and the same as JSON.
pub fn previous_store(paths: &Paths, store: &Store) -> Option<(String, Value)> {
    let mut first = None;
    let filter = Filter { kind: Some(RowKind::Recover), ..Default::default() };
    let _ = store.for_each(&filter, |r| {
        first = Some(r);
        Ok(false)
    });
    let first = first.filter(|r| r.seq == 1)?;
    let detail = first.detail_json();
    let name = detail["moved_to"].as_str()?.to_string();
    let path = paths.data_dir.join(&name);
    let recorded = &detail["previous_head"];
    let recorded_text = match recorded["seq"].as_i64() {
        Some(seq) => format!("seq {seq} ({})", recorded["hash"].as_str().unwrap_or("?")),
        None => "no head (none could be read)".to_string(),
    };
    let (state, line) = if !path.exists() {
        ("gone", format!("previous store {}: gone (seq 1 recorded {recorded_text})", path.display()))
    } else {
        match Store::open_read(&path)
            .map_err(|e| e.to_string())
            .and_then(|s| crate::store::verify(&s).map_err(|e| e.to_string()))
        {
            Ok(r) if r.problem.is_none() => {
                let agrees = recorded["hash"]
                    .as_str()
                    .is_none_or(|h| h == r.head_hash || recorded["seq"].as_i64() != Some(r.head_seq));
                (
                    "intact",
                    format!(
                        "previous store {}: chain intact, {} rows, head seq {} ({}); seq 1 recorded {recorded_text}{}",
                        path.display(),
                        r.rows,
                        r.head_seq,
                        r.head_hash,
                        if agrees { "" } else { ", which is NOT its head" }
                    ),
                )
            }
            Ok(r) => (
                "damaged",
                format!(
                    "previous store {}: {} (seq 1 recorded {recorded_text})",
                    path.display(),
                    r.problem.map(|p| p.to_string()).unwrap_or_default()
                ),
            ),
            Err(e) => {
                ("damaged", format!("previous store {}: damaged ({e}); seq 1 recorded {recorded_text}", path.display()))
            }
        }
    };
    Some((line, json!({ "path": path, "state": state, "recorded_head": recorded })))
}
