//! Flag arity against the real programs. For every program of the floor
//! (each git subcommand, and each floor wrapper) that is installed here,
//! every listed flag's arity is derived by running the program itself with
//! probes that stop in its option parser: the flag with an attached value
//! (`--flag=x`, `-F]`), the flag followed by a bogus option (`-F -^`: is the
//! next word its value?) and the flag as the last word (does it need a
//! value?). Each run is in a scratch directory, with stdin from /dev/null,
//! an empty environment but PATH, HOME in the scratch directory, the C
//! locale (so the messages are the ones matched here) and a time limit.
//! Every disagreement with `policies/floor.toml` or `policies/wrappers.toml`
//! is collected, and the test fails with one line each. Programs with no
//! reliable probe are listed in [`EXEMPT`] with the reason; a floor program
//! that is not installed fails the test under CI (`CI=true`), since
//! `test.sh` installs them all.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use gate::floor::{Arity, ProgramSpec};
use regex::Regex;

/// Flags (or whole programs, with `*`) that no probe can judge, and why.
const EXEMPT: &[(&str, &str, &str)] = &[
    ("echo", "*", "bash's echo has no option parser: a word of only n, e and E letters is its options, anything else is printed, and no option takes a value"),
    ("id", "-Z", "id refuses -Z as soon as it reads it on a kernel without SELinux, before any later word; `id --help` lists `-Z, --context` without a value"),
    ("id", "--context", "id refuses --context as soon as it reads it on a kernel without SELinux, before any later word; `id --help` lists `-Z, --context` without a value"),
    ("ps", "--version", "ps refuses --version with any other word (`the option is exclusive`), so no probe can follow it; alone it prints the version and exits"),
    ("find", "-newerBB", "find refuses birth-time tests on a system that does not record birth times; like the other -newerXY it takes one value"),
    ("find", "-newerBa", "find refuses birth-time tests on a system that does not record birth times; like the other -newerXY it takes one value"),
    ("find", "-newerBc", "find refuses birth-time tests on a system that does not record birth times; like the other -newerXY it takes one value"),
    ("find", "-newerBm", "find refuses birth-time tests on a system that does not record birth times; like the other -newerXY it takes one value"),
    ("find", "-newerBt", "find refuses birth-time tests on a system that does not record birth times; like the other -newerXY it takes one value"),
    ("find", "-neweraB", "find refuses birth-time tests on a system that does not record birth times; like the other -newerXY it takes one value"),
    ("find", "-newercB", "find refuses birth-time tests on a system that does not record birth times; like the other -newerXY it takes one value"),
    ("find", "-newermB", "find refuses birth-time tests on a system that does not record birth times; like the other -newerXY it takes one value"),
    ("git rev-parse", "*", "rev-parse prints the options it does not know (to pass them on to other commands) instead of refusing them, so no bogus option is ever refused; its table was checked by hand instead: --default and --git-path take the next word (`git rev-parse --git-path hooks`; `--git-path=hooks` is printed back), --path-format only an attached value, --short, --abbrev-ref and --show-object-format an optional attached one"),
    ("jq", "--arg", "takes two values (a name and a value), which no arity says; check_jq takes both out before the walk"),
    ("jq", "--argjson", "takes two values (a name and a value), which no arity says; check_jq takes both out before the walk"),
    ("jq", "--slurpfile", "takes two values (a name and a file), which no arity says; check_jq takes both out before the walk"),
    ("jq", "--rawfile", "takes two values (a name and a file), which no arity says; check_jq takes both out before the walk"),
];

/// How a program's flags are probed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Method {
    /// The three probes: attached value, next word, last word.
    Probe,
    /// ripgrep 13 (clap 2) accepts and ignores `--switch=x`, so whether a
    /// flag takes a value is read from its `--help` (`--max-count <NUM>`);
    /// the last-word probe says whether it is required.
    Help,
    /// Whole-word options (find, xxd): the next-word probe only, since
    /// nothing can be attached.
    Words,
}

