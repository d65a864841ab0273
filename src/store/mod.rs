//! The receipt: gate's SQLite database of every decision and outcome.
//!
//! Invariants: rows are only ever appended (triggers refuse UPDATE, DELETE,
//! a reused seq and a row that does not extend the chain); every append
//! reads the chain head and inserts inside one `BEGIN IMMEDIATE`
//! transaction, so concurrent hooks never fork the chain; the file is
//! created with mode 0600 in WAL mode with a busy timeout; migrations are
//! numbered files applied in order and never edited.

mod canonical;
pub mod chain;
pub mod prune;
pub mod questions;
pub mod receipt;
pub mod recover;
pub mod seal;
pub mod trouble;
mod verify;

pub use receipt::{
    Column, ColumnSpec, Hashed, JsonText, Millis, Receipt, RecordCheck, RowKind, Source, Status, ToolKind, Verdict,
    COLUMNS,
};
pub use verify::{verify, verify_visiting, Problem, PruneAudit, VerifyReport};

/// The `schema` of every export record. Fields are only ever added.
pub const EXPORT_SCHEMA: &str = "gate.receipt/1";

/// The storage seam: what gate needs of a receipt store. The SQLite
/// [`Store`] is the local one; a team store is another implementation.
pub trait ReceiptStore {
    /// Append one row: chain it to the head (filling `seq`, `prev_hash`
    /// and `hash`) and make it durable before returning.
    fn append(&mut self, rec: &mut Receipt) -> Result<(), StoreError>;
    /// Visit matching rows in seq order, one at a time; `f` returns false to stop.
    fn scan(&self, filter: &Filter, f: &mut dyn FnMut(Receipt) -> std::io::Result<bool>) -> Result<(), StoreError>;
    /// The newest decision row for a tool call.
    fn decision_for(&self, tool_use_id: &str) -> Result<Option<Receipt>, StoreError>;
    /// How the call a decision row decided ended: its first outcome row's status.
    fn outcome_of(&self, decision_seq: i64) -> Result<Option<Status>, StoreError>;
    /// Visit matching rows in seq order with the outcome an export record
    /// carries: for a decision, its first outcome row's status; for any
    /// other row, its own status.
    fn scan_records(
        &self,
        filter: &Filter,
        f: &mut dyn FnMut(Receipt, Option<Status>) -> std::io::Result<bool>,
    ) -> Result<(), StoreError> {
        let mut failed = None;
        self.scan(filter, &mut |r| {
            let outcome = match r.row_kind() {
                RowKind::Decision => match self.outcome_of(r.seq) {
                    Ok(o) => o,
                    Err(e) => {
                        failed = Some(e);
                        return Ok(false);
                    }
                },
                _ => r.status,
            };
            f(r, outcome)
        })?;
        failed.map_or(Ok(()), Err)
    }
}

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

/// Numbered migrations; `PRAGMA user_version` is the last one applied.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_receipts.sql"),
    include_str!("migrations/0002_questions.sql"),
    include_str!("migrations/0003_redacted_and_prune.sql"),
    include_str!("migrations/0004_open_asks.sql"),
];

/// How long a writer waits for another writer before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Checkpoint the WAL back into the database once it passes this size.
/// Every process that opens the store reads the whole WAL first (a hook
/// call appends about six 4 KiB pages), so a short WAL keeps that read
/// short; the hook runs the checkpoint after it has answered.
const WAL_CHECKPOINT_BYTES: u64 = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("receipt database {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("receipt database {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "receipt database {path} was written by a newer gate (schema {found}, this gate knows {known}); upgrade gate"
    )]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("no receipts yet: {0} does not exist (gate writes it on the first hook call)")]
    Missing(PathBuf),
    /// A team store (PostgreSQL) failed; the text names the server.
    #[error("{0}")]
    Team(String),
}

/// What a query selects. Every field narrows; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub session: Option<String>,
    pub tool: Option<String>,
    pub decision: Option<Verdict>,
    pub source: Option<Source>,
    pub kind: Option<RowKind>,
    pub agent: Option<String>,
    pub approver: Option<String>,
    /// A rule id, or a prefix of one ending in `*`.
    pub rule: Option<String>,
    /// The call's working directory, or any directory under it.
    pub cwd: Option<String>,
    /// Text found in the command or path, the arguments or the reason (case-insensitive).
    pub text: Option<String>,
    /// The machine the row was recorded on (its `host`).
    pub host: Option<String>,
    /// The developer: in a team store, the name the store was pushed under;
    /// in the local store, the OS user that recorded the row.
    pub developer: Option<String>,
    /// Only rows after this seq.
    pub after_seq: Option<i64>,
}

