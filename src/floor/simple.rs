//! Programs whose safety is one small rule beyond their flags: printf and
//! test (a computed word may be a flag or a subscript), kill, crontab and
//! printenv (only their listing forms), cd (where later commands run), xxd
//! (its own whole-word flags), dd (only reading keys), read (only the
//! script's own variables), date (no clock setting) and ps (no `e`).

use super::flags::walk;
use super::operands::{check_paths, resolve_tilde, tilde_only, OperandRules, Recursion};
use super::spec::ProgramSpec;
use super::{Env, Floor};
use crate::shell::Word;

/// `printf -v NAME` assigns a variable (a subscript in NAME runs code), so
/// a first word that is `-v`, or is computed and could be, asks.
pub(super) fn check_printf(args: &[&Word]) -> Result<(), String> {
    match args.first() {
        Some(w) if w.literal && (w.text == "-v" || w.text.starts_with("-v")) => {
            Err("`printf -v` assigns a shell variable".into())
        }
        Some(w) if !w.literal && !starts_plain(w) => Err(format!(
            "`printf {}`: the first word is computed and could be `-v NAME`, which assigns a variable",
            w.raw
        )),
        _ => Ok(()),
    }
}

/// The word's source starts with a character that expands to itself, so
/// its value cannot start with `-`.
fn starts_plain(w: &Word) -> bool {
    let raw = w.raw.trim_start_matches(['"', '\'']);
    raw.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || "./_,:@%+=".contains(c))
}

/// `test`/`[`: `-v NAME` evaluates NAME's array subscript, which can run a
/// command substitution. A computed word passes only where it can only be
/// an operand: right after an operator, or right before a binary one;
/// elsewhere its value could be `-v` (or another operator) itself. A
/// computed operand of `-v` asks.
pub(super) fn check_test(args: &[&Word]) -> Result<(), String> {
    let args = match args.split_last() {
        Some((last, rest)) if last.literal && last.text == "]" => rest,
        _ => args,
    };
    let op = |w: Option<&&Word>| {
        w.is_some_and(|w| {
            w.literal
                && ((w.text.starts_with('-') && w.text.len() > 1)
                    || matches!(w.text.as_str(), "=" | "==" | "!=" | "<" | ">" | "!" | "(" | ")"))
        })
    };
    for (k, w) in args.iter().enumerate() {
        if w.literal && w.text == "-v" {
            match args.get(k + 1) {
                Some(n) if n.literal && n.text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {}
                Some(n) => {
                    return Err(format!(
                        "`test -v {}`: the variable name is computed or has a subscript, which bash evaluates",
                        n.raw
                    ))
                }
                None => {}
            }
        }
        if w.literal || starts_plain(w) {
            continue;
        }
        if !super::expansions_quoted(&w.raw) {
            return Err(format!("`test`: `{}` is computed and may split into an operator such as `-v`", w.raw));
        }
        let after_op = k > 0 && op(args.get(k - 1)) && args[k - 1].text != "-v";
        let before_binary =
            args.get(k + 1).is_some_and(|n| n.literal && !n.text.starts_with("-v")) && op(args.get(k + 1));
        if !(args.len() == 1 || after_op || before_binary) {
            return Err(format!(
                "`test`: `{}` is computed and could be the operator `-v`, which evaluates a subscript",
                w.raw
            ));
        }
    }
    Ok(())
}

pub(super) fn check_kill(args: &[&Word]) -> Result<(), String> {
    if !args.is_empty()
        && args.iter().all(|w| w.literal)
        && matches!(args[0].text.as_str(), "-l" | "-L" | "--list" | "--table")
    {
        Ok(())
    } else {
        Err("`kill` sends a signal (only `kill -l` lists them)".into())
    }
}

/// cd and pushd change where the rest of the line reads.
pub(super) fn check_cd(floor: &Floor, name: &str, args: &[&Word], env: &Env<'_>) -> Result<(), String> {
    let target = args.iter().find(|w| !w.text.starts_with('-') || w.text == "-");
    if args.iter().filter(|w| !w.text.starts_with('-')).count() > 1 {
        return Err(format!("`{name}` with two operands (zsh replaces part of the directory with the second)"));
    }
    match target {
        None => Ok(()),
        Some(w) if w.text == "-" => Err(format!("`{name} -` goes to the previous directory, which gate cannot know")),
        Some(w) if name == "pushd" && (w.text.starts_with('+') || w.text.starts_with('-')) => {
            Err(format!("`pushd {}` rotates the directory stack, which gate cannot know", w.raw))
        }
        Some(w) if tilde_only(w) => {
            let dir = resolve_tilde(&w.text, env).map_err(|e| format!("`{name}`: {e}"))?;
            match floor.sensitive_reason(&dir, env) {
                Some(r) => Err(format!("`{name}` into a secret directory: {r}")),
                None => Ok(()),
            }
        }
        Some(w) if !w.literal => Err(format!("`{name} {}`: the directory is computed at run time", w.raw)),
        Some(w) => match floor.sensitive_reason(&w.text, env) {
            Some(r) => Err(format!("`{name}` into a secret directory: {r}")),
            None => Ok(()),
        },
    }
}

