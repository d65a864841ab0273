//! `gate install` / `gate uninstall`: hook gate into each agent's user
//! settings, as its adapter's [`InstallSpec`] says. Installing merges gate's
//! hook entries into the settings JSON without touching any other key, is
//! idempotent (an entry already there is left alone, an entry pointing at
//! an old gate binary is updated), keeps the pre-install backup (a second
//! install never overwrites it), and writes atomically (temp file, fsync,
//! rename). Agents that need more get it here too: Codex's trust entries
//! for gate's hooks, Gemini's policy that hands decisions to gate.
//! Uninstalling removes exactly what was added.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use serde_json::{json, Map, Value};

use crate::hook::install::Extra;
use crate::hook::{Adapter, HookShape, InstallSpec, ADAPTERS};

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// The agent's user directory: its own variable, else under HOME.
pub fn agent_dir(spec: &InstallSpec) -> Option<PathBuf> {
    let var = |v: Option<&str>| v.and_then(std::env::var_os).filter(|d| !d.is_empty()).map(PathBuf::from);
    match (var(spec.dir_env), var(spec.home_env)) {
        (Some(d), _) => Some(d),
        (None, Some(h)) => Some(h.join(spec.dir)),
        (None, None) => home().map(|h| h.join(spec.dir)),
    }
}

/// The settings file gate's hooks go in.
pub fn settings_path(spec: &InstallSpec) -> anyhow::Result<PathBuf> {
    agent_dir(spec).map(|d| d.join(spec.settings)).context("cannot find the home directory (HOME is not set)")
}

/// The first of the agent's programs found on PATH.
pub fn program_on_path(spec: &InstallSpec) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|d| spec.programs.iter().map(move |p| d.join(p))).find(|p| p.is_file())
}

/// Does the agent look installed here (its directory, or its program on PATH)?
pub fn present(spec: &InstallSpec) -> bool {
    agent_dir(spec).is_some_and(|d| d.is_dir()) || program_on_path(spec).is_some()
}

fn find_adapter(name: &str) -> anyhow::Result<&'static dyn Adapter> {
    crate::hook::agent_from_flag(name).and_then(crate::hook::adapter).with_context(|| {
        format!(
            "gate cannot install into {name:?} yet; supported: {}",
            ADAPTERS.iter().map(|a| a.names()[0]).collect::<Vec<_>>().join(", ")
        )
    })
}

/// The command line the agent runs.
pub fn hook_command(agent: &str) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("cannot find the gate binary's own path")?;
    let exe = exe.to_string_lossy();
    let quoted = if exe.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c)) {
        exe.into_owned()
    } else {
        format!("'{}'", exe.replace('\'', "'\\''"))
    };
    Ok(format!("{quoted} hook --agent {agent}"))
}

/// Is this hook command one of gate's, for `agent`?
pub fn is_gate_command(cmd: &str, agent: &str) -> bool {
    let cmd = cmd.trim();
    let Some(rest) = cmd.strip_suffix(&format!(" hook --agent {agent}")) else { return false };
    let program = rest.trim().trim_matches('\'').trim_matches('"');
    Path::new(program).file_name().is_some_and(|n| n == "gate")
}

