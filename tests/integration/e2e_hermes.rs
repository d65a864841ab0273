//! End to end with the real Hermes agent (`hermes-agent` from PyPI, installed
//! by `./test.sh` into `.e2e/hermes-venv/`) against the scripted Chat
//! Completions server in `tests/e2e/fake_chat.py` on 127.0.0.1 (harness in
//! `e2e.rs`). gate is hooked in by the real `gate install hermes`, which
//! appends its `hooks:` block to `~/.hermes/config.yaml` and records the
//! user's consent in `~/.hermes/shell-hooks-allowlist.json`: without that
//! consent, Hermes with no terminal and no `--accept-hooks` skips the hooks
//! silently and every tool runs, so the test runs Hermes without
//! `--accept-hooks`. Hermes can only be told to block: gate blocks a call it
//! would ask about when no `gate watch` inbox is open. Without Hermes the
//! test is skipped, unless `GATE_E2E_REQUIRE=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::e2e::{
    agent_cli_at, agent_command, assert_policy_asks, assert_story, gate_install, project_with_build, result_text,
    run_agent, Api, ModelServer,
};
use crate::util::TestEnv;

/// The Hermes agent, if installed: `$GATE_E2E_HERMES`, else the venv `./test.sh` makes.
pub fn hermes_cli() -> Option<PathBuf> {
    agent_cli_at("Hermes agent", "GATE_E2E_HERMES", Path::new("hermes-venv/bin/hermes"))
}

/// Point Hermes at the model server: the only thing added to the config.yaml
/// `gate install hermes` wrote.
fn use_model_server(env: &TestEnv, server: &ModelServer) {
    let config = env.home().join(".hermes/config.yaml");
    let gate_part = std::fs::read_to_string(&config).expect("gate install hermes writes config.yaml");
    let text = format!(
        "model:\n  provider: custom\n  default: fake-model\n  base_url: http://127.0.0.1:{}/v1\n  api_key: dummy\n\n{gate_part}",
        server.port
    );
    std::fs::write(&config, text).unwrap();
}

/// `hermes -z` (one prompt, no terminal) in the project. No `--accept-hooks`.
fn hermes_command(env: &TestEnv, cli: &Path, prompt: &str) -> Command {
    let mut c = agent_command(env, cli);
    c.env("SHELL", "/bin/bash").args(["-z", prompt]);
    c
}

/// A Hermes tool result is the JSON text of `{"output", "exit_code", "error"}`.
fn result_json(block: &Value) -> Value {
    let text = result_text(block);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn hermes_blocked_rm_and_write_do_not_run_and_allowed_git_status_does() {
    let Some(cli) = hermes_cli() else { return };
    let env = TestEnv::new();
    project_with_build(&env);
    let notes = env.project().join("notes.txt");
    let notes_str = notes.to_str().unwrap();
    let server = ModelServer::start(
        Api::OpenAiChat,
        env.dir.path(),
        &json!([
            {"tool": "terminal", "input": {"command": "rm -r build"}},
            {"tool": "write_file", "input": {"path": notes_str, "content": "hello\n"}},
            {"tool": "terminal", "input": {"command": "git status"}}
        ]),
    );

    // gate's default policy asks about `rm -r` and about writes; Hermes
    // cannot ask, and with no `gate watch` open the hook blocks.
    assert_policy_asks(&env, "hermes", "rm -r build");

    let installed = gate_install(&env, "hermes");
    assert!(installed.contains(".hermes/config.yaml"), "{installed}");
    assert!(installed.contains("recorded your consent"), "{installed}");
    use_model_server(&env, &server);

    let stdout = run_agent("hermes", hermes_command(&env, &cli, "clean up, add notes, then show status"));
    assert!(stdout.contains("done"), "the run did not reach the end of the script: {stdout}");

    // The blocked command and write did not run.
    assert!(env.project().join("build/keep.txt").exists(), "rm -r ran despite gate's block");
    assert!(!notes.exists(), "write_file ran despite gate's block");

    // The model was told why, and git status really ran.
    let results = server.tool_results();
    assert_eq!(results.len(), 3, "{results:#?}");
    let blocked = result_json(&results[0]);
    let reason = blocked["error"].as_str().unwrap_or_default();
    assert!(reason.starts_with("gate asks"), "{blocked}");
    assert!(reason.contains("no `gate watch` inbox is open"), "{blocked}");
    assert!(blocked.get("output").is_none(), "{blocked}");
    assert_eq!(results[1]["name"], "write_file");
    let write_blocked = result_json(&results[1]);
    let write_reason = write_blocked["error"].as_str().unwrap_or_default();
    assert!(write_reason.starts_with("gate asks: write_file would change"), "{write_blocked}");
    let status = result_json(&results[2]);
    assert_eq!(status["exit_code"], 0, "{status}");
    assert!(status["error"].is_null(), "{status}");
    let output = status["output"].as_str().unwrap_or_default();
    assert!(output.contains("No commits yet") && output.contains("build/"), "{status}");

    // Every call left a decision, git status also an outcome, and the session
    // reads back as a story.
    let story = assert_story(
        &env,
        "hermes",
        &[
            ("terminal", "rm -r build", "denied"),
            ("write_file", notes_str, "denied"),
            ("terminal", "git status", "auto-approved"),
        ],
        "success",
    );
    // Hermes gives the model's call id, which links the outcome.
    let git = &story.ran;
    assert_eq!(story.outcome["tool_use_id"], git["tool_use_id"]);
    assert!(git["tool_use_id"].as_str().is_some_and(|id| id.starts_with("call_2_")), "{git}");
}
