//! `gate hook` fed the real Claude Code payloads: exact answers, the rows
//! they leave, and a deny for every kind of bad input.

use serde_json::{json, Value};

use crate::util::{answer, stderr, stdout, TestEnv};

fn pre(decision: &str, reason: &str) -> Value {
    json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": decision, "permissionDecisionReason": reason}})
}

#[test]
fn pre_tool_use_answers_match_exactly() {
    let cases: &[(&str, Value)] = &[
        ("PreToolUse-Read", pre("allow", "Read only reads a file [gate: floor:file-tools, policies/floor.toml]")),
        ("PreToolUse-Bash-git", pre("allow", "git status shows the working tree state [gate: floor:git-status, policies/floor.toml]")),
        (
            "PreToolUse-Bash-ls",
            pre("allow", "`ls -la && git status`: every command is allowed (floor:ls, floor:git-status) [gate: floor:git-status, policies/floor.toml]"),
        ),
        (
            "PreToolUse-Bash-rm",
            pre(
                "deny",
                "`rm -rf build`: gate blocks recursive forced deletion. Instead, delete the specific files by name \
                 (rm path/to/file), or ask the user to run this command themselves [gate: no-rm-rf, policies/default.toml (built in):12]",
            ),
        ),
        ("PreToolUse-Write", pre("ask", "gate asks: Write would change /home/dev/project/notes.md; a human must approve it")),
        ("PreToolUse-Edit", pre("ask", "gate asks: Edit would change /home/dev/project/main.rs; a human must approve it")),
        (
            "PreToolUse-WebFetch",
            pre("ask", "gate asks: `https://example.com/`: fetching from the web; a human must approve it [gate: ask-web-fetch, policies/default.toml (built in):136]"),
        ),
        (
            "PreToolUse-Bash-curl",
            pre("ask", "gate asks: `curl -s https://example.com`: this reaches the network; a human must approve it [gate: ask-network, policies/default.toml (built in):129]"),
        ),
    ];
    for (fixture, want) in cases {
        let env = TestEnv::new();
        let out = env.hook(&env.fixture(fixture));
        assert_eq!(out.status.code(), Some(0), "{fixture}: {}", stderr(&out));
        assert_eq!(&answer(&out), want, "{fixture}");
    }
}

#[test]
fn a_decision_row_records_who_what_and_why() {
    let env = TestEnv::new();
    env.hook(&env.fixture("PreToolUse-Bash-rm"));
    let rows = env.rows();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    let project = env.project().to_string_lossy().into_owned();
    let want = [
        ("kind", json!("decision")),
        ("session_id", json!("68c76b7a-2f22-423d-95ae-9a20e1d4a8fa")),
        ("tool_use_id", json!("toolu_c68273f4a4c041598ff9")),
        ("agent", json!("claude-code")),
        ("cwd", json!(project)),
        ("tool", json!("Bash")),
        ("tool_kind", json!("shell")),
        ("args", json!({"command": "rm -rf build", "description": "clean"})),
        ("target", json!("rm -rf build")),
        ("decision", json!("denied")),
        ("approver", json!("gate")),
        ("source", json!("rule")),
        ("rule", json!("no-rm-rf")),
        ("rule_origin", json!("policies/default.toml (built in):12")),
        ("seq", json!(1)),
    ];
    for (k, v) in want {
        assert_eq!(r[k], v, "{k}");
    }
    assert!(r["reason"].as_str().unwrap().contains("recursive forced deletion"));
    assert!(r["ts"].as_str().unwrap().ends_with('Z'));
    assert!(!r["os_user"].as_str().unwrap().is_empty());
    assert!(!r["host"].as_str().unwrap().is_empty());
}

