//! Repository git config that turns a "read-only" git command into a program launcher: `git status`
//! runs `core.fsmonitor` and clean filters, `git diff`/`log -p`/`show` run external diff drivers and
//! textconv programs, `log.showSignature` runs the gpg program, and so on. `scan_text` is the pure
//! core: a port of git's own config parser (`config.c`: BOM, CRLF, `[section "sub"]` and
//! `[section.sub]` headers, quotes, escapes, `\` continuations, inline comments) that evaluates the
//! keys of the `HAZARD_KEYS` table last-wins. `repo_hazards` is the edge: it finds the repository
//! the way `setup.c` does, reads its `config` and `config.worktree` (through `commondir` for linked
//! worktrees), follows `include.path` and every `includeIf.*.path` whatever the condition, and scans
//! submodule repositories (`<gitdir>/modules/**` and the gitlinks recorded in the index), all within
//! fixed bounds. In each of them it also looks for the one hook a read runs, `post-index-change`
//! (run when `git status` or `git diff` refresh the index), in the directory git really uses
//! (`core.hooksPath` from the repository's or the user's config, else the common dir's `hooks/`),
//! and notes whether the repository is a partial clone (`remote.*.promisor`,
//! `extensions.partialClone`), whose reads may fetch from the network. `tracked_matching` reads the
//! index for tracked paths a predicate picks (secret-named files). Whatever it cannot check (too
//! large, too many files, unparsable, an include it cannot resolve) is itself reported as a hazard,
//! so "no hazards" can mean "safe to auto-approve".

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// A config key, set in the repository's own config, that makes a read-only git command run a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hazard {
    /// The key in git's canonical form: section and name lowercased, subsection as written
    /// (`core.fsmonitor`, `diff.LFS.textconv`). Checks that could not be completed use a
    /// parenthesised pseudo-key such as `(syntax)` or `(too-large)`.
    pub key: String,
    /// The config file the key is set in (an included file, when set there).
    pub file: PathBuf,
    /// 1-based line of the key; 0 for findings about a whole file.
    pub line: usize,
    /// Why the key is a hazard, one line.
    pub why: &'static str,
}

/// The repository found for a directory and the hazards in its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoScan {
    /// The git directory git would use (`.git`, a linked worktree's gitdir, or a bare repository).
    pub git_dir: PathBuf,
    /// Hazards from the repository's config, its includes and its submodules' configs, and the
    /// `post-index-change` hooks that `git status` and `git diff` would run (in the hooks directory
    /// git really uses: `core.hooksPath`, the common dir of a linked worktree, each submodule's).
    pub hazards: Vec<Hazard>,
    /// The work tree's top directory, when the repository has one.
    pub work_tree: Option<PathBuf>,
    /// The key that makes git fetch missing objects from a promisor remote on demand (a partial
    /// clone: `remote.<name>.promisor`, `extensions.partialClone`), here or in a submodule.
    pub promisor: Option<Hazard>,
    /// Bytes in an object name (20 for SHA-1, 32 for SHA-256), for reading the index.
    pub hash_len: usize,
}

/// The tracked paths of a repository's index that a predicate picks out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tracked {
    /// The whole index was read: the paths picked (at most the limit asked for) and whether it
    /// records any submodule.
    Known { paths: Vec<String>, submodules: bool },
    /// The index could not be read in full, so any path may be tracked.
    Unknown(String),
}

/// Why a repository could not be checked. Callers should treat an error like a hazard.
#[derive(Debug, thiserror::Error)]
pub enum GitCfgError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not a valid gitdir file (git refuses to run here)")]
    BadGitFile { path: PathBuf },
}

// ---------------------------------------------------------------------------------------------
// The key table
// ---------------------------------------------------------------------------------------------

/// When a value of a key is a hazard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum When {
    /// Any value except the empty string (a bare `key` line counts: git would choke on it or run it).
    Set,
    /// Anything git does not read as boolean false (false/no/off/0/empty).
    NotFalse,
    /// A value that is not a boolean, i.e. a command (`pager.<cmd>`).
    NotBool,
    /// A value starting with `!` (a shell command).
    Bang,
    /// Anything but `never`.
    NotNever,
    /// An absolute or `~` path (a program rather than a host name).
    PathLike,
    /// A URL with a password in it (`https://user:token@host/...`): git prints it.
    Credential,
    /// Considered and deliberately not flagged; the reason says why.
    Never,
}

/// One row: a key pattern (`*` = any subsection, or any name for two-part keys), the values that
/// are hazards, whether the key is a list that an empty value resets, and a one-line reason.
struct Rule {
    key: &'static str,
    when: When,
    multi: bool,
    why: &'static str,
}

const fn r(key: &'static str, when: When, why: &'static str) -> Rule {
    Rule { key, when, multi: false, why }
}

const fn list(key: &'static str, why: &'static str) -> Rule {
    Rule { key, when: When::Set, multi: true, why }
}

/// Every key considered, in git's canonical form. Keys that run programs only in commands that are
/// not read-only are flagged too: a repository that sets them is unusual and cheap to ask about.
#[rustfmt::skip]
const HAZARD_KEYS: &[Rule] = &[
    // git status / diff / log / show
    r("core.fsmonitor", When::NotFalse, "git status runs this fsmonitor hook program (true: starts the fsmonitor daemon)"),
    r("filter.*.clean", When::Set, "clean filter program run by git status/diff/add on modified matching files"),
    r("filter.*.process", When::Set, "long-running filter program started by git status/diff/checkout"),
    r("filter.*.smudge", When::Set, "smudge filter program run by checkout/switch/reset/stash on matching files"),
    r("diff.external", When::Set, "git diff/log -p/show run this program instead of the internal diff"),
    r("diff.*.command", When::Set, "external diff driver program run by git diff/log -p/show on matching paths"),
    r("diff.*.textconv", When::Set, "text-conversion program run by diff/log -p/show/blame/grep on matching paths"),
    r("log.showsignature", When::NotFalse, "git log/show run the gpg program to verify every signature"),
    r("gpg.program", When::Set, "program run to verify signatures (log --show-signature, %G? formats, verify-*)"),
    r("gpg.*.program", When::Set, "program run to verify signatures of this format (openpgp, x509, ssh)"),
    r("gpg.ssh.defaultkeycommand", When::Set, "command run to pick the ssh signing key"),
    r("core.pager", When::Set, "pager command run by log/diff/show/... when output is a terminal"),
    r("pager.*", When::NotBool, "per-command pager command run when output is a terminal"),
    r("core.worktree", When::Set, "work tree lives elsewhere: its attributes, filters and files are outside what was checked"),
    // editing and interactive commands
    r("core.editor", When::Set, "editor program run by commit, tag, rebase -i, add -e and friends"),
    r("sequence.editor", When::Set, "editor program run by rebase -i"),
    r("interactive.difffilter", When::Set, "shell command the diff is piped through by add -p and friends"),
    r("merge.*.driver", When::Set, "merge driver command run by merge/rebase/cherry-pick/stash on matching paths"),
    r("difftool.*.cmd", When::Set, "command run by git difftool"),
    r("difftool.*.path", When::Set, "program run by git difftool"),
    r("mergetool.*.cmd", When::Set, "command run by git mergetool"),
    r("mergetool.*.path", When::Set, "program run by git mergetool"),
    r("submodule.*.update", When::Bang, "!command run by git submodule update"),
    // network and credentials (fetch, ls-remote, push, submodule, clone)
    r("core.sshcommand", When::Set, "command run instead of ssh by fetch/push/ls-remote"),
    list("core.gitproxy", "proxy command run for git:// connections"),
    r("core.askpass", When::Set, "password prompt program run when credentials are needed"),
    list("credential.helper", "credential helper program run whenever credentials are needed"),
    list("credential.*.helper", "credential helper program run for matching URLs"),
    r("core.alternaterefscommand", When::Set, "command run to list alternates' refs during fetch/push"),
    r("remote.*.url", When::Credential, "a remote URL with a password in it, which git remote -v and git config print"),
    r("remote.*.pushurl", When::Credential, "a push URL with a password in it, which git remote -v and git config print"),
    r("remote.*.uploadpack", When::Set, "program run by fetch/ls-remote, locally for local-path remotes"),
    r("remote.*.receivepack", When::Set, "program run by push, locally for local-path remotes"),
    r("remote.*.vcs", When::Set, "selects the git-remote-<vcs> helper program run by fetch/push"),
    r("protocol.allow", When::NotNever, "can enable the ext:: transport, whose URLs are arbitrary commands"),
    r("protocol.ext.allow", When::NotNever, "enables ext:: URLs, which run arbitrary commands on fetch/ls-remote"),
    // other porcelain
    r("sendemail.tocmd", When::Set, "command run by git send-email"),
    r("sendemail.cccmd", When::Set, "command run by git send-email"),
    r("sendemail.headercmd", When::Set, "command run by git send-email"),
    r("sendemail.*.tocmd", When::Set, "command run by git send-email"),
    r("sendemail.*.cccmd", When::Set, "command run by git send-email"),
    r("sendemail.*.headercmd", When::Set, "command run by git send-email"),
    r("sendemail.smtpserver", When::PathLike, "a path here is a sendmail program run by git send-email"),
    r("sendemail.*.smtpserver", When::PathLike, "a path here is a sendmail program run by git send-email"),
    r("imap.tunnel", When::Set, "tunnel command run by git imap-send"),
    r("browser.*.cmd", When::Set, "browser command run by git help --web / instaweb / web--browse"),
    r("browser.*.path", When::Set, "browser program run by git help --web / instaweb / web--browse"),
    r("man.*.cmd", When::Set, "man viewer command run by git help"),
    r("man.*.path", When::Set, "man viewer program run by git help"),
    r("instaweb.httpd", When::Set, "HTTP daemon command line run by git instaweb"),
    r("guitool.*.cmd", When::Set, "shell command run from git gui's Tools menu"),
    r("svn.authorsprog", When::Set, "program run by git svn to map author names"),
    // considered, not flagged
    r("alias.*", When::Never, "not flagged: aliases cannot shadow builtins, so an approved builtin name never runs one"),
    r("core.hookspath", When::Never, "not flagged itself: the post-index-change hook in the directory it names is (see check_hooks)"),
    r("uploadpack.packobjectshook", When::Never, "not flagged: git ignores it outside system/global/command-line config"),
    r("safe.directory", When::Never, "not flagged: git ignores it outside system/global/command-line config"),
    r("safe.barerepository", When::Never, "not flagged: git ignores it outside system/global/command-line config"),
    r("url.*.insteadof", When::Never, "not flagged: rewrites URLs only; ext:: needs protocol.*.allow, which is flagged"),
    r("url.*.pushinsteadof", When::Never, "not flagged: rewrites URLs only; ext:: needs protocol.*.allow, which is flagged"),
    r("help.autocorrect", When::Never, "not flagged: only acts on mistyped command names, which are not approved"),
    r("core.attributesfile", When::Never, "not flagged: attributes select drivers, but the drivers' programs are flagged"),
    r("diff.tool", When::Never, "not flagged: names a tool; the tool's cmd/path are flagged"),
    r("merge.tool", When::Never, "not flagged: names a tool; the tool's cmd/path are flagged"),
    r("gpg.format", When::Never, "not flagged: selects gpg/gpgsm/ssh-keygen from PATH, not a repository program"),
    r("gpg.ssh.allowedsignersfile", When::Never, "not flagged: a data file read by ssh-keygen"),
];