/// One program, or one git subcommand, to probe.
struct Target {
    /// As the report names it (`ls`, `git log`, `wrapper env`).
    label: String,
    /// The command and the words before the flag (`git log`, `find .`).
    lead: Vec<String>,
    flags: Vec<(String, Arity)>,
    method: Method,
    /// The bogus option after the flag, which the program must reject if it
    /// is not the flag's value.
    bogus: &'static str,
    /// Words after the probe (zipinfo's archive).
    tail: Vec<String>,
    /// The text a [`Method::Words`] program prints for any error in its
    /// options (xxd and zipinfo print their usage).
    usage: Option<&'static str>,
}

/// What the probes found for one flag.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Arity(Arity),
    /// The program does not know the flag.
    Unknown,
    /// The flag prints something and exits at once (`--version`): it takes
    /// no value that could matter.
    ExitsAtOnce,
    /// No probe could tell.
    Unclear,
}

struct Outcome {
    found: Found,
    /// The probes run, with what each printed first.
    trail: Vec<String>,
}

struct Run {
    code: Option<i32>,
    out: String,
}

fn run(cmd: &[String], dir: &Path, home: &Path) -> Run {
    let mut c = Command::new(&cmd[0]);
    c.args(&cmd[1..])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("LC_ALL", "C")
        .env("LANG", "C")
        .env("TERM", "dumb")
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PAGER", "cat")
        .env("PAGER", "cat")
        .env("GIT_TERMINAL_PROMPT", "0")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(e) => return Run { code: None, out: format!("cannot run: {e}") },
    };
    // Keep the start of each stream and drain the rest (`yes`).
    fn drain(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 8192];
            while let Ok(n) = r.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if kept.len() < 1 << 20 {
                    kept.extend_from_slice(&buf[..n]);
                }
            }
            kept
        })
    }
    let out = drain(child.stdout.take().expect("stdout"));
    let err = drain(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s.code(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let mut text = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(&out.join().unwrap_or_default()));
    Run { code, out: text }
}

/// The usage that some git commands print for any word they do not know,
/// without naming it.
const GIT_USAGE: &str = "(?m)^usage: git (diff|diff-tree|rev-list|var) ";

/// Messages that say the word `b` was read as an option, not as a value.
fn bogus_reached(b: &str, out: &str) -> bool {
    let c = regex::escape(b.trim_start_matches('-'));
    let w = regex::escape(b);
    let pats = [
        format!("invalid option -- '{c}'"),
        format!("unrecognized option '{w}'"),
        format!("unknown switch `{c}'"),
        format!("unknown option `{c}'"),
        format!("unrecognized argument: {w}"),
        format!("unknown option: {w}"),
        format!("Found argument '{w}' which wasn't expected"),
        format!("unexpected argument '{w}'"),
        format!("Invalid argument -`{c}'"),
        format!("Invalid argument `{w}'"),
        format!("Unknown option:? {w}"),
        format!("unknown predicate `{w}'"),
        format!("{w}: invalid option"),
        format!("Illegal option {w}"),
        format!("unknown option `{w}'"),
        format!("invalid option: {w}"),
        // git diff, rev-list, diff-tree, var: an unknown option anywhere.
        GIT_USAGE.to_string(),
        // ps: an unknown option anywhere.
        "error: garbage option".to_string(),
    ];
    pats.iter().any(|p| Regex::new(p).expect("pattern").is_match(out))
}

/// Messages that say the attached value (`word` = `--flag=x` or `-F]`) was
/// refused, or that `]` after a short flag was read as an option.
fn attached_refused(flag: &str, word: &str, out: &str) -> bool {
    if !flag.starts_with("--") {
        return bogus_reached("-]", out) || {
            let w = regex::escape(word);
            [
                format!("unrecognized argument: {w}"),
                format!("unknown option: {w}"),
                format!("Unknown option:? {w}"),
                // ps reads `]` as another SysV option.
                "error: unsupported SysV option".to_string(),
            ]
            .iter()
            .any(|p| Regex::new(p).expect("pattern").is_match(out))
        };
    }
    let f = regex::escape(flag);
    let name = regex::escape(flag.trim_start_matches('-'));
    let w = regex::escape(word);
    let pats = [
        format!("option '{f}' doesn't allow an argument"),
        format!("option `{name}' takes no value"),
        // git names the negation it tried (`--renames` as `no-no-renames`).
        "option `[^']+' takes no value".to_string(),
        format!("unrecognized argument: {w}"),
        format!("unknown option: {w}"),
        format!("invalid option: {w}"),
        format!("unknown option `{w}'"),
        format!("The value 'x' was provided to '{f}(\\.\\.\\.)?' but it wasn't expecting any more values"),
        format!("unexpected value 'x' for '{f}"),
        // ps names the flag it aliases (`--headers` as `--heading`).
        "error: option --\\S+ does not take an argument".to_string(),
        // bash's builtins know no long option but --help.
        ": --: invalid option".to_string(),
        format!("Unknown option:? {w}"),
        format!("Invalid argument `{w}'"),
    ];
    pats.iter().any(|p| Regex::new(p).expect("pattern").is_match(out))
}

