//! What a person reads from the reading commands (issue 14): a fresh home
//! is not an error, the session list leaves out sessions without a call
//! and its counts add up, columns stay aligned, hints never reach a pipe,
//! JSON keeps one style, and errors say what to do, once.

use serde_json::{json, Value};

use crate::util::{stderr, stdout, TestEnv};

fn record(env: &TestEnv, fixtures: &[&str]) {
    for f in fixtures {
        assert_eq!(env.hook(&env.fixture(f)).status.code(), Some(0), "{f}");
    }
}

/// A Claude Code call of `tool` in session `session`.
fn call(env: &TestEnv, session: &str, id: &str, tool: &str, input: Value) {
    let mut p = env.fixture("PreToolUse-Bash-ls");
    p["session_id"] = json!(session);
    p["tool_use_id"] = json!(id);
    p["tool_name"] = json!(tool);
    p["tool_input"] = input;
    assert_eq!(env.hook(&p).status.code(), Some(0), "{tool}");
}

#[test]
fn a_fresh_home_has_nothing_yet_and_is_not_an_error() {
    let env = TestEnv::new();
    let db = env.db_path().display().to_string();
    let nothing = format!("no receipts yet: {db} does not exist (gate writes it on the first hook call)\n");
    let fresh = format!("nothing to verify yet: there is no receipt at {db} (gate writes it on the first hook call)\n");
    // (command, stdout, stderr)
    let cases: Vec<(&[&str], String, String)> = vec![
        (&["log"], nothing.clone(), String::new()),
        (&["log", "--json"], "[]\n".into(), String::new()),
        (&["export"], String::new(), nothing.clone()),
        (&["export", "--format", "csv"], String::new(), nothing.clone()),
        (&["verify"], fresh, String::new()),
        (&["export", "--bundle", "b.jsonl"], String::new(), nothing.replace('\n', "; no bundle was written\n")),
    ];
    for (args, out, err) in cases {
        let o = env.run(args);
        assert_eq!((o.status.code(), stdout(&o), stderr(&o)), (Some(0), out, err), "{args:?}");
    }
    let o = env.run(&["verify", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["rows"], 0);
    assert!(!env.db_path().exists(), "reading must not create the store");
    assert!(!env.project().join("b.jsonl").exists(), "no bundle of nothing");
}

#[test]
fn the_session_list_leaves_out_sessions_without_calls_unless_asked() {
    let env = TestEnv::new();
    let mut start = env.fixture("SessionStart");
    start["session_id"] = json!("ffff0000-0000-4000-8000-000000000000");
    assert_eq!(env.hook(&start).status.code(), Some(0));
    record(&env, &["PreToolUse-Bash-ls", "PostToolUse-Bash-ls"]);
    let listed = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["log", "--json"];
        a.extend_from_slice(args);
        let v: Value = serde_json::from_str(&stdout(&env.run(&a))).unwrap();
        v.as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap()[..8].to_string()).collect()
    };
    assert_eq!(listed(&[]), ["100a8fb1"]);
    assert_eq!(listed(&["--all"]), ["100a8fb1", "ffff0000"]);
    assert!(!stdout(&env.run(&["log"])).contains("ffff0000"));
    assert!(stdout(&env.run(&["log", "--all"])).contains("ffff0000"));
}

#[test]
fn session_counts_add_up_and_times_are_rfc3339() {
    let env = TestEnv::new();
    record(
        &env,
        &[
            "SessionStart",
            "PreToolUse-Bash-git",
            "PostToolUseFailure-Bash-git",
            "PreToolUse-Bash-rm",
            "PreToolUse-Bash-ls",
            "PostToolUse-Bash-ls",
            "PreToolUse-Write",
            "PostToolUse-Write",
        ],
    );
    let v: Value = serde_json::from_str(&stdout(&env.run(&["log", "--json"]))).unwrap();
    let rfc3339 = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$").unwrap();
    for s in v.as_array().unwrap() {
        let n = |k: &str| s[k].as_i64().unwrap_or_else(|| panic!("{k} in {s}"));
        assert_eq!(n("auto_approved") + n("approved") + n("denied") + n("expired"), n("calls"), "{s}");
        assert!(n("asked_first") <= n("calls"), "{s}");
        for k in ["started", "last"] {
            assert!(rfc3339.is_match(s[k].as_str().unwrap_or_default()), "{k} in {s}");
        }
    }
}

