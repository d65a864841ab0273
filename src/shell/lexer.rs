//! Word lexer: turns one raw word from the parser (quotes and expansions still in it) into a
//! [`Word`] with quote removal, escape and ANSI-C decoding, and flags for globs, expansions,
//! tildes and brace expansions; it also extracts the bodies of command substitutions (for the
//! caller to analyse recursively) and reports opaque parameter expansions and arithmetic.
//! Linear in the word's length; nested parameter words recurse at most [`MAX_WORD_DEPTH`].

use super::{short, Opaque, OpaqueKind, Word};

/// Deepest nesting of `${..}` words and `$((..))` expressions followed inside one word.
pub(crate) const MAX_WORD_DEPTH: usize = 32;

/// How a raw string is to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// An ordinary word: argument, command name, redirect target, `for`/`case` word.
    Word,
    /// The value of `NAME=value`: a tilde is expanded at its start and after each `:`.
    Assignment,
    /// A here-document body with an unquoted delimiter: only `$`, backquote and `\` matter.
    HereDoc,
}

/// The result of lexing one word.
#[derive(Debug)]
pub(crate) struct Lexed {
    pub(crate) word: Word,
    /// Bodies of `$(..)` and backquoted substitutions, in order (backquote escapes decoded).
    pub(crate) substitutions: Vec<String>,
    pub(crate) problems: Vec<Opaque>,
}

/// Lexes `raw` as a word of the given mode.
pub(crate) fn lex(raw: &str, mode: Mode) -> Lexed {
    let mut lx = Lx::new(raw, 0);
    let end = raw.len();
    match mode {
        Mode::Word => {
            lx.tilde_after_colon = false;
            lx.assign_like = looks_like_assignment(raw);
            lx.unquoted(0, end, None);
        }
        Mode::Assignment => {
            lx.tilde_after_colon = true;
            lx.unquoted(0, end, None);
        }
        Mode::HereDoc => {
            lx.weak(0, end, Weak::HereDoc);
        }
    }
    lx.finish()
}

/// Checks an arithmetic expression (the body of `((..))` or of a `for ((..))` part): returns
/// the command substitutions inside it and the problems that make it opaque.
pub(crate) fn arithmetic(expr: &str) -> (Vec<String>, Vec<Opaque>) {
    let mut lx = Lx::new(expr, 0);
    lx.arith(expr);
    (lx.subs, lx.problems)
}

/// `NAME=`, `NAME+=` or `NAME[..]=` at the start of a word.
pub(crate) fn looks_like_assignment(raw: &str) -> bool {
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
        if i == 0 && b[i].is_ascii_digit() {
            return false;
        }
        i += 1;
    }
    if i == 0 {
        return false;
    }
    if b.get(i) == Some(&b'[') {
        match b[i..].iter().position(|&c| c == b']') {
            Some(p) => i += p + 1,
            None => return false,
        }
    }
    if b.get(i) == Some(&b'+') {
        i += 1;
    }
    b.get(i) == Some(&b'=')
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Contexts where only `$`, backquote and backslash are special.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Weak {
    /// Inside `".."`: ends at `"`, and `\"` is an escape.
    DoubleQuote,
    /// A here-document body.
    HereDoc,
    /// An arithmetic expression.
    Arith,
}

struct Lx<'a> {
    src: &'a str,
    b: &'a [u8],
    depth: usize,
    text: Vec<u8>,
    glob: bool,
    expansion: bool,
    tilde: bool,
    brace: bool,
    quoted: bool,
    subs: Vec<String>,
    problems: Vec<Opaque>,
    /// One entry per open unquoted `{`: whether a `,` or `..` was seen inside it.
    braces: Vec<bool>,
    assign_like: bool,
    seen_assign_eq: bool,
    tilde_after_colon: bool,
}

impl<'a> Lx<'a> {
    fn new(src: &'a str, depth: usize) -> Self {
        Lx {
            src,
            b: src.as_bytes(),
            depth,
            text: Vec::new(),
            glob: false,
            expansion: false,
            tilde: false,
            brace: false,
            quoted: false,
            subs: Vec::new(),
            problems: Vec::new(),
            braces: Vec::new(),
            assign_like: false,
            seen_assign_eq: false,
            tilde_after_colon: false,
        }
    }

