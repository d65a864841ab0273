//! Nous Research Hermes agent's shell-hook protocol (checked against
//! 0.19.0). `pre_tool_call` and `post_tool_call`, snake_case payloads with
//! the call id in `extra.tool_call_id`. Only a JSON block answer blocks:
//! exit 2, a crash, a timeout and junk output all let the tool run (0.19
//! has no `fail_closed`), and `{"action": "approve"}` is dropped for shell
//! hooks. So every refusal gate makes, even for a payload it cannot read,
//! is printed as `{"decision": "block", "reason"}`; a question goes to
//! `gate watch` or is blocked; and a question waits less than the hook's
//! timeout (at most 300 s in Hermes).

use serde::Deserialize;
use serde_json::{json, Value};

use super::install::Extra;
use super::{field, unknown_event, Adapter, AgentAsk, HookError, HookShape, InstallSpec, Reply};
use crate::action::{Action, Agent, HookEvent, Kind, Outcome, OutcomeStatus, Request};

const GATED_EVENTS: &[&str] = &["pre_tool_call", "post_tool_call"];

/// Hermes tools that only change the agent's own state or memory of the
/// conversation.
const INTERNAL_TOOLS: &[&str] = &["todo", "clarify", "session_search", "skills_list", "skill_view"];

/// The longest Hermes lets a hook run (it clamps `timeout` to 1..=300).
const HERMES_MAX_TIMEOUT_SECS: u64 = 300;

/// The Hermes adapter.
pub struct Hermes;

#[derive(Debug, Deserialize)]
struct WirePayload {
    hook_event_name: String,
    tool_name: String,
    #[serde(default)]
    tool_input: Option<Value>,
    session_id: String,
    cwd: String,
    #[serde(default)]
    extra: Option<Value>,
}

impl Adapter for Hermes {
    fn agent(&self) -> Agent {
        Agent::Hermes
    }
    fn names(&self) -> &'static [&'static str] {
        &["hermes"]
    }
    fn recognises(&self, obj: &serde_json::Map<String, Value>) -> bool {
        let event = obj.get("hook_event_name").and_then(Value::as_str).unwrap_or("");
        event.contains('_') && event.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    }
    fn parse(&self, value: Value) -> Result<HookEvent, HookError> {
        let wire: WirePayload = serde_json::from_value(value).map_err(|e| HookError::Shape(e.to_string()))?;
        let action = action_of(&wire)?;
        match wire.hook_event_name.as_str() {
            "pre_tool_call" => Ok(HookEvent::PreTool(action)),
            "post_tool_call" => {
                let extra = wire.extra.clone().unwrap_or(Value::Null);
                // A call a hook blocked did not run; its decision row says so.
                if field(&extra, "status").as_deref() == Some("blocked") {
                    return Ok(HookEvent::Ignored { agent: Agent::Hermes, event: "post_tool_call (blocked)".into() });
                }
                let status = match field(&extra, "status").as_deref() {
                    Some("ok") | None => OutcomeStatus::Success,
                    _ => OutcomeStatus::Error,
                };
                let error = field(&extra, "error_message").or_else(|| field(&extra, "error_type"));
                let duration_ms = extra.get("duration_ms").and_then(Value::as_u64);
                Ok(HookEvent::PostTool(Outcome { action, status, duration_ms, error, patch: None }))
            }
            other => Err(unknown_event(Agent::Hermes, other, GATED_EVENTS, &[])),
        }
    }
    fn render(&self, event: &HookEvent, reply: &Reply) -> (String, i32) {
        match (event, reply) {
            // Only a block answer blocks; an ask cannot be handed over.
            (HookEvent::PreTool(_), Reply::Deny(r) | Reply::Ask(r)) => self.render_refusal(r),
            (HookEvent::PreTool(_), Reply::Allow(_)) => ("{}".into(), 0),
            (_, Reply::Deny(r)) => self.render_refusal(r),
            _ => (String::new(), 0),
        }
    }
    fn render_refusal(&self, reason: &str) -> (String, i32) {
        (json!({"decision": "block", "reason": reason}).to_string(), 0)
    }
    fn can_ask(&self, _action: &Action, _var: &dyn Fn(&str) -> Option<String>) -> AgentAsk {
        AgentAsk::Cannot
    }
    fn shell_tool(&self) -> &'static str {
        "terminal"
    }
    fn pre_tool_payload(&self, session: &str, tool: &str, input: Value, cwd: &str) -> Value {
        json!({"hook_event_name": "pre_tool_call", "tool_name": tool, "tool_input": input, "session_id": session,
               "cwd": cwd, "extra": {"tool_call_id": format!("{session}-call")}})
    }
    fn install_spec(&self) -> InstallSpec {
        InstallSpec {
            display: "Hermes",
            programs: &["hermes"],
            dir: ".hermes",
            dir_env: Some("HERMES_HOME"),
            home_env: None,
            settings: "config.yaml",
            events: &["pre_tool_call", "post_tool_call"],
            shape: HookShape::Yaml,
            timeout_secs: HERMES_MAX_TIMEOUT_SECS,
            extra: Extra::HermesConsent,
        }
    }
}

