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
use std::time::Duration;

use serde_json::json;

use crate::e2e::{agent_cli, gate_install, git_init, result_text, run_with_limit, Api, ModelServer};
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
    let mut c = Command::new(cli);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.home())
        .env("GATE_HOME", env.gate_home())
        .env("SHELL", "/bin/bash")
        .env("FAKE_API_KEY", "dummy")
        .current_dir(env.project())
        .args(["exec", "--json", "-s", "workspace-write", prompt]);
    c
}

#[test]
fn codex_denied_rm_and_patch_do_not_run_and_allowed_git_status_does() {
    let Some(cli) = codex_cli() else { return };
    let env = TestEnv::new();
    git_init(&env.project());
    std::fs::create_dir_all(env.project().join("build")).unwrap();
    std::fs::write(env.project().join("build/keep.txt"), "precious").unwrap();
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
    let check = crate::util::stdout(&env.run(&["check", "--agent", "codex", "--", "rm -r build"]));
    assert!(check.starts_with("ask:"), "{check}");

    let installed = gate_install(&env, "codex");
    assert!(installed.contains("trusted gate's 3 hooks"), "{installed}");
    use_model_server(&env, &server);

    let started = std::time::Instant::now();
    let out =
        run_with_limit(codex_command(&env, &cli, "clean up, add notes, then show status"), Duration::from_secs(90));
    let stdout = crate::util::stdout(&out);
    assert!(out.status.success(), "codex failed: {stdout}\n{}", crate::util::stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(60), "codex took {:?}", started.elapsed());
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

    // Every call left a decision; git status also an outcome linked to it.
    let rows = env.rows();
    let decisions: Vec<(&str, &str, &str)> = rows
        .iter()
        .filter(|r| r["kind"] == "decision")
        .map(|r| {
            (r["tool"].as_str().unwrap_or(""), r["target"].as_str().unwrap_or(""), r["decision"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("Bash", "rm -r build", "denied"),
            ("apply_patch", "notes.txt", "denied"),
            ("Bash", "git status", "auto-approved")
        ]
    );
    let git = rows.iter().find(|r| r["kind"] == "decision" && r["target"] == "git status").unwrap();
    let outcomes: Vec<_> = rows.iter().filter(|r| r["kind"] == "outcome").collect();
    assert_eq!(outcomes.len(), 1, "denied calls have no outcome: {outcomes:#?}");
    assert_eq!(outcomes[0]["links_seq"], git["seq"]);
    // Codex reports a shell result as bare output, with no exit status: all
    // gate can record is that the command ran.
    assert_eq!(outcomes[0]["outcome"], "ran");
    assert!(rows.iter().all(|r| r["agent"] == "codex" && r["session_id"] == git["session_id"]), "{rows:#?}");

    // The session reads back as a story, and the chain verifies.
    let log = crate::util::stdout(&env.run(&["log", git["session_id"].as_str().unwrap()]));
    assert!(log.contains("codex"), "{log}");
    assert!(log.contains("denied") && log.contains("rm -r build") && log.contains("→ not run"), "{log}");
    assert!(log.contains("apply_patch  notes.txt  → not run"), "{log}");
    assert!(log.contains("auto-approved") && log.contains("git status") && log.contains("→ ran"), "{log}");
    assert_eq!(env.run(&["verify"]).status.code(), Some(0));
}
