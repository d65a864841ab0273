//! Shell words with their byte spans, for masking. The policy's parser
//! (`crate::shell`) gives each word's value but not where it stands in the
//! text; masking must replace exactly the bytes of a value and nothing
//! else, so this scanner keeps, for every word, its span, its value when
//! the shell computes nothing in it (quotes removed, escapes and `$'..'`
//! decoded), and the spans of its quoted parts. It splits commands at the
//! shell's operators, leaves redirection targets out of a command's words,
//! and scans `$(..)`, backquotes and `<(..)` as commands of their own. Its
//! work is linear in the text and its nesting bounded; on text it does not
//! understand it errs towards fewer, longer words, never towards a word
//! that is not one.

use std::borrow::Cow;

/// Deepest nesting of substitutions followed.
const MAX_DEPTH: usize = 32;

/// One word or operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tok<'a> {
    pub start: usize,
    pub end: usize,
    /// An operator (`;`, `&&`, `|`, `>`, `(`...), not a word.
    pub op: bool,
    /// The word's value, when the shell computes nothing in it.
    pub value: Option<Cow<'a, str>>,
    /// The inner spans of the word's quoted parts, with their quote
    /// (`'`, `"`, or `$` for `$'..'`). Only from [`scan`].
    pub quoted: Vec<(usize, usize, u8)>,
    /// From [`commands`]: the value is not worked out yet ([`decode`]).
    pub pending: bool,
    stop: Stop,
}


#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    End,
    Paren,
    Backquote,
}

/// The top-level words and operators of `src`, read as shell text, with
/// their values and quoted spans.
pub fn scan(src: &str) -> Vec<Tok<'_>> {
    let mut lx = Lx { src, s: src.as_bytes(), commands: Vec::new(), depth: 0, full: true, buf: Vec::new(), hits: Vec::new() };
    lx.seq(0, Stop::End).0
}

/// Only the commands of `src` that hold one of the sorted byte offsets
/// `hits`, fast: no top-level tokens, no quoted spans, and a word whose
/// value differs from its text is left [`Tok::pending`].
pub fn commands<'a>(src: &'a str, hits: &[usize]) -> Vec<Vec<Tok<'a>>> {
    let mut lx = Lx { src, s: src.as_bytes(), commands: Vec::new(), depth: 0, full: false, buf: Vec::new(), hits: Vec::new() };
    lx.hits = hits.to_vec();
    lx.seq(0, Stop::End);
    lx.commands
}

/// Work out a word's value, when [`commands`] left it pending.
pub fn decode<'a>(src: &'a str, t: &mut Tok<'a>) {
    if t.pending {
        let mut lx = Lx { src, s: src.as_bytes(), commands: Vec::new(), depth: MAX_DEPTH, full: true, buf: Vec::new(), hits: Vec::new() };
        let w = lx.word(t.start, t.stop);
        t.value = if w.end == t.end { w.value } else { None };
        t.pending = false;
    }
}

struct Lx<'a> {
    src: &'a str,
    s: &'a [u8],
    commands: Vec<Vec<Tok<'a>>>,
    depth: usize,
    /// Keep top-level tokens, quoted spans and values.
    full: bool,
    /// A word's value is built here, then kept only in full mode.
    buf: Vec<u8>,
    /// Outside full mode: keep only commands holding one of these offsets.
    hits: Vec<usize>,
}

/// Bytes that end or change a plain run inside a word.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let special = b" \t\r\n;&|()<>\\'\"$`";
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = true;
        i += 1;
    }
    t
};

