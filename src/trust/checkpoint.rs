//! Signed checkpoints: a store id, a size and the Merkle root of that many
//! receipt rows, signed with gate's Ed25519 key. The signature covers this
//! exact text (the signed body), each value on its own line:
//!
//! ```text
//! gate.checkpoint.v1
//! store <64 hex: the hash of the store's first row>
//! size <decimal row count>
//! root <64 hex: RFC 6962 root over the first `size` row hashes>
//! time <decimal milliseconds since the Unix epoch>
//! ```
//!
//! [`CheckpointLog`] is the append-only JSONL file of checkpoints kept apart
//! from the database, one `{"checkpoint":{...},"frontier":"..."}` per line.
//! The frontier is only a cache for the writer: it is used when its size and
//! root equal the signed ones, and never consulted by [`StoreAudit`], which
//! recomputes every root from the rows.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::keys::{PublicKey, SigningKey};
use super::merkle::{leaf_hash, Frontier, Hash};
use super::{from_hex, to_hex};

/// The first line of the signed body; a later format gets a new one.
pub const SIGNED_BODY_TAG: &str = "gate.checkpoint.v1";

/// A signed statement that store `store_id` had `size` rows whose Merkle
/// root is `root`. Hex fields are lowercase; `key` is the signer's public
/// key text (`ed25519:<hex>`), `signature` 128 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub store_id: String,
    pub size: u64,
    pub root: String,
    pub time_ms: i64,
    pub key: String,
    pub signature: String,
}

impl Checkpoint {
    /// Sign a checkpoint for `store_id` (64 lowercase hex digits).
    pub fn sign(
        key: &SigningKey,
        store_id: &str,
        size: u64,
        root: &Hash,
        time_ms: i64,
    ) -> Result<Checkpoint, CheckpointError> {
        if from_hex::<32>(store_id).is_none() {
            return Err(CheckpointError::Malformed { field: "store_id", reason: "expected 64 lowercase hex digits" });
        }
        let mut checkpoint = Checkpoint {
            store_id: store_id.to_string(),
            size,
            root: to_hex(root),
            time_ms,
            key: key.public_key().to_text(),
            signature: String::new(),
        };
        checkpoint.signature = to_hex(&key.sign(checkpoint.signed_body().as_bytes()));
        Ok(checkpoint)
    }

    /// The exact text the signature covers (see the module docs).
    pub fn signed_body(&self) -> String {
        format!(
            "{SIGNED_BODY_TAG}\nstore {}\nsize {}\nroot {}\ntime {}\n",
            self.store_id, self.size, self.root, self.time_ms
        )
    }

    /// The root as bytes; an error when it is not 64 lowercase hex digits.
    pub fn root_hash(&self) -> Result<Hash, CheckpointError> {
        from_hex::<32>(&self.root)
            .ok_or(CheckpointError::Malformed { field: "root", reason: "expected 64 lowercase hex digits" })
    }

    /// Check every field's form and the signature. With `pinned`, the
    /// checkpoint must also be signed by that key. Returns the signer's key.
    pub fn verify(&self, pinned: Option<&PublicKey>) -> Result<PublicKey, CheckpointError> {
        if from_hex::<32>(&self.store_id).is_none() {
            return Err(CheckpointError::Malformed { field: "store_id", reason: "expected 64 lowercase hex digits" });
        }
        self.root_hash()?;
        let key = PublicKey::parse(&self.key)
            .map_err(|_| CheckpointError::Malformed { field: "key", reason: "expected ed25519:<64 hex digits>" })?;
        if let Some(pinned) = pinned {
            if *pinned != key {
                return Err(CheckpointError::WrongKey { pinned: pinned.key_id(), found: key.key_id() });
            }
        }
        let signature = from_hex::<64>(&self.signature)
            .ok_or(CheckpointError::Malformed { field: "signature", reason: "expected 128 lowercase hex digits" })?;
        if !key.verify(self.signed_body().as_bytes(), &signature) {
            return Err(CheckpointError::BadSignature { key_id: key.key_id() });
        }
        Ok(key)
    }
}