const SYNTAX: &str = "git cannot parse this config; the rest of the file was not checked";
const TOO_LARGE: &str = "config too large to check";
const NOT_A_FILE: &str = "config is not a regular file, so it was not checked";
const UNRESOLVED_INCLUDE: &str = "include path cannot be resolved here (~user/, %(prefix)/, no home, not UTF-8)";
const INCLUDE_DEPTH: &str = "include cycle or nesting deeper than 10: the included config was not checked";
const LIMIT: &str = "too many config files or submodules to check (limit 64 files, depth 10)";
const PROMISOR: &str = "a partial clone: reads that need a missing object fetch it from the promisor remote";
const HOOK: &str =
    "post-index-change hook: git status, git diff and git describe --dirty run it when they refresh the index";
const HOOKS_PATH_UNRESOLVED: &str =
    "core.hooksPath cannot be resolved here (~user/, %(prefix)/, no value, no home), so its post-index-change hook was not checked";
const BAD_INDEX: &str = "index could not be read, so submodules recorded in it were not checked";

const MAX_FILES: usize = 64;
const MAX_DEPTH: usize = 10;
const MAX_FILE_BYTES: u64 = 1 << 20;
const MAX_INDEX_BYTES: u64 = 64 << 20;
const MAX_DIR_ENTRIES: usize = 4096;

impl When {
    fn hit(self, value: Option<&[u8]>) -> bool {
        match self {
            When::Set => value.is_none_or(|v| !v.is_empty()),
            When::NotFalse => maybe_bool(value) != Some(false),
            When::NotBool => maybe_bool(value).is_none(),
            When::Bang => value.is_some_and(|v| v.first() == Some(&b'!')),
            When::NotNever => value != Some(b"never".as_slice()),
            When::PathLike => value.is_some_and(|v| matches!(v.first(), Some(b'/' | b'~'))),
            When::Credential => value.is_some_and(url_has_password),
            When::Never => false,
        }
    }
}

/// `scheme://user:password@host...`: a URL that carries a password.
fn url_has_password(v: &[u8]) -> bool {
    let text = String::from_utf8_lossy(v);
    let Some((_, rest)) = text.split_once("://") else { return false };
    let authority = rest.split('/').next().unwrap_or("");
    authority.rsplit_once('@').is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// Splits a canonical key into (section, subsection, name) the way git's `parse_config_key` does:
/// the section ends at the first dot, the name starts after the last one.
fn split_key(key: &str) -> Option<(&str, Option<&str>, &str)> {
    let first = key.find('.')?;
    let last = key.rfind('.')?;
    let sub = if first == last { None } else { Some(&key[first + 1..last]) };
    Some((&key[..first], sub, &key[last + 1..]))
}

fn rule_for(key: &str) -> Option<&'static Rule> {
    let (section, sub, name) = split_key(key)?;
    // The table's keys split once per process, not once per key looked up
    // (a resident scans a repository's config on every git call).
    type Split = (&'static str, Option<&'static str>, &'static str, &'static Rule);
    static SPLIT: std::sync::OnceLock<Vec<Split>> = std::sync::OnceLock::new();
    let split = SPLIT.get_or_init(|| {
        HAZARD_KEYS.iter().filter_map(|rule| split_key(rule.key).map(|(s, sub, n)| (s, sub, n, rule))).collect()
    });
    split
        .iter()
        .find(|&&(ps, psub, pn, _)| {
            ps == section
                && (pn == "*" || pn == name)
                && match (psub, sub) {
                    (None, None) => true,
                    (Some("*"), Some(_)) => true,
                    (Some(p), Some(s)) => p == s,
                    _ => false,
                }
        })
        .map(|&(_, _, _, rule)| rule)
}

/// git's `git_parse_maybe_bool`: `None` for a bare key (true), Some(bool) when the value is a
/// boolean or an integer that fits in an int (after a k/m/g unit), None when it is neither.
fn maybe_bool(value: Option<&[u8]>) -> Option<bool> {
    let Some(v) = value else { return Some(true) };
    if v.is_empty() {
        return Some(false);
    }
    for word in [b"true".as_slice(), b"yes", b"on"] {
        if v.eq_ignore_ascii_case(word) {
            return Some(true);
        }
    }
    for word in [b"false".as_slice(), b"no", b"off"] {
        if v.eq_ignore_ascii_case(word) {
            return Some(false);
        }
    }
    parse_git_int(v).map(|n| n != 0)
}

/// git's `git_parse_int`: `strtoimax(value, &end, 0)`, an optional k/m/g unit, and an int range check.
fn parse_git_int(v: &[u8]) -> Option<i64> {
    let mut i = 0;
    while v.get(i).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)) {
        i += 1;
    }
    let mut negative = false;
    if let Some(&sign @ (b'+' | b'-')) = v.get(i) {
        negative = sign == b'-';
        i += 1;
    }
    let hex_prefix = v.get(i) == Some(&b'0')
        && matches!(v.get(i + 1), Some(b'x' | b'X'))
        && v.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
    let base: u32 = if hex_prefix {
        i += 2;
        16
    } else if v.get(i) == Some(&b'0') {
        8
    } else {
        10
    };
    let digits_start = i;
    let mut n: i128 = 0;
    while let Some(d) = v.get(i).and_then(|&c| (c as char).to_digit(base)) {
        n = n * i128::from(base) + i128::from(d);
        if n > i128::from(i64::MAX) + 1 {
            return None; // ERANGE
        }
        i += 1;
    }
    if i == digits_start {
        return None;
    }
    let factor: i128 = match &v[i..] {
        [] => 1,
        [b'k' | b'K'] => 1 << 10,
        [b'm' | b'M'] => 1 << 20,
        [b'g' | b'G'] => 1 << 30,
        _ => return None,
    };
    let n = if negative { -n } else { n };
    let n = n.checked_mul(factor)?;
    if n > i128::from(i32::MAX) || n < -i128::from(i32::MAX) {
        return None;
    }
    i64::try_from(n).ok()
}

// ---------------------------------------------------------------------------------------------
// The parser (a port of git's config.c `git_parse_source`)
// ---------------------------------------------------------------------------------------------

/// One `key = value` as git's config callback sees it. `value` is None for a bare `key` line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: String,
    value: Option<Vec<u8>>,
    line: usize,
}

#[derive(Debug, Default)]
struct Parsed {
    entries: Vec<Entry>,
    /// The line git would report as "bad config line N"; entries after it were not read.
    error_line: Option<usize>,
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    eof: bool,
}

impl Cursor<'_> {
    /// git's `get_next_char`: CRLF reads as LF, end of input reads as LF with `eof` set.
    fn next(&mut self) -> u8 {
        let Some(&c) = self.bytes.get(self.pos) else {
            self.eof = true;
            return b'\n';
        };
        self.pos += 1;
        let c = if c == b'\r' && self.bytes.get(self.pos) == Some(&b'\n') {
            self.pos += 1;
            b'\n'
        } else {
            c
        };
        if c == b'\n' {
            self.line += 1;
        }
        c
    }
}

/// git's `isspace` (its own ctype table: no \v or \f).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// Bytes as git's callbacks see them: a C string, so everything from the first NUL on is gone.
fn c_string(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(n) => &bytes[..n],
        None => bytes,
    }
}

fn parse(bytes: &[u8]) -> Parsed {
    const BOM: [u8; 3] = [0xef, 0xbb, 0xbf];
    let mut out = Parsed::default();
    let mut cur = Cursor { bytes, pos: 0, line: 1, eof: false };
    if bytes.first() == Some(&BOM[0]) {
        if bytes.starts_with(&BOM) {
            cur.pos = 3;
        } else {
            out.error_line = Some(1); // git does not tolerate a partial BOM
            return out;
        }
    }
    let mut var: Vec<u8> = Vec::new();
    let mut base_len = 0;
    let mut comment = false;
    loop {
        let start_line = cur.line;
        let c = cur.next();
        if c == b'\n' {
            if cur.eof {
                return out;
            }
            comment = false;
            continue;
        }
        if comment || is_space(c) {
            continue;
        }
        if c == b'#' || c == b';' {
            comment = true;
            continue;
        }
        if c == b'[' {
            var.clear();
            if section_header(&mut cur, &mut var).is_none() || var.is_empty() {
                out.error_line = Some(start_line);
                return out;
            }
            var.push(b'.');
            base_len = var.len();
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.error_line = Some(start_line);
            return out;
        }
        var.truncate(base_len);
        var.push(c.to_ascii_lowercase());
        match key_and_value(&mut cur, &mut var) {
            Some(value) => out.entries.push(Entry {
                key: String::from_utf8_lossy(c_string(&var)).into_owned(),
                value: value.map(|v| c_string(&v).to_vec()),
                line: start_line,
            }),
            None => {
                out.error_line = Some(start_line);
                return out;
            }
        }
    }
}

/// git's `get_base_var` + `get_extended_base_var`, after the `[`. None is a syntax error.
fn section_header(cur: &mut Cursor<'_>, var: &mut Vec<u8>) -> Option<()> {
    loop {
        let c = cur.next();
        if cur.eof {
            return None;
        }
        if c == b']' {
            return Some(());
        }
        if is_space(c) {
            let mut c = c;
            loop {
                if c == b'\n' {
                    return None;
                }
                c = cur.next();
                if !is_space(c) {
                    break;
                }
            }
            if c != b'"' {
                return None;
            }
            var.push(b'.');
            loop {
                let mut c = cur.next();
                if c == b'\n' {
                    return None;
                }
                if c == b'"' {
                    break;
                }
                if c == b'\\' {
                    c = cur.next();
                    if c == b'\n' {
                        return None;
                    }
                }
                var.push(c);
            }
            return (cur.next() == b']').then_some(());
        }
        if !is_key_char(c) && c != b'.' {
            return None;
        }
        var.push(c.to_ascii_lowercase());
    }
}

/// git's `get_value`: the rest of the key name, then nothing (a bare key) or `= value`.
/// Outer None is a syntax error; inner None is a bare key.
fn key_and_value(cur: &mut Cursor<'_>, var: &mut Vec<u8>) -> Option<Option<Vec<u8>>> {
    let mut c;
    loop {
        c = cur.next();
        if cur.eof || !is_key_char(c) {
            break;
        }
        var.push(c.to_ascii_lowercase());
    }
    while c == b' ' || c == b'\t' {
        c = cur.next();
    }
    if c == b'\n' {
        return Some(None);
    }
    if c != b'=' {
        return None;
    }
    value(cur).map(Some)
}

/// git's `parse_value`, byte for byte, including its trailing-whitespace bookkeeping.
fn value(cur: &mut Cursor<'_>) -> Option<Vec<u8>> {
    let mut quote = false;
    let mut comment = false;
    let mut trim_len = 0;
    let mut v = Vec::new();
    loop {
        let c = cur.next();
        if c == b'\n' {
            if quote {
                return None;
            }
            if trim_len > 0 {
                v.truncate(trim_len);
            }
            return Some(v);
        }
        if comment {
            continue;
        }
        if is_space(c) && !quote {
            if trim_len == 0 {
                trim_len = v.len();
            }
            if !v.is_empty() {
                v.push(c);
            }
            continue;
        }
        if !quote && (c == b';' || c == b'#') {
            comment = true;
            continue;
        }
        trim_len = 0;
        match c {
            b'\\' => match cur.next() {
                b'\n' => continue,
                b't' => v.push(b'\t'),
                b'b' => v.push(0x08),
                b'n' => v.push(b'\n'),
                e @ (b'\\' | b'"') => v.push(e),
                _ => return None,
            },
            b'"' => quote = !quote,
            _ => v.push(c),
        }
    }
}

