//! Agent adapters: the one seam between an agent's hook protocol and gate.
//! Each agent is one file here implementing [`Adapter`]: recognise its
//! payloads, parse them into gate's [`HookEvent`] (with a typed
//! [`crate::action::Request`]), render gate's [`Reply`] in its protocol with
//! its quirks, say whether it can put a question to a human itself, read a
//! rejection from its transcript, and describe how it is installed
//! ([`InstallSpec`]). [`ADAPTERS`] lists them; nothing outside this folder
//! knows an agent's wire format.

pub mod claude;
pub mod codex;
pub mod copilot;
pub mod cursor;
pub mod gemini;
pub mod hermes;
pub mod install;

use serde_json::{Map, Value};

use crate::action::{Action, Agent, HookEvent, Request, SessionMark, Shell};

pub use install::{HookShape, InstallSpec};

/// The largest payload gate reads. Anything bigger is refused.
pub const MAX_PAYLOAD: usize = 4 * 1024 * 1024;

/// What gate tells the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Allow(String),
    Deny(String),
    Ask(String),
    /// No verdict: print nothing, exit 0 (post-tool and session events).
    Silent,
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("empty hook payload on stdin; gate expects one JSON object from the agent")]
    Empty,
    #[error("hook payload is not valid JSON at line {line}, column {column}: {msg}")]
    Malformed { line: usize, column: usize, msg: String },
    #[error("hook payload is not a JSON object")]
    NotObject,
    #[error("hook payload has the wrong shape: {0}")]
    Shape(String),
    #[error("unknown hook event {event:?} from {agent}; gate handles {known}")]
    UnknownEvent { agent: &'static str, event: String, known: String },
    #[error("cannot tell which agent sent this payload; run `gate hook --agent <agent>` ({})", agent_names())]
    UnknownAgent,
    #[error("{agent} is recognised but gate has no adapter for it yet; supported: {supported}", supported = agent_names())]
    NoAdapter { agent: &'static str },
    #[error("hook payload is larger than {MAX_PAYLOAD} bytes")]
    TooLarge,
}

/// Where a question can go when gate's verdict is `ask` and no inbox is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentAsk {
    /// The agent shows its own permission dialog for `Reply::Ask`.
    Dialog,
    /// The agent cannot ask a human here: an `ask` must become a deny.
    Cannot,
}

/// One agent's hook protocol.
pub trait Adapter: Sync {
    fn agent(&self) -> Agent;
    /// Names accepted by `--agent` and `gate install`; the first is the one gate writes.
    fn names(&self) -> &'static [&'static str];
    /// Does this JSON object look like one of this agent's payloads?
    fn recognises(&self, obj: &Map<String, Value>) -> bool;
    /// Turn a payload into gate's event.
    fn parse(&self, value: Value) -> Result<HookEvent, HookError>;
    /// Render a reply: (stdout, exit code). A deny must be one the agent
    /// really blocks on; an answer the agent cannot take must never let the
    /// call through by accident.
    fn render(&self, event: &HookEvent, reply: &Reply) -> (String, i32);
    /// Render a refusal gate decides before it has an event (a payload it
    /// cannot read, a crash, a hang): (stdout, exit code). The reason also
    /// goes to stderr. Exit 2 blocks in most agents; those that ignore exit
    /// codes get their own block answer too.
    fn render_refusal(&self, _reason: &str) -> (String, i32) {
        (String::new(), 2)
    }
    /// Can the agent itself ask a human about this call, given the hook's
    /// environment (`var`)? Headless runs and hooks that cannot answer
    /// `ask` cannot.
    fn can_ask(&self, action: &Action, var: &dyn Fn(&str) -> Option<String>) -> AgentAsk;
    /// The shell the agent runs its shell tool's command lines in.
    fn shell(&self, _var: &dyn Fn(&str) -> Option<String>, _executable: &dyn Fn(&str) -> bool) -> Shell {
        Shell::Bash
    }
    /// Is this transcript line the agent's own record that the human
    /// rejected call `tool_use_id` in its dialog?
    fn is_rejection(&self, _line: &str, _tool_use_id: &str) -> bool {
        false
    }
    /// The agent's name for its shell tool (what `gate check` pretends to be).
    fn shell_tool(&self) -> &'static str;
    /// The payload this agent sends before running `tool` with `input`:
    /// what `gate check`, `gate doctor`'s self-test and the tests feed
    /// through [`Adapter::parse`], so they decide exactly what the hook would.
    fn pre_tool_payload(&self, session: &str, tool: &str, input: Value, cwd: &str) -> Value;
    /// How gate hooks into this agent.
    fn install_spec(&self) -> InstallSpec;
}

/// Every adapter. Each recognises only its own agent's payloads, so the
/// order is only the order `gate install` and `gate doctor` go through them.
pub static ADAPTERS: &[&dyn Adapter] =
    &[&claude::Claude, &codex::Codex, &gemini::Gemini, &cursor::Cursor, &copilot::Copilot, &hermes::Hermes];

fn agent_names() -> String {
    ADAPTERS.iter().map(|a| a.names()[0]).collect::<Vec<_>>().join(", ")
}

/// The adapter for an agent, if gate has one.
pub fn adapter(agent: Agent) -> Option<&'static dyn Adapter> {
    ADAPTERS.iter().copied().find(|a| a.agent() == agent)
}

