//! Brace expansion as bash 5 does it (`braces.c`: `brace_expand`, `brace_gobbler`,
//! `expand_amble`, `expand_seqterm`, `mkseq`), on a word's source text before quote removal:
//! comma lists, nested lists, several braces in one word, and integer and letter sequences.
//! [`expand`] answers `None` whenever the answer is not certain for both bash and zsh (the
//! shells agents run): a word with `$` or a backquote, braces that do not pair up or that
//! hold a quoted brace, a sequence form the two shells read differently (signs, `-0`, a zero
//! or negative step, a letter step, letters beyond `a-zA-Z`), an empty resulting word, more than [`MAX_WORDS`] words, a word longer than [`MAX_WORD_LEN`],
//! or more work than [`FUEL`] steps. The caller then keeps the word unexpanded (it asks).

/// More resulting words than this are not expanded.
pub(crate) const MAX_WORDS: usize = 256;
/// A source word longer than this, or a resulting word longer than this, is not expanded.
pub(crate) const MAX_WORD_LEN: usize = 1024;
/// Scanning steps allowed for one word (the scan is quadratic on runs of unmatched `{`).
const FUEL: usize = 200_000;
/// Deepest recursion followed (one level per brace, nested or in a row).
const MAX_DEPTH: usize = 64;

/// Why expansion stopped without an answer.
struct Bail;

struct Ex {
    fuel: usize,
}

/// The words bash makes of the source word `raw` by brace expansion (one word, `raw` itself,
/// when it has no brace expression), or `None` when that is not certain (see the module doc).
pub(crate) fn expand(raw: &str) -> Option<Vec<String>> {
    if raw.len() > MAX_WORD_LEN || raw.contains(['$', '`']) || !balanced(raw.as_bytes()) {
        return None;
    }
    let mut ex = Ex { fuel: FUEL };
    let words = ex.brace_expand(raw.as_bytes(), 0).ok()?;
    let mut out = Vec::with_capacity(words.len());
    for w in words {
        // bash drops an empty unquoted word; zsh keeps it as an empty argument.
        if w.is_empty() || w.len() > MAX_WORD_LEN {
            return None;
        }
        out.push(String::from_utf8(w).ok()?);
    }
    Some(out)
}

/// The unquoted braces pair up, and no quoted or escaped brace sits inside a pair: where
/// they do not, bash and zsh match braces differently (or zsh refuses the line).
fn balanced(b: &[u8]) -> bool {
    let mut depth = 0usize;
    let mut quote = 0u8;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match (quote, c) {
            (0 | b'"', b'\\') => {
                if depth > 0 && matches!(b.get(i + 1), Some(b'{' | b'}')) {
                    return false;
                }
                i += 1;
            }
            (0, b'\'' | b'"') => quote = c,
            (0, b'{') => depth += 1,
            (0, b'}') => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            (q, _) if q != 0 && c == q => quote = 0,
            (q, b'{' | b'}') if q != 0 && depth > 0 => return false,
            _ => {}
        }
        i += 1;
    }
    depth == 0
}

fn brace_whitespace(c: Option<&u8>) -> bool {
    matches!(c, None | Some(b' ' | b'\t' | b'\n'))
}

