//! Bundle files: receipt records and the signed checkpoint over exactly
//! those records, in one JSONL file that can be checked anywhere.
//!
//! ```text
//! {"bundle":"gate.bundle/1"}                      line 1: the header
//! {"seq":1,"prev_hash":"000…0","hash":"…",…}      one receipt record per line,
//! {"seq":2,"prev_hash":"<hash of seq 1>",…}       seq 1, 2, 3… with no gap
//! {"checkpoint":{"store_id":…,"size":…,…}}        last line: the signed checkpoint
//! ```
//!
//! The checkpoint's store id is the first record's hash, its size the
//! number of records, its root the RFC 6962 root over the records' hashes
//! (each the 32 raw bytes of the hex `hash`). [`verify_bundle`] streams the
//! file in constant memory and fails at the first record or line that is
//! wrong, naming its line and seq. [`SeenCheckpoints`] is the verifier's
//! memory, one `{"store_id","size","root","key"}` line per bundle that
//! grew a store: a later bundle of that store must be at least as long and
//! agree on the root of that many records.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::checkpoint::{append_line, read_no_follow, Checkpoint, CheckpointError};
use super::keys::{PublicKey, SigningKey};
use super::merkle::{leaf_hash, Frontier};
use super::{from_hex, to_hex};

/// The header's `bundle` value for this format.
pub const BUNDLE_FORMAT: &str = "gate.bundle/1";

/// The `prev_hash` of the record with seq 1.
pub const GENESIS_PREV_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The longest line a bundle may hold; a longer one is refused rather than
/// read into memory.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// Recomputes a record's hash (lowercase hex) from its fields, or says why
/// it cannot.
pub type RecordHasher<'a> = &'a dyn Fn(&Map<String, Value>) -> Result<String, String>;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    bundle: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointLine {
    checkpoint: Checkpoint,
}

/// The chain rules every record must follow, shared by the writer (which
/// refuses to sign a broken chain) and the verifier.
struct Chain<'a> {
    record_hash: RecordHasher<'a>,
    next_seq: u64,
    prev_hash: String,
    frontier: Frontier,
    store_id: Option<String>,
}

impl<'a> Chain<'a> {
    fn new(record_hash: RecordHasher<'a>) -> Chain<'a> {
        Chain {
            record_hash,
            next_seq: 1,
            prev_hash: GENESIS_PREV_HASH.to_string(),
            frontier: Frontier::new(),
            store_id: None,
        }
    }

    /// Check one record and add its hash to the tree.
    fn accept(&mut self, line: usize, record: &Map<String, Value>) -> Result<(), BundleError> {
        let malformed = |reason: &str| BundleError::Malformed { line, reason: reason.to_string() };
        let seq =
            record.get("seq").and_then(Value::as_u64).ok_or_else(|| malformed("a record needs an integer \"seq\""))?;
        if seq != self.next_seq {
            return Err(BundleError::Sequence { line, seq, expected: self.next_seq });
        }
        let text = |field: &str| record.get(field).and_then(Value::as_str);
        let hash = text("hash").ok_or_else(|| malformed("a record needs a string \"hash\""))?;
        let hash_bytes = from_hex::<32>(hash).ok_or_else(|| malformed("\"hash\" is not 64 lowercase hex digits"))?;
        let prev_hash = text("prev_hash").ok_or_else(|| malformed("a record needs a string \"prev_hash\""))?;
        if prev_hash != self.prev_hash {
            return Err(BundleError::Chain { line, seq });
        }
        let recomputed = (self.record_hash)(record).map_err(|reason| BundleError::Unhashable { line, seq, reason })?;
        if recomputed != hash {
            return Err(BundleError::Edited { line, seq });
        }
        self.frontier.push(leaf_hash(&hash_bytes));
        self.prev_hash = hash.to_string();
        self.next_seq += 1;
        if self.store_id.is_none() {
            self.store_id = Some(hash.to_string());
        }
        Ok(())
    }
}

/// Writes a bundle as records arrive: the header now, each record as it is
/// pushed (after checking it continues the chain and its hash), and the
/// signed checkpoint at [`BundleWriter::finish`]. Memory stays constant.
pub struct BundleWriter<'a, W: Write> {
    out: W,
    chain: Chain<'a>,
    line: usize,
}