impl Filter {
    fn sql(&self) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value as V;
        let mut clauses: Vec<&str> = Vec::new();
        let mut args: Vec<V> = Vec::new();
        let text = |s: &str| V::Text(s.to_string());
        if let Some(t) = self.since {
            clauses.push("ts >= ?");
            args.push(V::Integer(t));
        }
        if let Some(t) = self.until {
            clauses.push("ts < ?");
            args.push(V::Integer(t));
        }
        if let Some(s) = &self.session {
            clauses.push("session_id = ?");
            args.push(text(s));
        }
        if let Some(t) = &self.tool {
            clauses.push("(tool = ? COLLATE NOCASE OR tool_kind = ?)");
            args.push(text(t));
            args.push(text(t));
        }
        if let Some(d) = self.decision {
            clauses.push("decision = ?");
            args.push(text(d.as_str()));
        }
        if let Some(s) = self.source {
            clauses.push("source = ?");
            args.push(text(s.as_str()));
        }
        if let Some(k) = self.kind {
            clauses.push("kind = ?");
            args.push(text(k.as_str()));
        }
        if let Some(a) = &self.agent {
            clauses.push("agent = ? COLLATE NOCASE");
            args.push(text(a));
        }
        if let Some(a) = &self.approver {
            clauses.push("approver = ?");
            args.push(text(a));
        }
        if let Some(r) = &self.rule {
            match r.strip_suffix('*') {
                Some(prefix) => {
                    clauses.push("substr(rule_id, 1, length(?)) = ?");
                    args.push(text(prefix));
                    args.push(text(prefix));
                }
                None => {
                    clauses.push("rule_id = ?");
                    args.push(text(r));
                }
            }
        }
        if let Some(c) = &self.cwd {
            let c = c.trim_end_matches('/');
            clauses.push("(cwd = ? OR substr(cwd, 1, length(?) + 1) = ? || '/')");
            args.push(text(c));
            args.push(text(c));
            args.push(text(c));
        }
        if let Some(t) = &self.text {
            clauses.push(
                "(instr(lower(coalesce(target, '')), lower(?)) > 0 OR instr(lower(coalesce(args, '')), lower(?)) > 0 \
                 OR instr(lower(coalesce(reason, '')), lower(?)) > 0)",
            );
            for _ in 0..3 {
                args.push(text(t));
            }
        }
        if let Some(h) = &self.host {
            clauses.push("host = ?");
            args.push(text(h));
        }
        if let Some(d) = &self.developer {
            clauses.push("os_user = ?");
            args.push(text(d));
        }
        if let Some(s) = self.after_seq {
            clauses.push("seq > ?");
            args.push(V::Integer(s));
        }
        let wh = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        (wh, args)
    }

    /// Whether any filter narrows by something other than time.
    pub fn narrows_calls(&self) -> bool {
        self.session.is_some()
            || self.tool.is_some()
            || self.decision.is_some()
            || self.source.is_some()
            || self.agent.is_some()
            || self.approver.is_some()
            || self.rule.is_some()
            || self.cwd.is_some()
            || self.text.is_some()
            || self.host.is_some()
            || self.developer.is_some()
    }
}

/// A summary line of one session for `gate log`.
#[derive(Debug, Clone, Serialize)]
pub struct SessionSummary {
    pub session_id: String,
    /// A team store: the developer and host whose store holds the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub developer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub agent: Option<String>,
    pub cwd: Option<String>,
    pub started: i64,
    pub last: i64,
    pub calls: i64,
    pub auto_approved: i64,
    pub approved: i64,
    pub denied: i64,
    pub asked: i64,
    pub expired: i64,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    checkpoint: Checkpoint,
}

/// What a checkpoint copied of the WAL into the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpointed {
    /// All of it: the next write starts the WAL over ([`Store::rewind_wal`]).
    All,
    /// Part of it, or nothing (a reader or writer was in the way, or it failed).
    Part,
}

/// Who truncates a WAL that grew past [`WAL_CHECKPOINT_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checkpoint {
    /// This store, when it is dropped (commands other than the hook).
    OnDrop,
    /// The caller, after answering ([`Store::hand_off_checkpoint`]).
    HandedOff,
    /// Nobody (a read-only store).
    Never,
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.checkpoint == Checkpoint::OnDrop && self.checkpoint_due() {
            self.checkpoint_now();
        }
    }
}

