//! OpenAI Codex CLI's hook protocol (checked against 0.169.0). Codex's
//! PreToolUse can only deny: an `allow` or `ask` there is a failed hook and
//! the tool runs. So gate denies through PreToolUse and says nothing
//! otherwise, and its allows and human approvals travel through
//! PermissionRequest, which fires only when Codex itself would ask. An
//! `ask` that no `gate watch` answers cannot be handed to Codex from
//! PreToolUse, so it denies (with how to approve); from PermissionRequest
//! it falls through to Codex's own prompt. apply_patch text is parsed into
//! the files it touches, so path rules and self-protection see them.

use serde::Deserialize;
use serde_json::{json, Value};

use super::install::{Extra, HOOK_TIMEOUT_SECS};
use super::{field, unknown_event, Adapter, AgentAsk, HookError, HookShape, InstallSpec, Reply};
use crate::action::{Action, Agent, HookEvent, Kind, Outcome, OutcomeStatus, Request};

/// Events gate turns into actions or rows.
const GATED_EVENTS: &[&str] = &["PreToolUse", "PostToolUse", "PermissionRequest", "SessionStart", "SessionEnd"];

/// Events Codex sends that gate lets pass untouched.
const PASSIVE_EVENTS: &[&str] =
    &["UserPromptSubmit", "Stop", "PreCompact", "PostCompact", "PreModelRequest", "PostModelRequest", "Interrupt"];

/// Codex tools that only change the agent's own state.
const INTERNAL_TOOLS: &[&str] = &["update_plan"];

/// The Codex adapter.
pub struct Codex;

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
    source: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

