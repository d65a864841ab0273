//! git: global options up to the subcommand, the subcommand's own table
//! (and its special check), committed content that may be a secret or may
//! be fetched from the network ([`content`]), and the repository's config
//! and hooks, which can make any read run a program.

mod content;

use super::flags::{walk, Parsed};
use super::generic::{safe, unsafe_};
use super::operands::{check_paths, check_text, check_values, OperandRules, Recursion};
use super::spec::{Operands, ProgramSpec, SpecialCheck};
use super::{Check, Env, Floor};
use crate::shell::Word;

pub(super) fn check_git(floor: &Floor, spec: &ProgramSpec, args: &[&Word], env: &Env<'_>) -> Check {
    // Global options, up to the subcommand.
    let mut i = 0;
    let mut dir = env.cwd.to_string();
    let mut dir_from_flag: Option<String> = None;
    while i < args.len() {
        let w = args[i];
        let t = w.text.as_str();
        if !t.starts_with('-') {
            break;
        }
        if !w.literal {
            return unsafe_(format!("`git`: `{}` is computed at run time", w.raw));
        }
        if t == "-C" {
            match args.get(i + 1) {
                Some(d) if d.literal || (d.has_tilde && !d.has_expansion && !d.has_glob && !d.has_brace) => {
                    dir = super::normalize(&d.text, &dir, env.home);
                    dir_from_flag = Some(d.text.clone());
                    if let Some(r) = floor.sensitive_reason(&dir, env) {
                        return unsafe_(format!("`git -C` into a secret directory: {r}"));
                    }
                    i += 2;
                    continue;
                }
                _ => return unsafe_("`git -C` with a computed directory"),
            }
        }
        if t == "-P" || t.strip_prefix("--").is_some_and(|l| spec.long.iter().any(|x| x == l)) {
            if t == "--version" || t == "--help" {
                return safe("git", spec);
            }
            i += 1;
            continue;
        }
        if t == "-c" {
            match args.get(i + 1) {
                Some(kv) if kv.literal && cosmetic_git_key(&kv.text) => {
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        return unsafe_(match t {
            "-c" => {
                "`git -c` sets configuration, which can run programs (only color.*, core.quotePath and column.* pass)"
                    .to_string()
            }
            _ if t.starts_with("--git-dir") || t.starts_with("--work-tree") => {
                format!("`git {t}` points git at another repository")
            }
            _ => format!("`git {t}` is not known to be read-only"),
        });
    }
    let Some(sub_word) = args.get(i) else { return unsafe_("`git` with no subcommand") };
    if !sub_word.literal {
        return unsafe_(format!("`git {}`: the subcommand is computed", sub_word.raw));
    }
    let sub = sub_word.text.as_str();
    let Some(sub_spec) = spec.sub.get(sub) else {
        return unsafe_(format!("`git {sub}` is not a read-only git command"));
    };
    let rest = &args[i + 1..];
    let name = format!("git {sub}");
    // Paths are relative to the directory git runs in.
    let genv = Env {
        cwd: &dir,
        extra_cwds: env.extra_cwds.clone(),
        home: env.home,
        gate_dirs: env.gate_dirs,
        probe: env.probe,
        stdin_names_from: env.stdin_names_from.clone(),
        ignore_secrets: env.ignore_secrets,
    };
    let env = &genv;
    // `rev:path` names a file's committed content.
    for w in rest {
        if let Some(p) = content::colon_secret(floor, &w.text) {
            return unsafe_(format!("`{name} {}` prints a secret file's committed content ({p})", w.text));
        }
    }
    let mut walked: Option<Parsed<'_>> = None;
    let special = match sub_spec.check {
        Some(SpecialCheck::GitList) => None,
        Some(SpecialCheck::GitReflog) => Some(match rest.first().map(|w| w.text.as_str()) {
            Some("show") | None => walk(&name, sub_spec, rest.get(1..).unwrap_or(&[]), false)
                .and_then(|p| check_text(&name, &p.operands, OperandRules::strict())),
            Some(t) if t.starts_with('-') => {
                walk(&name, sub_spec, rest, false).and_then(|p| check_text(&name, &p.operands, OperandRules::strict()))
            }
            Some(other) => Err(format!("`git reflog {other}` is not read-only (only `git reflog [show]`)")),
        }),
        Some(SpecialCheck::GitStash) => Some(match rest.first().map(|w| w.text.as_str()) {
            Some("list") | Some("show") => {
                let ok = rest[1..].iter().all(|w| {
                    w.literal
                        && ([
                            "-p",
                            "--patch",
                            "--stat",
                            "--name-only",
                            "--name-status",
                            "--oneline",
                            "-u",
                            "--include-untracked",
                            "--only-untracked",
                        ]
                        .contains(&w.text.as_str())
                            || w.text.starts_with("stash@{") && w.text.ends_with('}')
                            || w.text.chars().all(|c| c.is_ascii_digit()))
                });
                if ok {
                    Ok(())
                } else {
                    Err(format!("`git stash {}` with arguments gate does not know to be read-only", rest[0].text))
                }
            }
            Some(other) => Err(format!("`git stash {other}` changes the stash or the working tree")),
            None => Err("`git stash` stashes changes".into()),
        }),
        Some(SpecialCheck::GitWorktree) => {
            Some(match rest.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().as_slice() {
                ["list", flags @ ..]
                    if flags.iter().all(|f| matches!(*f, "--porcelain" | "-v" | "--verbose" | "-z")) =>
                {
                    Ok(())
                }
                _ => Err("only `git worktree list` is read-only".into()),
            })
        }
        Some(SpecialCheck::GitConfig) => Some(check_git_config(rest)),
        Some(SpecialCheck::GitCatFile) if rest.iter().any(|w| w.text.starts_with("--batch")) => Some(Err(
            "`git cat-file --batch` prints objects named on stdin, which gate cannot check for committed secrets"
                .into(),
        )),
        _ => None,
    };
    match special {
        Some(Err(e)) => return unsafe_(e),
        Some(Ok(())) => {}
        None => {
            let parsed = match walk(&name, sub_spec, rest, false) {
                Ok(p) => p,
                Err(e) => return unsafe_(e),
            };
            // `%G?`, `%GK`... in a format verify signatures, which runs gpg.
            if let Some(f) = ["--format", "--pretty"].iter().find(|f| parsed.values_of(f).any(|v| v.contains("%G"))) {
                return unsafe_(format!("`{name} {f}` with a %G placeholder verifies signatures, which runs gpg"));
            }
            if let Err(e) = check_values(floor, &name, &parsed, env) {
                return unsafe_(e);
            }
            if let Err(e) =
                check_text(&name, &parsed.operands, OperandRules::of(sub_spec.harmless_flags, parsed.protected_from))
            {
                return unsafe_(e);
            }
            if sub_spec.check == Some(SpecialCheck::GitList)
                && !parsed.operands.is_empty()
                && !parsed.has("--list")
                && !parsed.has("-l")
            {
                return unsafe_(format!(
                    "`{name} {}` creates a {}",
                    parsed.operands[0].text,
                    if sub == "tag" { "tag" } else { "branch" }
                ));
            }
            if sub_spec.operands == Operands::None && !parsed.operands.is_empty() {
                return unsafe_(format!("`{name} {}` is not read-only", parsed.operands[0].text));
            }
            // git diff switches to --no-index by itself for paths outside
            // the repository, and git grep can search untracked files: any
            // operand may name a file on disk.
            if sub == "diff" || sub == "grep" || sub == "blame" {
                // A directory operand outside the repository is diffed
                // whole, file by file, symlinks followed.
                let rec = if sub == "diff" { Recursion::Yes { hidden: true, follow: true } } else { Recursion::No };
                if let Err(e) = check_paths(floor, &name, &parsed.operands, env, OperandRules::strict(), rec) {
                    return unsafe_(e);
                }
            }
            if sub == "grep" && (parsed.has("--no-index") || parsed.has("--untracked")) {
                if let Some(r) = floor.recursive_reason(&dir, env, true, false) {
                    return unsafe_(format!("`{name}` searches untracked files: {r}"));
                }
            }
            walked = Some(parsed);
        }
    }
    if sub == "version" {
        return safe(&name, sub_spec);
    }
    // The repository's own config can make any of these run a program.
    // A `cd` or `env -C` earlier on the line may have moved into another
    // repository: every directory the line may be in is checked.
    let mut dirs = vec![dir.clone()];
    for extra in &env.extra_cwds {
        let d = if dir_from_flag.is_some() {
            super::normalize(dir_from_flag.as_deref().unwrap_or("."), extra, env.home)
        } else {
            extra.clone()
        };
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    for d in &dirs {
        match env.probe.git_hazards(d) {
            Ok(Some(h)) if !h.is_empty() => {
                return unsafe_(format!("`{name}` would run a program configured by this repository: {}", h.join("; ")))
            }
            Ok(_) => {}
            Err(e) => return unsafe_(format!("cannot check the repository's git config: {e}")),
        }
        if let Err(e) = content::check(floor, sub, rest, walked.as_ref(), d, env) {
            return unsafe_(e);
        }
    }
    safe(&name, sub_spec)
}

/// `git -c` keys that only change how output looks.
fn cosmetic_git_key(kv: &str) -> bool {
    let key = kv.split('=').next().unwrap_or("").to_ascii_lowercase();
    key.starts_with("color.")
        || key == "core.quotepath"
        || key.starts_with("column.")
        || key.starts_with("advice.")
        || key == "log.showsignature" && kv.to_ascii_lowercase().ends_with("=false")
}

fn check_git_config(rest: &[&Word]) -> Result<(), String> {
    let mut operands = Vec::new();
    let mut read_flag = false;
    for w in rest {
        if !w.literal {
            return Err(format!("`git config`: `{}` is computed at run time", w.raw));
        }
        let t = w.text.as_str();
        match t {
            "--get" | "--get-all" | "--get-regexp" | "--get-urlmatch" | "-l" | "--list" | "--name-only"
            | "--show-origin" | "--show-scope" | "--null" | "-z" | "--includes" | "--no-includes" | "--global"
            | "--local" | "--system" | "--worktree" | "--bool" | "--int" | "--path" | "--type=bool" | "--type=int"
            | "--type=path" | "--default" => {
                if t.starts_with("--get") || t == "-l" || t == "--list" {
                    read_flag = true;
                }
            }
            "get" | "list" if operands.is_empty() && !read_flag => {
                read_flag = true;
            }
            // Every other key names a section: `edit`, `set`, `unset`... are
            // subcommands that change the config.
            _ if !t.starts_with('-') && !t.contains('.') && !read_flag => {
                return Err(format!("`git config {t}` is not a read (a key is section.name)"));
            }
            _ if t.starts_with('-') => return Err(format!("`git config {t}` is not known to be read-only")),
            _ => operands.push(t),
        }
    }
    if read_flag || operands.len() <= 1 {
        if !read_flag && operands.is_empty() {
            return Err("`git config` with no key".into());
        }
        if read_flag && operands.len() > 2 {
            return Err("`git config` with too many operands".into());
        }
        Ok(())
    } else {
        Err(format!("`git config {}` writes configuration", operands.join(" ")))
    }
}
