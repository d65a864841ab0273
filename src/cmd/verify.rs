//! `gate verify`: prove the receipt was not altered. It walks the chain
//! (every hash, in order), then checks the store against the signed
//! checkpoints kept apart from it, which catch a store that was replaced,
//! deleted or cut short. Exit 0 with a one-line summary when all is well;
//! otherwise exit 1 naming each problem (a store too damaged to read as a
//! chain is one). A fresh home, with no receipt and no checkpoint yet, has
//! nothing to verify: exit 0. `--bundle` checks a bundle from `gate export
//! --bundle` instead, anywhere, against a pinned key.

use std::io::BufReader;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::paths::Paths;
use crate::store::trouble::Trouble;
use crate::store::{self, seal, RecordCheck, Store, StoreError};
use crate::trust::bundle::{self, SeenCheckpoints};
use crate::trust::keys;

/// What `gate verify --head` takes: a row hash, 64 hex digits.
fn check_head(head: &str) -> anyhow::Result<String> {
    if head.len() == 64 && head.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(head.to_ascii_lowercase());
    }
    anyhow::bail!(
        "--head {:?} is not a hash: it takes 64 hex digits, the head hash that ends the ok line of an \
         earlier `gate verify` (`head_hash` in `gate verify --json`)",
        crate::term::ellipsize(head, 80)
    )
}

/// A store that cannot be read as a chain: it is damaged, which is a
/// failed verification (exit 1), not a failure of `gate verify` itself.
fn damage(e: &StoreError) -> Option<String> {
    use rusqlite::Error as E;
    if let Some(t @ Trouble::Damaged { .. }) = Trouble::of(e) {
        return Some(t.to_string());
    }
    match e {
        StoreError::Sqlite {
            source: E::FromSqlConversionFailure(..) | E::InvalidColumnType(..) | E::IntegralValueOutOfRange(..),
            ..
        } => Some(format!("{e}: a row cannot be read as a receipt row")),
        _ => None,
    }
}

/// The report's JSON (docs/json.md): every field always present.
fn report_json(
    report: Option<&store::VerifyReport>,
    ok: bool,
    problem: serde_json::Value,
    head_found: Option<bool>,
    checkpoints: serde_json::Value,
    previous: Option<&serde_json::Value>,
) -> serde_json::Value {
    serde_json::json!({
        "ok": ok,
        "rows": report.map_or(0, |r| r.rows),
        "head_seq": report.map_or(0, |r| r.head_seq),
        "head_hash": report.map(|r| r.head_hash.clone()),
        "problem": problem,
        "missing_triggers": report.map_or(Vec::new(), |r| r.missing_triggers.clone()),
        "expected_head_found": head_found,
        "checkpoints": checkpoints,
        "previous_store": previous,
    })
}