impl Adapter for Codex {
    fn agent(&self) -> Agent {
        Agent::Codex
    }
    fn names(&self) -> &'static [&'static str] {
        &["codex"]
    }
    fn recognises(&self, obj: &serde_json::Map<String, Value>) -> bool {
        let event = obj.get("hook_event_name").and_then(Value::as_str).unwrap_or("");
        let known = GATED_EVENTS.contains(&event) || PASSIVE_EVENTS.contains(&event);
        // Every Codex event inside a turn carries turn_id; SessionStart carries the model.
        known && (obj.contains_key("turn_id") || (event == "SessionStart" && obj.contains_key("model")))
    }
    fn parse(&self, value: Value) -> Result<HookEvent, HookError> {
        let wire: WirePayload = serde_json::from_value(value).map_err(|e| HookError::Shape(e.to_string()))?;
        match wire.hook_event_name.as_str() {
            "PreToolUse" => Ok(HookEvent::PreTool(action_of(&wire)?)),
            "PermissionRequest" => Ok(HookEvent::PermissionRequest(action_of(&wire)?)),
            "PostToolUse" => {
                let action = action_of(&wire)?;
                let status = match wire.tool_response.as_ref() {
                    Some(Value::String(text)) => status_of_text(text),
                    Some(v) if v.get("isError").and_then(Value::as_bool) == Some(true) => OutcomeStatus::Error,
                    _ => OutcomeStatus::Success,
                };
                let patch = match &action.request {
                    Request::Write { .. } => action.args.get("command").cloned(),
                    _ => None,
                };
                Ok(HookEvent::PostTool(Outcome { action, status, duration_ms: None, error: None, patch }))
            }
            "SessionStart" | "SessionEnd" => {
                let started = wire.hook_event_name == "SessionStart";
                let detail = if started { wire.source } else { wire.reason };
                Ok(super::session_event(Agent::Codex, started, wire.session_id, wire.cwd, detail, wire.transcript_path))
            }
            other if PASSIVE_EVENTS.contains(&other) => {
                Ok(HookEvent::Ignored { agent: Agent::Codex, event: other.to_string() })
            }
            other => Err(unknown_event(Agent::Codex, other, GATED_EVENTS, PASSIVE_EVENTS)),
        }
    }
    fn render(&self, event: &HookEvent, reply: &Reply) -> (String, i32) {
        // Codex shows the model `<reason>. Command: <cmd>`: no full stop of our own.
        let reason = |r: &str| {
            let r = r.trim().trim_end_matches('.');
            if r.is_empty() {
                "gate denied this tool call".to_string()
            } else {
                r.to_string()
            }
        };
        match (event, reply) {
            (_, Reply::Silent) => (String::new(), 0),
            // PreToolUse: a deny with a non-empty reason is the only answer
            // Codex takes. An allow says nothing (Codex's own rules still
            // apply, and its prompt, if any, comes back as PermissionRequest).
            // An ask cannot be handed over here, so it must not pass.
            (HookEvent::PreTool(_), Reply::Deny(r) | Reply::Ask(r)) => (
                json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
                       "permissionDecision": "deny", "permissionDecisionReason": reason(r)}})
                .to_string(),
                0,
            ),
            (HookEvent::PreTool(_), Reply::Allow(_)) => (String::new(), 0),
            (HookEvent::PermissionRequest(_), Reply::Allow(_)) => (
                json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                       "decision": {"behavior": "allow"}}})
                .to_string(),
                0,
            ),
            (HookEvent::PermissionRequest(_), Reply::Deny(r)) => (
                json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                       "decision": {"behavior": "deny", "message": reason(r)}}})
                .to_string(),
                0,
            ),
            // Saying nothing lets Codex's own prompt appear.
            (HookEvent::PermissionRequest(_), Reply::Ask(_)) => (String::new(), 0),
            (_, Reply::Deny(_)) => (String::new(), 2),
            _ => (String::new(), 0),
        }
    }
    /// Only PermissionRequest can fall through to Codex's own prompt;
    /// PreToolUse cannot ask, and under `codex exec` no prompt exists.
    fn can_ask(&self, action: &Action, _var: &dyn Fn(&str) -> Option<String>) -> AgentAsk {
        if action.event == "PermissionRequest" {
            AgentAsk::Dialog
        } else {
            AgentAsk::Cannot
        }
    }
    fn shell_tool(&self) -> &'static str {
        "Bash"
    }
    fn pre_tool_payload(&self, session: &str, tool: &str, input: Value, cwd: &str) -> Value {
        json!({"session_id": session, "turn_id": format!("{session}-turn"), "transcript_path": null, "cwd": cwd,
               "hook_event_name": "PreToolUse", "model": "gpt-5.5", "permission_mode": "default",
               "tool_name": tool, "tool_input": input, "tool_use_id": format!("{session}-call")})
    }
    fn install_spec(&self) -> InstallSpec {
        InstallSpec {
            display: "Codex CLI",
            programs: &["codex"],
            dir: ".codex",
            home_env: None,
            dir_env: Some("CODEX_HOME"),
            settings: "hooks.json",
            events: &["PreToolUse", "PermissionRequest", "PostToolUse", "SessionStart", "SessionEnd"],
            shape: HookShape::Nested { matcher: "*", timeout_ms: false, named: false },
            timeout_secs: HOOK_TIMEOUT_SECS,
            extra: Extra::CodexTrust,
        }
    }
}

/// Codex reports a result as text. An apply_patch result opens with `Exit
/// code: N`; a shell result is only the command's output (seen with
/// 0.169.0: a failed `ls` is reported exactly like a successful one), so
/// all gate can record is that it ran.
fn status_of_text(text: &str) -> OutcomeStatus {
    match text.strip_prefix("Exit code: ").and_then(|r| r.lines().next()).map(str::trim) {
        Some("0") => OutcomeStatus::Success,
        Some(_) => OutcomeStatus::Error,
        None => OutcomeStatus::Ran,
    }
}

