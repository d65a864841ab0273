//! Whether a stored JSON document is already in the form `serde_json`
//! writes for it, so that an export can copy the text instead of parsing it
//! into a `Value` and writing that back (what `gate export` spends most of
//! its time on otherwise). The check is deliberately narrow: anything it is
//! not sure of answers false, and the caller takes the slow path, which
//! parses and compares.
//!
//! Accepted, and nothing else:
//! - no whitespace outside strings, nothing after the document;
//! - strings with no raw control character, escaped exactly as `serde_json`
//!   escapes (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, and `\u00xx` in
//!   lowercase hex for the other control characters only);
//! - objects with no key twice (keys compared as written, which for text
//!   escaped this way is comparing them unescaped); the key order is kept
//!   as written, as `serde_json` built with `preserve_order` keeps it;
//! - integers without sign or leading zero that fit a `u64`, and negative
//!   ones that fit an `i64`, but not `-0` (which parses to a float); no
//!   fraction, no exponent;
//! - `true`, `false`, `null`;
//! - nesting at most [`MAX_DEPTH`] deep (`serde_json` refuses 128).

/// The deepest nesting of arrays and objects the fast path takes.
pub const MAX_DEPTH: usize = 64;

/// Whether `text` is exactly what `serde_json::to_string` writes for the
/// value `serde_json::from_str(text)` gives, and that value holds no float.
pub fn is_canonical(text: &str) -> bool {
    let mut c = Canon { b: text.as_bytes(), i: 0, keys: Vec::new() };
    c.value(0) && c.i == c.b.len()
}

struct Canon<'a> {
    b: &'a [u8],
    i: usize,
    /// The keys of the objects open now, innermost last.
    keys: Vec<&'a [u8]>,
}

impl<'a> Canon<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> bool {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().is_some(),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => false,
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        self.i += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn object(&mut self, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        self.i += 1;
        if self.eat(b'}') {
            return true;
        }
        let first_key = self.keys.len();
        loop {
            let Some(key) = self.string() else { return false };
            self.keys.push(key);
            if !self.eat(b':') || !self.value(depth) {
                return false;
            }
            if self.eat(b'}') {
                break;
            }
            if !self.eat(b',') {
                return false;
            }
        }
        let unique = all_different(&mut self.keys[first_key..]);
        self.keys.truncate(first_key);
        unique
    }

    /// A string escaped as `serde_json` escapes it: its text between the
    /// quotes, as written.
    fn string(&mut self) -> Option<&'a [u8]> {
        let b = self.b;
        if b.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        let start = self.i;
        loop {
            // Eight bytes at a time over runs with nothing to look at.
            while self.i + 8 <= b.len() {
                let w = u64::from_le_bytes(b[self.i..self.i + 8].try_into().unwrap_or([0; 8]));
                if special(w) != 0 {
                    break;
                }
                self.i += 8;
            }
            match *b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(&b[start..self.i - 1]);
                }
                b'\\' => {
                    let ok = match b.get(self.i + 1) {
                        Some(b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.i += 2;
                            true
                        }
                        Some(b'u') => match b.get(self.i + 2..self.i + 6) {
                            Some([b'0', b'0', hi @ (b'0' | b'1'), lo]) => {
                                let lo = match lo {
                                    b'0'..=b'9' => lo - b'0',
                                    b'a'..=b'f' => lo - b'a' + 10,
                                    _ => return None,
                                };
                                let c = (hi - b'0') * 16 + lo;
                                self.i += 6;
                                // The short escapes are written short.
                                !matches!(c, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d)
                            }
                            _ => false,
                        },
                        _ => false,
                    };
                    if !ok {
                        return None;
                    }
                }
                0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
    }

    fn number(&mut self) -> bool {
        let negative = self.eat(b'-');
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        let digits = &self.b[start..self.i];
        if digits.is_empty() || (digits[0] == b'0' && digits.len() > 1) {
            return false;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return false;
        }
        // Within the range `serde_json` keeps as an integer.
        let mut n: u64 = 0;
        for d in digits {
            match n.checked_mul(10).and_then(|n| n.checked_add(u64::from(d - b'0'))) {
                Some(m) => n = m,
                None => return false,
            }
        }
        !negative || (n != 0 && n <= 1 << 63)
    }
}

/// A byte of `w` is below 0x20, a quote or a backslash.
fn special(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    (w.wrapping_sub(LO * 0x20) & !w & HI) | zero(w ^ (LO * b'"' as u64)) | zero(w ^ (LO * b'\\' as u64))
}

