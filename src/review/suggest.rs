//! Allow rules from repeated human approvals. Each approved call that still
//! asks under the current policy is given the rule the inbox's "always
//! allow" would write for it ([`crate::broker::always_rule`], from the same
//! grant keys), so a suggestion and the inbox never disagree; approvals are
//! grouped by that rule's text. A call is never the evidence for a rule
//! when it reaches the network, touches a secret, gate's own files or an
//! agent's settings, names a path outside its repository, or uses a tool
//! gate cannot read ([`exclusion`]). The replay that vets each grouped rule
//! is the caller's (`gate suggest`), since it loads policy layers.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::action::{Action, Agent, Request};
use crate::floor::{self, Env};
use crate::policy::edits::{self, EditScope, ModeCheck};
use crate::policy::{Decision, Evaluation};
use crate::probe::DiskProbe;

/// Programs that reach the network whatever their arguments.
const NETWORK_PROGRAMS: &[&str] = &[
    "curl", "wget", "ssh", "scp", "sftp", "rsync", "nc", "ncat", "netcat", "socat", "telnet", "ftp", "http", "https",
    "aria2c", "gh", "npx", "pipx", "bunx", "ping", "dig", "nslookup", "host", "mosh",
];

/// `program subcommand` pairs that reach the network (fetching, publishing
/// or installing packages).
const NETWORK_SUBCOMMANDS: &[(&str, &[&str])] = &[
    ("git", &["push", "fetch", "pull", "clone", "ls-remote", "submodule", "remote", "archive", "send-email"]),
    ("npm", &["install", "i", "ci", "add", "update", "publish", "exec", "view", "audit"]),
    ("yarn", &["add", "install", "upgrade", "publish", "dlx"]),
    ("pnpm", &["add", "install", "i", "update", "publish", "dlx"]),
    ("bun", &["add", "install", "update", "publish", "x"]),
    ("pip", &["install", "download"]),
    ("pip3", &["install", "download"]),
    ("uv", &["add", "pip", "sync", "tool", "run"]),
    ("poetry", &["add", "install", "update", "publish"]),
    ("cargo", &["install", "add", "publish", "update", "fetch", "login", "search"]),
    ("gem", &["install", "push", "update"]),
    ("go", &["get", "install", "mod"]),
    ("apt", &["install", "update", "upgrade"]),
    ("apt-get", &["install", "update", "upgrade"]),
    ("brew", &["install", "update", "upgrade", "tap"]),
    ("dnf", &["install", "update", "upgrade"]),
    ("yum", &["install", "update", "upgrade"]),
    ("pacman", &["-S", "-Sy", "-Syu"]),
    ("docker", &["pull", "push", "login", "run", "build"]),
    ("podman", &["pull", "push", "login", "run", "build"]),
    ("kubectl", &["apply", "exec", "cp", "port-forward"]),
];

/// Default rules whose asks mean the call reaches the network or a secret:
/// a call one of them matched is never evidence for an allow rule. (Where
/// the user disabled one, the lists above and the path checks still hold.)
const NEVER_FROM: &[&str] =
    &["ask-network", "ask-web-fetch", "ask-package-install", "ask-git-push", "ask-secret-files"];

/// The program and subcommand pairs a suggested rule may cover as a
/// prefix (any plain words after them): builds and tests, which write
/// inside the repository. Any other approval is suggested as its exact
/// command only, since a prefix would cover arguments no one approved
/// (`npm config set ...` from `npm config get registry`).
pub const PREFIX_OK: &[&str] = &[
    "cargo build", "cargo check", "cargo test", "cargo clippy", "cargo fmt", "cargo doc", "cargo bench",
    "go build", "go test", "go vet", "npm test", "npm run", "pnpm test", "pnpm run", "yarn test", "yarn run",
    "make build", "make test", "make check", "make lint", "python -m pytest", "python3 -m pytest",
    "mvn test", "mvn compile", "gradle test", "gradle build", "dotnet build", "dotnet test", "tox -e",
];

/// Whether a grant key may be suggested as it stands.
pub fn prefix_ok(key: &str) -> bool {
    match key.strip_prefix("prefix:") {
        Some(words) => PREFIX_OK.contains(&words),
        None => true,
    }
}

