//! The read-only safe floor: decides whether one simple command (or one
//! file-tool call) is truly read-only, from the data in
//! `policies/floor.toml`. Flags are allowlisted per program and
//! subcommand; anything not listed, and anything the shell analysis marked
//! as not literal, is not safe. Whatever needs the disk (resolving
//! symlinks, expanding globs, reading a repository's git config) goes
//! through the [`Probe`] the caller passes in, so this module does no I/O
//! itself.

mod archive;
mod find;
pub mod flags;
mod generic;
mod git;
mod jq;
mod operands;
mod sed;
mod simple;
pub mod spec;
mod wrappers;
pub use wrappers::env_chdirs;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

pub use spec::{wrapper, wrappers, Arity, Operands, ProgramSpec, SpecialCheck, Wrapper, WrapperSpec};

use crate::policy::glob::Glob;
use crate::shell::{RedirectOp, SimpleCommand, Word};

/// The floor data, embedded in the binary.
pub const FLOOR_TOML: &str = include_str!("../../policies/floor.toml");

/// What the floor needs from the outside world.
pub trait Probe {
    /// The canonical form of a path (symlinks resolved), if it exists.
    fn canonicalize(&self, path: &str) -> Option<String>;
    /// Whether something exists at `path` (symlinks followed).
    fn exists(&self, path: &str) -> bool;
    /// Expand a glob relative to `cwd`. `None` when it cannot be expanded.
    fn glob(&self, cwd: &str, pattern: &str) -> Option<Vec<String>>;
    /// Config keys in the repository containing `dir` that make read-only
    /// git commands run programs, as `key (file:line): why`. `Ok(None)`
    /// when `dir` is not in a repository.
    fn git_hazards(&self, dir: &str) -> Result<Option<Vec<String>>, String>;
    /// What a read of committed content must know about the repository
    /// containing `dir`: whether it is a partial clone, and which tracked
    /// paths `secret` picks out. `Ok(None)` when `dir` is not in a repository.
    fn git_content(&self, dir: &str, secret: &dyn Fn(&str) -> bool) -> Result<Option<GitContent>, String>;
    /// A file under `root` whose name matches one of `names` (hidden files
    /// only when `hidden`), found by a bounded walk. `Some("...")` also when
    /// the walk is cut short, since then the tree cannot be vouched for.
    /// With `follow`, any symlink in the tree is itself reported, since it
    /// may lead anywhere.
    /// `only`, when given, limits the files that count to those matching
    /// it (a search restricted by a glob).
    /// `linked_to`, when not empty, also reports a regular file in the tree
    /// that is a hard link to a file under one of those paths.
    fn tree_finds(&self, root: &str, query: &TreeQuery<'_>) -> Option<String>;
    /// The home directory of `user`, from the system's user database.
    fn home_of(&self, user: &str) -> Option<String>;
    /// How many hard links the regular file at `path` (symlinks followed)
    /// has; 0 when no regular file is there.
    fn hard_links(&self, path: &str) -> u64;
    /// The other names, under `roots` (files, or directories walked a
    /// bounded way), of the regular file at `path`, when the file has more
    /// than one hard link: writing or reading `path` writes or reads them.
    /// `Err(why)` when a walk was cut short, so no name can be ruled out.
    fn other_names(&self, path: &str, roots: &[String]) -> Result<Vec<String>, String>;
    /// The project's working tree holding `dir` (the git work tree, or
    /// `dir` outside a repository), if it can be known.
    fn work_tree_of(&self, dir: &str) -> Option<String>;
}

/// What a [`Probe::tree_finds`] walk looks for.
#[derive(Clone, Copy)]
pub struct TreeQuery<'a> {
    pub names: &'a [Glob],
    pub dir_names: &'a [String],
    pub hidden: bool,
    pub follow: bool,
    pub only: Option<&'a Glob>,
    pub linked_to: &'a [String],
}

