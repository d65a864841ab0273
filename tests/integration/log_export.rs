//! `gate log` and `gate export` over a recorded session: the story a
//! person reads (snapshot-style, with times normalised), the filters, the
//! JSON forms, and the export schema in both formats.

use serde_json::Value;

use crate::util::{stdout, TestEnv};

fn record_two_sessions(env: &TestEnv) {
    for f in [
        "SessionStart",
        "PreToolUse-Bash-git",
        "PostToolUseFailure-Bash-git",
        "PreToolUse-Bash-rm",
        "PreToolUse-Bash-ls",
        "PostToolUse-Bash-ls",
        "PreToolUse-Read",
        "PostToolUse-Read",
        "PreToolUse-Write",
        "PostToolUse-Write",
    ] {
        assert_eq!(env.hook(&env.fixture(f)).status.code(), Some(0), "{f}");
    }
}

/// How many calls `gate log --json <args>` lists.
fn logged_calls(env: &TestEnv, args: &[&str]) -> usize {
    let mut a = vec!["log", "--json"];
    a.extend_from_slice(args);
    let out = env.run(&a);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str::<Value>(&stdout(&out)).unwrap().as_array().unwrap().len()
}

/// Replace the clock times, which change from run to run.
fn normalise(text: &str) -> String {
    let re = regex::Regex::new(r"\d{2}:\d{2}:\d{2}").unwrap();
    let re_date = regex::Regex::new(r"\d{4}-\d{2}-\d{2}").unwrap();
    let out = re.replace_all(text, "HH:MM:SS");
    re_date.replace_all(&out, "YYYY-MM-DD").into_owned()
}

