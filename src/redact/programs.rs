//! Secrets a program takes on its own command line (`mysql -pPASS`,
//! `sshpass -p PASS`, `curl -u user:PASS`, `vault login TOKEN`), found by
//! the program's flag grammar from `policies/secrets.toml`, not by the
//! secret's shape. Commands come from the span-keeping scanner
//! ([`super::words`]), wrappers in front are walked with the floor's
//! wrapper table, and what is found is a list of byte spans of the text,
//! each with its kind. A value the shell computes is never a span: it is
//! what will run.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::bytes::Regex;
use serde::Deserialize;

use super::words::{self, Tok};
use crate::shell::Word;

/// The program table, embedded in the binary.
pub const SECRETS_TOML: &str = include_str!("../../policies/secrets.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    program: BTreeMap<String, Program>,
}

/// One program's secret-bearing flags and words.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    #[serde(default)]
    pub aliases: Vec<String>,
    pub kind: String,
    pub rule: Vec<Rule>,
}

/// Where one secret stands; see the key list in `policies/secrets.toml`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub after: Vec<String>,
    #[serde(default)]
    pub flags: Vec<String>,
    #[serde(default)]
    pub attached: Vec<String>,
    #[serde(default)]
    pub separate: Vec<String>,
    pub prefix: Option<String>,
    pub split: Option<String>,
    #[serde(default)]
    pub next: bool,
    pub last_when: Option<char>,
    pub kind: Option<String>,
}

struct Table {
    by_name: BTreeMap<String, Program>,
    /// Any program name of the table, as a word: texts without one skip
    /// the scan.
    prefilter: Option<Regex>,
    /// Every kind the table can give.
    kinds: Vec<String>,
}

fn parse(text: &str) -> Result<BTreeMap<String, Program>, toml::de::Error> {
    let file: File = toml::from_str(text)?;
    let mut by_name = BTreeMap::new();
    for (name, p) in file.program {
        for a in &p.aliases {
            by_name.insert(a.clone(), p.clone());
        }
        by_name.insert(name, p);
    }
    Ok(by_name)
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        // A broken embedded table is a build defect (a unit test parses it);
        // without it, the shape patterns still mask.
        let by_name = parse(SECRETS_TOML).unwrap_or_default();
        // Plain names, longest first (so `mysqlsh` is not cut to `mysql`):
        // a search for literals only skips ahead fast; the boundaries are
        // checked in code.
        let mut names: Vec<&String> = by_name.keys().collect();
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let names: Vec<String> = names.into_iter().map(|n| regex::escape(n)).collect();
        let prefilter =
            (!names.is_empty()).then(|| Regex::new(&format!(r"(?-u){}", names.join("|"))).ok()).flatten();
        let mut kinds: Vec<String> = by_name
            .values()
            .flat_map(|p| std::iter::once(p.kind.clone()).chain(p.rule.iter().filter_map(|r| r.kind.clone())))
            .collect();
        kinds.sort();
        kinds.dedup();
        Table { by_name, prefilter, kinds }
    })
}

/// Is `kind` one the table gives (a value named by a program's grammar)?
pub fn is_program_kind(kind: &str) -> bool {
    table().kinds.iter().any(|k| k == kind)
}

/// A secret's byte span in the text, and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: String,
}

