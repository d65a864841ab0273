//! End to end with the real Claude Code CLI (`@anthropic-ai/claude-code`,
//! installed by `./test.sh`) against the scripted model server in
//! `tests/e2e/fake_anthropic.py` on 127.0.0.1 (harness in `e2e.rs`). These
//! tests see what the agent really does with gate's answers: whether the
//! tool ran, and what the model was told. Without the CLI they are skipped,
//! unless `GATE_E2E_REQUIRE=1` (set by `.ci/run`) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::json;

use crate::e2e::{agent_cli, agent_command, assert_story, git_init, project_with_build, result_text, Api, ModelServer};
use crate::util::{TestEnv, GATE};

/// The Claude Code CLI, if installed.
pub fn claude_cli() -> Option<PathBuf> {
    agent_cli("Claude Code CLI", "GATE_E2E_CLAUDE", "claude")
}

/// Claude settings that hook gate in, as `gate install` would.
pub fn settings_file(env: &TestEnv) -> PathBuf {
    let command = format!("{GATE} hook --agent claude");
    let entry = json!([{"matcher": "*", "hooks": [{"type": "command", "command": command, "timeout": 900}]}]);
    let settings = json!({"hooks": {"PreToolUse": entry, "PostToolUse": entry, "PostToolUseFailure": entry}});
    let path = env.dir.path().join("claude-settings.json");
    std::fs::write(&path, settings.to_string()).unwrap();
    path
}

/// `claude -p` in the project, against the model server, with gate hooked in.
pub fn claude_command(env: &TestEnv, cli: &Path, server: &ModelServer, settings: &Path) -> Command {
    let mut c = agent_command(env, cli);
    c.env("ANTHROPIC_BASE_URL", format!("http://127.0.0.1:{}", server.port))
        .env("ANTHROPIC_API_KEY", "test-key")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .arg("--settings")
        .arg(settings);
    c
}

#[test]
fn claude_denied_rm_rf_does_not_run_and_allowed_git_status_does() {
    let Some(cli) = claude_cli() else { return };
    let env = TestEnv::new();
    project_with_build(&env);
    let server = ModelServer::start(
        Api::Anthropic,
        env.dir.path(),
        &json!([
            {"tool": "Bash", "input": {"command": "rm -rf build", "description": "clean"}},
            {"tool": "Bash", "input": {"command": "git status", "description": "status"}}
        ]),
    );
    let settings = settings_file(&env);
    let out = claude_command(&env, &cli, &server, &settings)
        .args(["-p", "clean up, then show status", "--output-format", "json"])
        .stdin(Stdio::null())
        .output()
        .expect("run claude");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "claude failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));

    // The denied command did not run.
    assert!(env.project().join("build/keep.txt").exists(), "rm -rf ran despite gate's deny");

    // The model was told why, and git status really ran.
    let results = server.tool_results();
    assert_eq!(results.len(), 2, "{results:#?}");
    let denied = result_text(&results[0]);
    assert!(denied.contains("gate blocks recursive forced deletion"), "{denied}");
    assert_eq!(results[0]["is_error"], true);
    let status = result_text(&results[1]);
    assert!(status.contains("On branch") || status.contains("No commits yet"), "{status}");

    // Both left receipts, git status also an outcome, and the session reads
    // back as a story.
    assert_story(
        &env,
        "claude-code",
        &[("Bash", "rm -rf build", "denied"), ("Bash", "git status", "auto-approved")],
        "success",
    );
}

#[test]
fn claude_call_that_asks_is_answered_in_gate_watch_and_then_runs() {
    let Some(cli) = claude_cli() else { return };
    let env = TestEnv::new();
    git_init(&env.project());
    let server = ModelServer::start(
        Api::Anthropic,
        env.dir.path(),
        &json!([{"tool": "Bash", "input": {"command": "touch made.txt", "description": "make a file"}}]),
    );
    let settings = settings_file(&env);
    let t = crate::ask::watch(&env);
    let child = claude_command(&env, &cli, &server, &settings)
        .args(["-p", "make a file", "--output-format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run claude");
    let screen = t.wait_for("Answer question 1");
    assert!(screen.contains("touch made.txt"), "{screen}");
    assert!(!env.project().join("made.txt").exists(), "nothing runs before the answer");
    // `a` allows once (Enter would deny).
    t.keys(&["a"]);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(env.project().join("made.txt").exists(), "the approved command ran");
    let rows = env.rows();
    let d = rows.iter().find(|r| r["kind"] == "decision").unwrap();
    assert_eq!(
        (d["decision"].as_str(), d["source"].as_str(), d["target"].as_str()),
        (Some("approved"), Some("watch"), Some("touch made.txt"))
    );
    let o = rows.iter().find(|r| r["kind"] == "outcome").expect("an outcome");
    assert_eq!((o["links_seq"].clone(), o["outcome"].as_str()), (d["seq"].clone(), Some("success")));
    let results = server.tool_results();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["is_error"], false, "{:?}", results[0]);
}

/// Claude Code runs its Bash tool in the shell `SHELL` names (zsh here when it is zsh), and
/// gate, reading the same environment, analyses the command as that shell: a line that
/// hijacks `ls` through zsh's `commands` table is not auto-approved under zsh, while under
/// bash, where it is a harmless array, it is.
#[test]
fn claude_under_zsh_gets_the_zsh_analysis() {
    let Some(cli) = claude_cli() else { return };
    let Some(zsh) = ["/usr/bin/zsh", "/bin/zsh"].into_iter().find(|p| Path::new(p).is_file()) else {
        eprintln!("skipping: zsh is not installed");
        return;
    };
    for shell in [zsh, "/bin/bash"] {
        let env = TestEnv::new();
        let evil = env.project().join("evil");
        std::fs::create_dir_all(&evil).unwrap();
        std::fs::write(evil.join("ls"), "#!/bin/sh\ntouch pwned\n").unwrap();
        std::fs::set_permissions(evil.join("ls"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let command = format!("commands=(ls {}); ls", evil.join("ls").display());
        let server = ModelServer::start(
            Api::Anthropic,
            env.dir.path(),
            &json!([{"tool": "Bash", "input": {"command": command, "description": "list"}}]),
        );
        let settings = settings_file(&env);
        let out = claude_command(&env, &cli, &server, &settings)
            .env("SHELL", shell)
            .args(["-p", "list the files", "--output-format", "json"])
            .stdin(Stdio::null())
            .output()
            .expect("run claude");
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!env.project().join("pwned").exists(), "{shell}: the planted ls ran");
        let rows = env.rows();
        let d = rows.iter().find(|r| r["kind"] == "decision").expect("a decision row");
        let results = server.tool_results();
        assert_eq!(results.len(), 1, "{shell}: {results:#?}");
        let text = result_text(&results[0]);
        if shell == "/bin/bash" {
            assert_eq!(d["decision"], "auto-approved", "{d}");
            assert!(text.contains("evil"), "bash ran the real ls: {text}");
        } else {
            assert_ne!(d["decision"], "auto-approved", "{d}");
            assert!(d["reason"].as_str().unwrap_or("").contains("runs in zsh"), "{d}");
            assert_eq!(results[0]["is_error"], true, "{text}");
        }
    }
}