#[test]
fn outcomes_link_to_their_decision_and_carry_the_patch() {
    let env = TestEnv::new();
    for f in ["PreToolUse-Edit", "PostToolUse-Edit", "PreToolUse-Bash-false", "PostToolUseFailure-Bash-false"] {
        let out = env.hook(&env.fixture(f));
        assert_eq!(out.status.code(), Some(0), "{f}: {}", stderr(&out));
        if f.starts_with("Post") {
            assert_eq!(stdout(&out), "", "{f} prints nothing");
        }
    }
    let rows = env.rows();
    assert_eq!(rows.len(), 4);
    let (edit, edit_out, fals, fals_out) = (&rows[0], &rows[1], &rows[2], &rows[3]);
    assert_eq!(edit["decision"], "asked");
    assert_eq!(edit["source"], "agent");
    assert_eq!(edit["outcome"], "success");
    assert_eq!(edit_out["kind"], "outcome");
    assert_eq!(edit_out["links_seq"], edit["seq"]);
    assert_eq!(edit_out["status".replace("status", "outcome").as_str()], "success");
    assert_eq!(edit_out["duration_ms"], 17);
    // Asked, then it ran: the human approved it in Claude's own dialog.
    assert_eq!(edit_out["decision"], "approved");
    assert_eq!(edit_out["source"], "agent");
    assert_eq!(edit_out["patch"][0]["lines"], json!(["-fn main() {}", "+fn main() { println!(\"hi\"); }"]));
    assert_eq!(fals_out["links_seq"], fals["seq"]);
    assert_eq!(fals_out["outcome"], "error");
    assert_eq!(fals_out["error"], "Exit code 1");
}

#[test]
fn an_interrupted_tool_is_recorded_as_interrupted() {
    let env = TestEnv::new();
    let mut p = env.fixture("PostToolUseFailure-Bash-false");
    p["is_interrupt"] = json!(true);
    env.hook(&p);
    assert_eq!(env.rows()[0]["outcome"], "interrupted");
}

#[test]
fn session_events_and_passive_events() {
    let env = TestEnv::new();
    for f in ["SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"] {
        let out = env.hook(&env.fixture(f));
        assert_eq!((out.status.code(), stdout(&out)), (Some(0), String::new()), "{f}: {}", stderr(&out));
    }
    let rows = env.rows();
    let kinds: Vec<(&str, &str)> =
        rows.iter().map(|r| (r["kind"].as_str().unwrap(), r["outcome"].as_str().unwrap())).collect();
    assert_eq!(kinds, [("session", "start"), ("session", "end")]);
}

#[test]
fn permission_request_allows_denies_or_stays_silent() {
    let env = TestEnv::new();
    let mut p = env.fixture("PreToolUse-Bash-rm");
    p["hook_event_name"] = json!("PermissionRequest");
    p.as_object_mut().unwrap().remove("tool_use_id");
    let out = env.hook(&p);
    assert_eq!(answer(&out)["hookSpecificOutput"]["decision"]["behavior"], "deny");
    p["tool_input"]["command"] = json!("git status");
    let out = env.hook(&p);
    assert_eq!(
        answer(&out),
        json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}})
    );
    p["tool_input"]["command"] = json!("make");
    let out = env.hook(&p);
    assert_eq!((out.status.code(), stdout(&out)), (Some(0), String::new()));
}

/// Every way a payload can be bad ends in exit 2 and one line on stderr,
/// never exit 0 or 1, and leaves an error receipt where one can be written.
#[test]
fn malformed_input_is_denied_with_one_line() {
    let bad: &[(&str, &[u8], &str)] = &[
        ("empty", b"", "empty hook payload"),
        ("whitespace", b"  \n", "empty hook payload"),
        ("not json", b"{not json", "not valid JSON at line 1, column 2"),
        ("truncated", b"{\"session_id\": \"x\"", "not valid JSON"),
        ("array", b"[1,2]", "not a JSON object"),
        ("string", b"\"PreToolUse\"", "not a JSON object"),
        ("no agent shape", b"{\"hello\": 1}", "cannot tell which agent"),
        ("binary", b"\xff\xfe\x00", "not valid JSON"),
    ];
    for (name, input, want) in bad {
        let env = TestEnv::new();
        let out = env.run_with_stdin(&["hook"], input);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: one line: {err}");
        assert!(err.contains("denying"), "{name}: {err}");
        assert_eq!(stdout(&out), "", "{name}");
        let rows = env.rows();
        assert_eq!(rows.len(), 1, "{name}: an error receipt");
        assert_eq!((rows[0]["decision"].as_str(), rows[0]["source"].as_str()), (Some("denied"), Some("error")));
    }
}

