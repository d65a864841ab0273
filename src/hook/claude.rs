//! Claude Code's hook wire format (checked against 2.1.328): the payload it
//! writes on stdin and the answer it reads from stdout. These types mirror
//! the JSON exactly and are converted into gate's own [`HookEvent`] at once;
//! nothing outside this file sees them.

use serde::Deserialize;
use serde_json::{json, Value};

use super::install::{Extra, HOOK_TIMEOUT_SECS};
use super::{field, unknown_event, Adapter, AgentAsk, HookError, HookShape, InstallSpec, Reply};
use crate::action::{Action, Agent, HookEvent, Kind, Outcome, OutcomeStatus, Request, SessionMark, Shell};

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

/// Claude Code tools that only change the agent's own state.
const INTERNAL_TOOLS: &[&str] =
    &["TodoWrite", "ExitPlanMode", "EnterPlanMode", "AskUserQuestion", "ToolSearch", "BashOutput", "TaskOutput"];

/// The Claude Code adapter.
pub struct Claude;

impl Adapter for Claude {
    fn agent(&self) -> Agent {
        Agent::ClaudeCode
    }
    fn names(&self) -> &'static [&'static str] {
        &["claude", "claude-code"]
    }
    fn recognises(&self, obj: &serde_json::Map<String, Value>) -> bool {
        let Some(Value::String(event)) = obj.get("hook_event_name") else { return false };
        // Codex's payloads carry a turn_id (and its SessionStart the model),
        // Gemini's a timestamp; Claude Code's never do.
        let other = obj.contains_key("turn_id")
            || obj.contains_key("timestamp")
            || (event == "SessionStart" && obj.contains_key("model"));
        !other
            && obj.contains_key("session_id")
            && (GATED_EVENTS.contains(&event.as_str()) || PASSIVE_EVENTS.contains(&event.as_str()))
    }
    fn parse(&self, value: Value) -> Result<HookEvent, HookError> {
        parse(value)
    }
    fn render(&self, event: &HookEvent, reply: &Reply) -> (String, i32) {
        render(event, reply)
    }
    /// Headless Claude (`claude -p`, the SDK) turns `ask` into a deny, and
    /// `dontAsk` mode denies anything not pre-approved.
    fn can_ask(&self, action: &Action, var: &dyn Fn(&str) -> Option<String>) -> AgentAsk {
        let env = |k: &str| var(k).unwrap_or_default();
        let headless = env("CLAUDE_CODE_ENTRYPOINT").starts_with("sdk") || env("CLAUDE_CODE_SESSION_ATTENDED") == "0";
        if headless || action.permission_mode.as_deref() == Some("dontAsk") {
            AgentAsk::Cannot
        } else {
            AgentAsk::Dialog
        }
    }
    fn shell(&self, var: &dyn Fn(&str) -> Option<String>, executable: &dyn Fn(&str) -> bool) -> Shell {
        bash_tool_shell(var, executable)
    }
    fn is_rejection(&self, line: &str, tool_use_id: &str) -> bool {
        is_rejection_record(line, tool_use_id)
    }
    fn shell_tool(&self) -> &'static str {
        "Bash"
    }
    fn pre_tool_payload(&self, session: &str, tool: &str, input: Value, cwd: &str) -> Value {
        json!({"session_id": session, "cwd": cwd, "hook_event_name": "PreToolUse",
               "tool_name": tool, "tool_input": input, "tool_use_id": format!("{session}-call")})
    }
    fn install_spec(&self) -> InstallSpec {
        InstallSpec {
            display: "Claude Code",
            programs: &["claude"],
            dir: ".claude",
            home_env: None,
            dir_env: Some("CLAUDE_CONFIG_DIR"),
            settings: "settings.json",
            events: &["PreToolUse", "PostToolUse", "PostToolUseFailure", "SessionStart", "SessionEnd"],
            shape: HookShape::Nested { matcher: "*", timeout_ms: false, named: false },
            timeout_secs: HOOK_TIMEOUT_SECS,
            extra: Extra::None,
        }
    }
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
fn parse(value: Value) -> Result<HookEvent, HookError> {
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
        other => Err(unknown_event(Agent::ClaudeCode, other, GATED_EVENTS, &[])),
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
    let request = request_of(&tool, &args);
    Ok(Action {
        tool_use_id: wire.tool_use_id.clone(),
        permission_mode: wire.permission_mode.clone(),
        transcript_path: wire.transcript_path.clone(),
        subagent: wire.agent_type.clone().or_else(|| wire.agent_id.clone()),
        ..super::tool_call(
            Agent::ClaudeCode,
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

/// What a Claude Code tool call asks to do.
fn request_of(tool: &str, args: &Value) -> Request {
    let s = |k: &str| field(args, k);
    match kind_of(tool) {
        Kind::Shell => Request::Shell { command: s("command").unwrap_or_default() },
        Kind::Read => Request::Read { path: s("file_path").or_else(|| s("notebook_path")).or_else(|| s("path")) },
        Kind::Write | Kind::Edit => {
            // Every path field the tool may write through.
            let paths = ["notebook_path", "file_path", "path"].iter().filter_map(|k| s(k)).collect();
            let mut new_text: Vec<String> =
                ["content", "new_string", "new_source"].iter().filter_map(|k| s(k)).collect();
            match args.get("edits") {
                Some(Value::Array(edits))
                    if edits.iter().all(|e| e.get("new_string").is_some_and(Value::is_string)) =>
                {
                    new_text.extend(edits.iter().filter_map(|e| field(e, "new_string")))
                }
                Some(other) => new_text.push(other.to_string()),
                None => {}
            }
            Request::Write { paths, new_text }
        }
        // Grep (ripgrep) skips hidden files, unless a glob or a file type
        // brings them back; Glob's pattern names the files it lists.
        // A glob restricts the files read only when gate's glob reads it as
        // ripgrep does: `{a,b}` alternation, `!x` exclusion, classes and
        // escapes are not restrictions gate can vouch for.
        Kind::Search if tool == "Grep" => Request::Search {
            root: s("path"),
            names: s("glob"),
            only: s("glob").filter(|g| !g.contains(['{', '}', '!', '[', ']', '\\', ','])),
            hidden: s("glob").is_some() || s("type").is_some(),
        },
        Kind::Search => {
            Request::Search { root: s("path"), names: s("glob").or_else(|| s("pattern")), only: None, hidden: false }
        }
        Kind::Fetch => Request::Fetch { url: s("url").unwrap_or_default() },
        Kind::Mcp => {
            let mut it = tool.splitn(3, "__");
            let (_, server, name) = (it.next(), it.next().unwrap_or(""), it.next().unwrap_or(""));
            Request::Mcp { server: server.to_string(), tool: name.to_string() }
        }
        Kind::Agent => Request::Subagent,
        Kind::Other if INTERNAL_TOOLS.contains(&tool) => Request::Internal,
        Kind::Other => Request::Unknown,
    }
}

/// Render gate's reply in Claude Code's protocol: (stdout, exit code).
///
/// PreToolUse takes `hookSpecificOutput.permissionDecision`; a
/// PermissionRequest takes `decision.behavior`, and has no `ask`: saying
/// nothing there lets Claude's own dialog appear.
fn render(event: &HookEvent, reply: &Reply) -> (String, i32) {
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

/// The text Claude Code puts in the tool result of a call the user rejected
/// in its permission dialog (2.1.x); feedback, when given, follows it.
const REJECTION_TEXT: &str = "The user doesn't want to proceed with this tool use.";

/// Is this transcript line Claude Code's own record that the user rejected
/// the call `id`? Only a parsed user message whose content holds a
/// `tool_result` for exactly that `tool_use_id`, marked `is_error`, whose
/// text starts with the rejection sentence, counts. Anything a command
/// printed lands in the result of its own call, so an allowed command that
/// prints `toolu_A was rejected` cannot stand in for a rejection of toolu_A.
/// (Which lines are worth parsing at all is the transcript scan's choice:
/// `broker::reconcile_rejections`.)
fn is_rejection_record(line: &str, id: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { return false };
    if v.get("type").and_then(|t| t.as_str()) != Some("user") {
        return false;
    }
    // Claude's own test for a rejection (read from the 2.1.328 binary):
    // `toolUseResult === "User rejected tool use"`. A tool's own error
    // result (an MCP server's reply) carries its result there instead.
    if v.get("toolUseResult").and_then(|t| t.as_str()) != Some("User rejected tool use") {
        return false;
    }
    // Claude marks what kind of denial it was; when it says, it must be the user's.
    if let Some(kind) = v.get("toolDenialKind").and_then(|k| k.as_str()) {
        if kind != "user-rejected" {
            return false;
        }
    }
    let Some(msg) = v.get("message") else { return false };
    if msg.get("role").and_then(|r| r.as_str()).is_some_and(|r| r != "user") {
        return false;
    }
    let Some(blocks) = msg.get("content").and_then(|c| c.as_array()) else { return false };
    blocks.iter().any(|b| {
        let text = match b.get("content") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Array(parts)) => {
                parts.iter().find_map(|p| p.get("text").and_then(|t| t.as_str())).unwrap_or("").to_string()
            }
            _ => String::new(),
        };
        b.get("type").and_then(|t| t.as_str()) == Some("tool_result")
            && b.get("tool_use_id").and_then(|t| t.as_str()) == Some(id)
            && b.get("is_error").and_then(|e| e.as_bool()) == Some(true)
            && text.starts_with(REJECTION_TEXT)
    })
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

    #[test]
    fn only_the_agents_own_rejection_record_counts() {
        let rej = "The user doesn't want to proceed with this tool use. The tool use was rejected (eg. if it was a file edit, the new_string was NOT written to the file). STOP what you are doing and wait for the user to tell you how to proceed.";
        let record = |id: &str, is_error: bool, content: serde_json::Value| {
            json!({"type": "user", "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "is_error": is_error, "content": content}]}, "toolUseResult": "User rejected tool use"}).to_string()
        };
        let cases: Vec<(&str, String, bool)> = vec![
            ("the real record", record("toolu_A", true, json!(rej)), true),
            ("content as text blocks", record("toolu_A", true, json!([{"type": "text", "text": rej}])), true),
            ("another call's output quoting it", record("toolu_B", false, json!(format!("toolu_A {rej} was rejected"))), false),
            ("another call's failing output", record("toolu_B", true, json!(format!("toolu_A\n{rej}"))), false),
            ("the call's own output, not an error", record("toolu_A", false, json!(rej)), false),
            ("the call failed, printing the text later", record("toolu_A", true, json!(format!("Exit code 1\n{rej}"))), false),
            ("a prefix of the id", record("toolu_AB", true, json!(rej)), false),
            ("an assistant message", json!({"type": "assistant", "message": {"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "toolu_A", "is_error": true, "content": rej}]}}).to_string(), false),
            ("a denial by a permission rule", json!({"type": "user", "toolDenialKind": "permission-rule", "toolUseResult": "User rejected tool use", "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_A", "is_error": true, "content": rej}]}}).to_string(), false),
            ("text that is not JSON", format!("\"tool_result\" toolu_A was rejected {rej}"), false),
            (
                "a tool's own error result starting with the sentence",
                json!({"type": "user", "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_A", "is_error": true, "content": rej}]}, "toolUseResult": {"content": rej}}).to_string(),
                false,
            ),
        ];
        for (what, line, want) in cases {
            assert_eq!(is_rejection_record(&line, "toolu_A"), want, "{what}");
        }
    }

    #[test]
    fn an_id_written_escaped_is_still_found() {
        // The id is compared parsed: one written with JSON escapes counts.
        let rej = "The user doesn't want to proceed with this tool use.";
        let line = |id_json: &str| {
            format!(
                r#"{{"type":"user","message":{{"role":"user","content":[{{"type":"tool_result","tool_use_id":{id_json},"is_error":true,"content":"{rej}"}}]}},"toolUseResult":"User rejected tool use"}}"#
            )
        };
        let cases: &[(&str, &str, bool)] = &[
            ("toolu_A-1", r#""toolu_A-1""#, true),
            ("t\u{f6}olu", r#""t\u00f6olu""#, true),
            ("toolu_\"x", r#""toolu_\"x""#, true),
            ("toolu/A", r#""toolu\/A""#, true),
            ("toolu/A", r#""toolu\/B""#, false),
            ("toolu_A", r#""toolu_B""#, false),
        ];
        for (id, id_json, want) in cases {
            assert_eq!(is_rejection_record(&line(id_json), id), *want, "{id:?} written as {id_json}");
        }
    }
}
