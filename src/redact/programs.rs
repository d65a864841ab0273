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

use serde::Deserialize;

use super::words::{self, Tok};
use crate::shell::Word;

/// The program table, embedded in the binary.
pub const SECRETS_TOML: &str = include_str!("../../policies/secrets.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    program: BTreeMap<String, Program>,
    #[serde(default)]
    inner: Vec<Inner>,
}

/// A command that runs another command given in its words
/// (`docker exec C CMD`, `kubectl exec P -- CMD`, `ssh HOST CMD`,
/// `bash -c SCRIPT`): the inner command is scanned again.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inner {
    pub programs: Vec<String>,
    #[serde(default)]
    pub after: Vec<String>,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub positionals: usize,
    pub until: Option<String>,
    pub script_flag: Option<char>,
    #[serde(default)]
    pub shell: bool,
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
    pub split_last: Option<String>,
    pub end: Option<String>,
    #[serde(default)]
    pub pairs: bool,
    #[serde(default)]
    pub next: bool,
    pub last_when: Option<char>,
    /// The program's options end at its first operand (the command it
    /// runs, for sshpass): nothing after it is read for this rule.
    #[serde(default)]
    pub until_operand: bool,
    /// Flags of the program that take a value that is not a secret (so
    /// their value is not its first operand).
    #[serde(default)]
    pub valued: Vec<String>,
    /// Its options are single-dash words (`-check`), never bundled letters.
    #[serde(default)]
    pub no_bundle: bool,
    pub kind: Option<String>,
}

struct Table {
    by_name: BTreeMap<String, Program>,
    inner: Vec<Inner>,
    /// Every kind the table can give.
    kinds: Vec<String>,
}

fn parse_all(text: &str) -> Result<(BTreeMap<String, Program>, Vec<Inner>), toml::de::Error> {
    let file: File = toml::from_str(text)?;
    let mut by_name = BTreeMap::new();
    for (name, p) in file.program {
        for a in &p.aliases {
            by_name.insert(a.clone(), p.clone());
        }
        by_name.insert(name, p);
    }
    Ok((by_name, file.inner))
}

#[cfg(test)]
fn parse(text: &str) -> Result<BTreeMap<String, Program>, toml::de::Error> {
    parse_all(text).map(|(p, _)| p)
}

/// Every program name the table knows (its programs, their aliases and
/// the commands that run an inner command), sorted: a text naming none of
/// them skips the scan without parsing the table. A unit test checks it
/// against `policies/secrets.toml`.
pub const NAMES: &[&str] = &[
    "7z", "7za", "7zr", "7zz", "ash", "aws", "az", "bao", "bash", "bcp", "buildah", "crane", "curl", "dash", "docker",
    "docker-compose", "funzip", "gh", "gpg", "gpg2", "helm", "htpasswd", "http", "httpie", "https", "ipmitool",
    "keydb-cli", "keytool", "ksh", "kubectl", "ldapadd", "ldapcompare", "ldapdelete", "ldapmodify", "ldapmodrdn",
    "ldappasswd", "ldapsearch", "ldapwhoami", "lftp", "mariadb", "mariadb-admin", "mariadb-dump", "mongo",
    "mongodump", "mongoexport", "mongoimport", "mongorestore", "mongosh", "mount", "mount.cifs", "mssql-cli", "mysql",
    "mysqladmin", "mysqlcheck", "mysqldump", "mysqlimport", "mysqlsh", "mysqlshow", "nerdctl", "npm", "oc", "openssl",
    "oras", "pg_dump", "pg_dumpall", "pg_isready", "pg_restore", "pnpm", "podman", "podman-compose", "psql",
    "redis-cli", "regctl", "rpcclient", "sdl-freerdp", "sh", "skopeo", "smbclient", "smbget", "smbmap", "sqlcmd",
    "ssh", "ssh-keygen", "sshpass", "twine", "unzip", "valkey-cli", "vault", "wget", "wlfreerdp", "xfreerdp",
    "xfreerdp3", "yarn", "zip", "zipcloak", "zsh",
];

