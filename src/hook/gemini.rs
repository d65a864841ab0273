//! Google Gemini CLI's hook protocol (checked against 0.61.0): BeforeTool
//! and AfterTool, answered with `{"decision": "allow"|"deny", "reason"}`.
//! gate never answers `ask`: a headless Gemini hangs forever on it, and an
//! interactive one cancels the turn on a refusal without telling the model.
//! A question goes to `gate watch` instead, and without an inbox it denies
//! with how to approve. BeforeTool carries no tool_use_id, so outcomes are
//! matched to their decision by session, tool and arguments.

use serde::Deserialize;
use serde_json::{json, Value};

use super::install::{Extra, HOOK_TIMEOUT_SECS};
use super::{field, unknown_event, Adapter, AgentAsk, HookError, HookShape, InstallSpec, Reply};
use crate::action::{Action, Agent, HookEvent, Kind, Outcome, OutcomeStatus, Request};

/// Events gate turns into actions or rows.
const GATED_EVENTS: &[&str] = &["BeforeTool", "AfterTool", "SessionStart", "SessionEnd"];

/// Events Gemini sends that gate lets pass untouched.
const PASSIVE_EVENTS: &[&str] =
    &["BeforeAgent", "AfterAgent", "BeforeModel", "AfterModel", "BeforeToolSelection", "Notification", "PreCompress"];

/// Gemini tools that only change the agent's own state.
const INTERNAL_TOOLS: &[&str] = &["write_todos"];

/// The Gemini CLI adapter.
pub struct Gemini;

#[derive(Debug, Deserialize)]
struct WirePayload {
    session_id: String,
    #[serde(default)]
    transcript_path: Option<String>,
    cwd: String,
    hook_event_name: String,
    #[serde(default)]
    tool_name: Option<String>,
    #[serde(default)]
    tool_input: Option<Value>,
    #[serde(default)]
    tool_response: Option<Value>,
    #[serde(default)]
    mcp_context: Option<Value>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

impl Adapter for Gemini {
    fn agent(&self) -> Agent {
        Agent::GeminiCli
    }
    fn names(&self) -> &'static [&'static str] {
        &["gemini", "gemini-cli"]
    }
    fn recognises(&self, obj: &serde_json::Map<String, Value>) -> bool {
        let event = obj.get("hook_event_name").and_then(Value::as_str).unwrap_or("");
        (GATED_EVENTS.contains(&event) || PASSIVE_EVENTS.contains(&event)) && obj.contains_key("timestamp")
    }
    fn parse(&self, value: Value) -> Result<HookEvent, HookError> {
        let wire: WirePayload = serde_json::from_value(value).map_err(|e| HookError::Shape(e.to_string()))?;
        match wire.hook_event_name.as_str() {
            "BeforeTool" => Ok(HookEvent::PreTool(action_of(&wire)?)),
            "AfterTool" => {
                let action = action_of(&wire)?;
                let error = wire
                    .tool_response
                    .as_ref()
                    .and_then(|r| r.get("error"))
                    .filter(|e| !e.is_null())
                    .map(|e| e.as_str().map(str::to_string).unwrap_or_else(|| e.to_string()));
                let status = if error.is_some() { OutcomeStatus::Error } else { OutcomeStatus::Success };
                let patch = wire
                    .tool_response
                    .as_ref()
                    .and_then(|r| r.get("returnDisplay"))
                    .and_then(|d| d.get("fileDiff"))
                    .filter(|_| matches!(action.request, Request::Write { .. }))
                    .cloned();
                Ok(HookEvent::PostTool(Outcome { action, status, duration_ms: None, error, patch }))
            }
            "SessionStart" | "SessionEnd" => {
                let started = wire.hook_event_name == "SessionStart";
                let detail = if started { wire.source } else { wire.reason };
                Ok(super::session_event(
                    Agent::GeminiCli,
                    started,
                    wire.session_id,
                    wire.cwd,
                    detail,
                    wire.transcript_path,
                ))
            }
            other if PASSIVE_EVENTS.contains(&other) => {
                Ok(HookEvent::Ignored { agent: Agent::GeminiCli, event: other.to_string() })
            }
            other => Err(unknown_event(Agent::GeminiCli, other, GATED_EVENTS, PASSIVE_EVENTS)),
        }
    }
    fn render(&self, event: &HookEvent, reply: &Reply) -> (String, i32) {
        match (event, reply) {
            (_, Reply::Silent) => (String::new(), 0),
            (HookEvent::PreTool(_), Reply::Allow(r)) => (json!({"decision": "allow", "reason": r}).to_string(), 0),
            // Never `ask`: headless Gemini hangs on it. An ask that reaches
            // here was not answered, so it denies.
            (HookEvent::PreTool(_), Reply::Deny(r) | Reply::Ask(r)) => {
                (json!({"decision": "deny", "reason": r}).to_string(), 0)
            }
            (_, Reply::Deny(_)) => (String::new(), 2),
            _ => (String::new(), 0),
        }
    }
    fn can_ask(&self, _action: &Action, _var: &dyn Fn(&str) -> Option<String>) -> AgentAsk {
        AgentAsk::Cannot
    }
    fn shell_tool(&self) -> &'static str {
        "run_shell_command"
    }
    fn pre_tool_payload(&self, session: &str, tool: &str, input: Value, cwd: &str) -> Value {
        json!({"session_id": session, "transcript_path": null, "cwd": cwd, "hook_event_name": "BeforeTool",
               "timestamp": "1970-01-01T00:00:00.000Z", "tool_name": tool, "tool_input": input})
    }
    fn install_spec(&self) -> InstallSpec {
        InstallSpec {
            display: "Gemini CLI",
            programs: &["gemini"],
            dir: ".gemini",
            home_env: Some("GEMINI_CLI_HOME"),
            dir_env: None,
            settings: "settings.json",
            events: &["BeforeTool", "AfterTool", "SessionStart", "SessionEnd"],
            shape: HookShape::Nested { matcher: ".*", timeout_ms: true, named: true },
            timeout_secs: HOOK_TIMEOUT_SECS,
            extra: Extra::GeminiPolicy,
        }
    }
}