    fn problem(&mut self, kind: OpaqueKind, reason: impl Into<String>) {
        self.problems.push(Opaque::new(kind, reason));
    }

    fn slice(&self, from: usize, to: usize) -> &'a str {
        self.src.get(from..to).unwrap_or("")
    }

    fn finish(mut self) -> Lexed {
        let text = match String::from_utf8(std::mem::take(&mut self.text)) {
            Ok(t) => t,
            Err(e) => {
                self.problem(
                    OpaqueKind::Quoting,
                    format!("word `{}` decodes to bytes that are not UTF-8", short(self.src)),
                );
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        let literal = !(self.glob || self.expansion || self.tilde || self.brace) && self.problems.is_empty();
        Lexed {
            word: Word {
                text,
                raw: self.src.to_string(),
                literal,
                has_glob: self.glob,
                has_expansion: self.expansion,
                has_tilde: self.tilde,
                has_brace: self.brace,
                quoted: self.quoted,
            },
            substitutions: self.subs,
            problems: self.problems,
        }
    }

    /// Copies the character at `i` to the text; returns the index after it.
    fn push_char(&mut self, i: usize) -> usize {
        let len = utf8_len(self.b[i]);
        let stop = (i + len).min(self.b.len());
        self.text.extend_from_slice(&self.b[i..stop]);
        stop
    }

    /// Unquoted text in `[i, end)`. `param_dq` is `Some(in_double_quotes)` when this is the
    /// word inside `${x:-word}`, where single quotes are literal if the `${` was double-quoted.
    fn unquoted(&mut self, mut i: usize, end: usize, param_dq: Option<bool>) {
        let mut tilde_ok = true;
        while i < end {
            let c = self.b[i];
            let mut next_tilde_ok = false;
            match c {
                b'\\' => {
                    self.quoted = true;
                    if i + 1 < end {
                        i = self.push_char(i + 1);
                    } else {
                        self.text.push(b'\\');
                        i += 1;
                    }
                }
                b'\'' if param_dq != Some(true) => {
                    self.quoted = true;
                    match find_byte(self.b, i + 1, end, b'\'') {
                        Some(j) => {
                            self.text.extend_from_slice(&self.b[i + 1..j]);
                            i = j + 1;
                        }
                        None => {
                            self.problem(OpaqueKind::ParseError, "unterminated single quote");
                            i = end;
                        }
                    }
                }
                b'"' => {
                    self.quoted = true;
                    i = self.weak(i + 1, end, Weak::DoubleQuote);
                }
                b'$' => i = self.dollar(i, end, false, true),
                b'`' => i = self.backquote(i, end, false),
                // A `[` with no `]` after it in the word matches only itself
                // (`[ -d src ]` runs the `[` builtin).
                b'[' if !self.b[i + 1..end].contains(&b']') => {
                    self.text.push(c);
                    i += 1;
                }
                b'*' | b'?' | b'[' | b'(' | b')' | b'|' => {
                    // `(`, `)` and `|` only reach a word inside an extglob pattern.
                    self.glob = true;
                    self.text.push(c);
                    i += 1;
                }
                b'{' => {
                    self.braces.push(false);
                    self.text.push(c);
                    i += 1;
                }
                b',' => {
                    if let Some(top) = self.braces.last_mut() {
                        *top = true;
                    }
                    self.text.push(c);
                    i += 1;
                }
                b'.' if self.b.get(i + 1) == Some(&b'.') && i + 1 < end => {
                    if let Some(top) = self.braces.last_mut() {
                        *top = true;
                    }
                    self.text.extend_from_slice(b"..");
                    i += 2;
                }
                b'}' => {
                    if self.braces.pop() == Some(true) {
                        self.brace = true;
                    }
                    self.text.push(c);
                    i += 1;
                }
                b'~' => {
                    if tilde_ok {
                        self.tilde = true;
                    }
                    self.text.push(c);
                    i += 1;
                }
                b'=' => {
                    if self.assign_like && !self.seen_assign_eq {
                        self.seen_assign_eq = true;
                        self.tilde_after_colon = true;
                        next_tilde_ok = true;
                    }
                    self.text.push(c);
                    i += 1;
                }
                b':' => {
                    next_tilde_ok = self.tilde_after_colon;
                    self.text.push(c);
                    i += 1;
                }
                _ => i = self.push_char(i),
            }
            tilde_ok = next_tilde_ok;
        }
    }

    /// Double-quoted text, a here-document body or an arithmetic expression, from `i`.
    /// Returns the index after the closing quote (or `end`).
    fn weak(&mut self, mut i: usize, end: usize, ctx: Weak) -> usize {
        while i < end {
            let c = self.b[i];
            match c {
                b'"' if ctx == Weak::DoubleQuote => return i + 1,
                b'\\' => {
                    let next = if i + 1 < end { Some(self.b[i + 1]) } else { None };
                    match next {
                        Some(b'$' | b'`' | b'\\') => {
                            self.text.push(self.b[i + 1]);
                            i += 2;
                        }
                        Some(b'"') if ctx == Weak::DoubleQuote => {
                            self.text.push(b'"');
                            i += 2;
                        }
                        Some(b'\n') => i += 2,
                        _ => {
                            self.text.push(b'\\');
                            i += 1;
                        }
                    }
                }
                b'$' => i = self.dollar(i, end, ctx == Weak::DoubleQuote, false),
                b'`' => i = self.backquote(i, end, ctx == Weak::DoubleQuote),
                _ => i = self.push_char(i),
            }
        }
        if ctx == Weak::DoubleQuote {
            self.problem(OpaqueKind::ParseError, "unterminated double quote");
        }
        end
    }

    /// A `$` at `i`. `in_dq`: inside double quotes; `quotes`: `$'..'` and `$".."` allowed.
    fn dollar(&mut self, i: usize, end: usize, in_dq: bool, quotes: bool) -> usize {
        let next = if i + 1 < end { Some(self.b[i + 1]) } else { None };
        match next {
            Some(b'(') => {
                if i + 2 < end && self.b[i + 2] == b'(' {
                    if let Some(close) = arith_end(self.b, i + 3, end) {
                        self.expansion = true;
                        let body = self.slice(i + 3, close);
                        self.arith(body);
                        self.text.extend_from_slice(&self.b[i..close + 2]);
                        return close + 2;
                    }
                }
                match find_close(self.b, i + 2, end, Frame::Code(1)) {
                    Some(j) => {
                        self.expansion = true;
                        self.subs.push(self.slice(i + 2, j).to_string());
                        self.text.extend_from_slice(&self.b[i..=j]);
                        j + 1
                    }
                    None => {
                        self.problem(OpaqueKind::ParseError, "unterminated `$(`");
                        end
                    }
                }
            }
            Some(b'{') => match find_close(self.b, i + 2, end, Frame::Brace(in_dq)) {
                Some(j) => {
                    self.expansion = true;
                    let inner = self.slice(i + 2, j);
                    self.param(inner, in_dq);
                    self.text.extend_from_slice(&self.b[i..=j]);
                    j + 1
                }
                None => {
                    self.problem(OpaqueKind::ParseError, "unterminated `${`");
                    end
                }
            },
            Some(b'[') => match find_close(self.b, i + 2, end, Frame::Bracket(1)) {
                Some(j) => {
                    self.expansion = true;
                    let body = self.slice(i + 2, j);
                    self.arith(body);
                    self.text.extend_from_slice(&self.b[i..=j]);
                    j + 1
                }
                None => {
                    self.problem(OpaqueKind::ParseError, "unterminated `$[`");
                    end
                }
            },
            Some(b'\'') if quotes => {
                self.quoted = true;
                self.ansi_c(i + 2, end)
            }
            Some(b'"') if quotes => {
                // `$".."` is translated through the locale's message catalog.
                self.quoted = true;
                self.expansion = true;
                self.weak(i + 2, end, Weak::DoubleQuote)
            }
            Some(c) if c == b'_' || c.is_ascii_alphabetic() => {
                let mut j = i + 1;
                while j < end && (self.b[j] == b'_' || self.b[j].is_ascii_alphanumeric()) {
                    j += 1;
                }
                self.expansion = true;
                self.text.extend_from_slice(&self.b[i..j]);
                j
            }
            Some(c) if c.is_ascii_digit() || b"@*#?-$!".contains(&c) => {
                self.expansion = true;
                self.text.extend_from_slice(&self.b[i..i + 2]);
                i + 2
            }
            _ => {
                self.text.push(b'$');
                i + 1
            }
        }
    }

    /// A backquoted substitution starting at `i`; returns the index after it.
    fn backquote(&mut self, i: usize, end: usize, in_dq: bool) -> usize {
        let mut body: Vec<u8> = Vec::new();
        let mut j = i + 1;
        while j < end {
            let c = self.b[j];
            if c == b'\\' && j + 1 < end {
                let n = self.b[j + 1];
                if n == b'\\' || n == b'`' || n == b'$' || (in_dq && n == b'"') {
                    body.push(n);
                } else {
                    body.push(b'\\');
                    body.push(n);
                }
                j += 2;
                continue;
            }
            if c == b'`' {
                self.expansion = true;
                self.subs.push(String::from_utf8_lossy(&body).into_owned());
                self.text.extend_from_slice(&self.b[i..=j]);
                return j + 1;
            }
            body.push(c);
            j += 1;
        }
        self.problem(OpaqueKind::ParseError, "unterminated backquote");
        end
    }

    /// Decodes `$'..'` from `i` (just after the opening quote); returns the index after it.
    fn ansi_c(&mut self, mut i: usize, end: usize) -> usize {
        let b = self.b;
        while i < end {
            let c = b[i];
            if c == b'\'' {
                return i + 1;
            }
            if c != b'\\' || i + 1 >= end {
                i = self.push_char(i);
                continue;
            }
            let e = b[i + 1];
            i += 2;
            let simple = match e {
                b'a' => Some(7u8),
                b'b' => Some(8),
                b'e' | b'E' => Some(27),
                b'f' => Some(12),
                b'n' => Some(10),
                b'r' => Some(13),
                b't' => Some(9),
                b'v' => Some(11),
                b'\\' | b'\'' | b'"' | b'?' => Some(e),
                _ => None,
            };
            if let Some(v) = simple {
                self.text.push(v);
                continue;
            }
            match e {
                b'0'..=b'7' => {
                    let mut v: u32 = u32::from(e - b'0');
                    let mut n = 1;
                    while n < 3 && i < end && (b'0'..=b'7').contains(&b[i]) {
                        v = v * 8 + u32::from(b[i] - b'0');
                        i += 1;
                        n += 1;
                    }
                    self.ansi_byte((v & 0xFF) as u8);
                }
                b'x' | b'u' | b'U' => {
                    let max = match e {
                        b'x' => 2,
                        b'u' => 4,
                        _ => 8,
                    };
                    let mut v: u32 = 0;
                    let mut n = 0;
                    while n < max && i < end && b[i].is_ascii_hexdigit() {
                        v = v * 16 + hex_value(b[i]);
                        i += 1;
                        n += 1;
                    }
                    if n == 0 {
                        self.text.push(b'\\');
                        self.text.push(e);
                    } else if e == b'x' {
                        self.ansi_byte((v & 0xFF) as u8);
                    } else {
                        match char::from_u32(v) {
                            Some('\0') => self.ansi_byte(0),
                            Some(ch) => {
                                let mut buf = [0u8; 4];
                                self.text.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            }
                            None => self.problem(
                                OpaqueKind::Quoting,
                                format!("`$'..'` escape \\{}{v:X} is not a character", e as char),
                            ),
                        }
                    }
                }
                b'c' if i < end => {
                    let x = b[i];
                    i += 1;
                    let v = if x == b'?' { 0x7F } else { x.to_ascii_uppercase() & 0x1F };
                    self.ansi_byte(v);
                }
                _ => {
                    self.text.push(b'\\');
                    i = self.push_char(i - 1);
                }
            }
        }
        self.problem(OpaqueKind::ParseError, "unterminated `$'`");
        end
    }

    fn ansi_byte(&mut self, v: u8) {
        if v == 0 {
            self.problem(OpaqueKind::Quoting, "`$'..'` contains a NUL byte (bash silently truncates the word there)");
        }
        self.text.push(v);
    }

    /// Analyses `s` (a slice of this word) as the word inside `${x:-word}`.
    fn param_word(&mut self, s: &'a str, in_dq: bool) {
        if self.depth >= MAX_WORD_DEPTH {
            self.problem(OpaqueKind::TooComplex, "parameter expansions nested too deep");
            return;
        }
        let mut sub = Lx::new(s, self.depth + 1);
        sub.unquoted(0, s.len(), Some(in_dq));
        self.subs.append(&mut sub.subs);
        self.problems.append(&mut sub.problems);
    }

    /// Checks an arithmetic expression: substitutions inside are collected; anything but
    /// numbers and operators is a problem (variables' values are evaluated recursively as
    /// expressions, and an array subscript in them runs command substitutions).
    fn arith(&mut self, expr: &'a str) {
        if self.depth >= MAX_WORD_DEPTH {
            self.problem(OpaqueKind::TooComplex, "arithmetic nested too deep");
            return;
        }
        let mut sub = Lx::new(expr, self.depth + 1);
        sub.weak(0, expr.len(), Weak::Arith);
        let expanded = sub.expansion;
        self.subs.append(&mut sub.subs);
        self.problems.append(&mut sub.problems);
        if expanded {
            self.problem(
                OpaqueKind::Arithmetic,
                format!(
                    "arithmetic `{}` uses expansions (their values are evaluated as expressions)",
                    short(expr.trim())
                ),
            );
        } else if let Some(reason) = classify_arith(expr) {
            self.problem(OpaqueKind::Arithmetic, reason);
        }
    }

    /// Checks the inside of `${..}`.
    fn param(&mut self, inner: &'a str, in_dq: bool) {
        let b = inner.as_bytes();
        let shown = || short(&format!("${{{inner}}}"));
        if b.is_empty() {
            self.problem(OpaqueKind::Expansion, "empty `${}` (bad substitution)");
            return;
        }
        if b[0] == b'!' {
            self.problem(OpaqueKind::Expansion, format!("indirect expansion `{}`", shown()));
            return;
        }
        // `${#name}`: length.
        if b[0] == b'#' && b.len() > 1 {
            if let Some((len, sub)) = parameter(&b[1..]) {
                if 1 + len == b.len() {
                    self.subscript(inner, sub.map(|(s, e)| (s + 1, e + 1)), in_dq);
                    return;
                }
            }
        }
        let Some((len, sub)) = parameter(b) else {
            self.problem(OpaqueKind::Expansion, format!("unrecognised parameter expansion `{}`", shown()));
            return;
        };
        self.subscript(inner, sub, in_dq);
        let rest = inner.get(len..).unwrap_or("");
        let r = rest.as_bytes();
        if r.is_empty() {
            return;
        }
        let two = rest.get(..2).unwrap_or("");
        match (r[0], two) {
            (_, ":-" | ":=" | ":?" | ":+") => {
                self.param_word(rest.get(2..).unwrap_or(""), in_dq);
            }
            (b'-' | b'=' | b'?' | b'+', _) => self.param_word(rest.get(1..).unwrap_or(""), in_dq),
            (b'#' | b'%' | b'/' | b'^' | b',', _) => self.param_word(rest.get(1..).unwrap_or(""), in_dq),
            (b'@', _) => self.problem(OpaqueKind::Expansion, format!("parameter transformation `{}`", shown())),
            (b':', _) => self.arith(rest.get(1..).unwrap_or("")),
            _ => self.problem(OpaqueKind::Expansion, format!("unrecognised parameter expansion `{}`", shown())),
        }
    }

    /// Checks an array subscript `name[sub]` found in `inner` at byte range `sub`.
    fn subscript(&mut self, inner: &'a str, sub: Option<(usize, usize)>, in_dq: bool) {
        let Some((s, e)) = sub else { return };
        let idx = inner.get(s..e).unwrap_or("");
        if plain_subscript(idx) {
            return;
        }
        // Collect any substitutions inside, then refuse: the subscript of an indexed array is
        // evaluated arithmetically.
        self.param_word(idx, in_dq);
        self.problem(
            OpaqueKind::Expansion,
            format!("array subscript `[{}]` is evaluated (arithmetic on variables)", short(idx)),
        );
    }
}

/// A subscript that needs no evaluation: `@`, `*` or a (signed) decimal number.
pub(crate) fn plain_subscript(idx: &str) -> bool {
    let t = idx.trim();
    if t == "@" || t == "*" {
        return true;
    }
    let digits = t.strip_prefix('-').unwrap_or(t);
    !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit())
}

