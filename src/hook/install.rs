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
}

/// The JSON shape of the hook entries: every supported agent nests them as
/// `{"hooks": {EVENT: [{"matcher": M, "hooks": [{"type": "command", "command": C, "timeout": T}]}]}}`,
/// and differs in the matcher, the timeout's unit and a name.
#[derive(Debug, Clone, Copy)]
pub struct HookShape {
    /// The matcher that selects every tool.
    pub matcher: &'static str,
    /// The timeout is in milliseconds (else seconds).
    pub timeout_ms: bool,
    /// Each entry carries `"name": "gate"`.
    pub named: bool,
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
}
