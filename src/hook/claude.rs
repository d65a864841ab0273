//! Claude Code's hook wire format (checked against 2.1.328): the payload it
//! writes on stdin and the answer it reads from stdout. These types mirror
//! the JSON exactly and are converted into gate's own [`HookEvent`] at once;
//! nothing outside this file sees them.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{HookError, Reply};
use crate::action::{Action, Agent, HookEvent, Kind, Outcome, OutcomeStatus, SessionMark, Shell};

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
        // The payload does not say; the hook's environment does (`bash_tool_shell`).
        shell: Shell::Bash,
    })
}

/// The shell Claude Code runs its Bash tool in, chosen as 2.1.328 chooses it (seen in its
/// code and by running it; `docs/shells.md`): the first executable of `$CLAUDE_CODE_SHELL`
/// and `$SHELL` that names bash or zsh; else zsh before bash (bash before zsh when `$SHELL`
/// is bash), each looked up in `$PATH` and in /bin, /usr/bin, /usr/local/bin and
/// /opt/homebrew/bin. `var` reads the hook's environment, which is Claude's;
/// `executable` says whether an absolute path is an executable file. No shell at all is
/// `Other("none")`: Claude refuses to run then, and gate analyses nothing.
pub fn bash_tool_shell(var: impl Fn(&str) -> Option<String>, executable: impl Fn(&str) -> bool) -> Shell {
    let path = var("PATH").unwrap_or_default();
    let which = |name: &str| -> Option<String> {
        path.split(':').filter(|d| !d.is_empty()).map(|d| format!("{d}/{name}")).find(|p| executable(p))
    };
    let usable = |p: &str| if p.starts_with('/') { executable(p) } else { which(p).is_some() };
    let shell = var("SHELL");
    let named: Vec<String> = [var("CLAUDE_CODE_SHELL"), shell.clone()]
        .into_iter()
        .flatten()
        .filter(|s| s.contains("bash") || s.contains("zsh"))
        .collect();
    if let Some(found) = named.iter().find(|p| usable(p)) {
        return Shell::from_program(found);
    }
    let bash_first = shell.as_deref().is_some_and(|s| s.rsplit('/').next() == Some("bash"));
    let order = if bash_first { ["bash", "zsh"] } else { ["zsh", "bash"] };
    let dirs = ["/bin", "/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"];
    let found = which(order[0])
        .or_else(|| order.iter().flat_map(|n| dirs.iter().map(move |d| format!("{d}/{n}"))).find(|p| executable(p)))
        .or_else(|| which(order[1]));
    found.map_or_else(|| Shell::Other("none".into()), |p| Shell::from_program(&p))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// (CLAUDE_CODE_SHELL, SHELL, PATH, executables on the machine, the shell Claude picks)
    type Case = (Option<&'static str>, Option<&'static str>, &'static str, &'static [&'static str], Shell);
    const CASES: &[Case] = &[
        // Seen with the real 2.1.328 on a machine with /bin/bash and /usr/bin/zsh.
        (None, Some("/usr/bin/zsh"), "/usr/bin:/bin", &["/bin/bash", "/usr/bin/zsh"], Shell::Zsh),
        (None, Some("/bin/bash"), "/usr/bin:/bin", &["/bin/bash", "/usr/bin/zsh"], Shell::Bash),
        (None, None, "/usr/bin:/bin", &["/bin/bash", "/usr/bin/zsh"], Shell::Zsh),
        (None, Some("/bin/sh"), "/usr/bin:/bin", &["/bin/bash", "/usr/bin/zsh", "/bin/sh"], Shell::Zsh),
        (None, Some("/usr/bin/fish"), "/usr/bin:/bin", &["/bin/bash", "/usr/bin/zsh"], Shell::Zsh),
        (Some("/bin/bash"), Some("/usr/bin/zsh"), "/usr/bin:/bin", &["/bin/bash", "/usr/bin/zsh"], Shell::Bash),
        // Without zsh, bash.
        (None, None, "/usr/bin:/bin", &["/bin/bash"], Shell::Bash),
        (None, Some("/usr/bin/fish"), "/usr/bin:/bin", &["/bin/bash", "/usr/bin/fish"], Shell::Bash),
        // A named shell that is not there is skipped, as Claude skips it.
        (None, Some("/opt/zsh/bin/zsh"), "/usr/bin:/bin", &["/bin/bash"], Shell::Bash),
        (Some("/nope/bash"), None, "/usr/bin:/bin", &["/usr/bin/zsh", "/bin/bash"], Shell::Zsh),
        // zsh found in PATH first; a bare name is looked up in PATH.
        (None, None, "/opt/homebrew/bin:/usr/bin", &["/opt/homebrew/bin/zsh", "/bin/bash"], Shell::Zsh),
        (None, Some("zsh"), "/usr/bin", &["/usr/bin/zsh", "/bin/bash"], Shell::Zsh),
        (None, Some("/bin/bash"), "", &["/usr/local/bin/zsh", "/bin/bash"], Shell::Bash),
        (None, None, "", &[], Shell::Other(String::new())),
    ];

    #[test]
    fn the_shell_claude_code_picks() {
        for (ccs, shell, path, exes, want) in CASES {
            let var = |k: &str| match k {
                "CLAUDE_CODE_SHELL" => ccs.map(str::to_string),
                "SHELL" => shell.map(str::to_string),
                "PATH" => Some(path.to_string()),
                _ => None,
            };
            let got = bash_tool_shell(var, |p| exes.contains(&p));
            let want = if *want == Shell::Other(String::new()) { Shell::Other("none".into()) } else { want.clone() };
            assert_eq!(got, want, "CLAUDE_CODE_SHELL={ccs:?} SHELL={shell:?} PATH={path:?} on {exes:?}");
        }
    }
}
