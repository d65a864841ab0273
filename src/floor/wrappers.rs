//! Wrappers the floor may pass (`env`, `timeout`, `nice`, `time`,
//! `command`, `xargs`): their own flags are walked by the one wrapper table
//! (`policies/wrappers.toml`), then the inner command is checked as a
//! command of its own. What each wrapper adds is checked here: env's
//! assignments and `-C`, xargs's file list and the words it reads from
//! stdin, command's `-v`.

use super::generic::{safe, unsafe_};
use super::operands::{check_paths, OperandRules, Recursion};
use super::spec::{wrapper, Operands, ProgramSpec};
use super::{Check, Env, Floor};
use crate::policy::glob::Glob;
use crate::shell::Word;

pub(super) fn check_wrapper(
    floor: &Floor,
    name: &str,
    spec: &ProgramSpec,
    args: &[&Word],
    env: &Env<'_>,
    depth: usize,
) -> Check {
    let Some(w) = wrapper(name).filter(|w| w.spec.floor) else {
        return unsafe_(format!("`{name}` is not a wrapper the floor knows"));
    };
    let parsed = match super::flags::walk(name, &w.flags, args, w.spec.options_first) {
        Ok(p) => p,
        Err(e) => return unsafe_(e),
    };
    if let Some(f) = parsed.flags.iter().find(|f| w.spec.not_read_only.contains(f)) {
        return unsafe_(format!("`{name} {f}` is not read-only"));
    }
    let mut i = parsed.rest;
    match name {
        "env" => {
            for dir in parsed.values_of("-C").chain(parsed.values_of("--chdir")) {
                if let Some(r) = floor.sensitive_reason(dir, env) {
                    return unsafe_(format!("`env -C` into a secret directory: {r}"));
                }
            }
            if parsed.values.iter().any(|(_, v)| !v.literal) {
                return unsafe_("`env` with a computed flag value");
            }
            if args.get(i).is_some_and(|a| a.is("-")) {
                i += 1;
            }
            while let Some(a) = args.get(i).filter(|a| a.text.contains('=')) {
                if !a.literal {
                    return unsafe_(format!("`env`: `{}` is computed at run time", a.raw));
                }
                if let Some(r) = floor.assignment_problem(&a.text, false) {
                    return unsafe_(format!("`env`: {r}"));
                }
                i += 1;
            }
            if i >= args.len() {
                return unsafe_("`env` alone prints the environment, which can hold API keys and tokens");
            }
        }
        "command" => {
            if parsed.has("-v") || parsed.has("-V") {
                return if args[i..].iter().all(|w| w.literal) {
                    safe(name, spec)
                } else {
                    unsafe_("`command -v` of a computed name")
                };
            }
            if parsed.has("-p") {
                return unsafe_("`command -p` runs the command with a default PATH gate does not check");
            }
        }
        "xargs" => {
            for f in parsed.values.iter().filter(|(f, _)| f == "-a" || f == "--arg-file").map(|(_, v)| *v) {
                if let Err(e) = check_paths(floor, "xargs", &[f], env, OperandRules::strict(), Recursion::No) {
                    return unsafe_(e);
                }
            }
            if parsed.inline_values.iter().any(|(f, _)| f == "-a" || f == "--arg-file") {
                return unsafe_("`xargs --arg-file=` is not checked; use -a FILE");
            }
            if i >= args.len() {
                // xargs alone runs echo.
                return safe(name, spec);
            }
            if let Err(e) = xargs_inner(floor, args[i], env) {
                return unsafe_(e);
            }
        }
        _ => {}
    }
    if args.len() < i + w.spec.positionals {
        return unsafe_(format!("`{name}` without its {} fixed word(s)", w.spec.positionals));
    }
    i += w.spec.positionals;
    match args.get(i) {
        Some(first) if depth < 8 => floor.check_argv(&args[i..], env, depth + 1, first),
        Some(_) => unsafe_("wrappers nested too deeply"),
        None if matches!(name, "nice" | "time" | "command") => safe(name, spec),
        None => unsafe_(format!("`{name}` with no command")),
    }
}

/// The program xargs runs gets unknown extra words from stdin, and any of
/// them may start with `-`: only programs whose every flag is harmless can
/// take them, and file readers only names listed from trees that hold no
/// secrets (and no symlinks, which could lead anywhere).
fn xargs_inner(floor: &Floor, inner: &Word, env: &Env<'_>) -> Result<(), String> {
    let inner_name = inner.text.as_str();
    match floor.program.get(inner_name) {
        Some(s) if s.operands == Operands::Paths => {
            // xargs splits names at blanks and quotes: a name holding one
            // becomes words that open other files (`foo .env` opens `.env`).
            let splitting: Vec<Glob> =
                ["* *", "*\t*", "*\n*", "*'*", "*\"*", "*\\\\*"].iter().filter_map(|g| Glob::path(g).ok()).collect();
            let roots_clean = env.stdin_names_from.as_ref().is_some_and(|roots| {
                !roots.is_empty()
                    && roots.iter().all(|r| {
                        floor.recursive_reason(r, env, true, true).is_none()
                            && env
                                .probe
                                .tree_finds(
                                    r,
                                    &super::TreeQuery {
                                        names: &splitting,
                                        dir_names: &[],
                                        hidden: true,
                                        follow: true,
                                        only: None,
                                        linked_to: &[],
                                    },
                                )
                                .is_none()
                    })
            });
            if roots_clean && s.harmless_flags && s.max_operands.is_none() {
                Ok(())
            } else {
                Err(format!("`xargs {inner_name}` reads files named on stdin, which gate cannot check for secrets"))
            }
        }
        Some(s) if s.harmless_flags && s.max_operands.is_none() => Ok(()),
        Some(_) => Err(format!(
            "`xargs {inner_name}`: words read from stdin could become {inner_name} flags that write or run programs"
        )),
        None => Err(format!("`{inner_name}` is not in the read-only floor")),
    }
}

/// The directories `env` changes into (`-C DIR`, `-CDIR`, `-iC DIR`,
/// `--chdir=DIR`), read by the wrapper table's flags, for the policy's
/// list of directories a line may run in. `argv[0]` is `env`.
pub fn env_chdirs(argv: &[String]) -> Vec<String> {
    let Some(w) = wrapper("env") else { return Vec::new() };
    let words: Vec<Word> = argv
        .iter()
        .skip(1)
        .map(|a| Word { text: a.clone(), raw: a.clone(), literal: true, ..Default::default() })
        .collect();
    let refs: Vec<&Word> = words.iter().collect();
    let mut out = Vec::new();
    if let Ok(p) = super::flags::walk("env", &w.flags, &refs, true) {
        out.extend(p.values_of("-C").map(str::to_string));
        out.extend(p.values_of("--chdir").map(str::to_string));
        return out;
    }
    // Flags the table does not know: every word that may be a -C value
    // counts (more directories only make the checks stricter).
    for (k, a) in argv.iter().enumerate().skip(1) {
        if let Some(v) = a.strip_prefix("--chdir=") {
            out.push(v.to_string());
        } else if a.starts_with('-') && !a.starts_with("--") && a.contains('C') {
            let rest = &a[a.find('C').map_or(a.len(), |c| c + 1)..];
            if !rest.is_empty() {
                out.push(rest.to_string());
            }
            out.extend(argv.get(k + 1).cloned());
        } else if a == "--chdir" {
            out.extend(argv.get(k + 1).cloned());
        }
    }
    out
}
