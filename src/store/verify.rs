//! `gate verify`'s walk over the chain: recompute every row's hash in seq
//! order and report the first row that was edited, is missing, or is out of
//! order. Reads one row at a time, so memory stays constant.

use serde::Serialize;

use super::receipt::RawRow;
use super::{chain, RowKind, Store, StoreError};

/// The first thing found wrong with the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum Problem {
    /// The row's content no longer matches its hash.
    Edited { seq: i64 },
    /// Sequence numbers jump: rows `from..=to` are gone.
    Missing { from: i64, to: i64 },
    /// The row does not follow the one before it in the chain.
    OutOfOrder { seq: i64, follows: Option<i64> },
    /// The row's payload was removed, and no prune row says so.
    PrunedSilently { seq: i64 },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Edited { seq } => write!(f, "seq {seq}: row was edited (its content no longer matches its hash)"),
            Problem::Missing { from, to } if from == to => write!(f, "seq {from}: row is missing"),
            Problem::Missing { from, to } => write!(f, "seq {from}: rows {from}..{to} are missing"),
            Problem::OutOfOrder { seq, follows: Some(other) } => {
                write!(f, "seq {seq}: rows out of order (it chains to seq {other}, not to seq {})", seq - 1)
            }
            Problem::OutOfOrder { seq, follows: None } => {
                write!(f, "seq {seq}: rows out of order (its prev_hash matches no row before it)")
            }
            Problem::PrunedSilently { seq } => write!(
                f,
                "seq {seq}: a payload was removed that no `gate prune` accounts for (a prune empties every row older than its date, and only those)"
            ),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub rows: i64,
    pub head_seq: i64,
    pub head_hash: String,
    pub problem: Option<Problem>,
    /// Append-only triggers that are no longer in the database.
    pub missing_triggers: Vec<String>,
}

/// Rows handed to the hashing thread at a time, and how many such batches
/// may wait for it.
const HASH_BATCH: usize = 256;
const HASH_BATCHES_IN_FLIGHT: usize = 4;

const TRIGGERS: &[&str] = &["receipts_no_update", "receipts_no_delete", "receipts_no_reuse", "receipts_in_order"];

/// What a prune row says it did: the seqs it emptied and the time before
/// which it emptied every row.
fn prune_claim(detail: Option<&str>, row_ts: i64) -> (i64, i64, i64) {
    let v: serde_json::Value = detail.and_then(|d| serde_json::from_str(d).ok()).unwrap_or_default();
    let get = |k: &str| v.get(k).and_then(|x| x.as_i64());
    let before = v.get("before").and_then(|b| b.as_str()).and_then(|b| crate::clock::parse_time(b, 0).ok());
    // A prune cannot reach past its own time: a later `before` is a lie.
    let before = before.filter(|b| *b <= row_ts).unwrap_or(i64::MIN);
    match (get("from_seq"), get("to_seq")) {
        (Some(a), Some(b)) if a <= b => (a, b, before),
        _ => (1, 0, before),
    }
}

/// The rules a store's pruned rows must keep, checked in one pass: every
/// pruned row is covered by a later prune row, is older than that prune's
/// `before`, and a prune emptied every row older than its `before` (so no
/// single recent row can be emptied and passed off as retention).
#[derive(Debug, Default)]
pub struct PruneAudit {
    /// Pruned rows not yet covered: (seq, ts).
    waiting: Vec<(i64, i64)>,
    /// The oldest time of a row that still holds its payload.
    oldest_kept: Option<i64>,
    problem: Option<Problem>,
}

impl PruneAudit {
    /// The next row, in seq order.
    pub fn push(&mut self, seq: i64, ts: i64, kind: &str, pruned: bool, detail: Option<&str>) {
        if self.problem.is_some() {
            return;
        }
        if kind == RowKind::Prune.as_str() {
            let (from, to, before) = prune_claim(detail, ts);
            if self.oldest_kept.is_some_and(|t| t < before) {
                self.problem = Some(Problem::PrunedSilently { seq });
                return;
            }
            let mut left = Vec::new();
            for (s, t) in self.waiting.drain(..) {
                let covered = from <= s && s <= to;
                if covered && t >= before {
                    self.problem = Some(Problem::PrunedSilently { seq: s });
                    return;
                }
                if !covered {
                    left.push((s, t));
                }
            }
            self.waiting = left;
        } else if pruned {
            self.waiting.push((seq, ts));
        } else {
            self.oldest_kept = Some(self.oldest_kept.map_or(ts, |t| t.min(ts)));
        }
    }

    /// The first pruned row nothing accounts for.
    pub fn finish(self) -> Option<Problem> {
        self.problem.or_else(|| self.waiting.first().map(|(seq, _)| Problem::PrunedSilently { seq: *seq }))
    }
}

