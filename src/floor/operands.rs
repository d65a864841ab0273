//! What a program's words stand for once its flags are walked: flag values
//! that may name files, operands that are files the program reads (globs
//! expanded through the probe, tilde forms resolved or refused), and
//! operands that are text but could still turn into a flag when computed.

use super::flags::Parsed;
use super::{Env, Floor};
use crate::shell::Word;

/// How operands may be checked: whether an operand that turns out to be a
/// flag is harmless, and from which index operands came after `--`.
#[derive(Clone, Copy)]
pub struct OperandRules {
    pub harmless_flags: bool,
    pub protected_from: usize,
}

impl OperandRules {
    pub fn of(harmless_flags: bool, parsed_protected_from: usize) -> OperandRules {
        OperandRules { harmless_flags, protected_from: parsed_protected_from }
    }
    pub fn strict() -> OperandRules {
        OperandRules { harmless_flags: false, protected_from: usize::MAX }
    }
    /// Could operand `index` (word `w`) become a flag when it expands?
    pub fn may_become_flag(&self, index: usize, w: &Word) -> bool {
        if self.harmless_flags || index >= self.protected_from {
            return false;
        }
        // A word whose source starts with a plain character expands to
        // names starting with that character, never with `-`.
        !w.raw.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || "./_,:@%^".contains(c))
    }
}

/// How a recursive content search treats hidden files.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Recursion {
    No,
    Yes { hidden: bool, follow: bool },
}

/// A word that is literal but for a tilde prefix (`~/x`, `~bob/x`, `~+`).
pub fn tilde_only(w: &Word) -> bool {
    w.has_tilde && !w.has_expansion && !w.has_glob && !w.has_brace
}

/// The path a tilde word names, as bash expands it: `~` and `~/x` from the
/// user's home (left for [`super::normalize`]), `~+` from the working
/// directory, `~user` from that user's home through the probe. `~-` is the
/// previous directory, which cannot be known, and so is an unknown user.
pub fn resolve_tilde(text: &str, env: &Env<'_>) -> Result<String, String> {
    let (head, rest) = match text.find('/') {
        Some(k) => (&text[..k], &text[k..]),
        None => (text, ""),
    };
    match head {
        "~" => Ok(text.to_string()),
        "~+" => Ok(format!(".{rest}")),
        "~-" => Err(format!("`{text}` is the previous directory ($OLDPWD), which gate cannot know")),
        _ => {
            let user = &head[1..];
            if user.is_empty() || !user.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                return Err(format!("`{text}` is a tilde form gate does not resolve (a directory-stack entry?)"));
            }
            match env.probe.home_of(user) {
                Some(h) => Ok(format!("{}{rest}", h.trim_end_matches('/'))),
                None => Err(format!("`{text}` names the home of `{user}`, who is not a user here")),
            }
        }
    }
}

/// Flag values can name files a program reads (`--files0-from=F`,
/// `--exclude-from F`, `-f F`): a value must be fixed text, and must not
/// name a secret file.
pub fn check_values(floor: &Floor, name: &str, p: &Parsed<'_>, env: &Env<'_>) -> Result<(), String> {
    for (flag, v) in &p.values {
        let text = if v.literal {
            v.text.clone()
        } else if tilde_only(v) {
            resolve_tilde(&v.text, env).map_err(|e| format!("`{name} {flag}`: {e}"))?
        } else {
            return Err(format!(
                "`{name} {flag}`: the value `{}` is computed at run time, so gate cannot check what it names",
                v.raw
            ));
        };
        if let Some(r) = floor.sensitive_reason(&text, env) {
            return Err(format!("`{name} {flag}` would read a secret: {r}"));
        }
    }
    for (flag, v) in &p.inline_values {
        if let Some(r) = floor.sensitive_reason(v, env) {
            return Err(format!("`{name} {flag}` would read a secret: {r}"));
        }
    }
    Ok(())
}