/// Agent names accepted by `--agent`.
/// The tool names the adapters know, for `--tool` filters: each adapter's
/// tools that map to a kind, and the agents' own bookkeeping tools.
pub const TOOL_NAMES: &[&str] = &[
    // Claude Code
    "Bash", "Read", "NotebookRead", "LS", "Write", "Edit", "MultiEdit", "NotebookEdit", "Glob", "Grep", "WebFetch",
    "WebSearch", "Agent", "Task", "TodoWrite", "ExitPlanMode", "BashOutput", "KillShell", "SlashCommand", "Skill",
    // Codex
    "shell", "exec_command", "local_shell", "apply_patch", "web_search",
    // Gemini CLI
    "run_shell_command", "read_file", "read_many_files", "list_directory", "write_file", "replace", "glob",
    "grep_search", "search_file_content", "web_fetch", "google_web_search", "save_memory", "write_todos",
    // Cursor
    "Shell", "Terminal", "Delete", "StrReplace",
    // Copilot CLI
    "bash", "view", "read", "create", "edit", "str_replace", "grep",
    // Hermes
    "terminal", "patch", "search_files", "web_extract", "todo", "clarify", "session_search", "skills_list",
    "skill_view",
];

pub fn agent_from_flag(name: &str) -> Option<Agent> {
    ADAPTERS.iter().find(|a| a.names().contains(&name)).map(|a| a.agent())
}

/// Recognise the agent from the payload's shape.
pub fn detect(obj: &Map<String, Value>) -> Option<Agent> {
    ADAPTERS.iter().find(|a| a.recognises(obj)).map(|a| a.agent())
}

/// Read a payload and turn it into gate's event, plus the adapter it came through.
pub fn parse(
    raw: &[u8],
    forced: Option<Agent>,
) -> Result<(&'static dyn Adapter, HookEvent), (Option<Agent>, HookError)> {
    if raw.len() > MAX_PAYLOAD {
        return Err((forced, HookError::TooLarge));
    }
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err((forced, HookError::Empty));
    }
    let value: Value = serde_json::from_slice(raw).map_err(|e| {
        let err = if e.is_syntax() || e.is_eof() {
            HookError::Malformed { line: e.line(), column: e.column(), msg: e.to_string() }
        } else {
            HookError::Shape(e.to_string())
        };
        (forced, err)
    })?;
    let Value::Object(obj) = &value else { return Err((forced, HookError::NotObject)) };
    let agent = match forced {
        Some(a) => a,
        None => detect(obj).ok_or((None, HookError::UnknownAgent))?,
    };
    let Some(adapter) = adapter(agent) else {
        return Err((Some(agent), HookError::NoAdapter { agent: agent.as_str() }));
    };
    adapter.parse(value).map(|e| (adapter, e)).map_err(|e| (Some(agent), e))
}

/// The events an adapter knows, for its unknown-event error.
pub(crate) fn unknown_event(agent: Agent, event: &str, gated: &[&str], passive: &[&str]) -> HookError {
    let mut known: Vec<&str> = gated.to_vec();
    known.extend_from_slice(passive);
    HookError::UnknownEvent { agent: agent.as_str(), event: event.to_string(), known: known.join(", ") }
}

/// A string field of a tool input.
pub(crate) fn field(args: &Value, key: &str) -> Option<String> {
    args.get(key).and_then(Value::as_str).map(str::to_string)
}

/// What a call is about, in one line for people (the receipt's `target`):
/// the command, the path(s), the search pattern and where, the URL (or the
/// prompt or query of a fetch that names none), the MCP tool, the subagent's task.
pub(crate) fn target_of(request: &Request, tool: &str, args: &Value) -> Option<String> {
    let s = |k: &str| field(args, k);
    match request {
        Request::Shell { command } => Some(command.clone()),
        Request::Read { path } => path.clone(),
        Request::Write { paths, .. } => (!paths.is_empty()).then(|| paths.join(", ")),
        Request::Search { root, names, .. } => s("pattern").or_else(|| names.clone()).map(|p| match root {
            Some(r) => format!("{p} in {r}"),
            None => p,
        }),
        Request::Fetch { url } if !url.is_empty() => Some(url.clone()),
        Request::Fetch { .. } => s("query").or_else(|| s("prompt")),
        Request::Mcp { .. } => Some(tool.to_string()),
        Request::Subagent => s("description").or_else(|| s("prompt")),
        Request::Internal | Request::Unknown => None,
    }
}

/// A tool call as gate sees it, with the target worked out from its
/// request; the adapter fills in what its agent also says (call id,
/// permission mode, transcript, subagent).
#[allow(clippy::too_many_arguments)]
pub(crate) fn tool_call(
    agent: Agent,
    event: &str,
    session_id: &str,
    tool: String,
    kind: crate::action::Kind,
    request: Request,
    args: Value,
    cwd: String,
) -> Action {
    Action {
        agent,
        event: event.to_string(),
        session_id: session_id.to_string(),
        tool_use_id: None,
        target: target_of(&request, &tool, &args),
        tool,
        kind,
        request,
        args,
        cwd,
        permission_mode: None,
        transcript_path: None,
        subagent: None,
        shell: Shell::Bash,
    }
}

/// A session start or end.
pub(crate) fn session_event(
    agent: Agent,
    started: bool,
    session_id: String,
    cwd: String,
    detail: Option<String>,
    transcript_path: Option<String>,
) -> HookEvent {
    HookEvent::Session(SessionMark { agent, session_id, cwd, started, detail, transcript_path })
}