/// Parses a parameter name at the start of `b`: `name`, `name[sub]`, digits, or one special
/// character. Returns its length and the byte range of the subscript, if any.
fn parameter(b: &[u8]) -> Option<(usize, Option<(usize, usize)>)> {
    let first = *b.first()?;
    if first.is_ascii_digit() {
        let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
        return Some((n, None));
    }
    if b"@*#?-$!".contains(&first) {
        return Some((1, None));
    }
    if !(first == b'_' || first.is_ascii_alphabetic()) {
        return None;
    }
    let n = b.iter().take_while(|c| **c == b'_' || c.is_ascii_alphanumeric()).count();
    if b.get(n) == Some(&b'[') {
        let close = find_close(b, n + 1, b.len(), Frame::Bracket(1))?;
        return Some((close + 1, Some((n + 1, close))));
    }
    Some((n, None))
}

fn hex_value(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'a'..=b'f' => u32::from(c - b'a' + 10),
        b'A'..=b'F' => u32::from(c - b'A' + 10),
        _ => 0,
    }
}

fn find_byte(b: &[u8], from: usize, end: usize, needle: u8) -> Option<usize> {
    b.get(from..end)?.iter().position(|&c| c == needle).map(|p| p + from)
}

/// For `$((` at `start - 3`: the index of the first `)` of the closing `))` when the whole
/// construct is an arithmetic expansion, `None` when it is `$( (..) )` or unclear.
fn arith_end(b: &[u8], start: usize, end: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = start;
    while j < end {
        match b[j] {
            b'(' => depth += 1,
            b')' if depth == 0 => {
                return (j + 1 < end && b[j + 1] == b')').then_some(j);
            }
            b')' => depth -= 1,
            b'\'' | b'"' | b'`' | b'\\' => return None,
            _ => {}
        }
        j += 1;
    }
    None
}

