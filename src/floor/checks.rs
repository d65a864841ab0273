//! The per-program checks of the floor: a generic allowlist parser for
//! flags and operands driven by [`ProgramSpec`], and the few programs whose
//! safety depends on more than their flags (find's expression, sed's
//! script, git's subcommand and repository config, wrappers that run
//! another command).

use super::{Check, Env, Floor, Operands, ProgramSpec};
use crate::shell::Word;

/// What the generic parser found.
#[derive(Default)]
struct Parsed<'a> {
    /// Long and short flags seen, as `--name` / `-x`.
    flags: Vec<String>,
    /// Values of flags that take one, given as the next word, with the flag.
    values: Vec<(String, &'a Word)>,
    /// Values given inline (`--name=value`, `-nVALUE`), with the flag.
    inline_values: Vec<(String, String)>,
    operands: Vec<&'a Word>,
    /// Operands from this index on came after `--`: they cannot be flags.
    protected_from: usize,
}

impl Parsed<'_> {
    fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

fn unsafe_(reason: impl Into<String>) -> Check {
    Check::Unsafe { reason: reason.into() }
}

/// Parse flags by the spec. GNU tools accept options after operands, so
/// every word is looked at until `--`.
fn parse<'a>(name: &str, spec: &ProgramSpec, args: &[&'a Word]) -> Result<Parsed<'a>, String> {
    let mut p = Parsed { protected_from: usize::MAX, ..Default::default() };
    let mut i = 0;
    let mut only_operands = false;
    while i < args.len() {
        let w = args[i];
        i += 1;
        let t = w.text.as_str();
        if only_operands || !t.starts_with('-') || t == "-" {
            p.operands.push(w);
            continue;
        }
        if !w.literal && !quoted_flag_value(w) {
            return Err(format!("`{name}`: the flag `{}` is computed at run time", w.raw));
        }
        if t == "--" {
            only_operands = true;
            p.protected_from = p.operands.len();
            continue;
        }
        if let Some(long) = t.strip_prefix("--") {
            let (flag, inline) = match long.split_once('=') {
                Some((f, v)) => (f, Some(v)),
                None => (long, None),
            };
            let bare_ok = spec.long.iter().any(|l| l == flag);
            if spec.long_arg.iter().any(|l| l == flag) {
                p.flags.push(format!("--{flag}"));
                // A flag that may stand bare takes the next word only where
                // operands are not files (git's `--contains [<commit>]`).
                let optional_next = bare_ok
                    && OPTIONAL_NEXT.contains(&flag)
                    && spec.operands != Operands::Paths
                    && args.get(i).is_some_and(|v| !v.text.starts_with('-'));
                match inline {
                    Some(v) => p.inline_values.push((format!("--{flag}"), v.to_string())),
                    None if !bare_ok || optional_next => {
                        i = take_value(&mut p, name, format!("--{flag}"), args, i)?;
                    }
                    None => {}
                }
                continue;
            }
            if spec.long.iter().any(|l| l == flag) {
                p.flags.push(format!("--{flag}"));
                continue;
            }
            return Err(format!("`{name} --{flag}` is not known to be read-only (gate allowlists flags, and abbreviations are not expanded)"));
        }
        let short = &t[1..];
        if spec.numeric && short.chars().all(|c| c.is_ascii_digit()) {
            p.flags.push("-NUM".into());
            continue;
        }
        let chars: Vec<char> = short.chars().collect();
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            j += 1;
            if spec.short_arg.contains(c) {
                p.flags.push(format!("-{c}"));
                if j == chars.len() {
                    i = take_value(&mut p, name, format!("-{c}"), args, i)?;
                } else {
                    // The rest of the word is the value.
                    p.inline_values.push((format!("-{c}"), chars[j..].iter().collect()));
                }
                break;
            }
            if spec.short_optional.contains(c) {
                // The value, if any, is attached (`date -Iseconds`).
                p.flags.push(format!("-{c}"));
                break;
            }
            if spec.short.contains(c) {
                p.flags.push(format!("-{c}"));
                continue;
            }
            if spec.numeric && c.is_ascii_digit() {
                continue;
            }
            return Err(format!("`{name} -{c}` is not known to be read-only (in `{t}`)"));
        }
    }
    Ok(p)
}

/// How operands may be checked: whether an operand that turns out to be a
/// flag is harmless, and from which index operands came after `--`.
#[derive(Clone, Copy)]
struct OperandRules {
    harmless_flags: bool,
    protected_from: usize,
}

impl OperandRules {
    fn of(spec: &ProgramSpec, parsed_protected_from: usize) -> OperandRules {
        OperandRules { harmless_flags: spec.harmless_flags, protected_from: parsed_protected_from }
    }
    fn strict() -> OperandRules {
        OperandRules { harmless_flags: false, protected_from: usize::MAX }
    }
    /// Could operand `index` (word `w`) become a flag when it expands?
    fn may_become_flag(&self, index: usize, w: &Word) -> bool {
        if self.harmless_flags || index >= self.protected_from {
            return false;
        }
        // A word whose source starts with a plain character expands to
        // names starting with that character, never with `-`.
        !w.raw.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || "./_~+,:@%^".contains(c))
    }
}