fn kind_of(tool: &str) -> Kind {
    match tool {
        "Bash" | "shell" | "exec_command" | "local_shell" => Kind::Shell,
        "apply_patch" => Kind::Edit,
        "web_search" => Kind::Fetch,
        t if t.starts_with("mcp__") => Kind::Mcp,
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
    let kind = kind_of(&tool);
    let command = field(&args, "command");
    let request = match kind {
        Kind::Shell => Request::Shell {
            command: command.ok_or_else(|| HookError::Shape(format!("{tool}'s command is not a string")))?,
        },
        Kind::Edit => {
            let text = command.ok_or_else(|| HookError::Shape("apply_patch's command is not a string".into()))?;
            let patch = parse_patch(&text);
            Request::Write { paths: patch.paths, new_text: patch.added }
        }
        Kind::Fetch => Request::Fetch { url: field(&args, "url").unwrap_or_default() },
        Kind::Mcp => {
            let mut it = tool.splitn(3, "__");
            let (_, server, name) = (it.next(), it.next().unwrap_or(""), it.next().unwrap_or(""));
            Request::Mcp { server: server.to_string(), tool: name.to_string() }
        }
        _ if INTERNAL_TOOLS.contains(&tool.as_str()) => Request::Internal,
        _ => Request::Unknown,
    };
    Ok(Action {
        tool_use_id: wire.tool_use_id.clone(),
        permission_mode: wire.permission_mode.clone(),
        transcript_path: wire.transcript_path.clone(),
        ..super::tool_call(
            Agent::Codex,
            &wire.hook_event_name,
            &wire.session_id,
            tool,
            kind,
            request,
            args,
            wire.cwd.clone(),
        )
    })
}

/// What an apply_patch text touches.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PatchFiles {
    /// Every path added, updated, deleted or moved to, as written.
    pub paths: Vec<String>,
    /// The lines each file gains, one string per file.
    pub added: Vec<String>,
}

/// Read the files an apply_patch text (`*** Begin Patch` ... `*** End
/// Patch`) touches. Unknown lines are skipped; a text that names no file
/// yields no path, and a write that names no file asks.
pub fn parse_patch(text: &str) -> PatchFiles {
    let mut out = PatchFiles::default();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        // Read leniently (`***Update File:`, a tab after the colon, Hermes'
        // `*** Move File: a -> b`): a header gate misreads must still name
        // its files, never hide them.
        if let Some(rest) = line.trim_start().strip_prefix("***") {
            let rest = rest.trim_start();
            let named: Vec<&str> = ["Add File:", "Update File:", "Delete File:", "Move to:", "Move File:"]
                .iter()
                .find_map(|p| rest.strip_prefix(p))
                .map(|p| p.split(" -> ").map(str::trim).filter(|p| !p.is_empty()).collect())
                .unwrap_or_default();
            for path in &named {
                if !out.paths.iter().any(|p| p == path) {
                    out.paths.push(path.to_string());
                    out.added.push(String::new());
                }
            }
            if let Some(last) = named.last() {
                current = out.paths.iter().position(|p| p == last);
            }
            continue;
        }
        if let (Some(i), Some(added)) = (current, line.strip_prefix('+')) {
            out.added[i].push_str(added);
            out.added[i].push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_name_every_file_they_touch() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            ("*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n", &["hello.txt"], &["hello\n"]),
            (
                "*** Begin Patch\n*** Update File: src/a.rs\n*** Move to: src/b.rs\n@@ fn x\n-old\n+new\n*** Delete File: c.txt\n*** End Patch",
                &["src/a.rs", "src/b.rs", "c.txt"],
                &["", "new\n", ""],
            ),
            ("*** Begin Patch\n*** Add File: /home/u/.bashrc\n+alias gate=true\n*** End Patch", &["/home/u/.bashrc"], &["alias gate=true\n"]),
            ("not a patch at all", &[], &[]),
            ("*** Begin Patch\n***Update File:\ta.rs\n+x\n*** End Patch", &["a.rs"], &["x\n"]),
            ("*** Begin Patch\n*** Move File: a.rs -> /home/u/.bashrc\n+alias gate=true\n*** End Patch", &["a.rs", "/home/u/.bashrc"], &["", "alias gate=true\n"]),
        ];
        for (text, paths, added) in cases {
            let got = parse_patch(text);
            assert_eq!(got.paths, *paths, "{text}");
            assert_eq!(got.added, *added, "{text}");
        }
    }

    #[test]
    fn exit_codes_in_results() {
        assert_eq!(status_of_text("Exit code: 0\nWall time: 0.1 seconds"), OutcomeStatus::Success);
        assert_eq!(status_of_text("Exit code: 1\nOutput:\nboom"), OutcomeStatus::Error);
        assert_eq!(status_of_text("plain output"), OutcomeStatus::Ran);
    }
}