/// Why a call may not be the evidence for an allow rule, if it may not.
/// `eval` is its evaluation under the current policy; `home` and
/// `gate_dirs` are what the policy's `~` and `@gate` stood for.
pub fn exclusion(action: &Action, eval: &Evaluation, home: Option<&str>, gate_dirs: &[String]) -> Option<String> {
    match &action.request {
        Request::Fetch { url } => return Some(format!("reaches the network ({} {url})", action.tool)),
        Request::Mcp { server, .. } => {
            return Some(format!("an MCP tool (server {server}), which may reach the network"))
        }
        Request::Unknown | Request::Internal => return Some(format!("{} is a tool gate cannot read", action.tool)),
        Request::Shell { .. }
        | Request::Read { .. }
        | Request::Search { .. }
        | Request::Write { .. }
        | Request::Subagent => {}
    }
    for part in &eval.commands {
        if let Some(m) = part.matched.iter().find(|m| NEVER_FROM.contains(&m.id.as_str())) {
            return Some(format!("the rule {} asks for it", m.id));
        }
        let why = part.reason.to_ascii_lowercase();
        if why.contains("secret") || why.contains("sensitive") || why.contains("credential") {
            return Some(format!("touches a secret: {}", part.reason));
        }
    }
    let probe = DiskProbe::new(home.map(str::to_string)).with_cwd(&action.cwd);
    let env = Env {
        cwd: &action.cwd,
        extra_cwds: Vec::new(),
        stdin_names_from: None,
        home,
        gate_dirs,
        probe: &probe,
        ignore_secrets: false,
    };
    let root = probe.work_tree(&action.cwd);
    // Every path the call names must be a file the agent's edit mode could
    // write: inside the repository, and no secret, gate file, agent
    // setting or file that makes git or the agent run code.
    let in_tree = |paths: Vec<String>| -> Option<String> {
        if paths.is_empty() {
            return None;
        }
        let mut probe_action = action.clone();
        probe_action.agent = Agent::ClaudeCode;
        probe_action.permission_mode = Some("acceptEdits".into());
        probe_action.request = Request::Write { paths: paths.clone(), new_text: Vec::new() };
        let scope = EditScope { follow: true, origin: "gate suggest".into(), root: root.clone() };
        match edits::check(&probe_action, &paths, &scope, &env) {
            ModeCheck::Allows { .. } => None,
            ModeCheck::Asks { why, .. } => Some(why),
            ModeCheck::NotInMode => Some("gate cannot check where it writes".into()),
        }
    };
    match &action.request {
        Request::Write { paths, .. } => {
            in_tree(paths.clone()).map(|why| format!("writes outside the repository or to a guarded file: {why}"))
        }
        Request::Read { path } => {
            let p = path.clone().unwrap_or_else(|| action.cwd.clone());
            floor::floor().sensitive_reason(&p, &env).map(|why| format!("touches a secret: {why}"))
        }
        Request::Search { root: search_root, names, hidden, .. } => {
            if *hidden || names.is_some() {
                return Some("searches hidden files or files by name, which may be secrets".into());
            }
            let p = search_root.clone().unwrap_or_else(|| action.cwd.clone());
            floor::floor().sensitive_reason(&p, &env).map(|why| format!("touches a secret: {why}"))
        }
        Request::Shell { .. } => {
            for part in &eval.commands {
                if part.argv.is_empty() {
                    return Some(format!("`{}` is not a simple command gate can read", part.command));
                }
                for form in crate::policy::argv_forms(&part.argv) {
                    if let Some(why) = network_use(&form) {
                        return Some(format!("reaches the network ({why})"));
                    }
                }
                let mut paths = Vec::new();
                for w in part.argv.iter().skip(1) {
                    if w.contains("://") {
                        return Some(format!("names a URL ({w}), so it may reach the network"));
                    }
                    if let Some(p) = path_in_word(w) {
                        paths.push(p);
                    }
                }
                if let Some(prog) = part.argv.first().filter(|p| p.contains('/')) {
                    if let Some(why) = floor::floor().sensitive_reason(prog, &env) {
                        return Some(format!("touches a secret: {why}"));
                    }
                }
                if let Some(why) = in_tree(paths) {
                    return Some(format!("names a path outside the repository or a guarded file: {why}"));
                }
            }
            None
        }
        Request::Subagent => None,
        Request::Fetch { .. } | Request::Mcp { .. } | Request::Unknown | Request::Internal => None,
    }
}

/// Which network use an argv (wrappers removed) shows, if any.
fn network_use(argv: &[String]) -> Option<String> {
    let program = argv.first().map(|p| p.rsplit('/').next().unwrap_or(p))?;
    if NETWORK_PROGRAMS.contains(&program) {
        return Some(program.to_string());
    }
    let subs = NETWORK_SUBCOMMANDS.iter().find(|(p, _)| *p == program).map(|(_, s)| *s)?;
    // The first word that is not an option names the subcommand (`git -C x push`
    // is seen through by `argv_forms`; `npm --silent install` here).
    let sub = argv.iter().skip(1).find(|w| !w.starts_with('-') || subs.contains(&w.as_str()))?;
    subs.contains(&sub.as_str()).then(|| format!("{program} {sub}"))
}

