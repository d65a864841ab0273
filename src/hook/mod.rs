//! Agent adapters: recognise which agent wrote a payload, turn its wire JSON
//! into gate's [`HookEvent`], and render gate's [`Reply`] back in that
//! agent's protocol. Only Claude Code has an adapter so far; the other
//! agents are recognised by shape so that gate can refuse them clearly
//! (fail closed) instead of misreading them as Claude payloads.

pub mod claude;

use serde_json::Value;

use crate::action::{Agent, HookEvent};

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
    #[error("unknown hook event {0:?}; gate handles PreToolUse, PostToolUse, PostToolUseFailure, PermissionRequest, SessionStart and SessionEnd")]
    UnknownEvent(String),
    #[error("cannot tell which agent sent this payload; run `gate hook --agent claude`")]
    UnknownAgent,
    #[error("{0} is recognised but gate has no adapter for it yet; only Claude Code is supported")]
    NoAdapter(&'static str),
    #[error("hook payload is larger than {MAX_PAYLOAD} bytes")]
    TooLarge,
}

/// Agent names accepted by `--agent`.
pub fn agent_from_flag(name: &str) -> Option<Agent> {
    match name {
        "claude" | "claude-code" => Some(Agent::ClaudeCode),
        "codex" => Some(Agent::Codex),
        "gemini" | "gemini-cli" => Some(Agent::GeminiCli),
        "cursor" => Some(Agent::Cursor),
        "copilot" | "copilot-cli" => Some(Agent::CopilotCli),
        "hermes" => Some(Agent::Hermes),
        _ => None,
    }
}

/// Recognise the agent from the payload's shape.
pub fn detect(obj: &serde_json::Map<String, Value>) -> Option<Agent> {
    let event = obj.get("hook_event_name").and_then(Value::as_str).unwrap_or("");
    if obj.contains_key("toolName") || obj.contains_key("sessionId") {
        return Some(Agent::CopilotCli);
    }
    if obj.contains_key("conversation_id") || obj.contains_key("cursor_version") {
        return Some(Agent::Cursor);
    }
    if event.contains('_') && event.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        return Some(Agent::Hermes);
    }
    if matches!(
        event,
        "BeforeTool"
            | "AfterTool"
            | "BeforeAgent"
            | "AfterAgent"
            | "BeforeModel"
            | "AfterModel"
            | "BeforeToolSelection"
            | "SessionStart"
            | "SessionEnd"
            | "Notification"
            | "PreCompress"
    ) && obj.contains_key("timestamp")
    {
        return Some(Agent::GeminiCli);
    }
    if obj.contains_key("turn_id") {
        return Some(Agent::Codex);
    }
    if claude::recognises(obj) {
        return Some(Agent::ClaudeCode);
    }
    None
}

/// Read a payload and turn it into gate's event, plus the agent it came from.
pub fn parse(raw: &[u8], forced: Option<Agent>) -> Result<(Agent, HookEvent), (Option<Agent>, HookError)> {
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
    match agent {
        Agent::ClaudeCode => claude::parse(value).map(|e| (agent, e)).map_err(|e| (Some(agent), e)),
        other => Err((Some(other), HookError::NoAdapter(other.as_str()))),
    }
}

/// Render a reply for the agent. Returns (stdout, exit code).
pub fn render(agent: Agent, event: &HookEvent, reply: &Reply) -> (String, i32) {
    match agent {
        Agent::ClaudeCode => claude::render(event, reply),
        // No adapter: exit 2 with the reason on stderr is the one answer
        // every agent but Cursor's preToolUse reads as a block.
        _ => (String::new(), 2),
    }
}
