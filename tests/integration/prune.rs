//! `gate prune`: old payloads go, from the database file and its WAL, while
//! every hash stays and `gate verify` still proves the whole chain; a
//! prune row says who pruned what; a silent prune is caught.

use serde_json::Value;

use crate::util::{stdout, TestEnv};

fn raw_bytes(env: &TestEnv) -> Vec<u8> {
    let mut all = Vec::new();
    for side in ["", "-wal"] {
        if let Ok(b) = std::fs::read(format!("{}{side}", env.db_path().display())) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn record(env: &TestEnv, marker: &str) {
    let mut p = env.fixture("PreToolUse-Bash-ls");
    p["tool_input"]["command"] = Value::String(format!("ls {marker}"));
    assert_eq!(env.hook(&p).status.code(), Some(0));
}

#[test]
fn prune_removes_old_payloads_and_keeps_the_chain() {
    let env = TestEnv::new();
    record(&env, "old-one-7f3a");
    record(&env, "old-two-7f3a");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let cut = stdout(&env.run(&["export"])).lines().count();
    assert_eq!(cut, 2);
    let o = env.run(&["prune", "--before", "0s", "--dry-run"]);
    assert!(stdout(&o).contains("would prune the payload of 2 rows"), "{o:?}");
    assert!(contains(&raw_bytes(&env), "old-one-7f3a"));
    let o = env.run(&["prune", "--before", "0s"]);
    assert_eq!(o.status.code(), Some(2), "no terminal and no --yes: refused");
    let o = env.run(&["prune", "--before", "0s", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout(&o).contains("pruned the payload of 2 rows"), "{}", stdout(&o));
    record(&env, "new-one-7f3a");
    let bytes = raw_bytes(&env);
    assert!(!contains(&bytes, "old-one-7f3a") && !contains(&bytes, "old-two-7f3a"));
    assert!(contains(&bytes, "new-one-7f3a"));
    let v = env.run(&["verify"]);
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    let rows = env.rows();
    assert_eq!(rows.len(), 4);
    assert!(rows[0]["args"].is_null() && rows[0]["content_digest"].is_string());
    assert_eq!(rows[2]["kind"], "prune");
    assert_eq!(rows[2]["detail"]["from_seq"], 1);
    assert_eq!(rows[2]["detail"]["to_seq"], 2);
    assert!(rows[2]["approver"].is_string());
    // A script that is not gate still recomputes every hash.
    let export = stdout(&env.run(&["export"]));
    let script = crate::util::repo_path("tests/scripts/recompute_hashes.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg({
            let f = env.dir.path().join("export.jsonl");
            std::fs::write(&f, export).unwrap();
            f
        })
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    // Nothing left to prune before then.
    let second = rows[1]["ts"].as_str().unwrap();
    assert!(stdout(&env.run(&["prune", "--before", second, "--yes"])).contains("nothing to prune"));
}

#[test]
fn a_payload_removed_without_a_prune_row_fails_verify() {
    let env = TestEnv::new();
    record(&env, "a");
    record(&env, "b");
    // What a prune does to a row, done by hand: allowed by the trigger,
    // but no prune row says so.
    let digest = "ab".repeat(32);
    let cols = "session_id, tool_use_id, agent, os_user, host, cwd, tool, tool_kind, args, target, decision, \
                approver, source, rule_id, rule_origin, reason, links_seq, status, duration_ms, error, patch, detail, redacted";
    let set: Vec<String> = cols.split(", ").map(|c| format!("{c} = NULL")).collect();
    env.sqlite3(&format!("UPDATE receipts SET {}, content_digest = '{digest}' WHERE seq = 1", set.join(", ")));
    let v = env.run(&["verify"]);
    assert_eq!(v.status.code(), Some(1));
    // The made-up digest does not give the row's hash back.
    assert!(stdout(&v).contains("seq 1: row was edited"), "{}", stdout(&v));
}

#[test]
fn an_agent_cannot_prune_its_own_receipt() {
    let env = TestEnv::new();
    for cmd in ["gate prune --before 1d --yes", "/usr/local/bin/gate prune --before 0s"] {
        let o = env.run(&["check", "--json", "--", cmd]);
        let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["decision"], "deny", "{cmd}: {v}");
    }
}
