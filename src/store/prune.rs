//! `gate prune`'s store side: empty the payload of every row older than a
//! time, keeping each row's content digest so the chain still verifies,
//! then append a `prune` row saying what was removed, when and by whom, all
//! in one write transaction. Settled questions of that age lose their
//! payload too. A store that does not verify is not pruned: pruning must
//! never turn an edited row into one that looks honest.

use serde::Serialize;

use super::receipt::{RawRow, COLUMNS};
use super::{append_in, chain, Receipt, RowKind, Source, Store, StoreError};
use crate::store::JsonText;

/// What a prune did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PruneReport {
    pub before_ms: i64,
    pub rows: i64,
    pub from_seq: Option<i64>,
    pub to_seq: Option<i64>,
    pub questions: i64,
    /// The seq of the prune row (none when nothing was old enough).
    pub prune_seq: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the receipt does not verify ({0}); nothing was pruned. Run `gate verify` and look at it first")]
    Unverified(String),
}

impl Store {
    /// Rows older than `before_ms` that still hold content: how many, and
    /// their seq range (for a dry run).
    pub fn prunable(&self, before_ms: i64) -> Result<(i64, Option<i64>, Option<i64>), StoreError> {
        self.conn
            .query_row(
                "SELECT COUNT(*), MIN(seq), MAX(seq) FROM receipts
                 WHERE ts < ?1 AND content_digest IS NULL AND kind <> 'prune'",
                [before_ms],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(|e| self.sq(e))
    }

    /// Prune every row older than `before_ms` (see the module doc).
    pub fn prune(&mut self, before_ms: i64, by: &str) -> Result<PruneReport, PruneError> {
        let report = super::verify(self)?;
        if let Some(p) = report.problem {
            return Err(PruneError::Unverified(p.to_string()));
        }
        let path = self.path.clone();
        let sq = |source| StoreError::Sqlite { path: path.clone(), source };
        // What is removed is overwritten, not left in free pages.
        self.conn.execute_batch("PRAGMA secure_delete = ON").map_err(sq)?;
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sq)?;
        let content: Vec<&str> = COLUMNS.iter().filter(|c| c.is_content()).map(|c| c.column).collect();
        let set = content.iter().map(|c| format!("{c} = NULL")).collect::<Vec<_>>().join(", ");
        let update = format!("UPDATE receipts SET {set}, content_digest = ?2 WHERE seq = ?1");
        let mut pruned: Vec<(i64, String)> = Vec::new();
        {
            let mut st = tx
                .prepare(&format!(
                    "SELECT {} FROM receipts WHERE ts < ?1 AND content_digest IS NULL AND kind <> 'prune' ORDER BY seq",
                    RawRow::select_list()
                ))
                .map_err(sq)?;
            let mut rows = st.query([before_ms]).map_err(sq)?;
            while let Some(row) = rows.next().map_err(sq)? {
                let raw = RawRow::from_row(row).map_err(sq)?;
                pruned.push((raw.seq, chain::hex(&raw.content_digest_bytes())));
            }
        }
        {
            let mut st = tx.prepare(&update).map_err(sq)?;
            for (seq, digest) in &pruned {
                st.execute(rusqlite::params![seq, digest]).map_err(sq)?;
            }
        }
        let questions = tx
            .execute(
                "UPDATE questions SET target = NULL, args = NULL, reason = NULL, cwd = NULL, always_rule = NULL,
                 feedback = NULL, grant_key = NULL WHERE created_ms < ?1 AND state <> 'pending'
                 AND (target IS NOT NULL OR args IS NOT NULL OR reason IS NOT NULL OR cwd IS NOT NULL
                      OR always_rule IS NOT NULL OR feedback IS NOT NULL OR grant_key IS NOT NULL)",
                [before_ms],
            )
            .map_err(sq)? as i64;
        tx.execute(
            "UPDATE grants SET grant_key = 'pruned' WHERE created_ms < ?1 AND grant_key <> 'pruned'",
            [before_ms],
        )
        .map_err(sq)?;
        let from_seq = pruned.first().map(|p| p.0);
        let to_seq = pruned.last().map(|p| p.0);
        let mut prune_seq = None;
        if !pruned.is_empty() || questions > 0 {
            let mut rec = Receipt::new(RowKind::Prune);
            rec.source = Some(Source::Cli);
            rec.approver = Some(by.to_string());
            rec.reason = Some(format!(
                "{by} pruned the payload of {} receipt rows and {questions} questions older than {}",
                pruned.len(),
                crate::clock::format_ms(before_ms)
            ));
            rec.detail = Some(JsonText::of(&serde_json::json!({
                "before": crate::clock::format_ms(before_ms),
                "from_seq": from_seq,
                "to_seq": to_seq,
                "rows": pruned.len(),
                "questions": questions,
            })));
            append_in(&tx, &mut rec).map_err(sq)?;
            prune_seq = Some(rec.seq);
        }
        tx.commit().map_err(sq)?;
        // Old page images live on in the WAL and in free pages until they are
        // checkpointed and the file rebuilt.
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(sq)?;
        Ok(PruneReport { before_ms, rows: pruned.len() as i64, from_seq, to_seq, questions, prune_seq })
    }
}