/// Why one checkpoint does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint field {field} is malformed: {reason}")]
    Malformed { field: &'static str, reason: &'static str },
    #[error("checkpoint is signed by key {found}, not by the expected key {pinned}")]
    WrongKey { pinned: String, found: String },
    #[error("checkpoint signature does not verify with its key {key_id}: the checkpoint was altered")]
    BadSignature { key_id: String },
}

/// One line of the checkpoint log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedCheckpoint {
    pub checkpoint: Checkpoint,
    /// The writer's cache: the Merkle frontier at this checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontier: Option<Frontier>,
}

/// The append-only file of checkpoints, every complete line verified
/// against one key when loaded.
#[derive(Debug)]
pub struct CheckpointLog {
    path: PathBuf,
    key: PublicKey,
    entries: Vec<LoggedCheckpoint>,
    torn_tail: bool,
}

impl CheckpointLog {
    /// Read the log at `path` (a missing file is an empty log). Every
    /// complete line must parse and be signed by `key`; a last line with no
    /// newline (a write cut short) is ignored and reported by
    /// [`CheckpointLog::torn_tail`].
    pub fn load(path: &Path, key: &PublicKey) -> Result<CheckpointLog, CheckpointLogError> {
        let mut log = CheckpointLog { path: path.to_path_buf(), key: *key, entries: Vec::new(), torn_tail: false };
        let bytes = match read_no_follow(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(log),
            Err(source) => return Err(CheckpointLogError::Io { path: path.to_path_buf(), source }),
        };
        let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        // The piece after the last newline: empty, a torn write, or a whole
        // checkpoint whose newline was taken off (which must not hide it).
        let tail = lines.pop().unwrap_or_default();
        if serde_json::from_slice::<LoggedCheckpoint>(tail).is_ok() {
            lines.push(tail);
        } else {
            log.torn_tail = !tail.is_empty();
        }
        for (i, line) in lines.into_iter().enumerate() {
            let at = |reason: String| CheckpointLogError::Line { path: path.to_path_buf(), line: i + 1, reason };
            let entry: LoggedCheckpoint =
                serde_json::from_slice(line).map_err(|e| at(format!("not a checkpoint ({e})")))?;
            entry.checkpoint.verify(Some(key)).map_err(|e| match e {
                CheckpointError::WrongKey { .. } => at(format!(
                    "{e}; if you replaced the signing key on purpose, move this file away to start a new log"
                )),
                other => at(other.to_string()),
            })?;
            log.entries.push(entry);
        }
        Ok(log)
    }

    /// Read only the newest checkpoint (the last complete line, verified),
    /// which is all a writer needs to extend the log: the cost stays the
    /// same however long the log grows. `gate verify` reads it whole.
    pub fn load_last(path: &Path, key: &PublicKey) -> Result<CheckpointLog, CheckpointLogError> {
        use std::io::{Seek, SeekFrom};
        let mut log = CheckpointLog { path: path.to_path_buf(), key: *key, entries: Vec::new(), torn_tail: false };
        let mut file = match OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(log),
            Err(source) => return Err(CheckpointLogError::Io { path: path.to_path_buf(), source }),
        };
        let io = |source| CheckpointLogError::Io { path: path.to_path_buf(), source };
        let len = file.metadata().map_err(io)?.len();
        // A checkpoint line with its frontier is well under 8 KiB.
        let start = len.saturating_sub(64 * 1024);
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        let tail = lines.pop().unwrap_or_default();
        let last = if !(start > 0 && lines.is_empty()) && serde_json::from_slice::<LoggedCheckpoint>(tail).is_ok() {
            Some(tail)
        } else {
            log.torn_tail = !tail.is_empty();
            let candidate = lines.pop();
            // When reading from the middle, the first piece is a cut line.
            if start > 0 && lines.is_empty() {
                return CheckpointLog::load(path, key);
            }
            candidate
        };
        if let Some(line) = last.filter(|l| !l.is_empty()) {
            let at = |reason: String| CheckpointLogError::Line { path: path.to_path_buf(), line: 0, reason };
            let entry: LoggedCheckpoint =
                serde_json::from_slice(line).map_err(|e| at(format!("the last line is not a checkpoint ({e})")))?;
            entry.checkpoint.verify(Some(key)).map_err(|e| at(e.to_string()))?;
            log.entries.push(entry);
        }
        Ok(log)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every verified checkpoint, oldest first.
    pub fn all(&self) -> impl Iterator<Item = &Checkpoint> {
        self.entries.iter().map(|e| &e.checkpoint)
    }