impl Store {
    /// Open (creating and migrating if needed) the database for writing.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let sq = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
        let existed = path.exists();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sq)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sq)?;
        if !existed {
            restrict_mode(path)?;
        }
        // Several processes creating the database at once can see BUSY
        // from this pragma immediately, whatever the busy timeout: retry.
        let mut tries = 0;
        loop {
            match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)) {
                Ok(_) => break,
                Err(e) if tries < 200 && is_busy(&e) => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(sq(e)),
            }
        }
        // A commit is in the operating system's hands when it returns: it
        // survives the process being killed, not a power loss. Rows a human
        // decided are then forced to the disk (`sync`). Why: docs/perf.md.
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;").map_err(sq)?;
        // The hook process opens and closes the database on every call.
        // Checkpointing on every close costs several fsyncs; instead the WAL
        // is truncated once it grows past its limit (see `checkpoint_due`).
        let _ = conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true);
        let mut store = Store { conn, path: path.to_path_buf(), checkpoint: Checkpoint::OnDrop };
        store.migrate()?;
        for side in ["-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{side}", path.display()));
            if p.exists() {
                restrict_mode(&p)?;
            }
        }
        Ok(store)
    }

    /// Open an existing database for reading only.
    pub fn open_read(path: &Path) -> Result<Store, StoreError> {
        let sq = |source| StoreError::Sqlite { path: path.to_path_buf(), source };
        if !path.exists() {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(sq)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sq)?;
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sq)?;
        if v > MIGRATIONS.len() as i64 {
            return Err(StoreError::TooNew { path: path.to_path_buf(), found: v, known: MIGRATIONS.len() as i64 });
        }
        if v == 0 {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        Ok(Store { conn, path: path.to_path_buf(), checkpoint: Checkpoint::Never })
    }

    /// Wait at most `d` for another writer's lock (instead of [`BUSY_TIMEOUT`]).
    pub fn set_busy_timeout(&self, d: Duration) -> Result<(), StoreError> {
        self.conn.busy_timeout(d).map_err(|e| self.sq(e))
    }

    /// Plan each cached statement once, whatever values are bound to it
    /// (SQLite's query planner stability guarantee). Without it this build
    /// of SQLite (with STAT4) prepares a statement again whenever a new
    /// value is bound, which a resident that serves many calls with the same
    /// statements pays on every call. Not for ad-hoc queries whose plan
    /// needs the value (a `GLOB ?` session prefix).
    pub fn plan_once(&self) -> Result<(), StoreError> {
        self.conn
            .set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map(|_| ())
            .map_err(|e| self.sq(e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sq(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let known = MIGRATIONS.len() as i64;
        let current: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| self.sq(e))?;
        if current == known {
            return Ok(());
        }
        let path = self.path.clone();
        let sq = |source| StoreError::Sqlite { path: path.clone(), source };
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sq)?;
        // Re-read inside the write lock: another process may have migrated.
        let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sq)?;
        if current > known {
            return Err(StoreError::TooNew { path: path.clone(), found: current, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.execute_batch(sql).map_err(sq)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1)).map_err(sq)?;
        }
        tx.commit().map_err(sq)
    }

    /// Append one row: read the head, chain, insert, commit, all under the
    /// write lock. `rec.seq`, `prev_hash` and `hash` are filled in here.
    /// Every statement, `BEGIN` and `COMMIT` too, is prepared once per
    /// connection (a resident appends through one connection for its life).
    pub fn append(&mut self, rec: &mut Receipt) -> Result<(), StoreError> {
        let conn = &self.conn;
        let run = |sql: &str| conn.prepare_cached(sql).and_then(|mut st| st.execute([])).map(|_| ());
        run(BEGIN_IMMEDIATE).map_err(|e| self.sq(e))?;
        if let Err(e) = append_in(conn, rec).and_then(|()| run(COMMIT)) {
            // As a dropped transaction does: nothing of this row is kept.
            if !conn.is_autocommit() {
                let _ = run(ROLLBACK);
            }
            return Err(self.sq(e));
        }
        Ok(())
    }

    /// Start appending many rows in one transaction, under the write lock
    /// for its whole life: each row is chained exactly as [`Store::append`]
    /// chains one, and all of them become durable at [`Batch::commit`]
    /// (dropped uncommitted, none of them is kept). For importing or
    /// generating rows in bulk; the hook appends one row at a time.
    pub fn batch(&mut self) -> Result<Batch<'_>, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|source| StoreError::Sqlite { path: path.clone(), source })?;
        Ok(Batch { tx, path })
    }

    fn wal_path(&self) -> PathBuf {
        PathBuf::from(format!("{}-wal", self.path.display()))
    }

    /// Force every commit so far to the disk: one `fdatasync` of the WAL,
    /// which holds them (SQLite's `synchronous=NORMAL` leaves that to the
    /// operating system). After it a power loss cannot take them back.
    pub fn sync(&self) -> Result<(), StoreError> {
        let wal = self.wal_path();
        match std::fs::File::open(&wal) {
            Ok(f) => f.sync_data().map_err(|source| StoreError::Io { path: wal, source }),
            // Checkpointed and gone: the rows are in the database file, synced by the checkpoint.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { path: wal, source }),
        }
    }

    /// Has the WAL grown past [`WAL_CHECKPOINT_BYTES`]? Every process that opens
    /// the store first reads the whole WAL, so it is kept short.
    pub fn checkpoint_due(&self) -> bool {
        std::fs::metadata(self.wal_path()).is_ok_and(|m| m.len() > WAL_CHECKPOINT_BYTES)
    }

    /// Copy the WAL into the database and truncate it. Best effort: a busy
    /// reader only delays the truncation to a later checkpoint.
    pub fn checkpoint_now(&self) -> Checkpointed {
        self.checkpoint("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    /// Copy what it can of the WAL into the database without waiting for,
    /// or blocking, any writer (a resident's regular checkpoint).
    pub fn checkpoint_passive(&self) -> Checkpointed {
        self.checkpoint("PRAGMA wal_checkpoint(PASSIVE)")
    }

    /// Run a checkpoint pragma; its row is (busy, frames in the WAL, frames copied).
    fn checkpoint(&self, pragma: &str) -> Checkpointed {
        let row = self.conn.query_row(pragma, [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)));
        match row {
            Ok((0, log, copied)) if log == copied => Checkpointed::All,
            _ => Checkpointed::Part,
        }
    }

    /// Start the WAL over now, after a checkpoint that copied all of it
    /// into the database. The first write after such a checkpoint rewrites
    /// the WAL's header and, under `synchronous=NORMAL`, fsyncs it (SQLite
    /// keeps that sync: without it a power loss at the wrong moment can
    /// corrupt the database). Left to the next call that appends, that
    /// fsync is on the call's path, inside the resident's turn at the store;
    /// done here, by whoever maintains the store, no call waits for it.
    /// The write sets the schema version to what it is, under the write
    /// lock: no row, and nothing any reader sees, changes. Best effort: a
    /// reader still in the old WAL leaves the start-over to a later writer.
    pub fn rewind_wal(&self) {
        let conn = &self.conn;
        let rewind = || -> rusqlite::Result<()> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            conn.execute_batch(&format!("PRAGMA user_version = {v}; COMMIT"))
        };
        if rewind().is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }

    /// The caller takes over the checkpoint this store would run when dropped
    /// (the hook runs it after it has answered); returns whether one is due.
    pub fn hand_off_checkpoint(&mut self) -> bool {
        if self.checkpoint == Checkpoint::OnDrop {
            self.checkpoint = Checkpoint::HandedOff;
        }
        self.checkpoint_due()
    }

    /// The newest decision row for a tool call.
    pub fn decision_for(&self, tool_use_id: &str) -> Result<Option<Receipt>, StoreError> {
        let sql = format!(
            "SELECT {} FROM receipts WHERE tool_use_id = ?1 AND kind = 'decision' ORDER BY seq DESC LIMIT 1",
            receipt::select_list()
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut st| st.query_row([tool_use_id], Receipt::from_row).optional())
            .map_err(|e| self.sq(e))
    }

    /// The newest decision row for the same call (session, tool and
    /// arguments as stored) that no outcome row follows yet: how an outcome
    /// finds its decision when the agent sends no tool_use_id.
    pub fn open_decision_for(&self, action: &crate::action::Action) -> Result<Option<Receipt>, StoreError> {
        self.same_call(action, "", 0)
    }

    /// A human's approval (`approved`) since `since_ms` of the same call that
    /// has not run yet.
    pub fn recent_approval(
        &self,
        action: &crate::action::Action,
        since_ms: i64,
    ) -> Result<Option<Receipt>, StoreError> {
        self.same_call(action, &format!(" AND d.decision = '{}'", Verdict::Approved), since_ms)
    }

    fn same_call(
        &self,
        action: &crate::action::Action,
        and: &str,
        since_ms: i64,
    ) -> Result<Option<Receipt>, StoreError> {
        let args = crate::redact::mask_json_for(&action.args, action.kind == crate::action::Kind::Shell).to_string();
        let sql = format!(
            "SELECT {cols} FROM receipts d WHERE d.session_id = ?1 AND d.kind = 'decision' AND d.tool = ?2 AND d.args = ?3
             AND d.ts >= ?4{and}
             AND NOT EXISTS (SELECT 1 FROM receipts o WHERE o.links_seq = d.seq AND o.kind = 'outcome')
             ORDER BY d.seq DESC LIMIT 1",
            cols = receipt::select_list()
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut st| {
                st.query_row(rusqlite::params![action.session_id, action.tool, args, since_ms], Receipt::from_row)
                    .optional()
            })
            .map_err(|e| self.sq(e))
    }

    /// Visit matching rows in seq order, one at a time (constant memory).
    pub fn for_each<F>(&self, filter: &Filter, mut f: F) -> Result<(), StoreError>
    where
        F: FnMut(Receipt) -> std::io::Result<bool>,
    {
        let (wh, args) = filter.sql();
        let sql = format!("SELECT {} FROM receipts{wh} ORDER BY seq", receipt::select_list());
        let mut st = self.conn.prepare(&sql).map_err(|e| self.sq(e))?;
        let mut rows = st.query(rusqlite::params_from_iter(args)).map_err(|e| self.sq(e))?;
        while let Some(row) = rows.next().map_err(|e| self.sq(e))? {
            let rec = Receipt::from_row(row).map_err(|e| self.sq(e))?;
            match f(rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(StoreError::Io { path: self.path.clone(), source: e }),
            }
        }
        Ok(())
    }

    /// Sessions with at least one row matching the filter, newest first
    /// (by their newest matching row). The matching rows are read from the
    /// newest back only until `limit` sessions are found, and each of those
    /// is summed up through the session index, so the cost follows the
    /// sessions listed, not the size of the store. With `calls_only`,
    /// sessions without a tool call (started, then nothing) are left out.
    /// Each call is counted once, by its final decision: `auto_approved +
    /// approved + denied + expired == calls`, where `expired` is every call
    /// no one answered (expired, abandoned, or still waiting), and `asked`
    /// counts the calls gate asked about first, whatever became of them.
    pub fn sessions(&self, filter: &Filter, limit: usize, calls_only: bool) -> Result<Vec<SessionSummary>, StoreError> {
        let (wh, args) = filter.sql();
        let wh = if wh.is_empty() {
            " WHERE session_id IS NOT NULL".to_string()
        } else {
            format!("{wh} AND session_id IS NOT NULL")
        };
        let mut ids: Vec<String> = Vec::new();
        if limit > 0 {
            let calls = if calls_only { " AND kind = 'decision'" } else { "" };
            let mut st = self
                .conn
                .prepare(&format!("SELECT session_id FROM receipts{wh}{calls} ORDER BY seq DESC"))
                .map_err(|e| self.sq(e))?;
            let mut rows = st.query(rusqlite::params_from_iter(args.iter())).map_err(|e| self.sq(e))?;
            let mut seen = std::collections::HashSet::new();
            while let Some(row) = rows.next().map_err(|e| self.sq(e))? {
                let id: String = row.get(0).map_err(|e| self.sq(e))?;
                if seen.insert(id.clone()) {
                    ids.push(id);
                    if ids.len() == limit {
                        break;
                    }
                }
            }
        }
        // A call's final decision, as the review fold settles it: the last
        // answer or outcome linked to its decision row that carries one.
        let sql = format!(
            "SELECT MIN(ts), MAX(ts),
                (SELECT agent FROM receipts r2 WHERE r2.session_id = ?1 AND agent IS NOT NULL ORDER BY seq LIMIT 1),
                (SELECT cwd FROM receipts r2 WHERE r2.session_id = ?1 AND cwd IS NOT NULL ORDER BY seq LIMIT 1),
                SUM(kind = 'decision'),
                SUM(final = 'auto-approved'),
                SUM(final = 'approved'),
                SUM(final = 'denied'),
                SUM(kind = 'decision' AND decision = 'asked'),
                SUM(kind = 'decision' AND final NOT IN ('auto-approved', 'approved', 'denied'))
             FROM (SELECT r.ts, r.kind, r.decision, CASE WHEN r.kind = 'decision' THEN COALESCE(
                     (SELECT o.decision FROM receipts o WHERE o.links_seq = r.seq AND o.kind IN ('outcome', 'answer')
                        AND o.decision IS NOT NULL ORDER BY o.seq DESC LIMIT 1),
                     r.decision, '') END AS final
                   FROM receipts r{wh} AND session_id = ?1)"
        );
        let mut st = self.conn.prepare(&sql).map_err(|e| self.sq(e))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            // `?1` is the session; the filter's own parameters follow it.
            let mut params: Vec<rusqlite::types::Value> = vec![rusqlite::types::Value::Text(id.clone())];
            params.extend(args.iter().cloned());
            let summary = st
                .query_row(rusqlite::params_from_iter(params), |r| {
                    Ok(SessionSummary {
                        session_id: id.clone(),
                        developer: None,
                        host: None,
                        started: r.get(0)?,
                        last: r.get(1)?,
                        agent: r.get(2)?,
                        cwd: r.get(3)?,
                        calls: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
                        auto_approved: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
                        approved: r.get::<_, Option<i64>>(6)?.unwrap_or(0),
                        denied: r.get::<_, Option<i64>>(7)?.unwrap_or(0),
                        asked: r.get::<_, Option<i64>>(8)?.unwrap_or(0),
                        expired: r.get::<_, Option<i64>>(9)?.unwrap_or(0),
                    })
                })
                .map_err(|e| self.sq(e))?;
            out.push(summary);
        }
        Ok(out)
    }

    /// Resolve a session id prefix to the full id, if exactly one matches.
    pub fn resolve_session(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        // A GLOB on a literal prefix is a range on the session index.
        let mut pattern = String::with_capacity(prefix.len() + 1);
        for c in prefix.chars() {
            match c {
                '*' | '?' | '[' => {
                    pattern.push('[');
                    pattern.push(c);
                    pattern.push(']');
                }
                _ => pattern.push(c),
            }
        }
        pattern.push('*');
        let mut st = self
            .conn
            .prepare("SELECT DISTINCT session_id FROM receipts WHERE session_id GLOB ?1 LIMIT 5")
            .map_err(|e| self.sq(e))?;
        let rows = st.query_map([pattern], |r| r.get::<_, String>(0)).map_err(|e| self.sq(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.sq(e))
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// Rows appended in one write transaction (see [`Store::batch`]).
pub struct Batch<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
}

impl Batch<'_> {
    /// Chain `rec` to the head and insert it, filling `seq`, `prev_hash` and `hash`.
    pub fn append(&mut self, rec: &mut Receipt) -> Result<(), StoreError> {
        append_in(&self.tx, rec).map_err(|source| StoreError::Sqlite { path: self.path.clone(), source })
    }

    /// Make every row appended so far durable, and release the write lock.
    pub fn commit(self) -> Result<(), StoreError> {
        let path = self.path;
        self.tx.commit().map_err(|source| StoreError::Sqlite { path, source })
    }
}