pub fn verify(store: &Store) -> Result<VerifyReport, StoreError> {
    verify_visiting(store, &mut |_, _| {})
}

/// [`verify`], handing `(seq, hash)` of every row to `visit` in seq order on
/// the way, so a check over the row hashes (the signed checkpoints) needs no
/// second walk over the store.
pub fn verify_visiting(store: &Store, visit: &mut dyn FnMut(i64, &str)) -> Result<VerifyReport, StoreError> {
    let conn = store.conn();
    let sq = |source| StoreError::Sqlite { path: store.path().to_path_buf(), source };
    let mut rows = 0i64;
    let mut expect_seq = 1i64;
    let mut prev_hash = chain::GENESIS.to_string();
    let mut problem = None;
    let mut head_seq = 0;
    let mut prunes = PruneAudit::default();
    let mut st = conn.prepare(&format!("SELECT {} FROM receipts ORDER BY seq", RawRow::select_list())).map_err(sq)?;
    let mut q = st.query([]).map_err(sq)?;
    let mut check = |rec: RawRow, computed: String| {
        rows += 1;
        if problem.is_none() {
            if rec.seq > expect_seq {
                problem = Some(Problem::Missing { from: expect_seq, to: rec.seq - 1 });
            } else if rec.prev_hash != prev_hash {
                problem = Some(Problem::OutOfOrder { seq: rec.seq, follows: None });
            } else if computed != rec.hash || rec.content_digest.is_some() && rec.has_content() {
                problem = Some(Problem::Edited { seq: rec.seq });
            }
        }
        prunes.push(rec.seq, rec.ts, &rec.kind, rec.content_digest.is_some(), rec.detail.as_deref());
        visit(rec.seq, &rec.hash);
        expect_seq = rec.seq + 1;
        prev_hash = rec.hash;
        head_seq = rec.seq;
    };
    // Two stages: this thread reads rows from SQLite (its connection cannot
    // leave it) and checks them in order; another writes each row's content
    // and hashes it. Batches in flight are bounded, so memory stays constant.
    std::thread::scope(|s| -> Result<(), StoreError> {
        let (to_hash, hash_in) = std::sync::mpsc::sync_channel::<Vec<RawRow>>(HASH_BATCHES_IN_FLIGHT);
        let (hashed_out, hashed) = std::sync::mpsc::channel::<Vec<(RawRow, String)>>();
        s.spawn(move || {
            for batch in hash_in {
                let done = batch
                    .into_iter()
                    .map(|r| {
                        let h = r.computed_hash();
                        (r, h)
                    })
                    .collect();
                if hashed_out.send(done).is_err() {
                    return;
                }
            }
        });
        let mut batch = Vec::with_capacity(HASH_BATCH);
        let mut sent = 0usize;
        let mut checked = 0usize;
        loop {
            let row = q.next().map_err(sq)?;
            let end = row.is_none();
            if let Some(row) = row {
                batch.push(RawRow::from_row(row).map_err(sq)?);
            }
            if batch.len() == HASH_BATCH || end && !batch.is_empty() {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(HASH_BATCH));
                // The hasher only stops when this side has gone.
                let _ = to_hash.send(full);
                sent += 1;
            }
            while let Ok(done) = hashed.try_recv() {
                checked += 1;
                done.into_iter().for_each(|(r, h)| check(r, h));
            }
            if end {
                break;
            }
        }
        drop(to_hash);
        while checked < sent {
            match hashed.recv() {
                Ok(done) => {
                    checked += 1;
                    done.into_iter().for_each(|(r, h)| check(r, h));
                }
                Err(_) => break,
            }
        }
        Ok(())
    })?;
    drop(q);
    drop(st);
    if problem.is_none() {
        problem = prunes.finish();
    }
    // Name the row an out-of-order row really follows (a lookup only on failure).
    if let Some(Problem::OutOfOrder { seq, .. }) = problem {
        let prev: Option<String> =
            conn.query_row("SELECT prev_hash FROM receipts WHERE seq = ?1", [seq], |r| r.get(0)).map_err(sq)?;
        let follows = match prev {
            Some(p) => conn.query_row("SELECT seq FROM receipts WHERE hash = ?1 LIMIT 1", [p], |r| r.get(0)).ok(),
            None => None,
        };
        // A row whose prev_hash matches no row at all was edited in its
        // chain field; one that chains to another row was moved.
        problem = Some(match follows {
            Some(other) => Problem::OutOfOrder { seq, follows: Some(other) },
            None => Problem::Edited { seq },
        });
    }
    let mut missing_triggers = Vec::new();
    for t in TRIGGERS {
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = ?1", [t], |r| r.get(0))
            .map_err(sq)?;
        if n == 0 {
            missing_triggers.push(t.to_string());
        }
    }
    Ok(VerifyReport { rows, head_seq, head_hash: prev_hash, problem, missing_triggers })
}