pub fn run(head: Option<String>, json: bool) -> anyhow::Result<ExitCode> {
    let head = head.as_deref().map(check_head).transpose()?;
    let paths = Paths::from_env()?;
    let db = paths.db();
    let failed = |why: String| -> anyhow::Result<ExitCode> {
        if json {
            let problem = serde_json::json!({ "problem": "unreadable", "error": why });
            let v = report_json(None, false, problem, None, serde_json::Value::Null, None);
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            println!("gate verify: FAILED: {why}");
        }
        Ok(ExitCode::from(1))
    };
    let store = match Store::open_read(&db) {
        Ok(s) => Some(s),
        Err(StoreError::Missing(_)) => None,
        Err(e) => match damage(&e) {
            Some(why) => return failed(why),
            None => return Err(e.into()),
        },
    };
    // The checkpoints are checked on the same walk over the rows as the chain.
    let mut walk = seal::begin_audit(&paths, store.as_ref());
    let Some(store) = store else {
        let checkpoints = walk.and_then(|w| w.map(|w| w.finish()).transpose());
        // No receipt: fine when none was ever checkpointed, not otherwise.
        let (ok, checkpoints) = match checkpoints {
            Err(e) => (false, serde_json::json!({ "error": e.to_string() })),
            Ok(_) => (true, serde_json::Value::Null),
        };
        if json {
            let head_found = head.as_ref().map(|_| false);
            let v = report_json(None, ok && head.is_none(), serde_json::Value::Null, head_found, checkpoints, None);
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else if !ok {
            println!("gate verify: FAILED: {}", checkpoints["error"].as_str().unwrap_or_default());
        } else if head.is_some() {
            println!("gate verify: FAILED: there is no receipt at {}, so the --head hash is not in it", db.display());
        } else {
            let db = db.display();
            println!("nothing to verify yet: there is no receipt at {db} (gate writes it on the first hook call)");
        }
        return Ok(if ok && head.is_none() { ExitCode::SUCCESS } else { ExitCode::from(1) });
    };
    let report = match store::verify_visiting(&store, &mut |seq, hash| {
        if let Ok(Some(w)) = &mut walk {
            w.push(seq, hash);
        }
    }) {
        Ok(r) => r,
        Err(e) => match damage(&e) {
            Some(why) => return failed(why),
            None => return Err(e.into()),
        },
    };
    let checkpoints = walk.and_then(|w| w.map(|w| w.finish()).transpose());
    let head_missing = match &head {
        Some(h) => !store.has_hash(h)?,
        None => false,
    };
    let ok = report.problem.is_none() && report.missing_triggers.is_empty() && !head_missing && checkpoints.is_ok();
    // A chain that `gate recover` started: say what became of the store it replaced.
    let previous = super::recover::previous_store(&paths, &store);
    if json {
        let checkpoints = match &checkpoints {
            Ok(Some(a)) => serde_json::to_value(a)?,
            Ok(None) => serde_json::Value::Null,
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        };
        let problem = serde_json::to_value(&report.problem)?;
        let head_found = head.as_ref().map(|_| !head_missing);
        let v = report_json(Some(&report), ok, problem, head_found, checkpoints, previous.as_ref().map(|(_, p)| p));
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
        if let Err(e) = &checkpoints {
            println!("gate verify: FAILED: {e}");
        }
        if ok {
            let sealed = match &checkpoints {
                Ok(Some(a)) => format!(
                    "; matches {} signed checkpoint{} (largest {} rows)",
                    a.checkpoints_checked,
                    if a.checkpoints_checked == 1 { "" } else { "s" },
                    a.largest_checkpoint.unwrap_or(0)
                ),
                _ => "; no signed checkpoint yet (one is written at each session end and export)".to_string(),
            };
            println!(
                "ok: {} rows, chain intact from seq 1 to {}{sealed}; head {}",
                report.rows, report.head_seq, report.head_hash
            );
        }
        if let Some((line, _)) = &previous {
            println!("gate verify: note: {line}");
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Check a bundle: every record's hash, the chain, the signed checkpoint,
/// the pinned key, and that it does not go back on a bundle of the same
/// store this verifier has already seen.
pub fn run_bundle(file: &Path, key: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let pinned = key.map(keys::parse_public_key).transpose().context("--key")?;
    let reader = BufReader::new(std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?);
    let seen_path = paths.seen_checkpoints();
    let mut seen = SeenCheckpoints::load(&seen_path)?;
    let check = std::cell::RefCell::new(RecordCheck::default());
    let hasher = |m: &serde_json::Map<String, serde_json::Value>| check.borrow_mut().hash(m);
    let verdict = bundle::verify_bundle(reader, pinned, &mut seen, &hasher).map_err(|e| e.to_string()).and_then(|r| {
        check.take().finish()?;
        Ok(r)
    });
    match verdict {
        Ok(report) => {
            if json {
                let mut v = serde_json::to_value(&report)?;
                v["ok"] = true.into();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let signer = if report.key_pinned {
                    format!("signed by the pinned key {}", report.key_id)
                } else {
                    format!(
                        "signed by {} (not pinned: pass --key with the writer's `gate key` to know who signed)",
                        report.key
                    )
                };
                let seen = match report.seen_size {
                    Some(n) => format!("; extends the {n} rows seen before"),
                    None => String::new(),
                };
                println!(
                    "ok: {}: {} records, chain and Merkle root {} intact, {signer}{seen}",
                    file.display(),
                    report.size,
                    &report.root[..16]
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if json {
                println!("{}", serde_json::json!({ "ok": false, "error": format!("{}: {e}", file.display()) }));
            } else {
                println!("gate verify: FAILED: {}: {e}", file.display());
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// `gate verify --from URL`: every store the team store holds, each chain
/// walked on the server and checked against its signed checkpoints. Exit 1
/// when any store has a problem.
pub fn run_team(from: &str, json: bool) -> anyhow::Result<ExitCode> {
    let team = super::open_team(from)?;
    let mut out = std::io::stdout().lock();
    let verdicts = team.verify(&mut |v| {
        if json {
            return;
        }
        use std::io::Write;
        let short: String = v.origin.store_id.chars().take(12).collect();
        let who = crate::term::sanitize(&format!("{} on {} (store {short})", v.origin.developer, v.origin.host)).into_owned();
        let _ = if v.problems.is_empty() {
            let sealed = match v.latest_checkpoint {
                Some((size, at)) => format!(
                    "; matches {} signed checkpoint{} (newest: {size} rows, signed {}) by key {}",
                    v.checkpoints_checked,
                    if v.checkpoints_checked == 1 { "" } else { "s" },
                    crate::clock::format_ms(at),
                    v.key_id.as_deref().unwrap_or("-")
                ),
                None => String::new(),
            };
            writeln!(out, "ok: {who}: {} rows, chain intact from seq 1 to {}{sealed}", v.rows, v.rows)
        } else {
            let mut r = writeln!(out, "FAILED: {who}: {} rows read", v.rows);
            for p in &v.problems {
                r = r.and_then(|_| writeln!(out, "  {}", crate::term::sanitize(p)));
            }
            r
        };
    })?;
    let ok = verdicts.iter().all(|v| v.problems.is_empty());
    if json {
        let v = serde_json::json!({
            "ok": ok,
            "url": team.url().to_string(),
            "stores": verdicts,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if verdicts.is_empty() {
        println!("nothing to verify yet: the team store {} holds no store (`gate push` sends one)", team.url());
    } else {
        let bad = verdicts.iter().filter(|v| !v.problems.is_empty()).count();
        let rows: u64 = verdicts.iter().map(|v| v.rows).sum();
        match bad {
            0 => println!("team store {}: {} stores, {rows} rows, every chain and checkpoint verifies", team.url(), verdicts.len()),
            n => println!("gate verify: FAILED: {n} of the {} stores in {} do not verify", verdicts.len(), team.url()),
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
