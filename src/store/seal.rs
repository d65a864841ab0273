//! Signed checkpoints of the local receipt, kept apart from it (in the
//! config directory, beside the signing key), so that deleting, replacing
//! or cutting the database is caught by `gate verify` even though the new
//! chain is intact in itself. gate writes one at each session end and each
//! export; `gate verify` checks the store against every one of them.

use crate::paths::Paths;
use crate::trust::checkpoint::{AuditError, AuditReport, Checkpoint, CheckpointLog, CheckpointLogError, StoreAudit};
use crate::trust::keys::{self, KeyError};
use crate::trust::merkle::{leaf_hash, Frontier};

use super::{chain, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Log(#[from] CheckpointLogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("receipt row seq {seq} has a malformed hash; `gate verify` says more")]
    BadHash { seq: i64 },
    #[error(
        "the receipt {} is gone, but {} holds checkpoints of a receipt with {size} rows: it was deleted or moved; if you removed it on purpose, move {} away too",
        db.display(), log.display(), log.display()
    )]
    StoreGone { db: std::path::PathBuf, log: std::path::PathBuf, size: u64 },
    #[error(
        "{} is not a regular file (a symlink, or something else): checkpoints cannot be read from it; put the real checkpoint log back",
        log.display()
    )]
    LogNotAFile { log: std::path::PathBuf },
    #[error(
        "{} is gone, though the signing key exists and a session ended since: the checkpoints were deleted; restore the file, or move the signing key away too to start again",
        log.display()
    )]
    LogGone { log: std::path::PathBuf },
    #[error(
        "the signing key {} is gone, but {} holds checkpoints: without the key they cannot be checked; restore the key, or move both files away to start again",
        key.display(), log.display()
    )]
    KeyGone { key: std::path::PathBuf, log: std::path::PathBuf },
}