/// Messages that say the flag is known and takes no value: the option
/// parser (getopt, git's parse-options, clap) refused the attached value of
/// a known long flag, or read `]` after a known short flag as another
/// option (these parsers attach a short flag's value when it has one).
fn known_without_value(flag: &str, out: &str) -> bool {
    let f = regex::escape(flag);
    let pats = if let Some(name) = flag.strip_prefix("--") {
        let n = regex::escape(name);
        vec![
            format!("option '{f}' doesn't allow an argument"),
            format!("option `{n}' takes no value"),
            format!("The value 'x' was provided to '{f}(\\.\\.\\.)?' but it wasn't expecting any more values"),
            format!("unexpected value 'x' for '{f}'"),
        ]
    } else {
        vec![
            "invalid option -- '\\]'".to_string(),
            "unknown switch `\\]'".to_string(),
            "Found argument '-\\]' which wasn't expected".to_string(),
            "-\\]: invalid option".to_string(),
        ]
    };
    pats.iter().any(|p| Regex::new(p).expect("pattern").is_match(out))
}

/// Messages that say the flag itself is not an option of the program.
fn flag_unknown(flag: &str, word: &str, out: &str) -> bool {
    let f = regex::escape(flag);
    let w = regex::escape(word);
    let pats = if let Some(name) = flag.strip_prefix("--") {
        let n = regex::escape(name);
        vec![
            format!("unrecognized option '{w}'"),
            format!("unrecognized option '{f}'"),
            format!("option '{f}' is ambiguous"),
            format!("option '{f}=x' is ambiguous"),
            format!("unknown option `{n}'"),
            format!("Found argument '{f}"),
            format!("unexpected argument '{f}"),
            format!("Unknown option:? {f}(\\s|$)"),
            // Programs with short options only read `--flag` as the letter `-`.
            "invalid option -- '-'".to_string(),
            "Illegal option --(\\s|$)".to_string(),
            // bash's builtins know no long option but --help.
            ": --: invalid option".to_string(),
        ]
    } else {
        let c = regex::escape(&flag[1..]);
        vec![
            format!("invalid option -- '{c}'"),
            format!("unknown switch `{c}'"),
            format!("Found argument '{f}'"),
            format!("unexpected argument '{f}'"),
            format!("Invalid argument -`{c}'"),
            format!("{f}: invalid option"),
            format!("Illegal option {f}"),
        ]
    };
    pats.iter().any(|p| Regex::new(p).expect("pattern").is_match(out))
}

/// The flag alone is refused: its value must be attached (`git log --format`).
fn refused_alone(flag: &str, out: &str) -> bool {
    let f = regex::escape(flag);
    Regex::new(&format!("unrecognized argument: {f}(\\s|$)|unknown option `{f}'")).expect("pattern").is_match(out)
}

/// Messages that say a value is missing.
fn needs_value(out: &str) -> bool {
    const PATS: &[&str] = &[
        "requires an argument",
        "requires a value",
        "issing argument",
        "takes one parameter",
        "takes two parameters",
        "no directory given",
        "must follow",
        "a value is required",
    ];
    PATS.iter().any(|p| out.contains(p))
}

fn first_line(out: &str) -> String {
    let line = out.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut s: String = line.chars().take(100).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    s
}

