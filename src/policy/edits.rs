//! Following the agent's edit mode: whether a write by one of the agent's
//! own file-edit tools may be auto-approved because the user put the agent
//! in a mode that accepts edits (Claude Code's `acceptEdits`) and the
//! policy's `accept_edits` setting says to follow it. Only writes whose
//! every target, after `..` and symlinks are resolved, lies inside the
//! project's working tree qualify, and never a secret, gate's own files, an
//! agent's settings, anything under `.git`, or a file that makes a later
//! read or the agent run code (the data in `policies/edit_guard.toml`).
//! Pure: the disk is reached only through the probe, and the working tree
//! is found by the caller.

use std::sync::OnceLock;

use serde::Deserialize;

use super::glob::Glob;
use crate::action::{Action, Request};
use crate::floor::{self, Env};

/// The guard data, embedded in the binary.
pub const EDIT_GUARD_TOML: &str = include_str!("../../policies/edit_guard.toml");

/// What the caller found for an edit: whether the policy follows the mode,
/// and the project's working tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditScope {
    /// `accept_edits` is `follow` (the default) in the effective settings.
    pub follow: bool,
    /// Which file set `accept_edits`, or `built-in default`.
    pub origin: String,
    /// The working tree (canonical): the git work tree holding the agent's
    /// cwd, or the cwd outside a repository. `None` when there is none gate
    /// can vouch for; then nothing follows the mode.
    pub root: Option<String>,
}

/// How the mode bears on one edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModeCheck {
    /// The agent is not in a mode that accepts edits (or this is not an
    /// agent's edit tool): the mode changes nothing.
    NotInMode,
    /// The agent is in such a mode, but this write still asks, and why.
    Asks { mode: String, why: String },
    /// The mode covers this write.
    Allows { mode: String, root: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuard {
    follow_modes: std::collections::BTreeMap<String, Vec<String>>,
    guard: Vec<RawGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    why: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    dirs: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
}

struct Group {
    why: String,
    names: Vec<Glob>,
    dirs: Vec<String>,
    paths: Vec<Vec<String>>,
}

struct Guard {
    follow_modes: std::collections::BTreeMap<String, Vec<String>>,
    groups: Vec<Group>,
}

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("policies/edit_guard.toml: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("policies/edit_guard.toml: bad glob {0:?}: {1}")]
    Glob(String, super::glob::GlobError),
}

fn compile(text: &str) -> Result<Guard, GuardError> {
    let raw: RawGuard = toml::from_str(text)?;
    let mut groups = Vec::new();
    for g in raw.guard {
        let mut names = Vec::new();
        for n in &g.names {
            names.push(Glob::whole(&fold(n)).map_err(|e| GuardError::Glob(n.clone(), e))?);
        }
        groups.push(Group {
            why: g.why,
            names,
            dirs: g.dirs.iter().map(|d| fold(d)).collect(),
            paths: g.paths.iter().map(|p| p.split('/').filter(|s| !s.is_empty()).map(fold).collect()).collect(),
        });
    }
    Ok(Guard { follow_modes: raw.follow_modes, groups })
}

/// The guard, parsed on first use. `None` if the embedded file is broken,
/// which the unit tests rule out; then nothing follows the mode.
fn guard() -> Option<&'static Guard> {
    static GUARD: OnceLock<Option<Guard>> = OnceLock::new();
    GUARD.get_or_init(|| compile(EDIT_GUARD_TOML).ok()).as_ref()
}