/// `include.path`, or `includeIf.<condition>.path` (followed whatever the condition).
fn include_path(key: &str) -> bool {
    key == "include.path" || matches!(split_key(key), Some(("includeif", Some(_), "path")))
}

/// Last-wins evaluation of a sequence of entries (one file, or a config with its includes inlined).
/// Returns the indexes of the entries that are hazards, in order.
fn evaluate<'a>(entries: impl Iterator<Item = &'a Entry>) -> Vec<(usize, &'static Rule)> {
    let mut state: HashMap<&'a str, Vec<(usize, &'static Rule)>> = HashMap::new();
    for (i, e) in entries.enumerate() {
        let Some(rule) = rule_for(&e.key) else {
            continue;
        };
        if rule.when == When::Never {
            continue;
        }
        let slot = state.entry(e.key.as_str()).or_default();
        let value = e.value.as_deref();
        if !rule.multi || value == Some(b"".as_slice()) {
            slot.clear();
        }
        if rule.when.hit(value) {
            slot.push((i, rule));
        }
    }
    let mut hits: Vec<(usize, &'static Rule)> = state.into_values().flatten().collect();
    hits.sort_by_key(|&(i, _)| i);
    hits
}

/// Pure: parse git-config text and return the hazards in it plus the include paths it names (raw, unresolved).
/// Hazards are `(key, line, why)` with the key in canonical `section.Subsection.name` form, evaluated
/// last-wins within this text; a syntax error adds a `(syntax)` row at the line git would report.
#[allow(clippy::type_complexity)]
pub fn scan_text(text: &str) -> (Vec<(String, usize, &'static str)>, Vec<(String, usize)>) {
    let parsed = parse(text.as_bytes());
    let mut hazards: Vec<(String, usize, &'static str)> = evaluate(parsed.entries.iter())
        .into_iter()
        .filter_map(|(i, rule)| parsed.entries.get(i).map(|e| (e.key.clone(), e.line, rule.why)))
        .collect();
    if let Some(line) = parsed.error_line {
        hazards.push(("(syntax)".to_string(), line, SYNTAX));
    }
    let includes = parsed
        .entries
        .iter()
        .filter(|e| include_path(&e.key))
        .filter_map(|e| e.value.as_ref().map(|v| (String::from_utf8_lossy(v).into_owned(), e.line)))
        .collect();
    (hazards, includes)
}

// ---------------------------------------------------------------------------------------------
// The edge: discovery, includes, worktrees, submodules
// ---------------------------------------------------------------------------------------------

fn io_err(path: &Path, source: io::Error) -> GitCfgError {
    GitCfgError::Io { path: path.to_path_buf(), source }
}

fn is_missing(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
}

#[cfg(unix)]
fn bytes_to_path(bytes: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

#[cfg(not(unix))]
fn bytes_to_path(bytes: &[u8]) -> Option<PathBuf> {
    std::str::from_utf8(bytes).ok().map(PathBuf::from)
}

fn open_for_read(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // Never block on a FIFO planted where a config file should be.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

enum Loaded {
    Missing,
    NotFile,
    TooLarge,
    Bytes(Vec<u8>),
}

/// Reads a regular file of at most `max` bytes without following it into a FIFO or device.
fn read_bounded(path: &Path, max: u64) -> io::Result<Loaded> {
    let file = match open_for_read(path) {
        Ok(f) => f,
        Err(e) if is_missing(&e) => return Ok(Loaded::Missing),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(Loaded::NotFile);
    }
    if meta.len() > max {
        return Ok(Loaded::TooLarge);
    }
    // Read what fstat promised (one read for a regular file); a file that changes meanwhile is
    // read as far as it goes, never past `max`.
    let mut buf = vec![0u8; usize::try_from(meta.len()).unwrap_or(0)];
    let mut filled = 0;
    let mut file = file;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(Loaded::Bytes(buf))
}

/// Small metadata files (HEAD, commondir, .git files): None when missing or unreadable.
fn read_small(path: &Path) -> Option<Vec<u8>> {
    match read_bounded(path, 64 * 1024) {
        Ok(Loaded::Bytes(b)) => Some(b),
        _ => None,
    }
}

fn trim_eol(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = b {
        b = rest;
    }
    b
}

/// git's `validate_headref`: a symlink into refs/, `ref: refs/...`, or an object name.
fn valid_head(path: &Path) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    if meta.file_type().is_symlink() {
        return fs::read_link(path).is_ok_and(|t| t.starts_with("refs"));
    }
    let Some(buf) = read_small(path) else {
        return false;
    };
    if let Some(rest) = buf.strip_prefix(b"ref:") {
        let rest = rest.iter().position(|&c| !is_space(c)).map_or(&[][..], |n| &rest[n..]);
        return rest.starts_with(b"refs/");
    }
    buf.len() >= 40 && buf[..40].iter().all(u8::is_ascii_hexdigit)
}

/// The `commondir` of a git dir (linked worktrees point at the main git dir), if it names one.
fn common_dir(git_dir: &Path) -> Option<PathBuf> {
    let raw = read_small(&git_dir.join("commondir"))?;
    let p = git_dir.join(bytes_to_path(trim_eol(&raw))?);
    Some(fs::canonicalize(&p).unwrap_or(p))
}

/// git's `is_git_directory`: a valid HEAD, and objects/ and refs/ in the common dir.
/// Returns the common dir (the git dir itself unless it has a `commondir` file).
fn git_dir_common(dir: &Path) -> Option<PathBuf> {
    if !valid_head(&dir.join("HEAD")) {
        return None;
    }
    let common = common_dir(dir).unwrap_or_else(|| dir.to_path_buf());
    (common.join("objects").is_dir() && common.join("refs").is_dir()).then_some(common)
}

/// A directory git might still take for a git dir although it fails our strict check.
fn looks_like_git_dir(dir: &Path) -> bool {
    fs::symlink_metadata(dir.join("HEAD")).is_ok() && dir.join("config").is_file()
}

/// git's `read_gitfile_gently`: `gitdir: <path>`, relative to the file's directory.
fn read_git_file(file: &Path) -> Option<PathBuf> {
    let raw = read_small(file)?;
    let rest = trim_eol(raw.strip_prefix(b"gitdir: ")?);
    if rest.is_empty() {
        return None;
    }
    let target = bytes_to_path(rest)?;
    let base = file.parent().unwrap_or(Path::new("/"));
    let target = fs::canonicalize(base.join(target)).ok()?;
    target.is_dir().then_some(target)
}

/// Whether git would run the hook at `path`: it runs what `access(X_OK)` allows, so a regular file
/// without any execute bit is skipped; anything else that exists counts.
fn hook_runnable(path: &Path) -> bool {
    match fs::metadata(path) {
        Err(_) => false,
        #[cfg(unix)]
        Ok(m) => {
            use std::os::unix::fs::PermissionsExt;
            !(m.is_file() && m.permissions().mode() & 0o111 == 0)
        }
        #[cfg(not(unix))]
        Ok(_) => true,
    }
}

/// The key, last-wins, that makes this config a partial clone's: `extensions.partialClone` naming a
/// remote, or `remote.<name>.promisor` not false.
fn promisor_key(out: &[Assign], files: &[PathBuf]) -> Option<Hazard> {
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, a) in out.iter().enumerate() {
        let k = a.entry.key.as_str();
        if k == "extensions.partialclone" || matches!(split_key(k), Some(("remote", Some(_), "promisor"))) {
            last.insert(k, i);
        }
    }
    let mut hits: Vec<usize> = last
        .into_iter()
        .filter(|&(k, i)| {
            let v = out[i].entry.value.as_deref();
            if k == "extensions.partialclone" {
                v.is_none_or(|v| !v.is_empty())
            } else {
                maybe_bool(v) != Some(false)
            }
        })
        .map(|(_, i)| i)
        .collect();
    hits.sort_unstable();
    let a = out.get(*hits.first()?)?;
    Some(Hazard {
        key: a.entry.key.clone(),
        file: files.get(a.file).cloned().unwrap_or_default(),
        line: a.entry.line,
        why: PROMISOR,
    })
}

/// An assignment in include order, with the index of the file it came from.
struct Assign {
    entry: Entry,
    file: usize,
}

struct Scanner<'h> {
    home: Option<&'h Path>,
    files_read: usize,
    dir_entries: usize,
    limit_flagged: bool,
    seen_git_dirs: HashSet<PathBuf>,
    hazards: Vec<Hazard>,
    /// `core.hooksPath` from the system and user config files (the value, its file and line):
    /// every repository git opens reads them first.
    user_hooks_path: Option<Setting>,
    promisor: Option<Hazard>,
    /// The work tree and object-name length of the first git dir scanned (the repository itself).
    top: Option<(Option<PathBuf>, usize)>,
}

/// A config value with where it was set. `value` is None for a bare `key` line.
#[derive(Clone)]
struct Setting {
    value: Option<Vec<u8>>,
    file: PathBuf,
    line: usize,
}

impl Scanner<'_> {
    fn flag(&mut self, key: &str, file: &Path, line: usize, why: &'static str) {
        self.hazards.push(Hazard { key: key.to_string(), file: file.to_path_buf(), line, why });
    }

    fn flag_limit(&mut self, at: &Path) {
        if !self.limit_flagged {
            self.limit_flagged = true;
            self.flag("(limit)", at, 0, LIMIT);
        }
    }

    /// Reads one config file (counted against the file limit) and inlines its includes into `out`.
    fn expand(
        &mut self,
        path: &Path,
        depth: usize,
        stack: &mut Vec<PathBuf>,
        out: &mut Vec<Assign>,
        files: &mut Vec<PathBuf>,
    ) -> Result<(), GitCfgError> {
        let bytes = match read_bounded(path, MAX_FILE_BYTES).map_err(|e| io_err(path, e))? {
            Loaded::Missing => return Ok(()),
            Loaded::NotFile => {
                self.flag("(not-a-file)", path, 0, NOT_A_FILE);
                return Ok(());
            }
            Loaded::TooLarge => {
                self.flag("(too-large)", path, 0, TOO_LARGE);
                return Ok(());
            }
            Loaded::Bytes(b) => b,
        };
        if self.files_read >= MAX_FILES {
            self.flag_limit(path);
            return Ok(());
        }
        self.files_read += 1;
        let parsed = parse(&bytes);
        let file = files.len();
        files.push(path.to_path_buf());
        if let Some(line) = parsed.error_line {
            self.flag("(syntax)", path, line, SYNTAX);
        }
        for entry in parsed.entries {
            let include = include_path(&entry.key).then(|| entry.value.clone()).flatten();
            let line = entry.line;
            out.push(Assign { entry, file });
            let Some(raw) = include else { continue };
            if raw.is_empty() {
                continue;
            }
            let Some(target) = self.resolve_include(path, &raw) else {
                self.flag("(include)", path, line, UNRESOLVED_INCLUDE);
                continue;
            };
            let canon = match fs::canonicalize(&target) {
                Ok(c) => c,
                Err(e) if is_missing(&e) => continue, // git ignores a missing include
                Err(_) => target.clone(),
            };
            if depth >= MAX_DEPTH || stack.contains(&canon) {
                self.flag("(include-depth)", path, line, INCLUDE_DEPTH);
                continue;
            }
            stack.push(canon.clone());
            let result = self.expand(&canon, depth + 1, stack, out, files);
            stack.pop();
            result?;
        }
        Ok(())
    }

    /// git's include path rules: `~` and `~/` expand to home, relative paths are relative to the
    /// including file. None when git would expand it in a way we cannot (`~user/`, `%(prefix)/`).
    fn resolve_include(&self, including: &Path, raw: &[u8]) -> Option<PathBuf> {
        if raw == b"~" || raw.starts_with(b"~/") {
            let home = self.home?;
            let mut rest = raw.get(1..).unwrap_or(&[]);
            while let [b'/', tail @ ..] = rest {
                rest = tail;
            }
            return Some(if rest.is_empty() { home.to_path_buf() } else { home.join(bytes_to_path(rest)?) });
        }
        if raw.starts_with(b"~") || raw.starts_with(b"%(prefix)/") {
            return None;
        }
        let p = bytes_to_path(raw)?;
        if p.is_absolute() {
            return Some(p);
        }
        Some(including.parent().unwrap_or(Path::new("/")).join(p))
    }

    /// Scans one git dir: its config set, its index's gitlinks, and its modules/ tree.
    fn scan_git_dir(
        &mut self,
        git_dir: &Path,
        common: Option<PathBuf>,
        worktree: Option<PathBuf>,
        depth: usize,
        submodule: bool,
    ) -> Result<(), GitCfgError> {
        if depth > MAX_DEPTH {
            self.flag_limit(git_dir);
            return Ok(());
        }
        // Paths arrive canonical (from the canonical start, gitdir files and directory walks).
        if !self.seen_git_dirs.insert(git_dir.to_path_buf()) {
            return Ok(());
        }
        let common = common.or_else(|| common_dir(git_dir)).unwrap_or_else(|| git_dir.to_path_buf());
        let mut out = Vec::new();
        let mut files = Vec::new();
        for path in [common.join("config"), git_dir.join("config.worktree")] {
            let mut stack = vec![path.clone()];
            self.expand(&path, 0, &mut stack, &mut out, &mut files)?;
        }
        for (i, rule) in evaluate(out.iter().map(|a| &a.entry)) {
            let Some(a) = out.get(i) else { continue };
            // git itself points a submodule's gitdir at its work tree with core.worktree.
            if submodule && a.entry.key == "core.worktree" {
                continue;
            }
            let file = files.get(a.file).cloned().unwrap_or_default();
            self.hazards.push(Hazard { key: a.entry.key.clone(), file, line: a.entry.line, why: rule.why });
        }
        let last = |key: &str| out.iter().rev().find(|a| a.entry.key == key).and_then(|a| a.entry.value.clone());
        let configured_worktree = last("core.worktree").filter(|v| !v.is_empty()).and_then(|v| bytes_to_path(&v));
        let sha256 = last("extensions.objectformat").is_some_and(|v| v.eq_ignore_ascii_case(b"sha256"));
        let worktree = configured_worktree.map(|w| git_dir.join(w)).or(worktree);
        let hash_len = if sha256 { 32 } else { 20 };
        if self.top.is_none() {
            self.top = Some((worktree.clone(), hash_len));
        }
        let hooks_path = out
            .iter()
            .rev()
            .find(|a| a.entry.key == "core.hookspath")
            .map(|a| Setting {
                value: a.entry.value.clone(),
                file: files.get(a.file).cloned().unwrap_or_default(),
                line: a.entry.line,
            })
            .or_else(|| self.user_hooks_path.clone());
        self.check_hooks(hooks_path, &common, git_dir, worktree.as_deref());
        if self.promisor.is_none() {
            self.promisor = promisor_key(&out, &files);
        }
        if let Some(worktree) = worktree {
            self.scan_gitlinks(git_dir, &worktree, hash_len, depth)?;
        }
        self.walk_modules(&common.join("modules"), depth + 1)
    }

    /// The hooks git runs for this git dir: `core.hooksPath` (relative to the work tree, or to the
    /// git dir of a bare repository; `~/` from home; empty means `/`), else the common dir's
    /// `hooks/` (a linked worktree shares the main repository's). Of the hooks, only
    /// `post-index-change` runs on a read: `git status`, `git diff` and `git describe --dirty`
    /// run it when they refresh the index, in the superproject and in every submodule.
    fn check_hooks(&mut self, setting: Option<Setting>, common: &Path, git_dir: &Path, worktree: Option<&Path>) {
        let dir = match setting {
            None => common.join("hooks"),
            Some(Setting { value: None, file, line }) => {
                self.flag("core.hookspath", &file, line, HOOKS_PATH_UNRESOLVED);
                return;
            }
            Some(Setting { value: Some(v), file, line }) => {
                if v.is_empty() {
                    PathBuf::from("/")
                } else if v == b"~" || v.starts_with(b"~/") {
                    match self.resolve_include(&file, &v) {
                        Some(p) => p,
                        None => {
                            self.flag("core.hookspath", &file, line, HOOKS_PATH_UNRESOLVED);
                            return;
                        }
                    }
                } else if v.starts_with(b"~") || v.starts_with(b"%(prefix)/") {
                    self.flag("core.hookspath", &file, line, HOOKS_PATH_UNRESOLVED);
                    return;
                } else {
                    let Some(p) = bytes_to_path(&v) else {
                        self.flag("core.hookspath", &file, line, HOOKS_PATH_UNRESOLVED);
                        return;
                    };
                    worktree.unwrap_or(git_dir).join(p)
                }
            }
        };
        let hook = dir.join("post-index-change");
        if hook_runnable(&hook) {
            self.flag("(hook)", &hook, 0, HOOK);
        }
    }

    /// Submodules recorded as gitlinks in the index: git status recurses into each checked-out one.
    fn scan_gitlinks(
        &mut self,
        git_dir: &Path,
        worktree: &Path,
        hash_len: usize,
        depth: usize,
    ) -> Result<(), GitCfgError> {
        let index = git_dir.join("index");
        let mut links = Vec::new();
        let mut gitlinks = |name: &[u8], mode: u32| {
            if mode & 0o170000 == 0o160000 {
                links.push(name.to_vec());
            }
        };
        match read_index(&index, hash_len, &mut gitlinks) {
            Ok(Some(shared)) => {
                let shared_path = git_dir.join(format!("sharedindex.{shared}"));
                if read_index(&shared_path, hash_len, &mut gitlinks).is_err() {
                    self.flag("(index)", &shared_path, 0, BAD_INDEX);
                }
            }
            Ok(None) => {}
            Err(()) => self.flag("(index)", &index, 0, BAD_INDEX),
        }
        for name in links {
            self.dir_entries += 1;
            if self.dir_entries > MAX_DIR_ENTRIES {
                self.flag_limit(&index);
                return Ok(());
            }
            let Some(rel) = bytes_to_path(&name) else {
                continue;
            };
            let sub_worktree = worktree.join(rel);
            let dot_git = sub_worktree.join(".git");
            let Ok(meta) = fs::metadata(&dot_git) else {
                continue;
            };
            let sub_git_dir = if meta.is_dir() {
                dot_git
            } else if let Some(target) = read_git_file(&dot_git) {
                target
            } else {
                continue; // git skips a submodule it cannot open
            };
            self.scan_git_dir(&sub_git_dir, None, Some(sub_worktree), depth + 1, true)?;
        }
        Ok(())
    }

    /// `<gitdir>/modules/**`: absorbed submodule git dirs (names may contain slashes).
    fn walk_modules(&mut self, dir: &Path, depth: usize) -> Result<(), GitCfgError> {
        let entries = match fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if is_missing(&e) => return Ok(()),
            Err(e) => return Err(io_err(dir, e)),
        };
        if depth > MAX_DEPTH {
            self.flag_limit(dir);
            return Ok(());
        }
        let mut paths = Vec::new();
        for entry in entries {
            self.dir_entries += 1;
            if self.dir_entries > MAX_DIR_ENTRIES {
                self.flag_limit(dir);
                return Ok(());
            }
            if let Ok(entry) = entry {
                paths.push(entry.path());
            }
        }
        paths.sort();
        for path in paths {
            if !path.is_dir() {
                continue;
            }
            if let Some(common) = git_dir_common(&path) {
                self.scan_git_dir(&path, Some(common), None, depth, true)?;
            } else if looks_like_git_dir(&path) {
                self.scan_git_dir(&path, None, None, depth, true)?;
            } else {
                self.walk_modules(&path, depth + 1)?;
            }
        }
        Ok(())
    }
}