const BEGIN_IMMEDIATE: &str = "BEGIN IMMEDIATE";
const COMMIT: &str = "COMMIT";
const ROLLBACK: &str = "ROLLBACK";
/// The chain's head: the last row's seq and hash.
const HEAD_SQL: &str = "SELECT seq, hash FROM receipts ORDER BY seq DESC LIMIT 1";

/// Chain `rec` to the head and insert it, inside the caller's write
/// transaction.
fn append_in(tx: &Connection, rec: &mut Receipt) -> rusqlite::Result<()> {
    let head: Option<(i64, String)> =
        tx.prepare_cached(HEAD_SQL)?.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    let (seq, prev) = match head {
        Some((s, h)) => (s + 1, h),
        None => (1, chain::GENESIS.to_string()),
    };
    rec.seq = seq;
    rec.prev_hash = prev;
    rec.content_digest = None;
    rec.note_redactions();
    rec.hash = rec.computed_hash();
    tx.prepare_cached(insert_sql())?.execute(rusqlite::params_from_iter(rec.sql_values()))?;
    Ok(())
}

/// `INSERT INTO receipts (<every column>) VALUES (?1, ...)`, from [`COLUMNS`].
fn insert_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let names: Vec<&str> = COLUMNS.iter().map(|c| c.column).collect();
        let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        format!("INSERT INTO receipts ({}) VALUES ({})", names.join(", "), marks.join(", "))
    })
}

