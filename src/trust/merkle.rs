//! RFC 6962 Merkle Tree Hash over the receipt. A leaf is
//! `SHA-256(0x00 || entry)`, an inner node `SHA-256(0x01 || left || right)`,
//! a tree of n > 1 leaves splits at the largest power of two smaller than n,
//! and the empty tree's hash is SHA-256 of the empty string. [`Frontier`]
//! holds only the roots of the perfect subtrees a log of its size breaks
//! into (one per set bit of the size, largest first), so a writer can extend
//! a checkpointed root with new leaves without rereading the old ones. Pure:
//! no I/O.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an inner node or a root.
pub type Hash = [u8; 32];

/// The hash of one log entry: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// The hash of an inner node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The Merkle Tree Hash of these leaf hashes, by the RFC's recursion.
pub fn root_of(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes {
        [] => empty_root(),
        [one] => *one,
        many => {
            let split = largest_power_of_two_below(many.len());
            node_hash(&root_of(&many[..split]), &root_of(&many[split..]))
        }
    }
}

/// The largest power of two strictly smaller than `n` (n >= 2).
fn largest_power_of_two_below(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The compact range of a log: the roots of the perfect subtrees its leaves
/// fall into, largest (leftmost) first. `peaks.len()` is always the number of
/// set bits in `size`, and peak i covers `2^k` leaves for the i-th set bit k
/// from the top.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "FrontierText", into = "FrontierText")]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty log.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// Append one leaf hash (already `leaf_hash`ed).
    pub fn push(&mut self, leaf: Hash) {
        let mut carry = leaf;
        let mut size = self.size;
        // Each trailing one bit of the old size is a peak of the same height
        // as `carry`: merge them, as a binary counter carries.
        while size & 1 == 1 {
            let left = self.peaks.pop().unwrap_or_default();
            carry = node_hash(&left, &carry);
            size >>= 1;
        }
        self.peaks.push(carry);
        self.size += 1;
    }

    /// How many leaves have been pushed.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The Merkle Tree Hash of every leaf pushed so far: the peaks folded
    /// from the right, which is exactly the RFC's split at the largest power
    /// of two.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        match peaks.next() {
            None => empty_root(),
            Some(last) => peaks.fold(*last, |acc, peak| node_hash(peak, &acc)),
        }
    }

    /// The short text form: `<size>` then one `:<hex peak>` per peak,
    /// e.g. `3:ab..:cd..`. [`Frontier::from_text`] reads it back.
    pub fn to_text(&self) -> String {
        let mut s = self.size.to_string();
        for peak in &self.peaks {
            s.push(':');
            s.push_str(&super::to_hex(peak));
        }
        s
    }

    /// Parse [`Frontier::to_text`]. The number of peaks must match the size.
    pub fn from_text(text: &str) -> Result<Frontier, FrontierError> {
        let mut parts = text.split(':');
        let size: u64 = parts
            .next()
            .and_then(|s| if s.bytes().all(|b| b.is_ascii_digit()) { s.parse().ok() } else { None })
            .ok_or_else(|| FrontierError(format!("{text:?} does not start with a leaf count")))?;
        let peaks = parts
            .map(|p| super::from_hex::<32>(p).ok_or_else(|| FrontierError(format!("peak {p:?} is not 64 hex digits"))))
            .collect::<Result<Vec<Hash>, FrontierError>>()?;
        if peaks.len() != size.count_ones() as usize {
            return Err(FrontierError(format!(
                "a log of {size} leaves has {} peaks, not {}",
                size.count_ones(),
                peaks.len()
            )));
        }
        Ok(Frontier { size, peaks })
    }
}

/// A frontier's text form that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Merkle frontier: {0}")]
pub struct FrontierError(String);

/// The serde form of a [`Frontier`]: its text form as one JSON string.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct FrontierText(String);

impl TryFrom<FrontierText> for Frontier {
    type Error = FrontierError;
    fn try_from(text: FrontierText) -> Result<Frontier, FrontierError> {
        Frontier::from_text(&text.0)
    }
}

impl From<Frontier> for FrontierText {
    fn from(f: Frontier) -> FrontierText {
        FrontierText(f.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::{from_hex, to_hex};
    use proptest::prelude::*;

    /// The eight entries of the Certificate Transparency reference tests.
    const CT_ENTRIES: [&str; 8] =
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

    /// The published tree heads for sizes 0 to 8 over those entries.
    const CT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn ct_leaves() -> Vec<Hash> {
        CT_ENTRIES
            .iter()
            .map(|e| {
                let bytes: Vec<u8> =
                    (0..e.len()).step_by(2).map(|i| u8::from_str_radix(&e[i..i + 2], 16).unwrap()).collect();
                leaf_hash(&bytes)
            })
            .collect()
    }

    #[test]
    fn matches_the_certificate_transparency_reference_roots() {
        let leaves = ct_leaves();
        let mut frontier = Frontier::new();
        for (size, want) in CT_ROOTS.iter().enumerate() {
            assert_eq!(to_hex(&root_of(&leaves[..size])), *want, "root_of, size {size}");
            assert_eq!(to_hex(&frontier.root()), *want, "frontier, size {size}");
            if size < leaves.len() {
                frontier.push(leaves[size]);
            }
        }
    }

    #[test]
    fn split_points_are_the_largest_power_of_two_below() {
        for (n, want) in [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1000, 512), (1025, 1024)] {
            assert_eq!(largest_power_of_two_below(n), want, "n = {n}");
        }
    }

    #[test]
    fn text_form_round_trips_and_rejects_malformed_frontiers() {
        let mut f = Frontier::new();
        assert_eq!(f.to_text(), "0");
        for leaf in ct_leaves().into_iter().take(7) {
            f.push(leaf);
        }
        let text = f.to_text();
        assert_eq!(text.split(':').count(), 4, "7 = 4 + 2 + 1 leaves: three peaks");
        assert_eq!(Frontier::from_text(&text).unwrap(), f);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<Frontier>(&json).unwrap(), f);

        let peak = to_hex(&[0xab; 32]);
        for bad in [
            String::new(),
            "x".to_string(),
            "-1".to_string(),
            "+1".to_string(),
            "1".to_string(),
            format!("2:{peak}:{peak}"),
            format!("1:{}", &peak[..62]),
            format!("1:{}", peak.to_uppercase()),
            format!("0:{peak}"),
        ] {
            assert!(Frontier::from_text(&bad).is_err(), "{bad:?} should be refused");
        }
        assert!(from_hex::<32>(&peak).is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn frontier_root_equals_root_of_for_every_prefix(entries in proptest::collection::vec(any::<u32>(), 0..140)) {
            let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(&e.to_be_bytes())).collect();
            let mut frontier = Frontier::new();
            prop_assert_eq!(frontier.root(), root_of(&[]));
            for (i, leaf) in leaves.iter().enumerate() {
                frontier.push(*leaf);
                prop_assert_eq!(frontier.size(), i as u64 + 1);
                prop_assert_eq!(frontier.root(), root_of(&leaves[..=i]));
                let reread = Frontier::from_text(&frontier.to_text()).unwrap();
                prop_assert_eq!(&reread, &frontier);
            }
        }
    }
}
