//! Every adapter fed its agent's real payloads (`tests/fixtures/<agent>-<version>/`,
//! captured from the real CLIs): the exact answer each protocol takes, and the
//! receipt rows that name the agent. One table row per payload.

use serde_json::{json, Value};

use crate::ask::{spawn_hook, FakeInbox};
use crate::util::{stderr, stdout, TestEnv};

/// What the hook must print: nothing, or exactly this JSON.
enum Want {
    Silent,
    Json(Value),
    /// JSON whose `path` holds this decision, with a reason containing the text.
    Decision {
        path: &'static [&'static str],
        decision: &'static str,
        reason_has: &'static str,
    },
}

/// (fixture, what the hook prints, the receipt's decision for it, or "-" for no row)
type Case = (&'static str, Want, &'static str);

fn codex_pre(decision: &'static str, reason_has: &'static str) -> Want {
    Want::Decision { path: &["hookSpecificOutput", "permissionDecision"], decision, reason_has }
}

fn perm(behavior: &'static str) -> Want {
    Want::Decision { path: &["hookSpecificOutput", "decision", "behavior"], decision: behavior, reason_has: "" }
}

fn gemini(decision: &'static str, reason_has: &'static str) -> Want {
    Want::Decision { path: &["decision"], decision, reason_has }
}

fn git_project(env: &TestEnv) {
    let ok = std::process::Command::new("git").args(["init", "-q"]).current_dir(env.project()).status().unwrap();
    assert!(ok.success());
    std::fs::write(env.project().join("README.md"), "hello\n").unwrap();
}

/// Feed a payload the way an installed hook does (`gate hook --agent NAME`).
fn hook_as(env: &TestEnv, agent: &str, payload: &Value) -> std::process::Output {
    env.run_with_stdin(&["hook", "--agent", agent], payload.to_string().as_bytes())
}

fn check(env: &TestEnv, agent: &str, fixture: &str, payload: &Value, want: &Want, row: &str) {
    let out = hook_as(env, agent, payload);
    assert_eq!(out.status.code(), Some(0), "{fixture}: {}", stderr(&out));
    let text = stdout(&out);
    match want {
        Want::Silent => assert_eq!(text.trim(), "", "{fixture} prints nothing"),
        Want::Json(v) => assert_eq!(serde_json::from_str::<Value>(text.trim()).unwrap(), *v, "{fixture}"),
        Want::Decision { path, decision, reason_has } => {
            let v: Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{fixture}: {e}: {text:?}"));
            let got = path.iter().fold(&v, |v, k| &v[*k]);
            assert_eq!(got, decision, "{fixture}: {v}");
            let reason = v["hookSpecificOutput"]["permissionDecisionReason"]
                .as_str()
                .or(v["hookSpecificOutput"]["decision"]["message"].as_str())
                .or(v["reason"].as_str())
                .or(v["permissionDecisionReason"].as_str())
                .or(v["agent_message"].as_str())
                .unwrap_or("");
            assert!(reason.contains(reason_has), "{fixture}: reason {reason:?} lacks {reason_has:?}");
            if *decision == "deny" {
                assert!(!reason.trim().is_empty(), "{fixture}: a deny needs a reason");
            }
        }
    }
    let rows = if env.db_path().exists() { env.rows() } else { Vec::new() };
    match row {
        "-" => assert!(rows.is_empty(), "{fixture} leaves no row: {rows:?}"),
        d => {
            let last = rows.last().unwrap_or_else(|| panic!("{fixture}: no row"));
            assert_eq!(last["decision"].as_str().or(last["outcome"].as_str()), Some(d), "{fixture}: {last}");
        }
    }
}

fn run_cases(cases: &[Case], agent: &str) {
    for (fixture, want, row) in cases {
        let env = TestEnv::new();
        git_project(&env);
        let payload = env.agent_fixture(fixture);
        check(&env, agent.trim_end_matches("-cli"), fixture, &payload, want, row);
        let rows = if env.db_path().exists() { env.rows() } else { Vec::new() };
        if let Some(last) = rows.last() {
            assert_eq!(last["agent"], agent, "{fixture}");
        }
    }
}

