//! The shape of a tool call: what stays the same when an agent makes "the
//! same kind of call" again. A shell command becomes its programs with
//! their subcommand (`git commit -m x && git push` → `git commit, git push`),
//! a file tool its path as a pattern (`src/review/shape.rs` → `src/**/*.rs`,
//! relative to the repository when the file is in it), a fetch its host.
//! Calls with one shape are what a single allow rule could cover, which is
//! what `gate digest` and `gate suggest` look for. Pure: no I/O.

use serde::Serialize;

use crate::action::Kind;
use crate::review::calls::{Decider, ReviewCall};

/// A normalised call: the agent's tool and a pattern of what it touched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Shape {
    /// The agent's tool name (`Bash`, `Edit`, `mcp__github__create_issue`).
    pub tool: String,
    /// The command shape, path pattern or host; empty when the tool alone is the shape.
    pub pattern: String,
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pattern.is_empty() {
            f.write_str(&self.tool)
        } else {
            write!(f, "{} {}", self.tool, self.pattern)
        }
    }
}

/// The shape of one call. `target` is the receipt's target (the command,
/// the path(s), the URL); `repo` the repository the call was made in, so
/// that paths inside it are made relative.
pub fn shape_of(kind: Option<Kind>, tool: &str, target: Option<&str>, repo: Option<&str>) -> Shape {
    let target = target.unwrap_or("").trim();
    let pattern = match kind {
        Some(Kind::Shell) => command_shape(target),
        // A write to several files is shaped by the first.
        Some(Kind::Read | Kind::Write | Kind::Edit) => {
            target.split(", ").next().map(|p| path_pattern(p, repo)).unwrap_or_default()
        }
        Some(Kind::Fetch) => host_of(target).unwrap_or_default(),
        _ => String::new(),
    };
    Shape { tool: tool.to_string(), pattern }
}

/// Programs whose first operand is a subcommand worth keeping.
const SUBCOMMANDS: &[&str] = &[
    "apt",
    "apt-get",
    "aws",
    "az",
    "brew",
    "bun",
    "bundle",
    "cargo",
    "composer",
    "conda",
    "dart",
    "deno",
    "dnf",
    "docker",
    "dotnet",
    "flutter",
    "gcloud",
    "gh",
    "git",
    "go",
    "gradle",
    "gradlew",
    "helm",
    "just",
    "kubectl",
    "make",
    "mix",
    "mvn",
    "nix",
    "npm",
    "npx",
    "pip",
    "pip3",
    "pnpm",
    "podman",
    "poetry",
    "rails",
    "rake",
    "rustup",
    "swift",
    "systemctl",
    "terraform",
    "tofu",
    "uv",
    "yarn",
    "yum",
];

/// Programs that run another command: the shape is theirs plus the one they run.
const WRAPPERS: &[&str] = &["sudo", "env", "time", "nice", "nohup", "command", "exec", "timeout", "doas"];

/// Flags that take the next word as their value, per program (before the subcommand).
fn takes_value(program: &str, flag: &str) -> bool {
    match program {
        "git" => matches!(flag, "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace"),
        "cargo" => matches!(flag, "-C" | "--config" | "-Z"),
        "make" => matches!(flag, "-C" | "-f" | "--directory" | "--file" | "-j"),
        "docker" | "podman" => matches!(flag, "-H" | "--host" | "--context" | "-c" | "--config"),
        "kubectl" | "helm" => matches!(flag, "-n" | "--namespace" | "--context" | "--kubeconfig"),
        "npm" | "pnpm" | "yarn" => matches!(flag, "--prefix" | "-C" | "--cwd" | "--filter" | "-w" | "--workspace"),
        _ => false,
    }
}

/// The programs of a shell command, each with its subcommand, in order, once each.
pub fn command_shape(command: &str) -> String {
    let analysis = crate::shell::analyze(command);
    let mut parts: Vec<String> = Vec::new();
    for c in analysis.commands.iter().filter(|c| c.context.substitution_depth == 0) {
        let words: Vec<&str> =
            c.argv.iter().map(|w| if w.literal { w.text.as_str() } else { w.raw.as_str() }).collect();
        if let Some(p) = simple_shape(&words) {
            if !parts.contains(&p) {
                parts.push(p);
            }
        }
    }
    if parts.is_empty() {
        // Nothing parsed (empty, or too odd to analyse): the first word.
        return command.split_whitespace().next().map(basename).unwrap_or_default().to_string();
    }
    parts.join(", ")
}

