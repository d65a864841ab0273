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
        "STARTED (UTC)        AGENT         SESSION   CALLS   AUTO  APPROVED  DENIED  ASKED  CWD\n\
         YYYY-MM-DD HH:MM:SS  claude-code   100a8fb1      3      2         1       0      1  {project}\n\
         YYYY-MM-DD HH:MM:SS  claude-code   68c76b7a      2      1         0       1      0  {project}\n\
         `gate log <session>` tells one session's story.\n"
    );
    assert_eq!(normalise(&stdout(&out)), want);
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
    ]
    .concat();
    let got = normalise(&stdout(&out));
    assert_eq!(got.lines().skip(1).collect::<Vec<_>>().join("\n") + "\n", want, "\n{got}");
    assert!(got.starts_with("session 100a8fb1-0efb-4ba7-a482-9accfe4103b0  claude-code"), "{got}");

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
    let count = |args: &[&str]| -> usize {
        let mut a = vec!["log", "--json"];
        a.extend_from_slice(args);
        let out = env.run(&a);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        v.as_array().unwrap().len()
    };
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
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no receipts yet"));
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