/// Calls `each(path, mode)` for every entry of an index file. Ok(Some(hex)) names a split index's
/// shared index; Err means the file exists but is not an index we can read.
fn read_index(path: &Path, hash_len: usize, each: &mut dyn FnMut(&[u8], u32)) -> Result<Option<String>, ()> {
    let bytes = match read_bounded(path, MAX_INDEX_BYTES) {
        Ok(Loaded::Bytes(b)) => b,
        Ok(Loaded::Missing) => return Ok(None),
        _ => return Err(()),
    };
    let be32 = |at: usize| -> Result<u32, ()> {
        bytes.get(at..at + 4).and_then(|s| <[u8; 4]>::try_from(s).ok()).map(u32::from_be_bytes).ok_or(())
    };
    let be16 = |at: usize| -> Result<u16, ()> {
        bytes.get(at..at + 2).and_then(|s| <[u8; 2]>::try_from(s).ok()).map(u16::from_be_bytes).ok_or(())
    };
    if bytes.get(..4) != Some(b"DIRC".as_slice()) {
        return Err(());
    }
    let version = be32(4)?;
    if !(2..=4).contains(&version) {
        return Err(());
    }
    let count = be32(8)?;
    let mut pos = 12;
    let mut name: Vec<u8> = Vec::new();
    for _ in 0..count {
        let mode = be32(pos + 24)?;
        let flags = be16(pos + 40 + hash_len)?;
        let mut at = pos + 40 + hash_len + 2;
        if flags & 0x4000 != 0 {
            if version < 3 {
                return Err(());
            }
            at += 2;
        }
        if version == 4 {
            // Prefix compression: drop `strip` bytes of the previous name, then a NUL-terminated suffix.
            let mut strip: usize = 0;
            loop {
                let c = *bytes.get(at).ok_or(())?;
                at += 1;
                strip = strip.checked_mul(128).and_then(|s| s.checked_add(usize::from(c & 127))).ok_or(())?;
                if c & 128 == 0 {
                    break;
                }
                strip = strip.checked_add(1).ok_or(())?;
            }
            let keep = name.len().checked_sub(strip).ok_or(())?;
            name.truncate(keep);
            let len = bytes.get(at..).ok_or(())?.iter().position(|&b| b == 0).ok_or(())?;
            name.extend_from_slice(&bytes[at..at + len]);
            pos = at + len + 1;
        } else {
            let len = bytes.get(at..).ok_or(())?.iter().position(|&b| b == 0).ok_or(())?;
            name.clear();
            name.extend_from_slice(&bytes[at..at + len]);
            pos += (at - pos + len + 8) & !7;
        }
        each(&name, mode);
    }
    // Extensions: 4-byte signature, 4-byte size, data; the file ends with its own hash.
    let end = bytes.len().saturating_sub(hash_len);
    while pos + 8 <= end {
        let size = usize::try_from(be32(pos + 4)?).map_err(|_| ())?;
        if bytes.get(pos..pos + 4) == Some(b"link".as_slice()) {
            let hash = bytes.get(pos + 8..pos + 8 + hash_len).ok_or(())?;
            if hash.iter().any(|&b| b != 0) {
                return Ok(Some(hash.iter().map(|b| format!("{b:02x}")).collect()));
            }
        }
        pos = size.checked_add(8).and_then(|n| pos.checked_add(n)).ok_or(())?;
    }
    Ok(None)
}