fn simple_shape(words: &[&str]) -> Option<String> {
    let mut i = 0;
    let mut prefix: Vec<&str> = Vec::new();
    // Wrappers keep their own name, then the command they run.
    while let Some(w) = words.get(i).map(|w| basename(w)) {
        if !WRAPPERS.contains(&w) {
            break;
        }
        prefix.push(w);
        i += 1;
        let wrapper = w;
        while let Some(next) = words.get(i) {
            let numeric = next.chars().next().is_some_and(|c| c.is_ascii_digit());
            if next.starts_with('-') || next.contains('=') || (wrapper == "timeout" && numeric) {
                i += 1;
            } else {
                break;
            }
        }
    }
    let program = basename(words.get(i)?);
    let mut out = prefix.join(" ");
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(program);
    let rest = &words[i + 1..];
    if program.starts_with("python") {
        if let [flag, module, ..] = rest {
            if *flag == "-m" {
                out.push_str(&format!(" -m {module}"));
            }
        }
        return Some(out);
    }
    if !SUBCOMMANDS.contains(&program) {
        return Some(out);
    }
    let mut j = 0;
    while let Some(w) = rest.get(j) {
        if w.starts_with('+') && program == "cargo" {
            j += 1; // a toolchain: cargo +nightly build
        } else if w.starts_with('-') {
            j += if takes_value(program, w) { 2 } else { 1 };
        } else {
            break;
        }
    }
    if let Some(sub) = rest.get(j).filter(|w| is_subcommand(w)) {
        out.push(' ');
        out.push_str(sub);
        // `npm run build`: the script is what differs.
        if matches!(program, "npm" | "pnpm" | "yarn" | "bun") && *sub == "run" {
            if let Some(script) = rest.get(j + 1).filter(|w| is_subcommand(w)) {
                out.push(' ');
                out.push_str(script);
            }
        }
    }
    Some(out)
}

fn is_subcommand(w: &str) -> bool {
    let mut chars = w.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | ':' | '.'))
        && w.len() <= 32
}

fn basename(w: &str) -> &str {
    w.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(w)
}

/// A path as a pattern: its top directory (relative to the repository
/// when inside it), any depth below, and its extension.
pub fn path_pattern(path: &str, repo: Option<&str>) -> String {
    let path = path.trim();
    if path.is_empty() {
        return String::new();
    }
    let rel = repo
        .map(|r| r.trim_end_matches('/'))
        .filter(|r| !r.is_empty())
        .and_then(|r| path.strip_prefix(r))
        .and_then(|rest| rest.strip_prefix('/'));
    let (inside, p) = match rel {
        Some(r) => (true, r),
        None => (false, path),
    };
    let (dir, name) = match p.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => ("", p),
    };
    let leaf = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => format!("*.{ext}"),
        _ => name.to_string(),
    };
    if inside || !p.starts_with('/') {
        // In the project: the top directory, any depth.
        match dir.split('/').next().filter(|d| !d.is_empty()) {
            Some(top) => format!("{top}/**/{leaf}"),
            None => leaf,
        }
    } else if dir.is_empty() {
        format!("/{leaf}")
    } else {
        // Outside it: the same directory.
        format!("{dir}/{leaf}")
    }
}

/// The host of a URL (`https://user@example.com:8443/x` → `example.com:8443`).
pub fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    (!host.is_empty() && !host.contains(' ')).then(|| host.to_ascii_lowercase())
}

/// The calls gate asked about that share one shape, and how they were settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShapeAsks {
    pub shape: Shape,
    /// Calls gate did not settle itself (asked of a human or the agent).
    pub asks: usize,
    /// Approved by a human in gate (an inbox, a session grant).
    pub approved_by_human: usize,
    /// Let run after the agent's own dialog.
    pub approved_by_agent: usize,
    /// Denied, expired, abandoned, or with no answer on record.
    pub not_approved: usize,
    /// The most recent call's target, as an example.
    pub example: Option<String>,
    /// The repositories the calls were made in, sorted.
    pub repos: Vec<String>,
}

impl ShapeAsks {
    /// Every ask of this shape was approved.
    pub fn always_approved(&self) -> bool {
        self.not_approved == 0 && self.asks > 0
    }
}