/// A finished bundle: the writer's output, the checkpoint it ends with and
/// the frontier at it (for the checkpoint log's cache).
#[derive(Debug)]
pub struct BundleWritten<W> {
    pub out: W,
    pub checkpoint: Checkpoint,
    pub frontier: Frontier,
}

impl<'a, W: Write> BundleWriter<'a, W> {
    /// Start a bundle on `out`; writes the header line.
    pub fn new(mut out: W, record_hash: RecordHasher<'a>) -> Result<BundleWriter<'a, W>, BundleError> {
        write_json_line(&mut out, &Header { bundle: BUNDLE_FORMAT.to_string() })?;
        Ok(BundleWriter { out, chain: Chain::new(record_hash), line: 1 })
    }

    /// Append the next record (seq 1, 2, …). A record that does not follow
    /// the previous one, or whose hash is not its content's, is refused:
    /// gate never signs a broken chain.
    pub fn push(&mut self, record: &Map<String, Value>) -> Result<(), BundleError> {
        self.chain.accept(self.line + 1, record)?;
        self.line += 1;
        write_json_line(&mut self.out, record)
    }

    /// Sign the checkpoint over every pushed record and write it as the
    /// last line. A bundle needs at least one record (its store id).
    pub fn finish(mut self, key: &SigningKey, time_ms: i64) -> Result<BundleWritten<W>, BundleError> {
        let Some(store_id) = self.chain.store_id.as_deref() else {
            return Err(BundleError::Empty);
        };
        let frontier = self.chain.frontier;
        let checkpoint = Checkpoint::sign(key, store_id, frontier.size(), &frontier.root(), time_ms)
            .map_err(|source| BundleError::Checkpoint { line: self.line + 1, source })?;
        write_json_line(&mut self.out, &CheckpointLine { checkpoint: checkpoint.clone() })?;
        self.out.flush()?;
        Ok(BundleWritten { out: self.out, checkpoint, frontier })
    }
}

fn write_json_line<W: Write, T: Serialize>(out: &mut W, value: &T) -> Result<(), BundleError> {
    let mut line = serde_json::to_vec(value).map_err(|e| BundleError::Io(e.into()))?;
    line.push(b'\n');
    out.write_all(&line)?;
    Ok(())
}

/// What a bundle that verified proved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleReport {
    pub store_id: String,
    /// Records in the bundle.
    pub size: u64,
    /// Their Merkle root, hex.
    pub root: String,
    /// When the checkpoint was signed (RFC 3339 in JSON, as `time`).
    #[serde(rename = "time", serialize_with = "crate::clock::rfc3339")]
    pub time_ms: i64,
    /// The signer's public key text and id.
    pub key: String,
    pub key_id: String,
    /// Whether the signer was the pinned key. When false, the signature
    /// only shows the bundle is whole as its signer made it, not who that is.
    pub key_pinned: bool,
    /// The size this verifier had already seen for the store, which the
    /// bundle was checked to extend.
    pub seen_size: Option<u64>,
}