fn kind_of(tool: &str) -> Kind {
    match tool {
        "run_shell_command" => Kind::Shell,
        "read_file" | "read_many_files" | "list_directory" => Kind::Read,
        "write_file" => Kind::Write,
        "replace" => Kind::Edit,
        "glob" | "grep_search" | "search_file_content" => Kind::Search,
        "web_fetch" | "google_web_search" => Kind::Fetch,
        t if t.starts_with("mcp_") => Kind::Mcp,
        _ => Kind::Other,
    }
}

/// The first http(s) URL in a text (web_fetch takes a prompt that names its URLs).
fn first_url(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.trim_end_matches(|c: char| ",.;:)]}>\"'".contains(c)).to_string())
}

fn action_of(wire: &WirePayload) -> Result<Action, HookError> {
    let tool =
        wire.tool_name.clone().ok_or_else(|| HookError::Shape(format!("{} has no tool_name", wire.hook_event_name)))?;
    let args = wire.tool_input.clone().unwrap_or(Value::Object(Default::default()));
    if !args.is_object() {
        return Err(HookError::Shape("tool_input is not an object".into()));
    }
    let s = |k: &str| field(&args, k);
    let kind = kind_of(&tool);
    // run_shell_command runs in `dir_path` (relative to the project) when given.
    let mut cwd = wire.cwd.clone();
    let request = match (kind, tool.as_str()) {
        (Kind::Shell, _) => {
            let command = s("command").ok_or_else(|| HookError::Shape(format!("{tool}'s command is not a string")))?;
            if let Some(dir) = s("dir_path").or_else(|| s("directory")).filter(|d| !d.is_empty()) {
                cwd = crate::floor::normalize(&dir, &wire.cwd, None);
            }
            Request::Shell { command }
        }
        (Kind::Read, "read_file") => Request::Read { path: s("file_path").or_else(|| s("absolute_path")) },
        (Kind::Read, "list_directory") => Request::Read { path: s("dir_path").or_else(|| s("path")) },
        // Many files by globs: gate cannot tell which without walking them as Gemini does.
        (Kind::Read, _) => Request::Unknown,
        (Kind::Write | Kind::Edit, _) => Request::Write {
            paths: s("file_path").into_iter().collect(),
            new_text: ["content", "new_string"].iter().filter_map(|k| s(k)).collect(),
        },
        (Kind::Search, "glob") => Request::Search {
            root: s("dir_path").or_else(|| s("path")),
            names: s("pattern"),
            only: None,
            hidden: false,
        },
        // Gemini's content search may fall back to its own walker, which
        // reads hidden files: count every secret its `include` matches.
        (Kind::Search, _) => Request::Search {
            root: s("dir_path").or_else(|| s("path")),
            names: s("include"),
            only: s("include"),
            hidden: true,
        },
        (Kind::Fetch, _) => {
            Request::Fetch { url: s("url").or_else(|| s("prompt").and_then(|p| first_url(&p))).unwrap_or_default() }
        }
        (Kind::Mcp, _) => {
            let ctx = |k: &str| wire.mcp_context.as_ref().and_then(|c| field(c, k));
            let (server, name) = match (ctx("server_name"), ctx("tool_name")) {
                (Some(s), Some(t)) => (s, t),
                // Without the context the split is a guess; rules on the
                // server name may then not match, and the call still asks.
                _ => {
                    let rest = tool.trim_start_matches("mcp_");
                    let (s, t) = rest.split_once('_').unwrap_or((rest, ""));
                    (s.to_string(), t.to_string())
                }
            };
            Request::Mcp { server, tool: name }
        }
        _ if INTERNAL_TOOLS.contains(&tool.as_str()) => Request::Internal,
        _ => Request::Unknown,
    };
    Ok(Action {
        transcript_path: wire.transcript_path.clone(),
        ..super::tool_call(Agent::GeminiCli, &wire.hook_event_name, &wire.session_id, tool, kind, request, args, cwd)
    })
}
