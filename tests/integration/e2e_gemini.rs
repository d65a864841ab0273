//! End to end with the real Gemini CLI (`@google/gemini-cli`, installed by
//! `./test.sh`) against the scripted Gemini API server in
//! `tests/e2e/fake_gemini.py` on 127.0.0.1 (harness in `e2e.rs`). gate is
//! hooked in by the real `gate install gemini`, whose policy file lets every
//! call through Gemini's own engine so that gate's hook decides: headless,
//! without `--yolo`, Gemini offers its shell and write tools only because of
//! it. gate never answers Gemini `ask`; without a `gate watch` inbox a call
//! it would ask about is denied. Without the CLI the test is skipped, unless
//! `GATE_E2E_REQUIRE=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::e2e::{
    agent_cli, agent_command, assert_policy_asks, assert_story, gate_install, project_with_build, result_text,
    run_agent, Api, ModelServer,
};
use crate::util::TestEnv;

/// The Gemini CLI, if installed.
pub fn gemini_cli() -> Option<PathBuf> {
    agent_cli("Gemini CLI", "GATE_E2E_GEMINI", "gemini")
}

/// The only thing added to the settings `gate install gemini` wrote: log in
/// with an API key (the model server's URL and the key are in the
/// environment). Without it, `GOOGLE_GEMINI_BASE_URL` selects the gateway
/// auth type, which fails.
fn use_api_key(env: &TestEnv) {
    let path = env.home().join(".gemini/settings.json");
    let mut settings: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("gate install gemini writes settings.json"))
            .unwrap();
    settings["security"] = json!({"auth": {"selectedType": "gemini-api-key"}});
    std::fs::write(&path, serde_json::to_string_pretty(&settings).unwrap()).unwrap();
}

/// `gemini -p` in the project, against the model server. No `--yolo`.
fn gemini_command(env: &TestEnv, cli: &Path, server: &ModelServer, prompt: &str) -> Command {
    let mut c = agent_command(env, cli);
    c.env("GOOGLE_GEMINI_BASE_URL", format!("http://127.0.0.1:{}", server.port))
        .env("GEMINI_API_KEY", "dummy")
        // An untrusted folder exits at once (55); a user trusts it on first run.
        .env("GEMINI_CLI_TRUST_WORKSPACE", "true")
        .args(["-p", prompt, "-o", "json"]);
    c
}

#[test]
fn gemini_denied_rm_and_write_do_not_run_and_allowed_git_status_does() {
    let Some(cli) = gemini_cli() else { return };
    let env = TestEnv::new();
    project_with_build(&env);
    let notes = env.project().join("notes.txt");
    let notes_str = notes.to_str().unwrap();
    let server = ModelServer::start(
        Api::Gemini,
        env.dir.path(),
        &json!([
            {"tool": "run_shell_command", "input": {"command": "rm -r build", "description": "clean"}},
            {"tool": "write_file", "input": {"file_path": notes_str, "content": "hello\n"}},
            {"tool": "run_shell_command", "input": {"command": "git status", "description": "status"}}
        ]),
    );

    // gate's default policy asks about `rm -r` and about writes; Gemini is
    // never handed an ask, and with no `gate watch` open the hook denies.
    assert_policy_asks(&env, "gemini", "rm -r build");

    let installed = gate_install(&env, "gemini");
    assert!(installed.contains("policies/gate.toml"), "{installed}");
    use_api_key(&env);

    let stdout = run_agent("gemini", gemini_command(&env, &cli, &server, "clean up, add notes, then show status"));
    let answer: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    assert_eq!(answer["response"], "done", "the run did not reach the end of the script: {stdout}");

    // The denied command and write did not run.
    assert!(env.project().join("build/keep.txt").exists(), "rm -r ran despite gate's deny");
    assert!(!notes.exists(), "write_file ran despite gate's deny");

    // The model was told why, and git status really ran.
    let results = server.tool_results();
    assert_eq!(results.len(), 3, "{results:#?}");
    let denied = result_text(&results[0]);
    assert!(results[0]["response"]["output"].is_null(), "{results:#?}");
    assert!(denied.starts_with("Tool execution blocked: gate asks"), "{denied}");
    assert!(denied.contains("no `gate watch` inbox is open"), "{denied}");
    let write_denied = result_text(&results[1]);
    assert_eq!(results[1]["name"], "write_file");
    assert!(write_denied.starts_with("Tool execution blocked: gate asks: write_file would change"), "{write_denied}");
    assert!(results[2]["response"]["error"].is_null(), "{results:#?}");
    let status = result_text(&results[2]);
    assert!(status.contains("No commits yet") && status.contains("build/"), "{status}");

    // Every call left a decision, git status also an outcome, and the session
    // reads back as a story.
    let story = assert_story(
        &env,
        "gemini-cli",
        &[
            ("run_shell_command", "rm -r build", "denied"),
            ("write_file", notes_str, "denied"),
            ("run_shell_command", "git status", "auto-approved"),
        ],
        "success",
    );
    assert_eq!(answer["session_id"], story.ran["session_id"], "gate's session is Gemini's");
}