/// What [`Probe::git_content`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitContent {
    /// The work tree's top directory, when the repository has one.
    pub top: Option<String>,
    /// `key (file:line)` of the config that makes git fetch missing
    /// objects from the network on demand (a partial clone).
    pub promisor: Option<String>,
    /// The tracked paths (relative to `top`) the predicate picked, or why
    /// the index could not be read in full.
    pub tracked_secrets: Result<Vec<String>, String>,
    /// The index records a submodule (or could not be read).
    pub has_submodules: bool,
}

/// A probe that knows nothing: nothing resolves, no glob expands, no repo.
pub struct NoProbe;

impl Probe for NoProbe {
    fn canonicalize(&self, _: &str) -> Option<String> {
        None
    }
    fn glob(&self, _: &str, _: &str) -> Option<Vec<String>> {
        None
    }
    fn exists(&self, _: &str) -> bool {
        false
    }
    fn git_hazards(&self, _: &str) -> Result<Option<Vec<String>>, String> {
        Ok(None)
    }
    /// Knowing nothing, any repository may be a partial clone and track anything.
    fn git_content(&self, _: &str, _: &dyn Fn(&str) -> bool) -> Result<Option<GitContent>, String> {
        Ok(Some(GitContent {
            top: None,
            promisor: Some("unknown (no probe)".into()),
            tracked_secrets: Err("unknown (no probe)".into()),
            has_submodules: true,
        }))
    }
    fn home_of(&self, _: &str) -> Option<String> {
        None
    }
    fn tree_finds(&self, _: &str, _: &TreeQuery<'_>) -> Option<String> {
        None
    }
    fn hard_links(&self, _: &str) -> u64 {
        0
    }
    fn other_names(&self, _: &str, _: &[String]) -> Result<Vec<String>, String> {
        Ok(Vec::new())
    }
    fn work_tree_of(&self, _: &str) -> Option<String> {
        None
    }
}

/// Where the command runs.
pub struct Env<'a> {
    pub cwd: &'a str,
    /// Directories the command line may `cd` (or `env -C`) into: relative
    /// paths are checked against each of them too.
    pub extra_cwds: Vec<String>,
    /// For a command fed by a pipe: the directories the names on its stdin
    /// come from, when the stage before it only lists files under them
    /// (`find src -name '*.rs' | xargs wc -l`). `None` when unknown.
    pub stdin_names_from: Option<Vec<String>>,
    pub home: Option<&'a str>,
    /// gate's own directories (`@gate` in the sensitive list).
    pub gate_dirs: &'a [String],
    pub probe: &'a dyn Probe,
    /// Judge only whether the command is read-only, not whether what it
    /// reads is secret: the sensitive names and directories (gate's own
    /// among them) are not consulted. Reads through hard links and of
    /// `/proc` still count as not read-only. Used to tell a command
    /// that may write the paths it names from one that only reads them.
    pub ignore_secrets: bool,
}

impl Env<'_> {
    /// The directories a path counts from: an absolute or `~` path from
    /// itself, a relative one from the working directory and from every
    /// directory the line may `cd` to.
    pub(crate) fn bases_for(&self, path: &str) -> Vec<&str> {
        if path.starts_with('/') || path.starts_with('~') {
            vec![self.cwd]
        } else {
            std::iter::once(self.cwd).chain(self.extra_cwds.iter().map(String::as_str)).collect()
        }
    }
}

/// The floor's answer for one simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Read-only; `entry` names the floor entry (`floor:git-status`).
    Safe { entry: String, reason: String },
    /// Not shown to be read-only, and why.
    Unsafe { reason: String },
}