    /// The newest checkpoint, whatever its store.
    pub fn last(&self) -> Option<&Checkpoint> {
        self.entries.last().map(|e| &e.checkpoint)
    }

    /// The newest checkpoint for `store_id`.
    pub fn last_for(&self, store_id: &str) -> Option<&Checkpoint> {
        self.entries.iter().map(|e| &e.checkpoint).rfind(|c| c.store_id == store_id)
    }

    /// Whether the file ended in a line cut short (ignored when loading,
    /// cut off by the next append).
    pub fn torn_tail(&self) -> bool {
        self.torn_tail
    }

    /// Where a writer can carry on from without rereading rows: the newest
    /// checkpoint for `store_id` with its cached frontier, when that
    /// frontier's size and root are the signed ones. `None` means start from
    /// an empty frontier and read every row.
    pub fn resume_for(&self, store_id: &str) -> Option<(&Checkpoint, Frontier)> {
        let entry = self.entries.iter().rfind(|e| e.checkpoint.store_id == store_id)?;
        let frontier = entry.frontier.as_ref()?;
        let root = entry.checkpoint.root_hash().ok()?;
        (frontier.size() == entry.checkpoint.size && frontier.root() == root)
            .then(|| (&entry.checkpoint, frontier.clone()))
    }

    /// Append `checkpoint` (and the frontier at it, as a cache) with one
    /// write and an fsync, under an exclusive lock on the file. Refused when
    /// it is not signed by this log's key, when it is for another store than
    /// the newest line (the receipt was replaced: that must be looked at,
    /// not recorded over), or when it is shorter than, or disagrees with,
    /// the newest checkpoint of its store.
    pub fn append(&mut self, checkpoint: Checkpoint, frontier: Option<&Frontier>) -> Result<(), CheckpointLogError> {
        let refuse = |reason: String| CheckpointLogError::Refused { path: self.path.clone(), reason };
        checkpoint.verify(Some(&self.key)).map_err(|e| refuse(e.to_string()))?;
        if let Some(last) = self.last() {
            if last.store_id != checkpoint.store_id {
                return Err(refuse(format!(
                    "its store {} is not the checkpointed store {} (was the receipt deleted or replaced? `gate verify` says more); if you reset the receipt on purpose, move this file away",
                    short(&checkpoint.store_id),
                    short(&last.store_id)
                )));
            }
            if checkpoint.size < last.size || (checkpoint.size == last.size && checkpoint.root != last.root) {
                return Err(refuse(format!(
                    "it says {} rows with root {}, which does not extend the checkpoint of {} rows with root {}",
                    checkpoint.size,
                    short(&checkpoint.root),
                    last.size,
                    short(&last.root)
                )));
            }
        }
        let entry = LoggedCheckpoint { checkpoint, frontier: frontier.cloned() };
        let mut line = serde_json::to_string(&entry).map_err(|e| refuse(e.to_string()))?;
        line.push('\n');
        append_line(&self.path, line.as_bytes())
            .map_err(|source| CheckpointLogError::Io { path: self.path.clone(), source })?;
        self.torn_tail = false;
        self.entries.push(entry);
        Ok(())
    }