/// A path segment as a case-insensitive file system may see it: ASCII
/// lower case, without the code points HFS+ ignores (so `.g\u{200c}it` is
/// `.git`).
fn fold(segment: &str) -> String {
    segment
        .chars()
        .filter(
            |c| !matches!(*c as u32, 0x200B..=0x200F | 0x202A..=0x202E | 0x206A..=0x206F | 0xFEFF | 0x00AD | 0x034F),
        )
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Why writing `path` (absolute) would touch a guarded file, if it would.
fn guarded(g: &Guard, path: &str) -> Option<String> {
    let segs: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(fold).collect();
    let name = segs.last()?;
    for group in &g.groups {
        let hit = group.names.iter().any(|n| n.is_match(name))
            || segs.iter().any(|s| group.dirs.contains(s))
            || group.paths.iter().any(|p| !p.is_empty() && segs.windows(p.len()).any(|w| w == p.as_slice()));
        if hit {
            return Some(format!("{path} is guarded: {}", group.why));
        }
    }
    None
}

/// Is `path` strictly below `root`?
fn inside(path: &str, root: &str) -> bool {
    let root = root.trim_end_matches('/');
    path.strip_prefix(root).is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
}

/// Where a write to the absolute path `raw` lands: the probe resolves it
/// (symlinks, and `..` after a symlink the way the kernel does). A file in
/// directories that do not exist yet is resolved through its nearest
/// existing ancestor, when the path holds no `..` that could climb out of a
/// symlink first.
fn landing(raw: &str, env: &Env<'_>) -> Option<String> {
    if let Some(real) = env.probe.canonicalize(raw) {
        return Some(real);
    }
    if raw.split('/').any(|s| s == "..") {
        return None;
    }
    let lexical = floor::normalize(raw, "/", None);
    let mut rest: Vec<&str> = Vec::new();
    let mut dir = lexical.as_str();
    while let Some((parent, name)) = dir.rsplit_once('/') {
        rest.push(name);
        let parent = if parent.is_empty() { "/" } else { parent };
        if let Some(real) = env.probe.canonicalize(parent) {
            rest.reverse();
            return Some(format!("{}/{}", real.trim_end_matches('/'), rest.join("/")));
        }
        if parent == "/" {
            return None;
        }
        dir = parent;
    }
    None
}

/// May the agent's mode auto-approve this write? `paths` are the tool's
/// path fields as written.
pub fn check(action: &Action, paths: &[String], scope: &EditScope, env: &Env<'_>) -> ModeCheck {
    let Some(mode) = action.permission_mode.as_deref() else { return ModeCheck::NotInMode };
    // Only the agent's own file tools (a typed write); shell commands never.
    if !matches!(action.request, Request::Write { .. }) {
        return ModeCheck::NotInMode;
    }
    let Some(g) = guard() else { return ModeCheck::NotInMode };
    let agent = action.agent.as_str();
    if !g.follow_modes.get(agent).is_some_and(|m| m.iter().any(|x| x == mode)) {
        return ModeCheck::NotInMode;
    }
    let asks = |why: String| ModeCheck::Asks { mode: mode.to_string(), why };
    if !scope.follow {
        return asks(format!("accept_edits = \"ask\" ({}) asks for every edit", scope.origin));
    }
    let Some(root) = scope.root.as_deref() else {
        return asks(format!("gate found no project working tree for {}", action.cwd));
    };
    // A tree that holds the home directory holds the user's shell start-up
    // files and every tool's config: no mode covers that.
    let homes: Vec<String> = env
        .home
        .iter()
        .flat_map(|h| [floor::normalize(h, "/", None), env.probe.canonicalize(h).unwrap_or_default()])
        .collect();
    if root == "/" || homes.iter().any(|h| !h.is_empty() && (h == root || inside(h, root))) {
        return asks(format!("the working tree {root} is / or holds the home directory"));
    }
    if paths.is_empty() {
        return asks(format!("{} names no file", action.tool));
    }
    for p in paths {
        if p.starts_with('~') {
            return asks(format!("{p} names a home directory, outside the project's working tree {root}"));
        }
        let raw = if p.starts_with('/') { p.clone() } else { format!("{}/{p}", action.cwd.trim_end_matches('/')) };
        let lexical = floor::normalize(p, &action.cwd, env.home);
        let Some(real) = landing(&raw, env) else {
            return asks(format!("gate cannot tell where a write to {lexical} lands"));
        };
        if !inside(&real, root) {
            return asks(if real == lexical {
                format!("{lexical} is outside the project's working tree {root}")
            } else {
                format!("{lexical} leads to {real}, outside the project's working tree {root}")
            });
        }
        let links = env.probe.hard_links(&real);
        if links > 1 {
            return asks(format!(
                "{real} has {links} hard links, so writing it changes the same file under names outside what the mode can check"
            ));
        }
        let mut candidates = vec![lexical.clone(), real];
        if let Some(c) = env.probe.canonicalize(&lexical) {
            candidates.push(c);
        }
        for c in &candidates {
            if let Some(why) = guarded(g, c) {
                return asks(why);
            }
        }
        if let Some(why) = floor::floor().sensitive_reason(&lexical, env) {
            return asks(format!("writing a secret: {why}"));
        }
    }
    ModeCheck::Allows { mode: mode.to_string(), root: root.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_guard_compiles() {
        let g = compile(EDIT_GUARD_TOML).expect("policies/edit_guard.toml must compile");
        for x in &g.groups {
            let matches_something = !x.names.is_empty() || !x.dirs.is_empty() || !x.paths.is_empty();
            assert!(!x.why.is_empty() && matches_something, "every guard group needs a why and a matcher");
        }
        let modes = &g.follow_modes["claude-code"];
        for never in ["plan", "default", "dontAsk", "auto"] {
            assert!(!modes.iter().any(|m| m == never), "{never} must never follow");
        }
    }

    #[test]
    fn guarded_paths() {
        let g = compile(EDIT_GUARD_TOML).unwrap();
        let cases: &[(&str, bool)] = &[
            ("/p/src/main.rs", false),
            ("/p/README.md", false),
            ("/p/docs/head.md", false),
            ("/p/.git/hooks/pre-commit", true),
            ("/p/.GIT/config", true),
            ("/p/.g\u{200c}it/config", true),
            ("/p/sub/.git", true),
            ("/p/.gitattributes", true),
            ("/p/sub/.GitAttributes", true),
            ("/p/.gitmodules", true),
            ("/p/.claude/settings.json", true),
            ("/p/.claude/commands/x.md", true),
            ("/p/.mcp.json", true),
            ("/p/.github/hooks/gate.json", true),
            ("/p/.github/workflows/ci.yml", false),
            ("/p/.vscode/tasks.json", true),
            ("/p/.envrc", true),
            ("/p/rust-toolchain.toml", true),
            ("/p/.cargo/config.toml", true),
            ("/p/.githooks/anything", true),
            ("/p/tools/post-index-change", true),
            ("/p/vendor/x/HEAD", true),
            ("/p/.gate/policy.toml", true),
            ("/p/.config/mise/config.toml", true),
            ("/p/config/mise.rs", false),
        ];
        for (path, want) in cases {
            assert_eq!(guarded(&g, path).is_some(), *want, "{path}");
        }
    }

    #[test]
    fn inside_is_strict() {
        let cases: &[(&str, &str, bool)] = &[
            ("/p/a", "/p", true),
            ("/p", "/p", false),
            ("/p/", "/p", false),
            ("/pq/a", "/p", false),
            ("/p/a/b", "/p/", true),
        ];
        for (path, root, want) in cases {
            assert_eq!(inside(path, root), *want, "{path} in {root}");
        }
    }
}
