//! End to end with the real GitHub Copilot CLI (`@github/copilot`, installed
//! by `./test.sh`) against the scripted Chat Completions server in
//! `tests/e2e/fake_chat.py` on 127.0.0.1 (harness in `e2e.rs`), offline (no
//! GitHub login). gate is hooked in by the real `gate install copilot`
//! (`~/.copilot/hooks/gate.json`, picked up with no trust step). gate hands
//! a question to Copilot as `ask`; under `-p` nobody can answer it, so
//! Copilot itself refuses the call. Without the CLI the test is skipped,
//! unless `GATE_E2E_REQUIRE=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::e2e::{
    agent_cli, agent_command, assert_policy_asks, assert_story, gate_install, project_with_build, result_text,
    run_agent, Api, ModelServer,
};
use crate::util::TestEnv;

/// The Copilot CLI, if installed.
pub fn copilot_cli() -> Option<PathBuf> {
    agent_cli("Copilot CLI", "GATE_E2E_COPILOT", "copilot")
}

/// `copilot -p` in the project, against the model server (a BYOK provider:
/// nothing is added to what `gate install copilot` wrote).
fn copilot_command(env: &TestEnv, cli: &Path, server: &ModelServer, prompt: &str) -> Command {
    let mut c = agent_command(env, cli);
    c.env("SHELL", "/bin/bash")
        // Without it Copilot still reaches for api.github.com.
        .env("COPILOT_OFFLINE", "true")
        .env("COPILOT_PROVIDER_BASE_URL", format!("http://127.0.0.1:{}/v1", server.port))
        .env("COPILOT_PROVIDER_API_KEY", "dummy")
        .env("COPILOT_MODEL", "gpt-4.1")
        .env("COPILOT_AUTO_UPDATE", "false")
        // `-p` needs --allow-all-tools: Copilot's own rules let every call
        // through, so gate's preToolUse hook decides.
        .args(["-p", prompt, "--allow-all-tools", "--no-auto-update"]);
    c
}

#[test]
fn copilot_asked_rm_and_create_do_not_run_and_allowed_git_status_does() {
    let Some(cli) = copilot_cli() else { return };
    let env = TestEnv::new();
    project_with_build(&env);
    let notes = env.project().join("notes.txt");
    let notes_str = notes.to_str().unwrap();
    let server = ModelServer::start(
        Api::OpenAiChat,
        env.dir.path(),
        &json!([
            {"tool": "bash", "input": {"command": "rm -r build", "description": "clean"}},
            {"tool": "create", "input": {"path": notes_str, "file_text": "hello\n"}},
            {"tool": "bash", "input": {"command": "git status", "description": "status"}}
        ]),
    );

    // gate's default policy asks about `rm -r` and about writes, and Copilot
    // can ask its user, so the question goes to Copilot.
    assert_policy_asks(&env, "copilot", "rm -r build");

    let installed = gate_install(&env, "copilot");
    assert!(installed.contains(".copilot/hooks/gate.json"), "{installed}");

    let stdout = run_agent("copilot", copilot_command(&env, &cli, &server, "clean up, add notes, then show status"));
    assert!(stdout.contains("done"), "the run did not reach the end of the script: {stdout}");

    // The asked command and write did not run: under -p Copilot refuses an ask.
    assert!(env.project().join("build/keep.txt").exists(), "rm -r ran despite gate's ask");
    assert!(!notes.exists(), "create ran despite gate's ask");

    // The model was told why (gate's reason, through Copilot's refusal),
    // and git status really ran.
    let results = server.tool_results();
    assert_eq!(results.len(), 3, "{results:#?}");
    let asked = result_text(&results[0]);
    assert!(asked.starts_with("Denied by preToolUse hook (unable to ask user for confirmation): gate asks"), "{asked}");
    let create_asked = result_text(&results[1]);
    assert!(
        create_asked.starts_with("Denied by preToolUse hook (unable to ask user for confirmation): gate asks"),
        "{create_asked}"
    );
    assert!(create_asked.contains("notes.txt"), "{create_asked}");
    let status = result_text(&results[2]);
    assert!(status.contains("No commits yet") && status.contains("build/"), "{status}");
    assert!(status.contains("completed with exit code 0"), "{status}");

    // Every call left a decision, git status also an outcome, and the session
    // reads back as a story. Copilot sends no hook event for a call it
    // refused, so gate cannot tell that the asked calls never ran: they stay
    // `asked`, and their lines end without an outcome.
    assert_story(
        &env,
        "copilot-cli",
        &[("bash", "rm -r build", "asked"), ("create", notes_str, "asked"), ("bash", "git status", "auto-approved")],
        "success",
    );
}