/// Check operands that are files the program reads.
pub fn check_paths(
    floor: &Floor,
    name: &str,
    operands: &[&Word],
    env: &Env<'_>,
    rules: OperandRules,
    rec: Recursion,
) -> Result<(), String> {
    for (k, w) in operands.iter().enumerate() {
        let paths = operand_paths(name, k, w, env, rules)?;
        for p in paths {
            let reason = match rec {
                Recursion::Yes { hidden, follow } => floor.recursive_reason(&p, env, hidden, follow),
                Recursion::No => floor.sensitive_reason(&p, env),
            };
            if let Some(r) = reason {
                return Err(format!("`{name}` would read a secret: {r}"));
            }
        }
    }
    Ok(())
}

/// The file names an operand stands for. Globs are expanded through the
/// probe to check what they name; a glob that could expand to a flag makes
/// the command unsafe unless the program's flags are all harmless.
pub fn operand_paths(
    name: &str,
    index: usize,
    w: &Word,
    env: &Env<'_>,
    rules: OperandRules,
) -> Result<Vec<String>, String> {
    if w.literal {
        // `@FILE` is a response file to binutils and others: FILE holds more
        // arguments (files to read, flags) that gate cannot see.
        if w.text.strip_prefix('@').is_some_and(|f| !f.is_empty()) {
            return Err(format!(
                "`{name} {}`: a response file holds more arguments, which gate cannot see; name the files instead",
                w.raw
            ));
        }
        return Ok(vec![w.text.clone()]);
    }
    if super::is_process_substitution(w) {
        return Ok(Vec::new());
    }
    if w.has_expansion || w.has_brace {
        return Err(format!(
            "`{name}`: the file argument `{}` is computed at run time, so gate cannot check what it reads",
            w.raw
        ));
    }
    if w.has_tilde && !w.has_glob {
        return resolve_tilde(&w.text, env).map(|p| vec![p]).map_err(|e| format!("`{name}`: {e}"));
    }
    if w.has_glob && !w.has_tilde {
        // Quoting or a backslash makes some of its `*?[` literal, which the
        // word's text no longer shows: gate cannot expand it as the shell does.
        if w.quoted || w.raw.contains('\\') {
            return Err(format!(
                "`{name}`: `{}` mixes quoted and pattern characters, so gate cannot tell what it expands to",
                w.raw
            ));
        }
        if rules.may_become_flag(index, w) {
            return Err(format!(
                "`{name}`: `{}` could expand to a file name starting with `-`, which {name} would read as a flag; write `./{}` or put `--` before it",
                w.raw, w.raw
            ));
        }
        // Expanded in every directory the line may be in by then (a `cd`
        // earlier on the line moves where the glob matches).
        let mut out = Vec::new();
        for base in env.bases_for(&w.text) {
            let Some(matches) = env.probe.glob(base, &w.text) else {
                return Err(format!("`{name}`: cannot tell what `{}` expands to", w.raw));
            };
            if matches.is_empty() {
                out.push(super::normalize(&w.text, base, env.home));
            }
            out.extend(matches.iter().map(|m| super::normalize(m, base, env.home)));
        }
        return Ok(out);
    }
    Err(format!("`{name}`: cannot tell what `{}` expands to", w.raw))
}

/// Operands that are not files. A computed one is fine when it stays one
/// word (its expansions are quoted) and cannot turn into a flag.
pub fn check_text(name: &str, operands: &[&Word], rules: OperandRules) -> Result<(), String> {
    for (k, w) in operands.iter().enumerate() {
        if w.literal || super::is_process_substitution(w) {
            continue;
        }
        let splits = w.has_glob || w.has_brace || (w.has_expansion && !super::expansions_quoted(&w.raw));
        if splits && !rules.harmless_flags {
            return Err(format!(
                "`{name}`: the argument `{}` is computed at run time and may split into several",
                w.raw
            ));
        }
        if rules.may_become_flag(k, w) {
            return Err(format!("`{name}`: the argument `{}` is computed at run time and could be a flag", w.raw));
        }
    }
    Ok(())
}

/// A literal word, as the walker's callers sometimes need to make one (`.`
/// for a recursive search without operands).
pub fn literal(text: &str) -> Word {
    Word { text: text.into(), raw: text.into(), literal: true, ..Default::default() }
}