/// How a recursive content search treats hidden files.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Recursion {
    No,
    Yes { hidden: bool, follow: bool },
}

/// git options whose value is optional yet may be the next word.
const OPTIONAL_NEXT: &[&str] = &["contains", "no-contains", "merged", "no-merged"];

/// Take the next word as a flag's value.
fn take_value<'a>(p: &mut Parsed<'a>, name: &str, flag: String, args: &[&'a Word], i: usize) -> Result<usize, String> {
    match args.get(i) {
        Some(v) => {
            p.values.push((flag, v));
            Ok(i + 1)
        }
        None => Err(format!("`{name} {flag}` needs a value")),
    }
}

/// Flag values can name files a program reads (`--files0-from=F`,
/// `--exclude-from F`, `-f F`): a value must be fixed text, and must not
/// name a secret file.
fn check_values(floor: &Floor, name: &str, p: &Parsed<'_>, env: &Env<'_>) -> Result<(), String> {
    for (flag, v) in &p.values {
        let tilde_only = v.has_tilde && !v.has_expansion && !v.has_glob && !v.has_brace;
        if !v.literal && !tilde_only {
            return Err(format!(
                "`{name} {flag}`: the value `{}` is computed at run time, so gate cannot check what it names",
                v.raw
            ));
        }
        if tilde_only && !(v.text == "~" || v.text.starts_with("~/")) {
            return Err(format!("`{name} {flag}`: `{}` names another user's home", v.raw));
        }
        if let Some(r) = floor.sensitive_reason(&v.text, env) {
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
fn check_paths(
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
fn operand_paths(
    name: &str,
    index: usize,
    w: &Word,
    env: &Env<'_>,
    rules: OperandRules,
) -> Result<Vec<String>, String> {
    if w.literal {
        // `@FILE` is a response file to binutils and others: FILE is read.
        if let Some(file) = w.text.strip_prefix('@').filter(|f| !f.is_empty()) {
            return Ok(vec![w.text.clone(), file.to_string()]);
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
        let t = &w.text;
        if t == "~" || t.starts_with("~/") {
            return Ok(vec![t.clone()]);
        }
        return Err(format!("`{name}`: `{}` names another user's home", w.raw));
    }
    if w.has_glob && !w.has_tilde {
        if rules.may_become_flag(index, w) {
            return Err(format!(
                "`{name}`: `{}` could expand to a file name starting with `-`, which {name} would read as a flag; write `./{}` or put `--` before it",
                w.raw, w.raw
            ));
        }
        let Some(matches) = env.probe.glob(env.cwd, &w.text) else {
            return Err(format!("`{name}`: cannot tell what `{}` expands to", w.raw));
        };
        if matches.is_empty() {
            return Ok(vec![w.text.clone()]);
        }
        return Ok(matches);
    }
    Err(format!("`{name}`: cannot tell what `{}` expands to", w.raw))
}

/// Operands that are not files. A computed one is fine when it stays one
/// word (its expansions are quoted) and cannot turn into a flag.
fn check_text(name: &str, operands: &[&Word], rules: OperandRules) -> Result<(), String> {
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

/// Long flags whose value is data (never a file name), so a computed value
/// is harmless: `git log --author="$(git config user.name)"`.
const DATA_FLAGS: &[&str] =
    &["author", "committer", "grep", "format", "pretty", "since", "until", "before", "after", "date", "label"];

/// `--name="$(...)"`: a data flag with a quoted computed value.
fn quoted_flag_value(w: &Word) -> bool {
    let Some(rest) = w.raw.strip_prefix("--") else { return false };
    let Some((name, value)) = rest.split_once('=') else { return false };
    DATA_FLAGS.contains(&name) && super::expansions_quoted(value) && !w.has_glob && !w.has_brace
}

fn safe(name: &str, spec: &ProgramSpec) -> Check {
    Check::Safe { entry: format!("floor:{}", name.replace(' ', "-")), reason: format!("{name} {}", spec.reason) }
}

pub(super) fn check_program(
    floor: &Floor,
    name: &str,
    spec: &ProgramSpec,
    args: &[&Word],
    env: &Env<'_>,
    depth: usize,
) -> Check {
    match spec.check.as_deref() {
        Some("find") => return check_find(floor, args, env).map_or_else(unsafe_, |_| safe(name, spec)),
        Some("sed") => return check_sed(floor, args, env).map_or_else(unsafe_, |_| safe(name, spec)),
        Some("git") => return check_git(floor, spec, args, env),
        Some("echo") => return echo_like(name, spec, args),
        Some("printf") => {
            if args.first().is_some_and(|w| w.text == "-v" || w.text.starts_with("-v")) {
                return unsafe_("`printf -v` assigns a shell variable");
            }
            return safe(name, spec);
        }
        Some("test") => return safe(name, spec),
        Some(wrapper @ ("env" | "timeout" | "nice" | "time" | "command" | "xargs")) => {
            return check_wrapper(floor, wrapper, spec, args, env, depth)
        }
        Some("jq") => return check_jq(floor, spec, args, env).map_or_else(unsafe_, |_| safe(name, spec)),
        Some("tar") => return check_tar(args).map_or_else(unsafe_, |_| safe(name, spec)),
        Some("kill") => {
            return if !args.is_empty()
                && args.iter().all(|w| w.literal)
                && matches!(args[0].text.as_str(), "-l" | "-L" | "--list" | "--table")
            {
                safe(name, spec)
            } else {
                unsafe_("`kill` sends a signal (only `kill -l` lists them)")
            };
        }
        Some("cd") => {
            let target = args.iter().find(|w| !w.text.starts_with('-') || w.text == "-");
            return match target {
                Some(w) if w.text == "-" => unsafe_("`cd -` goes to a directory gate cannot know"),
                Some(w) if !w.literal && !(w.has_tilde && !w.has_expansion && !w.has_glob && !w.has_brace) => {
                    unsafe_(format!("`cd {}`: the directory is computed at run time", w.raw))
                }
                Some(w) => match floor.sensitive_reason(&w.text, env) {
                    Some(r) => unsafe_(format!("`cd` into a secret directory: {r}")),
                    None => safe(name, spec),
                },
                None => safe(name, spec),
            };
        }
        Some("xxd") => {
            // xxd's own parser: `-ps` is `-p` with the rest ignored, so a
            // bundle can hide an operand. Only whole, known flags pass.
            let mut operands: Vec<&Word> = Vec::new();
            let mut i = 0;
            while i < args.len() {
                let w = args[i];
                let t = w.text.as_str();
                if !w.literal {
                    return unsafe_(format!("`xxd`: `{}` is computed at run time", w.raw));
                }
                match t {
                    "-a" | "-b" | "-C" | "-E" | "-e" | "-i" | "-u" | "-v" | "-r" | "-p" | "-ps" | "-plain"
                    | "-postscript" => i += 1,
                    "-c" | "-g" | "-l" | "-o" | "-s" | "-n" | "-cols" | "-groupsize" | "-len" | "-seek" | "-name" => {
                        i += 2
                    }
                    "-h" | "-help" | "-version" => i += 1,
                    _ if t.starts_with('-') && t != "-" => {
                        return unsafe_(format!("`xxd {t}` is not known to be read-only"))
                    }
                    _ => {
                        operands.push(w);
                        i += 1;
                    }
                }
            }
            if operands.len() > 1 {
                return unsafe_("`xxd IN OUT` writes OUT");
            }
            return match check_paths(floor, name, &operands, env, OperandRules::strict(), Recursion::No) {
                Ok(()) => safe(name, spec),
                Err(e) => unsafe_(e),
            };
        }
        Some("printenv") => {
            let names: Vec<&&Word> = args.iter().filter(|w| !w.text.starts_with('-')).collect();
            if names.is_empty() {
                return unsafe_("`printenv` alone prints the environment, which can hold API keys and tokens");
            }
            if let Some(w) = names.iter().find(|w| !w.literal || super::looks_secret(&w.text)) {
                return unsafe_(format!("`printenv {}` prints what looks like a secret", w.raw));
            }
            return safe(name, spec);
        }
        Some("crontab") => {
            return if args.len() == 1 && args[0].is("-l") {
                safe(name, spec)
            } else {
                unsafe_("`crontab` changes the crontab (only `crontab -l` lists it)")
            };
        }
        Some("dd") => {
            for w in args {
                let (k, v) = w.text.split_once('=').unwrap_or((w.text.as_str(), ""));
                if !w.literal
                    || !matches!(k, "if" | "bs" | "ibs" | "count" | "skip" | "iseek" | "status" | "iflag" | "cbs")
                {
                    return unsafe_(format!(
                        "`dd {}` may write (only if=, bs=, count=, skip=, status= are read-only)",
                        w.raw
                    ));
                }
                if k == "if" {
                    if let Some(r) = floor.sensitive_reason(v, env) {
                        return unsafe_(format!("`dd` would read a secret: {r}"));
                    }
                }
            }
            return safe(name, spec);
        }
        Some("read") => {
            let parsed = match parse(name, spec, args) {
                Ok(p) => p,
                Err(e) => return unsafe_(e),
            };
            let mut names: Vec<(bool, String)> = parsed.operands.iter().map(|w| (w.literal, w.text.clone())).collect();
            names.extend(parsed.values.iter().filter(|(f, _)| f == "-a").map(|(_, v)| (v.literal, v.text.clone())));
            names.extend(parsed.inline_values.iter().filter(|(f, _)| f == "-a").map(|(_, v)| (true, v.clone())));
            for (literal, n) in names {
                if !literal || !super::is_local_variable(&n) {
                    return unsafe_(format!(
                        "`read {n}` sets a variable other programs or the shell may read; only lower-case names pass"
                    ));
                }
            }
            return safe(name, spec);
        }
        Some("unzip") => return check_unzip(floor, args, env).map_or_else(unsafe_, |_| safe(name, spec)),
        _ => {}
    }
    let parsed = match parse(name, spec, args) {
        Ok(p) => p,
        Err(e) => return unsafe_(e),
    };
    if let Err(e) = check_values(floor, name, &parsed, env) {
        return unsafe_(e);
    }
    let mut operands: Vec<&Word> = parsed.operands.clone();
    if spec.pattern_first
        && !parsed.has("-e")
        && !parsed.has("-f")
        && !parsed.has("--regexp")
        && !parsed.has("--file")
        && !operands.is_empty()
    {
        let pattern = operands.remove(0);
        if let Err(e) = check_text(
            name,
            &[pattern],
            OperandRules {
                harmless_flags: spec.harmless_flags,
                protected_from: if parsed.protected_from == 0 { 0 } else { usize::MAX },
            },
        ) {
            return unsafe_(e);
        }
    }
    if let Some(max) = spec.max_operands {
        if operands.len() > max {
            return unsafe_(format!(
                "`{name}` with {} operands: the one after the first {max} is written to",
                operands.len()
            ));
        }
    }
    match spec.check.as_deref() {
        Some("date") => {
            if let Some(w) = operands.iter().find(|w| !w.text.starts_with('+')) {
                return unsafe_(format!("`date {}` sets the clock", w.text));
            }
        }
        Some("ps")
            if args.iter().any(|w| {
                let t = w.text.as_str();
                t.starts_with('-')
                    && !t.starts_with("--")
                    && t.len() > 2
                    && t.contains('e')
                    && !matches!(
                        t,
                        "-ef" | "-eF" | "-el" | "-ely" | "-elf" | "-eo" | "-eH" | "-ejH" | "-eLf" | "-efH" | "-efL"
                    )
            }) =>
        {
            return unsafe_(
                "`ps` with `e` in a dashed bundle can fall back to BSD `e`, which prints other processes' environments",
            );
        }
        Some("ps") => {
            for w in &operands {
                if w.text.contains('e') || !w.text.chars().all(|c| "auxwfjlvrsTSchmnHZ".contains(c)) {
                    return unsafe_(format!(
                        "`ps {}`: `e` prints other processes' environments, which hold secrets",
                        w.text
                    ));
                }
            }
        }
        _ => {}
    }
    let value_is = |flags: &[&str], want: &str| {
        parsed.values.iter().any(|(f, v)| flags.contains(&f.as_str()) && v.text == want)
            || parsed.inline_values.iter().any(|(f, v)| flags.contains(&f.as_str()) && v == want)
    };
    let rec = match name {
        "grep" | "egrep" | "fgrep"
            if parsed.has("-r")
                || parsed.has("-R")
                || parsed.has("--recursive")
                || parsed.has("--dereference-recursive")
                || value_is(&["-d", "--directories"], "recurse") =>
        {
            Recursion::Yes { hidden: true, follow: parsed.has("-R") || parsed.has("--dereference-recursive") }
        }
        // rg skips hidden files unless told otherwise; an override glob or
        // a file type brings them back.
        "rg" if !parsed.has("--files") && !parsed.has("--type-list") => Recursion::Yes {
            hidden: [
                "--hidden",
                "-.",
                "-u",
                "--unrestricted",
                "--no-ignore",
                "-g",
                "--glob",
                "--iglob",
                "-t",
                "--type",
                "--type-add",
                "--no-ignore-dot",
                "--no-ignore-vcs",
            ]
            .iter()
            .any(|f| parsed.has(f)),
            follow: parsed.has("-L") || parsed.has("--follow"),
        },
        "diff" if parsed.has("-r") || parsed.has("--recursive") => Recursion::Yes { hidden: true, follow: true },
        _ => Recursion::No,
    };
    // After the pattern was taken out, operand indexes shift by one.
    let shift = parsed.operands.len() - operands.len();
    let rules = OperandRules::of(spec, parsed.protected_from.saturating_sub(shift));
    let result = match spec.operands {
        Operands::Paths => {
            if rec != Recursion::No && operands.is_empty() {
                check_paths(
                    floor,
                    name,
                    &[&Word { text: ".".into(), raw: ".".into(), literal: true, ..Default::default() }],
                    env,
                    rules,
                    rec,
                )
            } else {
                check_paths(floor, name, &operands, env, rules, rec)
            }
        }
        Operands::Text => check_text(name, &operands, rules),
        Operands::None => {
            if operands.is_empty() {
                Ok(())
            } else {
                Err(format!("`{name} {}` is not in the read-only floor", operands[0].text))
            }
        }
    };
    match result {
        Ok(()) => safe(name, spec),
        Err(e) => unsafe_(e),
    }
}

fn echo_like(name: &str, spec: &ProgramSpec, _args: &[&Word]) -> Check {
    // echo only prints; substitutions inside its words are separate
    // commands that the analysis lists and the floor checks on their own.
    safe(name, spec)
}

const FIND_PRIMARIES_0: &[&str] = &[
    "-print",
    "-print0",
    "-ls",
    "-prune",
    "-quit",
    "-empty",
    "-readable",
    "-writable",
    "-executable",
    "-nouser",
    "-nogroup",
    "-true",
    "-false",
    "-depth",
    "-d",
    "-follow",
    "-xdev",
    "-mount",
    "-noleaf",
    "-daystart",
    "-ignore_readdir_race",
    "-noignore_readdir_race",
    "-not",
    "-a",
    "-and",
    "-o",
    "-or",
    ",",
    "!",
    "(",
    ")",
    "-help",
    "--help",
    "-version",
    "--version",
    "-nowarn",
    "-warn",
];
const FIND_PRIMARIES_1: &[&str] = &[
    "-name",
    "-iname",
    "-path",
    "-ipath",
    "-wholename",
    "-iwholename",
    "-regex",
    "-iregex",
    "-regextype",
    "-type",
    "-xtype",
    "-size",
    "-mtime",
    "-mmin",
    "-atime",
    "-amin",
    "-ctime",
    "-cmin",
    "-newer",
    "-anewer",
    "-cnewer",
    "-perm",
    "-user",
    "-group",
    "-uid",
    "-gid",
    "-links",
    "-inum",
    "-samefile",
    "-lname",
    "-ilname",
    "-maxdepth",
    "-mindepth",
    "-fstype",
    "-used",
    "-printf",
    "-context",
];

fn check_find(floor: &Floor, args: &[&Word], env: &Env<'_>) -> Result<(), String> {
    let mut i = 0;
    // Leading options.
    while i < args.len() && matches!(args[i].text.as_str(), "-H" | "-L" | "-P") {
        i += 1;
    }
    while i < args.len() && (args[i].text == "-D" || args[i].text.starts_with("-O")) {
        i += if args[i].text == "-D" { 2 } else { 1 };
    }
    // Starting points.
    let mut starts = Vec::new();
    while i < args.len() {
        let t = args[i].text.as_str();
        if t.starts_with('-') || t == "(" || t == "!" || t == ")" {
            break;
        }
        starts.push(args[i]);
        i += 1;
    }
    // find lists names; it reads no contents, so only starting points that
    // are themselves secret files matter.
    check_paths(floor, "find", &starts, env, OperandRules::strict(), Recursion::No)?;
    while i < args.len() {
        let w = args[i];
        if !w.literal && (w.has_expansion || w.has_brace) {
            return Err(format!("`find`: `{}` is computed at run time", w.raw));
        }
        let t = w.text.as_str();
        i += 1;
        if FIND_PRIMARIES_0.contains(&t) {
            continue;
        }
        if FIND_PRIMARIES_1.contains(&t) || (t.starts_with("-newer") && t.len() == 8) {
            if i >= args.len() {
                return Err(format!("`find {t}` needs a value"));
            }
            i += 1;
            continue;
        }
        return Err(match t {
            "-delete" => "`find -delete` deletes files".to_string(),
            "-exec" | "-execdir" | "-ok" | "-okdir" => format!("`find {t}` runs a command"),
            "-fprint" | "-fprint0" | "-fprintf" | "-fls" => format!("`find {t}` writes a file"),
            _ => format!("`find {t}` is not known to be read-only"),
        });
    }
    Ok(())
}

fn check_sed(floor: &Floor, args: &[&Word], env: &Env<'_>) -> Result<(), String> {
    // --sandbox makes sed refuse e, w and r, wherever the script comes from.
    let sandbox = args.iter().take_while(|w| !w.is("--")).any(|w| w.is("--sandbox"));
    let mut sandbox_file = false;
    let mut scripts: Vec<&Word> = Vec::new();
    let mut operands: Vec<&Word> = Vec::new();
    let mut i = 0;
    let mut only_operands = false;
    while i < args.len() {
        let w = args[i];
        i += 1;
        let t = w.text.as_str();
        if only_operands || !t.starts_with('-') || t == "-" {
            operands.push(w);
            continue;
        }
        if !w.literal {
            return Err(format!("`sed`: the flag `{}` is computed at run time", w.raw));
        }
        match t {
            "--" => only_operands = true,
            "-n" | "--quiet" | "--silent" | "-E" | "-r" | "--regexp-extended" | "-s" | "--separate" | "-u"
            | "--unbuffered" | "-z" | "--null-data" | "--posix" | "--debug" | "--sandbox" => {}
            "-e" => match args.get(i) {
                Some(s) => {
                    scripts.push(s);
                    i += 1;
                }
                None => return Err("`sed -e` needs a script".into()),
            },
            _ if t.starts_with("--expression=") => {
                return Err("`sed --expression=` is not checked; use -e".into());
            }
            _ if t.starts_with("-l") || t.starts_with("--line-length=") => {
                if t == "-l" {
                    i += 1;
                }
            }
            _ if t.starts_with("-i") || t.starts_with("--in-place") => {
                return Err("`sed -i` edits files in place".into())
            }
            "-f" if sandbox => {
                i += 1;
                sandbox_file = true;
            }
            _ if t.starts_with("-f") || t.starts_with("--file") => {
                return Err("`sed -f` runs a script from a file gate cannot see (add --sandbox)".into())
            }
            _ => {
                // Bundles such as -ne: only the no-value letters, with -e last.
                let letters: Vec<char> = t[1..].chars().collect();
                if letters.is_empty() {
                    return Err(format!("`sed {t}` is not known to be read-only"));
                }
                for (k, c) in letters.iter().enumerate() {
                    match c {
                        'n' | 'E' | 'r' | 's' | 'u' | 'z' => {}
                        'e' if k == letters.len() - 1 => match args.get(i) {
                            Some(s) => {
                                scripts.push(s);
                                i += 1;
                            }
                            None => return Err("`sed -e` needs a script".into()),
                        },
                        'i' => return Err("`sed -i` edits files in place".into()),
                        _ => return Err(format!("`sed -{c}` is not known to be read-only (in `{t}`)")),
                    }
                }
            }
        }
    }
    if scripts.is_empty() && !sandbox_file {
        if operands.is_empty() {
            return Err("`sed` without a script".into());
        }
        scripts.push(operands.remove(0));
    }
    for s in &scripts {
        if !s.literal {
            return Err(format!("`sed`: the script `{}` is computed at run time", s.raw));
        }
        if sandbox {
            continue;
        }
        for read in super::sed::check_script(&s.text)? {
            if let Some(r) = floor.sensitive_reason(&read, env) {
                return Err(format!("`sed r` would read a secret: {r}"));
            }
        }
    }
    check_paths(floor, "sed", &operands, env, OperandRules::strict(), Recursion::No)
}

fn check_jq(floor: &Floor, spec: &ProgramSpec, args: &[&Word], env: &Env<'_>) -> Result<(), String> {
    // jq's --arg/--argjson/--rawfile/--slurpfile take two values each.
    let mut from_file = false;
    let mut rest: Vec<&Word> = Vec::new();
    let mut files: Vec<&Word> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        match t {
            "--arg" | "--argjson" => i += 3,
            "--rawfile" | "--slurpfile" => {
                if let Some(f) = args.get(i + 2) {
                    files.push(f);
                }
                i += 3;
            }
            // The filter comes from a file: every operand is then an input file.
            "-f" | "--from-file" => {
                if let Some(f) = args.get(i + 1) {
                    files.push(f);
                }
                from_file = true;
                i += 2;
            }
            "-L" | "--library-path" => return Err(format!("`jq {t}` loads modules, which can read any JSON file")),
            _ => {
                rest.push(args[i]);
                i += 1;
            }
        }
    }
    let parsed = parse("jq", spec, &rest)?;
    let mut operands = parsed.operands.clone();
    if !from_file {
        if let Some(filter) = operands.first() {
            if !filter.literal {
                return Err(format!("`jq`: the filter `{}` is computed at run time", filter.raw));
            }
            if filter.text.contains("import") || filter.text.contains("include") || filter.text.contains("modulemeta") {
                return Err("`jq` import/include loads modules, which can read any JSON file".into());
            }
            operands.remove(0);
        }
    }
    check_paths(floor, "jq", &files, env, OperandRules::strict(), Recursion::No)?;
    check_paths(floor, "jq", &operands, env, OperandRules::of(spec, parsed.protected_from), Recursion::No)
}

fn check_tar(args: &[&Word]) -> Result<(), String> {
    let Some(first) = args.first() else { return Err("`tar` without a mode".into()) };
    if !args.iter().all(|w| w.literal) {
        return Err("`tar` with computed arguments".into());
    }
    let mut listing = false;
    for (k, w) in args.iter().enumerate() {
        let t = w.text.as_str();
        let bundle =
            if k == 0 && !t.starts_with('-') { Some(t) } else { t.strip_prefix('-').filter(|s| !s.starts_with('-')) };
        if let Some(letters) = bundle {
            if k > 0 && !t.starts_with('-') {
                continue;
            }
            for c in letters.chars() {
                match c {
                    't' => listing = true,
                    'v' | 'z' | 'j' | 'J' | 'f' | 'a' | 'Z' => {}
                    _ => return Err(format!("`tar -{c}` is not a listing flag")),
                }
            }
            continue;
        }
        if let Some(long) = t.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or("");
            match name {
                "list" => listing = true,
                "verbose" | "file" | "gzip" | "bzip2" | "xz" | "zstd" | "auto-compress" | "numeric-owner"
                | "wildcards" | "exclude" => {}
                _ => return Err(format!("`tar --{name}` is not a listing flag")),
            }
        }
    }
    let _ = first;
    // `-f host:path` reads a remote archive through rsh/ssh.
    let mut archive_next = false;
    for w in args {
        let t = w.text.as_str();
        let f_value = t.strip_prefix("--file=").map(str::to_string).or_else(|| {
            if archive_next {
                Some(t.to_string())
            } else {
                None
            }
        });
        if let Some(v) = f_value {
            if v.split('/').next().is_some_and(|head| head.contains(':')) {
                return Err(format!("`tar -f {v}` reads a remote archive over the network"));
            }
        }
        archive_next = t == "--file"
            || (t.starts_with('-') && !t.starts_with("--") && t.ends_with('f'))
            || (!t.starts_with('-') && args.first().is_some_and(|a| std::ptr::eq(*a, *w)) && t.ends_with('f'));
    }
    if listing {
        Ok(())
    } else {
        Err("`tar` without -t extracts or creates archives".into())
    }
}

fn check_unzip(floor: &Floor, args: &[&Word], env: &Env<'_>) -> Result<(), String> {
    let mut ok_mode = false;
    let mut operands = Vec::new();
    for w in args {
        let t = w.text.as_str();
        if let Some(letters) = t.strip_prefix('-') {
            for c in letters.chars() {
                match c {
                    'l' | 't' | 'v' | 'Z' | 'p' | 'c' => ok_mode = true,
                    'q' | 'z' => {}
                    _ => return Err(format!("`unzip -{c}` is not a listing flag")),
                }
            }
        } else {
            operands.push(*w);
        }
    }
    if !ok_mode {
        return Err("`unzip` without -l, -t, -v or -p extracts files".into());
    }
    check_paths(floor, "unzip", &operands[..operands.len().min(1)], env, OperandRules::strict(), Recursion::No)
}

fn check_wrapper(
    floor: &Floor,
    wrapper: &str,
    spec: &ProgramSpec,
    args: &[&Word],
    env: &Env<'_>,
    depth: usize,
) -> Check {
    let mut i = 0;
    let next_inner = |i: usize| -> Check {
        let inner = &args[i..];
        match inner.first() {
            Some(first) => floor.check_argv(inner, env, depth + 1, first),
            None => unsafe_(format!("`{wrapper}` with no command")),
        }
    };
    match wrapper {
        "env" => {
            while i < args.len() {
                let t = args[i].text.as_str();
                if !args[i].literal {
                    return unsafe_(format!("`env`: `{}` is computed at run time", args[i].raw));
                }
                match t {
                    "-i" | "--ignore-environment" | "-0" | "--null" | "-v" | "--debug" | "-" => i += 1,
                    "-u" | "--unset" => i += 2,
                    "-C" | "--chdir" => {
                        match args.get(i + 1) {
                            Some(d) if d.literal => {
                                if let Some(r) = floor.sensitive_reason(&d.text, env) {
                                    return unsafe_(format!("`env -C` into a secret directory: {r}"));
                                }
                            }
                            _ => return unsafe_("`env -C` with a computed directory"),
                        }
                        i += 2;
                    }
                    _ if t.starts_with("--unset=") => i += 1,
                    _ if t.starts_with("--chdir=") => return unsafe_("`env --chdir=` is not checked; use -C"),
                    _ if t.starts_with('-') => return unsafe_(format!("`env {t}` is not known to be read-only")),
                    _ if t.contains('=') => {
                        if let Some(r) = floor.assignment_problem(t, false) {
                            return unsafe_(format!("`env`: {r}"));
                        }
                        i += 1;
                    }
                    _ => break,
                }
            }
            if i >= args.len() {
                return unsafe_("`env` alone prints the environment, which can hold API keys and tokens");
            }
            next_inner(i)
        }
        "timeout" => {
            while i < args.len() && args[i].text.starts_with('-') {
                match args[i].text.as_str() {
                    "--preserve-status" | "--foreground" | "-v" | "--verbose" => i += 1,
                    "-k" | "-s" | "--kill-after" | "--signal" => i += 2,
                    t if t.starts_with("--kill-after=") || t.starts_with("--signal=") => i += 1,
                    t => return unsafe_(format!("`timeout {t}` is not known to be read-only")),
                }
            }
            if i >= args.len() {
                return unsafe_("`timeout` with no duration");
            }
            i += 1;
            next_inner(i)
        }
        "nice" => {
            if args.is_empty() {
                return safe("nice", spec);
            }
            match args[0].text.as_str() {
                "-n" | "--adjustment" => i = 2,
                t if t.starts_with("--adjustment=")
                    || (t.len() > 1 && t.starts_with('-') && t[1..].chars().all(|c| c.is_ascii_digit())) =>
                {
                    i = 1
                }
                _ => {}
            }
            next_inner(i)
        }
        "time" => {
            while i < args.len() && args[i].text.starts_with('-') {
                match args[i].text.as_str() {
                    "-p" | "--portability" | "-v" | "--verbose" | "-q" | "--quiet" => i += 1,
                    "-f" | "--format" => i += 2,
                    t => return unsafe_(format!("`time {t}` may write a file")),
                }
            }
            next_inner(i)
        }
        "command" => {
            match args.first().map(|w| w.text.as_str()) {
                Some("-v") | Some("-V") => {
                    if args[1..].iter().all(|w| w.literal) {
                        return safe("command", spec);
                    }
                    return unsafe_("`command -v` of a computed name");
                }
                Some(t) if t.starts_with('-') => return unsafe_(format!("`command {t}` is not known to be read-only")),
                None => return safe("command", spec),
                _ => {}
            }
            next_inner(0)
        }
        "xargs" => {
            while i < args.len() && args[i].text.starts_with('-') {
                let t = args[i].text.as_str();
                match t {
                    "-0" | "--null" | "-r" | "--no-run-if-empty" | "-t" | "--verbose" | "-x" | "--exit" => i += 1,
                    "-d" | "-n" | "-L" | "-P" | "-I" | "-s" | "-E" | "--delimiter" | "--max-args" | "--max-lines"
                    | "--max-procs" | "--max-chars" | "--replace" => i += 2,
                    "-a" | "--arg-file" => {
                        if let Some(f) = args.get(i + 1) {
                            if let Err(e) =
                                check_paths(floor, "xargs", &[f], env, OperandRules::strict(), Recursion::No)
                            {
                                return unsafe_(e);
                            }
                        }
                        i += 2;
                    }
                    _ if t.starts_with("--") && t.contains('=') => {
                        let name = &t[2..t.find('=').unwrap_or(t.len())];
                        if !["delimiter", "max-args", "max-lines", "max-procs", "max-chars", "replace"].contains(&name)
                        {
                            return unsafe_(format!("`xargs {t}` is not known to be read-only"));
                        }
                        i += 1;
                    }
                    _ if t.len() > 2 && ["-n", "-L", "-P", "-d", "-I", "-s"].iter().any(|p| t.starts_with(p)) => i += 1,
                    _ => return unsafe_(format!("`xargs {t}` is not known to be read-only")),
                }
            }
            if i >= args.len() {
                // xargs alone runs echo.
                return safe("xargs", spec);
            }
            // The inner command gets unknown extra words from stdin, and
            // any of them may start with `-`: only programs whose every
            // flag is harmless can take them.
            let inner_name = args[i].text.as_str();
            match floor.program.get(inner_name) {
                Some(s) if s.operands == Operands::Paths => {
                    // Names listed from trees that hold no secrets (and no
                    // symlinks, which could lead anywhere) are safe to read.
                    let roots_clean = env.stdin_names_from.as_ref().is_some_and(|roots| {
                        !roots.is_empty() && roots.iter().all(|r| floor.recursive_reason(r, env, true, true).is_none())
                    });
                    if roots_clean && s.harmless_flags && s.max_operands.is_none() {
                        next_inner(i)
                    } else {
                        unsafe_(format!("`xargs {inner_name}` reads files named on stdin, which gate cannot check for secrets"))
                    }
                }
                Some(s) if s.harmless_flags && s.max_operands.is_none() => next_inner(i),
                Some(_) => unsafe_(format!("`xargs {inner_name}`: words read from stdin could become {inner_name} flags that write or run programs")),
                None => unsafe_(format!("`{inner_name}` is not in the read-only floor")),
            }
        }
        _ => unsafe_(format!("`{wrapper}` is not known to be read-only")),
    }
}

fn check_git(floor: &Floor, spec: &ProgramSpec, args: &[&Word], env: &Env<'_>) -> Check {
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
    };
    let env = &genv;
    // `rev:path` names a file's committed content.
    for w in rest {
        if let Some((_, p)) = w.text.split_once(':').filter(|(r, _)| !r.starts_with('-')) {
            let base = p.rsplit('/').next().unwrap_or(p);
            if floor.names.iter().any(|g| g.is_match(base)) {
                return unsafe_(format!("`{name} {}` prints a secret file's committed content", w.text));
            }
        }
    }
    let special = match sub_spec.check.as_deref() {
        Some("git-list") => None,
        Some("git-reflog") => Some(match rest.first().map(|w| w.text.as_str()) {
            Some("show") | None => parse(&name, sub_spec, rest.get(1..).unwrap_or(&[]))
                .and_then(|p| check_text(&name, &p.operands, OperandRules::strict())),
            Some(t) if t.starts_with('-') => {
                parse(&name, sub_spec, rest).and_then(|p| check_text(&name, &p.operands, OperandRules::strict()))
            }
            Some(other) => Err(format!("`git reflog {other}` is not read-only (only `git reflog [show]`)")),
        }),
        Some("git-stash") => Some(match rest.first().map(|w| w.text.as_str()) {
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
        Some("git-worktree") => Some(match rest.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().as_slice() {
            ["list", flags @ ..] if flags.iter().all(|f| matches!(*f, "--porcelain" | "-v" | "--verbose" | "-z")) => {
                Ok(())
            }
            _ => Err("only `git worktree list` is read-only".into()),
        }),
        Some("git-config") => Some(check_git_config(rest)),
        _ => None,
    };
    match special {
        Some(Err(e)) => return unsafe_(e),
        Some(Ok(())) => {}
        None => {
            let parsed = match parse(&name, sub_spec, rest) {
                Ok(p) => p,
                Err(e) => return unsafe_(e),
            };
            if let Err(e) = check_values(floor, &name, &parsed, env) {
                return unsafe_(e);
            }
            if let Err(e) = check_text(&name, &parsed.operands, OperandRules::of(sub_spec, parsed.protected_from)) {
                return unsafe_(e);
            }
            if sub_spec.check.as_deref() == Some("git-list")
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