/// xxd reads each flag as a whole word (`-ps` is `-p`, the rest ignored),
/// so only the listed words pass; a second operand is the output file.
pub(super) fn check_xxd(floor: &Floor, spec: &ProgramSpec, args: &[&Word], env: &Env<'_>) -> Result<(), String> {
    if let Some(w) = args.iter().find(|w| !w.literal) {
        return Err(format!("`xxd`: `{}` is computed at run time", w.raw));
    }
    // xxd's options end at its first operand: a word after the file, even
    // one that looks like a flag, is the output file.
    let parsed = walk("xxd", spec, args, true)?;
    let operands: Vec<&Word> = args[parsed.rest..].to_vec();
    if operands.len() > 1 {
        return Err(format!("`xxd {} {}` writes {}", operands[0].raw, operands[1].raw, operands[1].raw));
    }
    check_paths(floor, "xxd", &operands, env, OperandRules::strict(), Recursion::No)
}

pub(super) fn check_printenv(args: &[&Word]) -> Result<(), String> {
    let names: Vec<&&Word> = args.iter().filter(|w| !w.text.starts_with('-')).collect();
    if names.is_empty() {
        return Err("`printenv` alone prints the environment, which can hold API keys and tokens".into());
    }
    match names.iter().find(|w| !w.literal || super::looks_secret(&w.text)) {
        Some(w) => Err(format!("`printenv {}` prints what looks like a secret", w.raw)),
        None => Ok(()),
    }
}

pub(super) fn check_crontab(args: &[&Word]) -> Result<(), String> {
    if args.len() == 1 && args[0].is("-l") {
        Ok(())
    } else {
        Err("`crontab` changes the crontab (only `crontab -l` lists it)".into())
    }
}

pub(super) fn check_dd(floor: &Floor, spec: &ProgramSpec, args: &[&Word], env: &Env<'_>) -> Result<(), String> {
    for w in args {
        let (k, v) = w.text.split_once('=').unwrap_or((w.text.as_str(), ""));
        if !w.literal || !spec.keys.iter().any(|key| key == k) {
            return Err(format!("`dd {}` may write (only {} are read-only)", w.raw, spec.keys.join("=, ")));
        }
        if spec.keys_path.iter().any(|key| key == k) {
            if let Some(r) = floor.sensitive_reason(v, env) {
                return Err(format!("`dd` would read a secret: {r}"));
            }
        }
    }
    Ok(())
}

pub(super) fn check_read(name: &str, spec: &ProgramSpec, args: &[&Word]) -> Result<(), String> {
    let parsed = walk(name, spec, args, false)?;
    let mut names: Vec<(bool, String)> = parsed.operands.iter().map(|w| (w.literal, w.text.clone())).collect();
    names.extend(parsed.values.iter().filter(|(f, _)| f == "-a").map(|(_, v)| (v.literal, v.text.clone())));
    names.extend(parsed.inline_values.iter().filter(|(f, _)| f == "-a").map(|(_, v)| (true, v.clone())));
    for (literal, n) in names {
        if !literal || !super::is_local_variable(&n) {
            return Err(format!(
                "`read {n}` sets a variable other programs or the shell may read; only lower-case names pass"
            ));
        }
    }
    Ok(())
}

pub(super) fn check_date(operands: &[&Word]) -> Result<(), String> {
    match operands.iter().find(|w| !w.text.starts_with('+')) {
        Some(w) => Err(format!("`date {}` sets the clock", w.text)),
        None => Ok(()),
    }
}

/// `e` in a dashed bundle can fall back to BSD `e`, and in a BSD bundle it
/// prints other processes' environments.
pub(super) fn check_ps(spec: &ProgramSpec, args: &[&Word], operands: &[&Word]) -> Result<(), String> {
    if args.iter().any(|w| {
        let t = w.text.as_str();
        t.starts_with('-')
            && !t.starts_with("--")
            && t.len() > 2
            && t.contains('e')
            && !spec.bundles.iter().any(|b| b == t)
    }) {
        return Err(
            "`ps` with `e` in a dashed bundle can fall back to BSD `e`, which prints other processes' environments"
                .into(),
        );
    }
    for w in operands {
        if w.text.contains('e') || !w.text.chars().all(|c| spec.bsd.contains(c)) {
            return Err(format!("`ps {}`: `e` prints other processes' environments, which hold secrets", w.text));
        }
    }
    Ok(())
}
