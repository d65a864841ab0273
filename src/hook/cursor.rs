//! Cursor's hook protocol (the IDE and the `cursor-agent` CLI; closed
//! source, so this adapter follows Cursor's documentation, with no payload
//! captured here). `preToolUse` and `postToolUse` carry `conversation_id`,
//! `tool_name` (Shell, Read, Write, Grep, Delete, Task, `MCP:<tool>`),
//! `tool_input` and a `tool_use_id` that may contain a newline. The answer
//! is `{"permission": "allow"|"deny", "user_message", "agent_message"}`;
//! `ask` is enforced only on beforeShellExecution, so gate never sends it
//! from preToolUse: a question goes to `gate watch` or is denied. gate is
//! installed with `failClosed: true`, or a crash would let the call run.

use serde::Deserialize;
use serde_json::{json, Value};

use super::install::{Extra, HOOK_TIMEOUT_SECS};
use super::{field, unknown_event, Adapter, AgentAsk, HookError, HookShape, InstallSpec, Reply};
use crate::action::{Action, Agent, HookEvent, Kind, Outcome, OutcomeStatus, Request};

const GATED_EVENTS: &[&str] = &["preToolUse", "postToolUse", "postToolUseFailure"];
const PASSIVE_EVENTS: &[&str] = &[
    "beforeSubmitPrompt",
    "afterAgentResponse",
    "afterAgentThought",
    "stop",
    "sessionStart",
    "sessionEnd",
    "afterFileEdit",
    "afterShellExecution",
    "afterMCPExecution",
];

/// The Cursor adapter.
pub struct Cursor;

#[derive(Debug, Deserialize)]
struct WirePayload {
    conversation_id: String,
    hook_event_name: String,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    workspace_roots: Vec<String>,
    #[serde(default)]
    tool_name: Option<String>,
    #[serde(default)]
    tool_input: Option<Value>,
    #[serde(default)]
    tool_use_id: Option<String>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    transcript_path: Option<String>,
}

impl Adapter for Cursor {
    fn agent(&self) -> Agent {
        Agent::Cursor
    }
    fn names(&self) -> &'static [&'static str] {
        &["cursor"]
    }
    fn recognises(&self, obj: &serde_json::Map<String, Value>) -> bool {
        obj.contains_key("conversation_id") || obj.contains_key("cursor_version")
    }
    fn parse(&self, value: Value) -> Result<HookEvent, HookError> {
        let wire: WirePayload = serde_json::from_value(value).map_err(|e| HookError::Shape(e.to_string()))?;
        match wire.hook_event_name.as_str() {
            "preToolUse" => Ok(HookEvent::PreTool(action_of(&wire)?)),
            "postToolUse" | "postToolUseFailure" => {
                let action = action_of(&wire)?;
                let failed = wire.hook_event_name == "postToolUseFailure";
                let error =
                    wire.error.as_ref().map(|e| e.as_str().map(str::to_string).unwrap_or_else(|| e.to_string()));
                let status = if failed { OutcomeStatus::Error } else { OutcomeStatus::Success };
                Ok(HookEvent::PostTool(Outcome { action, status, duration_ms: None, error, patch: None }))
            }
            other if PASSIVE_EVENTS.contains(&other) => {
                Ok(HookEvent::Ignored { agent: Agent::Cursor, event: other.into() })
            }
            other => Err(unknown_event(Agent::Cursor, other, GATED_EVENTS, PASSIVE_EVENTS)),
        }
    }
    fn render(&self, event: &HookEvent, reply: &Reply) -> (String, i32) {
        let answer = |p: &str, r: &str| json!({"permission": p, "user_message": r, "agent_message": r}).to_string();
        match (event, reply) {
            (HookEvent::PreTool(_), Reply::Allow(r)) => (answer("allow", r), 0),
            // preToolUse does not enforce `ask`: an unanswered question denies.
            (HookEvent::PreTool(_), Reply::Deny(r) | Reply::Ask(r)) => (answer("deny", r), 0),
            (_, Reply::Deny(r)) => self.render_refusal(r),
            _ => (String::new(), 0),
        }
    }
    fn render_refusal(&self, reason: &str) -> (String, i32) {
        (json!({"permission": "deny", "user_message": reason, "agent_message": reason}).to_string(), 2)
    }
    fn can_ask(&self, _action: &Action, _var: &dyn Fn(&str) -> Option<String>) -> AgentAsk {
        AgentAsk::Cannot
    }
    fn shell_tool(&self) -> &'static str {
        "Shell"
    }
    fn pre_tool_payload(&self, session: &str, tool: &str, input: Value, cwd: &str) -> Value {
        json!({"conversation_id": session, "generation_id": "g", "hook_event_name": "preToolUse",
               "workspace_roots": [cwd], "cwd": cwd, "tool_name": tool, "tool_input": input,
               "tool_use_id": format!("{session}-call")})
    }
    fn install_spec(&self) -> InstallSpec {
        InstallSpec {
            display: "Cursor",
            programs: &["cursor-agent", "cursor"],
            dir: ".cursor",
            dir_env: None,
            home_env: None,
            settings: "hooks.json",
            events: &["preToolUse", "postToolUse", "postToolUseFailure"],
            shape: HookShape::Flat { command_key: "command", timeout_key: "timeout", typed: false, fail_closed: true },
            timeout_secs: HOOK_TIMEOUT_SECS,
            extra: Extra::None,
        }
    }
}