/// For each first (last) byte, the lengths (as bits) of the [`NAMES`]
/// starting (ending) with it: most words are ruled out by two lookups.
static FIRST: [u32; 256] = length_bits(true);
static LAST: [u32; 256] = length_bits(false);

const fn length_bits(first: bool) -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < NAMES.len() {
        let n = NAMES[i].as_bytes();
        let b = if first { n[0] } else { n[n.len() - 1] };
        t[b as usize] |= 1 << n.len();
        i += 1;
    }
    t
}

/// Is `name` one of [`NAMES`]?
fn known_name(name: &[u8]) -> bool {
    let (Some(&a), Some(&z)) = (name.first(), name.last()) else { return false };
    name.len() < 32
        && FIRST[a as usize] & LAST[z as usize] & (1 << name.len()) != 0
        && NAMES.binary_search_by(|n| n.as_bytes().cmp(name)).is_ok()
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        // A broken embedded table is a build defect (a unit test parses it);
        // without it, the shape patterns still mask.
        let (by_name, inner) = parse_all(SECRETS_TOML).unwrap_or_default();
        let mut kinds: Vec<String> = by_name
            .values()
            .flat_map(|p| std::iter::once(p.kind.clone()).chain(p.rule.iter().filter_map(|r| r.kind.clone())))
            .collect();
        kinds.sort();
        kinds.dedup();
        Table { by_name, inner, kinds }
    })
}

/// Is `kind` one the table gives (a value named by a program's grammar)?
pub fn is_program_kind(kind: &str) -> bool {
    kind == STDIN_KIND || table().kinds.iter().any(|k| k == kind)
}

/// The kind of a secret fed to a command's standard input.
pub const STDIN_KIND: &str = "stdin-secret";

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
    let mut out = Vec::new();
    spans_into(src, 0, 0, &mut out);
    out.sort_by_key(|s| (s.start, s.end));
    out.dedup_by(|b, a| b.start < a.end);
    out
}

/// Where the table's program names stand in `b`, as whole names.
fn hits(b: &[u8]) -> Vec<usize> {
    static NAME_BYTE: [bool; 256] = {
        let mut t = [false; 256];
        let mut c = 0;
        while c < 256 {
            let b = c as u8;
            t[c] = b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-';
            c += 1;
        }
        t
    };
    let name_byte = |c: u8| NAME_BYTE[c as usize];
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !name_byte(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && name_byte(b[i]) {
            i += 1;
        }
        let w = &b[start..i];
        if known_name(w) {
            out.push(start);
        }
    }
    out
}

/// Deepest nesting of inner commands followed.
const MAX_INNER: usize = 4;

/// The spans in `src`, shifted by `base`, into `out`.
fn spans_into(src: &str, base: usize, depth: usize, out: &mut Vec<Span>) {
    let hits = hits(src.as_bytes());
    if hits.is_empty() {
        return;
    }
    for mut cmd in words::commands(src, &hits) {
        for w in &mut cmd {
            words::decode(src, w);
        }
        command(src, base, &cmd, depth, out);
    }
}

/// The spans of one command's words.
fn command(src: &str, base: usize, cmd: &[Tok<'_>], depth: usize, out: &mut Vec<Span>) {
    let t = table();
    let argv = unwrap(cmd);
    let Some(name) = argv.first().and_then(|w| w.value.as_deref()) else { return };
    let name = name.rsplit('/').next().unwrap_or(name);
    if depth < MAX_INNER {
        for inner in t.inner.iter().filter(|i| i.programs.iter().any(|p| p == name)) {
            match inner_of(inner, &argv[1..]) {
                Some(InnerAt::Argv(rest)) if inner.shell && rest.len() == 1 => script(src, base, &rest[0], depth, out),
                Some(InnerAt::Argv(rest)) => command(src, base, rest, depth + 1, out),
                Some(InnerAt::Script(tok)) => script(src, base, tok, depth, out),
                None => {}
            }
        }
    }
    let Some(p) = t.by_name.get(name) else { return };
    let mut found = Vec::new();
    for r in &p.rule {
        apply(src, p, r, &argv[1..], &mut found);
    }
    out.extend(found.into_iter().map(|s| Span { start: s.start + base, end: s.end + base, kind: s.kind }));
}

enum InnerAt<'t, 'a> {
    Argv(&'t [Tok<'a>]),
    Script(&'t Tok<'a>),
}