/// Scanner frames for [`find_close`].
#[derive(Clone, Copy)]
enum Frame {
    /// Shell code inside `$(`, with the count of open parentheses.
    Code(u32),
    /// Inside `${`; true when the `${` itself was double-quoted.
    Brace(bool),
    /// Inside `"`.
    DoubleQuote,
    /// Inside `$[` or a subscript, with the count of open brackets.
    Bracket(u32),
}

fn skip_single(b: &[u8], from: usize, end: usize) -> Option<usize> {
    find_byte(b, from, end, b'\'').map(|j| j + 1)
}

fn skip_escaped(b: &[u8], mut j: usize, end: usize, close: u8) -> Option<usize> {
    while j < end {
        if b[j] == b'\\' {
            j += 2;
        } else if b[j] == close {
            return Some(j + 1);
        } else {
            j += 1;
        }
    }
    None
}

/// Finds the byte that closes the construct opened just before `start` (`)` for `$(`, `}`
/// for `${`, `]` for `$[`), honouring quotes, escapes, comments and nested constructs.
/// Iterative: nesting lives in a heap stack, not in recursion.
fn find_close(b: &[u8], start: usize, end: usize, first: Frame) -> Option<usize> {
    let mut stack = vec![first];
    let mut j = start;
    while j < end {
        let c = b[j];
        let top = *stack.last()?;
        let next = if j + 1 < end { Some(b[j + 1]) } else { None };
        match top {
            Frame::DoubleQuote => match c {
                b'\\' => j += 2,
                b'"' => {
                    stack.pop();
                    j += 1;
                }
                b'$' => j = open_dollar(&mut stack, next, j, true),
                b'`' => j = skip_escaped(b, j + 1, end, b'`')?,
                _ => j += 1,
            },
            Frame::Code(depth) => {
                let word_start =
                    j == start || matches!(b[j - 1], b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')');
                match c {
                    b'\\' => j += 2,
                    b'\'' => j = skip_single(b, j + 1, end)?,
                    b'"' => {
                        stack.push(Frame::DoubleQuote);
                        j += 1;
                    }
                    b'`' => j = skip_escaped(b, j + 1, end, b'`')?,
                    b'$' if next == Some(b'\'') => j = skip_escaped(b, j + 2, end, b'\'')?,
                    b'$' => j = open_dollar(&mut stack, next, j, false),
                    b'(' => {
                        stack.pop();
                        stack.push(Frame::Code(depth + 1));
                        j += 1;
                    }
                    b')' => {
                        stack.pop();
                        if depth > 1 {
                            stack.push(Frame::Code(depth - 1));
                        } else if stack.is_empty() {
                            return Some(j);
                        }
                        j += 1;
                    }
                    b'#' if word_start => {
                        j = find_byte(b, j, end, b'\n').unwrap_or(end);
                    }
                    _ => j += 1,
                }
            }
            Frame::Brace(in_dq) => match c {
                b'\\' => j += 2,
                b'\'' => j = skip_single(b, j + 1, end)?,
                b'"' => {
                    stack.push(Frame::DoubleQuote);
                    j += 1;
                }
                b'`' => j = skip_escaped(b, j + 1, end, b'`')?,
                b'$' => j = open_dollar(&mut stack, next, j, in_dq),
                b'}' => {
                    stack.pop();
                    if stack.is_empty() {
                        return Some(j);
                    }
                    j += 1;
                }
                _ => j += 1,
            },
            Frame::Bracket(depth) => match c {
                b'\\' => j += 2,
                b'$' => j = open_dollar(&mut stack, next, j, false),
                b'[' => {
                    stack.pop();
                    stack.push(Frame::Bracket(depth + 1));
                    j += 1;
                }
                b']' => {
                    stack.pop();
                    if depth > 1 {
                        stack.push(Frame::Bracket(depth - 1));
                    } else if stack.is_empty() {
                        return Some(j);
                    }
                    j += 1;
                }
                _ => j += 1,
            },
        }
    }
    None
}

