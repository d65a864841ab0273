//! The check of one program: dispatch on its [`SpecialCheck`], else the
//! generic path that every table-only program takes (walk the flags, check
//! flag values, the pattern, the operands as files or text, and whether the
//! program searches a tree recursively, all from its [`ProgramSpec`]).

use super::flags::{walk, Parsed};
use super::operands::{check_paths, check_text, check_values, literal, OperandRules, Recursion};
use super::spec::{Operands, ProgramSpec, SpecialCheck};
use super::{archive, find, git, jq, sed, simple, wrappers, Check, Env, Floor};
use crate::shell::Word;

pub(super) fn unsafe_(reason: impl Into<String>) -> Check {
    Check::Unsafe { reason: reason.into() }
}

pub(super) fn safe(name: &str, spec: &ProgramSpec) -> Check {
    Check::Safe { entry: format!("floor:{}", name.replace(' ', "-")), reason: format!("{name} {}", spec.reason) }
}

/// `Ok` as the program's safe answer, `Err` as its reason to ask.
pub(super) fn verdict(name: &str, spec: &ProgramSpec, r: Result<(), String>) -> Check {
    match r {
        Ok(()) => safe(name, spec),
        Err(e) => unsafe_(e),
    }
}

pub(super) fn check_program(
    floor: &Floor,
    name: &str,
    spec: &ProgramSpec,
    args: &[&Word],
    env: &Env<'_>,
    depth: usize,
) -> Check {
    let special = match spec.check {
        None => None,
        Some(SpecialCheck::Git) => return git::check_git(floor, spec, args, env),
        Some(SpecialCheck::Wrapper) => return wrappers::check_wrapper(floor, name, spec, args, env, depth),
        Some(SpecialCheck::Find) => Some(find::check_find(floor, spec, args, env)),
        Some(SpecialCheck::Sed) => Some(sed::check_sed(floor, spec, args, env)),
        Some(SpecialCheck::Jq) => Some(jq::check_jq(floor, spec, args, env)),
        Some(SpecialCheck::Tar) => Some(archive::check_tar(args)),
        Some(SpecialCheck::Unzip) => Some(archive::check_unzip(floor, args, env)),
        Some(SpecialCheck::Echo) => Some(Ok(())),
        Some(SpecialCheck::Printf) => Some(simple::check_printf(args)),
        Some(SpecialCheck::Test) => Some(simple::check_test(args)),
        Some(SpecialCheck::Kill) => Some(simple::check_kill(args)),
        Some(SpecialCheck::Cd) => Some(simple::check_cd(floor, name, args, env)),
        Some(SpecialCheck::Xxd) => Some(simple::check_xxd(floor, spec, args, env)),
        Some(SpecialCheck::Printenv) => Some(simple::check_printenv(args)),
        Some(SpecialCheck::Crontab) => Some(simple::check_crontab(args)),
        Some(SpecialCheck::Dd) => Some(simple::check_dd(floor, spec, args, env)),
        Some(SpecialCheck::Read) => Some(simple::check_read(name, spec, args)),
        Some(
            SpecialCheck::Date
            | SpecialCheck::Ps
            | SpecialCheck::Checksum
            | SpecialCheck::GitList
            | SpecialCheck::GitReflog
            | SpecialCheck::GitStash
            | SpecialCheck::GitWorktree
            | SpecialCheck::GitConfig
            | SpecialCheck::GitCatFile,
        ) => None,
    };
    if let Some(r) = special {
        return verdict(name, spec, r);
    }
    verdict(name, spec, check_generic(floor, name, spec, args, env))
}