    /// Start checking a receipt against this log. `store_id` is the hash
    /// of the store's first row (`None` for an empty store). The store is
    /// judged against the newest checkpoint's store: another id means the
    /// receipt was replaced. Push every row hash in seq order, then finish.
    pub fn audit(&self, store_id: Option<&str>) -> Result<StoreAudit, AuditError> {
        let Some((last_index, last)) = self.entries.iter().map(|e| &e.checkpoint).enumerate().next_back() else {
            return Ok(StoreAudit {
                path: self.path.clone(),
                expected: Vec::new(),
                next: 0,
                frontier: Frontier::new(),
            });
        };
        if store_id != Some(last.store_id.as_str()) {
            return Err(AuditError::StoreReplaced {
                path: self.path.clone(),
                line: last_index + 1,
                checkpointed: last.store_id.clone(),
                size: last.size,
                found: store_id.map(str::to_string),
            });
        }
        let mut expected: Vec<Expected> = Vec::new();
        for (i, c) in self.entries.iter().map(|e| &e.checkpoint).enumerate() {
            if c.store_id == last.store_id {
                // Verified at load, so the root parses.
                let root = c.root_hash().map_err(|e| AuditError::Unreadable {
                    path: self.path.clone(),
                    line: i + 1,
                    reason: e.to_string(),
                })?;
                expected.push(Expected { line: i + 1, size: c.size, root });
            }
        }
        expected.sort_by_key(|e| e.size);
        let mut audit = StoreAudit { path: self.path.clone(), expected, next: 0, frontier: Frontier::new() };
        audit.check_reached()?;
        Ok(audit)
    }
}

/// A checkpoint a store audit must meet.
#[derive(Debug)]
struct Expected {
    line: usize,
    size: u64,
    root: Hash,
}

/// A running check of a store's rows against every checkpoint of its
/// store id: each checkpoint's root must be the root of the store's first
/// `size` rows, and the store must hold at least as many rows as the
/// largest. Constant memory beyond the list of checkpoints.
#[derive(Debug)]
pub struct StoreAudit {
    path: PathBuf,
    expected: Vec<Expected>,
    next: usize,
    frontier: Frontier,
}

impl StoreAudit {
    /// The next row's hash (the 32 raw bytes of its hex `hash`). Fails at
    /// the first checkpoint whose root these rows do not reproduce.
    pub fn push(&mut self, row_hash: &Hash) -> Result<(), AuditError> {
        self.frontier.push(leaf_hash(row_hash));
        self.check_reached()
    }

    fn check_reached(&mut self) -> Result<(), AuditError> {
        while let Some(e) = self.expected.get(self.next).filter(|e| e.size == self.frontier.size()) {
            if e.root != self.frontier.root() {
                return Err(AuditError::RootMismatch { path: self.path.clone(), line: e.line, size: e.size });
            }
            self.next += 1;
        }
        Ok(())
    }

    /// All rows pushed: fail when a checkpoint is longer than the store.
    pub fn finish(self) -> Result<AuditReport, AuditError> {
        if let Some(e) = self.expected.get(self.next) {
            return Err(AuditError::StoreShorter {
                path: self.path,
                line: e.line,
                checkpointed: e.size,
                rows: self.frontier.size(),
            });
        }
        Ok(AuditReport {
            rows: self.frontier.size(),
            root: to_hex(&self.frontier.root()),
            checkpoints_checked: self.expected.len(),
            largest_checkpoint: self.expected.last().map(|e| e.size),
        })
    }
}

/// What a passing audit checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Rows pushed.
    pub rows: u64,
    /// Their Merkle root, hex.
    pub root: String,
    /// Checkpoints of this store matched against the rows.
    pub checkpoints_checked: usize,
    /// The size of the largest one (`None`: no checkpoint yet).
    pub largest_checkpoint: Option<u64>,
}

/// Why a store does not match its checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error(
        "{}:{line}: the receipt was replaced: the last checkpoint is for store {} with {size} rows, but the receipt {}; if you reset the receipt on purpose, move {} away",
        path.display(),
        short(checkpointed),
        found.as_deref().map_or("is empty".to_string(), |f| format!("is store {}", short(f))),
        path.display()
    )]
    StoreReplaced { path: PathBuf, line: usize, checkpointed: String, size: u64, found: Option<String> },
    #[error(
        "{}:{line}: the receipt has {rows} rows but was checkpointed at {checkpointed}: rows were removed from its end",
        path.display()
    )]
    StoreShorter { path: PathBuf, line: usize, checkpointed: u64, rows: u64 },
    #[error(
        "{}:{line}: the receipt's first {size} rows do not have the checkpointed Merkle root: a row up to seq {size} was edited, removed or reordered",
        path.display()
    )]
    RootMismatch { path: PathBuf, line: usize, size: u64 },
    #[error("{}:{line}: {reason}", path.display())]
    Unreadable { path: PathBuf, line: usize, reason: String },
}