impl ReceiptStore for Store {
    /// One query: each decision's outcome comes from a subquery on the
    /// link index, not from a statement of its own per row.
    fn scan_records(
        &self,
        filter: &Filter,
        f: &mut dyn FnMut(Receipt, Option<Status>) -> std::io::Result<bool>,
    ) -> Result<(), StoreError> {
        let (wh, args) = filter.sql();
        let sql = format!(
            "SELECT {}, CASE WHEN kind = 'decision'
                THEN (SELECT o.status FROM receipts o WHERE o.links_seq = r.seq AND o.kind = 'outcome' ORDER BY o.seq LIMIT 1)
                ELSE status END
             FROM receipts r{wh} ORDER BY seq",
            receipt::select_list()
        );
        let mut st = self.conn.prepare(&sql).map_err(|e| self.sq(e))?;
        let mut rows = st.query(rusqlite::params_from_iter(args)).map_err(|e| self.sq(e))?;
        while let Some(row) = rows.next().map_err(|e| self.sq(e))? {
            let rec = Receipt::from_row(row).map_err(|e| self.sq(e))?;
            let outcome: Option<Status> = row.get(COLUMNS.len()).map_err(|e| self.sq(e))?;
            match f(rec, outcome) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(StoreError::Io { path: self.path.clone(), source: e }),
            }
        }
        Ok(())
    }
    fn append(&mut self, rec: &mut Receipt) -> Result<(), StoreError> {
        Store::append(self, rec)
    }
    fn scan(&self, filter: &Filter, f: &mut dyn FnMut(Receipt) -> std::io::Result<bool>) -> Result<(), StoreError> {
        self.for_each(filter, f)
    }
    fn decision_for(&self, tool_use_id: &str) -> Result<Option<Receipt>, StoreError> {
        Store::decision_for(self, tool_use_id)
    }
    fn outcome_of(&self, decision_seq: i64) -> Result<Option<Status>, StoreError> {
        self.outcome_status(decision_seq)
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == rusqlite::ErrorCode::DatabaseBusy || f.code == rusqlite::ErrorCode::DatabaseLocked)
}

