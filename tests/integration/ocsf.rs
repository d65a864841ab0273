//! `gate export --format ocsf` over a varied recorded session (shells,
//! file tools, a fetch, MCP calls from two agents, a refused payload,
//! session start and end): every event validates against the OCSF 1.8
//! subset in `tests/fixtures/ocsf-1.8/`, each call lands in its class,
//! activity and disposition, and one event is compared whole.

use serde_json::{json, Value};

use crate::util::{repo_path, stdout, TestEnv};

fn record_varied_session(env: &TestEnv) {
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
        "PreToolUse-Edit",
        "PostToolUse-Edit",
        "PreToolUse-WebFetch",
        "SessionEnd",
    ] {
        assert_eq!(env.hook(&env.fixture(f)).status.code(), Some(0), "{f}");
    }
    for (agent, f) in
        [("codex", "codex-0.169.0/PreToolUse-mcp__srv__echo"), ("gemini", "gemini-cli-0.61.0/BeforeTool-mcp_srv_echo")]
    {
        let out = env.run_with_stdin(&["hook", "--agent", agent], env.agent_fixture(f).to_string().as_bytes());
        assert_eq!(out.status.code(), Some(0), "{f}");
    }
    // A payload gate cannot use is refused and recorded.
    env.run_with_stdin(&["hook", "--agent", "claude"], b"{\"tool_name\": \"Bash\", \"tool_input\": ");
}