#[test]
fn codex_payloads_get_codex_answers() {
    let cases: &[Case] = &[
        // PreToolUse only denies; anything else says nothing.
        ("codex-0.169.0/PreToolUse-Bash-rm", codex_pre("deny", "recursive forced deletion"), "denied"),
        ("codex-0.169.0/exec/PreToolUse-Bash-rm", codex_pre("deny", "recursive forced deletion"), "denied"),
        ("codex-0.169.0/PreToolUse-Bash-git", Want::Silent, "auto-approved"),
        ("codex-0.169.0/exec/PreToolUse-Bash-git", Want::Silent, "auto-approved"),
        // An ask cannot be handed to Codex from PreToolUse: without an inbox it denies.
        ("codex-0.169.0/PreToolUse-Bash-touch", codex_pre("deny", "gate watch"), "denied"),
        ("codex-0.169.0/PreToolUse-apply_patch", codex_pre("deny", "hello.txt"), "denied"),
        ("codex-0.169.0/exec/PreToolUse-apply_patch", codex_pre("deny", "hello.txt"), "denied"),
        ("codex-0.169.0/PreToolUse-mcp__srv__echo", codex_pre("deny", "mcp__srv__echo"), "denied"),
        // PermissionRequest carries gate's allows, and falls through to Codex's prompt on an ask.
        ("codex-0.169.0/PermissionRequest-Bash-git", perm("allow"), "auto-approved"),
        ("codex-0.169.0/PermissionRequest-Bash-rm", perm("deny"), "denied"),
        ("codex-0.169.0/PermissionRequest-Bash-touch", Want::Silent, "asked"),
        ("codex-0.169.0/PermissionRequest-apply_patch", Want::Silent, "asked"),
        // Sessions are rows; the rest passes untouched.
        ("codex-0.169.0/SessionStart", Want::Silent, "start"),
        ("codex-0.169.0/SessionEnd", Want::Silent, "end"),
        ("codex-0.169.0/UserPromptSubmit", Want::Silent, "-"),
        ("codex-0.169.0/Stop", Want::Silent, "-"),
        ("codex-0.169.0/PreModelRequest", Want::Silent, "-"),
        ("codex-0.169.0/PostModelRequest", Want::Silent, "-"),
        ("codex-0.169.0/PreCompact", Want::Silent, "-"),
        ("codex-0.169.0/PostCompact", Want::Silent, "-"),
        ("codex-0.169.0/Interrupt", Want::Silent, "-"),
    ];
    run_cases(cases, "codex");
}

#[test]
fn gemini_payloads_get_gemini_answers_and_never_ask() {
    let cases: &[Case] = &[
        ("gemini-cli-0.61.0/BeforeTool-run_shell_command-rm", gemini("deny", "recursive forced deletion"), "denied"),
        ("gemini-cli-0.61.0/BeforeTool-run_shell_command-git", gemini("allow", "floor:git-status"), "auto-approved"),
        ("gemini-cli-0.61.0/BeforeTool-read_file", gemini("allow", "floor:file-tools"), "auto-approved"),
        // Gemini hangs headless on `ask`: with no inbox, a question denies.
        ("gemini-cli-0.61.0/BeforeTool-write_file", gemini("deny", "gate watch"), "denied"),
        ("gemini-cli-0.61.0/BeforeTool-mcp_srv_echo", gemini("deny", "mcp_srv_echo"), "denied"),
        ("gemini-cli-0.61.0/SessionStart", Want::Silent, "start"),
        ("gemini-cli-0.61.0/SessionEnd", Want::Silent, "end"),
        ("gemini-cli-0.61.0/BeforeAgent", Want::Silent, "-"),
        ("gemini-cli-0.61.0/AfterAgent", Want::Silent, "-"),
        ("gemini-cli-0.61.0/BeforeModel", Want::Silent, "-"),
        ("gemini-cli-0.61.0/AfterModel", Want::Silent, "-"),
        ("gemini-cli-0.61.0/BeforeToolSelection", Want::Silent, "-"),
        ("gemini-cli-0.61.0/Notification", Want::Silent, "-"),
        ("gemini-cli-0.61.0/PreCompress", Want::Silent, "-"),
    ];
    run_cases(cases, "gemini-cli");
}

fn copilot(decision: &'static str, reason_has: &'static str) -> Want {
    Want::Decision { path: &["permissionDecision"], decision, reason_has }
}

