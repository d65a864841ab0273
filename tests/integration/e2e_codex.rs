//! End to end with the real Codex CLI (`@openai/codex`, installed by
//! `./test.sh`) against the scripted Responses API server in
//! `tests/e2e/fake_openai.py` on 127.0.0.1 (harness in `e2e.rs`). gate is
//! hooked in by the real `gate install codex`, which also trusts its hooks
//! (Codex skips untrusted hooks silently). Under `codex exec` nothing can be
//! asked: PermissionRequest never fires, so a call gate would ask about is
//! denied from PreToolUse. Without the CLI the test is skipped, unless
//! `GATE_E2E_REQUIRE=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::e2e::{
    agent_cli, agent_command, assert_policy_asks, assert_story, gate_install, project_with_build, result_text,
    run_agent, Api, ModelServer,
};
use crate::util::TestEnv;

/// The Codex CLI, if installed.
pub fn codex_cli() -> Option<PathBuf> {
    agent_cli("Codex CLI", "GATE_E2E_CODEX", "codex")
}

/// Point Codex at the model server: the only thing added to what `gate
/// install codex` wrote in config.toml (top-level keys go before its tables).
fn use_model_server(env: &TestEnv, server: &ModelServer) {
    let config = env.home().join(".codex/config.toml");
    let gate_part = std::fs::read_to_string(&config).expect("gate install codex writes config.toml");
    let text = format!(
        "model = \"gpt-5.5\"\nmodel_provider = \"fake\"\n\n{gate_part}\n\
         [model_providers.fake]\nname = \"fake\"\nbase_url = \"http://127.0.0.1:{}/v1\"\n\
         wire_api = \"responses\"\nenv_key = \"FAKE_API_KEY\"\n\n\
         # Or Codex looks up remote hosts.\n[features]\nplugins = false\n",
        server.port
    );
    std::fs::write(&config, text).unwrap();
}

/// `codex exec` in the project. The workspace-write sandbox lets a command
/// gate does not deny really change the project.
fn codex_command(env: &TestEnv, cli: &Path, prompt: &str) -> Command {
    let mut c = agent_command(env, cli);
    c.env("SHELL", "/bin/bash").env("FAKE_API_KEY", "dummy").args(["exec", "--json", "-s", "workspace-write", prompt]);
    c
}

#[test]
fn codex_denied_rm_and_patch_do_not_run_and_allowed_git_status_does() {
    let Some(cli) = codex_cli() else { return };
    let env = TestEnv::new();
    project_with_build(&env);
    let patch = "*** Begin Patch\n*** Add File: notes.txt\n+hello\n*** End Patch\n";
    let server = ModelServer::start(
        Api::OpenAi,
        env.dir.path(),
        &json!([
            {"tool": "exec_command", "input": {"cmd": "rm -r build"}},
            {"tool": "apply_patch", "input": patch},
            {"tool": "exec_command", "input": {"cmd": "git status"}}
        ]),
    );

    // gate's default policy asks about `rm -r`; with no `gate watch` open and
    // no dialog under `codex exec`, the hook denies.
    assert_policy_asks(&env, "codex", "rm -r build");

    let installed = gate_install(&env, "codex");
    // PreToolUse, PermissionRequest, PostToolUse, SessionStart, SessionEnd.
    assert!(installed.contains("trusted gate's 5 hooks"), "{installed}");
    use_model_server(&env, &server);

    let stdout = run_agent("codex", codex_command(&env, &cli, "clean up, add notes, then show status"));
    assert!(stdout.contains(r#""text":"done""#), "the run did not reach the end of the script: {stdout}");

    // The denied command and patch did not run.
    assert!(env.project().join("build/keep.txt").exists(), "rm -r ran despite gate's deny");
    assert!(!env.project().join("notes.txt").exists(), "apply_patch ran despite gate's deny");

    // The model was told why, and git status really ran.
    let results = server.tool_results();
    assert_eq!(results.len(), 3, "{results:#?}");
    let denied = result_text(&results[0]);
    assert!(denied.starts_with("Command blocked by PreToolUse hook: gate asks"), "{denied}");
    assert!(denied.contains("no `gate watch` inbox is open"), "{denied}");
    assert_eq!(results[1]["type"], "custom_tool_call_output");
    let patch_denied = result_text(&results[1]);
    assert!(
        patch_denied.starts_with("Command blocked by PreToolUse hook: gate asks: apply_patch would change"),
        "{patch_denied}"
    );
    assert!(patch_denied.contains("notes.txt"), "{patch_denied}");
    let status = result_text(&results[2]);
    assert!(status.contains("Process exited with code 0"), "{status}");
    assert!(status.contains("No commits yet") && status.contains("build/"), "{status}");

    // Every call left a decision, git status also an outcome, and the session
    // reads back as a story. Codex reports a shell result as bare output, with
    // no exit status: all gate can record is that the command ran.
    assert_story(
        &env,
        "codex",
        &[
            ("Bash", "rm -r build", "denied"),
            ("apply_patch", "notes.txt", "denied"),
            ("Bash", "git status", "auto-approved"),
        ],
        "ran",
    );
}
