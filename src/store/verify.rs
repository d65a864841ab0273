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
            Problem::PrunedSilently { seq } => {
                write!(f, "seq {seq}: the row's payload was removed and no `gate prune` row covers it")
            }
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

const TRIGGERS: &[&str] = &["receipts_no_update", "receipts_no_delete", "receipts_no_reuse", "receipts_in_order"];

/// The seq range a prune row says it covered (`from_seq`..=`to_seq` in its detail).
fn prune_range(detail: Option<&str>) -> (i64, i64) {
    let v: serde_json::Value = detail.and_then(|d| serde_json::from_str(d).ok()).unwrap_or_default();
    let get = |k: &str| v.get(k).and_then(|x| x.as_i64());
    match (get("from_seq"), get("to_seq")) {
        (Some(a), Some(b)) if a <= b => (a, b),
        _ => (1, 0),
    }
}

pub fn verify(store: &Store) -> Result<VerifyReport, StoreError> {
    let conn = store.conn();
    let sq = |source| StoreError::Sqlite { path: store.path().to_path_buf(), source };
    let mut rows = 0i64;
    let mut expect_seq = 1i64;
    let mut prev_hash = chain::GENESIS.to_string();
    let mut problem = None;
    let mut head_seq = 0;
    // Pruned rows waiting for a prune row that covers them, as seq runs.
    let mut pruned: Vec<(i64, i64)> = Vec::new();
    let mut st = conn.prepare("SELECT * FROM receipts ORDER BY seq").map_err(sq)?;
    let mut q = st.query([]).map_err(sq)?;
    while let Some(row) = q.next().map_err(sq)? {
        let rec = RawRow::from_row(row).map_err(sq)?;
        rows += 1;
        if problem.is_none() {
            if rec.seq > expect_seq {
                problem = Some(Problem::Missing { from: expect_seq, to: rec.seq - 1 });
            } else if rec.prev_hash != prev_hash {
                problem = Some(Problem::OutOfOrder { seq: rec.seq, follows: None });
            } else if rec.computed_hash() != rec.hash || rec.content_digest.is_some() && rec.has_content() {
                problem = Some(Problem::Edited { seq: rec.seq });
            }
        }
        if rec.content_digest.is_some() {
            match pruned.last_mut() {
                Some((_, to)) if *to + 1 == rec.seq => *to = rec.seq,
                _ => pruned.push((rec.seq, rec.seq)),
            }
        }
        if rec.kind == RowKind::Prune.as_str() {
            let (from, to) = prune_range(rec.detail.as_deref());
            // Keep only the parts of each run outside [from, to].
            pruned = pruned
                .into_iter()
                .flat_map(|(a, b)| {
                    let below = (a < from).then(|| (a, b.min(from - 1)));
                    let above = (b > to).then(|| (a.max(to + 1), b));
                    below.into_iter().chain(above)
                })
                .collect();
        }
        expect_seq = rec.seq + 1;
        prev_hash = rec.hash.clone();
        head_seq = rec.seq;
    }
    drop(q);
    drop(st);
    if problem.is_none() {
        if let Some((seq, _)) = pruned.first() {
            problem = Some(Problem::PrunedSilently { seq: *seq });
        }
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
