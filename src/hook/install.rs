//! How gate hooks into an agent, as data: where the agent keeps its user
//! settings, which events gate takes, the shape of the hook entries and the
//! extra step the agent needs (Codex's hook trust, Gemini's policy).
//! `cmd/install.rs` and `cmd/doctor.rs` carry it out; each adapter only
//! fills in an [`InstallSpec`].

/// Seconds an agent waits for gate before giving up on the hook: long
/// enough for a human to answer a question in `gate watch` (questions wait
/// at most `broker::MAX_ASK_TIMEOUT_SECS`, 840 s).
pub const HOOK_TIMEOUT_SECS: u64 = 900;

/// One agent's install recipe.
#[derive(Debug, Clone, Copy)]
pub struct InstallSpec {
    /// The agent's name for people (`Claude Code`).
    pub display: &'static str,
    /// Programs on PATH that mean the agent is installed.
    pub programs: &'static [&'static str],
    /// The agent's user directory, relative to HOME (`.claude`).
    pub dir: &'static str,
    /// An environment variable that moves that directory, if the agent reads one.
    pub dir_env: Option<&'static str>,
    /// An environment variable that stands in for HOME, if the agent reads one
    /// (the directory is then `$VAR/<dir>`).
    pub home_env: Option<&'static str>,
    /// The settings file gate's hooks go in, inside that directory.
    pub settings: &'static str,
    /// The hook events gate installs for.
    pub events: &'static [&'static str],
    /// The shape of a hook entry in that file.
    pub shape: HookShape,
    /// What the agent needs besides the entries.
    pub extra: Extra,
    /// The longest the agent waits for the hook, in seconds (what gate
    /// installs): a question must be settled well before it.
    pub timeout_secs: u64,
}

impl InstallSpec {
    /// How long a question may wait under this agent: a minute less than
    /// the hook's timeout, so gate answers before the agent gives up on it
    /// (most agents run the tool when a hook times out).
    pub fn max_wait_secs(&self) -> u64 {
        self.timeout_secs.saturating_sub(60).max(10)
    }
}

/// The shape of gate's hook entries in the agent's settings file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookShape {
    /// `{"hooks": {EVENT: [{"matcher": M, "hooks": [{"type": "command", "command": C, "timeout": T}]}]}}`
    /// (Claude Code, Codex, Gemini), differing in the matcher, the timeout's
    /// unit and a `"name": "gate"`.
    Nested { matcher: &'static str, timeout_ms: bool, named: bool },
    /// `{"version": 1, "hooks": {EVENT: [{COMMAND_KEY: C, TIMEOUT_KEY: T, ...}]}}`
    /// (Cursor: `command`/`timeout`, with `failClosed`; Copilot CLI:
    /// `type`/`bash`/`timeoutSec`).
    Flat { command_key: &'static str, timeout_key: &'static str, typed: bool, fail_closed: bool },
    /// Hermes: `hooks: {EVENT: [{command: C, timeout: T}]}` in YAML.
    Yaml,
}

/// A step the agent needs besides the hook entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    None,
    /// Codex runs only hooks the user trusted: gate writes the trust entry
    /// for its own hooks into `config.toml` (and again after changing them).
    CodexTrust,
    /// Gemini's own policy still confirms after a hook's allow: gate adds a
    /// policy file that hands tool decisions to its hook.
    GeminiPolicy,
    /// Hermes runs a new hook only after the user consents (or skips it
    /// silently): gate records the consent for its own hook commands.
    HermesConsent,
}
