//! Cheap linear checks run before the tokenizer and before the parser, so that neither
//! recurses deeply (stack) nor backtracks exponentially (time): a quoting-blind count of
//! `$(`/`${`/`$[` openers, and a nesting count over the token stream.

use super::{Opaque, OpaqueKind, MAX_COMPOUND_NESTING, MAX_EXPANSION_OPENERS, MAX_PAREN_NESTING};
use brush_parser::Token;

/// Counts `$(`, `${` and `$[` anywhere in `src`, quoted or not. The tokenizer recurses once
/// per opener it meets, so this total bounds its depth whatever the quoting.
pub(crate) fn check_openers(src: &str) -> Result<(), Opaque> {
    let count = src.as_bytes().windows(2).filter(|w| w[0] == b'$' && matches!(w[1], b'(' | b'{' | b'[')).count();
    if count > MAX_EXPANSION_OPENERS {
        return Err(Opaque::new(
            OpaqueKind::TooComplex,
            format!("{count} `$(`/`${{`/`$[` expansions, more than the {MAX_EXPANSION_OPENERS} analysed"),
        ));
    }
    Ok(())
}

/// Characters allowed in a here-document delimiter.
fn plain_delimiter_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"_.-+:@%,=^!?/~*".contains(&c)
}

/// Requires every `<<` (quoted or not, so that none the tokenizer sees is missed) to be
/// followed by a plain delimiter: plain characters, `'..'`/`".."` of plain characters, or
/// `\c`, non-empty, then a blank, `;&|<>)]` or the end. brush-parser's tokenizer loops
/// forever, allocating, on some other delimiters (`<<""`, `$(<< `, `<<-"'"(`).
pub(crate) fn check_heredoc_delimiters(src: &str) -> Result<(), Opaque> {
    let b = src.as_bytes();
    let len = b.len();
    let mut i = 0;
    while i + 1 < len {
        let is_heredoc =
            b[i] == b'<' && b[i + 1] == b'<' && (i == 0 || b[i - 1] != b'<') && b.get(i + 2) != Some(&b'<');
        if !is_heredoc {
            i += 1;
            continue;
        }
        let mut j = i + 2;
        if b.get(j) == Some(&b'-') {
            j += 1;
        }
        while j < len && matches!(b[j], b' ' | b'\t') {
            j += 1;
        }
        let mut value = 0usize;
        let mut ok = true;
        while j < len {
            let c = b[j];
            if plain_delimiter_char(c) {
                value += 1;
                j += 1;
            } else if c == b'\\' {
                if j + 1 < len && plain_delimiter_char(b[j + 1]) {
                    value += 1;
                    j += 2;
                } else {
                    ok = false;
                    break;
                }
            } else if c == b'\'' || c == b'"' {
                let mut k = j + 1;
                while k < len && plain_delimiter_char(b[k]) {
                    k += 1;
                }
                if k < len && b[k] == c {
                    value += k - j - 1;
                    j = k + 1;
                } else {
                    ok = false;
                    break;
                }
            } else if c.is_ascii_whitespace() || b";&|<>)]".contains(&c) {
                break;
            } else {
                ok = false;
                break;
            }
        }
        if !ok || value == 0 {
            return Err(Opaque::new(
                OpaqueKind::Unsupported,
                "`<<` not followed by a plain here-document delimiter (only letters, digits and \
                 `_.-+:@%,=^!?/~*`, optionally quoted, are analysed)",
            ));
        }
        i = j.max(i + 2);
    }
    Ok(())
}

fn is_redirect_op(op: &str) -> bool {
    matches!(op, "<" | ">" | ">>" | "<<" | "<<-" | "<<<" | "<&" | ">&" | "<>" | ">|" | "&>" | "&>>")
}

/// Nesting of compound commands over the token stream, one depth counter over every
/// construct the parser recurses on: `(`, `{`, `[[`, the keywords that open a compound
/// command, and runs of `!` (each `!` of `! ! cmd` or `[[ ! ! a ]]` is one level of the
/// parser's recursion and of the tree it builds). Openers count wherever they appear (a
/// superset of real openers); closers count only in command position and only against an
/// open construct of their kind, so the count never falls below about half the real depth.
pub(crate) fn check_token_nesting(tokens: &[Token]) -> Result<(), Opaque> {
    let mut bang = 0usize;
    let mut paren = 0usize;
    let mut brace = 0usize;
    let mut keyword = 0usize;
    let mut dbracket = 0usize;
    let mut command_position = true;
    let mut after_redirect = false;
    let mut prev_word_in = false;
    for token in tokens {
        bang = match token {
            Token::Word(w, _) if w == "!" && !after_redirect => bang + 1,
            _ => 0,
        };
        match token {
            Token::Operator(op, _) => {
                prev_word_in = false;
                if is_redirect_op(op) {
                    after_redirect = true;
                    continue;
                }
                after_redirect = false;
                match op.as_str() {
                    "(" => paren += 1,
                    ")" => paren = paren.saturating_sub(1),
                    _ => {}
                }
                command_position = true;
            }
            Token::Word(w, _) => {
                if after_redirect {
                    after_redirect = false;
                    prev_word_in = false;
                    continue;
                }
                let w = w.as_str();
                match w {
                    "if" | "case" | "for" | "while" | "until" | "select" => keyword += 1,
                    "{" => brace += 1,
                    "[[" => dbracket += 1,
                    "]]" => dbracket = dbracket.saturating_sub(1),
                    "fi" | "done" if command_position => keyword = keyword.saturating_sub(1),
                    "esac" if command_position || prev_word_in => keyword = keyword.saturating_sub(1),
                    "}" if command_position => brace = brace.saturating_sub(1),
                    _ => {}
                }
                command_position =
                    matches!(w, "then" | "do" | "else" | "elif" | "if" | "while" | "until" | "{" | "!" | "time");
                prev_word_in = w == "in";
            }
        }
        if paren > MAX_PAREN_NESTING {
            return Err(Opaque::new(OpaqueKind::TooComplex, format!("`(` nested more than {MAX_PAREN_NESTING} deep")));
        }
        let total = paren + brace + keyword + dbracket + bang;
        if total > MAX_COMPOUND_NESTING {
            return Err(Opaque::new(
                OpaqueKind::TooComplex,
                format!("compound commands and `!` nested more than {MAX_COMPOUND_NESTING} deep"),
            ));
        }
    }
    Ok(())
}

/// A word of ten or more digits: as the file descriptor of a redirection
/// (`5555555555<x`) it overflows the parser's integer and panics it, so
/// such input is refused before parsing.
pub(crate) fn check_io_numbers(tokens: &[Token]) -> Result<(), Opaque> {
    for t in tokens {
        if let Token::Word(w, _) = t {
            if w.len() >= 10 && w.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Opaque::new(
                    OpaqueKind::TooComplex,
                    format!("a {}-digit number where a file descriptor may stand", w.len()),
                ));
            }
        }
    }
    Ok(())
}
