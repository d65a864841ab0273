//! The cryptographic trust layer over the receipt: RFC 6962 Merkle roots
//! ([`merkle`]), the Ed25519 key that signs them ([`keys`]), signed
//! checkpoints kept apart from the database ([`checkpoint`]) and bundle
//! files that carry records plus their checkpoint ([`bundle`]). Everything
//! here fails closed: a value that does not parse, a file with loose
//! permissions or a signature that does not verify is an error, never a
//! warning. Hashes, keys and signatures are written as lowercase hex.

pub mod bundle;
pub mod checkpoint;
pub mod keys;
pub mod merkle;

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Decode exactly `N` bytes of lowercase hex; anything else (upper case,
/// odd length, other characters) is `None`, so every value has one text form.
pub fn from_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *slot = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_other_spellings() {
        assert_eq!(to_hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(from_hex::<3>("00abff"), Some([0x00, 0xab, 0xff]));
        for bad in ["00ABff", "00abf", "00abfff", "00abfg", " 0abff", ""] {
            assert_eq!(from_hex::<3>(bad), None, "{bad:?}");
        }
    }
}