/// Check a bundle read from `reader`, line by line. `pinned_key`, when
/// given, must be the checkpoint's signer. `seen` must hold no longer or
/// different history for the same store; on success it remembers this one.
pub fn verify_bundle(
    reader: impl BufRead,
    pinned_key: Option<PublicKey>,
    seen: &mut SeenCheckpoints,
    record_hash: RecordHasher<'_>,
) -> Result<BundleReport, BundleError> {
    let mut lines = Lines { reader, buf: Vec::new(), number: 0 };
    let Some((_, first)) = lines.next()? else {
        return Err(BundleError::Header { reason: "the file is empty".into() });
    };
    let header: Header = serde_json::from_slice(first).map_err(|_| BundleError::Header {
        reason: format!("the first line is not {{\"bundle\":\"{BUNDLE_FORMAT}\"}}"),
    })?;
    if header.bundle != BUNDLE_FORMAT {
        return Err(BundleError::Header {
            reason: format!("format {:?} is not {BUNDLE_FORMAT:?}; a newer gate may read it", header.bundle),
        });
    }

    let mut chain = Chain::new(record_hash);
    let mut earlier: Option<SeenCheckpoint> = None;
    let (checkpoint_line, checkpoint) = loop {
        let Some((line, text)) = lines.next()? else {
            return Err(BundleError::MissingCheckpoint { records: chain.frontier.size() });
        };
        let object: Map<String, Value> = serde_json::from_slice(text)
            .map_err(|e| BundleError::Malformed { line, reason: format!("not a JSON object ({e})") })?;
        // Written by gate as compact JSON in one form: anything else (a
        // repeated key that one reader takes first and another last,
        // spacing, reordered keys) is not what was signed.
        if serde_json::to_vec(&object).map_err(|e| BundleError::Io(e.into()))? != text {
            return Err(BundleError::Malformed {
                line,
                reason: "not in the canonical form gate writes (a repeated key, or edited spacing or order)".into(),
            });
        }
        if object.contains_key("checkpoint") && !object.contains_key("seq") {
            let parsed: CheckpointLine = serde_json::from_value(Value::Object(object))
                .map_err(|e| BundleError::Malformed { line, reason: format!("not a checkpoint line ({e})") })?;
            break (line, parsed.checkpoint);
        }
        chain.accept(line, &object)?;
        if chain.frontier.size() == 1 {
            earlier = chain.store_id.as_deref().and_then(|id| seen.get(id)).cloned();
        }
        if let Some(e) = earlier.as_ref().filter(|e| e.size == chain.frontier.size()) {
            if e.root != to_hex(&chain.frontier.root()) {
                return Err(BundleError::Diverged { line, seq: e.size });
            }
        }
    };
    if let Some((line, _)) = lines.next()? {
        return Err(BundleError::TrailingData { line });
    }

    let Some(store_id) = chain.store_id.clone() else {
        return Err(BundleError::Empty);
    };
    let line = checkpoint_line;
    let key = checkpoint.verify(pinned_key.as_ref()).map_err(|source| BundleError::Checkpoint { line, source })?;
    // Trust on first use: once a store was seen signed by one key, another
    // key is accepted only when pinned.
    if let Some(e) = earlier.as_ref().filter(|e| pinned_key.is_none() && e.key != checkpoint.key) {
        return Err(BundleError::KeyChanged { line, seen: e.key.clone(), found: checkpoint.key.clone() });
    }
    if checkpoint.store_id != store_id {
        return Err(BundleError::StoreMismatch { line });
    }
    let size = chain.frontier.size();
    if checkpoint.size != size {
        return Err(BundleError::SizeMismatch { line, signed: checkpoint.size, records: size });
    }
    let root = to_hex(&chain.frontier.root());
    if checkpoint.root != root {
        return Err(BundleError::RootMismatch { line });
    }
    if let Some(e) = &earlier {
        if size < e.size {
            return Err(BundleError::ShorterThanSeen { store_id, size, seen: e.size });
        }
    }
    seen.remember(SeenCheckpoint {
        store_id: store_id.clone(),
        size,
        root: root.clone(),
        key: checkpoint.key.clone(),
    })?;
    Ok(BundleReport {
        store_id,
        size,
        root,
        time_ms: checkpoint.time_ms,
        key: key.to_text(),
        key_id: key.key_id(),
        key_pinned: pinned_key.is_some(),
        seen_size: earlier.map(|e| e.size),
    })
}

/// Lines of a bundle, each at most [`MAX_LINE_BYTES`], without their `\n`.
struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    number: usize,
}

impl<R: BufRead> Lines<R> {
    /// The next line and its 1-based number.
    fn next(&mut self) -> Result<Option<(usize, &[u8])>, BundleError> {
        self.buf.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut self.reader).take(limit).read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.number += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if self.buf.len() > MAX_LINE_BYTES {
            return Err(BundleError::LineTooLong { line: self.number });
        }
        Ok(Some((self.number, &self.buf)))
    }
}

