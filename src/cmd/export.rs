//! `gate export`: stream receipts as JSON Lines or CSV for a team or a
//! reviewer, or as OCSF 1.8 events for a SIEM (the mapping is `crate::ocsf`),
//! one row at a time (constant memory). The schema is documented in the
//! README and is stable: fields are only ever added. Every record carries
//! the row's chain fields, so an export can be checked offline. CSV cells
//! that a spreadsheet would run as a formula are defused. Each export
//! leaves a signed checkpoint; `--bundle` writes the whole receipt with a
//! signed Merkle checkpoint over it, to be checked anywhere.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use serde_json::Value;

use crate::cli::{ExportArgs, ExportFormat};
use crate::paths::Paths;
use crate::store::{seal, Filter, Receipt, ReceiptStore, RecordCheck, Status, Store, COLUMNS};
use crate::trust::bundle::BundleWriter;
use crate::team::read::Origin;
use crate::trust::keys;

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
    out
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let mut filter = crate::cmd::filter_of(&args.filter)?;
    if let Some(file) = &args.bundle {
        if args.filter.from.is_some() {
            anyhow::bail!("a bundle is this machine's receipt signed by its key; a team store is exported without --bundle and checked with `gate verify --from`");
        }
        if filter.narrows_calls() || filter.since.is_some() || filter.until.is_some() {
            anyhow::bail!("a bundle covers the whole receipt from seq 1, so it takes no filters; drop them, or export without --bundle");
        }
        return write_bundle(file);
    }
    if let Some(from) = &args.filter.from {
        let team = crate::cmd::Receipts::open(Some(from), &mut filter)?;
        let crate::cmd::Receipts::Team(team) = team else { unreachable!("--from opens a team store") };
        stream_team(&team, &filter, args.format)?;
        return Ok(ExitCode::SUCCESS);
    }
    let store = match crate::cmd::open_for_reading(&mut filter) {
        Ok(store) => store,
        // A fresh home: nothing to export yet, said on stderr so stdout stays clean.
        Err(e) if crate::cmd::nothing_yet(&e) => {
            eprintln!("{e}");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e),
    };
    stream(&store, &filter, args.format)?;
    seal_after_export(&store);
    Ok(ExitCode::SUCCESS)
}

/// Rows handed from the reader to the writer at a time, and batches in
/// flight at most: what bounds the memory an export holds.
const BATCH: usize = 256;
const BATCHES_IN_FLIGHT: usize = 4;

/// A row, its outcome, and (read from a team store) whose store it is in.
type Batch = Vec<(Receipt, Option<Status>, Option<Arc<Origin>>)>;

/// Write every matching row of any receipt store to stdout in `format`.
/// Two threads: this one reads the rows, another writes them out, joined
/// by a bounded channel, so memory stays constant however big the store.
/// Written batches come back to be emptied here, where their rows were
/// allocated, so the allocator serves both from this thread's cache: with
/// one malloc arena (which gate then set for every command, and now sets
/// for the hook alone), rows freed on the writer while the reader allocated
/// made a 1M-row export about 1.7 times slower.
fn stream(store: &dyn ReceiptStore, filter: &Filter, format: ExportFormat) -> anyhow::Result<()> {
    stream_with(format, &mut |f| store.scan_records(filter, &mut |r, outcome| f(r, outcome, None)))
}

/// [`stream`] for a team store: store by store, each in seq order, every
/// record naming its store and developer.
fn stream_team(team: &crate::team::TeamStore, filter: &Filter, format: ExportFormat) -> anyhow::Result<()> {
    let mut current: Option<Arc<Origin>> = None;
    stream_with(format, &mut |f| {
        team.scan_stores(filter, &mut |o, r, outcome| {
            if current.as_deref() != Some(o) {
                current = Some(Arc::new(o.clone()));
            }
            f(r, outcome, current.clone())
        })
    })
}

type Visit<'a> = dyn FnMut(Receipt, Option<Status>, Option<Arc<Origin>>) -> std::io::Result<bool> + 'a;

fn stream_with(
    format: ExportFormat,
    scan: &mut dyn FnMut(&mut Visit<'_>) -> Result<(), crate::store::StoreError>,
) -> anyhow::Result<()> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT);
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT + 2);
    std::thread::scope(|s| {
        let writer = s.spawn(move || write_records(&rx, &done_tx, format));
        let mut batch = Vec::with_capacity(BATCH);
        let scanned = scan(&mut |r, outcome, origin| {
            batch.push((r, outcome, origin));
            if batch.len() < BATCH {
                return Ok(true);
            }
            let mut next = done_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
            next.clear();
            // A send fails only when the writer stopped; its error is the one reported.
            Ok(tx.send(std::mem::replace(&mut batch, next)).is_ok())
        });
        if !batch.is_empty() {
            let _ = tx.send(batch);
        }
        drop(tx);
        let written = writer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        written?;
        scanned?;
        Ok(())
    })
}

