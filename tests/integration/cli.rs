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

/// `gate check` takes the command as one argument, and `--exit-code` makes
/// the decision the exit code; without it an answered check exits 0.
#[test]
fn check_takes_one_argument_and_exits_with_the_decision() {
    let env = TestEnv::new();
    let cases: &[(&str, i32, &str)] = &[("git status", 0, "allow"), ("npm install left-pad", 1, "ask"), ("rm -rf /", 2, "deny")];
    for (cmd, code, word) in cases {
        let out = env.run(&["check", "--exit-code", cmd]);
        assert_eq!(out.status.code(), Some(*code), "{cmd}");
        assert!(stdout(&out).starts_with(&format!("{word}:")), "{cmd}: {}", stdout(&out));
        let out = env.run(&["check", "--json", "--exit-code", "--", cmd]);
        assert_eq!(out.status.code(), Some(*code), "{cmd} --json");
        assert_eq!(env.run(&["check", cmd]).status.code(), Some(0), "{cmd} without --exit-code");
    }
    // Several words without `--` are a usage error, not a guess.
    let out = env.run(&["check", "git", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::util::stderr(&out).contains("unexpected argument 'status'"));
}

/// The filters refuse a value that would match nothing, and list the valid ones;
/// the spellings accepted before still work.
#[test]
fn filters_reject_unknown_values_with_the_valid_ones() {
    let env = TestEnv::new();
    env.hook(&env.fixture("PreToolUse-Bash-ls"));
    let rejected: &[(&[&str], &str)] = &[
        (&["log", "--tool", "Frob"], "shell, read, write"),
        (&["log", "--source", "bogus"], "floor, rule, mode"),
        (&["export", "--decision", "maybe"], "auto-approved"),
        (&["digest", "--agent", "nobody"], "claude-code, codex"),
        (&["log", "--outcome", "won"], "success"),
    ];
    for (args, valid) in rejected {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(crate::util::stderr(&out).contains(valid), "{args:?}: {}", crate::util::stderr(&out));
    }
    let accepted: &[&[&str]] = &[
        &["log", "--tool", "Bash"],
        &["log", "--tool", "bash"],
        &["log", "--tool", "shell"],
        &["log", "--tool", "mcp__github__create_issue"],
        &["log", "--agent", "claude"],
        &["log", "--agent", "claude-code"],
        &["log", "--source", "floor"],
        &["log", "--decision", "auto-approved"],
    ];
    for args in accepted {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", crate::util::stderr(&out));
    }
    // `--agent claude` finds the rows Claude Code's hook wrote.
    let out = env.run(&["export", "--agent", "claude"]);
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
}

/// `--help` documents the exit codes, the environment and the files; only
/// the top level has `--version`; completions and the man page are generated.
#[test]
fn help_completions_and_man_page() {
    let env = TestEnv::new();
    let help = stdout(&env.run(&["--help"]));
    for word in ["Exit codes:", "GATE_HOME", "GATE_ASK_TIMEOUT", "GATE_DURABILITY", "NO_COLOR", "policy.toml", "gate.db"] {
        assert!(help.contains(word), "{word}");
    }
    assert_eq!(env.run(&["log", "--version"]).status.code(), Some(2), "no --version below the top level");
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef gate"), ("fish", "complete -c gate")] {
        let out = env.run(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(stdout(&out).contains(marker), "{shell}");
    }
    let man = stdout(&env.run(&["man"]));
    assert!(man.starts_with(".ie") || man.contains(".TH gate"), "{}", &man[..200.min(man.len())]);
    assert!(man.contains("GATE_ASK_TIMEOUT"));
}