impl Check {
    pub fn is_safe(&self) -> bool {
        matches!(self, Check::Safe { .. })
    }
    fn unsafe_(reason: impl Into<String>) -> Check {
        Check::Unsafe { reason: reason.into() }
    }
}

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sensitive {
    pub names: Vec<String>,
    pub dirs: Vec<String>,
    /// Directory names that hold secrets wherever they are (`.ssh`).
    #[serde(default)]
    pub dir_names: Vec<String>,
}

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Floor {
    pub safe_env: Vec<String>,
    pub program: BTreeMap<String, ProgramSpec>,
    pub sensitive: Sensitive,
    #[serde(skip)]
    pub(crate) names: Vec<Glob>,
}

static FLOOR: OnceLock<Floor> = OnceLock::new();

/// The floor, parsed once per process on first use, unless the caller
/// [`install`]ed one (from a cache) first.
pub fn floor() -> &'static Floor {
    FLOOR.get_or_init(|| {
        // The embedded data is checked by a unit test; a failure here is a
        // build defect, and an empty floor only makes gate stricter.
        Floor::from_toml(FLOOR_TOML).unwrap_or_else(|_| {
            Floor::from_parts(
                Vec::new(),
                BTreeMap::new(),
                Sensitive { names: Vec::new(), dirs: Vec::new(), dir_names: Vec::new() },
            )
        })
    })
}

/// Floor text that does not load: the TOML parser's message, and the
/// 1-based line and column it points at when it points anywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", at.map(|(l, c)| format!("line {l}, column {c}: ")).unwrap_or_default())]
pub struct FloorError {
    pub at: Option<(usize, usize)>,
    pub message: String,
}

/// Use this floor (the embedded one, as the caller loaded it) for the
/// rest of the process.
pub fn install(f: Floor) {
    let _ = FLOOR.set(f.prepared());
}

/// Has this process a floor already ([`install`]ed, or the embedded one parsed)?
pub fn installed() -> bool {
    FLOOR.get().is_some()
}

impl Floor {
    pub fn from_parts(safe_env: Vec<String>, program: BTreeMap<String, ProgramSpec>, sensitive: Sensitive) -> Floor {
        Floor { safe_env, program, sensitive, names: Vec::new() }
    }

    /// A floor from TOML text in the format of `policies/floor.toml`, ready
    /// to check commands: every key is known (a misspelt flag list or check
    /// name is an error), and the sensitive names are compiled.
    pub fn from_toml(text: &str) -> Result<Floor, FloorError> {
        let f: Floor = toml::from_str(text).map_err(|e| FloorError {
            at: e.span().map(|s| crate::policy::load::line_col(text, s.start)),
            message: e.message().trim().to_string(),
        })?;
        Ok(f.prepared())
    }

    fn prepared(mut self) -> Floor {
        self.names = self.sensitive.names.iter().filter_map(|n| Glob::path(n).ok()).collect();
        self
    }
}