fn kind_of(tool: &str) -> Kind {
    match tool {
        "Shell" | "Terminal" => Kind::Shell,
        "Read" => Kind::Read,
        "Write" | "Delete" => Kind::Write,
        "Edit" | "StrReplace" => Kind::Edit,
        "Grep" | "Glob" => Kind::Search,
        "WebFetch" | "WebSearch" => Kind::Fetch,
        "Task" => Kind::Agent,
        t if t.starts_with("MCP:") => Kind::Mcp,
        _ => Kind::Other,
    }
}

fn action_of(wire: &WirePayload) -> Result<Action, HookError> {
    let tool =
        wire.tool_name.clone().ok_or_else(|| HookError::Shape(format!("{} has no tool_name", wire.hook_event_name)))?;
    let args = wire.tool_input.clone().unwrap_or(Value::Object(Default::default()));
    if !args.is_object() {
        return Err(HookError::Shape("tool_input is not an object".into()));
    }
    let s = |k: &str| field(&args, k);
    let path = || s("file_path").or_else(|| s("path")).or_else(|| s("target_file"));
    let kind = kind_of(&tool);
    let request = match kind {
        Kind::Shell => Request::Shell {
            command: s("command").ok_or_else(|| HookError::Shape(format!("{tool}'s command is not a string")))?,
        },
        Kind::Read => Request::Read { path: path() },
        Kind::Write | Kind::Edit => Request::Write {
            paths: path().into_iter().collect(),
            new_text: ["content", "contents", "new_string"].iter().filter_map(|k| s(k)).collect(),
        },
        Kind::Search => Request::Search { root: path(), names: s("glob"), only: s("glob"), hidden: true },
        Kind::Fetch => Request::Fetch { url: s("url").unwrap_or_default() },
        Kind::Agent => Request::Subagent,
        Kind::Mcp => {
            let name = tool.trim_start_matches("MCP:").to_string();
            Request::Mcp { server: s("server").unwrap_or_default(), tool: name }
        }
        Kind::Other => Request::Unknown,
    };
    let cwd = wire.cwd.clone().or_else(|| wire.workspace_roots.first().cloned()).unwrap_or_else(|| "/".into());
    Ok(Action {
        tool_use_id: wire.tool_use_id.clone(),
        transcript_path: wire.transcript_path.clone(),
        ..super::tool_call(Agent::Cursor, &wire.hook_event_name, &wire.conversation_id, tool, kind, request, args, cwd)
    })
}
