//! The question broker's tables: pending questions, their single answer,
//! and session grants. The first answer wins: answering is an UPDATE that
//! only matches a pending row, so a second answer (or one after expiry)
//! changes nothing and is reported back as refused.

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::{Store, StoreError};

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Question {
    pub id: i64,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub session_id: Option<String>,
    pub tool_use_id: Option<String>,
    pub agent: Option<String>,
    pub cwd: Option<String>,
    pub tool: Option<String>,
    pub tool_kind: Option<String>,
    pub target: Option<String>,
    pub args: Option<String>,
    pub rule_id: Option<String>,
    pub rule_origin: Option<String>,
    pub reason: Option<String>,
    pub grant_key: Option<String>,
    pub always_rule: Option<String>,
    pub state: String,
    pub answer: Option<String>,
    pub scope: Option<String>,
    pub approver: Option<String>,
    pub source: Option<String>,
    pub feedback: Option<String>,
    pub answered_ms: Option<i64>,
}

impl Question {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Question> {
        Ok(Question {
            id: r.get("id")?,
            created_ms: r.get("created_ms")?,
            expires_ms: r.get("expires_ms")?,
            session_id: r.get("session_id")?,
            tool_use_id: r.get("tool_use_id")?,
            agent: r.get("agent")?,
            cwd: r.get("cwd")?,
            tool: r.get("tool")?,
            tool_kind: r.get("tool_kind")?,
            target: r.get("target")?,
            args: r.get("args")?,
            rule_id: r.get("rule_id")?,
            rule_origin: r.get("rule_origin")?,
            reason: r.get("reason")?,
            grant_key: r.get("grant_key")?,
            always_rule: r.get("always_rule")?,
            state: r.get("state")?,
            answer: r.get("answer")?,
            scope: r.get("scope")?,
            approver: r.get("approver")?,
            source: r.get("source")?,
            feedback: r.get("feedback")?,
            answered_ms: r.get("answered_ms")?,
        })
    }
}

/// An answer to record.
#[derive(Debug, Clone)]
pub struct Answer {
    pub allow: bool,
    /// once | session | always
    pub scope: String,
    pub approver: String,
    /// watch | web | cli | tty
    pub source: String,
    pub feedback: Option<String>,
}

/// What happened when an answer was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerResult {
    Accepted,
    /// Already answered or expired: the first answer stands.
    Refused(Box<Question>),
    NotFound,
}

impl Store {
    pub fn insert_question(&mut self, q: &Question) -> Result<i64, StoreError> {
        let path = self.path.clone();
        let sq = |source| StoreError::Sqlite { path: path.clone(), source };
        self.conn
            .execute(
                "INSERT INTO questions (created_ms, expires_ms, session_id, tool_use_id, agent, cwd, tool, tool_kind,
                 target, args, rule_id, rule_origin, reason, grant_key, always_rule, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 'pending')",
                params![
                    q.created_ms,
                    q.expires_ms,
                    q.session_id,
                    q.tool_use_id,
                    q.agent,
                    q.cwd,
                    q.tool,
                    q.tool_kind,
                    q.target,
                    q.args,
                    q.rule_id,
                    q.rule_origin,
                    q.reason,
                    q.grant_key,
                    q.always_rule
                ],
            )
            .map_err(sq)?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn question(&self, id: i64) -> Result<Option<Question>, StoreError> {
        self.conn
            .prepare_cached("SELECT * FROM questions WHERE id = ?1")
            .and_then(|mut st| st.query_row([id], Question::from_row).optional())
            .map_err(|e| self.sq(e))
    }

    /// Pending questions that have not expired, oldest first.
    pub fn pending(&self, now_ms: i64) -> Result<Vec<Question>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT * FROM questions WHERE state = 'pending' AND expires_ms > ?1 ORDER BY id")
            .map_err(|e| self.sq(e))?;
        let rows = st.query_map([now_ms], Question::from_row).map_err(|e| self.sq(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sq(e))
    }