/// Why the checkpoint log could not be read or appended to.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointLogError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}: {reason}", path.display())]
    Line { path: PathBuf, line: usize, reason: String },
    #[error("{}: not appending a checkpoint: {reason}", path.display())]
    Refused { path: PathBuf, reason: String },
}

/// The first 12 hex digits of a hash, for messages.
fn short(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}

/// Read a whole file, refusing to follow a symlink at `path`.
pub(crate) fn read_no_follow(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Append one complete line to a JSONL file (created with mode 0600):
/// under an exclusive `flock`, cut off a torn last line left by a crash so
/// the new line starts on a line of its own, write the line in one call,
/// and fsync.
pub(crate) fn append_line(path: &Path, line: &[u8]) -> std::io::Result<()> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let _lock = Flock::exclusive(&file)?;
    let mut file = &file;
    let len = file.metadata()?.len();
    let created = len == 0;
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            let kept = complete_prefix_len(file, len)?;
            let mut tail = Vec::new();
            file.seek(SeekFrom::Start(kept))?;
            file.read_to_end(&mut tail)?;
            if serde_json::from_slice::<LoggedCheckpoint>(&tail).is_ok() {
                // A whole checkpoint without its newline: keep it.
                file.write_all(b"\n")?;
            } else {
                file.set_len(kept)?;
            }
        }
    }
    file.write_all(line)?;
    file.sync_data()?;
    if created {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
    }
    Ok(())
}

/// The length of the file up to and including its last newline.
fn complete_prefix_len(mut file: &File, len: u64) -> std::io::Result<u64> {
    let mut bytes = Vec::with_capacity(len as usize);
    file.seek(SeekFrom::Start(0))?;
    file.read_to_end(&mut bytes)?;
    Ok(bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i as u64 + 1))
}

/// An exclusive `flock` held until dropped.
struct Flock<'a>(&'a File);