/// The cartesian product `a × b`, in bash's order, bounded.
fn concat(a: Vec<Vec<u8>>, b: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, Bail> {
    if a.len().saturating_mul(b.len()) > MAX_WORDS {
        return Err(Bail);
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in &a {
        for y in b {
            if x.len() + y.len() > MAX_WORD_LEN {
                return Err(Bail);
            }
            let mut w = x.clone();
            w.extend_from_slice(y);
            out.push(w);
        }
    }
    Ok(out)
}

impl Ex {
    fn burn(&mut self, n: usize) -> Result<(), Bail> {
        self.fuel = self.fuel.checked_sub(n).ok_or(Bail)?;
        Ok(())
    }

    /// bash's `brace_gobbler`: from `*i`, finds the first `satisfy` byte outside quotes and
    /// nested braces (for `}`, only once a top-level `,` or `..` was seen). Returns it, or
    /// `None` at the end of `t`; `*i` is left on it.
    fn gobble(&mut self, t: &[u8], i: &mut usize, satisfy: u8) -> Result<Option<u8>, Bail> {
        let mut level = 0usize;
        let mut quoted = 0u8;
        let mut pass_next = false;
        let mut commas = usize::from(satisfy != b'}');
        let start = *i;
        while let Some(&c) = t.get(*i) {
            if pass_next {
                pass_next = false;
                *i += 1;
                continue;
            }
            if c == b'\\' && (quoted == 0 || quoted == b'"') {
                pass_next = true;
                *i += 1;
                continue;
            }
            if quoted != 0 {
                if c == quoted {
                    quoted = 0;
                }
                *i += 1;
                continue;
            }
            if c == b'"' || c == b'\'' {
                quoted = c;
                *i += 1;
                continue;
            }
            if c == satisfy && level == 0 && commas > 0 {
                // An open brace with blanks (or the word's edge) on both sides, or followed by
                // `}`, is not the start of an expression.
                if c == b'{'
                    && (*i == 0 || brace_whitespace(t.get(*i - 1)))
                    && (brace_whitespace(t.get(*i + 1)) || t.get(*i + 1) == Some(&b'}'))
                {
                    *i += 1;
                    continue;
                }
                break;
            }
            if c == b'{' {
                level += 1;
            } else if c == b'}' && level > 0 {
                level -= 1;
            } else if satisfy == b'}'
                && level == 0
                && (c == b',' || (t[*i..].starts_with(b"..") && t.get(*i + 2) != Some(&b'}')))
            {
                // A top-level `,`, or `..` not right before the `}`.
                commas += 1;
            }
            *i += 1;
        }
        self.burn(*i - start + 1)?;
        Ok(t.get(*i).copied())
    }

    /// bash's `brace_expand` on `text`.
    fn brace_expand(&mut self, text: &[u8], depth: usize) -> Result<Vec<Vec<u8>>, Bail> {
        if depth > MAX_DEPTH {
            return Err(Bail);
        }
        // Find the first `{` that opens a valid expression.
        let mut i = 0;
        let mut found = false;
        while self.gobble(text, &mut i, b'{')?.is_some() {
            let mut j = i + 1;
            if self.gobble(text, &mut j, b'}')?.is_some() {
                found = true;
                break;
            }
            i += 1;
        }
        if !found {
            return Ok(vec![text.to_vec()]);
        }
        let preamble = text[..i].to_vec();
        let start = i + 1;
        i = start;
        if self.gobble(text, &mut i, b'}')?.is_none() {
            return Ok(vec![text.to_vec()]);
        }
        let amble = &text[start..i];
        // A `,` anywhere in the amble (even quoted or nested) makes it a list.
        let mut j = 0;
        let mut has_comma = false;
        while j < amble.len() {
            match amble[j] {
                b'\\' => j += 2,
                b',' => {
                    has_comma = true;
                    break;
                }
                _ => j += 1,
            }
        }
        let tack = if has_comma {
            self.expand_amble(amble, depth)?
        } else {
            match seqterm(amble)? {
                Some(seq) => seq,
                // Not a sequence: the braces stay, and the rest of the word is expanded.
                None if i + 1 < text.len() => vec![text[start - 1..=i].to_vec()],
                None => return Ok(vec![text.to_vec()]),
            }
        };
        let mut result = concat(vec![preamble], &tack)?;
        let postamble = &text[i + 1..];
        if !postamble.is_empty() {
            let rest = self.brace_expand(postamble, depth + 1)?;
            result = concat(result, &rest)?;
        }
        Ok(result)
    }

    /// bash's `expand_amble`: splits the amble at top-level commas and expands each part.
    fn expand_amble(&mut self, amble: &[u8], depth: usize) -> Result<Vec<Vec<u8>>, Bail> {
        let mut result = Vec::new();
        let mut start = 0;
        let mut i = 0;
        loop {
            let c = self.gobble(amble, &mut i, b',')?;
            let end = i.min(amble.len());
            let partial = self.brace_expand(&amble[start..end], depth + 1)?;
            if result.len() + partial.len() > MAX_WORDS {
                return Err(Bail);
            }
            result.extend(partial);
            if c.is_none() {
                // A list of one: its commas were all quoted or nested, and bash drops the
                // braces (`{..'a,b'}` gives `..a,b`) where zsh keeps them.
                if start == 0 {
                    return Err(Bail);
                }
                return Ok(result);
            }
            i += 1;
            start = i;
        }
    }
}

/// `[0-9]+`, optionally after a `-`, as bash's `strtoimax` reads it from the start of `s`:
/// the value and the length read. A `+` sign or a blank is refused (zsh reads those
/// differently), as is a value of more than 9 digits.
fn number(s: &[u8]) -> Option<(i64, usize)> {
    let neg = s.first() == Some(&b'-');
    let digits = s[usize::from(neg)..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let end = usize::from(neg) + digits;
    let v: i64 = std::str::from_utf8(&s[usize::from(neg)..end]).ok()?.parse().ok()?;
    Some((if neg { -v } else { v }, end))
}

/// bash's `expand_seqterm` and `mkseq` on an amble without commas: `Ok(Some(words))` for a
/// sequence, `Ok(None)` when bash does not read it as one, `Err` when unsure.
fn seqterm(amble: &[u8]) -> Result<Option<Vec<Vec<u8>>>, Bail> {
    let Some(dots) = amble.windows(2).position(|w| w == b"..") else { return Ok(None) };
    let (lhs, rhs) = (&amble[..dots], &amble[dots + 2..]);
    if lhs.is_empty() || rhs.is_empty() {
        return Ok(None);
    }
    // Anything bash might read as a signed or blank-padded number, or a letter outside ASCII,
    // is where bash and zsh part ways.
    if amble.iter().any(|c| matches!(c, b'+' | b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r') || !c.is_ascii()) {
        return Err(Bail);
    }
    // zsh pads `{-0..2}` to two places; bash does not.
    if lhs.starts_with(b"-0") || rhs.starts_with(b"-0") {
        return Err(Bail);
    }
    let lhs_int = match number(lhs) {
        Some((v, n)) if n == lhs.len() => Some(v),
        Some(_) => None,
        None if lhs.first().is_some_and(|c| c.is_ascii_digit()) => return Err(Bail),
        None => None,
    };
    let lhs_char = (lhs.len() == 1 && lhs[0].is_ascii_alphabetic()).then(|| lhs[0]);
    // The right-hand side: an end, then optionally `..STEP`.
    let (end_int, end_char, after) =
        if rhs[0].is_ascii_digit() || (rhs[0] == b'-' && rhs.get(1).is_some_and(u8::is_ascii_digit)) {
            match number(rhs) {
                Some((v, n)) if rhs.get(n).is_none_or(|c| *c == b'.') => (Some(v), None, n),
                Some(_) => return Ok(None),
                None => return Err(Bail),
            }
        } else if rhs[0].is_ascii_alphabetic() && rhs.get(1).is_none_or(|c| *c == b'.') {
            (None, Some(rhs[0]), 1)
        } else {
            return Ok(None);
        };
    let tail = &rhs[after..];
    let step = if tail.is_empty() {
        None
    } else if tail.len() > 2 && tail.starts_with(b"..") {
        match number(&tail[2..]) {
            Some((v, n)) if n == tail.len() - 2 => Some(v),
            // `..` followed by what strtoimax cannot read in full.
            Some(_) => return Ok(None),
            None if tail[2].is_ascii_digit() || tail[2] == b'-' => return Err(Bail),
            None => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    match step {
        // bash reads a step of 0 as 1 and ignores a step's sign; zsh does neither.
        Some(s) if s <= 0 => return Err(Bail),
        _ => {}
    }
    let incr = step.unwrap_or(1);
    let rhs_len = after;
    let words = match (lhs_int, lhs_char, end_int, end_char) {
        (Some(a), _, Some(b), _) => {
            // Zero padding: to the widest side written with a leading zero.
            let padded = |s: &[u8]| (s.len() > 1 && s[0] == b'0') || (s.len() > 2 && s[0] == b'-' && s[1] == b'0');
            let width = if padded(lhs) || padded(&rhs[..rhs_len]) { lhs.len().max(rhs_len) } else { 0 };
            let count = (a - b).unsigned_abs() / incr.unsigned_abs() + 1;
            if count > MAX_WORDS as u64 {
                return Err(Bail);
            }
            let signed = if a <= b { incr } else { -incr };
            (0..count as i64).map(|k| format!("{:0width$}", a + k * signed).into_bytes()).collect()
        }
        (None, Some(a), _, Some(b)) => {
            if step.is_some()
                || !(a.is_ascii_lowercase() && b.is_ascii_lowercase()
                    || a.is_ascii_uppercase() && b.is_ascii_uppercase())
            {
                // A letter step, or a range through `[\]^_` and backquote.
                return Err(Bail);
            }
            let (lo, hi) = (a.min(b), a.max(b));
            let mut v: Vec<Vec<u8>> = (lo..=hi).map(|c| vec![c]).collect();
            if a > b {
                v.reverse();
            }
            v
        }
        _ => return Ok(None),
    };
    Ok(Some(words))
}