fn ocsf_events(env: &TestEnv) -> Vec<Value> {
    let out = env.run(&["export", "--format", "ocsf"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    stdout(&out).lines().map(|l| serde_json::from_str(l).expect("one JSON event per line")).collect()
}

fn validator() -> jsonschema::Validator {
    let path = repo_path("tests/fixtures/ocsf-1.8/gate-classes.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).expect("a valid JSON Schema")
}

#[test]
fn every_event_validates_against_the_ocsf_schema() {
    let env = TestEnv::new();
    record_varied_session(&env);
    let events = ocsf_events(&env);
    let rows = env.rows();
    assert_eq!(events.len(), rows.len(), "no prune rows here, so one event per row");
    let schema = validator();
    for e in &events {
        let errors: Vec<String> = schema.iter_errors(e).map(|err| format!("{}: {err}", err.instance_path())).collect();
        assert!(errors.is_empty(), "{e}\n{}", errors.join("\n"));
    }
    let seqs: Vec<&Value> = events.iter().map(|e| &e["metadata"]["sequence"]).collect();
    let hashes: Vec<&Value> = events.iter().map(|e| &e["metadata"]["uid"]).collect();
    assert_eq!(seqs, rows.iter().map(|r| &r["seq"]).collect::<Vec<_>>());
    assert_eq!(hashes, rows.iter().map(|r| &r["hash"]).collect::<Vec<_>>());
}

#[test]
fn the_schema_rejects_what_ocsf_does() {
    let schema = validator();
    let env = TestEnv::new();
    env.hook(&env.fixture("PreToolUse-Bash-rm"));
    let good = ocsf_events(&env).remove(0);
    assert!(schema.is_valid(&good));
    type Edit = fn(&mut Value);
    let cases: &[(&str, Edit)] = &[
        ("no class_uid", |e| {
            e.as_object_mut().unwrap().remove("class_uid");
        }),
        ("no process", |e| {
            e.as_object_mut().unwrap().remove("process");
        }),
        ("unknown disposition", |e| e["disposition_id"] = json!(28)),
        ("type_uid of another class", |e| e["type_uid"] = json!(100101)),
        ("file in a process event", |e| e["file"] = json!({ "name": "x", "type_id": 1 })),
        ("empty actor", |e| e["actor"] = json!({})),
        ("time as text", |e| e["time"] = json!("2026-01-01T00:00:00Z")),
    ];
    for (what, edit) in cases {
        let mut bad = good.clone();
        edit(&mut bad);
        assert!(!schema.is_valid(&bad), "{what} should fail");
    }
}

#[test]
fn each_call_lands_in_its_class_activity_and_disposition() {
    let env = TestEnv::new();
    record_varied_session(&env);
    let events = ocsf_events(&env);
    // (kind, tool, class_uid, activity_id, action_id, disposition_id, status_id)
    type Want = (&'static str, &'static str, u64, u64, Option<u64>, Option<u64>, Option<u64>);
    let cases: &[Want] = &[
        ("session", "", 6002, 3, None, None, None),
        ("decision", "Bash", 1007, 1, Some(1), Some(1), Some(2)),
        ("outcome", "Bash", 1007, 1, None, None, Some(2)),
        ("decision", "Bash", 1007, 1, Some(2), Some(2), Some(2)),
        ("decision", "Bash", 1007, 1, Some(1), Some(1), Some(1)),
        ("outcome", "Bash", 1007, 1, None, None, Some(1)),
        ("decision", "Read", 1001, 2, Some(1), Some(1), Some(1)),
        ("outcome", "Read", 1001, 2, None, None, Some(1)),
        ("decision", "Write", 1001, 3, Some(99), Some(14), Some(1)),
        ("outcome", "Write", 1001, 3, Some(1), Some(8), Some(1)),
        ("decision", "Edit", 1001, 3, Some(99), Some(14), Some(1)),
        ("outcome", "Edit", 1001, 3, Some(1), Some(8), Some(1)),
        ("decision", "WebFetch", 6003, 2, Some(99), Some(14), None),
        ("session", "", 6002, 4, None, None, None),
        ("decision", "mcp__srv__echo", 6003, 99, Some(2), Some(2), Some(2)),
        ("decision", "mcp_srv_echo", 6003, 99, Some(2), Some(2), Some(2)),
        ("decision", "", 6003, 99, Some(2), Some(27), Some(2)),
    ];
    assert_eq!(events.len(), cases.len());
    for (e, (kind, tool, class_uid, activity_id, action_id, disposition_id, status_id)) in events.iter().zip(cases) {
        let what = format!("{kind} {tool}: {e}");
        assert_eq!(e["unmapped"]["kind"], *kind, "{what}");
        assert_eq!(e["unmapped"]["tool"].as_str().unwrap_or(""), *tool, "{what}");
        assert_eq!(e["class_uid"], *class_uid, "{what}");
        assert_eq!(e["activity_id"], *activity_id, "{what}");
        assert_eq!(e["type_uid"], class_uid * 100 + activity_id, "{what}");
        assert_eq!(e["action_id"].as_u64(), *action_id, "{what}");
        assert_eq!(e["disposition_id"].as_u64(), *disposition_id, "{what}");
        assert_eq!(e["status_id"].as_u64(), *status_id, "{what}");
    }
    let mcp = &events[14];
    assert_eq!(mcp["api"], json!({ "operation": "echo", "service": { "name": "srv" } }));
    let fetch = &events[12];
    assert_eq!(fetch["http_request"]["url"]["url_string"], "https://example.com/");
    assert_eq!(fetch["policy"]["uid"], "ask-web-fetch");
    let git = &events[1];
    assert_eq!(git["metadata"]["correlation_uid"], events[2]["metadata"]["correlation_uid"]);
}

/// Replace what changes from run to run: times, hashes, the temp project,
/// the OS user and host.
fn normalise(mut e: Value, env: &TestEnv) -> Value {
    let project = env.project().to_string_lossy().into_owned();
    e["time"] = json!("<time>");
    e["metadata"]["uid"] = json!("<hash>");
    e["metadata"]["product"]["version"] = json!("<version>");
    e["unmapped"]["hash"] = json!("<hash>");
    e["unmapped"]["prev_hash"] = json!("<prev_hash>");
    e["actor"]["user"]["name"] = json!("<os_user>");
    e["device"]["hostname"] = json!("<host>");
    assert_eq!(e["process"]["working_directory"], project.as_str());
    e["process"]["working_directory"] = json!("<project>");
    e
}

#[test]
fn a_denied_shell_call_reads_as_this_event() {
    let env = TestEnv::new();
    env.hook(&env.fixture("PreToolUse-Bash-rm"));
    let event = normalise(ocsf_events(&env).remove(0), &env);
    let want = r#"{
  "class_uid": 1007,
  "class_name": "Process Activity",
  "category_uid": 1,
  "category_name": "System Activity",
  "activity_id": 1,
  "activity_name": "Launch",
  "type_uid": 100701,
  "type_name": "Process Activity: Launch",
  "time": "<time>",
  "timezone_offset": 0,
  "metadata": {
    "version": "1.8.0",
    "product": {
      "name": "gate",
      "vendor_name": "gate",
      "version": "<version>"
    },
    "uid": "<hash>",
    "sequence": 1,
    "event_code": "decision",
    "log_name": "receipt",
    "correlation_uid": "toolu_c68273f4a4c041598ff9"
  },
  "severity_id": 3,
  "severity": "Medium",
  "action_id": 2,
  "action": "Denied",
  "disposition_id": 2,
  "disposition": "Blocked",
  "status_id": 2,
  "status": "Failure",
  "message": "`rm -rf build`: gate blocks recursive forced deletion. Instead, delete the specific files by name (rm path/to/file), or ask the user to run this command themselves",
  "policy": {
    "uid": "no-rm-rf",
    "name": "no-rm-rf",
    "is_applied": true
  },
  "actor": {
    "user": {
      "name": "<os_user>"
    },
    "session": {
      "uid": "68c76b7a-2f22-423d-95ae-9a20e1d4a8fa"
    },
    "app_name": "claude-code"
  },
  "device": {
    "hostname": "<host>",
    "type_id": 0,
    "type": "Unknown"
  },
  "process": {
    "cmd_line": "rm -rf build",
    "uid": "toolu_c68273f4a4c041598ff9",
    "working_directory": "<project>"
  },
  "unmapped": {
    "seq": 1,
    "kind": "decision",
    "prev_hash": "<prev_hash>",
    "hash": "<hash>",
    "decision": "denied",
    "source": "rule",
    "approver": "gate",
    "rule_origin": "policies/default.toml (built in):12",
    "agent": "claude-code",
    "tool": "Bash",
    "tool_kind": "shell",
    "tool_use_id": "toolu_c68273f4a4c041598ff9",
    "target": "rm -rf build",
    "args": {
      "command": "rm -rf build",
      "description": "clean"
    }
  }
}"#;
    // Compared as text, so the order of the attributes counts too.
    let got = serde_json::to_string_pretty(&event).unwrap();
    assert_eq!(got, want, "got:\n{got}");
}