/// Why a bundle does not verify (or could not be written). Each names the
/// line of the bundle, and the record's seq where there is one.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "line {line}: this store was signed by {seen} before, and this bundle by {found}; pass --key with the writer's `gate key` if the key changed on purpose"
    )]
    KeyChanged { line: usize, seen: String, found: String },
    #[error("line 1: not a gate bundle: {reason}")]
    Header { reason: String },
    #[error("line {line}: {reason}")]
    Malformed { line: usize, reason: String },
    #[error("line {line}: longer than {MAX_LINE_BYTES} bytes; not a gate bundle")]
    LineTooLong { line: usize },
    #[error("{}", sequence_message(*line, *seq, *expected))]
    Sequence { line: usize, seq: u64, expected: u64 },
    #[error("line {line} (seq {seq}): its prev_hash is not the previous record's hash: the records before it were edited, removed or reordered")]
    Chain { line: usize, seq: u64 },
    #[error("line {line} (seq {seq}): the record was edited (its content no longer matches its hash)")]
    Edited { line: usize, seq: u64 },
    #[error("line {line} (seq {seq}): cannot recompute the record's hash: {reason}")]
    Unhashable { line: usize, seq: u64, reason: String },
    #[error("the bundle ends after {records} records without its checkpoint line: it was cut short")]
    MissingCheckpoint { records: u64 },
    #[error("line {line}: data after the checkpoint line; a bundle ends with its checkpoint")]
    TrailingData { line: usize },
    #[error("the bundle holds no records")]
    Empty,
    #[error("line {line}: {source}")]
    Checkpoint { line: usize, source: CheckpointError },
    #[error("line {line}: the checkpoint is for another store than the first record's")]
    StoreMismatch { line: usize },
    #[error("line {line}: the checkpoint signs {signed} records but the bundle holds {records}: records were added or removed")]
    SizeMismatch { line: usize, signed: u64, records: u64 },
    #[error("line {line}: the records' Merkle root is not the signed one: records were edited, removed or reordered")]
    RootMismatch { line: usize },
    #[error("line {line}: the first {seq} records differ from the ones this verifier saw before for this store: its history was rewritten")]
    Diverged { line: usize, seq: u64 },
    #[error("the bundle holds {size} records of store {}, but this verifier already saw {seen}: records were removed from its end", short(store_id))]
    ShorterThanSeen { store_id: String, size: u64, seen: u64 },
    #[error(transparent)]
    Seen(#[from] SeenError),
    #[error("reading or writing the bundle: {0}")]
    Io(#[from] std::io::Error),
}

fn sequence_message(line: usize, seq: u64, expected: u64) -> String {
    if seq < expected {
        format!("line {line} (seq {seq}): seq {expected} was expected: the record is repeated or out of order")
    } else if seq == expected + 1 {
        format!("line {line} (seq {seq}): seq {expected} was expected: the record before it was removed or moved")
    } else {
        format!(
            "line {line} (seq {seq}): seq {expected} was expected: records {expected}..{} were removed or moved",
            seq - 1
        )
    }
}

fn short(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}

/// What the verifier remembers of a store: the longest bundle it verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeenCheckpoint {
    pub store_id: String,
    pub size: u64,
    pub root: String,
    /// The key that signed it, for the record.
    pub key: String,
}

/// The verifier's memory of checkpoints, in a JSONL file (or only in
/// memory). Lines are appended when a store grows; the longest per store
/// counts.
#[derive(Debug, Default)]
pub struct SeenCheckpoints {
    path: Option<PathBuf>,
    latest: BTreeMap<String, SeenCheckpoint>,
}

impl SeenCheckpoints {
    /// A memory that is not saved anywhere.
    pub fn in_memory() -> SeenCheckpoints {
        SeenCheckpoints::default()
    }