/// Where the inner command of `args` (a command's words after its name)
/// starts, by the inner rule's grammar.
fn inner_of<'t, 'a>(inner: &Inner, args: &'t [Tok<'a>]) -> Option<InnerAt<'t, 'a>> {
    let val = |t: &'t Tok<'a>| t.value.as_deref().unwrap_or("");
    let mut i = if inner.after.is_empty() {
        0
    } else {
        let n = inner.after.len();
        (0..args.len().saturating_sub(n - 1)).find(|&i| inner.after.iter().zip(&args[i..i + n]).all(|(w, t)| val(t) == *w))? + n
    };
    if let Some(until) = &inner.until {
        let at = args[i..].iter().position(|t| val(t) == until)?;
        return Some(InnerAt::Argv(&args[i + at + 1..]));
    }
    let mut positionals = inner.positionals;
    while i < args.len() {
        let v = val(&args[i]);
        if let Some(c) = inner.script_flag {
            if v.starts_with('-') && !v.starts_with("--") && v[1..].chars().all(|x| x.is_ascii_alphabetic()) && v.contains(c) {
                return args.get(i + 1).map(InnerAt::Script);
            }
        }
        if v == "--" {
            i += 1;
            break;
        }
        if v.starts_with('-') && v.len() > 1 {
            i += if inner.values.iter().any(|x| x == v) { 2 } else { 1 };
            continue;
        }
        if positionals == 0 {
            break;
        }
        positionals -= 1;
        i += 1;
    }
    if inner.script_flag.is_some() {
        return None;
    }
    (positionals == 0 && i < args.len()).then(|| InnerAt::Argv(&args[i..]))
}