fn kind_of(tool: &str) -> Kind {
    match tool {
        "terminal" => Kind::Shell,
        "read_file" => Kind::Read,
        "write_file" => Kind::Write,
        "patch" => Kind::Edit,
        "search_files" => Kind::Search,
        "web_search" | "web_extract" => Kind::Fetch,
        t if t.starts_with("mcp_") => Kind::Mcp,
        _ => Kind::Other,
    }
}

fn action_of(wire: &WirePayload) -> Result<Action, HookError> {
    let tool = wire.tool_name.clone();
    let args = wire.tool_input.clone().unwrap_or(Value::Object(Default::default()));
    if !args.is_object() {
        return Err(HookError::Shape("tool_input is not an object".into()));
    }
    let s = |k: &str| field(&args, k);
    let kind = kind_of(&tool);
    // The terminal runs in `workdir` when given: judge the command there.
    let cwd = match (kind, s("workdir").filter(|d| !d.is_empty())) {
        (Kind::Shell, Some(dir)) => crate::floor::normalize(&dir, &wire.cwd, None),
        _ => wire.cwd.clone(),
    };
    let request = match kind {
        Kind::Shell => Request::Shell {
            command: s("command").ok_or_else(|| HookError::Shape(format!("{tool}'s command is not a string")))?,
        },
        Kind::Read => Request::Read { path: s("path") },
        Kind::Write => {
            Request::Write { paths: s("path").into_iter().collect(), new_text: s("content").into_iter().collect() }
        }
        // `patch` edits one file by path, or applies a V4A patch text
        // (`*** Begin Patch`, the format Codex uses) that names its files;
        // with both given, Hermes applies the text, so every file counts.
        Kind::Edit => {
            let mut paths: Vec<String> = s("path").into_iter().collect();
            let mut new_text: Vec<String> = ["new_string", "content"].iter().filter_map(|k| s(k)).collect();
            if let Some(text) = s("patch") {
                let p = super::codex::parse_patch(&text);
                paths.extend(p.paths);
                new_text.extend(p.added);
            }
            Request::Write { paths, new_text }
        }
        Kind::Search => Request::Search { root: s("path"), names: s("file_glob"), only: s("file_glob"), hidden: true },
        Kind::Fetch => Request::Fetch { url: s("url").or_else(|| s("urls")).unwrap_or_default() },
        _ if INTERNAL_TOOLS.contains(&tool.as_str()) => Request::Internal,
        _ => Request::Unknown,
    };
    Ok(Action {
        tool_use_id: wire.extra.as_ref().and_then(|e| field(e, "tool_call_id")),
        ..super::tool_call(Agent::Hermes, &wire.hook_event_name, &wire.session_id, tool, kind, request, args, cwd)
    })
}
