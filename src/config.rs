//! Loading the policy layers from disk: the embedded default policy, the
//! user policy, every project `.gate/policy.toml` from the working
//! directory up to the repository root, and the managed policy. A project
//! file's allow rules count only once the user has trusted that exact file
//! (`gate trust`, keyed by its SHA-256); a broken file is reported, never
//! silently skipped, and while any file is broken gate allows nothing.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::paths::Paths;
use crate::policy::load::{self, Macros, PolicyError, Settings};
use crate::policy::rule::Layer;
use crate::policy::{Decision, PolicySet};

/// The embedded default policy.
pub const DEFAULT_POLICY: &str = include_str!("../policies/default.toml");
pub const DEFAULT_POLICY_NAME: &str = "policies/default.toml (built in)";
pub const MANAGED_POLICY: &str = "/etc/gate/policy.toml";

/// One policy file as loaded.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    pub layer: Layer,
    pub path: String,
    /// Project files: whether the user trusted this exact content.
    pub trusted: bool,
    pub errors: Vec<PolicyError>,
    pub rules: usize,
    /// Allow rules ignored because the project file is not trusted.
    pub ignored_allows: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub set: PolicySet,
    pub settings: Settings,
    pub files: Vec<LoadedFile>,
    /// What `~` and `@gate` stood for while loading: the home and gate's
    /// own directories, which the decision needs too.
    pub macros: Macros,
    /// The file whose `accept_edits` is in `settings`; `None` when no file
    /// set it (the built-in default, follow).
    pub accept_edits_origin: Option<String>,
}

impl Loaded {
    /// Do the agent's in-tree edits follow its edit mode, and which file
    /// says so?
    pub fn accept_edits(&self) -> (bool, String) {
        let follow = self.settings.accept_edits != Some(load::AcceptEdits::Ask);
        (follow, self.accept_edits_origin.clone().unwrap_or_else(|| "built-in default".into()))
    }
}

/// gate's own directories, as the policy's `@gate` and the floor see them.
pub fn gate_dirs(paths: &Paths) -> Vec<String> {
    let mut dirs: Vec<String> = Vec::new();
    for d in paths.own_files() {
        let s = d.to_string_lossy().trim_end_matches('/').to_string();
        if !dirs.contains(&s) {
            dirs.push(s.clone());
        }
        if let Ok(real) = std::fs::canonicalize(&d) {
            let r = real.to_string_lossy().to_string();
            if !dirs.contains(&r) {
                dirs.push(r);
            }
        }
    }
    dirs.push("/etc/gate".into());
    dirs
}

/// A resident (`cmd::resident`) serving many calls reuses the expansions
/// for this long: each resolves every `PATH` directory and gate's own
/// directories through the filesystem, and only a symlink changed under
/// them could change the result.
const MACROS_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(5);

pub fn macros(paths: &Paths) -> Macros {
    type Memo = Option<(std::time::Instant, PathBuf, PathBuf, Macros)>;
    static MEMO: std::sync::Mutex<Memo> = std::sync::Mutex::new(None);
    let mut memo = MEMO.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((at, data, config, m)) = memo.as_ref() {
        if at.elapsed() < MACROS_FRESH_FOR && *data == paths.data_dir && *config == paths.config_dir {
            return m.clone();
        }
    }
    let m = expand_macros(paths);
    *memo = Some((std::time::Instant::now(), paths.data_dir.clone(), paths.config_dir.clone(), m.clone()));
    m
}

fn expand_macros(paths: &Paths) -> Macros {
    Macros {
        home: std::env::var("HOME").ok().filter(|h| !h.is_empty()),
        gate_dirs: gate_dirs(paths),
        gate_bins: gate_bins(std::env::current_exe().ok(), std::env::var_os("PATH")),
        agent_hooks: agent_hooks(|v| std::env::var_os(v)),
    }
}

