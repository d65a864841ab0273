//! Claude Code's hook wire format (checked against 2.1.328): the payload it
//! writes on stdin and the answer it reads from stdout. These types mirror
//! the JSON exactly and are converted into gate's own [`HookEvent`] at once;
//! nothing outside this file sees them.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{HookError, Reply};
use crate::action::{Action, Agent, HookEvent, Kind, Outcome, OutcomeStatus, SessionMark};

/// The events Claude Code sends that gate knows and lets pass untouched.
const PASSIVE_EVENTS: &[&str] = &[
    "UserPromptSubmit",
    "Stop",
    "SubagentStop",
    "SubagentStart",
    "Notification",
    "PreCompact",
    "PostCompact",
    "InstructionsLoaded",
    "ConfigChange",
    "WorktreeCreate",
    "WorktreeRemove",
    "TeammateIdle",
    "TaskCompleted",
    "Elicitation",
    "ElicitationResult",
];

/// Events gate turns into actions or rows.
const GATED_EVENTS: &[&str] =
    &["PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "SessionStart", "SessionEnd"];

/// Does this JSON object look like a Claude Code hook payload?
pub fn recognises(obj: &serde_json::Map<String, Value>) -> bool {
    let Some(Value::String(event)) = obj.get("hook_event_name") else { return false };
    obj.contains_key("session_id")
        && (GATED_EVENTS.contains(&event.as_str()) || PASSIVE_EVENTS.contains(&event.as_str()))
}

#[derive(Debug, Deserialize)]
struct WirePayload {
    session_id: String,
    #[serde(default)]
    transcript_path: Option<String>,
    cwd: String,
    #[serde(default)]
    permission_mode: Option<String>,
    hook_event_name: String,
    #[serde(default)]
    tool_name: Option<String>,
    #[serde(default)]
    tool_input: Option<Value>,
    #[serde(default)]
    tool_use_id: Option<String>,
    #[serde(default)]
    tool_response: Option<Value>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    is_interrupt: Option<bool>,
    #[serde(default)]
    duration_ms: Option<u64>,
    #[serde(default)]
    agent_type: Option<String>,
    #[serde(default)]
    agent_id: Option<String>,
    /// SessionStart: startup | resume | clear | compact.
    #[serde(default)]
    source: Option<String>,
    /// SessionEnd: why it ended.
    #[serde(default)]
    reason: Option<String>,
}

/// Parse one payload into gate's event.
pub fn parse(value: Value) -> Result<HookEvent, HookError> {
    let wire: WirePayload = serde_json::from_value(value).map_err(|e| HookError::Shape(e.to_string()))?;
    let event = wire.hook_event_name.clone();
    match event.as_str() {
        "PreToolUse" | "PermissionRequest" => {
            let action = action_of(&wire)?;
            if event == "PreToolUse" {
                Ok(HookEvent::PreTool(action))
            } else {
                Ok(HookEvent::PermissionRequest(action))
            }
        }
        "PostToolUse" | "PostToolUseFailure" => {
            let action = action_of(&wire)?;
            let failed = event == "PostToolUseFailure";
            let interrupted = wire.is_interrupt.unwrap_or(false)
                || wire
                    .tool_response
                    .as_ref()
                    .and_then(|r| r.get("interrupted"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
            let status = if interrupted {
                OutcomeStatus::Interrupted
            } else if failed {
                OutcomeStatus::Error
            } else {
                OutcomeStatus::Success
            };
            let patch = wire
                .tool_response
                .as_ref()
                .and_then(|r| r.get("structuredPatch"))
                .filter(|_| matches!(action.kind, Kind::Edit | Kind::Write))
                .cloned();
            Ok(HookEvent::PostTool(Outcome {
                action,
                status,
                duration_ms: wire.duration_ms,
                error: wire.error.clone(),
                patch,
            }))
        }
        "SessionStart" | "SessionEnd" => Ok(HookEvent::Session(SessionMark {
            agent: Agent::ClaudeCode,
            session_id: wire.session_id,
            cwd: wire.cwd,
            started: event == "SessionStart",
            detail: if event == "SessionStart" { wire.source } else { wire.reason },
            transcript_path: wire.transcript_path,
        })),
        other if PASSIVE_EVENTS.contains(&other) => {
            Ok(HookEvent::Ignored { agent: Agent::ClaudeCode, event: other.to_string() })
        }
        other => Err(HookError::UnknownEvent(other.to_string())),
    }
}

fn action_of(wire: &WirePayload) -> Result<Action, HookError> {
    let tool =
        wire.tool_name.clone().ok_or_else(|| HookError::Shape(format!("{} has no tool_name", wire.hook_event_name)))?;
    let args = wire.tool_input.clone().unwrap_or(Value::Object(Default::default()));
    if !args.is_object() {
        return Err(HookError::Shape("tool_input is not an object".into()));
    }
    let kind = kind_of(&tool);
    if kind == Kind::Shell && !args.get("command").is_some_and(Value::is_string) {
        return Err(HookError::Shape(format!("{tool}'s tool_input.command is not a string")));
    }
    let target = target_of(kind, &tool, &args);
    Ok(Action {
        agent: Agent::ClaudeCode,
        session_id: wire.session_id.clone(),
        tool_use_id: wire.tool_use_id.clone(),
        tool,
        kind,
        args,
        target,
        cwd: wire.cwd.clone(),
        permission_mode: wire.permission_mode.clone(),
        transcript_path: wire.transcript_path.clone(),
        subagent: wire.agent_type.clone().or_else(|| wire.agent_id.clone()),
    })
}

/// Claude Code's tool names, mapped to gate's kinds.
pub fn kind_of(tool: &str) -> Kind {
    match tool {
        // Only Bash runs a bash command line; PowerShell is another
        // language, and the background-shell tools are not command lines.
        "Bash" => Kind::Shell,
        "Read" | "NotebookRead" | "LS" => Kind::Read,
        "Write" => Kind::Write,
        "Edit" | "MultiEdit" | "NotebookEdit" => Kind::Edit,
        "Glob" | "Grep" => Kind::Search,
        "WebFetch" | "WebSearch" => Kind::Fetch,
        "Agent" | "Task" => Kind::Agent,
        t if t.starts_with("mcp__") => Kind::Mcp,
        _ => Kind::Other,
    }
}

fn target_of(kind: Kind, tool: &str, args: &Value) -> Option<String> {
    let s = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_string);
    match kind {
        Kind::Shell => s("command"),
        Kind::Read | Kind::Write | Kind::Edit => s("file_path").or_else(|| s("notebook_path")).or_else(|| s("path")),
        Kind::Search => s("pattern").map(|p| match s("path") {
            Some(path) => format!("{p} in {path}"),
            None => p,
        }),
        Kind::Fetch => s("url").or_else(|| s("query")),
        Kind::Agent => s("description").or_else(|| s("prompt")),
        Kind::Mcp => Some(tool.to_string()),
        Kind::Other => None,
    }
}

/// Render gate's reply in Claude Code's protocol: (stdout, exit code).
///
/// PreToolUse takes `hookSpecificOutput.permissionDecision`; a
/// PermissionRequest takes `decision.behavior`, and has no `ask`: saying
/// nothing there lets Claude's own dialog appear.
pub fn render(event: &HookEvent, reply: &Reply) -> (String, i32) {
    match (event, reply) {
        (_, Reply::Silent) => (String::new(), 0),
        (HookEvent::PreTool(_), Reply::Allow(r) | Reply::Deny(r) | Reply::Ask(r)) => {
            let decision = match reply {
                Reply::Allow(_) => "allow",
                Reply::Deny(_) => "deny",
                _ => "ask",
            };
            let out = json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": decision,
                    "permissionDecisionReason": r,
                }
            });
            (out.to_string(), 0)
        }
        (HookEvent::PermissionRequest(_), Reply::Allow(_)) => (
            json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                   "decision": {"behavior": "allow"}}})
            .to_string(),
            0,
        ),
        (HookEvent::PermissionRequest(_), Reply::Deny(r)) => (
            json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                   "decision": {"behavior": "deny", "message": r}}})
            .to_string(),
            0,
        ),
        (HookEvent::PermissionRequest(_), Reply::Ask(_)) => (String::new(), 0),
        // Post and session events never carry a verdict: a deny there is an
        // error gate must surface, which exit 2 with stderr does.
        (_, Reply::Deny(_)) => (String::new(), 2),
        _ => (String::new(), 0),
    }
}