/// Edge: find the repository for `dir` as git would, and collect the hazards in its config, its
/// includes, its worktree config and its submodules' configs. Ok(None) = not in a repository.
pub fn repo_hazards(dir: &Path, home: Option<&Path>) -> Result<Option<RepoScan>, GitCfgError> {
    let start = fs::canonicalize(dir).map_err(|e| io_err(dir, e))?;
    // The git dir git would use, with its work tree; plus directories that only look like git dirs:
    // if git and we disagree about those, scanning them too keeps the answer on the safe side.
    let mut found: Option<(PathBuf, Option<PathBuf>, Option<PathBuf>)> = None;
    let mut doubtful: Vec<PathBuf> = Vec::new();
    for level in start.ancestors() {
        let dot_git = level.join(".git");
        match fs::metadata(&dot_git) {
            Ok(meta) if meta.is_file() => match read_git_file(&dot_git) {
                Some(target) => {
                    found = Some((target, None, Some(level.to_path_buf())));
                    break;
                }
                None => return Err(GitCfgError::BadGitFile { path: dot_git }),
            },
            Ok(meta) if meta.is_dir() => {
                if let Some(common) = git_dir_common(&dot_git) {
                    found = Some((dot_git, Some(common), Some(level.to_path_buf())));
                    break;
                }
                if fs::symlink_metadata(dot_git.join("HEAD")).is_ok() || dot_git.join("config").is_file() {
                    doubtful.push(dot_git);
                }
            }
            _ => {}
        }
        if let Some(common) = git_dir_common(level) {
            found = Some((level.to_path_buf(), Some(common), None));
            break;
        }
        if looks_like_git_dir(level) {
            doubtful.push(level.to_path_buf());
        }
    }
    let git_dir = match (&found, doubtful.first()) {
        (Some((g, _, _)), _) => g.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => return Ok(None),
    };
    let mut scanner = Scanner {
        home,
        files_read: 0,
        dir_entries: 0,
        limit_flagged: false,
        seen_git_dirs: HashSet::new(),
        hazards: Vec::new(),
        user_hooks_path: None,
        promisor: None,
        top: None,
    };
    scanner.user_hooks_path = scanner.user_hooks_path()?;
    if let Some((g, common, worktree)) = found {
        scanner.scan_git_dir(&g, common, worktree, 0, false)?;
    }
    for d in doubtful {
        let worktree = d.file_name().is_some_and(|n| n == ".git").then(|| d.parent().map(Path::to_path_buf)).flatten();
        scanner.scan_git_dir(&d, None, worktree, 0, false)?;
    }
    let mut seen = HashSet::new();
    let mut hazards = scanner.hazards;
    hazards.retain(|h| seen.insert((h.key.clone(), h.file.clone(), h.line)));
    let (work_tree, hash_len) = scanner.top.unwrap_or((None, 20));
    Ok(Some(RepoScan { git_dir, hazards, work_tree, promisor: scanner.promisor, hash_len }))
}

/// The system and user config files git reads before a repository's own, in order.
fn user_config_files(home: Option<&Path>) -> Vec<PathBuf> {
    // /etc for a distribution's git, /usr/local/etc for one built with the default prefix.
    let mut files = vec![PathBuf::from("/etc/gitconfig"), PathBuf::from("/usr/local/etc/gitconfig")];
    match std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        Some(x) => files.push(PathBuf::from(x).join("git/config")),
        None => files.extend(home.map(|h| h.join(".config/git/config"))),
    }
    files.extend(home.map(|h| h.join(".gitconfig")));
    files
}

impl Scanner<'_> {
    /// `core.hooksPath` from the system and user config (and what they include), last-wins. Only
    /// that key is taken from them: the rest of the user's own config is the user's choice. An
    /// include that cannot be resolved is still reported, since it may set the key.
    fn user_hooks_path(&mut self) -> Result<Option<Setting>, GitCfgError> {
        let (hazards_before, files_before) = (self.hazards.len(), self.files_read);
        let mut out = Vec::new();
        let mut files = Vec::new();
        for path in user_config_files(self.home) {
            let mut stack = vec![path.clone()];
            // An unreadable user config leaves the repository's own hooks path in force.
            let _ = self.expand(&path, 0, &mut stack, &mut out, &mut files);
        }
        let kept: Vec<Hazard> = self
            .hazards
            .drain(hazards_before..)
            .filter(|h| matches!(h.key.as_str(), "(include)" | "(include-depth)"))
            .collect();
        self.hazards.extend(kept);
        self.files_read = files_before;
        Ok(out.iter().rev().find(|a| a.entry.key == "core.hookspath").map(|a| Setting {
            value: a.entry.value.clone(),
            file: files.get(a.file).cloned().unwrap_or_default(),
            line: a.entry.line,
        }))
    }
}

/// Edge: the paths tracked in the index of `scan`'s repository that `pick` selects, read as pure
/// file I/O. More than `max` picks, a sparse index (whose directory entries hide the files under
/// them), an unreadable index, or a missing index in a repository that has objects all make the
/// answer [`Tracked::Unknown`].
pub fn tracked_matching(scan: &RepoScan, pick: &dyn Fn(&str) -> bool, max: usize) -> Tracked {
    let index = scan.git_dir.join("index");
    let mut paths: Vec<String> = Vec::new();
    let mut submodules = false;
    let mut sparse: Option<String> = None;
    let mut too_many = false;
    let mut each = |name: &[u8], mode: u32| {
        let n = String::from_utf8_lossy(name);
        match mode & 0o170000 {
            0o160000 => submodules = true,
            0o040000 => sparse = Some(n.clone().into_owned()),
            _ => {}
        }
        if pick(&n) {
            if paths.len() >= max {
                too_many = true;
            } else if !paths.iter().any(|p| *p == n) {
                paths.push(n.into_owned());
            }
        }
    };
    let shared = match read_index(&index, scan.hash_len, &mut each) {
        Ok(s) => s,
        Err(()) => return Tracked::Unknown(format!("{} could not be read", index.display())),
    };
    if let Some(hex) = shared {
        let shared_path = scan.git_dir.join(format!("sharedindex.{hex}"));
        if read_index(&shared_path, scan.hash_len, &mut each).is_err() {
            return Tracked::Unknown(format!("{} could not be read", shared_path.display()));
        }
    }
    if let Some(dir) = sparse {
        return Tracked::Unknown(format!("the index is sparse: `{dir}` stands for files it does not list"));
    }
    if too_many {
        return Tracked::Unknown(format!("more than {max} such files are tracked"));
    }
    if !index.exists() && has_objects(&common_dir(&scan.git_dir).unwrap_or_else(|| scan.git_dir.clone())) {
        return Tracked::Unknown("the repository has objects but no index".into());
    }
    Tracked::Known { paths, submodules }
}