fn is_op(c: u8) -> bool {
    matches!(c, b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>' | b'\n')
}

impl<'a> Lx<'a> {
    /// A list of commands from `i`, up to the end or an unmatched stop
    /// character; returns the tokens and where it stopped (at the stop).
    fn seq(&mut self, mut i: usize, stop: Stop) -> (Vec<Tok<'a>>, usize) {
        let s = self.s;
        let mut toks: Vec<Tok<'a>> = Vec::new();
        let mut cmd: Vec<Tok<'a>> = Vec::new();
        let mut target_next = false;
        let mut heredocs = 0usize;
        while i < s.len() {
            let c = s[i];
            if c == b' ' || c == b'\t' || c == b'\r' {
                i += 1;
                continue;
            }
            if c == b'\\' && s.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if (stop == Stop::Paren && c == b')') || (stop == Stop::Backquote && c == b'`') {
                break;
            }
            if c == b'#' {
                while i < s.len() && s[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            let process_sub = (c == b'<' || c == b'>') && s.get(i + 1) == Some(&b'(');
            if is_op(c) && !process_sub {
                let start = i;
                let redirect = c == b'<' || c == b'>';
                if redirect {
                    while i < s.len() && matches!(s[i], b'<' | b'>' | b'&' | b'|' | b'-') && i - start < 3 {
                        i += 1;
                    }
                    if s[start..i].starts_with(b"<<") && !s[start..i].starts_with(b"<<<") {
                        heredocs += 1;
                    }
                    target_next = true;
                } else {
                    i += 1;
                    while i < s.len() && matches!(s[i], b';' | b'&' | b'|') && c != b'\n' && c != b'(' && c != b')' {
                        i += 1;
                    }
                    if !cmd.is_empty() {
                        self.flush(&mut cmd);
                    }
                    if c == b'\n' && heredocs > 0 {
                        // Here-document bodies are text, not commands.
                        i = skip_heredocs(s, i, heredocs);
                        heredocs = 0;
                    }
                }
                if self.full {
                    toks.push(Tok { start, end: i, op: true, value: None, quoted: Vec::new(), pending: false, stop });
                }
                continue;
            }
            let w = self.word(i, stop);
            i = w.end;
            // `2>x`: the digits are the redirection's descriptor.
            let fd = i < s.len() && (s[i] == b'<' || s[i] == b'>') && s[w.start..w.end].iter().all(u8::is_ascii_digit);
            if target_next {
                target_next = false;
            } else if !fd {
                if self.full {
                    cmd.push(w.clone());
                } else {
                    cmd.push(w);
                    continue;
                }
            }
            if self.full {
                toks.push(w);
            }
        }
        if !cmd.is_empty() {
            self.flush(&mut cmd);
        }
        (toks, i)
    }

    /// Keep a command when it holds a hit; `cmd` is left empty.
    fn flush(&mut self, cmd: &mut Vec<Tok<'a>>) {
        let keep = match (cmd.first(), cmd.last()) {
            (Some(first), Some(last)) => {
                // A hit may start one byte before a word (its boundary).
                let from = self.hits.partition_point(|&h| h + 1 < first.start);
                self.hits.get(from).is_some_and(|&h| h < last.end)
            }
            _ => false,
        };
        if keep {
            self.commands.push(std::mem::take(cmd));
        } else {
            cmd.clear();
        }
    }

    /// One word from `i`.
    fn word(&mut self, mut i: usize, stop: Stop) -> Tok<'a> {
        let s = self.s;
        let start = i;
        // The value is the word's own text until a quote, escape or `$`
        // makes it differ: only then is it built.
        let mut value = std::mem::take(&mut self.buf);
        value.clear();
        let mut built = false;
        let mut computed = false;
        let mut quoted = Vec::new();
        while i < s.len() {
            let c = s[i];
            if c == b' ' || c == b'\t' || c == b'\r' || (stop == Stop::Backquote && c == b'`') {
                break;
            }
            let process_sub = (c == b'<' || c == b'>') && s.get(i + 1) == Some(&b'(');
            if process_sub {
                if i > start {
                    break;
                }
                i = self.nested(i + 2, Stop::Paren);
                computed = true;
                continue;
            }
            if is_op(c) {
                break;
            }
            if !built && matches!(c, b'\\' | b'\'' | b'"' | b'$' | b'`') {
                value.extend_from_slice(&s[start..i]);
                built = true;
            }
            if !built {
                i += 1;
                // The common case: a run of bytes that mean nothing special.
                while i < s.len() && !SPECIAL[s[i] as usize] {
                    i += 1;
                }
                continue;
            }
            match c {
                b'\\' => {
                    match s.get(i + 1) {
                        Some(b'\n') => {}
                        Some(&n) => value.push(n),
                        None => {}
                    }
                    i += 2;
                }
                b'\'' => {
                    let end = find(s, i + 1, b'\'');
                    value.extend_from_slice(&s[i + 1..end]);
                    if self.full {
                        quoted.push((i + 1, end, b'\''));
                    }
                    i = (end + 1).min(s.len());
                }
                b'"' => {
                    let (end, comp) = self.double(i + 1, &mut value);
                    computed |= comp;
                    if self.full {
                        quoted.push((i + 1, end, b'"'));
                    }
                    i = (end + 1).min(s.len());
                }
                b'$' if s.get(i + 1) == Some(&b'\'') => {
                    let mut j = i + 2;
                    while j < s.len() && s[j] != b'\'' {
                        j += if s[j] == b'\\' { 2 } else { 1 };
                    }
                    let end = j.min(s.len());
                    value.extend_from_slice(&ansi_c(&s[i + 2..end]));
                    if self.full {
                        quoted.push((i + 2, end, b'$'));
                    }
                    i = (end + 1).min(s.len());
                }
                b'$' | b'`' => {
                    let (next, comp) = self.dollar(i);
                    if comp {
                        computed = true;
                    } else {
                        value.push(b'$');
                    }
                    i = next;
                }
                _ => {
                    value.push(c);
                    i += 1;
                }
            }
        }
        let end = i.min(s.len());
        let (val, pending) = match (computed, built) {
            (true, _) => (None, false),
            (false, false) => (Some(Cow::Borrowed(&self.src[start..end])), false),
            (false, true) if self.full => (Some(Cow::Owned(String::from_utf8_lossy(&value).into_owned())), false),
            (false, true) => (None, true),
        };
        self.buf = value;
        Tok { start, end, op: false, value: val, quoted, pending, stop }
    }

    /// Inside double quotes from `i`: returns the closing quote's index and
    /// whether anything in it is computed.
    fn double(&mut self, mut i: usize, value: &mut Vec<u8>) -> (usize, bool) {
        let s = self.s;
        let mut computed = false;
        while i < s.len() && s[i] != b'"' {
            match s[i] {
                b'\\' => {
                    match s.get(i + 1) {
                        Some(&n @ (b'$' | b'`' | b'"' | b'\\')) => value.push(n),
                        Some(b'\n') => {}
                        Some(&n) => value.extend_from_slice(&[b'\\', n]),
                        None => value.push(b'\\'),
                    }
                    i += 2;
                }
                b'$' | b'`' => {
                    let (next, comp) = self.dollar(i);
                    if comp {
                        computed = true;
                    } else {
                        value.push(b'$');
                    }
                    i = next;
                }
                c => {
                    value.push(c);
                    i += 1;
                }
            }
        }
        (i.min(s.len()), computed)
    }

    /// A `$` or backquote at `i`: where the expansion ends, and whether it
    /// is one (a lone `$` is literal).
    fn dollar(&mut self, i: usize) -> (usize, bool) {
        let s = self.s;
        if s[i] == b'`' {
            return (self.nested(i + 1, Stop::Backquote), true);
        }
        match s.get(i + 1) {
            Some(b'(') => (self.nested(i + 2, Stop::Paren), true),
            Some(b'{') => {
                let mut depth = 0usize;
                let mut j = i + 1;
                while j < s.len() {
                    match s[j] {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        b'\\' => j += 1,
                        _ => {}
                    }
                    j += 1;
                }
                ((j + 1).min(s.len()), true)
            }
            Some(c) if c.is_ascii_alphanumeric() || b"_@*#?$!-".contains(c) => {
                let mut j = i + 2;
                if c.is_ascii_alphabetic() || *c == b'_' {
                    while j < s.len() && (s[j].is_ascii_alphanumeric() || s[j] == b'_') {
                        j += 1;
                    }
                }
                (j, true)
            }
            _ => (i + 1, false),
        }
    }

    /// Commands inside a substitution from `i`; returns the index after its
    /// closing character.
    fn nested(&mut self, i: usize, stop: Stop) -> usize {
        if self.depth >= MAX_DEPTH {
            // Too deep: the rest of the text is one computed word.
            return self.s.len();
        }
        self.depth += 1;
        let (_, end) = self.seq(i, stop);
        self.depth -= 1;
        (end + 1).min(self.s.len())
    }
}

/// For each byte of the value of the literal shell word `raw`, the offset
/// of the raw byte it comes from; None when the word is not plain enough
/// to map (an expansion, `$'..'`, an unclosed quote).
pub fn offsets(raw: &str) -> Option<Vec<usize>> {
    let s = raw.as_bytes();
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'$' | b'`' => return None,
            b'\\' => {
                match s.get(i + 1) {
                    Some(b'\n') => {}
                    Some(_) => out.push(i + 1),
                    None => return None,
                }
                i += 2;
            }
            b'\'' => {
                let end = s[i + 1..].iter().position(|&b| b == b'\'')? + i + 1;
                out.extend(i + 1..end);
                i = end + 1;
            }
            b'"' => {
                i += 1;
                loop {
                    match s.get(i)? {
                        b'"' => break,
                        b'$' | b'`' => return None,
                        b'\\' => {
                            match s.get(i + 1)? {
                                b'$' | b'`' | b'"' | b'\\' => out.push(i + 1),
                                b'\n' => {}
                                _ => out.extend([i, i + 1]),
                            }
                            i += 2;
                        }
                        _ => {
                            out.push(i);
                            i += 1;
                        }
                    }
                }
                i += 1;
            }
            _ => {
                out.push(i);
                i += 1;
            }
        }
    }
    Some(out)
}