/// The `--help` line of a clap program that names `flag`, and whether it
/// shows a value (`<NUM>`, `=NUM`, `[<WHEN>]`).
fn help_value(help: &str, flag: &str) -> Option<Option<bool>> {
    let f = regex::escape(flag);
    let re = Regex::new(&format!(r"^\s{{0,8}}(?:-\S,\s+)?(?:--\S+,\s+)?{f}(?P<rest>[ =,].*|$)")).expect("pattern");
    for line in help.lines() {
        if let Some(m) = re.captures(line) {
            let rest = m.name("rest").map_or("", |r| r.as_str());
            // A short flag's line goes on with its long name: `-m, --max-count <NUM>`.
            let rest = rest.trim_start_matches(',').trim_start();
            let rest = match rest.strip_prefix("--") {
                Some(r) => r.split_once([' ', '=']).map_or("", |(_, v)| v),
                None => rest,
            };
            let v = rest.trim_start_matches('=').trim_start();
            if v.starts_with('<')
                || v.starts_with("[<")
                || v.starts_with("[=")
                || v.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            {
                return Some(Some(v.starts_with('[')));
            }
            return Some(None);
        }
    }
    None
}

fn derive(t: &Target, flag: &str, dir: &Path, home: &Path, help: Option<&str>) -> Outcome {
    let mut trail = Vec::new();
    let mut probe = |args: &[&str]| {
        let mut cmd = t.lead.clone();
        cmd.extend(args.iter().map(|s| s.to_string()));
        cmd.extend(t.tail.iter().cloned());
        let r = run(&cmd, dir, home);
        trail.push(format!("`{}` → {}", cmd.join(" "), first_line(&r.out)));
        r
    };
    let found = match t.method {
        Method::Words => {
            let next = probe(&[flag, t.bogus]);
            if bogus_reached(t.bogus, &next.out) || t.usage.is_some_and(|u| next.out.contains(u)) {
                Found::Arity(Arity::None)
            } else {
                let last = probe(&[flag]);
                if last.out == next.out {
                    // The word after it changed nothing.
                    if last.code == Some(0) {
                        Found::ExitsAtOnce
                    } else {
                        Found::Unknown
                    }
                } else if needs_value(&last.out)
                    || t.usage.is_some_and(|u| last.out.contains(u))
                    || next.out.contains(t.bogus)
                {
                    Found::Arity(Arity::Required)
                } else {
                    Found::Unclear
                }
            }
        }
        Method::Help => match help.and_then(|h| help_value(h, flag)) {
            // Not in the help: a hidden switch (`--no-column`) is known when
            // the bogus option after it is what gets refused.
            None => {
                let next = probe(&[flag, t.bogus]);
                if flag_unknown(flag, flag, &next.out) {
                    Found::Unknown
                } else if bogus_reached(t.bogus, &next.out) {
                    Found::Arity(Arity::None)
                } else {
                    Found::Unclear
                }
            }
            Some(None) => Found::Arity(Arity::None),
            Some(Some(optional)) => {
                let last = probe(&[flag]);
                if needs_value(&last.out) {
                    Found::Arity(Arity::Required)
                } else if optional {
                    Found::Unclear
                } else {
                    // `--engine <ENGINE>` with a default when it is last.
                    Found::Arity(Arity::OptionalNext)
                }
            }
        },
        Method::Probe => {
            let word = if flag.starts_with("--") { format!("{flag}=x") } else { format!("{flag}]") };
            let attached = probe(&[&word, t.bogus]);
            let mut refused = attached_refused(flag, &word, &attached.out);
            if !refused && Regex::new(GIT_USAGE).expect("pattern").is_match(&attached.out) {
                // The usage names no word: try the attached value alone.
                refused = Regex::new(GIT_USAGE).expect("pattern").is_match(&probe(&[&word]).out);
            }
            if flag_unknown(flag, &word, &attached.out) && !refused {
                Found::Unknown
            } else if known_without_value(flag, &attached.out) {
                Found::Arity(Arity::None)
            } else {
                let next = probe(&[flag, t.bogus]);
                if bogus_reached(t.bogus, &next.out) || refused_alone(flag, &next.out) {
                    // The next word was not its value, or (clap) a value
                    // that starts with `-` was refused.
                    if refused {
                        Found::Arity(Arity::None)
                    } else if attached.code == Some(0) {
                        Found::ExitsAtOnce
                    } else if needs_value(&probe(&[flag]).out) {
                        Found::Arity(Arity::Required)
                    } else {
                        Found::Arity(Arity::OptionalAttached)
                    }
                } else if flag_unknown(flag, flag, &next.out) {
                    Found::Unknown
                } else {
                    let last = probe(&[flag]);
                    if needs_value(&last.out) {
                        Found::Arity(Arity::Required)
                    } else if last.out == next.out {
                        // The word after it changed nothing: it exits
                        // before reading further (--help).
                        Found::ExitsAtOnce
                    } else if refused {
                        Found::Unclear
                    } else {
                        Found::Arity(Arity::OptionalNext)
                    }
                }
            }
        }
    };
    Outcome { found, trail }
}