/// Whether a git dir holds (or borrows) any object: a loose object directory, a pack, alternates.
fn has_objects(common: &Path) -> bool {
    let objects = common.join("objects");
    if objects.join("info/alternates").exists() {
        return true;
    }
    let Ok(entries) = fs::read_dir(&objects) else { return false };
    entries.flatten().take(MAX_DIR_ENTRIES).any(|e| {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name == "pack" {
            fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_some())
        } else {
            name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Content marker: make a git dir skeleton (HEAD, objects/, refs/heads/) at this path.
    const GITDIR: &str = "\u{0}gitdir";
    /// Content marker: an index holding one gitlink, the path after the marker.
    const GITLINK_INDEX: &str = "\u{0}gitlink:";
    /// Content marker: a config file larger than the limit.
    const HUGE: &str = "\u{0}huge";
    /// Content marker: an executable script (a hook git would run).
    const EXEC: &str = "\u{0}exec";

    /// An index file (version 2) with one gitlink entry.
    fn gitlink_index(name: &str) -> Vec<u8> {
        let mut b = b"DIRC".to_vec();
        b.extend(2u32.to_be_bytes());
        b.extend(1u32.to_be_bytes());
        let mut e = vec![0u8; 40];
        e[24..28].copy_from_slice(&0o160000u32.to_be_bytes());
        e.extend([0u8; 20]);
        e.extend(u16::try_from(name.len().min(0xfff)).unwrap_or(0xfff).to_be_bytes());
        e.extend(name.as_bytes());
        let padded = (62 + name.len() + 8) & !7;
        e.resize(padded, 0);
        b.extend(e);
        b.extend([0u8; 20]);
        b
    }

    /// Plants `files` under a fresh root ($ROOT and $HOME in contents are replaced) and returns the
    /// hazards for `cwd` as "key@relative/file:line", sorted.
    fn run(files: &[(&str, &str)], cwd: &str) -> Result<Option<Vec<String>>, GitCfgError> {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = fs::canonicalize(tmp.path()).expect("canonical root");
        let home = root.join("home");
        fs::create_dir_all(&home).expect("home");
        for &(rel, content) in files {
            let path = root.join(rel);
            if content == GITDIR {
                fs::create_dir_all(path.join("objects")).expect("objects");
                fs::create_dir_all(path.join("refs/heads")).expect("refs");
                fs::write(path.join("HEAD"), "ref: refs/heads/main\n").expect("HEAD");
                continue;
            }
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("parent");
            }
            if let Some(name) = content.strip_prefix(GITLINK_INDEX) {
                fs::write(&path, gitlink_index(name)).expect("index");
            } else if content == HUGE {
                fs::write(&path, "#".repeat(2 << 20)).expect("huge");
            } else if content == EXEC {
                fs::write(&path, "#!/bin/sh\n").expect("hook");
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
                }
            } else {
                let text = content.replace("$ROOT", &root.to_string_lossy()).replace("$HOME", &home.to_string_lossy());
                fs::write(&path, text).expect("write");
            }
        }
        let cwd = root.join(cwd);
        fs::create_dir_all(&cwd).expect("cwd");
        Ok(repo_hazards(&cwd, Some(&home))?.map(|scan| {
            let mut out: Vec<String> = scan
                .hazards
                .iter()
                .map(|h| {
                    let rel = h.file.strip_prefix(&root).unwrap_or(&h.file);
                    format!("{}@{}:{}", h.key, rel.display(), h.line)
                })
                .collect();
            out.sort();
            out
        }))
    }

    const CLEAN: &str = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n[remote \"origin\"]\n\turl = https://example.com/r.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[branch \"main\"]\n\tremote = origin\n\tmerge = refs/heads/main\n";

    #[test]
    fn planted_repositories() {
        struct Case {
            name: &'static str,
            files: &'static [(&'static str, &'static str)],
            cwd: &'static str,
            expect: &'static [&'static str],
        }
        #[rustfmt::skip]
        let cases = [
            Case { name: "clean repo", files: &[(".git", GITDIR), (".git/config", CLEAN)], cwd: "", expect: &[] },
            Case { name: "repo without config", files: &[(".git", GITDIR)], cwd: "", expect: &[] },
            Case { name: "fsmonitor hook", files: &[(".git", GITDIR), (".git/config", "[core]\n\tfsmonitor = .git/fsmon.sh\n")], cwd: "", expect: &["core.fsmonitor@.git/config:2"] },
            Case { name: "FsMonitor in any case", files: &[(".git", GITDIR), (".git/config", "[CORE]\n\tFsMonitor = x\n")], cwd: "", expect: &["core.fsmonitor@.git/config:2"] },
            Case { name: "fsmonitor true (daemon)", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor = true\n")], cwd: "", expect: &["core.fsmonitor@.git/config:2"] },
            Case { name: "fsmonitor bare key is true", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor\n")], cwd: "", expect: &["core.fsmonitor@.git/config:2"] },
            Case { name: "fsmonitor false", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor = false\n")], cwd: "", expect: &[] },
            Case { name: "fsmonitor empty", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor =\n")], cwd: "", expect: &[] },
            Case { name: "fsmonitor 0", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor = 0\n")], cwd: "", expect: &[] },
            Case { name: "overridden to false", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor = /bin/x\nfsmonitor = false\n")], cwd: "", expect: &[] },
            Case { name: "false then overridden to a hook", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor = off\n[core]\nfsmonitor = /bin/x\n")], cwd: "", expect: &["core.fsmonitor@.git/config:4"] },
            Case { name: "fsmonitor under a subsection is another key", files: &[(".git", GITDIR), (".git/config", "[core \"x\"]\nfsmonitor = /bin/x\n")], cwd: "", expect: &[] },
            Case { name: "quoted # is part of the value", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor = \"false # not a comment\"\n")], cwd: "", expect: &["core.fsmonitor@.git/config:2"] },
            Case { name: "unquoted # starts a comment", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor = false # a comment\nfsmonitor = no;another\n")], cwd: "", expect: &[] },
            Case { name: "BOM and CRLF", files: &[(".git", GITDIR), (".git/config", "\u{feff}[core]\r\n\tfsmonitor = /x\r\n")], cwd: "", expect: &["core.fsmonitor@.git/config:2"] },
            Case { name: "continuation spells false", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor = fa\\\nlse\n")], cwd: "", expect: &[] },
            Case { name: "continuation line value", files: &[(".git", GITDIR), (".git/config", "[diff \"x\"]\ntextconv = sh \\\n -c evil\n")], cwd: "", expect: &["diff.x.textconv@.git/config:2"] },
            Case { name: "quoted subsection keeps case", files: &[(".git", GITDIR), (".git/config", "[diff \"LFS\"]\n\ttextconv = x\n")], cwd: "", expect: &["diff.LFS.textconv@.git/config:2"] },
            Case { name: "old-style subsection is lowercased", files: &[(".git", GITDIR), (".git/config", "[Diff.LFS]\n\tTextConv = x\n")], cwd: "", expect: &["diff.lfs.textconv@.git/config:2"] },
            Case { name: "escaped quote in subsection", files: &[(".git", GITDIR), (".git/config", "[filter \"a\\\"b\"]\n\tclean = x\n")], cwd: "", expect: &["filter.a\"b.clean@.git/config:2"] },
            Case { name: "key on the header line", files: &[(".git", GITDIR), (".git/config", "[core] fsmonitor = x\n")], cwd: "", expect: &["core.fsmonitor@.git/config:1"] },
            Case { name: "showSignature false", files: &[(".git", GITDIR), (".git/config", "[log]\nshowSignature = false\n")], cwd: "", expect: &[] },
            Case { name: "showSignature yes", files: &[(".git", GITDIR), (".git/config", "[log]\nshowSignature = yes\n")], cwd: "", expect: &["log.showsignature@.git/config:2"] },
            Case { name: "pager boolean", files: &[(".git", GITDIR), (".git/config", "[pager]\nlog = false\ndiff = true\n")], cwd: "", expect: &[] },
            Case { name: "pager command", files: &[(".git", GITDIR), (".git/config", "[pager]\nlog = less -R\n")], cwd: "", expect: &["pager.log@.git/config:2"] },
            Case { name: "submodule update checkout is fine", files: &[(".git", GITDIR), (".git/config", "[submodule \"s\"]\nupdate = checkout\n")], cwd: "", expect: &[] },
            Case { name: "submodule update !cmd", files: &[(".git", GITDIR), (".git/config", "[submodule \"s\"]\nupdate = !sh evil\n")], cwd: "", expect: &["submodule.s.update@.git/config:2"] },
            Case { name: "protocol never", files: &[(".git", GITDIR), (".git/config", "[protocol \"ext\"]\nallow = never\n")], cwd: "", expect: &[] },
            Case { name: "protocol always", files: &[(".git", GITDIR), (".git/config", "[protocol \"ext\"]\nallow = always\n")], cwd: "", expect: &["protocol.ext.allow@.git/config:2"] },
            Case { name: "credential helper reset", files: &[(".git", GITDIR), (".git/config", "[credential]\nhelper = store\nhelper =\n")], cwd: "", expect: &[] },
            Case { name: "credential helpers after reset", files: &[(".git", GITDIR), (".git/config", "[credential]\nhelper =\nhelper = a\nhelper = b\n")], cwd: "", expect: &["credential.helper@.git/config:3", "credential.helper@.git/config:4"] },
            Case { name: "alias and hooksPath are not flagged", files: &[(".git", GITDIR), (".git/config", "[alias]\nst = !evil\n[core]\nhooksPath = .husky/_\n")], cwd: "", expect: &[] },
            Case { name: "core.worktree", files: &[(".git", GITDIR), (".git/config", "[core]\nworktree = /elsewhere\n")], cwd: "", expect: &["core.worktree@.git/config:2"] },
            Case { name: "syntax error", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor = false\n[broken\n")], cwd: "", expect: &["(syntax)@.git/config:3"] },
            Case { name: "hazard before a syntax error", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor = x\nbad key\n")], cwd: "", expect: &["(syntax)@.git/config:3", "core.fsmonitor@.git/config:2"] },
            Case { name: "config too large", files: &[(".git", GITDIR), (".git/config", HUGE)], cwd: "", expect: &["(too-large)@.git/config:0"] },
            Case { name: "from a subdirectory", files: &[(".git", GITDIR), (".git/config", "[diff]\nexternal = x\n"), ("src/deep/f.rs", "")], cwd: "src/deep", expect: &["diff.external@.git/config:2"] },
            Case { name: "include relative to the including file", files: &[(".git", GITDIR), (".git/config", "[include]\npath = extra.cfg\n"), (".git/extra.cfg", "[core]\nfsmonitor = x\n")], cwd: "", expect: &["core.fsmonitor@.git/extra.cfg:2"] },
            Case { name: "include of a tracked file", files: &[(".git", GITDIR), (".git/config", "[include]\npath = ../project.gitconfig\n"), ("project.gitconfig", "[filter \"x\"]\nprocess = evil\n")], cwd: "", expect: &["filter.x.process@project.gitconfig:2"] },
            Case { name: "include absolute", files: &[(".git", GITDIR), (".git/config", "[include]\npath = $ROOT/etc/x.cfg\n"), ("etc/x.cfg", "[core]\nsshCommand = evil\n")], cwd: "", expect: &["core.sshcommand@etc/x.cfg:2"] },
            Case { name: "include ~/", files: &[(".git", GITDIR), (".git/config", "[include]\npath = ~/inc.cfg\n"), ("home/inc.cfg", "[core]\npager = evil\n")], cwd: "", expect: &["core.pager@home/inc.cfg:2"] },
            Case { name: "includeIf followed whatever the condition", files: &[(".git", GITDIR), (".git/config", "[includeIf \"gitdir:/nowhere/\"]\npath = a.cfg\n[includeIf \"onbranch:nope\"]\npath = b.cfg\n"), (".git/a.cfg", "[gpg]\nprogram = evil\n"), (".git/b.cfg", "[gpg \"ssh\"]\nprogram = evil\n")], cwd: "", expect: &["gpg.program@.git/a.cfg:2", "gpg.ssh.program@.git/b.cfg:2"] },
            Case { name: "include nested twice", files: &[(".git", GITDIR), (".git/config", "[include]\npath = a.cfg\n"), (".git/a.cfg", "[include]\npath = sub/b.cfg\n"), (".git/sub/b.cfg", "[core]\neditor = evil\n")], cwd: "", expect: &["core.editor@.git/sub/b.cfg:2"] },
            Case { name: "include missing is ignored", files: &[(".git", GITDIR), (".git/config", "[include]\npath = nope.cfg\n")], cwd: "", expect: &[] },
            Case { name: "include then override to false", files: &[(".git", GITDIR), (".git/config", "[include]\npath = a.cfg\n[core]\nfsmonitor = false\n"), (".git/a.cfg", "[core]\nfsmonitor = x\n")], cwd: "", expect: &[] },
            Case { name: "false then include overrides", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor = false\n[include]\npath = a.cfg\n"), (".git/a.cfg", "[core]\nfsmonitor = x\n")], cwd: "", expect: &["core.fsmonitor@.git/a.cfg:2"] },
            Case { name: "include cycle", files: &[(".git", GITDIR), (".git/config", "[include]\npath = a.cfg\n"), (".git/a.cfg", "[include]\npath = config\n")], cwd: "", expect: &["(include-depth)@.git/a.cfg:2"] },
            Case { name: "include ~user/ cannot be resolved", files: &[(".git", GITDIR), (".git/config", "[include]\npath = ~root/x.cfg\n")], cwd: "", expect: &["(include)@.git/config:2"] },
            Case { name: "config.worktree", files: &[(".git", GITDIR), (".git/config", CLEAN), (".git/config.worktree", "[core]\naskPass = evil\n")], cwd: "", expect: &["core.askpass@.git/config.worktree:2"] },
            Case {
                name: "linked worktree via .git file and commondir",
                files: &[
                    ("main/.git", GITDIR),
                    ("main/.git/config", "[diff \"bin\"]\ncommand = evil\n"),
                    ("main/.git/worktrees/wt/HEAD", "ref: refs/heads/wt\n"),
                    ("main/.git/worktrees/wt/commondir", "../..\n"),
                    ("main/.git/worktrees/wt/config.worktree", "[core]\nfsmonitor = evil\n"),
                    ("wt/.git", "gitdir: ../main/.git/worktrees/wt\n"),
                ],
                cwd: "wt",
                expect: &["core.fsmonitor@main/.git/worktrees/wt/config.worktree:2", "diff.bin.command@main/.git/config:2"],
            },
            Case { name: "separate gitdir via .git file", files: &[("store/r.git", GITDIR), ("store/r.git/config", "[merge \"m\"]\ndriver = evil\n"), ("work/.git", "gitdir: ../store/r.git")], cwd: "work", expect: &["merge.m.driver@store/r.git/config:2"] },
            Case { name: "bare repo, cwd is the git dir", files: &[("b.git", GITDIR), ("b.git/config", "[core]\nbare = true\n[remote \"o\"]\nuploadpack = evil\n")], cwd: "b.git", expect: &["remote.o.uploadpack@b.git/config:4"] },
            Case { name: "inside .git itself", files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor = x\n")], cwd: ".git/refs/heads", expect: &["core.fsmonitor@.git/config:2"] },
            Case {
                name: "submodule config under modules/",
                files: &[(".git", GITDIR), (".git/config", CLEAN), (".git/modules/sub", GITDIR), (".git/modules/sub/config", "[core]\n\tworktree = ../../../sub\n\tfsmonitor = evil\n")],
                cwd: "",
                expect: &["core.fsmonitor@.git/modules/sub/config:3"],
            },
            Case {
                name: "nested submodule whose name has a slash",
                files: &[(".git", GITDIR), (".git/modules/lib/a", GITDIR), (".git/modules/lib/a/config", CLEAN), (".git/modules/lib/a/modules/b", GITDIR), (".git/modules/lib/a/modules/b/config", "[filter \"lfs\"]\nclean = evil\n")],
                cwd: "",
                expect: &["filter.lfs.clean@.git/modules/lib/a/modules/b/config:2"],
            },
            Case {
                name: "embedded submodule found through the index",
                files: &[(".git", GITDIR), (".git/index", "\u{0}gitlink:vendor/x"), ("vendor/x/.git", GITDIR), ("vendor/x/.git/config", "[core]\nfsmonitor = evil\n")],
                cwd: "",
                expect: &["core.fsmonitor@vendor/x/.git/config:2"],
            },
            Case {
                name: "a .git dir git rejects does not hide the repository above",
                files: &[(".git", GITDIR), (".git/config", "[core]\nfsmonitor = evil\n"), ("sub/.git/HEAD", "ref: refs/heads/main\n"), ("sub/.git/config", "[diff]\nexternal = evil\n")],
                cwd: "sub",
                expect: &["core.fsmonitor@.git/config:2", "diff.external@sub/.git/config:2"],
            },
        ];
        for case in cases {
            let got = run(case.files, case.cwd);
            let got = match got {
                Ok(Some(v)) => v,
                other => panic!("{}: expected a repository, got {other:?}", case.name),
            };
            let mut want: Vec<String> = case.expect.iter().map(|s| s.to_string()).collect();
            want.sort();
            assert_eq!(got, want, "{}", case.name);
        }
    }

    #[test]
    fn every_table_key_planted() {
        // One repository per row of HAZARD_KEYS, with a value that is a hazard for that row.
        for rule in HAZARD_KEYS {
            let (section, sub, name) = split_key(rule.key).expect("table keys have a dot");
            let name = if name == "*" { "log" } else { name };
            let header = match sub {
                Some("*") => format!("[{section} \"Sub\"]"),
                Some(s) => format!("[{section} \"{s}\"]"),
                None => format!("[{section}]"),
            };
            let value = match rule.when {
                When::Set | When::NotBool | When::Never => "/tmp/evil --flag",
                When::NotFalse => "true",
                When::Bang => "!/tmp/evil",
                When::NotNever => "always",
                When::PathLike => "/usr/sbin/sendmail",
                When::Credential => "https://u:secret@example.com/r.git",
            };
            let config = format!("{header}\n\t{name} = {value}\n");
            let got = run(&[(".git", GITDIR), (".git/config", &config)], "").expect("scan").expect("repo");
            let key = match sub {
                Some("*") => format!("{section}.Sub.{name}"),
                Some(s) => format!("{section}.{s}.{name}"),
                None => format!("{section}.{name}"),
            };
            let want: Vec<String> =
                if rule.when == When::Never { vec![] } else { vec![format!("{key}@.git/config:2")] };
            assert_eq!(got, want, "{}", rule.key);
        }
    }

    #[test]
    fn not_repositories_and_errors() {
        struct Case {
            name: &'static str,
            files: &'static [(&'static str, &'static str)],
            cwd: &'static str,
            want: &'static str,
        }
        #[rustfmt::skip]
        let cases = [
            Case { name: "plain directory", files: &[("a/b/file", "x")], cwd: "a/b", want: "none" },
            Case { name: "empty .git dir is not a repository", files: &[(".git/.keep", "")], cwd: "", want: "none" },
            Case { name: "malformed .git file", files: &[(".git", "not a gitdir line\n")], cwd: "", want: "err" },
            Case { name: ".git file pointing nowhere", files: &[(".git", "gitdir: /nonexistent/x\n")], cwd: "", want: "err" },
        ];
        for case in cases {
            let got = match run(case.files, case.cwd) {
                Ok(None) => "none",
                Ok(Some(_)) => "some",
                Err(_) => "err",
            };
            assert_eq!(got, case.want, "{}", case.name);
        }
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_not_read() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        for d in [".git/objects", ".git/refs"] {
            fs::create_dir_all(root.join(d)).expect("dir");
        }
        fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").expect("HEAD");
        let fifo = std::ffi::CString::new(root.join(".git/config").to_string_lossy().as_bytes()).expect("cstring");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let scan = repo_hazards(root, None).expect("scan").expect("repo");
        assert_eq!(scan.hazards.iter().map(|h| h.key.as_str()).collect::<Vec<_>>(), ["(not-a-file)"]);
    }

    #[test]
    fn include_needs_home() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        for d in [".git/objects", ".git/refs"] {
            fs::create_dir_all(root.join(d)).expect("dir");
        }
        fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").expect("HEAD");
        fs::write(root.join(".git/config"), "[include]\npath = ~/x.cfg\n").expect("config");
        let scan = repo_hazards(root, None).expect("scan").expect("repo");
        assert_eq!(scan.hazards.iter().map(|h| h.key.as_str()).collect::<Vec<_>>(), ["(include)"]);
        assert!(scan.git_dir.ends_with(".git"));
    }

    #[test]
    fn scan_text_rows() {
        type Row = (&'static str, &'static [(&'static str, usize)], &'static [(&'static str, usize)]);
        #[rustfmt::skip]
        let rows: &[Row] = &[
            ("", &[], &[]),
            ("[core]\n\tfsmonitor = /bin/x\n", &[("core.fsmonitor", 2)], &[]),
            ("[include]\n\tpath = a.cfg\n[includeIf \"gitdir:~/w/\"]\n\tpath = ~/b.cfg\n", &[], &[("a.cfg", 2), ("~/b.cfg", 4)]),
            ("[include \"x\"]\npath = not-an-include\n[includeIf]\npath = nor-this\n", &[], &[]),
            ("[include]\npath = \"quoted path\" ; comment\n", &[], &[("quoted path", 2)]),
            ("[diff \"LFS\"]\ntextconv = x\n[diff \"lfs\"]\ntextconv =\n", &[("diff.LFS.textconv", 2)], &[]),
            ("[diff \"LFS\"]\ntextconv = x\n[diff.LFS]\ntextconv = y\n", &[("diff.LFS.textconv", 2), ("diff.lfs.textconv", 4)], &[]),
            ("\u{feff}[core]\r\n  fsmonitor = \"a\\\"b\"\r\n", &[("core.fsmonitor", 2)], &[]),
            ("[core]\nfsmonitor = \"unterminated\n", &[("(syntax)", 2)], &[]),
            ("[core]\nfsmonitor = bad\\q\n", &[("(syntax)", 2)], &[]),
            ("[ core ]\nfsmonitor = x\n", &[("(syntax)", 1)], &[]),
            ("\u{feff}\u{feff}[core]\n", &[("(syntax)", 1)], &[]),
            ("key = before any section\n", &[], &[]),
            ("[core]\n# fsmonitor = x\n; fsmonitor = y\n", &[], &[]),
            ("[core]\nfsmonitor = 0x0\n[log]\nshowsignature = 0k\n", &[], &[]),
            ("[core]\nfsmonitor = 2147483648\n", &[("core.fsmonitor", 2)], &[]),
            ("[gpg \"x509\"]\nprogram = gpgsm\n", &[("gpg.x509.program", 2)], &[]),
            ("[sendemail]\nsmtpserver = smtp.example.com\n[sendemail \"work\"]\nsmtpServer = /usr/bin/msmtp\n", &[("sendemail.work.smtpserver", 4)], &[]),
            ("[protocol]\nallow = user\n", &[("protocol.allow", 2)], &[]),
            ("[protocol \"file\"]\nallow = always\n", &[], &[]),
        ];
        for &(text, hazards, includes) in rows {
            let (got_h, got_i) = scan_text(text);
            let got_h: Vec<(&str, usize)> = got_h.iter().map(|(k, l, _)| (k.as_str(), *l)).collect();
            let got_i: Vec<(&str, usize)> = got_i.iter().map(|(p, l)| (p.as_str(), *l)).collect();
            assert_eq!(got_h, hazards, "hazards of {text:?}");
            assert_eq!(got_i, includes, "includes of {text:?}");
        }
    }

    #[test]
    fn booleans_and_ints_like_git() {
        #[rustfmt::skip]
        let rows: &[(Option<&str>, Option<bool>)] = &[
            (None, Some(true)),
            (Some(""), Some(false)),
            (Some("TRUE"), Some(true)),
            (Some("nO"), Some(false)),
            (Some("0"), Some(false)),
            (Some(" 0"), Some(false)),
            (Some("-0"), Some(false)),
            (Some("0x0"), Some(false)),
            (Some("0x"), None),
            (Some("08"), None),
            (Some("0 "), None),
            (Some("1k"), Some(true)),
            (Some("2097152k"), None),
            (Some("2147483647"), Some(true)),
            (Some("2147483648"), None),
            (Some("/bin/x"), None),
        ];
        for &(value, want) in rows {
            assert_eq!(maybe_bool(value.map(str::as_bytes)), want, "{value:?}");
        }
    }

    #[test]
    fn index_versions() {
        // v4 with prefix compression: "lib/a" (file), then "lib/sub" (gitlink) written as strip 1 + "sub".
        let mut v4 = b"DIRC".to_vec();
        v4.extend(4u32.to_be_bytes());
        v4.extend(2u32.to_be_bytes());
        for (mode, strip, suffix) in [(0o100644u32, 0u8, "lib/a"), (0o160000, 1, "sub")] {
            let mut e = vec![0u8; 40];
            e[24..28].copy_from_slice(&mode.to_be_bytes());
            e.extend([0u8; 20]);
            e.extend(5u16.to_be_bytes());
            e.push(strip);
            e.extend(suffix.as_bytes());
            e.push(0);
            v4.extend(e);
        }
        v4.extend([0u8; 20]);
        let tmp = tempfile::tempdir().expect("tempdir");
        type Row = (&'static str, Vec<u8>, Result<Vec<&'static str>, ()>);
        let rows: Vec<Row> = vec![
            ("v2 gitlink", gitlink_index("vendor/x"), Ok(vec!["vendor/x"])),
            ("v4 prefix compressed", v4, Ok(vec!["lib/sub"])),
            ("not an index", b"hello".to_vec(), Err(())),
            ("truncated", gitlink_index("vendor/x")[..50].to_vec(), Err(())),
        ];
        for (name, bytes, want) in rows {
            let path = tmp.path().join("index");
            fs::write(&path, bytes).expect("write");
            let mut links = Vec::new();
            let got = read_index(&path, 20, &mut |n, mode| {
                if mode & 0o170000 == 0o160000 {
                    links.push(String::from_utf8_lossy(n).into_owned());
                }
            })
            .map(|_| links.clone());
            let want = want.map(|v| v.into_iter().map(String::from).collect::<Vec<_>>());
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn never_panics_on_noise() {
        let atoms: &[&[u8]] = &[
            b"[",
            b"]",
            b"\"",
            b"\\",
            b"\n",
            b"\r",
            b"\r\n",
            b"=",
            b" ",
            b"\t",
            b"#",
            b";",
            b".",
            b"core",
            b"fsmonitor",
            b"x",
            b"\xef\xbb\xbf",
            b"\xef",
            b"\0",
            b"\xff",
            b"include",
            b"path",
            b"diff \"",
            b"-",
            b"9",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let mut bytes = Vec::new();
            for _ in 0..(next() % 24) {
                bytes.extend_from_slice(atoms[(next() % atoms.len() as u64) as usize]);
            }
            let _ = parse(&bytes);
            let _ = scan_text(&String::from_utf8_lossy(&bytes));
            let _ = parse_git_int(&bytes);
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("index");
        let base = gitlink_index("vendor/x");
        for i in 0..base.len() {
            for flip in [0x00u8, 0xff, 0x40, 0x80] {
                let mut b = base.clone();
                b[i] = flip;
                fs::write(&path, &b).expect("write");
                let _ = read_index(&path, 20, &mut |_, _| {});
                let _ = read_index(&path, 32, &mut |_, _| {});
            }
        }
    }

    /// An index (version 2) with these entries.
    fn index_of(entries: &[(&str, u32)]) -> Vec<u8> {
        let mut b = b"DIRC".to_vec();
        b.extend(2u32.to_be_bytes());
        b.extend(u32::try_from(entries.len()).unwrap_or(0).to_be_bytes());
        for &(name, mode) in entries {
            let mut e = vec![0u8; 40];
            e[24..28].copy_from_slice(&mode.to_be_bytes());
            e.extend([0u8; 20]);
            e.extend(u16::try_from(name.len().min(0xfff)).unwrap_or(0xfff).to_be_bytes());
            e.extend(name.as_bytes());
            let padded = (62 + name.len() + 8) & !7;
            e.resize(padded, 0);
            b.extend(e);
        }
        b.extend([0u8; 20]);
        b
    }

    /// The hooks git really uses, checked against git 2.47: a `post-index-change` hook there asks.
    #[test]
    fn post_index_change_hooks_where_git_looks() {
        struct Case {
            name: &'static str,
            files: &'static [(&'static str, &'static str)],
            cwd: &'static str,
            expect: &'static [&'static str],
        }
        const HOOK: &str = "(hook)@";
        #[rustfmt::skip]
        let cases = [
            Case { name: "default hooks dir", files: &[(".git", GITDIR), (".git/hooks/post-index-change", EXEC)], cwd: "", expect: &["(hook)@.git/hooks/post-index-change:0"] },
            Case { name: "not executable: git skips it", files: &[(".git", GITDIR), (".git/hooks/post-index-change", "#!/bin/sh\n")], cwd: "", expect: &[] },
            Case { name: "other hooks never run on a read", files: &[(".git", GITDIR), (".git/hooks/pre-commit", EXEC), (".git/hooks/reference-transaction", EXEC)], cwd: "", expect: &[] },
            Case { name: "relative hooksPath from the top of the work tree", files: &[(".git", GITDIR), (".git/config", "[core]\n\thooksPath = myhooks\n"), ("myhooks/post-index-change", EXEC), (".git/hooks/post-index-change", EXEC)], cwd: "src/deep", expect: &["(hook)@myhooks/post-index-change:0"] },
            Case { name: "husky: only commit hooks", files: &[(".git", GITDIR), (".git/config", "[core]\n\thooksPath = .husky/_\n"), (".husky/_/pre-commit", EXEC), (".husky/_/commit-msg", EXEC), (".husky/pre-commit", "npm test\n")], cwd: "", expect: &[] },
            Case { name: "absolute hooksPath", files: &[(".git", GITDIR), (".git/config", "[core]\n\thooksPath = $ROOT/abs\n"), ("abs/post-index-change", EXEC)], cwd: "", expect: &["(hook)@abs/post-index-change:0"] },
            Case { name: "~/ hooksPath", files: &[(".git", GITDIR), (".git/config", "[core]\n\thooksPath = ~/h\n"), ("home/h/post-index-change", EXEC)], cwd: "", expect: &["(hook)@home/h/post-index-change:0"] },
            Case { name: "~user/ hooksPath cannot be resolved", files: &[(".git", GITDIR), (".git/config", "[core]\n\thooksPath = ~root/h\n")], cwd: "", expect: &["core.hookspath@.git/config:2"] },
            Case { name: "bare hooksPath key", files: &[(".git", GITDIR), (".git/config", "[core]\n\thooksPath\n")], cwd: "", expect: &["core.hookspath@.git/config:2"] },
            Case { name: "hooksPath elsewhere hides .git/hooks", files: &[(".git", GITDIR), (".git/config", "[core]\n\thooksPath = none\n"), (".git/hooks/post-index-change", EXEC)], cwd: "", expect: &[] },
            Case { name: "hooksPath from an include", files: &[(".git", GITDIR), (".git/config", "[include]\n\tpath = ../team.cfg\n"), ("team.cfg", "[core]\n\thooksPath = .githooks\n"), (".githooks/post-index-change", EXEC)], cwd: "", expect: &["(hook)@.githooks/post-index-change:0"] },
            Case { name: "hooksPath from the user's ~/.gitconfig, relative to the work tree", files: &[(".git", GITDIR), ("home/.gitconfig", "[core]\n\thooksPath = .githooks\n"), (".githooks/post-index-change", EXEC)], cwd: "", expect: &["(hook)@.githooks/post-index-change:0"] },
            Case { name: "the repository's hooksPath wins over the user's", files: &[(".git", GITDIR), ("home/.gitconfig", "[core]\n\thooksPath = .githooks\n"), (".git/config", "[core]\n\thooksPath = .husky/_\n"), (".githooks/post-index-change", EXEC)], cwd: "", expect: &[] },
            Case {
                name: "linked worktree uses the common dir's hooks, not its own gitdir's",
                files: &[
                    ("main/.git", GITDIR),
                    ("main/.git/hooks/post-index-change", EXEC),
                    ("main/.git/worktrees/wt/HEAD", "ref: refs/heads/wt\n"),
                    ("main/.git/worktrees/wt/commondir", "../..\n"),
                    ("main/.git/worktrees/wt/hooks/post-index-change", EXEC),
                    ("wt/.git", "gitdir: ../main/.git/worktrees/wt\n"),
                ],
                cwd: "wt",
                expect: &["(hook)@main/.git/hooks/post-index-change:0"],
            },
            Case {
                name: "linked worktree with a relative hooksPath: its own work tree",
                files: &[
                    ("main/.git", GITDIR),
                    ("main/.git/config", "[core]\n\thooksPath = hk\n"),
                    ("main/hk/post-index-change", EXEC),
                    ("main/.git/worktrees/wt/HEAD", "ref: refs/heads/wt\n"),
                    ("main/.git/worktrees/wt/commondir", "../..\n"),
                    ("wt/.git", "gitdir: ../main/.git/worktrees/wt\n"),
                    ("wt/hk/post-index-change", EXEC),
                ],
                cwd: "wt",
                expect: &["(hook)@wt/hk/post-index-change:0"],
            },
            Case {
                name: "submodule gitdir under modules/",
                files: &[(".git", GITDIR), (".git/modules/sub", GITDIR), (".git/modules/sub/config", "[core]\n\tworktree = ../../../sub\n"), (".git/modules/sub/hooks/post-index-change", EXEC)],
                cwd: "",
                expect: &["(hook)@.git/modules/sub/hooks/post-index-change:0"],
            },
            Case {
                name: "submodule's own relative hooksPath, from its work tree",
                files: &[(".git", GITDIR), (".git/modules/sub", GITDIR), (".git/modules/sub/config", "[core]\n\tworktree = ../../../sub\n\thooksPath = h2\n"), ("sub/h2/post-index-change", EXEC)],
                cwd: "",
                expect: &["(hook)@.git/modules/sub/../../../sub/h2/post-index-change:0"],
            },
            Case {
                name: "embedded submodule found through the index",
                files: &[(".git", GITDIR), (".git/index", "\u{0}gitlink:vendor/x"), ("vendor/x/.git", GITDIR), ("vendor/x/.git/hooks/post-index-change", EXEC)],
                cwd: "",
                expect: &["(hook)@vendor/x/.git/hooks/post-index-change:0"],
            },
        ];
        for case in cases {
            let got = match run(case.files, case.cwd) {
                Ok(Some(v)) => {
                    v.into_iter().filter(|h| h.starts_with(HOOK) || h.starts_with("core.hookspath")).collect::<Vec<_>>()
                }
                other => panic!("{}: expected a repository, got {other:?}", case.name),
            };
            let want: Vec<String> = case.expect.iter().map(|s| s.to_string()).collect();
            assert_eq!(got, want, "{}", case.name);
        }
    }

    /// Plants a repository and returns its scan.
    fn scan_of(files: &[(&str, &[u8])]) -> (tempfile::TempDir, RepoScan) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = fs::canonicalize(tmp.path()).expect("canonical");
        for d in [".git/objects", ".git/refs/heads"] {
            fs::create_dir_all(root.join(d)).expect("dir");
        }
        fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").expect("HEAD");
        for &(rel, bytes) in files {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().expect("parent")).expect("parent");
            fs::write(&path, bytes).expect("write");
        }
        let scan = repo_hazards(&root, Some(&root.join("home"))).expect("scan").expect("repo");
        (tmp, scan)
    }

    #[test]
    fn partial_clones() {
        let rows: &[(&str, Option<&str>)] = &[
            (
                "[remote \"origin\"]\n\turl = x\n\tpromisor = true\n\tpartialclonefilter = blob:none\n",
                Some("remote.origin.promisor"),
            ),
            ("[remote \"origin\"]\n\tpromisor\n", Some("remote.origin.promisor")),
            ("[remote \"origin\"]\n\tpromisor = true\n\tpromisor = false\n", None),
            ("[extensions]\n\tpartialClone = origin\n", Some("extensions.partialclone")),
            ("[extensions]\n\tpartialClone =\n", None),
            ("[remote \"origin\"]\n\turl = x\n", None),
        ];
        for &(config, want) in rows {
            let (_tmp, scan) = scan_of(&[(".git/config", config.as_bytes())]);
            assert_eq!(scan.promisor.as_ref().map(|h| h.key.as_str()), want, "{config}");
        }
        // A submodule that is a partial clone counts too.
        let (_tmp, scan) = scan_of(&[
            (".git/modules/s/HEAD", b"ref: refs/heads/main\n"),
            (".git/modules/s/objects/.keep", b""),
            (".git/modules/s/refs/.keep", b""),
            (".git/modules/s/config", b"[remote \"o\"]\n\tpromisor = yes\n"),
        ]);
        assert_eq!(scan.promisor.map(|h| h.key), Some("remote.o.promisor".to_string()));
    }

    #[test]
    fn tracked_secret_files() {
        let pick = |p: &str| p.split('/').next_back().is_some_and(|b| b.starts_with(".env") || b.ends_with(".pem"));
        let files_mode = 0o100644;
        type Row<'a> = (&'a str, Vec<(&'a str, &'a [u8])>, Result<Vec<&'a str>, ()>);
        let rows: Vec<Row<'_>> = vec![
            ("no index, no objects", vec![], Ok(vec![])),
            ("no index but a pack", vec![(".git/objects/pack/p.pack", b"x")], Err(())),
            ("no index but loose objects", vec![(".git/objects/ab/cdef", b"x")], Err(())),
            ("tracked secrets", vec![], Ok(vec![".env.example", "conf/a.pem"])),
            ("not an index", vec![(".git/index", b"junk")], Err(())),
        ];
        for (name, files, want) in rows {
            let index;
            let mut files = files;
            if name == "tracked secrets" {
                index =
                    index_of(&[(".env.example", files_mode), ("README.md", files_mode), ("conf/a.pem", files_mode)]);
                files.push((".git/index", &index));
            }
            let (_tmp, scan) = scan_of(&files);
            let got = match tracked_matching(&scan, &pick, 64) {
                Tracked::Known { paths, .. } => Ok(paths),
                Tracked::Unknown(_) => Err(()),
            };
            let want = want.map(|v| v.into_iter().map(String::from).collect::<Vec<_>>());
            assert_eq!(got, want, "{name}");
        }
        // A sparse index's directory entries hide files; a gitlink is a submodule.
        let sparse = index_of(&[("a.rs", files_mode), ("vendor/", 0o040000)]);
        let (_tmp, scan) = scan_of(&[(".git/index", &sparse)]);
        assert!(matches!(tracked_matching(&scan, &pick, 64), Tracked::Unknown(_)));
        let linked = index_of(&[("a.rs", files_mode), ("lib", 0o160000)]);
        let (_tmp, scan) = scan_of(&[(".git/index", &linked)]);
        assert_eq!(tracked_matching(&scan, &pick, 64), Tracked::Known { paths: vec![], submodules: true });
        // More picks than the limit cannot be vouched for.
        let many = index_of(&[(".env.a", files_mode), (".env.b", files_mode)]);
        let (_tmp, scan) = scan_of(&[(".git/index", &many)]);
        assert!(matches!(tracked_matching(&scan, &pick, 1), Tracked::Unknown(_)));
    }
}
