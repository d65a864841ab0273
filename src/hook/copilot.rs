//! GitHub Copilot CLI's hook protocol (checked against 1.0.102). Its
//! camelCase payloads (`sessionId`, `toolName`, `toolArgs`) carry no event
//! name and no call id: a `toolResult` marks the postToolUse. `toolArgs`
//! is documented as a JSON string and was seen as an object: both are read.
//! The answer is `{"permissionDecision", "permissionDecisionReason"}`; a
//! hook's allow overrides even the user's `--deny-tool` rules, a crash or
//! exit 1 blocks, but a timeout lets the tool run, so gate's hook timeout
//! is long. Under `-p` an `ask` is refused by Copilot itself ("no one to
//! approve"), which fails closed; interactively it opens Copilot's prompt.

use serde::Deserialize;
use serde_json::{json, Value};

use super::install::{Extra, HOOK_TIMEOUT_SECS};
use super::{field, Adapter, AgentAsk, HookError, HookShape, InstallSpec, Reply};
use crate::action::{Action, Agent, HookEvent, Kind, Outcome, OutcomeStatus, Request};

/// The Copilot CLI adapter.
pub struct Copilot;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePayload {
    session_id: String,
    cwd: String,
    tool_name: String,
    #[serde(default)]
    tool_args: Option<Value>,
    #[serde(default)]
    tool_result: Option<Value>,
}

impl Adapter for Copilot {
    fn agent(&self) -> Agent {
        Agent::CopilotCli
    }
    fn names(&self) -> &'static [&'static str] {
        &["copilot", "copilot-cli"]
    }
    fn recognises(&self, obj: &serde_json::Map<String, Value>) -> bool {
        obj.contains_key("sessionId") || obj.contains_key("toolName")
    }
    fn parse(&self, value: Value) -> Result<HookEvent, HookError> {
        let wire: WirePayload = serde_json::from_value(value).map_err(|e| HookError::Shape(e.to_string()))?;
        let action = action_of(&wire)?;
        match &wire.tool_result {
            None => Ok(HookEvent::PreTool(action)),
            Some(result) => {
                let text = field(result, "textResultForLlm").unwrap_or_default();
                let failed = !matches!(field(result, "resultType").as_deref(), Some("success") | None)
                    || exit_code(&text).is_some_and(|c| c != 0);
                let status = if failed { OutcomeStatus::Error } else { OutcomeStatus::Success };
                let error = failed.then(|| text.lines().last().unwrap_or("").to_string());
                Ok(HookEvent::PostTool(Outcome { action, status, duration_ms: None, error, patch: None }))
            }
        }
    }
    fn render(&self, event: &HookEvent, reply: &Reply) -> (String, i32) {
        let answer = |d: &str, r: &str| json!({"permissionDecision": d, "permissionDecisionReason": r}).to_string();
        match (event, reply) {
            (HookEvent::PreTool(_), Reply::Allow(r)) => (answer("allow", r), 0),
            (HookEvent::PreTool(_), Reply::Deny(r)) => (answer("deny", r), 0),
            (HookEvent::PreTool(_), Reply::Ask(r)) => (answer("ask", r), 0),
            (_, Reply::Deny(r)) => (answer("deny", r), 2),
            _ => (String::new(), 0),
        }
    }
    /// Copilot passes on a JSON reason, not stderr, and blocks on exit 2.
    fn render_refusal(&self, reason: &str) -> (String, i32) {
        (json!({"permissionDecision": "deny", "permissionDecisionReason": reason}).to_string(), 2)
    }
    fn can_ask(&self, _action: &Action, _var: &dyn Fn(&str) -> Option<String>) -> AgentAsk {
        AgentAsk::Dialog
    }
    fn shell_tool(&self) -> &'static str {
        "bash"
    }
    fn pre_tool_payload(&self, session: &str, tool: &str, input: Value, cwd: &str) -> Value {
        json!({"sessionId": session, "timestamp": 0, "cwd": cwd, "toolName": tool, "toolArgs": input})
    }
    fn install_spec(&self) -> InstallSpec {
        InstallSpec {
            display: "Copilot CLI",
            programs: &["copilot"],
            dir: ".copilot",
            dir_env: None,
            home_env: None,
            settings: "hooks/gate.json",
            events: &["preToolUse", "postToolUse"],
            shape: HookShape::Flat { command_key: "bash", timeout_key: "timeoutSec", typed: true, fail_closed: false },
            timeout_secs: HOOK_TIMEOUT_SECS,
            extra: Extra::None,
        }
    }
}

/// `<shellId: 0 completed with exit code N>` closes a shell result.
fn exit_code(text: &str) -> Option<i64> {
    let tail = text.trim_end().rsplit("with exit code ").next()?;
    tail.trim_end_matches('>').trim().parse().ok().filter(|_| text.contains("with exit code "))
}

fn kind_of(tool: &str) -> Kind {
    match tool {
        "bash" | "shell" => Kind::Shell,
        "view" | "read" => Kind::Read,
        "create" => Kind::Write,
        "edit" | "str_replace" => Kind::Edit,
        "glob" | "grep" => Kind::Search,
        "web_fetch" => Kind::Fetch,
        _ => Kind::Other,
    }
}

fn action_of(wire: &WirePayload) -> Result<Action, HookError> {
    // Documented as a JSON string, seen as an object: read both.
    let args = match wire.tool_args.clone() {
        None => Value::Object(Default::default()),
        Some(Value::String(text)) => serde_json::from_str(&text)
            .map_err(|e| HookError::Shape(format!("toolArgs is a string but not JSON: {e}")))?,
        Some(v) => v,
    };
    if !args.is_object() {
        return Err(HookError::Shape("toolArgs is not an object".into()));
    }
    let s = |k: &str| field(&args, k);
    let tool = wire.tool_name.clone();
    let kind = kind_of(&tool);
    let request = match (kind, tool.as_str()) {
        (Kind::Shell, _) => Request::Shell {
            command: s("command").ok_or_else(|| HookError::Shape(format!("{tool}'s command is not a string")))?,
        },
        (Kind::Read, _) => Request::Read { path: s("path") },
        (Kind::Write | Kind::Edit, _) => Request::Write {
            paths: s("path").into_iter().collect(),
            new_text: ["file_text", "new_str", "content"].iter().filter_map(|k| s(k)).collect(),
        },
        (Kind::Search, "glob") => Request::Search { root: s("path"), names: s("pattern"), only: None, hidden: false },
        (Kind::Search, _) => Request::Search { root: s("path"), names: s("glob"), only: s("glob"), hidden: true },
        (Kind::Fetch, _) => Request::Fetch { url: s("url").unwrap_or_default() },
        _ => Request::Unknown,
    };
    let event = if wire.tool_result.is_some() { "postToolUse" } else { "preToolUse" };
    Ok(super::tool_call(Agent::CopilotCli, event, &wire.session_id, tool, kind, request, args, wire.cwd.clone()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn exit_codes_close_shell_results() {
        assert_eq!(super::exit_code("x\n<shellId: 0 completed with exit code 1>"), Some(1));
        assert_eq!(super::exit_code("On branch\n<shellId: 0 completed with exit code 0>"), Some(0));
        assert_eq!(super::exit_code("plain"), None);
    }
}