fn cursor(decision: &'static str, reason_has: &'static str) -> Want {
    Want::Decision { path: &["permission"], decision, reason_has }
}

#[test]
fn copilot_payloads_get_copilot_answers() {
    let cases: &[Case] = &[
        ("copilot-1.0.102/preToolUse-bash-git", copilot("allow", "floor:git-status"), "auto-approved"),
        ("copilot-1.0.102/preToolUse-view", copilot("allow", "floor:file-tools"), "auto-approved"),
        // Copilot shows its own prompt for an ask (and refuses it under -p).
        ("copilot-1.0.102/preToolUse-create", copilot("ask", "would change"), "asked"),
        ("copilot-1.0.102/preToolUse-edit", copilot("ask", "would change"), "asked"),
        // A post event alone (its decision was in another run) still records what ran.
        ("copilot-1.0.102/postToolUse-bash-git", Want::Silent, "success"),
        ("copilot-1.0.102/postToolUse-bash-exit1", Want::Silent, "error"),
    ];
    run_cases(cases, "copilot-cli");
}

#[test]
fn hermes_payloads_get_block_answers_only() {
    let cases: &[Case] = &[
        ("hermes-agent-0.19.0/pre_tool_call-terminal-git", Want::Json(json!({})), "auto-approved"),
        ("hermes-agent-0.19.0/post_tool_call-terminal-git", Want::Silent, "success"),
        // A call a hook blocked did not run: no outcome row.
        ("hermes-agent-0.19.0/post_tool_call-terminal-blocked", Want::Silent, "-"),
    ];
    run_cases(cases, "hermes");
    // Destructive, asked and unreadable calls all get the one answer Hermes obeys.
    let env = TestEnv::new();
    git_project(&env);
    let mut p = env.agent_fixture("hermes-agent-0.19.0/pre_tool_call-terminal-git");
    for (command, has) in [("rm -rf build", "recursive forced deletion"), ("touch x", "gate watch")] {
        p["tool_input"]["command"] = json!(command);
        let out = hook_as(&env, "hermes", &p);
        assert_eq!(out.status.code(), Some(0), "{command}");
        let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(v["decision"], "block", "{command}");
        assert!(v["reason"].as_str().unwrap().contains(has), "{command}: {v}");
    }
    for junk in ["{not json", "{\"hook_event_name\": \"pre_tool_call\"}"] {
        let out = env.run_with_stdin(&["hook", "--agent", "hermes"], junk.as_bytes());
        let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap_or_else(|e| panic!("{junk}: {e}: {out:?}"));
        assert_eq!(v["decision"], "block", "{junk}");
    }
}

/// Red-team regressions for Hermes' tool shapes: the terminal's `workdir`,
/// a `patch` with both a path and a patch text, Hermes' own credentials.
#[test]
fn hermes_tools_are_judged_where_and_on_what_they_act() {
    let env = TestEnv::new();
    git_project(&env);
    let h = env.home();
    std::fs::create_dir_all(h.join(".config/gh")).unwrap();
    std::fs::write(h.join(".config/gh/hosts.yml"), "oauth_token: gho_x").unwrap();
    std::fs::create_dir_all(h.join(".hermes")).unwrap();
    std::fs::write(h.join(".hermes/auth.json"), "{}").unwrap();
    // An allow rule for the project's own files: it must not reach files a patch names elsewhere.
    std::fs::write(
        env.gate_home().join("policy.toml"),
        format!(
            "[[rule]]\nid = \"proj\"\ndecision = \"allow\"\ntool = [\"write\", \"edit\"]\npath = \"{}/**\"\n",
            env.project().display()
        ),
    )
    .unwrap();
    let call = |tool: &str, input: Value| {
        let p = json!({"hook_event_name": "pre_tool_call", "tool_name": tool, "tool_input": input, "session_id": "hs1",
                       "cwd": env.project(), "extra": {"tool_call_id": "hc1"}});
        let out = hook_as(&env, "hermes", &p);
        serde_json::from_str::<Value>(stdout(&out).trim()).unwrap()
    };
    let allow = |patch: &str| json!({"mode": "patch", "path": "notes.txt", "patch": patch});
    let cases: Vec<(&str, Value, &str)> = vec![
        ("terminal", json!({"command": "cat hosts.yml", "workdir": h.join(".config/gh")}), "block"),
        ("terminal", json!({"command": "cat README.md", "workdir": env.project()}), "{}"),
        ("read_file", json!({"path": h.join(".hermes/auth.json")}), "block"),
        (
            "patch",
            allow(&format!(
                "*** Begin Patch\n*** Add File: {}/.hermes/shell-hooks-allowlist.json\n+{{}}\n*** End Patch",
                h.display()
            )),
            "block",
        ),
        (
            "patch",
            allow(&format!("*** Begin Patch\n*** Move File: notes.txt -> {}/.bashrc\n*** End Patch", h.display())),
            "block",
        ),
        ("patch", json!({"mode": "replace", "path": "notes.txt", "old_string": "a", "new_string": "b"}), "{}"),
    ];
    for (tool, input, want) in cases {
        let got = call(tool, input.clone());
        let said = if got == json!({}) { "{}" } else { got["decision"].as_str().unwrap_or("?") };
        assert_eq!(said, want, "{tool} {input}: {got}");
    }
}