/// Pushes the frame opened by `$` at `j` (followed by `next`); returns the next index.
fn open_dollar(stack: &mut Vec<Frame>, next: Option<u8>, j: usize, in_dq: bool) -> usize {
    match next {
        Some(b'(') => {
            stack.push(Frame::Code(1));
            j + 2
        }
        Some(b'{') => {
            stack.push(Frame::Brace(in_dq));
            j + 2
        }
        Some(b'[') => {
            stack.push(Frame::Bracket(1));
            j + 2
        }
        _ => j + 1,
    }
}

const ARITH_OPS: [&str; 23] = [
    "<<=", ">>=", "**=", "**", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "++", "--", "+=", "-=", "*=", "/=",
    "%=", "&=", "|=", "^=", "=",
];

/// `None` when `expr` is only numbers, operators, parentheses and blanks; otherwise why not
/// (side effects are reported before variable reads).
fn classify_arith(expr: &str) -> Option<String> {
    let b = expr.as_bytes();
    let shown = short(expr.trim());
    let mut first_other: Option<String> = None;
    let mut j = 0;
    'outer: while j < b.len() {
        let c = b[j];
        if c.is_ascii_whitespace() {
            j += 1;
            continue;
        }
        if c.is_ascii_digit() {
            while j < b.len() && (b[j].is_ascii_alphanumeric() || matches!(b[j], b'_' | b'@' | b'#')) {
                j += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let n = b[j..].iter().take_while(|c| **c == b'_' || c.is_ascii_alphanumeric()).count();
            let name = short(expr.get(j..j + n).unwrap_or(""));
            first_other.get_or_insert_with(|| {
                format!("arithmetic `{shown}` reads variable `{name}` (its value is evaluated as an expression)")
            });
            j += n;
            continue;
        }
        for op in ARITH_OPS {
            if b[j..].starts_with(op.as_bytes()) {
                if op.ends_with('=') && !matches!(op, "<=" | ">=" | "==" | "!=") || op == "++" || op == "--" {
                    return Some(format!("arithmetic `{shown}` has side effects (`{op}`)"));
                }
                j += op.len();
                continue 'outer;
            }
        }
        if b"+-*/%<>&|^!~?:,()".contains(&c) {
            j += 1;
            continue;
        }
        let ch = expr.get(j..).and_then(|s| s.chars().next()).unwrap_or('?');
        first_other.get_or_insert_with(|| format!("arithmetic `{shown}` contains `{ch}`"));
        j += ch.len_utf8();
    }
    first_other
}
