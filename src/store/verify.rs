//! `gate verify`'s walk over the chain: recompute every row's hash in seq
//! order and report the first row that was edited, is missing, or is out of
//! order. Reads one row at a time, so memory stays constant.

use serde::Serialize;

use super::{chain, Store, StoreError};

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

pub fn verify(store: &Store) -> Result<VerifyReport, StoreError> {
    let conn = store.conn();
    let sq = |source| StoreError::Sqlite { path: store.path().to_path_buf(), source };
    let mut rows = 0i64;
    let mut expect_seq = 1i64;
    let mut prev_hash = chain::GENESIS.to_string();
    let mut problem = None;
    let mut head_seq = 0;
    store.for_each(&Default::default(), |rec| {
        rows += 1;
        if problem.is_none() {
            if rec.seq > expect_seq {
                problem = Some(Problem::Missing { from: expect_seq, to: rec.seq - 1 });
            } else if rec.prev_hash != prev_hash {
                problem = Some(Problem::OutOfOrder { seq: rec.seq, follows: None });
            } else if rec.computed_hash() != rec.hash {
                problem = Some(Problem::Edited { seq: rec.seq });
            }
        }
        expect_seq = rec.seq + 1;
        prev_hash = rec.hash.clone();
        head_seq = rec.seq;
        Ok(true)
    })?;
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