/// The path a word may name: itself, or an option's value (`--out=x`,
/// `-o/tmp/x`). Every plain word counts: `build` is `./build`.
fn path_in_word(w: &str) -> Option<String> {
    if !w.starts_with('-') {
        return (!w.is_empty()).then(|| w.to_string());
    }
    if let Some((_, v)) = w.split_once('=') {
        return (!v.is_empty()).then(|| v.to_string());
    }
    w.find(['/', '~']).map(|i| w[i..].to_string())
}

/// The rule text without its id lines: what approvals are grouped by.
pub fn rule_key(rule: &str) -> String {
    rule.lines().filter(|l| !l.starts_with("id = ")).collect::<Vec<_>>().join("\n")
}

/// The rule with fresh ids: `base`, then `base-2`, ... for further blocks.
pub fn with_ids(rule: &str, base: &str) -> String {
    let mut n = 0;
    let mut out = String::new();
    for l in rule.lines() {
        if l.starts_with("id = ") {
            n += 1;
            let id = if n == 1 { base.to_string() } else { format!("{base}-{n}") };
            out.push_str(&format!("id = \"{id}\"\n"));
        } else {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// The approvals behind one rule.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Evidence {
    /// Indices into the history's calls.
    #[serde(skip)]
    pub calls: Vec<usize>,
    /// Approved by a human on one of gate's surfaces (or a session grant).
    pub human: usize,
    /// Ran after the agent's own dialog: weaker, since gate cannot tell a
    /// human saw it.
    pub dialog: usize,
    pub approvers: BTreeSet<String>,
    pub sessions: BTreeSet<String>,
    /// The first and the latest approval (RFC 3339 in JSON, as `first` and `last`).
    #[serde(rename = "first", serialize_with = "crate::clock::rfc3339")]
    pub first_ms: i64,
    #[serde(rename = "last", serialize_with = "crate::clock::rfc3339")]
    pub last_ms: i64,
    pub examples: Vec<String>,
}

impl Evidence {
    pub fn add(&mut self, call: usize, c: &super::replay::Recorded) {
        if self.calls.is_empty() || c.ts < self.first_ms {
            self.first_ms = c.ts;
        }
        self.last_ms = self.last_ms.max(c.ts);
        self.calls.push(call);
        if c.approved_in_dialog() {
            self.dialog += 1;
        } else {
            self.human += 1;
            if let Some(a) = &c.approver {
                self.approvers.insert(a.clone());
            }
        }
        if let Some(s) = &c.session_id {
            self.sessions.insert(s.clone());
        }
        let t = c.target.clone().unwrap_or_else(|| c.tool.clone());
        if self.examples.len() < 3 && !self.examples.contains(&t) {
            self.examples.push(t);
        }
    }

    pub fn count(&self, with_dialog: bool) -> usize {
        self.human + if with_dialog { self.dialog } else { 0 }
    }
}

/// Whether a proposed policy allows without asking what the current one does not.
pub fn newly_allowed(current: Decision, proposed: Decision) -> bool {
    current != Decision::Allow && proposed == Decision::Allow
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn network_use_by_program_and_subcommand() {
        let cases: &[(&str, Option<&str>)] = &[
            ("curl -s https://x", Some("curl")),
            ("/usr/bin/wget x", Some("wget")),
            ("git push origin main", Some("git push")),
            ("git status", None),
            ("git fetch", Some("git fetch")),
            ("npm --silent install left-pad", Some("npm install")),
            ("npm test", None),
            ("make build", None),
            ("cargo build", None),
            ("cargo install ripgrep", Some("cargo install")),
        ];
        for (cmd, want) in cases {
            assert_eq!(network_use(&argv(cmd)).as_deref(), *want, "{cmd}");
        }
    }

    #[test]
    fn paths_in_words() {
        let cases: &[(&str, Option<&str>)] = &[
            ("build", Some("build")),
            ("../x", Some("../x")),
            ("--out=/tmp/x", Some("/tmp/x")),
            ("-o/tmp/x", Some("/tmp/x")),
            ("-v", None),
            ("--verbose", None),
            ("-C~/x", Some("~/x")),
        ];
        for (w, want) in cases {
            assert_eq!(path_in_word(w).as_deref(), *want, "{w}");
        }
    }

    #[test]
    fn ids_are_replaced_and_ignored_when_grouping() {
        let a = "[[rule]]\nid = \"always-1\"\ndecision = \"allow\"\n\n[[rule]]\nid = \"always-1-2\"\ndecision = \"allow\"\n";
        let b = a.replace("always-1", "always-77");
        assert_eq!(rule_key(a), rule_key(&b));
        assert_eq!(
            with_ids(a, "suggested-3"),
            "[[rule]]\nid = \"suggested-3\"\ndecision = \"allow\"\n\n[[rule]]\nid = \"suggested-3-2\"\ndecision = \"allow\"\n"
        );
    }
}