    /// Answer a question, if it is still pending. The first answer wins.
    pub fn answer_question(&mut self, id: i64, a: &Answer, now_ms: i64) -> Result<AnswerResult, StoreError> {
        let path = self.path.clone();
        let sq = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sq)?;
        let current: Option<Question> =
            tx.query_row("SELECT * FROM questions WHERE id = ?1", [id], Question::from_row).optional().map_err(sq)?;
        let Some(q) = current else { return Ok(AnswerResult::NotFound) };
        if q.state != "pending" || q.expires_ms <= now_ms {
            return Ok(AnswerResult::Refused(Box::new(q)));
        }
        tx.execute(
            "UPDATE questions SET state = 'answered', answer = ?2, scope = ?3, approver = ?4, source = ?5,
             feedback = ?6, answered_ms = ?7 WHERE id = ?1 AND state = 'pending'",
            params![id, if a.allow { "allow" } else { "deny" }, a.scope, a.approver, a.source, a.feedback, now_ms],
        )
        .map_err(sq)?;
        if a.allow && a.scope == "session" {
            if let (Some(session), Some(keys)) = (&q.session_id, &q.grant_key) {
                // One grant row per key: a later call is covered only when
                // every part of it that asks has a grant.
                let keys: Vec<String> = serde_json::from_str(keys).unwrap_or_default();
                for key in keys {
                    tx.execute(
                        "INSERT INTO grants (created_ms, session_id, grant_key, question_id, approver, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![now_ms, session, key, id, a.approver, a.source],
                    )
                    .map_err(sq)?;
                }
            }
        }
        tx.commit().map_err(sq)?;
        Ok(AnswerResult::Accepted)
    }

    /// Mark a question expired, if no one answered it first. Returns the
    /// question as it now stands.
    pub fn expire_question(&mut self, id: i64, now_ms: i64) -> Result<Option<Question>, StoreError> {
        self.close_question(id, "expired", now_ms)
    }

    /// Close a question unanswered (`expired`, `withdrawn` when the last
    /// inbox closed, `abandoned` when its agent died), if no one answered
    /// it first. Returns the question as it now stands.
    pub fn close_question(&mut self, id: i64, state: &str, now_ms: i64) -> Result<Option<Question>, StoreError> {
        let path = self.path.clone();
        let sq = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sq)?;
        tx.execute(
            "UPDATE questions SET state = ?3, answered_ms = ?2 WHERE id = ?1 AND state = 'pending'",
            params![id, now_ms, state],
        )
        .map_err(sq)?;
        let q =
            tx.query_row("SELECT * FROM questions WHERE id = ?1", [id], Question::from_row).optional().map_err(sq)?;
        tx.commit().map_err(sq)?;
        Ok(q)
    }

    /// A grant of this session covering `key`: (grant id, approver, question id).
    pub fn grant_for(&self, session: &str, key: &str) -> Result<Option<(i64, Option<String>, i64)>, StoreError> {
        self.conn
            .prepare_cached("SELECT id, approver, question_id FROM grants WHERE session_id = ?1 AND grant_key = ?2 ORDER BY id LIMIT 1")
            .and_then(|mut st| st.query_row(params![session, key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional())
            .map_err(|e| self.sq(e))
    }

    /// Decision rows of a session handed to the agent's dialog that no
    /// later row resolves yet.
    pub fn unresolved_asks(&self, session: &str) -> Result<Vec<super::Receipt>, StoreError> {
        let mut st = self.conn.prepare_cached(open_asks_sql()).map_err(|e| self.sq(e))?;
        let rows = st.query_map([session], super::Receipt::from_row).map_err(|e| self.sq(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sq(e))
    }
}

/// The decision rows of session `?1` handed to the agent's dialog with no
/// outcome yet (through the `receipts_open_asks` index).
pub(crate) fn open_asks_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "SELECT {} FROM receipts d WHERE d.session_id = ?1 AND d.kind = 'decision' AND d.decision = 'asked' \
             AND d.tool_use_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM receipts o WHERE o.links_seq = d.seq) ORDER BY d.seq",
            super::receipt::select_list()
        )
    })
}