/// Normalise a path lexically: make it absolute against `cwd`, expand a
/// leading `~`, and fold `.`, `..` and repeated slashes.
pub fn normalize(path: &str, cwd: &str, home: Option<&str>) -> String {
    let expanded = if path == "~" {
        home.unwrap_or("~").to_string()
    } else if let Some(rest) = path.strip_prefix("~/") {
        match home {
            Some(h) => format!("{}/{rest}", h.trim_end_matches('/')),
            None => path.to_string(),
        }
    } else {
        path.to_string()
    };
    let joined = if expanded.starts_with('/') { expanded } else { format!("{}/{expanded}", cwd.trim_end_matches('/')) };
    let mut parts: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

impl Floor {
    /// The sensitive directories, expanded for this environment.
    fn sensitive_dirs(&self, env: &Env<'_>) -> Vec<String> {
        let mut out = Vec::new();
        for d in &self.sensitive.dirs {
            if d == "@gate" {
                out.extend(env.gate_dirs.iter().cloned());
            } else if d.starts_with('~') {
                if let Some(h) = env.home {
                    out.push(normalize(d, "/", Some(h)));
                }
            } else {
                out.push(d.clone());
            }
        }
        out
    }

    /// Why reading `path` would touch a secret, if it would.
    pub fn sensitive_reason(&self, path: &str, env: &Env<'_>) -> Option<String> {
        let mut candidates: Vec<String> = Vec::new();
        for base in env.bases_for(path) {
            let lexical = normalize(path, base, env.home);
            // Resolve symlinks on the path as written too: `..` after a
            // symlink (`/proc/self/cwd/..`) means the link target's parent.
            let raw = if path.starts_with('/') {
                path.to_string()
            } else if let (Some(rest), Some(h)) = (path.strip_prefix("~/"), env.home) {
                format!("{h}/{rest}")
            } else {
                format!("{}/{path}", base.trim_end_matches('/'))
            };
            for c in [env.probe.canonicalize(&raw), env.probe.canonicalize(&lexical), Some(lexical.clone())]
                .into_iter()
                .flatten()
            {
                if !candidates.contains(&c) {
                    candidates.push(c);
                }
            }
            if (path.contains("/proc/") || lexical.starts_with("/proc/")) && !PROC_READABLE.contains(&lexical.as_str())
            {
                return Some(format!(
                    "{lexical} is under /proc, which exposes processes' environments, files and memory"
                ));
            }
        }
        if env.ignore_secrets {
            return self.hard_link_reason(&candidates, env);
        }
        // A repository's config file that holds a password in a remote URL.
        for p in &candidates {
            if let Some(git_dir) = p.strip_suffix("/config").filter(|d| d.ends_with("/.git") || d.ends_with(".git")) {
                let repo = git_dir.trim_end_matches("/.git");
                let holds = env.probe.git_hazards(if repo.is_empty() { "/" } else { repo });
                if let Ok(Some(h)) = holds {
                    if let Some(c) = h.iter().find(|h| h.contains("with a password in it")) {
                        return Some(format!("{p} holds a credential: {c}"));
                    }
                }
            }
        }
        let dirs = self.sensitive_dirs(env);
        for p in &candidates {
            // Another user's keys are as secret as ours.
            if let Some(seg) = p.split('/').find(|seg| self.sensitive.dir_names.iter().any(|n| n == seg)) {
                return Some(format!("{p} is inside a `{seg}` directory, which holds secrets"));
            }
            if p.starts_with("/dev/") && !DEV_READABLE.iter().any(|d| p == d || p.starts_with("/dev/fd/")) {
                return Some(format!("{p} is a device, which can hold a whole disk"));
            }
            let base = p.rsplit('/').next().unwrap_or(p);
            if let Some(g) = self.names.iter().find(|g| g.is_match(base)) {
                return Some(format!("{p} is a sensitive file ({})", g.as_str()));
            }
            if let Some(d) = dirs.iter().find(|d| p == *d || p.starts_with(&format!("{}/", d.trim_end_matches('/')))) {
                return Some(format!("{p} is inside {d}, which holds secrets"));
            }
            // Another user's home holds the same secrets as ours.
            if let Some(rel) = self.sensitive.dirs.iter().filter_map(|d| d.strip_prefix("~/")).find(|rel| {
                let rel = rel.trim_end_matches('/');
                p.ends_with(&format!("/{rel}")) || p.contains(&format!("/{rel}/"))
            }) {
                return Some(format!("{p} is inside a home's ~/{rel}, which holds secrets"));
            }
        }
        self.hard_link_reason(&candidates, env)
    }

    /// A hard link is the same file under another name: one to a key in
    /// ~/.ssh, or to a `.env`, reads the secret whatever it is called.
    /// The other names of a file cannot all be found, so any file with
    /// more than one is read as if it could be a secret.
    fn hard_link_reason(&self, candidates: &[String], env: &Env<'_>) -> Option<String> {
        let dirs = self.sensitive_dirs(env);
        for p in candidates {
            let n = env.probe.hard_links(p);
            if n > 1 {
                return Some(match env.probe.other_names(p, &dirs).map(|n| n.into_iter().next()) {
                    Ok(Some(other)) => format!("{p} is a hard link to {other}, which holds secrets"),
                    Ok(None) | Err(_) => format!(
                        "{p} has {n} hard links: it is the same file under names gate cannot all find, any of which may be a secret"
                    ),
                });
            }
        }
        None
    }

    /// Why a recursive content search rooted at `path` would reach a
    /// secret directory, if it would.
    pub fn recursive_reason(&self, path: &str, env: &Env<'_>, hidden: bool, follow: bool) -> Option<String> {
        self.recursive_reason_only(path, env, hidden, follow, None)
    }

    /// [`Floor::recursive_reason`] for a search that reads only files
    /// matching `only`.
    pub fn recursive_reason_only(
        &self,
        path: &str,
        env: &Env<'_>,
        hidden: bool,
        follow: bool,
        only: Option<&Glob>,
    ) -> Option<String> {
        if let Some(r) = self.sensitive_reason(path, env) {
            return Some(r);
        }
        if env.ignore_secrets {
            return None;
        }
        for base in env.bases_for(path) {
            let lexical = normalize(path, base, env.home);
            let root = env.probe.canonicalize(&lexical).unwrap_or(lexical);
            let prefix = if root == "/" { "/".to_string() } else { format!("{root}/") };
            if let Some(d) = self.sensitive_dirs(env).into_iter().find(|d| d.starts_with(&prefix)) {
                return Some(format!("a recursive search of {root} reaches {d}, which holds secrets"));
            }
            let dirs = self.sensitive_dirs(env);
            let query = TreeQuery {
                names: &self.names,
                dir_names: &self.sensitive.dir_names,
                hidden,
                follow,
                only,
                linked_to: &dirs,
            };
            if let Some(f) = env.probe.tree_finds(&root, &query) {
                return Some(format!("a recursive search of {root} reads {f}"));
            }
        }
        None
    }

    /// Check one simple command.
    pub fn check(&self, cmd: &SimpleCommand, env: &Env<'_>) -> Check {
        for r in &cmd.redirects {
            if let Some(reason) = self.redirect_problem(r, env) {
                return Check::unsafe_(reason);
            }
        }
        for a in &cmd.assignments {
            if let Some(reason) = self.assignment_problem(a, cmd.argv.is_empty()) {
                return Check::unsafe_(reason);
            }
        }
        for w in &cmd.argv {
            if let Some(var) = secret_variable(&w.raw) {
                return Check::unsafe_(format!("`{}` expands ${var}, which looks like a secret", w.raw));
            }
        }
        let Some(first) = cmd.argv.first() else {
            return Check::Safe { entry: "floor:assignment".into(), reason: "only sets locale-style variables".into() };
        };
        let argv: Vec<&Word> = cmd.argv.iter().collect();
        self.check_argv(&argv, env, 0, first)
    }

    fn redirect_problem(&self, r: &crate::shell::Redirect, env: &Env<'_>) -> Option<String> {
        match r.op {
            RedirectOp::DupIn | RedirectOp::DupOut | RedirectOp::Close => {
                if r.target.literal && (r.target.text == "-" || r.target.text.chars().all(|c| c.is_ascii_digit())) {
                    None
                } else {
                    Some(format!("redirection to `{}` may write a file", r.target.raw))
                }
            }
            RedirectOp::HereDoc | RedirectOp::HereString => None,
            RedirectOp::Read => {
                if is_process_substitution(&r.target) {
                    return None;
                }
                if r.target.text.starts_with("/dev/tcp/") || r.target.text.starts_with("/dev/udp/") {
                    return Some(format!("`< {}` opens a network connection", r.target.text));
                }
                if !r.target.literal {
                    return Some(format!("reads from a computed file name `{}`", r.target.raw));
                }
                self.sensitive_reason(&r.target.text, env)
            }
            _ => {
                if r.target.literal && r.target.text == "/dev/null" {
                    None
                } else {
                    Some(format!("writes to `{}` (a redirection)", r.target.raw))
                }
            }
        }
    }

    pub(crate) fn assignment_problem(&self, a: &str, bare: bool) -> Option<String> {
        let (name, value) = a.split_once('=').unwrap_or((a, ""));
        let name = name.trim_end_matches('+');
        // A pager forced to `cat` (or none) runs nothing.
        if matches!(name, "PAGER" | "GIT_PAGER" | "MANPAGER" | "SYSTEMD_PAGER")
            && matches!(value, "cat" | "" | "''" | "\"\"")
        {
            return None;
        }
        // A bare `x=...` sets a shell variable. Lower-case names are the
        // script's own; programs read upper-case ones (PATH, LD_PRELOAD...).
        // Substitutions in the value are separate commands, checked on their own.
        if bare && is_local_variable(name) {
            return None;
        }
        if !self.safe_env.iter().any(|s| s == name) {
            return Some(format!("sets {name}, which can change what the command runs"));
        }
        if value.contains(['$', '`', '(', '~', '*', '?', '[']) {
            return Some(format!("sets {name} to a computed value"));
        }
        None
    }

    /// Check an argv (also used for the inner command of wrappers).
    pub(crate) fn check_argv(&self, argv: &[&Word], env: &Env<'_>, depth: usize, _first: &Word) -> Check {
        if depth > 8 {
            return Check::unsafe_("wrappers nested too deeply");
        }
        let Some(name_word) = argv.first() else { return Check::unsafe_("a wrapper with no command") };
        if !name_word.literal {
            return Check::unsafe_(format!("the command name `{}` is computed at run time", name_word.raw));
        }
        let mut name = name_word.text.as_str();
        // The system's own directories hold the real programs.
        for dir in ["/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/"] {
            if let Some(base) = name.strip_prefix(dir).filter(|b| !b.contains('/') && !b.is_empty()) {
                name = base;
            }
        }
        if name.contains('/') {
            return Check::unsafe_(format!("`{name}` is a path, not the system's program of that name"));
        }
        let Some(spec) = self.program.get(name) else {
            return Check::unsafe_(format!("`{name}` is not in the read-only floor"));
        };
        generic::check_program(self, name, spec, &argv[1..], env, depth)
    }
}

/// A variable named like a credential, expanded in a word's source.
pub fn secret_variable(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let start = if b.get(i + 1) == Some(&b'{') { i + 2 } else { i + 1 };
            let mut end = start;
            while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                end += 1;
            }
            let name = &raw[start..end];
            if looks_secret(name) {
                return Some(name.to_string());
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

/// TOKEN, SECRET, PASSWORD, API_KEY... in a variable's name.
pub fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "AUTH",
        "SESSION_KEY",
    ]
    .iter()
    .any(|k| n.contains(k))
}