/// The spans of program-flag secrets in shell text `src`, sorted, not
/// overlapping.
pub fn spans(src: &str) -> Vec<Span> {
    let t = table();
    // Where the table's program names stand: only a command holding one is
    // read closely.
    let b = src.as_bytes();
    let name_byte = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c));
    let hits: Vec<usize> = t
        .prefilter
        .as_ref()
        .map(|p| {
            p.find_iter(b)
                .filter(|m| (m.start() == 0 || !name_byte(m.start() - 1)) && !name_byte(m.end()))
                .map(|m| m.start())
                .collect()
        })
        .unwrap_or_default();
    if hits.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<Span> = Vec::new();
    for mut cmd in words::commands(src, &hits) {
        for w in &mut cmd {
            words::decode(src, w);
        }
        let argv = unwrap(&cmd);
        let Some(name) = argv.first().and_then(|w| w.value.as_deref()) else { continue };
        let Some(p) = t.by_name.get(name.rsplit('/').next().unwrap_or(name)) else { continue };
        for r in &p.rule {
            apply(src, p, r, &argv[1..], &mut out);
        }
    }
    out.sort_by_key(|s| (s.start, s.end));
    out.dedup_by(|b, a| b.start < a.end);
    out
}

/// The command inside leading assignments, keywords and wrappers.
fn unwrap<'t, 'a>(cmd: &'t [Tok<'a>]) -> &'t [Tok<'a>] {
    let mut argv = cmd;
    for _ in 0..8 {
        while let Some(w) = argv.first() {
            let v = w.value.as_deref().unwrap_or("");
            let assignment = v.split_once('=').is_some_and(|(n, _)| is_name(n));
            if assignment || matches!(v, "!" | "if" | "then" | "else" | "elif" | "do" | "while" | "until" | "{") {
                argv = &argv[1..];
            } else {
                break;
            }
        }
        let Some(name) = argv.first().and_then(|w| w.value.as_deref()) else { return argv };
        let Some(w) = crate::floor::spec::wrapper(name) else { return argv };
        let args: Vec<Word> = argv[1..]
            .iter()
            .map(|t| Word { text: t.value.as_deref().unwrap_or_default().to_string(), literal: t.value.is_some(), ..Word::default() })
            .collect();
        let refs: Vec<&Word> = args.iter().collect();
        let mut rest = match crate::floor::flags::walk(name, &w.flags, &refs, true) {
            Ok(p) => p.rest,
            // Flags the wrapper table does not know: the inner command is
            // the first word the secret table knows, if any.
            Err(_) => match argv[1..].iter().position(|t| t.value.as_deref().is_some_and(|v| table().by_name.contains_key(v))) {
                Some(i) => i,
                None => return argv,
            },
        };
        if args.get(rest).is_some_and(|a| a.text == "--") {
            rest += 1;
        }
        rest += w.spec.positionals;
        argv = argv.get(1 + rest..).unwrap_or(&[]);
        // Assignments after `env`'s flags are skipped by the loop's start.
    }
    argv
}