#[test]
fn log_lists_sessions_with_counts() {
    let env = TestEnv::new();
    record_two_sessions(&env);
    let out = env.run(&["log"]);
    assert_eq!(out.status.code(), Some(0));
    let project = env.project().to_string_lossy().into_owned();
    let want = format!(
        "STARTED (UTC)        AGENT        SESSION   CALLS  AUTO  APPROVED  DENIED  EXPIRED  ASKED FIRST  CWD\n\
         YYYY-MM-DD HH:MM:SS  claude-code  100a8fb1      3     2         1       0        0            1  {project}\n\
         YYYY-MM-DD HH:MM:SS  claude-code  68c76b7a      2     1         0       1        0            0  {project}\n"
    );
    assert_eq!(normalise(&stdout(&out)), want);
    // The hint is for a person at a terminal, not for a pipe.
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn log_tells_one_session_as_a_story() {
    let env = TestEnv::new();
    record_two_sessions(&env);
    let out = env.run(&["log", "100a8f"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let line = |d: &str, who: &str, tool: &str, what: &str, outcome: &str| {
        format!("HH:MM:SS  {d:<16}  {who:<28}  {tool:<6}  {what}  → {outcome}\n")
    };
    let want = [
        line("auto-approved", "floor:git-status", "Bash", "ls -la && git status", "success 231ms"),
        line("auto-approved", "floor:file-tools", "Read", "/home/dev/project/main.rs", "success 11ms"),
        line(
            "asked→approved",
            // It ran after the agent's own dialog: gate cannot name who approved it.
            "unknown via agent",
            "Write",
            "/home/dev/project/notes.md",
            "success 11ms",
        ),
        // What the write changed, and the session's files.
        "          created /home/dev/project/notes.md\n".into(),
        "          +hello\n".into(),
        "\n".into(),
        "files touched\n".into(),
        "  created   /home/dev/project/notes.md  (Write seq 9)\n".into(),
    ]
    .concat();
    let got = normalise(&stdout(&out));
    assert_eq!(got.lines().skip(1).collect::<Vec<_>>().join("\n") + "\n", want, "\n{got}");
    let project = env.project().display().to_string();
    assert!(
        got.starts_with(&format!(
            "session 100a8fb1-0efb-4ba7-a482-9accfe4103b0  claude-code  {project}  YYYY-MM-DD HH:MM:SS UTC\n"
        )),
        "{got}"
    );
    let plain = normalise(&stdout(&env.run(&["log", "100a8f", "--no-diff"])));
    assert!(!plain.contains("+hello") && plain.contains("files touched"), "{plain}");

    let denied = normalise(&stdout(&env.run(&["log", "68c76b7a"])));
    assert!(
        denied.contains("HH:MM:SS  denied            no-rm-rf                      Bash    rm -rf build  → not run"),
        "{denied}"
    );
    assert!(denied.contains("gate blocks recursive forced deletion"), "{denied}");
    assert!(denied.contains("floor:git-status              Bash    git status  → error 50ms"), "{denied}");
}

#[test]
fn log_filters_narrow_the_calls() {
    let env = TestEnv::new();
    record_two_sessions(&env);
    let count = |args: &[&str]| logged_calls(&env, args);
    let cases: &[(&[&str], usize)] = &[
        (&["--decision", "denied"], 1),
        (&["--decision", "auto-approved"], 3),
        (&["--decision", "approved"], 1),
        (&["--tool", "Bash"], 3),
        (&["--tool", "read"], 1),
        (&["--source", "floor"], 3),
        (&["--source", "agent"], 1),
        (&["--session", "68c76b7a", "--tool", "Bash"], 2),
        (&["--since", "1h", "--tool", "Bash"], 3),
        (&["--until", "2000-01-01", "--tool", "Bash"], 0),
    ];
    for (args, want) in cases {
        assert_eq!(count(args), *want, "{args:?}");
    }
    let bad = env.run(&["log", "--since", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since: cannot read time"));
}

#[test]
fn log_json_calls_carry_decision_and_outcome() {
    let env = TestEnv::new();
    record_two_sessions(&env);
    let v: Value = serde_json::from_str(&stdout(&env.run(&["log", "--json", "100a8fb1"]))).unwrap();
    let write = &v[2];
    assert_eq!(write["tool"], "Write");
    assert_eq!(write["gate_decision"], "asked");
    assert_eq!(write["decision"], "approved");
    assert_eq!(write["source"], "agent");
    assert_eq!(write["outcome"], "success");
}

#[test]
fn log_without_receipts_says_so() {
    let env = TestEnv::new();
    let out = env.run(&["log"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("no receipts yet"), "{}", stdout(&out));
}

const SCHEMA_FIELDS: &[&str] = &[
    "schema",
    "seq",
    "ts",
    "kind",
    "session_id",
    "tool_use_id",
    "agent",
    "os_user",
    "host",
    "cwd",
    "tool",
    "tool_kind",
    "args",
    "target",
    "decision",
    "approver",
    "source",
    "rule",
    "rule_origin",
    "reason",
    "outcome",
    "links_seq",
    "duration_ms",
    "error",
    "patch",
    "detail",
    "prev_hash",
    "hash",
    "redacted",
    "content_digest",
    "status",
];

#[test]
fn export_jsonl_has_the_documented_schema() {
    let env = TestEnv::new();
    record_two_sessions(&env);
    let rows = env.rows();
    assert_eq!(rows.len(), 10);
    for r in &rows {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, SCHEMA_FIELDS);
        assert_eq!(r["schema"], "gate.receipt/1");
    }
    for pair in rows.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
    }
    let rm = rows.iter().find(|r| r["target"] == "rm -rf build").unwrap();
    assert_eq!(rm["args"]["command"], "rm -rf build");
    assert_eq!(rm["outcome"], Value::Null);
    let ls = rows.iter().find(|r| r["target"] == "ls -la && git status" && r["kind"] == "decision").unwrap();
    assert_eq!(ls["outcome"], "success");
    let filtered = env.run(&["export", "--decision", "denied"]);
    assert_eq!(stdout(&filtered).lines().count(), 1);
}

#[test]
fn export_csv_has_a_header_and_defuses_formulas() {
    let env = TestEnv::new();
    let mut p = env.fixture("PreToolUse-Bash-curl");
    p["tool_input"]["command"] = Value::String("=HYPERLINK(\"http://x\",\"click\")".into());
    env.hook(&p);
    let out = stdout(&env.run(&["export", "--format", "csv"]));
    let mut lines = out.lines();
    assert_eq!(lines.next().unwrap(), SCHEMA_FIELDS.join(","));
    let row = lines.next().unwrap();
    assert!(row.contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\")\","), "{row}");
    assert!(lines.next().is_none());
}

#[test]
fn export_to_a_closed_pipe_is_not_an_error() {
    let env = TestEnv::new();
    for _ in 0..300 {
        env.hook(&env.fixture("PreToolUse-Bash-ls"));
    }
    let mut child =
        env.cmd(&["export"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The hash is documented well enough that a script that is not gate
/// recomputes every one from an export alone, and catches an edit.
#[test]
fn a_script_that_is_not_gate_recomputes_every_hash_from_an_export() {
    let env = TestEnv::new();
    record_two_sessions(&env);
    // Text that stresses the canonical form: non-ASCII, control characters,
    // quotes, a float, nested keys out of order.
    let mut p = env.fixture("PreToolUse-Bash-rm");
    p["tool_input"]["command"] = Value::String("echo 'é ✓ 𝄞' \"q\" \u{1}\t\\ end".into());
    p["tool_input"]["timeout"] = serde_json::json!(1.5e3);
    p["tool_input"]["z"] = serde_json::json!({"b": 1, "a": [true, null, -0.25]});
    env.hook(&p);
    let export = stdout(&env.run(&["export"]));
    assert!(export.lines().count() >= 11);
    let script = crate::util::repo_path("tests/scripts/recompute_hashes.py");
    let run = |text: &str| {
        let mut child = std::process::Command::new("python3")
            .arg(&script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let ok = run(&export);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stdout));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("0 problems"));
    // An edited field, a reordered pair: the script notices.
    let mut lines: Vec<String> = export.lines().map(str::to_string).collect();
    let mut third: Value = serde_json::from_str(&lines[2]).unwrap();
    third["approver"] = Value::String("someone else".into());
    lines[2] = third.to_string();
    let out = run(&lines.join("\n"));
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let mut lines: Vec<&str> = export.lines().collect();
    lines.swap(2, 3);
    assert_eq!(run(&lines.join("\n")).status.code(), Some(1));
}

#[test]
fn log_shows_local_time_with_its_zone_or_utc() {
    let env = TestEnv::new();
    record_two_sessions(&env);
    let rows = env.rows();
    let utc_time = &rows[1]["ts"].as_str().unwrap()[11..19];
    let (h, m): (u32, u32) = (utc_time[..2].parse().unwrap(), utc_time[3..5].parse().unwrap());
    let ist = format!("{:02}:{:02}", (h * 60 + m + 330) / 60 % 24, (m + 30) % 60);
    // A POSIX zone string needs no zone database: India, UTC+5:30.
    let local = stdout(&env.cmd(&["log", "68c76b7a"]).env("TZ", "IST-5:30").output().unwrap());
    assert!(local.lines().next().unwrap().ends_with(" IST"), "{local}");
    assert!(local.lines().nth(1).unwrap().starts_with(&ist), "{ist}\n{local}");
    let utc = stdout(&env.cmd(&["log", "68c76b7a", "--utc"]).env("TZ", "IST-5:30").output().unwrap());
    assert!(utc.lines().next().unwrap().ends_with(" UTC"), "{utc}");
    assert!(utc.lines().nth(1).unwrap().starts_with(&utc_time[..5]), "{utc}");
    let list = stdout(&env.cmd(&["log"]).env("TZ", "IST-5:30").output().unwrap());
    assert!(list.starts_with("STARTED (IST)"), "{list}");
}

#[test]
fn log_reviewer_filters_narrow_the_calls() {
    let env = TestEnv::new();
    record_two_sessions(&env);
    let count = |args: &[&str]| logged_calls(&env, args);
    let project = env.project().display().to_string();
    let cases: &[(&[&str], usize)] = &[
        (&["--rule", "no-rm-rf"], 1),
        (&["--rule", "floor:*"], 3),
        (&["--rule", "floor:file-tools"], 1),
        (&["--approver", "unknown"], 1),
        (&["--grep", "GIT STATUS"], 2),
        (&["--grep", "recursive forced"], 1),
        (&["--grep", "notes.md"], 1),
        (&["--outcome", "success"], 3),
        (&["--outcome", "error"], 1),
        (&["--outcome", "not-run"], 1),
        (&["--agent", "claude-code", "--tool", "Bash"], 3),
        (&["--agent", "codex", "--tool", "Bash"], 0),
        (&["--repo", &project, "--tool", "Bash"], 3),
        (&["--cwd", "/elsewhere", "--tool", "Bash"], 0),
    ];
    for (args, want) in cases {
        assert_eq!(count(args), *want, "{args:?}");
    }
}

#[test]
fn log_warns_when_the_rows_shown_do_not_verify() {
    let env = TestEnv::new();
    record_two_sessions(&env);
    assert!(!stdout(&env.run(&["log", "100a8f"])).contains("warning"));
    env.sqlite3(
        "DROP TRIGGER receipts_no_update; UPDATE receipts SET target = 'ls' WHERE target = 'ls -la && git status' AND kind = 'decision'",
    );
    let out = stdout(&env.run(&["log", "100a8f"]));
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("warning: 1 of the ") && first.contains("do not verify (first: seq 5, edited)"), "{out}");
    assert!(out.trim_end().ends_with("run `gate verify`"), "{out}");
}

#[test]
fn log_shows_codex_patches_as_diffs() {
    let env = TestEnv::new();
    for f in ["PreToolUse-apply_patch", "PostToolUse-apply_patch"] {
        assert_eq!(env.hook(&env.agent_fixture(&format!("codex-0.169.0/{f}"))).status.code(), Some(0), "{f}");
    }
    let out = stdout(&env.run(&["log", "--tool", "apply_patch", "--utc"]));
    assert!(out.contains("          created hello.txt\n          +hello from the fake model\n"), "{out}");
}

#[test]
fn log_follow_prints_calls_as_they_are_recorded() {
    use std::io::{BufRead, BufReader};
    let env = TestEnv::new();
    env.hook(&env.fixture("PreToolUse-Bash-ls"));
    /// Kills the follower however the test ends, so no process outlives it.
    struct Follower(std::process::Child);
    impl Drop for Follower {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Follower(
        env.cmd(&["log", "--follow", "--utc"])
            .stdout(std::process::Stdio::piped())
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || rx.recv_timeout(std::time::Duration::from_secs(15)).expect("gate log --follow printed the next line");
    assert!(next().starts_with("session "));
    assert!(next().contains("ls -la && git status"));
    env.hook(&env.fixture("PreToolUse-Bash-rm"));
    let mut live = next();
    if live.starts_with("── ") {
        live = next();
    }
    assert!(live.contains("denied") && live.contains("rm -rf build"), "{live}");
    env.hook(&env.fixture("PostToolUse-Bash-ls"));
    let _ = next(); // the denied call's reason
    let outcome = next();
    assert!(outcome.contains("→ success 231ms"), "{outcome}");
}