/// Group the calls gate asked about by shape (paths relative to each
/// call's repository), most asked first. `gate suggest` and `gate digest`
/// both start here.
pub fn group_asks(calls: &[ReviewCall]) -> Vec<ShapeAsks> {
    let mut groups: std::collections::BTreeMap<Shape, ShapeAsks> = std::collections::BTreeMap::new();
    for c in calls.iter().filter(|c| c.was_asked()) {
        let kind = c.kind.map(|k| k.0);
        let shape = shape_of(kind, c.tool.as_deref().unwrap_or("?"), c.target.as_deref(), c.repo.as_deref());
        let g = groups.entry(shape.clone()).or_insert_with(|| ShapeAsks {
            shape,
            asks: 0,
            approved_by_human: 0,
            approved_by_agent: 0,
            not_approved: 0,
            example: None,
            repos: Vec::new(),
        });
        g.asks += 1;
        match (c.decision, c.decider()) {
            (Some(crate::store::Verdict::Approved), Decider::Human) => g.approved_by_human += 1,
            (Some(crate::store::Verdict::Approved), Decider::Agent) => g.approved_by_agent += 1,
            _ => g.not_approved += 1,
        }
        g.example = c.target.clone().or(g.example.take());
        if let Some(r) = &c.repo {
            if let Err(i) = g.repos.binary_search(r) {
                g.repos.insert(i, r.clone());
            }
        }
    }
    let mut out: Vec<ShapeAsks> = groups.into_values().collect();
    out.sort_by(|a, b| b.asks.cmp(&a.asks).then_with(|| a.shape.cmp(&b.shape)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_keep_programs_and_subcommands() {
        let cases: &[(&str, &str)] = &[
            ("ls -la src", "ls"),
            ("git commit -m 'fix: digest'", "git commit"),
            ("git -C ../other status --short", "git status"),
            ("cargo +nightly test --locked --lib digest", "cargo test"),
            ("npm run build -- --watch", "npm run build"),
            ("npm test", "npm test"),
            ("/usr/bin/make -C sub check", "make check"),
            ("cd repo && cargo build && git push", "cd, cargo build, git push"),
            ("git add . && git add -p", "git add"),
            ("rg -n foo | head -5", "rg, head"),
            ("sudo -E apt-get install -y jq", "sudo apt-get install"),
            ("env FOO=1 BAR=2 cargo run", "env cargo run"),
            ("timeout 30 pytest -x", "timeout pytest"),
            ("python3 -m pytest tests/", "python3 -m pytest"),
            ("echo $(git rev-parse HEAD)", "echo"),
            ("docker --context prod ps -a", "docker ps"),
            ("git ./weird", "git"),
            ("kubectl -n kube-system get pods", "kubectl get"),
            ("", ""),
        ];
        for (cmd, want) in cases {
            assert_eq!(command_shape(cmd), *want, "{cmd}");
        }
    }

    #[test]
    fn paths_become_patterns() {
        let repo = Some("/home/dev/project");
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("/home/dev/project/src/review/shape.rs", repo, "src/**/*.rs"),
            ("/home/dev/project/src/main.rs", repo, "src/**/*.rs"),
            ("/home/dev/project/README.md", repo, "*.md"),
            ("/home/dev/project/Makefile", repo, "Makefile"),
            ("/home/dev/project/.github/workflows/ci.yml", repo, ".github/**/*.yml"),
            ("/home/dev/project/.env", repo, ".env"),
            ("/home/dev/projectile/x.rs", repo, "/home/dev/projectile/*.rs"),
            ("/tmp/notes.txt", repo, "/tmp/*.txt"),
            ("/etc/hosts", None, "/etc/hosts"),
            ("/hosts", None, "/hosts"),
            ("docs/a/b.md", None, "docs/**/*.md"),
            ("", repo, ""),
        ];
        for (path, repo, want) in cases {
            assert_eq!(path_pattern(path, *repo), *want, "{path}");
        }
    }

    #[test]
    fn every_kind_has_a_shape() {
        let repo = Some("/p");
        let cases: &[(Option<Kind>, &str, Option<&str>, &str)] = &[
            (Some(Kind::Shell), "Bash", Some("git status"), "Bash git status"),
            (Some(Kind::Edit), "Edit", Some("/p/src/a.rs"), "Edit src/**/*.rs"),
            (Some(Kind::Write), "Write", Some("/p/a.md, /p/b.md"), "Write *.md"),
            (Some(Kind::Fetch), "WebFetch", Some("https://u@Docs.rs:443/x?y"), "WebFetch docs.rs:443"),
            (Some(Kind::Fetch), "WebSearch", Some("rust serde"), "WebSearch"),
            (Some(Kind::Mcp), "mcp__gh__issue", Some("mcp__gh__issue"), "mcp__gh__issue"),
            (Some(Kind::Search), "Grep", Some("foo in /p"), "Grep"),
            (None, "Mystery", None, "Mystery"),
        ];
        for (kind, tool, target, want) in cases {
            assert_eq!(shape_of(*kind, tool, *target, repo).to_string(), *want, "{tool} {target:?}");
        }
    }
}