/// Devices that hold nothing secret.
const DEV_READABLE: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "/dev/stdin",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/tty",
    "/dev/full",
];

/// Files under /proc that hold nothing secret.
const PROC_READABLE: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/version",
    "/proc/loadavg",
    "/proc/uptime",
    "/proc/stat",
    "/proc/mounts",
    "/proc/filesystems",
    "/proc/partitions",
    "/proc/swaps",
];

/// A lower-case shell variable that no program or shell feature reads
/// (zsh ties `path`, `cdpath`, `fpath`, `manpath` and `module_path` to
/// their upper-case twins).
pub fn is_local_variable(name: &str) -> bool {
    !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !matches!(
            name,
            "path" | "cdpath" | "fpath" | "manpath" | "module_path" | "mailpath" | "psvar" | "watch" | "histchars"
        )
}

/// `<(...)`: the program reads a pipe from a command the analysis lists.
pub fn is_process_substitution(w: &Word) -> bool {
    w.raw.starts_with("<(") && w.raw.ends_with(')')
}

/// Every expansion in the word's source sits inside double quotes, so the
/// word stays one word whatever it expands to (no splitting, no globbing).
pub fn expansions_quoted(raw: &str) -> bool {
    let b = raw.as_bytes();
    let mut i = 0;
    let mut in_double = false;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'\'' if !in_double => match raw[i + 1..].find('\'') {
                Some(end) => i += end + 2,
                None => return false,
            },
            b'"' => {
                in_double = !in_double;
                i += 1;
            }
            b'$' | b'`' if !in_double => return false,
            b'$' if b.get(i + 1) == Some(&b'(') => {
                // Skip the substitution; its quotes are its own.
                let mut depth = 0usize;
                while i < b.len() {
                    match b[i] {
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    !in_double
}

/// The floor entries as (name, reason), for `gate floor`.
pub fn entries() -> Vec<(String, &'static ProgramSpec)> {
    let mut out = Vec::new();
    for (name, spec) in &floor().program {
        out.push((name.clone(), spec));
        for (sub, s) in &spec.sub {
            out.push((format!("{name} {sub}"), s));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_floor_parses() {
        let f: Floor = toml::from_str(FLOOR_TOML).expect("policies/floor.toml must parse");
        assert!(f.program.len() > 60);
        for (name, spec) in &f.program {
            assert!(!spec.reason.is_empty(), "{name} needs a reason");
            for c in spec.short.chars().chain(spec.short_arg.chars()) {
                assert!(c.is_ascii_alphanumeric() || "@.".contains(c), "{name}: odd short flag {c:?}");
            }
        }
        for bad in [
            "awk", "perl", "python", "python3", "node", "bash", "sh", "zsh", "eval", "less", "more", "man", "vi",
            "vim", "nohup", "sudo",
        ] {
            assert!(!f.program.contains_key(bad), "{bad} must never be in the floor");
        }
    }

    /// Floor text that does not load is an error naming the line and column it
    /// points at (and the embedded floor loads through the same function).
    #[test]
    fn floor_text_that_does_not_load_says_where() {
        assert!(Floor::from_toml(FLOOR_TOML).is_ok_and(|f| f.program.len() > 60 && !f.names.is_empty()));
        let sensitive = "[sensitive]\nnames = []\ndirs = []\n";
        let cases: &[(String, (usize, usize), &str)] = &[
            ("safe_env = [\n".to_string(), (1, 13), "unclosed array"),
            (
                format!("safe_env = []\n{sensitive}[program.cat]\nreason = \"x\"\nshrot = \"n\"\n"),
                (7, 1),
                "unknown field `shrot`",
            ),
            (
                format!("safe_env = []\n{sensitive}[program.cat]\nreason = \"x\"\ncheck = \"wraper\"\n"),
                (7, 9),
                "unknown variant `wraper`",
            ),
            (format!("safe_env = \"LANG\"\n{sensitive}[program]\n"), (1, 12), "invalid type"),
        ];
        for (text, at, message) in cases {
            let e = Floor::from_toml(text).map(|_| ()).expect_err(text);
            assert_eq!(e.at, Some(*at), "{text}: {e}");
            assert!(e.message.contains(message), "{text}: {e}");
            assert!(e.to_string().starts_with(&format!("line {}, column {}: ", at.0, at.1)), "{e}");
        }
    }

    #[test]
    fn normalize_paths() {
        let cases: &[(&str, &str)] = &[
            ("a/b", "/p/a/b"),
            ("./a/../b", "/p/b"),
            ("/x//y/", "/x/y"),
            ("~/.ssh/id_rsa", "/h/.ssh/id_rsa"),
            ("~", "/h"),
            ("../../..", "/"),
            ("/proc/self/cwd/../x", "/proc/self/x"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input, "/p", Some("/h")), *want, "{input}");
        }
    }
}