/// The writer's side of [`stream`]: every batch received, in order, each
/// handed back on `done` once written.
fn write_records(
    rx: &std::sync::mpsc::Receiver<Batch>,
    done: &std::sync::mpsc::SyncSender<Batch>,
    format: ExportFormat,
) -> std::io::Result<()> {
    const CHUNK: usize = 64 * 1024;
    let mut out = std::io::stdout().lock();
    // Whole lines gathered here and written a chunk at a time.
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 4096);
    let fields = export_fields();
    let mut header_written = false;
    for batch in rx {
        for (r, outcome, origin) in &batch {
            let outcome = *outcome;
            if let (ExportFormat::Csv, false) = (format, header_written) {
                // A team store's records name their store in three more columns.
                let team = if origin.is_some() { ",store_id,store_host,developer" } else { "" };
                writeln!(buf, "{}{team}", fields.join(","))?;
                header_written = true;
            }
            match format {
                ExportFormat::Jsonl => {
                    r.append_export_json(outcome, &mut buf);
                    if let Some(o) = origin {
                        // Not hashed, like `outcome`: which store the row is in.
                        buf.pop();
                        for (k, v) in [("store_id", &o.store_id), ("store_host", &o.host), ("developer", &o.developer)] {
                            buf.push(b',');
                            serde_json::to_writer(&mut buf, k).map_err(std::io::Error::other)?;
                            buf.push(b':');
                            serde_json::to_writer(&mut buf, v).map_err(std::io::Error::other)?;
                        }
                        buf.push(b'}');
                    }
                    buf.push(b'\n');
                }
                ExportFormat::Csv => {
                    let record = r.export_record(outcome);
                    let mut cells: Vec<String> =
                        fields.iter().map(|f| csv_cell(record.get(*f).unwrap_or(&Value::Null))).collect();
                    if let Some(o) = origin {
                        for v in [&o.store_id, &o.host, &o.developer] {
                            cells.push(csv_cell(&Value::String(v.clone())));
                        }
                    }
                    writeln!(buf, "{}", cells.join(","))?;
                }
                ExportFormat::Ocsf => {
                    if let Some(mut event) = crate::ocsf::event(r, outcome) {
                        if let (Some(o), Some(obj)) = (origin, event.as_object_mut()) {
                            let team = serde_json::json!({ "store_id": o.store_id, "store_host": o.host, "developer": o.developer });
                            match obj.get_mut("unmapped").and_then(Value::as_object_mut) {
                                Some(u) => {
                                    u.insert("gate_team".into(), team);
                                }
                                None => {
                                    obj.insert("unmapped".into(), serde_json::json!({ "gate_team": team }));
                                }
                            }
                        }
                        serde_json::to_writer(&mut buf, &event).map_err(std::io::Error::other)?;
                        buf.push(b'\n');
                    }
                }
            }
            if buf.len() >= CHUNK {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        // Full means the reader has enough to reuse: this one is dropped here.
        let _ = done.try_send(batch);
    }
    if let (ExportFormat::Csv, false) = (format, header_written) {
        writeln!(buf, "{}", fields.join(","))?;
    }
    out.write_all(&buf)?;
    out.flush()
}

/// Each export leaves a signed checkpoint of the store behind. A failure
/// does not undo the export, but is said plainly.
fn seal_after_export(store: &Store) {
    let Ok(paths) = Paths::from_env() else { return };
    if let Err(e) = seal::checkpoint(&paths, store) {
        eprintln!("gate: warning: no checkpoint was written after this export: {e}");
    }
}

/// The whole receipt as a bundle: JSONL records and a signed checkpoint,
/// written to a temporary file beside `file` and renamed into place.
fn write_bundle(file: &Path) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let store = match Store::open_read(&paths.db()).map_err(anyhow::Error::from) {
        Ok(store) => store,
        // A fresh home: nothing to bundle yet, and no file is written.
        Err(e) if crate::cmd::nothing_yet(&e) => {
            eprintln!("{e}; no bundle was written");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e),
    };
    paths.ensure_dirs()?;
    let key = keys::load_or_create(&paths.signing_key())?;
    // A fresh name, created here and never followed through a symlink.
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let tmp = file.with_extension(format!("bundle-partial-{}-{nonce}", std::process::id()));
    let out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    let check = std::cell::RefCell::new(RecordCheck::default());
    let hasher = |m: &serde_json::Map<String, Value>| check.borrow_mut().hash(m);
    let mut writer = BundleWriter::new(std::io::BufWriter::new(out), &hasher)?;
    let mut failed: Option<anyhow::Error> = None;
    store.scan_records(&Filter::default(), &mut |r, outcome| match writer.push(&r.export_record(outcome)) {
        Ok(()) => Ok(true),
        Err(e) => {
            failed = Some(e.into());
            Ok(false)
        }
    })?;
    if let Some(e) = failed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.context("the receipt does not verify (`gate verify` says where); no bundle was written"));
    }
    if let Err(e) = check.take().finish() {
        let _ = std::fs::remove_file(&tmp);
        anyhow::bail!("the receipt does not verify ({e}); no bundle was written");
    }
    let written = match writer.finish(&key, crate::clock::now_ms()) {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
    };
    written.out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, file).with_context(|| format!("cannot move the bundle to {}", file.display()))?;
    if let Err(e) = seal::record(&paths, &written.checkpoint, &written.frontier) {
        eprintln!("gate: warning: the bundle's checkpoint was not added to the local checkpoint log: {e}");
    }
    eprintln!(
        "wrote {}: {} records, Merkle root {}, signed by {}",
        file.display(),
        written.checkpoint.size,
        written.checkpoint.root,
        written.checkpoint.key
    );
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