fn says(a: Arity) -> &'static str {
    match a {
        Arity::None => "none",
        Arity::Required => "a required value",
        Arity::OptionalAttached => "an optional attached value",
        Arity::OptionalNext => "an optional value that may be the next word",
    }
}

/// The first of `names` on PATH.
fn installed(names: &[&str]) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path).find(|d| d.join(n).is_file()).map(|d| d.join(n).to_string_lossy().into_owned())
    })
}

/// Shell builtins the floor lists: probed through bash.
const BUILTINS: &[&str] =
    &["cd", "pushd", "type", "read", "command", "echo", "pwd", ":", "true", "false", "test", "[", "printf", "kill"];

fn bash_lead(name: &str) -> Vec<String> {
    ["bash", "--norc", "--noprofile", "-c", &format!("{name} \"$@\""), "bash"].iter().map(|s| s.to_string()).collect()
}

/// Every program and git subcommand of the floor, and the floor wrappers,
/// with how to run it; and the programs that are not installed.
fn targets() -> (Vec<Target>, Vec<String>) {
    let floor = gate::floor::floor();
    let mut out = Vec::new();
    let mut missing = Vec::new();
    let mut add = |label: String, lead: Vec<String>, spec: &ProgramSpec, method: Method, bogus: &'static str| {
        let flags = spec.flags();
        if !flags.is_empty() {
            let (tail, usage) = match label.as_str() {
                "zipinfo" => (vec!["e.zip".to_string()], Some("ZipInfo 3.00 of")),
                "xxd" => (vec![], Some("Usage:")),
                _ => (vec![], None),
            };
            out.push(Target { label, lead, flags, method, bogus, tail, usage });
        }
    };
    for (name, spec) in &floor.program {
        if spec.check == Some(gate::floor::SpecialCheck::Wrapper) {
            continue;
        }
        if BUILTINS.contains(&name.as_str()) {
            if !spec.flags().is_empty() {
                add(name.clone(), bash_lead(name), spec, Method::Probe, "-^");
            }
            continue;
        }
        let names: Vec<&str> = match name.as_str() {
            "fd" => vec!["fd", "fdfind"],
            "bat" => vec!["bat", "batcat"],
            n => vec![n],
        };
        let Some(bin) = installed(&names) else {
            missing.push(name.clone());
            continue;
        };
        let (method, bogus, lead): (Method, &'static str, Vec<String>) = match name.as_str() {
            "find" => (Method::Words, "-^", vec![bin, ".".into()]),
            "xxd" | "zipinfo" => (Method::Words, "-^", vec![bin]),
            "rg" => (Method::Help, "-^", vec![bin, "zz".into()]),
            "jq" => (Method::Probe, "--zzgate", vec![bin]),
            _ => (Method::Probe, "-^", vec![bin]),
        };
        if name == "git" {
            add("git".into(), lead.clone(), spec, method, bogus);
            for (sub, s) in &spec.sub {
                let mut l = lead.clone();
                l.push(sub.clone());
                match sub.as_str() {
                    "reflog" => l.push("show".into()),
                    // They need a commit, given before the flag (revision
                    // options are read anywhere).
                    "rev-list" | "diff-tree" => l.push("HEAD".into()),
                    _ => {}
                }
                add(format!("git {sub}"), l, s, method, bogus);
            }
            continue;
        }
        add(name.clone(), lead, spec, method, bogus);
    }
    for (name, w) in gate::floor::wrappers() {
        if !w.spec.floor {
            continue;
        }
        let lead = if BUILTINS.contains(&name.as_str()) {
            bash_lead(name)
        } else if let Some(bin) = installed(&[name.as_str()]) {
            vec![bin]
        } else {
            missing.push(format!("wrapper {name}"));
            continue;
        };
        add(format!("wrapper {name}"), lead, &w.flags, Method::Probe, "-^");
    }
    (out, missing)
}