/// The table-driven check of a program without a special check of its own
/// (date, ps and the checksums add one step after the walk).
fn check_generic(floor: &Floor, name: &str, spec: &ProgramSpec, args: &[&Word], env: &Env<'_>) -> Result<(), String> {
    let parsed = walk(name, spec, args, false)?;
    check_values(floor, name, &parsed, env)?;
    let mut operands: Vec<&Word> = parsed.operands.clone();
    if spec.pattern_first
        && !parsed.has("-e")
        && !parsed.has("-f")
        && !parsed.has("--regexp")
        && !parsed.has("--file")
        && !operands.is_empty()
    {
        let pattern = operands.remove(0);
        let rules = OperandRules::of(spec.harmless_flags, if parsed.protected_from == 0 { 0 } else { usize::MAX });
        check_text(name, &[pattern], rules)?;
    }
    if let Some(max) = spec.max_operands {
        if operands.len() > max {
            return Err(format!(
                "`{name}` with {} operands: the one after the first {max} is written to",
                operands.len()
            ));
        }
    }
    match spec.check {
        Some(SpecialCheck::Date) => simple::check_date(&operands)?,
        Some(SpecialCheck::Ps) => simple::check_ps(spec, args, &operands)?,
        Some(SpecialCheck::Checksum) if parsed.has("-c") || parsed.has("--check") => {
            return Err(format!("`{name} --check` opens every file its list names, which gate cannot see"))
        }
        _ => {}
    }
    let rec = recursion(spec, &parsed);
    // After the pattern was taken out, operand indexes shift by one.
    let shift = parsed.operands.len() - operands.len();
    let rules = OperandRules::of(spec.harmless_flags, parsed.protected_from.saturating_sub(shift));
    match spec.operands {
        Operands::Paths => {
            if let Recursion::Yes { .. } = rec {
                // Files named by flags are searched whole too (diff --from-file=DIR).
                for (flag, v) in &parsed.values {
                    if spec.recursive_values().any(|f| f == flag) {
                        check_paths(floor, name, &[*v], env, OperandRules::strict(), rec)?;
                    }
                }
                for (flag, v) in &parsed.inline_values {
                    if spec.recursive_values().any(|f| f == flag) {
                        check_paths(floor, name, &[&literal(v)], env, OperandRules::strict(), rec)?;
                    }
                }
            }
            let dot = literal(".");
            let operands = if rec != Recursion::No && operands.is_empty() { vec![&dot] } else { operands };
            match (rec, include_globs(spec, &parsed)) {
                (Recursion::Yes { hidden, follow }, Some(globs)) => {
                    // Each operand is read as itself when it is a file, and
                    // walked for names matching the globs when a directory.
                    check_paths(floor, name, &operands, env, rules, Recursion::No)?;
                    for w in &operands {
                        for g in &globs {
                            if let Some(r) = floor.recursive_reason_only(&w.text, env, hidden, follow, Some(g)) {
                                return Err(format!("`{name}` would read a secret: {r}"));
                            }
                        }
                    }
                    Ok(())
                }
                _ => check_paths(floor, name, &operands, env, rules, rec),
            }
        }
        Operands::Text => check_text(name, &operands, rules),
        Operands::None => match operands.first() {
            None => Ok(()),
            Some(w) => Err(format!("`{name} {}` is not in the read-only floor", w.text)),
        },
    }
}

/// The name globs a recursive search is restricted to, when every operand
/// is literal and every include value is a plain name glob (no `/`, no
/// `!` negation, which widens instead of restricting). `None`: not
/// restricted, the whole tree counts.
fn include_globs(spec: &ProgramSpec, parsed: &Parsed<'_>) -> Option<Vec<crate::policy::glob::Glob>> {
    if !parsed.operands.iter().all(|w| w.literal) || parsed.has_any(&spec.include_void) {
        return None;
    }
    let mut globs = Vec::new();
    for flag in &spec.include {
        for v in parsed.values_of(flag) {
            // Braces and classes mean more to the program's glob than to gate's.
            if v.is_empty() || v.contains(['/', '{', '[', '\\']) || v.starts_with('!') {
                return None;
            }
            globs.push(crate::policy::glob::Glob::path(v).ok()?);
        }
    }
    if parsed.values.iter().any(|(f, v)| spec.include.contains(f) && !v.literal) {
        return None;
    }
    (!globs.is_empty()).then_some(globs)
}

/// Whether this call of the program reads a tree recursively, and how.
fn recursion(spec: &ProgramSpec, parsed: &Parsed<'_>) -> Recursion {
    if parsed.has_any(&spec.not_search) {
        return Recursion::No;
    }
    if spec.recursive_by_default || parsed.has_any(&spec.recursive) {
        Recursion::Yes {
            hidden: spec.hidden_by_default || parsed.has_any(&spec.hidden),
            follow: spec.follow.iter().any(|f| f == "*") || parsed.has_any(&spec.follow),
        }
    } else {
        Recursion::No
    }
}

impl ProgramSpec {
    /// Flags whose value is itself searched like an operand, written in
    /// `recursive` as `@--from-file`.
    fn recursive_values(&self) -> impl Iterator<Item = &str> {
        self.recursive.iter().filter_map(|f| f.strip_prefix('@'))
    }
}