fn restrict_mode(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|source| StoreError::Io { path: path.to_path_buf(), source })
}

impl Store {
    /// The status of the outcome row linked to a decision, if any.
    pub fn outcome_status(&self, decision_seq: i64) -> Result<Option<Status>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT status FROM receipts WHERE links_seq = ?1 AND kind = 'outcome' ORDER BY seq LIMIT 1",
            )
            .and_then(|mut st| st.query_row([decision_seq], |r| r.get::<_, Option<Status>>(0)).optional())
            .map(Option::flatten)
            .map_err(|e| self.sq(e))
    }
}

impl Store {
    /// The store's id: the hash of its first row (`None` while empty).
    pub fn first_hash(&self) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT hash FROM receipts WHERE seq = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.sq(e))
    }

    /// Visit `(seq, hash)` of every row after `seq`, in order, until `f`
    /// returns false.
    pub fn hashes_after(&self, seq: i64, mut f: impl FnMut(i64, &str) -> bool) -> Result<(), StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT seq, hash FROM receipts WHERE seq > ?1 ORDER BY seq")
            .map_err(|e| self.sq(e))?;
        let mut rows = st.query([seq]).map_err(|e| self.sq(e))?;
        while let Some(r) = rows.next().map_err(|e| self.sq(e))? {
            let seq: i64 = r.get(0).map_err(|e| self.sq(e))?;
            let hash: String = r.get(1).map_err(|e| self.sq(e))?;
            if !f(seq, &hash) {
                break;
            }
        }
        Ok(())
    }

    /// Whether a session has ended or a prune happened (each of which
    /// leaves a signed checkpoint behind).
    pub fn has_session_end_or_prune(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM receipts WHERE (kind = 'session' AND status = 'end') OR kind = 'prune')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.sq(e))
    }

    /// Whether a row with this hash exists.
    pub fn has_hash(&self, hash: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row("SELECT EXISTS(SELECT 1 FROM receipts WHERE hash = ?1)", [hash.trim()], |r| r.get(0))
            .map_err(|e| self.sq(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(store: &Store, sql: &str, params: &[&dyn rusqlite::ToSql]) -> String {
        let mut st = store.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = st.query_map(params, |r| r.get::<_, String>(3)).unwrap();
        rows.collect::<Result<Vec<_>, _>>().unwrap().join("\n")
    }

    fn store_with_sessions() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("gate.db")).unwrap();
        for (i, id) in ["aaaa-1", "aaab-2", "b*c-3"].iter().enumerate() {
            let mark = crate::action::SessionMark {
                agent: crate::action::Agent::ALL[i],
                session_id: id.to_string(),
                cwd: "/p".into(),
                started: true,
                detail: None,
                transcript_path: None,
            };
            store.append(&mut Receipt::session(&mark)).unwrap();
        }
        (dir, store)
    }

    #[test]
    fn a_session_prefix_is_a_range_on_the_session_index() {
        let (_dir, store) = store_with_sessions();
        assert_eq!(store.resolve_session("aaa").unwrap().len(), 2);
        assert_eq!(store.resolve_session("aaab").unwrap(), vec!["aaab-2".to_string()]);
        assert_eq!(store.resolve_session("b*").unwrap(), vec!["b*c-3".to_string()], "a literal *");
        assert!(store.resolve_session("b?").unwrap().is_empty(), "a literal ?");
        let p = plan(&store, "SELECT DISTINCT session_id FROM receipts WHERE session_id GLOB ?1 LIMIT 5", &[&"aaa*"]);
        assert!(p.contains("INDEX receipts_session (session_id>? AND session_id<?)"), "{p}");
    }

    #[test]
    fn listing_sessions_reads_from_the_newest_row_and_sums_through_the_session_index() {
        let (_dir, store) = store_with_sessions();
        let listed: Vec<String> =
            store.sessions(&Filter::default(), 2, false).unwrap().into_iter().map(|s| s.session_id).collect();
        assert_eq!(listed, ["b*c-3", "aaab-2"]);
        let p = plan(&store, "SELECT session_id FROM receipts WHERE session_id IS NOT NULL ORDER BY seq DESC", &[]);
        assert!(p.contains("SCAN receipts") && !p.contains("TEMP B-TREE"), "{p}");
        let p = plan(&store, "SELECT MIN(ts), SUM(kind = 'decision') FROM receipts WHERE session_id = ?1", &[&"x"]);
        assert!(p.contains("INDEX receipts_session (session_id=?)"), "{p}");
    }

    #[test]
    fn open_asks_come_from_their_own_index_and_a_planned_once_statement_is_not_prepared_again() {
        let (_dir, store) = store_with_sessions();
        let p = plan(&store, questions::open_asks_sql(), &[&"x"]);
        assert!(p.contains("INDEX receipts_open_asks (session_id=?)"), "{p}");
        store.plan_once().unwrap();
        for session in ["aaaa-1", "aaab-2", "aaaa-1"] {
            store.unresolved_asks(session).unwrap();
        }
        let st = store.conn.prepare_cached(questions::open_asks_sql());
        assert_eq!(st.unwrap().get_status(rusqlite::StatementStatus::RePrepare), 0);
    }

    #[test]
    fn every_statement_of_an_append_is_prepared_once_per_connection() {
        // As a resident holds it: planned once from its open on.
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("gate.db")).unwrap();
        store.plan_once().unwrap();
        let mark = |id: &str| crate::action::SessionMark {
            agent: crate::action::Agent::ClaudeCode,
            session_id: id.to_string(),
            cwd: "/p".into(),
            started: false,
            detail: None,
            transcript_path: None,
        };
        let statements = [BEGIN_IMMEDIATE, HEAD_SQL, insert_sql(), COMMIT];
        // How often each cached statement has run (the insert's triggers count too).
        let runs = |store: &Store| -> Vec<(i32, i32)> {
            statements
                .iter()
                .map(|sql| {
                    let st = store.conn.prepare_cached(sql).unwrap();
                    use rusqlite::StatementStatus::{RePrepare, Run};
                    (st.get_status(Run), st.get_status(RePrepare))
                })
                .collect()
        };
        for id in ["x-1", "x-2", "x-3"] {
            store.append(&mut Receipt::session(&mark(id))).unwrap();
        }
        let three = runs(&store);
        for id in ["x-4", "x-5", "x-6"] {
            store.append(&mut Receipt::session(&mark(id))).unwrap();
        }
        // The same statements ran again: none was prepared anew, nor re-prepared.
        for ((sql, (run3, re3)), (run6, re6)) in statements.iter().zip(three).zip(runs(&store)) {
            assert!(run3 > 0 && run6 == 2 * run3, "{sql}: {run3} runs after 3 appends, {run6} after 6");
            assert_eq!((re3, re6), (0, 0), "{sql}");
        }
        // A refused append leaves no transaction open behind it.
        store
            .conn
            .execute_batch("CREATE TEMP TRIGGER refuse BEFORE INSERT ON receipts BEGIN SELECT RAISE(ABORT, 'no'); END;")
            .unwrap();
        assert!(store.append(&mut Receipt::session(&mark("x-7"))).is_err());
        assert!(store.conn.is_autocommit());
        store.conn.execute_batch("DROP TRIGGER refuse").unwrap();
        store.append(&mut Receipt::session(&mark("x-8"))).unwrap();
        let report = verify(&store).unwrap();
        assert_eq!((report.rows, report.problem.is_none()), (7, true));
    }

    #[test]
    fn an_export_finds_each_outcome_through_the_link_index() {
        let (_dir, store) = store_with_sessions();
        let p = plan(
            &store,
            "SELECT seq, (SELECT o.status FROM receipts o WHERE o.links_seq = r.seq AND o.kind = 'outcome' ORDER BY o.seq LIMIT 1) FROM receipts r ORDER BY seq",
            &[],
        );
        assert!(p.contains("INDEX receipts_links (links_seq=?)"), "{p}");
    }
}