#[test]
fn the_story_keeps_its_columns_for_long_tool_names() {
    let env = TestEnv::new();
    let sid = "aaaa0000-0000-4000-8000-000000000000";
    call(&env, sid, "toolu_1", "Bash", json!({"command": "ls"}));
    call(&env, sid, "toolu_2", "mcp__github__create_pull_request", json!({"title": "t"}));
    call(&env, sid, "toolu_3", "Read", json!({"file_path": "/etc/hostname"}));
    let out = env.run(&["log", "aaaa0000"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().filter(|l| l.as_bytes().first().is_some_and(u8::is_ascii_digit)).collect();
    assert_eq!(lines.len(), 3, "{text}");
    // Every tool name starts in one column and is padded to the longest.
    let width = "mcp__github__create_pull_request".len();
    let tools = ["Bash", "mcp__github__create_pull_request", "Read"];
    let col = lines[0].find("Bash").unwrap();
    for (l, tool) in lines.iter().zip(tools) {
        assert_eq!(l.find(tool), Some(col), "{tool} in\n{text}");
        let pad = &l[col + tool.len()..col + width + 2];
        assert!(pad.chars().all(|c| c == ' '), "{tool} padded in\n{text}");
    }
    assert!(lines[0][col + width + 2..].starts_with("ls"), "{text}");
    assert!(lines[2][col + width + 2..].starts_with("/etc/hostname"), "{text}");
}

#[test]
fn hints_never_reach_a_pipe_and_no_pager_runs() {
    let env = TestEnv::new();
    record(&env, &["PreToolUse-Bash-ls", "PostToolUse-Bash-ls"]);
    let marker = env.dir.path().join("paged");
    for args in [&["log"][..], &["log", "--no-pager"], &["--no-pager", "log"], &["log", "100a8fb1"]] {
        let out = env
            .cmd(args)
            .env("PAGER", format!("touch {}; cat", marker.display()))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let both = stdout(&out) + &stderr(&out);
        assert!(!both.contains("tells one session's story"), "{args:?}: {both}");
        assert!(stderr(&out).is_empty(), "{args:?}: {}", stderr(&out));
    }
    assert!(!marker.exists(), "a pipe is never paged");
}

#[test]
fn verify_head_takes_a_hash_and_says_how_to_get_one() {
    let env = TestEnv::new();
    record(&env, &["PreToolUse-Bash-ls"]);
    for bad in ["abc", "HEAD", &"z".repeat(64), &"a".repeat(63)] {
        let out = env.run(&["verify", "--head", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = stderr(&out);
        assert!(err.contains(&format!("--head {bad:?} is not a hash")), "{err}");
        assert!(err.contains("64 hex digits") && err.contains("`gate verify`"), "{err}");
    }
}

#[test]
fn a_store_that_is_not_a_database_fails_verify_and_says_so_once() {
    let env = TestEnv::new();
    std::fs::write(env.db_path(), vec![b'x'; 8192]).unwrap();
    let out = env.run(&["verify"]);
    assert_eq!(out.status.code(), Some(1), "README: a receipt that does not verify exits 1");
    let text = stdout(&out);
    assert!(text.starts_with("gate verify: FAILED: ") && text.contains("gate recover"), "{text}");
    assert_eq!(text.matches("not a database").count(), 1, "{text}");
    let v: Value = serde_json::from_str(&stdout(&env.run(&["verify", "--json"]))).unwrap();
    assert_eq!((v["ok"].clone(), v["problem"]["problem"].clone()), (json!(false), json!("unreadable")));
    // Every other command prints the cause once too.
    for args in [&["log"][..], &["export"], &["digest"]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.matches("not a database").count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn a_rule_message_that_ends_a_sentence_gets_no_second_full_stop() {
    let env = TestEnv::new();
    for message in ["No deploys from a laptop.", "No deploys from a laptop"] {
        env.write_user_policy(&format!(
            "[[rule]]\nid = \"no-deploy\"\ndecision = \"deny\"\ncommand = \"make deploy\"\nmessage = \"{message}\"\n"
        ));
        let reason = env.check("make deploy")["reason"].as_str().unwrap().to_string();
        assert!(reason.contains("No deploys from a laptop. Do not retry it"), "{reason}");
        assert!(!reason.contains(".."), "{reason}");
    }
}