/// Visit the raw 32-byte hash of every row after `seq`, in order, until
/// `f` fails or returns `false`; a hash that is not 64 hex digits is an
/// error of its own.
fn each_row_hash(
    store: &Store,
    seq: i64,
    mut f: impl FnMut(&[u8; 32]) -> Result<bool, SealError>,
) -> Result<(), SealError> {
    let mut failure: Option<SealError> = None;
    store.hashes_after(seq, |seq, hash| {
        let step = match chain::unhex(hash) {
            Some(raw) => f(&raw),
            None => Err(SealError::BadHash { seq }),
        };
        match step {
            Ok(more) => more,
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    })?;
    failure.map_or(Ok(()), Err)
}

/// The frontier over a store's rows from `start` (a verified resume point
/// or empty) to its head.
fn frontier_of(store: &Store, mut frontier: Frontier) -> Result<Frontier, SealError> {
    each_row_hash(store, frontier.size() as i64, |raw| {
        frontier.push(leaf_hash(raw));
        Ok(true)
    })?;
    Ok(frontier)
}

/// The frontier over a store's first `size` rows (all of them when it has
/// fewer): what a checkpoint of that prefix signs.
pub fn frontier_upto(store: &Store, size: u64) -> Result<Frontier, SealError> {
    let mut frontier = Frontier::new();
    if size > 0 {
        each_row_hash(store, 0, |raw| {
            frontier.push(leaf_hash(raw));
            Ok(frontier.size() < size)
        })?;
    }
    Ok(frontier)
}

/// Sign and append a checkpoint of the store as it is now. Nothing is
/// written for an empty store, or when the newest checkpoint already covers
/// every row. Returns the checkpoint that covers the store.
pub fn checkpoint(paths: &Paths, store: &Store) -> Result<Option<Checkpoint>, SealError> {
    let Some(store_id) = store.first_hash()? else { return Ok(None) };
    // A signed checkpoint must not name rows that a power loss could take back.
    store.sync()?;
    paths.ensure_dirs().map_err(|source| StoreError::Io { path: paths.config_dir.clone(), source })?;
    let key = keys::load_or_create(&paths.signing_key())?;
    let mut log = CheckpointLog::load_last(&paths.checkpoints(), &key.public_key())?;
    let start = log.resume_for(&store_id).map(|(_, f)| f).unwrap_or_default();
    let frontier = frontier_of(store, start)?;
    if let Some(last) = log.last_for(&store_id) {
        if last.size == frontier.size() && log.last().is_some_and(|l| l.store_id == store_id) {
            return Ok(Some(last.clone()));
        }
    }
    let cp = Checkpoint::sign(&key, &store_id, frontier.size(), &frontier.root(), crate::clock::now_ms())
        .map_err(|e| CheckpointLogError::Refused { path: paths.checkpoints(), reason: e.to_string() })?;
    log.append(cp.clone(), Some(&frontier))?;
    Ok(Some(cp))
}

/// Record a checkpoint another writer (a bundle) already signed.
pub fn record(paths: &Paths, cp: &Checkpoint, frontier: &Frontier) -> Result<(), SealError> {
    let key = keys::load_or_create(&paths.signing_key())?;
    let mut log = CheckpointLog::load_last(&paths.checkpoints(), &key.public_key())?;
    if log.last_for(&cp.store_id).is_some_and(|l| l.size == cp.size && l.root == cp.root) {
        return Ok(());
    }
    log.append(cp.clone(), Some(frontier))?;
    Ok(())
}

/// Check the store against every checkpoint of it. `Ok(None)`: no
/// checkpoint has been written yet.
pub fn audit(paths: &Paths, store: Option<&Store>) -> Result<Option<AuditReport>, SealError> {
    let Some(mut walk) = begin_audit(paths, store)? else { return Ok(None) };
    if let Some(store) = store {
        store.hashes_after(0, |seq, hash| {
            walk.push(seq, hash);
            walk.failure.is_none()
        })?;
    }
    walk.finish().map(Some)
}

/// A check of a store against its checkpoints that is fed the rows' hashes
/// by a walk the caller makes anyway (`gate verify`'s): push every row's
/// `(seq, hash)` in seq order, then finish.
pub struct AuditWalk {
    audit: StoreAudit,
    failure: Option<SealError>,
}

impl AuditWalk {
    /// The next row. After the first failure the rest are ignored.
    pub fn push(&mut self, seq: i64, hash: &str) {
        if self.failure.is_some() {
            return;
        }
        self.failure = match chain::unhex(hash) {
            Some(raw) => self.audit.push(&raw).err().map(SealError::from),
            None => Some(SealError::BadHash { seq }),
        };
    }

    /// Every row pushed: the report, or the first failure.
    pub fn finish(self) -> Result<AuditReport, SealError> {
        match self.failure {
            Some(e) => Err(e),
            None => Ok(self.audit.finish()?),
        }
    }
}

/// Start checking the store against every checkpoint of it. `Ok(None)`:
/// no checkpoint has been written yet, so there is nothing to check.
pub fn begin_audit(paths: &Paths, store: Option<&Store>) -> Result<Option<AuditWalk>, SealError> {
    let log_path = paths.checkpoints();
    match std::fs::symlink_metadata(&log_path) {
        Ok(m) if m.file_type().is_file() => {}
        Ok(_) => return Err(SealError::LogNotAFile { log: log_path }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // No log: fine until gate has had a reason to write one.
            let ended = match store {
                Some(s) => s.has_session_end_or_prune()?,
                None => false,
            };
            if ended && paths.signing_key().exists() {
                return Err(SealError::LogGone { log: log_path });
            }
            return Ok(None);
        }
        Err(e) => return Err(StoreError::Io { path: log_path, source: e }.into()),
    }
    let key = match keys::load(&paths.signing_key()) {
        Ok(k) => k,
        Err(KeyError::Missing { .. }) => {
            return Err(SealError::KeyGone { key: paths.signing_key(), log: log_path });
        }
        Err(e) => return Err(e.into()),
    };
    let log = CheckpointLog::load(&log_path, &key.public_key())?;
    let Some(last) = log.last().cloned() else { return Ok(None) };
    let Some(store) = store else {
        return Err(SealError::StoreGone { db: paths.db(), log: log_path, size: last.size });
    };
    let id = store.first_hash()?;
    Ok(Some(AuditWalk { audit: log.audit(id.as_deref())?, failure: None }))
}
