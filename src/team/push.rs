//! `gate push`: upload the local receipts the team store does not hold yet.
//! One store at a time, under a per-store advisory lock so two pushes of
//! the same store never interleave. The server's head for the store (its
//! last seq and hash) is read first; the local row at that seq must carry
//! the same hash, or the push stops: the two histories differ. Every row
//! after it is checked as it is read (its hash recomputed from its content,
//! its seq and prev_hash following the row before), then sent in batches
//! by binary COPY, one transaction per batch, so a push that is killed or
//! loses the network keeps every batch already committed and the next push
//! goes on from there. The server's own trigger refuses a row that does not
//! extend the chain. Last, the store's signed checkpoints go up.

use std::time::Instant;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

use super::{TeamError, TeamUrl};
use crate::paths::Paths;
use crate::store::{Filter, Receipt, Store, StoreError};
use crate::trust::checkpoint::{Checkpoint, CheckpointLog};

/// How many rows each transaction carries, unless told.
pub const DEFAULT_BATCH: usize = 5_000;

/// What to push, and as whom.
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub batch: usize,
    /// The name the store is pushed under (kept from its first push).
    pub developer: String,
}

/// What a push did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PushReport {
    pub url: String,
    pub host: String,
    pub store_id: String,
    pub developer: String,
    /// The server's head for this store before the push (0: none).
    pub server_head_before: i64,
    /// Rows uploaded by this push.
    pub pushed: u64,
    /// The server's head after it.
    pub server_head: i64,
    pub batches: u64,
    pub checkpoints_pushed: u64,
    pub seconds: f64,
}

/// Why a push stopped.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Team(#[from] TeamError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the local receipt does not verify at seq {seq}: {why}; nothing from there on was pushed (run `gate verify`)")]
    LocalBroken { seq: i64, why: String },
    #[error(
        "the team store holds store {store} up to seq {server_seq} with hash {server_hash}, but the local row at seq {server_seq} {local}: the histories differ, nothing was pushed"
    )]
    Diverged { store: String, server_seq: i64, server_hash: String, local: String },
    #[error("store {store} is registered on the team store with key {registered}, but this machine signs with {ours}: nothing was pushed (a store keeps the key it was first pushed with)")]
    OtherKey { store: String, registered: String, ours: String },
    #[error("the push stopped after {pushed} receipts ({url}): {source}; those are kept, run `gate push` again to send the rest")]
    Interrupted { pushed: u64, url: String, source: TeamError },
    #[error("checkpoints: {0}")]
    Checkpoint(String),
}

/// The columns `COPY` fills, in order, and their types.
const COPY_COLUMNS: [(&str, Type); 23] = [
    ("host", Type::TEXT),
    ("store_id", Type::TEXT),
    ("seq", Type::INT8),
    ("ts", Type::INT8),
    ("kind", Type::TEXT),
    ("session_id", Type::TEXT),
    ("tool_use_id", Type::TEXT),
    ("agent", Type::TEXT),
    ("os_user", Type::TEXT),
    ("cwd", Type::TEXT),
    ("tool", Type::TEXT),
    ("tool_kind", Type::TEXT),
    ("target", Type::TEXT),
    ("decision", Type::TEXT),
    ("source", Type::TEXT),
    ("approver", Type::TEXT),
    ("rule_id", Type::TEXT),
    ("reason", Type::TEXT),
    ("links_seq", Type::INT8),
    ("status", Type::TEXT),
    ("prev_hash", Type::TEXT),
    ("hash", Type::TEXT),
    ("record", Type::TEXT),
];

/// A per-store lock key for `pg_advisory_lock`.
fn lock_key(host: &str, store_id: &str) -> i64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(format!("gate-push\n{host}\n{store_id}").as_bytes());
    i64::from_be_bytes(d[..8].try_into().unwrap_or_default())
}

/// The host a store is pushed under: the first row's `host`, so that a
/// renamed machine keeps pushing to the same place; else this machine's.
fn store_host(store: &Store) -> Result<String, StoreError> {
    let mut host = None;
    store.for_each(&Filter { after_seq: Some(0), ..Filter::default() }, |r| {
        host = r.host.clone();
        Ok(false)
    })?;
    Ok(host.filter(|h| !h.is_empty()).unwrap_or_else(crate::identity::host))
}