/// A quoted script (`bash -c '...'`, `ssh host "..."`): when its text is
/// written plainly inside one pair of quotes, it is scanned as shell text.
fn script(src: &str, base: usize, tok: &Tok<'_>, depth: usize, out: &mut Vec<Span>) {
    let raw = &src[tok.start..tok.end];
    let Some(offs) = words::offsets(raw) else { return };
    let runs = words::runs(&offs, 0);
    let [(s, e)] = runs[..] else { return };
    let (s, e) = (tok.start + s, tok.start + e);
    if src[s..e] != *tok.value.as_deref().unwrap_or("") {
        return;
    }
    spans_into(&src[s..e], base + s, depth + 1, out);
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
    let mut push = |found: Vec<(usize, usize)>| {
        for (start, end) in found {
            if start < end {
                out.push(Span { start, end, kind: kind.to_string() });
            }
        }
    };
    if r.next {
        if let Some(t) = args.get(from) {
            let v = t.value.as_deref().unwrap_or("-");
            if !v.starts_with('-') && !v.contains('=') {
                push(secret_in(src, t, t.start, r));
            }
        }
    }
    if r.pairs {
        // Every `key=value` operand: the value, unless it names a file or stdin.
        for t in &args[from..] {
            let Some(v) = t.value.as_deref() else { continue };
            if v.starts_with('-') {
                continue;
            }
            if let Some((k, val)) = v.split_once('=') {
                if !k.is_empty() && !val.starts_with('@') && val != "-" {
                    let pair = Rule { split: Some("=".into()), ..Rule::default() };
                    push(secret_in(src, t, t.start, &pair));
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
                push(secret_in(src, t, t.start, r));
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
        if !v.starts_with('-') && !v.starts_with('/') {
            if r.until_operand {
                break;
            }
            continue;
        }
        if r.valued.iter().any(|f| f == v) {
            i += 1;
            continue;
        }
        let separate = r.flags.iter().chain(&r.separate).any(|f| f == v);
        // Short flags bundled, the last one taking the next word: `-sSu`.
        let bundled = !separate
            && !r.no_bundle
            && v.len() > 2
            && v.starts_with('-')
            && !v.starts_with("--")
            && v[1..].bytes().all(|c| c.is_ascii_alphabetic())
            && r.flags.iter().chain(&r.separate).any(|f| f.len() == 2 && f.starts_with('-') && v.ends_with(&f[1..]));
        if separate || bundled {
            if let Some(next) = args.get(i) {
                push(secret_in(src, next, next.start, r));
                i += 1;
            }
            continue;
        }
        for f in r.flags.iter().chain(&r.attached) {
            // `-pVALUE`, `/p:VALUE`, `--password=VALUE`.
            let direct = (f.len() == 2 && !f.starts_with("--")) || f.ends_with([':', '=']);
            let (attached, flag_len) = if direct {
                (v.strip_prefix(f.as_str()).filter(|rest| !rest.is_empty()), f.len())
            } else {
                (v.strip_prefix(f.as_str()).and_then(|rest| rest.strip_prefix('=')), f.len() + 1)
            };
            if attached.is_none() {
                continue;
            }
            // The value's bytes start after the flag, when the flag is
            // written plainly; otherwise the whole word is masked.
            let raw = &src[t.start..t.end];
            let at = if raw.is_char_boundary(flag_len) && raw.get(..flag_len) == Some(&v[..flag_len]) {
                t.start + flag_len
            } else {
                t.start
            };
            push(secret_in(src, t, at, r));
            break;
        }
    }
}

/// The byte runs of the secret in word `t`, whose value's raw text starts
/// at byte `at`: after the rule's `prefix` or `split` when it has one, up
/// to its `end`. Quotes and escapes in the word stay visible: each run is
/// contiguous text of the secret.
fn secret_in(src: &str, t: &Tok<'_>, at: usize, r: &Rule) -> Vec<(usize, usize)> {
    let Some(full) = t.value.as_deref() else { return Vec::new() };
    // The value's text: the decoded value, less the flag before `at`
    // (written plainly, so as long decoded as raw).
    let voff = at - t.start;
    let Some(value) = full.get(voff..) else { return Vec::new() };
    let skip = match (&r.prefix, &r.split, &r.split_last) {
        (Some(p), _, _) => {
            if !value.starts_with(p.as_str()) {
                return Vec::new();
            }
            p.len()
        }
        (None, Some(sp), _) => match value.find(sp.as_str()) {
            Some(i) => i + sp.len(),
            None => return Vec::new(),
        },
        (None, None, Some(sp)) => match value.rfind(sp.as_str()) {
            Some(i) => i + sp.len(),
            None => return Vec::new(),
        },
        (None, None, None) => 0,
    };
    let stop = match &r.end {
        Some(e) => value[skip..].find(e.as_str()).map_or(value.len(), |i| skip + i),
        None => value.len(),
    };
    if stop <= skip {
        return Vec::new();
    }
    let raw = &src[t.start..t.end];
    match words::offsets(raw) {
        Some(offs) if offs.len() == full.len() => {
            words::runs(&offs[..voff + stop], voff + skip).into_iter().map(|(s, e)| (t.start + s, t.start + e)).collect()
        }
        // Not written plainly (`$'..'`): the value whole, when nothing had
        // to stay visible before or after it.
        _ if skip == 0 && stop == value.len() => vec![(at, t.end)],
        _ => Vec::new(),
    }
}

/// Secrets the shell text feeds to a command's standard input: the
/// operands of `echo`/`printf` piped into a `--password-stdin` command or
/// `gh secret set`, and a here-string (`<<< S`) fed to one or to `read`.
pub fn stdin_spans(src: &str) -> Vec<Span> {
    if !(src.contains("-stdin") || src.contains("secret set") || src.contains("<<<")) {
        return Vec::new();
    }
    let toks = words::scan(src);
    // (words, here-string, the operator before the command)
    let mut cmds: Vec<(Vec<&Tok<'_>>, Option<&Tok<'_>>, &str)> = vec![(Vec::new(), None, "")];
    let mut redirect: Option<&str> = None;
    for t in &toks {
        let text = &src[t.start..t.end];
        let cur = cmds.last_mut().expect("one command");
        if t.op {
            if text.starts_with(['<', '>']) {
                redirect = Some(text);
            } else {
                cmds.push((Vec::new(), None, text));
            }
        } else if let Some(r) = redirect.take() {
            if r == "<<<" {
                cur.1 = Some(t);
            }
        } else {
            cur.0.push(t);
        }
    }
    let val = |t: &Tok<'_>| t.value.as_deref().unwrap_or("").to_string();
    let reads_secret = |w: &[&Tok<'_>]| {
        let vs: Vec<String> = w.iter().map(|t| val(t)).collect();
        vs.iter().any(|v| v.ends_with("-stdin") && v.contains("pass"))
            || vs.windows(2).any(|p| p[0] == "secret" && p[1] == "set")
            // `read` into a variable whose name says secret (`read -r pw`):
            // any other `read` takes a path, a host or a word that runs.
            || vs.first().is_some_and(|v| v == "read")
                && vs.iter().skip(1).filter(|v| !v.starts_with('-')).any(|v| {
                    let n = v.to_ascii_lowercase();
                    ["pass", "pw", "secret", "token", "key", "cred", "auth"].iter().any(|s| n.contains(s))
                })
    };
    let mut out = Vec::new();
    let mut push = |t: &Tok<'_>| {
        if t.value.is_none() {
            return;
        }
        if let Some(offs) = words::offsets(&src[t.start..t.end]) {
            for (s, e) in words::runs(&offs, 0) {
                out.push(Span { start: t.start + s, end: t.start + e, kind: STDIN_KIND.into() });
            }
        }
    };
    for i in 0..cmds.len() {
        let (w, here, op) = &cmds[i];
        if !reads_secret(w) {
            continue;
        }
        if let Some(h) = here {
            push(h);
        }
        if *op == "|" && i > 0 {
            let prev = &cmds[i - 1].0;
            let name = prev.first().map(|t| val(t)).unwrap_or_default();
            let ops: Vec<&&Tok<'_>> = prev.iter().skip(1).skip_while(|t| name == "echo" && val(t).starts_with('-')).collect();
            let ops = if name == "printf" && ops.len() > 1 { &ops[1..] } else { &ops[..] };
            if name == "echo" || name == "printf" {
                for t in ops {
                    push(t);
                }
            }
        }
    }
    out
}

/// Cheap first look for [`assignment_spans`]: a `NAME=` whose name says
/// secret and whose value (up to a space) has a quote or escape that is
/// not one pair of quotes around it all. Linear in the input: each word
/// (up to a space) is read once, and the quotes after an `=` are the
/// word's quotes less those before it, however many `=` the word holds.
fn has_split_assignment(b: &[u8]) -> bool {
    let is_quote = |c: &u8| matches!(c, b'\'' | b'"' | b'\\');
    b.split(u8::is_ascii_whitespace).any(|word| {
        let total = word.iter().filter(|c| is_quote(c)).count();
        let (mut seen, mut name_start) = (0, 0);
        for (i, c) in word.iter().enumerate() {
            if is_quote(c) {
                seen += 1;
            }
            if c.is_ascii_alphanumeric() || *c == b'_' {
                continue;
            }
            if *c == b'=' && name_start < i {
                let v = &word[i + 1..];
                let quotes = total - seen;
                let one_pair = quotes == 2 && v.len() >= 2 && (v[0] == b'\'' || v[0] == b'"') && v[v.len() - 1] == v[0];
                if quotes > 0 && !one_pair && std::str::from_utf8(&word[name_start..i]).is_ok_and(super::names_secret) {
                    return true;
                }
            }
            name_start = i + 1;
        }
        false
    })
}

/// Assignments whose name says secret and whose value is split by quotes
/// or escapes (`TOKEN=gh""p_...`): the value over the whole word, by its
/// decoded text, so no part of it stays.
pub fn assignment_spans(src: &str) -> Vec<Span> {
    if !has_split_assignment(src.as_bytes()) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for t in words::scan(src) {
        if t.op {
            continue;
        }
        let raw = &src[t.start..t.end];
        let Some(v) = t.value.as_deref() else { continue };
        let Some((name, value)) = v.split_once('=') else { continue };
        if value.is_empty() || !is_name(name) || !raw.starts_with(name) || !super::names_secret(name) {
            continue;
        }
        let after = &raw[name.len() + 1..];
        if !after.contains(['\'', '"', '\\']) {
            continue;
        }
        if let Some(offs) = words::offsets(raw) {
            let kind = super::kind_of_name(name);
            for (s, e) in words::runs(&offs, name.len() + 1) {
                out.push(Span { start: t.start + s, end: t.start + e, kind: kind.into() });
            }
        }
    }
    out
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
    fn names_list_every_program_of_the_table() {
        let (by_name, inner) = parse_all(SECRETS_TOML).expect("table");
        let mut want: Vec<String> = by_name.keys().cloned().chain(inner.iter().flat_map(|i| i.programs.clone())).collect();
        want.sort();
        want.dedup();
        assert_eq!(NAMES, want, "NAMES must list every program, alias and inner program of policies/secrets.toml, sorted");
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

    /// The first look was a scan to the end of the word from every `=`, quadratic in a
    /// word made of `=` (`a=(a=(a=(...` took seconds at 64 KiB). The linear one must
    /// answer as that one did, here on words of names, `=`, quotes, escapes and spaces.
    #[test]
    fn the_linear_first_look_answers_as_the_scan_from_every_equals_sign() {
        fn reference(b: &[u8]) -> bool {
            let mut from = 0;
            while let Some(p) = b[from..].iter().position(|&c| c == b'=') {
                let eq = from + p;
                from = eq + 1;
                let mut n = eq;
                while n > 0 && (b[n - 1].is_ascii_alphanumeric() || b[n - 1] == b'_') {
                    n -= 1;
                }
                if n == eq {
                    continue;
                }
                let end = b[eq + 1..].iter().position(|c| c.is_ascii_whitespace()).map_or(b.len(), |e| eq + 1 + e);
                let v = &b[eq + 1..end];
                let quotes = v.iter().filter(|c| matches!(c, b'\'' | b'"' | b'\\')).count();
                let one_pair = quotes == 2 && v.len() >= 2 && (v[0] == b'\'' || v[0] == b'"') && v[v.len() - 1] == v[0];
                if quotes > 0 && !one_pair && std::str::from_utf8(&b[n..eq]).is_ok_and(super::super::names_secret) {
                    return true;
                }
            }
            false
        }
        let fixed =
            ["TOKEN=gh\"\"p_x", "TOKEN='a'", "TOKEN=\"a\"", "x TOKEN=a\\b", "a=TOKEN=\"x", "PASS= '", "é_TOKEN=\"x\"y"];
        for s in fixed {
            assert_eq!(has_split_assignment(s.as_bytes()), reference(s.as_bytes()), "{s:?}");
        }
        proptest::proptest!(proptest::prelude::ProptestConfig { cases: 2000, failure_persistence: None, ..Default::default() },
        |(s in "[aTOKENPS_=\"'\\\\ \t(é]{0,24}")| {
            proptest::prop_assert_eq!(has_split_assignment(s.as_bytes()), reference(s.as_bytes()), "{:?}", s);
        });
    }
}