/// The raw runs (start, end) holding the value bytes `from..` of a word
/// whose byte offsets are `offs` (see [`offsets`]): each run is contiguous
/// raw text, so quotes and escapes between runs stay visible.
pub fn runs(offs: &[usize], from: usize) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &o in offs.get(from..).unwrap_or(&[]) {
        match out.last_mut() {
            Some(last) if last.1 == o => last.1 = o + 1,
            _ => out.push((o, o + 1)),
        }
    }
    out
}

/// The index of the next `c` from `i`, or the end.
fn find(s: &[u8], i: usize, c: u8) -> usize {
    s.get(i..).and_then(|r| r.iter().position(|&b| b == c)).map_or(s.len(), |p| i + p)
}

/// Skip `n` here-document bodies starting at `i` (each up to a line that is
/// only a word, its delimiter, possibly after tabs). Best effort: the
/// delimiter is not known here, so a body ends at the first line that is a
/// lone word of letters, digits and `_`.
fn skip_heredocs(s: &[u8], mut i: usize, n: usize) -> usize {
    for _ in 0..n {
        loop {
            if i >= s.len() {
                return s.len();
            }
            let end = find(s, i, b'\n');
            let line = s[i..end].trim_ascii();
            i = (end + 1).min(s.len());
            if !line.is_empty() && line.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
                break;
            }
        }
    }
    i
}

