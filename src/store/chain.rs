//! The hash chain over receipt rows. Each row's hash commits to its
//! position, time, kind, the previous row's hash and a digest of its
//! canonical content, so editing, removing or reordering any row breaks
//! every hash after it:
//!
//! `hash = SHA-256(TAG, seq, ts, kind, prev_hash, SHA-256(canonical JSON))`
//!
//! Integers are 8-byte big-endian, strings are length-prefixed, hashes are
//! raw 32 bytes. Canonical JSON is the compact form of an object whose keys
//! are sorted (built from a BTreeMap), so it is stable across versions.

use sha2::{Digest, Sha256};

/// Domain separation for version 1 of the chain.
pub const TAG: &[u8] = b"gate.receipt.v1\0";

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// A hash's 64 lowercase hex digits as its 32 bytes (one decoder for the
/// whole crate: `trust::from_hex`).
pub fn unhex(s: &str) -> Option<[u8; 32]> {
    crate::trust::from_hex::<32>(s)
}

/// SHA-256 of the canonical JSON text of a row's content.
pub fn content_digest(canonical_json: impl AsRef<[u8]>) -> [u8; 32] {
    Sha256::digest(canonical_json.as_ref()).into()
}

/// The chained hash of one row, hex-encoded. A malformed `prev_hash`
/// (only possible in a tampered database) hashes as its raw text, so it
/// can never match an honest row's hash.
pub fn row_hash(seq: i64, ts: i64, kind: &str, prev_hash: &str, canonical_json: &str) -> String {
    row_hash_of_digest(seq, ts, kind, prev_hash, &content_digest(canonical_json))
}

/// The chained hash of one row from the digest of its content (what a
/// pruned row keeps).
pub fn row_hash_of_digest(seq: i64, ts: i64, kind: &str, prev_hash: &str, digest: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(TAG);
    h.update(seq.to_be_bytes());
    h.update(ts.to_be_bytes());
    h.update((kind.len() as u64).to_be_bytes());
    h.update(kind.as_bytes());
    match unhex(prev_hash) {
        Some(raw) => h.update(raw),
        None => {
            h.update((prev_hash.len() as u64).to_be_bytes());
            h.update(prev_hash.as_bytes());
        }
    }
    h.update(digest);
    hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_changes_the_hash() {
        let base = row_hash(1, 10, "decision", GENESIS, "{}");
        let variants = [
            row_hash(2, 10, "decision", GENESIS, "{}"),
            row_hash(1, 11, "decision", GENESIS, "{}"),
            row_hash(1, 10, "outcome", GENESIS, "{}"),
            row_hash(1, 10, "decision", &base, "{}"),
            row_hash(1, 10, "decision", GENESIS, "{\"a\":1}"),
        ];
        for v in variants {
            assert_ne!(v, base);
            assert_eq!(v.len(), 64);
        }
        assert_eq!(base, row_hash(1, 10, "decision", GENESIS, "{}"));
    }

    #[test]
    fn hex_round_trips() {
        let h = row_hash(7, 7, "x", GENESIS, "{}");
        assert_eq!(unhex(&h).map(|b| hex(&b)), Some(h));
        assert_eq!(unhex("zz"), None);
    }
}