/// Where gate's hooks live for each agent whose directory an environment
/// variable moves (`CLAUDE_CONFIG_DIR`, `CODEX_HOME`, `GEMINI_CLI_HOME`,
/// `HERMES_HOME`), as `gate install` would write them: the settings file and
/// the files that trust or allow the hooks. The home-directory locations are
/// named in the default policy itself.
pub fn agent_hooks(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Vec<String> {
    use crate::hook::install::Extra;
    let set = |v: Option<&str>| v.and_then(&var).filter(|d| !d.is_empty()).map(PathBuf::from);
    let mut out: Vec<String> = Vec::new();
    for adapter in crate::hook::ADAPTERS {
        let spec = adapter.install_spec();
        let dir = match (set(spec.dir_env), set(spec.home_env)) {
            (Some(d), _) => d,
            (None, Some(h)) => h.join(spec.dir),
            (None, None) => continue,
        };
        let dir = crate::paths::absolute(&dir);
        let mut files = vec![dir.join(spec.settings)];
        match spec.extra {
            Extra::None => {}
            Extra::CodexTrust => files.push(dir.join("config.toml")),
            Extra::GeminiPolicy => files.push(dir.join("policies")),
            Extra::HermesConsent => files.push(dir.join("shell-hooks-allowlist.json")),
        }
        if spec.settings == "settings.json" {
            files.push(dir.join("settings.local.json"));
        }
        for f in files {
            let real =
                f.parent().and_then(|d| std::fs::canonicalize(d).ok()).zip(f.file_name()).map(|(d, n)| d.join(n));
            for p in std::iter::once(f.clone()).chain(real) {
                let s = p.to_string_lossy().into_owned();
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
    }
    out
}

/// Where a `gate` command runs from: the running binary (as invoked and
/// resolved) and `gate` in every absolute `PATH` directory (as written and
/// resolved), so that replacing or shadowing any of them is refused.
pub fn gate_bins(exe: Option<PathBuf>, path_var: Option<std::ffi::OsString>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |p: PathBuf| {
        let real = match (p.parent(), p.file_name()) {
            (Some(d), Some(n)) => std::fs::canonicalize(d).ok().map(|d| d.join(n)),
            _ => None,
        };
        for q in [Some(p.clone()), std::fs::canonicalize(&p).ok(), real].into_iter().flatten() {
            let s = q.to_string_lossy().into_owned();
            if !out.contains(&s) {
                out.push(s);
            }
        }
    };
    if let Some(e) = exe {
        add(e);
    }
    for dir in path_var.iter().flat_map(std::env::split_paths).filter(|d| d.is_absolute()) {
        add(dir.join("gate"));
    }
    out
}

/// Project policy files that apply in `cwd`: each `.gate/policy.toml` from
/// `cwd` up to the repository root (the first directory holding `.git`),
/// or up to `/` outside a repository. Nearest last.
pub fn project_files(cwd: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dir = Some(cwd);
    while let Some(d) = dir {
        let candidate = d.join(".gate/policy.toml");
        if candidate.is_file() {
            found.push(candidate);
        }
        if d.join(".git").exists() {
            break;
        }
        dir = d.parent();
    }
    found.reverse();
    found
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::store::chain::hex(&Sha256::digest(bytes))
}

/// The trusted project files: (canonical path, sha256).
pub fn read_trust(paths: &Paths) -> Vec<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Trust {
        #[serde(default)]
        project: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        path: String,
        sha256: String,
    }
    let Ok(text) = std::fs::read_to_string(paths.trust()) else { return Vec::new() };
    match toml::from_str::<Trust>(&text) {
        Ok(t) => t.project.into_iter().map(|e| (e.path, e.sha256)).collect(),
        Err(_) => Vec::new(),
    }
}

/// Where the user layer comes from.
#[derive(Debug, Clone, Default)]
pub enum UserLayer {
    /// The user policy file on disk (`Paths::user_policy`), as the hook reads it.
    #[default]
    Installed,
    /// A proposed policy in its place (`gate replay --policy FILE`,
    /// `gate suggest`), already parsed: `name` is what errors and rule
    /// origins call it. The other layers stay as they are, so a project or
    /// managed file still tightens what it proposes.
    Proposed { name: String, parsed: Result<load::PolicyFile, Vec<PolicyError>> },
}

/// Parse policy text as the user layer would be, for [`UserLayer::Proposed`].
/// Pure but for what `~` and `@gate` expand to.
pub fn parse_user_text(paths: &Paths, text: &str, name: &str) -> Result<load::PolicyFile, Vec<PolicyError>> {
    load::parse(text, name, Layer::User, &macros(paths))
}

/// Load every layer for an action in `cwd`.
pub fn load(paths: &Paths, cwd: &str) -> Loaded {
    load_with(paths, cwd, &UserLayer::Installed)
}

/// Load every layer for an action in `cwd`, the user layer from `user`.
pub fn load_with(paths: &Paths, cwd: &str, user: &UserLayer) -> Loaded {
    let macros = macros(paths);
    let mut out = Loaded { macros: macros.clone(), ..Loaded::default() };
    let mut disable: Vec<String> = Vec::new();
    // A project may only tighten accept_edits (to ask); applied last, so a
    // managed `follow` does not undo it.
    let mut project_ask: Option<String> = None;
    let mut add = |out: &mut Loaded,
                   layer: Layer,
                   name: String,
                   parsed: Result<load::PolicyFile, Vec<PolicyError>>,
                   trusted: bool| {
        match parsed {
            Ok(file) => {
                let total = file.rules.len();
                let mut ignored = 0;
                for r in file.rules {
                    if layer == Layer::Project && !trusted && r.decision == Decision::Allow {
                        ignored += 1;
                        continue;
                    }
                    out.set.rules.push(r);
                }
                if layer == Layer::User {
                    disable.extend(file.settings.disable.iter().cloned());
                    out.settings.disable = file.settings.disable.clone();
                    out.settings.approver = file.settings.approver.clone();
                    if file.settings.ask_timeout.is_some() {
                        out.settings.ask_timeout = file.settings.ask_timeout;
                    }
                    if file.settings.ask_via.is_some() {
                        out.settings.ask_via = file.settings.ask_via.clone();
                    }
                }
                if layer == Layer::Managed && file.settings.ask_timeout.is_some() {
                    out.settings.ask_timeout = file.settings.ask_timeout;
                }
                if layer == Layer::Managed && file.settings.ask_via.is_some() {
                    out.settings.ask_via = file.settings.ask_via.clone();
                }
                match (layer, file.settings.accept_edits) {
                    (Layer::User | Layer::Managed, Some(a)) => {
                        out.settings.accept_edits = Some(a);
                        out.accept_edits_origin = Some(name.clone());
                    }
                    (Layer::Project, Some(load::AcceptEdits::Ask)) if project_ask.is_none() => {
                        project_ask = Some(name.clone())
                    }
                    _ => {}
                }
                out.files.push(LoadedFile {
                    layer,
                    path: name,
                    trusted,
                    errors: Vec::new(),
                    rules: total,
                    ignored_allows: ignored,
                });
            }
            Err(errors) => {
                out.set.broken.push(format!(
                    "{} ({} error{})",
                    errors[0],
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                ));
                out.files.push(LoadedFile { layer, path: name, trusted, errors, rules: 0, ignored_allows: 0 });
            }
        }
    };
    let default = crate::cache::policy_text(paths, DEFAULT_POLICY, DEFAULT_POLICY_NAME, Layer::Default, &macros);
    add(&mut out, Layer::Default, DEFAULT_POLICY_NAME.to_string(), default, true);
    match user {
        UserLayer::Installed => read_layer(paths, &macros, &mut out, &mut add, Layer::User, &paths.user_policy()),
        UserLayer::Proposed { name, parsed } => add(&mut out, Layer::User, name.clone(), parsed.clone(), true),
    }
    let trust = read_trust(paths);
    for p in project_files(Path::new(cwd)) {
        let bytes = match std::fs::read(&p) {
            Ok(b) => b,
            Err(e) => {
                out.set.broken.push(format!("{}: cannot read: {e}", p.display()));
                continue;
            }
        };
        let canon = std::fs::canonicalize(&p).unwrap_or(p.clone()).to_string_lossy().into_owned();
        let hash = sha256_hex(&bytes);
        let trusted = trust.iter().any(|(path, h)| *path == canon && *h == hash);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let name = p.to_string_lossy().into_owned();
        let parsed = crate::cache::policy_text(paths, &text, &name, Layer::Project, &macros);
        add(&mut out, Layer::Project, name, parsed, trusted);
    }
    read_layer(paths, &macros, &mut out, &mut add, Layer::Managed, Path::new(MANAGED_POLICY));
    if std::env::var_os("GATE_HOME").is_some() {
        read_layer(paths, &macros, &mut out, &mut add, Layer::Managed, &paths.config_dir.join("managed.toml"));
    }
    if let Some(origin) = project_ask {
        if out.settings.accept_edits != Some(load::AcceptEdits::Ask) {
            out.settings.accept_edits = Some(load::AcceptEdits::Ask);
            out.accept_edits_origin = Some(origin);
        }
    }
    // The user may turn default rules off; nothing else can be disabled.
    if !disable.is_empty() {
        out.set.rules.retain(|r| !(r.layer == Layer::Default && disable.contains(&r.id)));
    }
    out
}

fn read_layer<F>(paths: &Paths, macros: &Macros, out: &mut Loaded, add: &mut F, layer: Layer, path: &Path)
where
    F: FnMut(&mut Loaded, Layer, String, Result<load::PolicyFile, Vec<PolicyError>>, bool),
{
    match std::fs::metadata(path) {
        Ok(_) => match crate::cache::policy_file(paths, path, layer, macros) {
            Some(parsed) => add(out, layer, path.to_string_lossy().into_owned(), parsed, true),
            None => out.set.broken.push(format!("{}: cannot read it; fix its permissions", path.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => out.set.broken.push(format!("{}: cannot read: {e}", path.display())),
    }
}