pub fn run_install(agent: Option<String>, dry_run: bool) -> anyhow::Result<ExitCode> {
    let targets: Vec<&'static dyn Adapter> = match &agent {
        Some(name) => vec![find_adapter(name)?],
        None => ADAPTERS.iter().copied().filter(|a| present(&a.install_spec())).collect(),
    };
    if targets.is_empty() {
        let looked: Vec<String> = ADAPTERS
            .iter()
            .map(|a| {
                let s = a.install_spec();
                format!("{} (~/{} or `{}` on PATH)", s.display, s.dir, s.programs.join("`/`"))
            })
            .collect();
        println!(
            "gate: no supported agent found on this machine; looked for {}. Run `gate install <agent>` to install anyway.",
            looked.join(", ")
        );
        return Ok(ExitCode::SUCCESS);
    }
    for a in targets {
        install_one(a, dry_run)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn install_one(a: &dyn Adapter, dry_run: bool) -> anyhow::Result<()> {
    let spec = a.install_spec();
    let name = a.names()[0];
    let path = settings_path(&spec)?;
    let command = hook_command(name)?;
    if spec.shape == HookShape::Yaml {
        return install_yaml(&spec, &path, &command, name, dry_run);
    }
    let before = read_settings(&path)?;
    let mut after = before.clone().unwrap_or_else(|| Value::Object(Map::new()));
    let changed = add_hooks(&mut after, &spec, &command, name)?;
    if dry_run {
        if changed {
            println!("{name}: would write {}:\n{}", path.display(), serde_json::to_string_pretty(&after)?);
        } else {
            println!("{name}: gate is already installed in {}; nothing to do", path.display());
        }
        return Ok(());
    }
    if changed {
        // Only a file without gate in it is a pre-install state worth a backup.
        let pre_install = before.as_ref().is_some_and(|b| gate_handlers(b, name).is_empty());
        let backup = write_settings(&path, pre_install, &after)?;
        println!(
            "{name}: installed gate for {} in {}{}",
            spec.events.join(", "),
            path.display(),
            backup.map(|b| format!(" (backup of the original: {})", b.display())).unwrap_or_default()
        );
    } else {
        println!("{name}: gate is already installed in {}; nothing to do", path.display());
    }
    match spec.extra {
        Extra::None => {}
        Extra::CodexTrust => trust_codex_hooks(&spec, &path, &after, name)?,
        Extra::GeminiPolicy => write_gemini_policy(&spec)?,
        Extra::HermesConsent => {}
    }
    Ok(())
}

/// `gate uninstall [AGENT]`: one agent, or every agent gate is installed in.
pub fn run_uninstall(agent: Option<String>) -> anyhow::Result<ExitCode> {
    if let Some(name) = agent {
        uninstall_one(find_adapter(&name)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut any = false;
    for a in ADAPTERS.iter().copied() {
        if installed_in(a)? {
            uninstall_one(a)?;
            any = true;
        }
    }
    if !any {
        println!("gate: gate is not installed in any agent; nothing to remove");
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether the agent's settings carry one of gate's hooks.
fn installed_in(a: &dyn Adapter) -> anyhow::Result<bool> {
    let spec = a.install_spec();
    let name = a.names()[0];
    let path = settings_path(&spec)?;
    if spec.shape == HookShape::Yaml {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        return Ok(!yaml_hooked(&text).is_empty());
    }
    // A file that cannot be read or parsed is reported by `gate uninstall <agent>`, not guessed at here.
    Ok(read_settings(&path).ok().flatten().is_some_and(|s| !gate_handlers(&s, name).is_empty()))
}

fn uninstall_one(a: &dyn Adapter) -> anyhow::Result<()> {
    let spec = a.install_spec();
    let name = a.names()[0];
    let path = settings_path(&spec)?;
    if spec.shape == HookShape::Yaml {
        return uninstall_yaml(&spec, &path, name);
    }
    let Some(before) = read_settings(&path)? else {
        println!("{name}: {} does not exist; nothing to remove", path.display());
        return Ok(());
    };
    let mut after = before.clone();
    let removed = remove_hooks(&mut after, name);
    if removed == 0 {
        println!("{name}: gate is not installed in {}; nothing to remove", path.display());
    } else {
        let how = restore_settings(&path, &after)?;
        println!(
            "{name}: removed {removed} gate hook entr{} from {}{how}",
            if removed == 1 { "y" } else { "ies" },
            path.display(),
        );
    }
    match spec.extra {
        Extra::None => {}
        Extra::CodexTrust => untrust_codex_hooks(&spec, &path, &before, name)?,
        Extra::GeminiPolicy => remove_gemini_policy(&spec)?,
        Extra::HermesConsent => {}
    }
    Ok(())
}

/// Write what is left of a file once gate's part is gone, as it was
/// before `gate install`: the pre-install backup itself when nothing else
/// changed since (the backup has then done its job and goes), no file at
/// all when install created it and nothing else was added, else the rest
/// (the backup, if any, stays untouched). Says which, for the message.
fn restore_file(path: &Path, rest: &str, same: impl Fn(&str) -> bool, empty: bool) -> anyhow::Result<&'static str> {
    let backup = PathBuf::from(format!("{}.gate-backup", path.display()));
    match std::fs::read_to_string(&backup).ok() {
        Some(original) if same(&original) => {
            std::fs::rename(&backup, path)
                .with_context(|| format!("cannot restore {} from {}", path.display(), backup.display()))?;
            Ok("; restored the file as it was before `gate install`")
        }
        None if empty => {
            std::fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
            Ok("; removed the file, which `gate install` had created")
        }
        _ => {
            write_file(path, false, rest)?;
            Ok("")
        }
    }
}

fn restore_settings(path: &Path, after: &Value) -> anyhow::Result<&'static str> {
    let rest = format!("{}\n", serde_json::to_string_pretty(after)?);
    let same = |original: &str| serde_json::from_str::<Value>(original).ok().as_ref() == Some(after);
    restore_file(path, &rest, same, is_empty_settings(after))
}

/// Settings with nothing in them but what gate's install adds (`version`, for the flat shape).
fn is_empty_settings(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.keys().all(|k| k == "version") && o.get("version").is_none_or(|v| v == &json!(1)))
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

/// The timeout the agent reads, in its unit.
fn timeout_value(spec: &InstallSpec) -> Value {
    match spec.shape {
        HookShape::Nested { timeout_ms: true, .. } => json!(spec.timeout_secs * 1000),
        _ => json!(spec.timeout_secs),
    }
}

/// The key a handler's command sits under (`command`, or Copilot's `bash`).
pub fn handler_command(h: &Value) -> Option<&str> {
    h.get("command").or_else(|| h.get("bash")).and_then(Value::as_str)
}

/// A handler's timeout as written, and its unit's divisor to seconds.
pub fn handler_timeout_secs(spec: &InstallSpec, h: &Value) -> u64 {
    let (key, per_sec) = match spec.shape {
        HookShape::Nested { timeout_ms, .. } => ("timeout", if timeout_ms { 1000 } else { 1 }),
        HookShape::Flat { timeout_key, .. } => (timeout_key, 1),
        HookShape::Yaml => ("timeout", 1),
    };
    h.get(key).and_then(Value::as_u64).unwrap_or(0) / per_sec
}

/// gate's hook entry for one event.
fn entry(spec: &InstallSpec, command: &str) -> Value {
    let mut hook = Map::new();
    match spec.shape {
        HookShape::Nested { matcher, named, .. } => {
            if named {
                hook.insert("name".into(), json!("gate"));
            }
            hook.insert("type".into(), json!("command"));
            hook.insert("command".into(), json!(command));
            hook.insert("timeout".into(), timeout_value(spec));
            json!({ "matcher": matcher, "hooks": [Value::Object(hook)] })
        }
        HookShape::Flat { command_key, timeout_key, typed, fail_closed } => {
            if typed {
                hook.insert("type".into(), json!("command"));
            }
            hook.insert(command_key.into(), json!(command));
            hook.insert(timeout_key.into(), timeout_value(spec));
            if fail_closed {
                hook.insert("failClosed".into(), json!(true));
            }
            Value::Object(hook)
        }
        HookShape::Yaml => Value::Null,
    }
}

/// The handlers of one event's list: a nested group's `hooks`, or a flat entry itself.
fn handlers_mut(group: &mut Value) -> Vec<&mut Value> {
    if group.get("hooks").is_some_and(Value::is_array) {
        group["hooks"].as_array_mut().map(|a| a.iter_mut().collect()).unwrap_or_default()
    } else {
        vec![group]
    }
}

/// Add gate's entry to each event. Returns whether anything changed.
pub fn add_hooks(settings: &mut Value, spec: &InstallSpec, command: &str, agent: &str) -> anyhow::Result<bool> {
    let root = settings.as_object_mut().context("settings are not a JSON object")?;
    let mut changed = false;
    if matches!(spec.shape, HookShape::Flat { .. }) && !root.contains_key("version") {
        root.insert("version".into(), json!(1));
        changed = true;
    }
    let hooks = root.entry("hooks").or_insert_with(|| Value::Object(Map::new()));
    let hooks = hooks.as_object_mut().context("settings.hooks is not an object")?;
    let timeout_key = match spec.shape {
        HookShape::Flat { timeout_key, .. } => timeout_key,
        _ => "timeout",
    };
    for event in spec.events {
        let groups = hooks.entry(event.to_string()).or_insert_with(|| Value::Array(Vec::new()));
        let groups = groups.as_array_mut().with_context(|| format!("settings.hooks.{event} is not an array"))?;
        let mut found = false;
        for group in groups.iter_mut() {
            for h in handlers_mut(group) {
                let Some(cmd) = handler_command(h).map(str::to_string) else { continue };
                if !is_gate_command(&cmd, agent) {
                    continue;
                }
                found = true;
                let key = if h.get("bash").is_some() { "bash" } else { "command" };
                if cmd != command || h.get(timeout_key) != Some(&timeout_value(spec)) {
                    h[key] = json!(command);
                    h[timeout_key] = timeout_value(spec);
                    changed = true;
                }
            }
        }
        if !found {
            groups.push(entry(spec, command));
            changed = true;
        }
    }
    Ok(changed)
}

/// Remove gate's entries, and any group or event they leave empty.
pub fn remove_hooks(settings: &mut Value, agent: &str) -> usize {
    let mut removed = 0;
    let Some(hooks) = settings.get_mut("hooks").and_then(Value::as_object_mut) else { return 0 };
    let is_gate = |h: &Value| handler_command(h).is_some_and(|c| is_gate_command(c, agent));
    for groups in hooks.values_mut() {
        let Some(groups) = groups.as_array_mut() else { continue };
        let before = groups.len();
        groups.retain(|g| !is_gate(g));
        removed += before - groups.len();
        for group in groups.iter_mut() {
            let Some(entries) = group.get_mut("hooks").and_then(Value::as_array_mut) else { continue };
            let before = entries.len();
            entries.retain(|e| !is_gate(e));
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

/// Where gate's own handlers sit: (event, group index, handler index, handler).
pub fn gate_handlers<'a>(settings: &'a Value, agent: &str) -> Vec<(String, usize, usize, &'a Value)> {
    let mut out = Vec::new();
    let Some(hooks) = settings.get("hooks").and_then(Value::as_object) else { return out };
    for (event, groups) in hooks {
        for (gi, group) in groups.as_array().into_iter().flatten().enumerate() {
            let handlers: Vec<&Value> = match group.get("hooks").and_then(Value::as_array) {
                Some(a) => a.iter().collect(),
                None => vec![group],
            };
            for (hi, h) in handlers.into_iter().enumerate() {
                if handler_command(h).is_some_and(|c| is_gate_command(c, agent)) {
                    out.push((event.clone(), gi, hi, h));
                }
            }
        }
    }
    out
}

/// Write atomically. The first write over an existing file keeps it as
/// `<file>.gate-backup`; later writes leave that pre-install backup alone.
/// Returns the backup path when there is one.
fn write_settings(path: &Path, existed: bool, value: &Value) -> anyhow::Result<Option<PathBuf>> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_file(path, existed, &text)
}

fn write_file(path: &Path, existed: bool, text: &str) -> anyhow::Result<Option<PathBuf>> {
    let dir = path.parent().context("settings path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let backup = PathBuf::from(format!("{}.gate-backup", path.display()));
    let backup = if existed {
        if !backup.exists() {
            std::fs::copy(path, &backup)
                .with_context(|| format!("cannot back up {} to {}", path.display(), backup.display()))?;
        }
        Some(backup)
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

/// Codex's name for a hook event in its trust keys and hashes (`pre_tool_use`).
pub fn snake(event: &str) -> String {
    let mut out = String::new();
    for (i, c) in event.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The hash Codex 0.169 trusts a hook by: SHA-256 over the compact,
/// key-sorted JSON of the handler's identity (event, matcher, and the
/// handler with its defaults filled in). Checked against the hashes Codex
/// itself lists for the same entries.
pub fn codex_trust_hash(event: &str, matcher: Option<&str>, handler: &Value) -> String {
    use sha2::Digest;
    let mut h = Map::new();
    // Keys in sorted order: serde_json keeps insertion order here.
    h.insert("async".into(), json!(handler.get("async").and_then(Value::as_bool).unwrap_or(false)));
    h.insert("command".into(), handler.get("command").cloned().unwrap_or(Value::Null));
    if let Some(m) = handler.get("statusMessage") {
        h.insert("statusMessage".into(), m.clone());
    }
    h.insert("timeout".into(), json!(handler.get("timeout").and_then(Value::as_u64).unwrap_or(600).max(1)));
    h.insert("type".into(), json!("command"));
    let mut ident = Map::new();
    ident.insert("event_name".into(), json!(snake(event)));
    ident.insert("hooks".into(), json!([Value::Object(h)]));
    if let Some(m) = matcher {
        ident.insert("matcher".into(), json!(m));
    }
    let text = Value::Object(ident).to_string();
    let digest = sha2::Sha256::digest(text.as_bytes());
    format!("sha256:{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// One trust entry gate's hook in `hooks_path` needs.
pub struct TrustEntry {
    /// The hook's event, as in hooks.json (`PreToolUse`).
    pub event: String,
    /// The `[hooks.state."<key>"]` table name.
    pub key: String,
    /// Its `trusted_hash`.
    pub hash: String,
}

/// The trust entries gate's hooks in `hooks_path` need.
pub fn codex_trust_entries(hooks_path: &Path, settings: &Value, agent: &str) -> Vec<TrustEntry> {
    gate_handlers(settings, agent)
        .into_iter()
        .map(|(event, gi, hi, handler)| {
            let matcher = settings["hooks"][&event][gi].get("matcher").and_then(Value::as_str);
            let key = format!("{}:{}:{gi}:{hi}", hooks_path.display(), snake(&event));
            let hash = codex_trust_hash(&event, matcher, handler);
            TrustEntry { event, key, hash }
        })
        .collect()
}

fn read_toml_doc(path: &Path) -> anyhow::Result<(bool, toml_edit::DocumentMut)> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let doc = text.parse::<toml_edit::DocumentMut>().map_err(|e| {
                let at = e
                    .span()
                    .map(|s| {
                        let line = text[..s.start].matches('\n').count() + 1;
                        let col = s.start - text[..s.start].rfind('\n').map_or(0, |i| i + 1) + 1;
                        format!(":{line}:{col}")
                    })
                    .unwrap_or_default();
                anyhow::anyhow!(
                    "{}{at}: not valid TOML ({}); fix the file, then run gate install again",
                    path.display(),
                    e.message()
                )
            })?;
            Ok((true, doc))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((false, toml_edit::DocumentMut::new())),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// The `hooks.state` table of Codex's config, created when missing.
fn hook_state(doc: &mut toml_edit::DocumentMut) -> anyhow::Result<&mut toml_edit::Table> {
    let hooks = doc
        .entry("hooks")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .context("`hooks` in Codex's config.toml is not a table")?;
    hooks
        .entry("state")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .context("`hooks.state` in Codex's config.toml is not a table")
}

/// Trust gate's own hooks in Codex's config.toml, so Codex runs them
/// (`codex exec` skips untrusted hooks silently). Re-run after any change
/// to gate's entries, whose hash then changes.
fn trust_codex_hooks(spec: &InstallSpec, hooks_path: &Path, settings: &Value, agent: &str) -> anyhow::Result<()> {
    let config = agent_dir(spec).context("cannot find Codex's directory")?.join("config.toml");
    let (existed, mut doc) = read_toml_doc(&config)?;
    let entries = codex_trust_entries(hooks_path, settings, agent);
    let state = hook_state(&mut doc)?;
    let prefix = format!("{}:", hooks_path.display());
    let mut changed = false;
    for TrustEntry { key, hash, .. } in &entries {
        let current = state.get(key).and_then(|t| t.get("trusted_hash")).and_then(|h| h.as_str());
        if current != Some(hash.as_str()) {
            let mut t = toml_edit::Table::new();
            t.insert("trusted_hash", toml_edit::value(hash.as_str()));
            state.insert(key, toml_edit::Item::Table(t));
            changed = true;
        }
    }
    // A trust entry for a gate hook that is no longer where it was.
    let stale: Vec<String> = state
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| k.starts_with(&prefix) && !entries.iter().any(|e| e.key == *k) && gate_key(k, settings, agent))
        .collect();
    for k in stale {
        state.remove(&k);
        changed = true;
    }
    if changed {
        write_file(&config, existed, &doc.to_string())?;
        println!(
            "codex: trusted gate's {} hook{} in {} (Codex runs only hooks you trust; this is the entry /hooks would write)",
            entries.len(),
            if entries.len() == 1 { "" } else { "s" },
            config.display()
        );
    } else {
        println!("codex: gate's hooks are already trusted in {}", config.display());
    }
    Ok(())
}

/// Was this trust key one of gate's (its position held a gate handler, or holds nothing now)?
fn gate_key(key: &str, settings: &Value, agent: &str) -> bool {
    let mut parts = key.rsplitn(4, ':');
    let (Some(hi), Some(gi), Some(event)) = (parts.next(), parts.next(), parts.next()) else { return false };
    let (Ok(gi), Ok(hi)) = (gi.parse::<usize>(), hi.parse::<usize>()) else { return false };
    let Some(hooks) = settings.get("hooks").and_then(Value::as_object) else { return true };
    let Some((_, groups)) = hooks.iter().find(|(e, _)| snake(e) == event) else { return true };
    match groups.get(gi).and_then(|g| g.get("hooks")).and_then(|h| h.get(hi)) {
        None => true,
        Some(h) => h.get("command").and_then(Value::as_str).is_some_and(|c| is_gate_command(c, agent)),
    }
}

fn untrust_codex_hooks(spec: &InstallSpec, hooks_path: &Path, before: &Value, agent: &str) -> anyhow::Result<()> {
    let config = agent_dir(spec).context("cannot find Codex's directory")?.join("config.toml");
    let (existed, mut doc) = read_toml_doc(&config)?;
    if !existed {
        return Ok(());
    }
    let keys: Vec<String> = codex_trust_entries(hooks_path, before, agent).into_iter().map(|e| e.key).collect();
    let state = hook_state(&mut doc)?;
    let mut removed = 0;
    for k in &keys {
        if state.remove(k).is_some() {
            removed += 1;
        }
    }
    if removed > 0 {
        // The tables gate's trust entries needed go too, once empty.
        if state.is_empty() {
            if let Some(hooks) = doc.get_mut("hooks").and_then(|h| h.as_table_mut()) {
                hooks.remove("state");
                if hooks.is_empty() {
                    doc.remove("hooks");
                }
            }
        }
        let rest = doc.to_string();
        let same = |original: &str| original.parse::<toml_edit::DocumentMut>().is_ok_and(|o| o.to_string() == rest);
        let how = restore_file(&config, &rest, same, rest.trim().is_empty())?;
        println!(
            "codex: removed {removed} trust entr{} for gate's hooks from {}{how}",
            if removed == 1 { "y" } else { "ies" },
            config.display()
        );
    }
    Ok(())
}

/// Gemini's policy file that hands tool decisions to gate's hook.
fn gemini_policy_path(spec: &InstallSpec) -> anyhow::Result<PathBuf> {
    Ok(agent_dir(spec).context("cannot find Gemini's directory")?.join("policies/gate.toml"))
}

/// The policy gate writes for Gemini (see `write_gemini_policy`).
pub const GEMINI_POLICY: &str = include_str!("../../hooks/gemini-policy.toml");

/// Gemini's own policy engine still confirms after a hook's allow. This
/// policy lets every tool through Gemini's engine, so that gate (whose
/// BeforeTool hook runs first for every call) is the one authority:
/// what gate allows runs, what it denies does not, and what it asks goes
/// to `gate watch`.
fn write_gemini_policy(spec: &InstallSpec) -> anyhow::Result<()> {
    let path = gemini_policy_path(spec)?;
    if std::fs::read_to_string(&path).is_ok_and(|t| t == GEMINI_POLICY) {
        println!("gemini: gate's policy is already in {}", path.display());
        return Ok(());
    }
    let existed = path.exists();
    write_file(&path, existed, GEMINI_POLICY)?;
    println!(
        "gemini: wrote {}, which lets gate's BeforeTool hook decide every tool call instead of Gemini's own confirmation",
        path.display()
    );
    Ok(())
}

fn remove_gemini_policy(spec: &InstallSpec) -> anyhow::Result<()> {
    let path = gemini_policy_path(spec)?;
    match std::fs::read_to_string(&path) {
        Ok(t) if t == GEMINI_POLICY => {
            std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            println!("gemini: removed {}", path.display());
        }
        Ok(_) => println!("gemini: {} was changed since gate wrote it; left in place", path.display()),
        Err(_) => {}
    }
    Ok(())
}

/// The first and last lines of the block gate owns in a YAML config.
const YAML_BEGIN: &str = "# gate: begin (written by `gate install`; `gate uninstall` removes this block)";
const YAML_END: &str = "# gate: end";

/// gate's `hooks:` block for a YAML config (Hermes). Hermes splits the
/// command with shlex and runs it without a shell, which the quoting of
/// [`hook_command`] suits.
fn yaml_block(spec: &InstallSpec, command: &str) -> String {
    let quoted = serde_json::to_string(command).unwrap_or_default();
    let mut out = format!("{YAML_BEGIN}\nhooks:\n");
    for event in spec.events {
        out.push_str(&format!(
            "  {event}:\n    - matcher: \".*\"\n      command: {quoted}\n      timeout: {}\n",
            spec.timeout_secs
        ));
    }
    out.push_str(YAML_END);
    out.push('\n');
    out
}

/// The text before, inside and after gate's block, if there is one.
fn yaml_split(text: &str) -> Option<(&str, &str, &str)> {
    let start = text.find(YAML_BEGIN)?;
    let end = text[start..].find(YAML_END)? + start + YAML_END.len();
    let end = if text[end..].starts_with('\n') { end + 1 } else { end };
    Some((&text[..start], &text[start..end], &text[end..]))
}

/// The gate commands the YAML block hooks, per event: (event, command, timeout).
pub fn yaml_hooked(text: &str) -> Vec<(String, String, u64)> {
    let Some((_, block, _)) = yaml_split(text) else { return Vec::new() };
    let mut out = Vec::new();
    let mut event = String::new();
    for line in block.lines() {
        let t = line.trim();
        if line.starts_with("  ") && !line.starts_with("    ") && t.ends_with(':') {
            event = t.trim_end_matches(':').to_string();
        } else if let Some(c) = t.strip_prefix("command: ") {
            let cmd = serde_json::from_str::<String>(c).unwrap_or_else(|_| c.to_string());
            out.push((event.clone(), cmd, 0));
        } else if let (Some(t), Some(last)) = (t.strip_prefix("timeout: "), out.last_mut()) {
            last.2 = t.parse().unwrap_or(0);
        }
    }
    out
}

fn install_yaml(spec: &InstallSpec, path: &Path, command: &str, name: &str, dry_run: bool) -> anyhow::Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let block = yaml_block(spec, command);
    let current = text.as_deref().unwrap_or("");
    let new_text = match yaml_split(current) {
        Some((_, old, _)) if old == block => None,
        Some((before, _, after)) => Some(format!("{before}{block}{after}")),
        None if current.lines().any(|l| l.starts_with("hooks:")) => bail!(
            "{}: already has a `hooks:` section, which gate will not rewrite; add these entries under it by hand, \
             then run `gate install {name}` again to record your consent:\n{}",
            path.display(),
            block.lines().skip(2).take_while(|l| *l != YAML_END).collect::<Vec<_>>().join("\n")
        ),
        None => {
            let sep = if current.is_empty() || current.ends_with('\n') { "" } else { "\n" };
            Some(format!("{current}{sep}{block}"))
        }
    };
    if dry_run {
        match &new_text {
            Some(t) => println!("{name}: would write {}:\n{t}", path.display()),
            None => println!("{name}: gate is already installed in {}; nothing to do", path.display()),
        }
        return Ok(());
    }
    match new_text {
        Some(t) => {
            let backup = write_file(path, text.is_some(), &t)?;
            println!(
                "{name}: installed gate for {} in {}{}",
                spec.events.join(", "),
                path.display(),
                backup.map(|b| format!(" (backup of the original: {})", b.display())).unwrap_or_default()
            );
        }
        None => println!("{name}: gate is already installed in {}; nothing to do", path.display()),
    }
    record_hermes_consent(spec, command)
}

fn uninstall_yaml(spec: &InstallSpec, path: &Path, name: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    match yaml_split(&text) {
        Some((before, _, after)) => {
            let rest = format!("{before}{after}");
            let how = restore_file(path, &rest, |original| original == rest, rest.trim().is_empty())?;
            println!("{name}: removed gate's hooks from {}{how}", path.display());
        }
        None => println!("{name}: gate is not installed in {}; nothing to remove", path.display()),
    }
    forget_hermes_consent(spec)
}

/// Hermes' record of the hooks the user consented to.
fn hermes_allowlist(spec: &InstallSpec) -> anyhow::Result<PathBuf> {
    Ok(agent_dir(spec).context("cannot find Hermes' directory")?.join("shell-hooks-allowlist.json"))
}

/// Change the allowlist under Hermes' own lock file, as Hermes does.
fn with_allowlist(spec: &InstallSpec, change: impl FnOnce(&mut Vec<Value>) -> bool) -> anyhow::Result<bool> {
    use std::os::unix::io::AsRawFd;
    let path = hermes_allowlist(spec)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    // SAFETY: flock on a descriptor this function owns for its whole run.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        bail!("cannot lock {}", lock_path.display());
    }
    let existed = path.exists();
    let mut doc: Value = match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => serde_json::from_str(&t).map_err(|e| {
            anyhow::anyhow!("{}:{}:{}: not valid JSON ({e}); fix or remove it", path.display(), e.line(), e.column())
        })?,
        _ => json!({"approvals": []}),
    };
    let approvals = doc
        .as_object_mut()
        .context("the allowlist is not a JSON object")?
        .entry("approvals")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .context("`approvals` is not a list")?;
    let changed = change(approvals);
    if changed {
        let mut text = serde_json::to_string_pretty(&doc)?;
        text.push('\n');
        write_file(&path, existed, &text)?;
    }
    Ok(changed)
}

/// Hermes skips a hook silently until the user consents to it (or asks on
/// a terminal). Installing gate is that consent: record it for gate's own
/// command and events, as Hermes records an answered prompt.
fn record_hermes_consent(spec: &InstallSpec, command: &str) -> anyhow::Result<()> {
    let now = crate::clock::format_ms(crate::clock::now_ms());
    let changed = with_allowlist(spec, |approvals| {
        approvals.retain(|a| {
            let c = a.get("command").and_then(Value::as_str).unwrap_or("");
            !(is_gate_command(c, "hermes") && c != command)
        });
        let mut changed = false;
        for event in spec.events {
            let have = approvals.iter().any(|a| a["event"] == *event && a["command"] == command);
            if !have {
                approvals.push(json!({"event": event, "command": command, "approved_at": now,
                                      "script_mtime_at_approval": now}));
                changed = true;
            }
        }
        changed
    })?;
    let path = hermes_allowlist(spec)?;
    if changed {
        println!(
            "hermes: recorded your consent to gate's hooks in {} (what answering `y` at Hermes' prompt records; `hermes hooks revoke` undoes it)",
            path.display()
        );
    } else {
        println!("hermes: gate's hooks are already consented to in {}", path.display());
    }
    Ok(())
}

fn forget_hermes_consent(spec: &InstallSpec) -> anyhow::Result<()> {
    if !hermes_allowlist(spec)?.exists() {
        return Ok(());
    }
    let changed = with_allowlist(spec, |approvals| {
        let before = approvals.len();
        approvals.retain(|a| !is_gate_command(a.get("command").and_then(Value::as_str).unwrap_or(""), "hermes"));
        approvals.len() != before
    })?;
    if changed {
        println!("hermes: removed the consent to gate's hooks");
    }
    Ok(())
}

/// Whether Hermes has the user's consent for each of gate's hooks.
pub fn hermes_consented(spec: &InstallSpec, command: &str) -> bool {
    let Ok(path) = hermes_allowlist(spec) else { return false };
    let doc: Value =
        std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null);
    let approvals = doc["approvals"].as_array().cloned().unwrap_or_default();
    spec.events.iter().all(|e| approvals.iter().any(|a| a["event"] == *e && a["command"] == command))
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
        let spec = crate::hook::adapter(crate::action::Agent::ClaudeCode).unwrap().install_spec();
        let original = json!({"model": "x", "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "other"}]}]}});
        let mut s = original.clone();
        assert!(add_hooks(&mut s, &spec, "/bin/gate hook --agent claude", "claude").unwrap());
        assert!(!add_hooks(&mut s, &spec, "/bin/gate hook --agent claude", "claude").unwrap());
        assert_eq!(remove_hooks(&mut s, "claude"), 5); // PreToolUse, PostToolUse, PostToolUseFailure, SessionStart, SessionEnd
        assert_eq!(s, original);
    }

    /// Hashes Codex 0.169.0 itself listed (`hooks/list`, currentHash) for these entries.
    #[test]
    fn codex_trust_hashes_match_codex() {
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "PreToolUse",
                "*",
                "/usr/local/bin/gate hook --agent codex",
                "sha256:20deebb59d824ed87ec96e429eb438282911b0b531a7d995258c40ba688f1da5",
            ),
            (
                "PermissionRequest",
                "Bash",
                "'/opt/my tools/gate' hook --agent codex",
                "sha256:bead61afd1e74c1557121e1fa0d7ffed3355b744176ea30837e4edd8ac99e943",
            ),
        ];
        for (event, matcher, command, want) in cases {
            let h = json!({"type": "command", "command": command, "timeout": 900});
            assert_eq!(codex_trust_hash(event, Some(matcher), &h), *want, "{event} {command}");
        }
        assert_eq!(snake("PermissionRequest"), "permission_request");
    }
}