#[test]
fn cursor_payloads_get_cursor_answers_and_never_ask() {
    let cases: &[Case] = &[
        ("cursor-docs/preToolUse-Shell-rm", cursor("deny", "recursive forced deletion"), "denied"),
        ("cursor-docs/preToolUse-Shell-git", cursor("allow", "floor:git-status"), "auto-approved"),
        ("cursor-docs/preToolUse-Read", cursor("allow", "floor:file-tools"), "auto-approved"),
        ("cursor-docs/preToolUse-Write", cursor("deny", "gate watch"), "denied"),
        ("cursor-docs/stop", Want::Silent, "-"),
    ];
    run_cases(cases, "cursor");
    // The tool_use_id with a newline is kept as sent, and links the outcome.
    let env = TestEnv::new();
    git_project(&env);
    let mut pre = env.agent_fixture("cursor-docs/preToolUse-Shell-git");
    pre["tool_use_id"] = json!("toolu_02\nB");
    let mut post = env.agent_fixture("cursor-docs/postToolUse-Shell-git");
    post["tool_use_id"] = json!("toolu_02\nB");
    hook_as(&env, "cursor", &pre);
    hook_as(&env, "cursor", &post);
    let rows = env.rows();
    assert_eq!(rows[0]["tool_use_id"], "toolu_02\nB");
    assert_eq!(rows[1]["links_seq"], rows[0]["seq"]);
}

/// Payloads are recognised without `--agent`, each by its own adapter.
#[test]
fn each_agent_is_recognised_by_its_payload() {
    let cases = [
        ("claude-code-2.1.328/PreToolUse-Bash-git", "claude-code"),
        ("codex-0.169.0/PreToolUse-Bash-git", "codex"),
        ("codex-0.169.0/SessionStart", "codex"),
        ("gemini-cli-0.61.0/BeforeTool-run_shell_command-git", "gemini-cli"),
        ("copilot-1.0.102/preToolUse-bash-git", "copilot-cli"),
        ("hermes-agent-0.19.0/pre_tool_call-terminal-git", "hermes"),
        ("cursor-docs/preToolUse-Shell-git", "cursor"),
    ];
    for (fixture, agent) in cases {
        let env = TestEnv::new();
        git_project(&env);
        let out = env.hook(&env.agent_fixture(fixture));
        assert_eq!(out.status.code(), Some(0), "{fixture}: {}", stderr(&out));
        assert_eq!(env.rows()[0]["agent"], agent, "{fixture}");
    }
}