/// Push the local store at `paths` to the team store.
pub fn push(
    paths: &Paths,
    client: &mut postgres::Client,
    url: &TeamUrl,
    opts: &PushOptions,
) -> Result<Option<PushReport>, PushError> {
    let started = Instant::now();
    let store = Store::open_read(&paths.db())?;
    let Some(store_id) = store.first_hash()? else { return Ok(None) };
    // Sign a checkpoint of the store as it is now: it goes up with the rows,
    // and only the rows it covers are sent, so that every row on the server
    // is under a signature of this store's key (rows added since wait for
    // the next push).
    let signed = crate::store::seal::checkpoint(paths, &store)
        .map_err(|e| PushError::Checkpoint(e.to_string()))?
        .map_or(0, |c| c.size as i64);
    let key = crate::trust::keys::load_or_create(&paths.signing_key()).map_err(|e| PushError::Checkpoint(e.to_string()))?;
    let public_key = key.public_key().to_text();
    let host = store_host(&store)?;
    let server = TeamError::server(url);
    let short = store_id.chars().take(12).collect::<String>();

    // One push per store at a time; released when this connection ends. A
    // lock held for long (another push, or anyone who took it) is an error,
    // not a wait without end.
    let waited = Instant::now();
    loop {
        let got: bool =
            client.query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key(&host, &store_id)]).map_err(server)?.get(0);
        if got {
            break;
        }
        if waited.elapsed() > std::time::Duration::from_secs(60) {
            return Err(PushError::Checkpoint(format!(
                "another push of store {short} has held its lock on the team store for a minute; try again later"
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    client
        .execute(
            "INSERT INTO gate_stores (host, store_id, developer, public_key) VALUES ($1, $2, $3, $4)
             ON CONFLICT (host, store_id) DO NOTHING",
            &[&host, &store_id, &opts.developer, &public_key],
        )
        .map_err(server)?;
    let row = client
        .query_one("SELECT developer, public_key FROM gate_stores WHERE host = $1 AND store_id = $2", &[&host, &store_id])
        .map_err(server)?;
    let (developer, registered): (String, String) = (row.get(0), row.get(1));
    if registered != public_key {
        return Err(PushError::OtherKey { store: short, registered, ours: public_key });
    }
    let head = client
        .query_opt(
            "SELECT seq, hash FROM gate_receipts WHERE host = $1 AND store_id = $2 ORDER BY seq DESC LIMIT 1",
            &[&host, &store_id],
        )
        .map_err(server)?
        .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)));
    let (head_seq, head_hash) = head.clone().unwrap_or((0, crate::store::chain::GENESIS.to_string()));

    // The local row at the server's head must be the row the server holds.
    if head_seq > 0 {
        let mut local: Option<Receipt> = None;
        store.for_each(&Filter { after_seq: Some(head_seq - 1), ..Filter::default() }, |r| {
            local = Some(r);
            Ok(false)
        })?;
        match local {
            Some(r) if r.seq == head_seq && r.hash == head_hash => {}
            Some(r) if r.seq == head_seq => {
                return Err(PushError::Diverged {
                    store: short,
                    server_seq: head_seq,
                    server_hash: head_hash,
                    local: format!("has hash {}", r.hash),
                })
            }
            _ => {
                return Err(PushError::Diverged {
                    store: short,
                    server_seq: head_seq,
                    server_hash: head_hash,
                    local: "is missing (the local store is shorter)".into(),
                })
            }
        }
    }

    // Two threads: this one sends batches while another reads and checks
    // the next ones from the local store (its own connection), so the
    // server's work and gate's overlap. At most two batches wait between them.
    let mut pushed = 0u64;
    let mut batches = 0u64;
    let mut failure: Option<PushError> = None;
    let batch_size = opts.batch.max(1);
    let db = paths.db();
    let mut prev = (head_seq, head_hash);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<Row>, PushError>>(2);
    let read_from = prev.clone();
    let reader = std::thread::spawn(move || -> (i64, String) {
        let mut prev = read_from;
        let store = match Store::open_read(&db) {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(Err(e.into()));
                return prev;
            }
        };
        let mut batch: Vec<Row> = Vec::with_capacity(batch_size);
        let mut broken: Option<PushError> = None;
        let read = store.for_each(&Filter { after_seq: Some(prev.0), ..Filter::default() }, |r| {
            if r.seq > signed {
                return Ok(false);
            }
            let why = if r.seq != prev.0 + 1 {
                Some(format!("seq {} follows seq {}", r.seq, prev.0))
            } else if r.prev_hash != prev.1 {
                Some("its prev_hash is not the hash of the row before it".to_string())
            } else if !r.is_intact() {
                Some("its content does not give its hash (the row was edited)".to_string())
            } else {
                None
            };
            if let Some(why) = why {
                broken = Some(PushError::LocalBroken { seq: r.seq, why });
                return Ok(false);
            }
            prev = (r.seq, r.hash.clone());
            // The export record as `gate export` writes it, but for a
            // decision's outcome, which a later row gives and which is looked
            // up on reading.
            let outcome = if r.row_kind() == crate::store::RowKind::Decision { None } else { r.status };
            let record = match r.export_json(outcome) {
                Ok(text) => text,
                Err(e) => {
                    broken = Some(PushError::LocalBroken { seq: r.seq, why: format!("its export record cannot be written: {e}") });
                    return Ok(false);
                }
            };
            batch.push(Row { receipt: r, record });
            if batch.len() >= batch_size {
                // The sender stopped: it says why.
                return Ok(tx.send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(batch_size)))).is_ok());
            }
            Ok(true)
        });
        // Rows checked before a broken one are still sent: they verify.
        if !batch.is_empty() {
            let _ = tx.send(Ok(batch));
        }
        if let Err(e) = read {
            let _ = tx.send(Err(e.into()));
        } else if let Some(b) = broken {
            let _ = tx.send(Err(b));
        }
        prev
    });
    for msg in rx.iter() {
        match msg {
            Ok(rows) => {
                if let Err(source) = upload(client, url, &host, &store_id, &rows) {
                    failure = Some(PushError::Interrupted { pushed, url: url.to_string(), source });
                    break;
                }
                pushed += rows.len() as u64;
                batches += 1;
                prev = rows.last().map_or(prev, |r| (r.receipt.seq, r.receipt.hash.clone()));
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    drop(rx);
    if reader.join().is_err() && failure.is_none() {
        failure = Some(PushError::LocalBroken { seq: prev.0 + 1, why: "reading the local store failed unexpectedly".into() });
    }
    if let Some(e) = failure {
        // The rows sent before a broken one verify, but the checkpoint signed
        // at the start covers the broken row too and cannot go up: sign one
        // of exactly the rows the server now holds, so every row there is
        // under this store's signature.
        if matches!(e, PushError::LocalBroken { .. }) && prev.0 > head_seq {
            let cp = sign_prefix(&store, &key, &store_id, prev.0)?;
            let mut tx = client.transaction().map_err(TeamError::server(url))?;
            insert_checkpoints(&mut tx, &host, &[&cp]).map_err(TeamError::server(url))?;
            tx.commit().map_err(TeamError::server(url))?;
        }
        return Err(e);
    }
    let server_head = prev.0;
    let checkpoints_pushed = push_checkpoints(paths, client, url, &host, &store_id, &key.public_key(), server_head)?;
    Ok(Some(PushReport {
        url: url.to_string(),
        host,
        store_id,
        developer,
        server_head_before: head_seq,
        pushed,
        server_head,
        batches,
        checkpoints_pushed,
        seconds: started.elapsed().as_secs_f64(),
    }))
}

/// A checkpoint signed over the store's first `size` rows (their hashes, as read).
fn sign_prefix(
    store: &Store,
    key: &crate::trust::keys::SigningKey,
    store_id: &str,
    size: i64,
) -> Result<Checkpoint, PushError> {
    let frontier = crate::store::seal::frontier_upto(store, size as u64)
        .map_err(|e| PushError::Checkpoint(format!("could not read the first {size} rows' hashes back to sign them: {e}")))?;
    if frontier.size() != size as u64 {
        return Err(PushError::Checkpoint(format!("could not read the first {size} rows' hashes back to sign them")));
    }
    Checkpoint::sign(key, store_id, frontier.size(), &frontier.root(), crate::clock::now_ms())
        .map_err(|e| PushError::Checkpoint(e.to_string()))
}

/// A checked row and its export record, ready to send.
struct Row {
    receipt: Receipt,
    record: String,
}

/// One batch, in one transaction.
fn upload(
    client: &mut postgres::Client,
    url: &TeamUrl,
    host: &str,
    store_id: &str,
    rows: &[Row],
) -> Result<(), TeamError> {
    let server = TeamError::server(url);
    let mut tx = client.transaction().map_err(server)?;
    // The chain trigger reads the batch's rows back: kept in memory, not spilled.
    tx.batch_execute("SET LOCAL work_mem = '64MB'").map_err(server)?;
    let names: Vec<&str> = COPY_COLUMNS.iter().map(|(name, _)| *name).collect();
    let types: Vec<Type> = COPY_COLUMNS.iter().map(|(_, t)| t.clone()).collect();
    let writer = tx
        .copy_in(&format!("COPY gate_receipts ({}) FROM STDIN (FORMAT binary)", names.join(", ")))
        .map_err(server)?;
    let mut writer = BinaryCopyInWriter::new(writer, &types);
    for Row { receipt: r, record } in rows {
        let kind = r.kind.0.as_str();
        let tool_kind = r.tool_kind.map(|k| k.0.as_str());
        let decision = r.decision.map(|d| d.as_str());
        let source = r.source.map(|s| s.as_str());
        let status = r.status.map(|s| s.as_str());
        let values: [&(dyn ToSql + Sync); 23] = [
            &host,
            &store_id,
            &r.seq,
            &r.ts.0,
            &kind,
            &r.session_id,
            &r.tool_use_id,
            &r.agent,
            &r.os_user,
            &r.cwd,
            &r.tool,
            &tool_kind,
            &r.target,
            &decision,
            &source,
            &r.approver,
            &r.rule_id,
            &r.reason,
            &r.links_seq,
            &status,
            &r.prev_hash,
            &r.hash,
            &record,
        ];
        writer.write(&values).map_err(server)?;
    }
    writer.finish().map_err(server)?;
    tx.commit().map_err(server)?;
    Ok(())
}

/// Send this store's signed checkpoints newer than the server's newest, up
/// to the rows the server holds.
fn push_checkpoints(
    paths: &Paths,
    client: &mut postgres::Client,
    url: &TeamUrl,
    host: &str,
    store_id: &str,
    key: &crate::trust::keys::PublicKey,
    server_head: i64,
) -> Result<u64, PushError> {
    let server = TeamError::server(url);
    let log = CheckpointLog::load(&paths.checkpoints(), key).map_err(|e| PushError::Checkpoint(e.to_string()))?;
    // Every one the server lacks (by size and time), not only those newer
    // than its newest: a row someone else put there must not hide ours.
    let held: std::collections::HashSet<(i64, i64)> = client
        .query("SELECT size, time_ms FROM gate_checkpoints WHERE host = $1 AND store_id = $2", &[&host, &store_id])
        .map_err(server)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let fresh: Vec<&Checkpoint> = log
        .all()
        .filter(|c| {
            c.store_id == store_id
                && c.size > 0
                && c.size as i64 <= server_head
                && !held.contains(&(c.size as i64, c.time_ms))
        })
        .collect();
    let mut tx = client.transaction().map_err(&server)?;
    let n = insert_checkpoints(&mut tx, host, &fresh).map_err(&server)?;
    tx.commit().map_err(server)?;
    Ok(n)
}

/// Store signed checkpoints of a store on `host` (one already there is kept
/// as it is); how many were new.
fn insert_checkpoints(
    tx: &mut postgres::Transaction<'_>,
    host: &str,
    checkpoints: &[&Checkpoint],
) -> Result<u64, postgres::Error> {
    let st = tx.prepare(
        "INSERT INTO gate_checkpoints (host, store_id, size, root, time_ms, key, signature)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )?;
    let mut n = 0;
    for c in checkpoints {
        let size = c.size as i64;
        n += tx.execute(&st, &[&host, &c.store_id, &size, &c.root, &c.time_ms, &c.key, &c.signature])?;
    }
    Ok(n)
}