#[test]
fn wrong_shapes_and_unknown_events_are_denied() {
    let env = TestEnv::new();
    let base = env.fixture("PreToolUse-Bash-ls");
    let mut cases: Vec<(&str, Value, &str)> = Vec::new();
    let mut v = base.clone();
    v["hook_event_name"] = json!("PreToolFrobnicate");
    cases.push(("unknown event", v, "unknown hook event"));
    let mut v = base.clone();
    v.as_object_mut().unwrap().remove("tool_name");
    cases.push(("no tool_name", v, "no tool_name"));
    let mut v = base.clone();
    v["tool_input"] = json!("ls");
    cases.push(("tool_input not object", v, "tool_input is not an object"));
    let mut v = base.clone();
    v["session_id"] = json!(42);
    cases.push(("session_id number", v, "wrong shape"));
    let mut v = base.clone();
    v.as_object_mut().unwrap().remove("cwd");
    cases.push(("no cwd", v, "wrong shape"));
    for (name, payload, want) in cases {
        let out = env.run_with_stdin(&["hook", "--agent", "claude"], payload.to_string().as_bytes());
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(stderr(&out).contains(want), "{name}: {}", stderr(&out));
    }
}

#[test]
fn bad_flags_never_exit_one() {
    let env = TestEnv::new();
    for args in [&["hook", "--frobnicate"][..], &["hook", "--agent", "vim"][..], &["hook", "extra"][..]] {
        let out = env.run_with_stdin(args, env.fixture("PreToolUse-Bash-ls").to_string().as_bytes());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).trim_end().lines().count(), 1, "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn an_unwritable_receipt_denies_the_call() {
    let env = TestEnv::new();
    // GATE_HOME is a file: the database cannot be created.
    let blocker = env.dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let out = env
        .cmd(&["hook"])
        .env("GATE_HOME", &blocker)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(env.fixture("PreToolUse-Read").to_string().as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no receipt, no action"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

#[test]
fn a_locked_database_denies_instead_of_allowing() {
    use std::io::Write;
    let env = TestEnv::new();
    env.hook(&env.fixture("SessionStart"));
    // Another process holds the write lock past gate's busy timeout.
    let mut locker = std::process::Command::new("sqlite3")
        .arg(env.db_path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sqlite3 must be installed");
    let mut stdin = locker.stdin.take().unwrap();
    writeln!(stdin, ".timeout 10000").unwrap();
    writeln!(stdin, "BEGIN EXCLUSIVE;").unwrap();
    writeln!(stdin, "SELECT 'locked';").unwrap();
    stdin.flush().unwrap();
    // Wait until the lock is really held.
    let mut buf = [0u8; 7];
    use std::io::Read;
    locker.stdout.as_mut().unwrap().read_exact(&mut buf).unwrap();
    let out = env.hook(&env.fixture("PreToolUse-Read"));
    drop(stdin);
    let _ = locker.wait();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no receipt, no action"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "no allow may be printed");
}

#[test]
fn secrets_are_masked_before_they_reach_the_receipt() {
    let env = TestEnv::new();
    let mut p = env.fixture("PreToolUse-Bash-curl");
    p["tool_input"]["command"] = json!("curl -H 'Authorization: Bearer sekrit-value' https://u:hunter2@example.com");
    env.hook(&p);
    let dump = env.sqlite3("SELECT args, target, reason FROM receipts");
    assert!(!dump.contains("sekrit-value") && !dump.contains("hunter2"), "{dump}");
    assert!(dump.contains("Bearer [REDACTED:bearer]"), "{dump}");
}

#[test]
fn the_database_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    env.hook(&env.fixture("PreToolUse-Read"));
    for f in ["gate.db", "gate.db-wal"] {
        let mode = std::fs::metadata(env.gate_home().join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let journal = env.sqlite3("PRAGMA journal_mode");
    assert_eq!(journal.trim(), "wal");
}

#[test]
fn a_bash_call_without_a_string_command_is_denied() {
    let env = TestEnv::new();
    for bad in [json!(["rm", "-rf", "/"]), json!(null), json!({"x": 1}), json!(7)] {
        let mut p = env.fixture("PreToolUse-Bash-ls");
        p["tool_input"]["command"] = bad.clone();
        let out = env.hook(&p);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stdout(&out));
        assert!(stderr(&out).contains("tool_input.command is not a string"), "{bad}: {}", stderr(&out));
    }
}

/// The zsh on this machine, if any (Claude Code only picks an installed one).
fn zsh_path() -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path.split(':').map(|d| format!("{d}/zsh")).find(|p| std::path::Path::new(p).is_file());
    if found.is_none() {
        eprintln!("skipping: zsh is not installed");
    }
    found
}

/// `gate hook` with a Bash PreToolUse payload for `command`, and `SHELL` set as Claude Code's
/// environment would have it.
fn hook_with_shell(env: &TestEnv, command: &str, shell: &str) -> Value {
    use std::io::Write;
    let mut payload = env.fixture("PreToolUse-Bash-ls");
    payload["tool_input"]["command"] = json!(command);
    let mut child = env
        .cmd(&["hook"])
        .env("SHELL", shell)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn gate");
    child.stdin.take().unwrap().write_all(payload.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{command}: {}", stderr(&out));
    answer(&out)["hookSpecificOutput"].clone()
}

/// Commands the bash analysis passes but zsh runs differently: under `SHELL=zsh` (which
/// Claude Code then runs them in) they ask, naming the zsh construct; under `SHELL=bash`
/// they are still auto-approved. The first two are first shown to be real hazards in zsh.
#[test]
fn under_zsh_a_command_zsh_reads_differently_is_not_auto_approved() {
    let Some(zsh) = zsh_path() else { return };
    let env = TestEnv::new();
    let project = env.project();
    let evil = project.join("evil");
    std::fs::create_dir_all(&evil).unwrap();
    std::fs::write(evil.join("ls"), "#!/bin/sh\ntouch pwned\n").unwrap();
    std::fs::set_permissions(evil.join("ls"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(project.join("s/.aws")).unwrap();
    std::fs::create_dir_all(project.join("s/wkspc9")).unwrap();
    std::fs::write(project.join("s/.aws/credentials"), "aws_secret_access_key = SECRETVALUE\n").unwrap();

    let hijack = format!("commands=(ls {}); ls", evil.join("ls").display());
    let zsh_run = |cmd: &str, dir: &std::path::Path| {
        let out = std::process::Command::new(&zsh).args(["-c", cmd]).current_dir(dir).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    zsh_run(&hijack, &project);
    assert!(project.join("pwned").exists(), "zsh ran the planted ls");
    std::fs::remove_file(project.join("pwned")).unwrap();
    let read = zsh_run("cd wkspc9 .aws && cat credentials", &project.join("s/wkspc9"));
    assert!(read.contains("SECRETVALUE"), "zsh's cd OLD NEW reached the secret: {read:?}");

    // (command, the zsh construct named, what bash gets: `cd` with two
    // operands is an error in bash, and the floor asks for it in any shell)
    let cases: &[(&str, &str, &str)] = &[
        (&hijack, "commands", "allow"),
        ("cd wkspc9 .aws && cat credentials", "replaces", "ask"),
        // (under bash too: a pattern with quoted parts is not expanded by gate)
        ("ls *(e:'touch x':)", "qualifier", "ask"),
        ("echo $HOME:h", "modifier", "allow"),
        ("< README.md", "redirections only", "allow"),
    ];
    for (cmd, word, under_bash) in cases {
        let zsh_answer = hook_with_shell(&env, cmd, &zsh);
        assert_eq!(zsh_answer["permissionDecision"], "ask", "{cmd} under zsh: {zsh_answer}");
        let reason = zsh_answer["permissionDecisionReason"].as_str().unwrap_or("");
        assert!(reason.contains("runs in zsh") && reason.contains(word), "{cmd}: {reason}");
        let bash_answer = hook_with_shell(&env, cmd, "/bin/bash");
        assert_eq!(bash_answer["permissionDecision"], *under_bash, "{cmd} under bash: {bash_answer}");
    }
    assert!(!project.join("pwned").exists(), "gate ran nothing");
}