fn exemption(label: &str, flag: &str) -> Option<&'static str> {
    let prog = label.strip_prefix("wrapper ").unwrap_or(label);
    EXEMPT.iter().find(|(p, f, _)| *p == prog && (*f == "*" || *f == flag)).map(|(_, _, why)| *why)
}

#[test]
fn every_listed_flag_has_the_arity_of_the_real_program() {
    let scratch = tempfile::Builder::new().prefix("gate-arity-").tempdir().expect("tempdir");
    let dir = scratch.path().join("work");
    let home = scratch.path().join("home");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(dir.join("a.txt"), "a\n").unwrap();
    // An empty zip archive: its end-of-central-directory record alone.
    let mut zip = b"PK\x05\x06".to_vec();
    zip.resize(22, 0);
    std::fs::write(dir.join("e.zip"), zip).unwrap();
    for args in [
        &["init", "-q"][..],
        &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"],
    ] {
        let r =
            run(&std::iter::once("git").chain(args.iter().copied()).map(String::from).collect::<Vec<_>>(), &dir, &home);
        assert_eq!(r.code, Some(0), "git {args:?}: {}", r.out);
    }

    let (targets, missing) = targets();
    let mut jobs: Vec<(usize, String, Arity)> = Vec::new();
    let mut exempted = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        for (f, a) in &t.flags {
            match exemption(&t.label, f) {
                Some(why) => exempted.push(format!("{} {f}: {why}", t.label)),
                None => jobs.push((i, f.clone(), *a)),
            }
        }
    }
    // ripgrep's help, read once.
    let helps: Vec<Option<String>> = targets
        .iter()
        .map(|t| (t.method == Method::Help).then(|| run(&[t.lead[0].clone(), "--help".into()], &dir, &home).out))
        .collect();

    let next = AtomicUsize::new(0);
    let problems = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some((i, flag, table)) = jobs.get(k) else { break };
                let t = &targets[*i];
                let o = derive(t, flag, &dir, &home, helps[*i].as_deref());
                let trail = o.trail.join("; ");
                let line = match o.found {
                    Found::Arity(real) if real == *table => None,
                    Found::ExitsAtOnce if *table == Arity::None => None,
                    // The program takes the next word whatever it is, and
                    // uses a default only when the flag is the last word
                    // (git's PARSE_OPT_LASTARG_DEFAULT, ps -u): listed as
                    // required, the walker takes the same word, and asks
                    // when there is none.
                    Found::Arity(Arity::OptionalNext) if *table == Arity::Required => None,
                    Found::Arity(real) => Some(format!(
                        "{} {flag}: table says {}, {} takes {} (probe: {trail})",
                        t.label,
                        says(*table),
                        t.label,
                        says(real)
                    )),
                    Found::ExitsAtOnce => Some(format!(
                        "{} {flag}: table says {}, but it exits at once and takes none (probe: {trail})",
                        t.label,
                        says(*table)
                    )),
                    Found::Unknown => Some(format!(
                        "{} {flag}: {} does not know this flag, or refuses it here (probe: {trail})",
                        t.label, t.label
                    )),
                    Found::Unclear => {
                        Some(format!("{} {flag}: no probe could tell its arity (probe: {trail})", t.label))
                    }
                };
                if let Some(l) = line {
                    problems.lock().unwrap().push(l);
                }
            });
        }
    });
    let mut problems = problems.into_inner().unwrap();
    problems.sort();
    let checked = jobs.len();
    eprintln!(
        "floor arity: {checked} flags of {} programs checked, {} exempt; not installed: {}",
        targets.len(),
        exempted.len(),
        if missing.is_empty() { "none".to_string() } else { missing.join(", ") }
    );
    for e in &exempted {
        eprintln!("  exempt: {e}");
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") && !missing.is_empty() {
        problems.push(format!("not installed in CI (test.sh installs them): {}", missing.join(", ")));
    }
    assert!(problems.is_empty(), "{} disagreements:\n{}", problems.len(), problems.join("\n"));
}