    /// Read the file at `path` (missing: nothing seen yet). A last line cut
    /// short is ignored; any other line that does not parse is an error.
    pub fn load(path: &Path) -> Result<SeenCheckpoints, SeenError> {
        let mut seen = SeenCheckpoints { path: Some(path.to_path_buf()), latest: BTreeMap::new() };
        let bytes = match read_no_follow(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(seen),
            Err(source) => return Err(SeenError::Io { path: path.to_path_buf(), source }),
        };
        let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        lines.pop();
        for (i, line) in lines.into_iter().enumerate() {
            let bad = || SeenError::Line { path: path.to_path_buf(), line: i + 1 };
            let entry: SeenCheckpoint = serde_json::from_slice(line).map_err(|_| bad())?;
            if from_hex::<32>(&entry.store_id).is_none() || from_hex::<32>(&entry.root).is_none() {
                return Err(bad());
            }
            match seen.latest.get(&entry.store_id) {
                Some(old) if old.size == entry.size && old.root != entry.root => return Err(bad()),
                Some(old) if old.size >= entry.size => {}
                _ => {
                    seen.latest.insert(entry.store_id.clone(), entry);
                }
            }
        }
        Ok(seen)
    }

    /// The longest checkpoint seen for `store_id`.
    pub fn get(&self, store_id: &str) -> Option<&SeenCheckpoint> {
        self.latest.get(store_id)
    }

    /// Remember `entry` when it is longer than what was seen for its store
    /// (appending it to the file, if any). The caller has checked it
    /// extends what was seen.
    pub fn remember(&mut self, entry: SeenCheckpoint) -> Result<(), SeenError> {
        if self.get(&entry.store_id).is_some_and(|old| old.size >= entry.size) {
            return Ok(());
        }
        if let Some(path) = &self.path {
            let mut line =
                serde_json::to_vec(&entry).map_err(|e| SeenError::Io { path: path.clone(), source: e.into() })?;
            line.push(b'\n');
            append_line(path, &line).map_err(|source| SeenError::Io { path: path.clone(), source })?;
        }
        self.latest.insert(entry.store_id.clone(), entry);
        Ok(())
    }
}