/// Decode the escapes of a `$'..'` body that matter for matching a flag or
/// a secret (`\n`, `\t`, `\\`, `\'`, `\"`); others are kept as written.
fn ansi_c(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                c @ (b'\\' | b'\'' | b'"') => out.push(c),
                c => out.extend_from_slice(&[b'\\', c]),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(src: &str) -> Vec<Vec<String>> {
        let every: Vec<usize> = (0..src.len()).collect();
        commands(src, &every).iter().map(|c| c.iter().map(|t| src[t.start..t.end].to_string()).collect()).collect()
    }

    #[test]
    fn commands_words_and_spans() {
        let cases: &[(&str, &[&[&str]])] = &[
            ("mysql -pX db", &[&["mysql", "-pX", "db"]]),
            ("a 'b c' \"d e\"; f|g&&h", &[&["a", "'b c'", "\"d e\""], &["f"], &["g"], &["h"]]),
            ("x 2>err -p y >out z", &[&["x", "-p", "y", "z"]]),
            ("echo $(sshpass -p pw ssh h) `id`", &[&["sshpass", "-p", "pw", "ssh", "h"], &["id"], &["echo", "$(sshpass -p pw ssh h)", "`id`"]]),
            ("cat <<EOF\nmysql -pX\nEOF\nls", &[&["cat"], &["ls"]]),
            ("a \\\n b # c d", &[&["a", "b"]]),
            ("diff <(a -p x) y", &[&["a", "-p", "x"], &["diff", "<(a -p x)", "y"]]),
        ];
        for (src, want) in cases {
            let want: Vec<Vec<String>> = want.iter().map(|c| c.iter().map(|w| w.to_string()).collect()).collect();
            assert_eq!(words(src), want, "{src}");
        }
    }

    #[test]
    fn values_are_decoded_and_computed_ones_are_none() {
        let cases: &[(&str, Option<&str>)] = &[
            ("-p'a b'", Some("-pa b")),
            ("\"x\\\"y\"", Some("x\"y")),
            ("$'a\\'b'", Some("a'b")),
            ("a\\ b", Some("a b")),
            ("pa$", Some("pa$")),
            ("$HOME", None),
            ("x\"$(id)\"", None),
            ("${X:-y}", None),
        ];
        for (src, want) in cases {
            let s = scan(src);
            assert_eq!(s.len(), 1, "{src}");
            assert_eq!(s[0].value.as_deref(), *want, "{src}");
            assert_eq!((s[0].start, s[0].end), (0, src.len()), "{src}");
        }
    }
}