fn is_name(n: &str) -> bool {
    !n.is_empty()
        && !n.starts_with(|c: char| c.is_ascii_digit())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The index in `args` after the rule's `after` words (0 when it has none),
/// or None when they are not there.
fn scope(r: &Rule, args: &[Tok<'_>]) -> Option<usize> {
    if r.after.is_empty() {
        return Some(0);
    }
    let n = r.after.len();
    (0..args.len().saturating_sub(n - 1)).find_map(|i| {
        let all = r.after.iter().zip(&args[i..i + n]).all(|(want, t)| {
            t.value.as_deref().is_some_and(|v| match want.strip_prefix('*') {
                Some(suffix) => v.ends_with(suffix),
                None => v == want,
            })
        });
        all.then_some(i + n)
    })
}

fn apply(src: &str, p: &Program, r: &Rule, args: &[Tok<'_>], out: &mut Vec<Span>) {
    let Some(from) = scope(r, args) else { return };
    let kind = r.kind.as_deref().unwrap_or(&p.kind);
    let mut push = |start: usize, end: usize| {
        if start < end {
            out.push(Span { start, end, kind: kind.to_string() });
        }
    };
    if r.next {
        if let Some(t) = args.get(from) {
            let v = t.value.as_deref().unwrap_or("-");
            if !v.starts_with('-') && !v.contains('=') {
                if let Some((s, e)) = secret_in(src, t, t.start, r) {
                    push(s, e);
                }
            }
        }
    }
    if let Some(letter) = r.last_when {
        let given = args[from..].iter().any(|t| {
            t.value.as_deref().is_some_and(|v| {
                v.starts_with('-') && !v.starts_with("--") && v[1..].chars().all(|c| c.is_ascii_alphabetic()) && v.contains(letter)
            })
        });
        if given {
            if let Some(t) = args[from..].iter().rev().find(|t| !t.value.as_deref().unwrap_or("").starts_with('-')) {
                if let Some((s, e)) = secret_in(src, t, t.start, r) {
                    push(s, e);
                }
            }
        }
    }
    let mut i = from;
    while i < args.len() {
        let t = &args[i];
        i += 1;
        let Some(v) = t.value.as_deref() else { continue };
        if v == "--" {
            break;
        }
        if !v.starts_with('-') {
            continue;
        }
        let separate = r.flags.iter().chain(&r.separate).any(|f| f == v);
        if separate {
            if let Some(next) = args.get(i) {
                if let Some((s, e)) = secret_in(src, next, next.start, r) {
                    push(s, e);
                }
                i += 1;
            }
            continue;
        }
        for f in r.flags.iter().chain(&r.attached) {
            let attached = if f.len() == 2 && !f.starts_with("--") {
                v.strip_prefix(f.as_str()).filter(|rest| !rest.is_empty())
            } else {
                v.strip_prefix(f.as_str()).and_then(|rest| rest.strip_prefix('='))
            };
            if attached.is_none() {
                continue;
            }
            // The value's bytes start after the flag, when the flag is
            // written plainly; otherwise the whole word is masked.
            let raw = &src[t.start..t.end];
            let flag_len = if f.len() == 2 { f.len() } else { f.len() + 1 };
            let at = if raw.is_char_boundary(flag_len) && raw.get(..flag_len) == Some(&v[..flag_len]) {
                t.start + flag_len
            } else {
                t.start
            };
            if let Some((s, e)) = secret_in(src, t, at, r) {
                push(s, e);
            }
            break;
        }
    }
}

/// The bytes of the secret in word `t`, whose value's raw text starts at
/// byte `at`: after the rule's `prefix` or `split` when it has one.
/// Quotes around the value stay visible.
fn secret_in(src: &str, t: &Tok<'_>, at: usize, r: &Rule) -> Option<(usize, usize)> {
    let full = t.value.as_deref()?;
    let raw = &src[at..t.end];
    // The value's text: the decoded value, less the flag before `at`.
    let value = if at == t.start {
        full
    } else {
        let flag_raw = &src[t.start..at];
        full.strip_prefix(flag_raw)?
    };
    let skip = match (&r.prefix, &r.split) {
        (Some(p), _) => {
            if !value.starts_with(p.as_str()) {
                return None;
            }
            p.len()
        }
        (None, Some(sp)) => value.find(sp.as_str())? + sp.len(),
        (None, None) => 0,
    };
    if value.len() <= skip {
        return None;
    }
    // Map the decoded offset back onto the raw bytes: exact when the raw
    // text is plain, or one pair of quotes around plain text.
    let plain = |x: &str| !x.contains(['\\', '\'', '"', '$', '`']);
    if raw == value && plain(raw) {
        return Some((at + skip, t.end));
    }
    let b = raw.as_bytes();
    let wrapped = b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0];
    if wrapped && &raw[1..raw.len() - 1] == value && plain(&raw[1..raw.len() - 1]) {
        return Some((at + 1 + skip, t.end - 1));
    }
    // `-p'a b'`-like words whose value is not written plainly: the value
    // whole, when nothing had to stay visible before it.
    (skip == 0).then_some((at, t.end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_strictly() {
        let by_name = parse(SECRETS_TOML).expect("policies/secrets.toml must parse");
        for name in ["mysql", "mariadb", "sshpass", "redis-cli", "docker", "openssl", "zip", "7z", "ssh-keygen", "htpasswd", "curl", "aws", "vault"] {
            assert!(by_name.contains_key(name), "{name} missing");
        }
        for (name, p) in &by_name {
            assert!(!p.rule.is_empty(), "{name}: no rule");
            let kinds = std::iter::once(&p.kind).chain(p.rule.iter().filter_map(|r| r.kind.as_ref()));
            for k in kinds {
                assert!(!k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{name}: kind {k:?}");
            }
        }
        // A misspelt key fails.
        for bad in [
            "[program.x]\nkind = \"k\"\nrule = [{ flag = [\"-p\"] }]",
            "[program.x]\nkind = \"k\"\nrules = []",
            "[program.x]\nkind = \"k\"\nalias = []\nrule = []",
            "[programs.x]\nkind = \"k\"\nrule = []",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn finds_program_secrets() {
        // (command, the masked texts, in order)
        let cases: &[(&str, &[&str])] = &[
            ("mysql -pHunter2 db", &["Hunter2"]),
            ("mysql -p db", &[]),
            ("mysql --password=Hunter2 db", &["Hunter2"]),
            ("mysql -p'quoted pass' db", &["quoted pass"]),
            ("mariadb -u root -p\"x y\" db", &["x y"]),
            ("sudo -u app mysql -pHunter2", &["Hunter2"]),
            ("timeout 5 env A=1 sshpass -p 'pw 1' ssh h", &["pw 1"]),
            ("sshpass -pHunter2 ssh h", &["Hunter2"]),
            ("redis-cli -h x -a Hunter2 ping", &["Hunter2"]),
            ("docker login -u me -p Hunter2 reg.io", &["Hunter2"]),
            ("docker run -p 8080:80 img", &[]),
            ("podman login --password=Hunter2 reg.io", &["Hunter2"]),
            ("openssl genrsa -aes256 -passout pass:Hunter2 2048", &["Hunter2"]),
            ("openssl rsa -passin env:PW -in k", &[]),
            ("openssl rsa -passin 'pass:a b' -in k", &["a b"]),
            ("zip -P Hunter2 a.zip f", &["Hunter2"]),
            ("7z a -pHunter2 a.7z f", &["Hunter2"]),
            ("ssh-keygen -t ed25519 -N 'new pass' -f k", &["new pass"]),
            ("htpasswd -bc .htpasswd bob Hunter2", &["Hunter2"]),
            ("htpasswd -c .htpasswd bob", &[]),
            ("curl -u bob:Hunter2 https://x", &["Hunter2"]),
            ("curl --user 'bob:it is' https://x", &["it is"]),
            ("curl -u bob https://x", &[]),
            ("wget --http-password=Hunter2 https://x", &["Hunter2"]),
            ("aws configure set aws_secret_access_key wJalrXUtnFEMI", &["wJalrXUtnFEMI"]),
            ("aws configure set region us-east-1", &[]),
            ("vault login s.Hunter2", &["s.Hunter2"]),
            ("vault login -method=github", &[]),
            ("gh secret set X --body Hunter2", &["Hunter2"]),
            ("npm config set //r.io/:_authToken Hunter2", &["Hunter2"]),
            ("kubectl create secret generic s --from-literal=pw=Hunter2", &["Hunter2"]),
            ("x=$(sshpass -p Hunter2 ssh h id)", &["Hunter2"]),
            ("ls; mysql -pHunter2 && echo ok", &["Hunter2"]),
            // Computed values are what will run: never masked here.
            ("mysql -p\"$(cat pw)\" db", &[]),
            ("sshpass -p $PW ssh h", &[]),
            ("echo mysql -pHunter2", &[]),
        ];
        for (src, want) in cases {
            let got: Vec<&str> = spans(src).iter().map(|s| &src[s.start..s.end]).collect();
            assert_eq!(got, *want, "{src}");
        }
    }
}