/// Why the verifier's memory could not be read or saved.
#[derive(Debug, thiserror::Error)]
pub enum SeenError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "{}:{line}: not a seen checkpoint; this file is gate's memory of bundles it verified: move it away to start afresh (and lose that memory)",
        path.display()
    )]
    Line { path: PathBuf, line: usize },
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// The test records' hash: SHA-256 of "seq|prev_hash|body".
    fn test_hash(record: &Map<String, Value>) -> Result<String, String> {
        let seq = record.get("seq").and_then(Value::as_u64).ok_or("no seq")?;
        let prev = record.get("prev_hash").and_then(Value::as_str).ok_or("no prev_hash")?;
        let body = record.get("body").and_then(Value::as_str).ok_or("no body")?;
        Ok(to_hex(&Sha256::digest(format!("{seq}|{prev}|{body}"))))
    }

    /// `n` chained records whose bodies come from `body(seq)`.
    fn records_with(n: u64, body: impl Fn(u64) -> String) -> Vec<Map<String, Value>> {
        let mut prev = GENESIS_PREV_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let mut r = Map::new();
                r.insert("seq".into(), seq.into());
                r.insert("prev_hash".into(), prev.clone().into());
                r.insert("body".into(), body(seq).into());
                let hash = test_hash(&r).unwrap();
                r.insert("hash".into(), hash.clone().into());
                prev = hash;
                r
            })
            .collect()
    }

    fn records(n: u64) -> Vec<Map<String, Value>> {
        records_with(n, |seq| format!("call {seq}"))
    }

    fn key() -> SigningKey {
        SigningKey::from_seed(&[4; 32])
    }

    fn bundle_by(key: &SigningKey, records: &[Map<String, Value>]) -> String {
        let mut w = BundleWriter::new(Vec::new(), &test_hash).unwrap();
        for r in records {
            w.push(r).unwrap();
        }
        String::from_utf8(w.finish(key, 1_700_000_000_000).unwrap().out).unwrap()
    }

    fn bundle(records: &[Map<String, Value>]) -> String {
        bundle_by(&key(), records)
    }

    fn verify(text: &str, pinned: Option<PublicKey>, seen: &mut SeenCheckpoints) -> Result<BundleReport, BundleError> {
        verify_bundle(text.as_bytes(), pinned, seen, &test_hash)
    }

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    fn join(lines: &[String]) -> String {
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn a_written_bundle_verifies_with_and_without_a_pinned_key() {
        let text = bundle(&records(5));
        let l = lines(&text);
        assert_eq!(l.len(), 7);
        assert_eq!(l[0], r#"{"bundle":"gate.bundle/1"}"#);
        assert!(l[6].starts_with(r#"{"checkpoint":{"store_id":""#), "{}", l[6]);

        let report = verify(&text, Some(key().public_key()), &mut SeenCheckpoints::in_memory()).unwrap();
        assert_eq!(report.size, 5);
        assert_eq!(report.store_id, records(1)[0]["hash"].as_str().unwrap());
        assert!(report.key_pinned);
        assert_eq!(report.key_id, key().public_key().key_id());
        let unpinned = verify(&text, None, &mut SeenCheckpoints::in_memory()).unwrap();
        assert!(!unpinned.key_pinned);
        assert_eq!(unpinned.root, report.root);

        let no_newline = text.trim_end();
        verify(no_newline, None, &mut SeenCheckpoints::in_memory()).unwrap();
    }

    #[test]
    fn the_writer_refuses_to_sign_a_broken_chain_or_nothing() {
        let rs = records(3);
        let cases: [(&str, Vec<Map<String, Value>>); 3] = [
            ("gap", vec![rs[0].clone(), rs[2].clone()]),
            ("starts late", vec![rs[1].clone()]),
            ("edited", {
                let mut r = rs[0].clone();
                r.insert("body".into(), "other".into());
                vec![r]
            }),
        ];
        for (name, rs) in cases {
            let mut w = BundleWriter::new(Vec::new(), &test_hash).unwrap();
            let pushed: Result<Vec<()>, BundleError> = rs.iter().map(|r| w.push(r)).collect();
            assert!(pushed.is_err(), "{name}");
        }
        let w = BundleWriter::new(Vec::new(), &test_hash).unwrap();
        assert!(matches!(w.finish(&key(), 0), Err(BundleError::Empty)));
    }

    #[test]
    fn every_kind_of_tampering_fails_naming_the_problem() {
        let good = lines(&bundle(&records(5)));
        let attacker = SigningKey::from_seed(&[66; 32]);
        // Line i + 1 holds seq i; line 7 the checkpoint.
        let edit = |f: &dyn Fn(&mut Vec<String>)| {
            let mut l = good.clone();
            f(&mut l);
            join(&l)
        };
        let with_record = |i: usize, f: &dyn Fn(&mut Map<String, Value>)| {
            edit(&|l: &mut Vec<String>| {
                let mut r: Map<String, Value> = serde_json::from_str(&l[i]).unwrap();
                f(&mut r);
                l[i] = serde_json::to_string(&r).unwrap();
            })
        };
        let other_history =
            lines(&bundle(&records_with(5, |s| if s >= 3 { format!("forged {s}") } else { format!("call {s}") })));
        let cases: Vec<(&str, String, Option<PublicKey>, &str)> = vec![
            (
                "edited body",
                with_record(2, &|r| {
                    r.insert("body".into(), "rm -rf /".into());
                }),
                None,
                "line 3 (seq 2): the record was edited",
            ),
            (
                "edited hash",
                with_record(2, &|r| {
                    r.insert("hash".into(), "ab".repeat(32).into());
                }),
                None,
                "line 3 (seq 2): the record was edited",
            ),
            (
                "dropped",
                edit(&|l| {
                    l.remove(2);
                }),
                None,
                "line 3 (seq 3): seq 2 was expected: the record before it was removed",
            ),
            (
                "dropped two",
                edit(&|l| {
                    l.drain(2..4);
                }),
                None,
                "line 3 (seq 4): seq 2 was expected: records 2..3 were removed or moved",
            ),
            (
                "duplicated",
                edit(&|l| {
                    let d = l[2].clone();
                    l.insert(3, d);
                }),
                None,
                "line 4 (seq 2): seq 3 was expected: the record is repeated",
            ),
            ("reordered", edit(&|l| l.swap(2, 3)), None, "line 3 (seq 3): seq 2 was expected"),
            (
                "renumbered after a drop",
                {
                    // Drop seq 2, renumber the rest and rehash each record alone.
                    let mut rs = records(5);
                    rs.remove(1);
                    let l: Vec<String> = good[..2]
                        .iter()
                        .cloned()
                        .chain(rs[1..].iter().enumerate().map(|(i, r)| {
                            let mut r = r.clone();
                            r.insert("seq".into(), (i as u64 + 2).into());
                            serde_json::to_string(&r).unwrap()
                        }))
                        .chain(std::iter::once(good[6].clone()))
                        .collect();
                    join(&l)
                },
                None,
                "line 3 (seq 2): its prev_hash is not the previous record's hash",
            ),
            (
                "rewritten history, old checkpoint",
                {
                    let mut l = other_history.clone();
                    l[6] = good[6].clone();
                    join(&l)
                },
                None,
                "line 7: the records' Merkle root is not the signed one",
            ),
            (
                "last record dropped",
                edit(&|l| {
                    l.remove(5);
                }),
                None,
                "line 6: the checkpoint signs 5 records but the bundle holds 4",
            ),
            (
                "signature flipped",
                edit(&|l| {
                    let mut c: Value = serde_json::from_str(&l[6]).unwrap();
                    let sig = c["checkpoint"]["signature"].as_str().unwrap().to_string();
                    let flipped = format!("{}{}", if sig.starts_with('0') { '1' } else { '0' }, &sig[1..]);
                    c["checkpoint"]["signature"] = flipped.into();
                    l[6] = c.to_string();
                }),
                None,
                "line 7: checkpoint signature does not verify",
            ),
            (
                "signed size raised",
                edit(&|l| l[6] = l[6].replace("\"size\":5", "\"size\":6")),
                None,
                "signature does not verify",
            ),
            (
                "re-signed by another key",
                bundle_by(&attacker, &records(5)),
                Some(key().public_key()),
                "line 7: checkpoint is signed by key",
            ),
            (
                "checkpoint for another store",
                {
                    let signed: CheckpointLine = serde_json::from_str(&good[6]).unwrap();
                    let root = signed.checkpoint.root_hash().unwrap();
                    let cp = Checkpoint::sign(&key(), &"cd".repeat(32), 5, &root, 0).unwrap();
                    edit(&|l| l[6] = serde_json::to_string(&CheckpointLine { checkpoint: cp.clone() }).unwrap())
                },
                None,
                "line 7: the checkpoint is for another store",
            ),
            (
                "missing checkpoint",
                edit(&|l| {
                    l.pop();
                }),
                None,
                "ends after 5 records without its checkpoint line",
            ),
            ("trailing garbage", edit(&|l| l.push("garbage".into())), None, "line 8: data after the checkpoint line"),
            ("trailing blank line", edit(&|l| l.push(String::new())), None, "line 8: data after the checkpoint line"),
            (
                "two checkpoints",
                edit(&|l| {
                    let c = l[6].clone();
                    l.push(c);
                }),
                None,
                "line 8: data after the checkpoint line",
            ),
            (
                "extra checkpoint field",
                edit(&|l| l[6] = l[6].replacen("{\"checkpoint\"", "{\"note\":1,\"checkpoint\"", 1)),
                None,
                "line 7: not a checkpoint line",
            ),
            ("not json", edit(&|l| l[2] = "{seq: 1".into()), None, "line 3: not a JSON object"),
            (
                "no seq",
                with_record(1, &|r| {
                    r.remove("seq");
                }),
                None,
                "line 2: a record needs an integer \"seq\"",
            ),
            (
                "bad hash text",
                with_record(1, &|r| {
                    r.insert("hash".into(), "AB".repeat(32).into());
                }),
                None,
                "line 2: \"hash\" is not 64 lowercase hex",
            ),
            (
                "unhashable",
                with_record(1, &|r| {
                    r.remove("body");
                }),
                None,
                "line 2 (seq 1): cannot recompute the record's hash: no body",
            ),
            (
                "header missing",
                edit(&|l| {
                    l.remove(0);
                }),
                None,
                "line 1: not a gate bundle",
            ),
            (
                "newer format",
                edit(&|l| l[0] = r#"{"bundle":"gate.bundle/2"}"#.into()),
                None,
                "line 1: not a gate bundle: format \"gate.bundle/2\"",
            ),
            ("empty file", String::new(), None, "line 1: not a gate bundle: the file is empty"),
            ("no records", join(&[good[0].clone(), good[6].clone()]), None, "holds no records"),
        ];
        for (name, text, pinned, says) in cases {
            let err = verify(&text, pinned, &mut SeenCheckpoints::in_memory()).unwrap_err().to_string();
            assert!(err.contains(says), "{name}: expected {says:?}, got {err:?}");
        }
    }

    #[test]
    fn an_over_long_line_is_refused_without_reading_it_all() {
        let mut text = join(&lines(&bundle(&records(1)))[..1]);
        text.push_str(&" ".repeat(MAX_LINE_BYTES + 10));
        let err = verify(&text, None, &mut SeenCheckpoints::in_memory()).unwrap_err();
        assert!(matches!(err, BundleError::LineTooLong { line: 2 }), "{err}");
    }

    #[test]
    fn a_bundle_must_extend_what_this_verifier_has_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seen-checkpoints.jsonl");
        let rs = records(8);
        let mut seen = SeenCheckpoints::load(&path).unwrap();
        let first = verify(&bundle(&rs[..5]), None, &mut seen).unwrap();
        assert_eq!(first.seen_size, None);

        let mut seen = SeenCheckpoints::load(&path).unwrap();
        assert_eq!(seen.get(&first.store_id).map(|s| s.size), Some(5));
        let err = verify(&bundle(&rs[..3]), None, &mut seen).unwrap_err().to_string();
        assert!(err.contains("holds 3 records") && err.contains("already saw 5"), "{err}");

        let forked = records_with(8, |s| if s >= 4 { format!("forged {s}") } else { format!("call {s}") });
        let err = verify(&bundle(&forked), None, &mut seen).unwrap_err().to_string();
        assert!(err.contains("line 6: the first 5 records differ"), "{err}");

        let same = verify(&bundle(&rs[..5]), None, &mut seen).unwrap();
        assert_eq!(same.seen_size, Some(5));
        let longer = verify(&bundle(&rs), Some(key().public_key()), &mut seen).unwrap();
        assert_eq!(longer.seen_size, Some(5));
        let reloaded = SeenCheckpoints::load(&path).unwrap();
        assert_eq!(reloaded.get(&first.store_id).map(|s| s.size), Some(8));
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2, "a line only when a store grows");

        // Another store is remembered on its own.
        let other = records_with(2, |s| format!("elsewhere {s}"));
        verify(&bundle(&other), None, &mut seen).unwrap();
        assert_eq!(SeenCheckpoints::load(&path).unwrap().get(&first.store_id).map(|s| s.size), Some(8));
    }

    #[test]
    fn a_damaged_seen_file_is_refused_but_a_torn_tail_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seen-checkpoints.jsonl");
        let entry = |size: u64, root: &str| {
            serde_json::to_string(&SeenCheckpoint {
                store_id: "aa".repeat(32),
                size,
                root: root.repeat(32),
                key: String::new(),
            })
            .unwrap()
        };
        let cases = [
            ("torn tail", format!("{}\n{{\"store_id\":", entry(3, "bb")), Some(3)),
            ("longest wins", format!("{}\n{}\n", entry(4, "bb"), entry(2, "cc")), Some(4)),
            ("garbage line", format!("nonsense\n{}\n", entry(3, "bb")), None),
            ("conflicting roots", format!("{}\n{}\n", entry(3, "bb"), entry(3, "cc")), None),
            ("bad root", format!("{}\n", entry(3, "zz")), None),
        ];
        for (name, text, size) in cases {
            std::fs::write(&path, text).unwrap();
            match (SeenCheckpoints::load(&path), size) {
                (Ok(seen), Some(size)) => assert_eq!(seen.get(&"aa".repeat(32)).map(|s| s.size), Some(size), "{name}"),
                (Err(e), None) => assert!(e.to_string().contains("move it away"), "{name}: {e}"),
                (other, _) => panic!("{name}: {other:?}"),
            }
        }
    }
}
