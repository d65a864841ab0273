//! `gate install` / `gate uninstall`: hook gate into an agent's settings.
//! The agents are rows of a table ([`AGENTS`]); installing merges gate's
//! hook entries into the settings JSON without touching any other key, is
//! idempotent (an entry already there is left alone, an entry pointing at
//! an old gate binary is updated), keeps a backup, and writes atomically
//! (temp file, fsync, rename). Uninstalling removes exactly those entries.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use serde_json::{json, Map, Value};

/// Seconds an agent waits for gate before giving up on the hook. Long
/// enough for a human to answer a question in `gate watch`.
pub const HOOK_TIMEOUT_SECS: u64 = 900;

/// One agent gate can install into.
pub struct AgentSpec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// The hook events gate installs for.
    pub events: &'static [&'static str],
    /// The user-level settings file.
    pub settings: fn() -> Option<PathBuf>,
    /// Whether the agent looks installed on this machine.
    pub present: fn() -> bool,
}

pub const AGENTS: &[AgentSpec] = &[AgentSpec {
    name: "claude",
    aliases: &["claude", "claude-code"],
    events: &["PreToolUse", "PostToolUse", "PostToolUseFailure"],
    settings: claude_settings,
    present: claude_present,
}];

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

fn claude_dir() -> Option<PathBuf> {
    match std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
        Some(d) => Some(PathBuf::from(d)),
        None => home().map(|h| h.join(".claude")),
    }
}

fn claude_settings() -> Option<PathBuf> {
    claude_dir().map(|d| d.join("settings.json"))
}

fn claude_present() -> bool {
    claude_dir().is_some_and(|d| d.is_dir()) || on_path("claude")
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file())).unwrap_or(false)
}

fn spec(name: &str) -> anyhow::Result<&'static AgentSpec> {
    AGENTS.iter().find(|a| a.aliases.contains(&name)).with_context(|| {
        format!(
            "gate cannot install into {name:?} yet; supported: {}",
            AGENTS.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
        )
    })
}

/// The command line the agent runs.
fn hook_command(agent: &str) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("cannot find the gate binary's own path")?;
    let exe = exe.to_string_lossy();
    let quoted = if exe.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c)) {
        exe.into_owned()
    } else {
        format!("'{}'", exe.replace('\'', "'\\''"))
    };
    Ok(format!("{quoted} hook --agent {agent}"))
}

/// Is this hook command one of gate's?
fn is_gate_command(cmd: &str, agent: &str) -> bool {
    let cmd = cmd.trim();
    let Some(rest) = cmd.strip_suffix(&format!(" hook --agent {agent}")) else { return false };
    let program = rest.trim().trim_matches('\'').trim_matches('"');
    Path::new(program).file_name().is_some_and(|n| n == "gate")
}