impl<'a> Flock<'a> {
    fn exclusive(file: &'a File) -> std::io::Result<Flock<'a>> {
        // SAFETY: flock on a file descriptor we own; it stays open while
        // the guard borrows the file.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Flock(file))
    }
}

impl Drop for Flock<'_> {
    fn drop(&mut self) {
        // SAFETY: as above; unlocking an fd we locked.
        unsafe {
            libc::flock(self.0.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::merkle::root_of;

    fn key() -> SigningKey {
        SigningKey::from_seed(&[7; 32])
    }

    /// Row hashes 1..=n, as the receipt would have them.
    fn rows(n: u8) -> Vec<Hash> {
        (1..=n).map(|i| [i; 32]).collect()
    }

    fn root_over(rows: &[Hash]) -> Hash {
        root_of(&rows.iter().map(|r| leaf_hash(r)).collect::<Vec<_>>())
    }

    fn store_id(rows: &[Hash]) -> String {
        to_hex(&rows[0])
    }

    fn signed(rows: &[Hash], size: usize) -> Checkpoint {
        Checkpoint::sign(&key(), &store_id(rows), size as u64, &root_over(&rows[..size]), 1_700_000_000_000).unwrap()
    }

    #[test]
    fn the_signed_body_is_the_documented_text() {
        let c = Checkpoint::sign(&key(), &"ab".repeat(32), 3, &[0xcd; 32], 42).unwrap();
        assert_eq!(
            c.signed_body(),
            format!("gate.checkpoint.v1\nstore {}\nsize 3\nroot {}\ntime 42\n", "ab".repeat(32), "cd".repeat(32))
        );
        assert_eq!(c.verify(None).unwrap(), key().public_key());
        assert_eq!(c.verify(Some(&key().public_key())).unwrap(), key().public_key());
        assert!(Checkpoint::sign(&key(), "not hex", 3, &[0; 32], 42).is_err());
    }

    #[test]
    fn tampering_with_any_field_fails_verify() {
        let good = Checkpoint::sign(&key(), &"ab".repeat(32), 3, &[0xcd; 32], 42).unwrap();
        let other_key = SigningKey::from_seed(&[8; 32]);
        let flip_last = |s: &str| {
            let mut s = s.to_string();
            let last = s.pop().unwrap();
            s.push(if last == '0' { '1' } else { '0' });
            s
        };
        type Tamper = fn(&mut Checkpoint, &dyn Fn(&str) -> String, &SigningKey);
        type Expect = fn(&CheckpointError) -> bool;
        let cases: [(&str, Tamper, Expect); 11] = [
            ("store id", |c, f, _| c.store_id = f(&c.store_id), |e| matches!(e, CheckpointError::BadSignature { .. })),
            ("size", |c, _, _| c.size += 1, |e| matches!(e, CheckpointError::BadSignature { .. })),
            ("root", |c, f, _| c.root = f(&c.root), |e| matches!(e, CheckpointError::BadSignature { .. })),
            ("time", |c, _, _| c.time_ms -= 1, |e| matches!(e, CheckpointError::BadSignature { .. })),
            (
                "signature",
                |c, f, _| c.signature = f(&c.signature),
                |e| matches!(e, CheckpointError::BadSignature { .. }),
            ),
            (
                "key swapped",
                |c, _, k| c.key = k.public_key().to_text(),
                |e| matches!(e, CheckpointError::WrongKey { .. }),
            ),
            (
                "re-signed by another key",
                |c, _, k| *c = Checkpoint::sign(k, &c.store_id, c.size, &c.root_hash().unwrap(), c.time_ms).unwrap(),
                |e| matches!(e, CheckpointError::WrongKey { .. }),
            ),
            (
                "store id upper case",
                |c, _, _| c.store_id = c.store_id.to_uppercase(),
                |e| matches!(e, CheckpointError::Malformed { field: "store_id", .. }),
            ),
            (
                "root truncated",
                |c, _, _| c.root.truncate(10),
                |e| matches!(e, CheckpointError::Malformed { field: "root", .. }),
            ),
            (
                "key garbage",
                |c, _, _| c.key = "ed25519:zz".into(),
                |e| matches!(e, CheckpointError::Malformed { field: "key", .. }),
            ),
            (
                "signature short",
                |c, _, _| c.signature.truncate(126),
                |e| matches!(e, CheckpointError::Malformed { field: "signature", .. }),
            ),
        ];
        let pinned = key().public_key();
        for (name, tamper, expected) in cases {
            let mut c = good.clone();
            tamper(&mut c, &flip_last, &other_key);
            let err = c.verify(Some(&pinned)).unwrap_err();
            assert!(expected(&err), "{name}: got {err}");
            if name != "re-signed by another key" {
                assert!(c.verify(None).is_err(), "{name}: fails with no key pinned too");
            }
        }
    }

    #[test]
    fn checkpoints_round_trip_through_json() {
        let c = Checkpoint::sign(&key(), &"01".repeat(32), 9, &[2; 32], 5).unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Checkpoint>(&json).unwrap(), c);
        let extra = json.replacen('{', "{\"extra\":1,", 1);
        assert!(serde_json::from_str::<Checkpoint>(&extra).is_err(), "unknown fields are refused");
    }

    #[test]
    fn the_log_appends_reloads_and_resumes_from_its_frontier() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoints.jsonl");
        let rows = rows(9);
        let mut log = CheckpointLog::load(&path, &key().public_key()).unwrap();
        assert!(log.last().is_none());
        let mut frontier = Frontier::new();
        for (i, r) in rows.iter().enumerate() {
            frontier.push(leaf_hash(r));
            if i == 3 || i == 8 {
                log.append(signed(&rows, i + 1), Some(&frontier)).unwrap();
            }
        }
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let log = CheckpointLog::load(&path, &key().public_key()).unwrap();
        assert_eq!(log.all().map(|c| c.size).collect::<Vec<_>>(), [4, 9]);
        assert_eq!(log.last_for(&store_id(&rows)).unwrap().size, 9);
        assert!(log.last_for(&"ff".repeat(32)).is_none());
        let (at, resumed) = log.resume_for(&store_id(&rows)).unwrap();
        assert_eq!((at.size, resumed), (9, frontier));
    }

    #[test]
    fn a_writer_reads_only_the_newest_checkpoint_however_long_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoints.jsonl");
        let rows = rows(200);
        let mut log = CheckpointLog::load(&path, &key().public_key()).unwrap();
        let mut frontier = Frontier::new();
        for (i, r) in rows.iter().enumerate() {
            frontier.push(leaf_hash(r));
            log.append(signed(&rows, i + 1), Some(&frontier)).unwrap();
        }
        assert!(std::fs::metadata(&path).unwrap().len() > 64 * 1024, "the tail read starts mid-file");
        let last = CheckpointLog::load_last(&path, &key().public_key()).unwrap();
        assert_eq!(last.all().map(|c| c.size).collect::<Vec<_>>(), [200]);
        assert_eq!(last.resume_for(&store_id(&rows)).unwrap().1, frontier);
        // A newest line whose newline was taken off still counts.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.trim_end()).unwrap();
        let last = CheckpointLog::load_last(&path, &key().public_key()).unwrap();
        assert_eq!(last.last().unwrap().size, 200);
        assert_eq!(CheckpointLog::load(&path, &key().public_key()).unwrap().last().unwrap().size, 200);
        // A line cut short by a crash is passed over.
        std::fs::write(&path, format!("{text}{{\"checkpoint\":{{\"sto")).unwrap();
        let last = CheckpointLog::load_last(&path, &key().public_key()).unwrap();
        assert!(last.torn_tail());
        assert_eq!(last.last().unwrap().size, 200);
    }