#[test]
fn outcomes_link_to_their_decisions_without_a_tool_use_id() {
    // Gemini's BeforeTool has no tool_use_id: the outcome finds its decision
    // by session, tool and arguments.
    let env = TestEnv::new();
    git_project(&env);
    let before = env.agent_fixture("gemini-cli-0.61.0/BeforeTool-run_shell_command-git");
    let mut after = env.agent_fixture("gemini-cli-0.61.0/AfterTool-run_shell_command-git");
    after["session_id"] = before["session_id"].clone();
    after["tool_input"] = before["tool_input"].clone();
    env.hook(&before);
    assert_eq!(stdout(&env.hook(&after)), "");
    // Codex's outcome carries the tool_use_id of its PreToolUse.
    let pre = env.agent_fixture("codex-0.169.0/PreToolUse-Bash-git");
    let mut post = env.agent_fixture("codex-0.169.0/PostToolUse-Bash-git");
    post["tool_use_id"] = pre["tool_use_id"].clone();
    env.hook(&pre);
    env.hook(&post);
    let rows = env.rows();
    assert_eq!(rows.len(), 4, "{rows:?}");
    // Codex reports a shell command's output without its exit code: it ran.
    for (decision, outcome, agent, status) in
        [(&rows[0], &rows[1], "gemini-cli", "success"), (&rows[2], &rows[3], "codex", "ran")]
    {
        assert_eq!(outcome["kind"], "outcome");
        assert_eq!(outcome["links_seq"], decision["seq"], "{agent}");
        assert_eq!(outcome["outcome"], status, "{agent}");
        assert_eq!(outcome["agent"], agent);
    }
    assert_eq!(env.run(&["verify"]).status.code(), Some(0));
}

#[test]
fn an_apply_patch_is_judged_by_the_files_it_touches() {
    let env = TestEnv::new();
    git_project(&env);
    let home = env.home().to_string_lossy().into_owned();
    let gate_home = env.gate_home().to_string_lossy().into_owned();
    let cases: &[(String, &str, &str)] = &[
        (
            format!("*** Begin Patch\n*** Add File: {home}/.claude/settings.json\n+{{}}\n*** End Patch\n"),
            "deny",
            "no-agent-hook-settings",
        ),
        (
            format!("*** Begin Patch\n*** Update File: {gate_home}/policy.toml\n@@\n-a\n+b\n*** End Patch\n"),
            "deny",
            "no-gate-files",
        ),
        (
            "*** Begin Patch\n*** Add File: .codex/hooks.json\n+{}\n*** End Patch\n".into(),
            "deny",
            "no-agent-hook-settings",
        ),
        ("*** Begin Patch\n*** Add File: notes.md\n+hi\n*** End Patch\n".into(), "deny", "gate watch"),
    ];
    for (patch, want, has) in cases {
        let mut p = env.agent_fixture("codex-0.169.0/PreToolUse-apply_patch");
        p["tool_input"]["command"] = json!(patch);
        let out = env.hook(&p);
        let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        assert_eq!(v["hookSpecificOutput"]["permissionDecision"], *want, "{patch}");
        let reason = v["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap();
        assert!(reason.contains(has), "{patch}: {reason}");
    }
}

#[test]
fn a_codex_approval_in_pretooluse_carries_to_its_permission_request() {
    let env = TestEnv::new();
    git_project(&env);
    let _inbox = FakeInbox::open(&env);
    let pre = env.agent_fixture("codex-0.169.0/PreToolUse-Bash-touch");
    let hook = spawn_hook(&env, &pre, &[("GATE_ASK_TIMEOUT", "20")]);
    let id = env.next_question_id();
    assert_eq!(env.run(&["approve", &id.to_string()]).status.code(), Some(0));
    let out = hook.wait_with_output().unwrap();
    assert_eq!(stdout(&out).trim(), "", "an approved call says nothing to Codex's PreToolUse");
    // Codex then asks its own question for the same call: gate answers it.
    let mut req = env.agent_fixture("codex-0.169.0/PermissionRequest-Bash-touch");
    req["session_id"] = pre["session_id"].clone();
    req["tool_input"] = pre["tool_input"].clone();
    let out = env.hook(&req);
    let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["hookSpecificOutput"]["decision"]["behavior"], "allow");
    let rows = env.rows();
    let last = rows.last().unwrap();
    assert_eq!(last["decision"], "approved");
    assert_eq!(last["links_seq"], rows[rows.len() - 2]["seq"]);
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&env.run(&["pending", "--json"]))).unwrap(),
        json!([]),
        "asked once"
    );
}

#[test]
fn gate_check_decides_as_each_agent() {
    let env = TestEnv::new();
    git_project(&env);
    for agent in ["claude", "codex", "gemini"] {
        let out = env.run(&["check", "--agent", agent, "--json", "--", "git status"]);
        assert_eq!(out.status.code(), Some(0), "{agent}: {}", stderr(&out));
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["decision"], "allow", "{agent}");
    }
    let out = env.run(&["check", "--agent", "nope", "--", "ls"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown agent \"nope\""), "{}", stderr(&out));
}