pub fn run_install(agent: Option<String>, dry_run: bool) -> anyhow::Result<ExitCode> {
    let targets: Vec<&AgentSpec> = match &agent {
        Some(name) => vec![spec(name)?],
        None => AGENTS.iter().filter(|a| (a.present)()).collect(),
    };
    if targets.is_empty() {
        println!(
            "gate: no supported agent found on this machine (looked for Claude Code: ~/.claude or `claude` on PATH). \
             Run `gate install claude` to install anyway."
        );
        return Ok(ExitCode::SUCCESS);
    }
    for a in targets {
        let path = (a.settings)().context("cannot find the home directory (HOME is not set)")?;
        let command = hook_command(a.name)?;
        let before = read_settings(&path)?;
        let mut after = before.clone().unwrap_or_else(|| Value::Object(Map::new()));
        let changed = add_hooks(&mut after, a.events, &command, a.name)?;
        if !changed {
            println!("{}: gate is already installed in {}; nothing to do", a.name, path.display());
            continue;
        }
        if dry_run {
            println!("{}: would write {}:\n{}", a.name, path.display(), serde_json::to_string_pretty(&after)?);
            continue;
        }
        let backup = write_settings(&path, before.is_some(), &after)?;
        println!(
            "{}: installed gate for {} in {}{}",
            a.name,
            a.events.join(", "),
            path.display(),
            backup.map(|b| format!(" (backup: {})", b.display())).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_uninstall(agent: &str) -> anyhow::Result<ExitCode> {
    let a = spec(agent)?;
    let path = (a.settings)().context("cannot find the home directory (HOME is not set)")?;
    let Some(before) = read_settings(&path)? else {
        println!("{}: {} does not exist; nothing to remove", a.name, path.display());
        return Ok(ExitCode::SUCCESS);
    };
    let mut after = before.clone();
    let removed = remove_hooks(&mut after, a.name);
    if removed == 0 {
        println!("{}: gate is not installed in {}; nothing to remove", a.name, path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let backup = write_settings(&path, true, &after)?;
    println!(
        "{}: removed {removed} gate hook entr{} from {}{}",
        a.name,
        if removed == 1 { "y" } else { "ies" },
        path.display(),
        backup.map(|b| format!(" (backup: {})", b.display())).unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

fn read_settings(path: &Path) -> anyhow::Result<Option<Value>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}:{}: not valid JSON ({e}); fix the file or move it aside, then run gate install again",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if !v.is_object() {
        bail!("{}: the settings are not a JSON object; fix the file, then run gate install again", path.display());
    }
    Ok(Some(v))
}

/// Add gate's entry to each event. Returns whether anything changed.
pub fn add_hooks(settings: &mut Value, events: &[&str], command: &str, agent: &str) -> anyhow::Result<bool> {
    let root = settings.as_object_mut().context("settings are not a JSON object")?;
    let hooks = root.entry("hooks").or_insert_with(|| Value::Object(Map::new()));
    let hooks = hooks.as_object_mut().context("settings.hooks is not an object")?;
    let mut changed = false;
    for event in events {
        let groups = hooks.entry(event.to_string()).or_insert_with(|| Value::Array(Vec::new()));
        let groups = groups.as_array_mut().with_context(|| format!("settings.hooks.{event} is not an array"))?;
        let mut found = false;
        for group in groups.iter_mut() {
            let Some(entries) = group.get_mut("hooks").and_then(Value::as_array_mut) else { continue };
            for entry in entries.iter_mut() {
                let Some(cmd) = entry.get("command").and_then(Value::as_str) else { continue };
                if !is_gate_command(cmd, agent) {
                    continue;
                }
                found = true;
                let want_timeout = json!(HOOK_TIMEOUT_SECS);
                if cmd != command || entry.get("timeout") != Some(&want_timeout) {
                    entry["command"] = json!(command);
                    entry["timeout"] = want_timeout;
                    changed = true;
                }
            }
        }
        if !found {
            groups.push(json!({
                "matcher": "*",
                "hooks": [{ "type": "command", "command": command, "timeout": HOOK_TIMEOUT_SECS }]
            }));
            changed = true;
        }
    }
    Ok(changed)
}

/// Remove gate's entries, and any group or event they leave empty.
pub fn remove_hooks(settings: &mut Value, agent: &str) -> usize {
    let mut removed = 0;
    let Some(hooks) = settings.get_mut("hooks").and_then(Value::as_object_mut) else { return 0 };
    for groups in hooks.values_mut() {
        let Some(groups) = groups.as_array_mut() else { continue };
        for group in groups.iter_mut() {
            let Some(entries) = group.get_mut("hooks").and_then(Value::as_array_mut) else { continue };
            let before = entries.len();
            entries.retain(|e| !e.get("command").and_then(Value::as_str).is_some_and(|c| is_gate_command(c, agent)));
            removed += before - entries.len();
        }
        groups.retain(|g| g.get("hooks").and_then(Value::as_array).is_none_or(|e| !e.is_empty()));
    }
    hooks.retain(|_, g| g.as_array().is_none_or(|a| !a.is_empty()));
    if hooks.is_empty() {
        if let Some(root) = settings.as_object_mut() {
            root.remove("hooks");
        }
    }
    removed
}

/// Write atomically, keeping a backup of the previous file. Returns the backup path.
fn write_settings(path: &Path, existed: bool, value: &Value) -> anyhow::Result<Option<PathBuf>> {
    let dir = path.parent().context("settings path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let backup = if existed {
        let b = PathBuf::from(format!("{}.gate-backup", path.display()));
        std::fs::copy(path, &b).with_context(|| format!("cannot back up {} to {}", path.display(), b.display()))?;
        Some(b)
    } else {
        None
    };
    let tmp = dir.join(format!(
        ".{}.gate-tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("settings"),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        let mut text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
        text.push('\n');
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(backup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_gate_commands() {
        let cases: &[(&str, bool)] = &[
            ("/usr/local/bin/gate hook --agent claude", true),
            ("'/home/a b/gate' hook --agent claude", true),
            ("gate hook --agent claude", true),
            ("/usr/bin/notgate hook --agent claude", false),
            ("gate hook --agent codex", false),
            ("echo gate hook --agent claude; gate", false),
        ];
        for (cmd, want) in cases {
            assert_eq!(is_gate_command(cmd, "claude"), *want, "{cmd}");
        }
    }

    #[test]
    fn add_then_remove_restores_the_settings() {
        let original = json!({"model": "x", "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "other"}]}]}});
        let mut s = original.clone();
        assert!(add_hooks(&mut s, &["PreToolUse", "PostToolUse"], "/bin/gate hook --agent claude", "claude").unwrap());
        assert!(!add_hooks(&mut s, &["PreToolUse", "PostToolUse"], "/bin/gate hook --agent claude", "claude").unwrap());
        assert_eq!(remove_hooks(&mut s, "claude"), 2);
        assert_eq!(s, original);
    }
}