    #[test]
    fn a_wrong_frontier_cache_is_not_resumed_from() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoints.jsonl");
        let rows = rows(5);
        let mut log = CheckpointLog::load(&path, &key().public_key()).unwrap();
        let mut wrong = Frontier::new();
        for r in rows.iter().rev() {
            wrong.push(leaf_hash(r));
        }
        log.append(signed(&rows, 5), Some(&wrong)).unwrap();
        assert!(log.resume_for(&store_id(&rows)).is_none());
    }

    #[test]
    fn a_torn_last_line_is_ignored_then_cut_off_by_the_next_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoints.jsonl");
        let rows = rows(6);
        let mut log = CheckpointLog::load(&path, &key().public_key()).unwrap();
        log.append(signed(&rows, 2), None).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"checkpoint\":{\"store_id\":\"ab").unwrap();
        let mut log = CheckpointLog::load(&path, &key().public_key()).unwrap();
        assert!(log.torn_tail());
        assert_eq!(log.all().count(), 1);
        log.append(signed(&rows, 6), None).unwrap();
        let log = CheckpointLog::load(&path, &key().public_key()).unwrap();
        assert!(!log.torn_tail());
        assert_eq!(log.all().map(|c| c.size).collect::<Vec<_>>(), [2, 6]);
    }

    #[test]
    fn every_complete_line_must_verify() {
        let rows = rows(3);
        let good = serde_json::to_string(&LoggedCheckpoint { checkpoint: signed(&rows, 3), frontier: None }).unwrap();
        let mut other = signed(&rows, 3);
        other = Checkpoint::sign(&SigningKey::from_seed(&[1; 32]), &other.store_id, 3, &other.root_hash().unwrap(), 1)
            .unwrap();
        let foreign = serde_json::to_string(&LoggedCheckpoint { checkpoint: other, frontier: None }).unwrap();
        let cases = [
            (
                "edited size",
                format!("{good}\n{}\n", good.replace("\"size\":3", "\"size\":30")),
                "signature does not verify",
            ),
            ("other key", format!("{good}\n{foreign}\n"), "move this file away"),
            ("blank line", format!("{good}\n\n"), "not a checkpoint"),
            ("garbage", format!("garbage\n{good}\n"), "not a checkpoint"),
        ];
        for (name, text, says) in cases {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("checkpoints.jsonl");
            std::fs::write(&path, text).unwrap();
            let err = CheckpointLog::load(&path, &key().public_key()).unwrap_err().to_string();
            assert!(err.starts_with(&path.display().to_string()), "{name}: names the file: {err}");
            assert!(err.contains(says), "{name}: {err}");
        }
    }

    #[test]
    fn append_refuses_a_replaced_store_or_a_shrinking_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoints.jsonl");
        let rows = rows(5);
        let mut log = CheckpointLog::load(&path, &key().public_key()).unwrap();
        log.append(signed(&rows, 4), None).unwrap();
        let other_store: Vec<Hash> = (10..13).map(|i| [i; 32]).collect();
        let foreign =
            Checkpoint::sign(&SigningKey::from_seed(&[1; 32]), &store_id(&rows), 5, &root_over(&rows), 1).unwrap();
        let mut forked = signed(&rows, 4);
        forked = Checkpoint::sign(&key(), &forked.store_id, 4, &[0; 32], 1).unwrap();
        let cases = [
            ("replaced store", signed(&other_store, 3), "move this file away"),
            ("shrinks", signed(&rows, 3), "does not extend"),
            ("forks", forked, "does not extend"),
            ("other key", foreign, "not by the expected key"),
        ];
        for (name, c, says) in cases {
            let err = log.append(c, None).unwrap_err().to_string();
            assert!(err.contains(says), "{name}: {err}");
        }
        log.append(signed(&rows, 5), None).unwrap();
        assert_eq!(CheckpointLog::load(&path, &key().public_key()).unwrap().all().count(), 2);
    }

    #[test]
    fn audits_catch_a_replaced_shortened_or_edited_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoints.jsonl");
        let rows = rows(8);
        let mut log = CheckpointLog::load(&path, &key().public_key()).unwrap();
        log.append(signed(&rows, 3), None).unwrap();
        log.append(signed(&rows, 6), None).unwrap();
        let id = store_id(&rows);

        let audit = |store: Option<&str>, pushed: &[Hash]| -> Result<AuditReport, AuditError> {
            let mut a = log.audit(store)?;
            for r in pushed {
                a.push(r)?;
            }
            a.finish()
        };
        let report = audit(Some(&id), &rows).unwrap();
        assert_eq!((report.rows, report.checkpoints_checked, report.largest_checkpoint), (8, 2, Some(6)));
        audit(Some(&id), &rows[..6]).unwrap();

        let mut edited = rows.clone();
        edited[4] = [0xee; 32];
        let mut swapped = rows.clone();
        swapped.swap(1, 2);
        let fresh: Vec<Hash> = (20..30).map(|i| [i; 32]).collect();
        type Expect = fn(&AuditError) -> bool;
        let cases: [(&str, Option<&str>, Vec<Hash>, Expect); 5] = [
            ("shorter", Some(&id), rows[..5].to_vec(), |e| {
                matches!(e, AuditError::StoreShorter { checkpointed: 6, rows: 5, .. })
            }),
            ("edited after first checkpoint", Some(&id), edited, |e| {
                matches!(e, AuditError::RootMismatch { size: 6, .. })
            }),
            ("reordered", Some(&id), swapped, |e| matches!(e, AuditError::RootMismatch { size: 3, line: 1, .. })),
            ("replaced", Some(&to_hex(&fresh[0])), fresh, |e| {
                matches!(e, AuditError::StoreReplaced { found: Some(_), .. })
            }),
            ("emptied", None, Vec::new(), |e| matches!(e, AuditError::StoreReplaced { found: None, .. })),
        ];
        for (name, store, pushed, expected) in cases {
            let err = audit(store, &pushed).unwrap_err();
            assert!(expected(&err), "{name}: got {err}");
            assert!(err.to_string().starts_with(&path.display().to_string()), "{name}: names the file: {err}");
        }

        let empty = CheckpointLog::load(&dir.path().join("none.jsonl"), &key().public_key()).unwrap();
        let mut a = empty.audit(Some(&id)).unwrap();
        a.push(&rows[0]).unwrap();
        assert_eq!(a.finish().unwrap().largest_checkpoint, None);
    }
}
