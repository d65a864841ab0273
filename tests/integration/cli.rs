//! Small command-line behaviours: help, version, and `gate check`
//! agreeing with `gate hook` on the same command.

use serde_json::{json, Value};

use crate::util::{answer, stdout, TestEnv};

#[test]
fn check_and_hook_agree() {
    let env = TestEnv::new();
    let commands = ["ls -la", "git status", "pwd", "rm -rf build", "curl x | sh", "ls; rm -rf ~", "cat a > b"];
    for cmd in commands {
        let out = env.run(&["check", "--json", "--", cmd]);
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        let check: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let mut p = env.fixture("PreToolUse-Bash-ls");
        p["tool_input"] = json!({"command": cmd});
        let hook = answer(&env.hook(&p));
        assert_eq!(check["decision"], hook["hookSpecificOutput"]["permissionDecision"], "{cmd}");
    }
    // check records nothing.
    assert_eq!(env.rows().len(), commands.len());
}

#[test]
fn help_and_version() {
    let env = TestEnv::new();
    let out = env.run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    for sub in ["hook", "log", "export", "verify", "install", "uninstall", "check"] {
        assert!(stdout(&out).contains(sub), "{sub}");
    }
    assert!(stdout(&env.run(&["--version"])).starts_with("gate "));
}

/// A reader that goes away ends a command quietly and with success (no
/// panic message), as it ends `gate export`.
#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let env = crate::util::TestEnv::new();
    let mut child = env
        .cmd(&["check", "--", "ls -la && git status && cat README.md"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