/// Whether no two of `keys` are the same (reorders them).
fn all_different(keys: &mut [&[u8]]) -> bool {
    if keys.len() <= 8 {
        return keys.iter().enumerate().all(|(i, k)| !keys[..i].contains(k));
    }
    keys.sort_unstable();
    keys.windows(2).all(|w| w[0] != w[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// The slow path's answer: the parsed document holds no float and
    /// writes back as exactly this text.
    fn round_trips(text: &str) -> bool {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => !super::super::receipt::holds_float(&v) && serde_json::to_string(&v).unwrap() == text,
            Err(_) => false,
        }
    }

    #[test]
    fn canonical_texts_are_told_apart() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let cases: &[(&str, bool)] = &[
            (r#"{"command":"ls -la","description":"list"}"#, true),
            (r#"{"b":1,"a":2}"#, true),
            (r#"{"a":1,"a":2}"#, false),
            (r#"{"a":{"x":1},"b":{"x":1}}"#, true),
            (r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"a":11}"#, false),
            (r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11}"#, true),
            (r#"{"a":1, "b":2}"#, false),
            (r#" {"a":1}"#, false),
            (r#"{"a":1} "#, false),
            (r#"{"a":1}x"#, false),
            (r#"{"a" :1}"#, false),
            ("[]", true),
            ("{}", true),
            ("[[],{}]", true),
            ("[1,]", false),
            ("{,}", false),
            ("", false),
            ("null", true),
            ("true", true),
            ("false", true),
            ("nul", false),
            ("nulls", false),
            ("0", true),
            ("-0", false),
            ("01", false),
            ("-", false),
            ("-1", true),
            ("1.0", false),
            ("1.5", false),
            ("1e3", false),
            ("1E3", false),
            ("18446744073709551615", true),
            ("18446744073709551616", false),
            ("-9223372036854775808", true),
            ("-9223372036854775809", false),
            ("\"\"", true),
            (r#""a\"b\\c\/d""#, false),
            (r#""a\"b\\c""#, true),
            (r#""\b\f\n\r\t""#, true),
            (r#""\u0008""#, false),
            (r#""\u000a""#, false),
            (r#""\u001f\u0000\u000b""#, true),
            (r#""\u001F""#, false),
            (r#""\u0041""#, false),
            (r#""\u00e9""#, false),
            (r#""\ud83d\ude00""#, false),
            ("\"tab\there\"", false),
            ("\"del\u{7f} é 日本 😀\"", true),
            ("\"unterminated", false),
            ("\"bad \\x escape\"", false),
            ("\"ends in backslash\\", false),
            ("\"\\u00", false),
            (r#"{"ab\"cdefghijklmnop":"qrstuvwxyz0123456789\n"}"#, true),
            (r#"{1:2}"#, false),
            (r#"{"a"}"#, false),
            (r#"{"a":}"#, false),
            ("[1 ]", false),
        ];
        for (text, want) in cases {
            assert_eq!(is_canonical(text), *want, "{text:?}");
            // Never more than the slow path would keep.
            if *want {
                assert!(round_trips(text), "{text:?}");
            }
        }
        assert!(is_canonical(&nested(MAX_DEPTH)));
        assert!(!is_canonical(&nested(MAX_DEPTH + 1)));
        assert!(!is_canonical(&nested(200)));
        assert!(!is_canonical(&format!("{}1{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1))));
    }

    /// Every control character, quote and backslash, and every `\u00xx`,
    /// against `serde_json` itself.
    #[test]
    fn every_escape_agrees_with_serde_json() {
        for b in 0u8..0x80 {
            let s = format!("x{}y", b as char);
            let written = serde_json::to_string(&s).unwrap();
            assert!(is_canonical(&written), "{written}");
            assert_eq!(is_canonical(&format!("\"x{}y\"", b as char)), round_trips(&format!("\"x{}y\"", b as char)));
            for hex in [format!("{b:04x}"), format!("{b:04X}")] {
                let text = format!("\"\\u{hex}\"");
                assert_eq!(is_canonical(&text), round_trips(&text), "{text}");
            }
        }
    }

    const TRICKY_CHARS: &[char] = &['"', '\\', '\u{1f}', '\n', 'é', '\u{7f}', 'a', '\u{0}'];

    /// What [`json_text`] splices into a document.
    const EDITS: &[&str] = &[
        "",
        " ",
        "\\",
        "\\/",
        "\\u0041",
        "\\u001f",
        "\\u001F",
        "\\u000a",
        "\\n",
        "\"",
        ",",
        ":",
        "-0",
        "0",
        "1.0",
        "e5",
        "]",
        "}",
        "{",
        "[",
        "null",
        "\"a\":1,\"a\":2",
        "\t",
        "9223372036854775808",
        "-9223372036854775809",
        "\u{0}",
    ];

    fn json_value() -> impl Strategy<Value = Value> {
        let text = prop_oneof![
            "[a-c]{0,3}",
            ".{0,12}",
            proptest::collection::vec(prop::sample::select(TRICKY_CHARS), 0..12)
                .prop_map(|v| v.into_iter().collect::<String>()),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-3i64..3).prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text.clone().prop_map(Value::from),
        ];
        leaf.prop_recursive(6, 64, 8, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                proptest::collection::vec(("[a-c]{0,2}|.{0,4}", inner), 0..10)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Texts near the canonical form: serde_json's own output, pretty
    /// output, and small edits of it that a checker could get wrong.
    fn json_text() -> impl Strategy<Value = String> {
        let edit = prop::sample::select(EDITS);
        (json_value(), any::<bool>(), proptest::collection::vec((any::<prop::sample::Index>(), 0usize..3, edit), 0..3))
            .prop_map(|(v, pretty, edits)| {
                let mut text = if pretty { serde_json::to_string_pretty(&v).unwrap() } else { v.to_string() };
                for (at, cut, with) in edits {
                    let mut i = at.index(text.len() + 1);
                    while !text.is_char_boundary(i) {
                        i -= 1;
                    }
                    let mut j = (i + cut).min(text.len());
                    while !text.is_char_boundary(j) {
                        j -= 1;
                    }
                    text.replace_range(i..j.max(i), with);
                }
                text
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The fast path never keeps a text the slow path would not.
        #[test]
        fn canonical_only_when_it_round_trips(text in json_text()) {
            if is_canonical(&text) {
                prop_assert!(round_trips(&text), "{:?}", text);
            }
        }

        /// And it keeps what serde_json writes for a document without floats.
        #[test]
        fn serde_json_output_is_canonical(v in json_value()) {
            let text = v.to_string();
            prop_assert_eq!(is_canonical(&text), round_trips(&text), "{:?}", text);
        }
    }
}
