//! Recovering from a damaged receipt store (`gate recover`). The damaged file and its `-wal`
//! and `-shm` are renamed beside it (`gate.db.damaged-<time>`), never deleted, so `gate
//! verify` can still report on them; the last intact row that can be read from the old file
//! is found; and a new store begins with a `recover` row that names the old file and that
//! head (or says that no row could be read). The signed checkpoint log of the old store is
//! moved aside the same way, and its last checkpoint is recorded in the row too.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use serde_json::{json, Value};

use super::receipt::RawRow;
use super::{chain, JsonText, Receipt, RowKind, StoreError, BUSY_TIMEOUT};

#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error("there is no receipt store at {}: nothing to recover", .0.display())]
    Missing(PathBuf),
    #[error(
        "the receipt store {} is not damaged ({state}); nothing to recover. To start a new chain anyway, run `gate recover --force`",
        path.display()
    )]
    Healthy { path: PathBuf, state: String },
    #[error("cannot move {} aside to {}: {source}", from.display(), to.display())]
    Move { from: PathBuf, to: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A row of the old chain: where it stood and its hash.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

/// What could be read of a damaged store.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OldChain {
    /// The last intact row that could be read, if any.
    pub head: Option<Head>,
    /// The hash of its first row (the store's id), if it could be read.
    pub first_hash: Option<String>,
    /// Rows read in order from seq 1, each intact and chained, before the walk stopped.
    pub rows_read: i64,
    /// Why the walk stopped before the end, in SQLite's words.
    pub stopped: Option<String>,
}

fn words(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(m)) => m.clone(),
        other => other.to_string(),
    }
}

fn open_read(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// What is wrong with the store at `path`, in SQLite's words: None when it opens, passes
/// `PRAGMA quick_check` and its newest row reads.
pub fn damage(path: &Path) -> Result<Option<String>, RecoverError> {
    if !path.exists() {
        return Err(RecoverError::Missing(path.to_path_buf()));
    }
    let conn = match open_read(path) {
        Ok(c) => c,
        Err(e) => return Ok(Some(words(&e))),
    };
    let check = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut st| st.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>());
    match check {
        Err(e) => return Ok(Some(words(&e))),
        Ok(v) if v != ["ok"] => {
            let mut s = v.join("; ");
            s.truncate(300);
            return Ok(Some(s));
        }
        Ok(_) => {}
    }
    let head = conn.query_row("SELECT seq, hash FROM receipts ORDER BY seq DESC LIMIT 1", [], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    });
    Ok(head.optional().err().map(|e| words(&e)))
}

/// `gate.db` → `gate.db.damaged-<stamp>`, with its `-wal` and `-shm`. Returns the new name.
pub fn move_aside(db: &Path, stamp: &str) -> Result<PathBuf, RecoverError> {
    let to = PathBuf::from(format!("{}.damaged-{stamp}", db.display()));
    for side in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{side}", db.display()));
        let dest = PathBuf::from(format!("{}{side}", to.display()));
        if from.exists() {
            std::fs::rename(&from, &dest).map_err(|source| RecoverError::Move { from, to: dest, source })?;
        }
    }
    Ok(to)
}

/// Read what can be read of the store at `path`: its newest row, if that reads and is
/// intact, else the last row of an intact walk from seq 1.
pub fn read_old(path: &Path) -> OldChain {
    let mut old = OldChain::default();
    let conn = match open_read(path) {
        Ok(c) => c,
        Err(e) => {
            old.stopped = Some(words(&e));
            return old;
        }
    };
    let intact = |r: &RawRow| r.computed_hash() == r.hash && !(r.content_digest.is_some() && r.has_content());
    let newest = conn
        .query_row(
            &format!("SELECT {} FROM receipts ORDER BY seq DESC LIMIT 1", RawRow::select_list()),
            [],
            RawRow::from_row,
        )
        .ok()
        .filter(intact)
        .map(|r| Head { seq: r.seq, hash: r.hash });
    let mut last = None;
    let mut prev = chain::GENESIS.to_string();
    let walk = conn.prepare(&format!("SELECT {} FROM receipts ORDER BY seq", RawRow::select_list())).and_then(|mut st| {
        let mut rows = st.query([])?;
        loop {
            let row = match rows.next() {
                Ok(Some(row)) => RawRow::from_row(row)?,
                Ok(None) => return Ok(None),
                Err(e) => return Err(e),
            };
            if !intact(&row) || row.prev_hash != prev || row.seq != old.rows_read + 1 {
                return Ok(Some(format!("seq {}: not intact or not chained to the row before it", row.seq)));
            }
            if row.seq == 1 {
                old.first_hash = Some(row.hash.clone());
            }
            old.rows_read += 1;
            prev = row.hash.clone();
            last = Some(Head { seq: row.seq, hash: row.hash });
        }
    });
    old.stopped = match walk {
        Ok(why) => why,
        Err(e) => Some(words(&e)),
    };
    old.head = newest.or(last);
    old
}

/// Move the checkpoint log of the old store aside (a new store's checkpoints cannot extend
/// it). Returns where it went and its last checkpoint.
pub fn move_log_aside(log: &Path, stamp: &str) -> Result<Option<(PathBuf, Value)>, RecoverError> {
    if !log.exists() {
        return Ok(None);
    }
    let last = std::fs::read_to_string(log)
        .ok()
        .and_then(|t| t.lines().rev().find_map(|l| serde_json::from_str::<Value>(l).ok()))
        .map(|v| {
            let c = &v["checkpoint"];
            json!({ "store_id": c["store_id"], "size": c["size"], "root": c["root"] })
        })
        .unwrap_or(Value::Null);
    let to = PathBuf::from(format!("{}.before-recover-{stamp}", log.display()));
    std::fs::rename(log, &to).map_err(|source| RecoverError::Move {
        from: log.to_path_buf(),
        to: to.clone(),
        source,
    })?;
    Ok(Some((to, last)))
}

/// The first row of the new chain.
pub fn row(moved: &Path, damage: &str, old: &OldChain, log: Option<&(PathBuf, Value)>, forced: bool) -> Receipt {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let head = match &old.head {
        Some(h) => format!("its last intact row is seq {} ({})", h.seq, h.hash),
        None => "no row of it could be read".to_string(),
    };
    let mut rec = Receipt::new(RowKind::Recover);
    rec.reason = Some(format!(
        "gate recover: the receipt store was damaged ({damage}) and moved aside to {}; {head}; a new chain starts here",
        name(moved)
    ));
    rec.detail = Some(JsonText::of(&json!({
        "moved_to": name(moved),
        "damage": damage,
        "forced": forced,
        "previous_head": old.head,
        "previous_store_id": old.first_hash,
        "rows_read": old.rows_read,
        "read_stopped": old.stopped,
        "checkpoints_moved_to": log.map(|(p, _)| name(p)),
        "last_checkpoint": log.map(|(_, c)| c.clone()),
    })));
    rec
}
