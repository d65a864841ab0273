//! The receipt's guarantees, checked against the real SQLite file: the
//! append-only triggers, the hash chain, `gate verify` catching edits,
//! deletions and reordering, and concurrent hooks never forking the chain.

use crate::util::{stdout, TestEnv};

fn session(env: &TestEnv) {
    for f in [
        "SessionStart",
        "PreToolUse-Bash-ls",
        "PostToolUse-Bash-ls",
        "PreToolUse-Bash-rm",
        "PreToolUse-Read",
        "SessionEnd",
    ] {
        let out = env.hook(&env.fixture(f));
        assert!(out.status.code() == Some(0), "{f}");
    }
}

#[test]
fn verify_passes_on_an_honest_receipt() {
    let env = TestEnv::new();
    session(&env);
    let out = env.run(&["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let line = stdout(&out);
    assert!(
        line.starts_with(
            "ok: 6 rows, chain intact from seq 1 to 6; matches 1 signed checkpoint (largest 6 rows); head "
        ),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1);
}

#[test]
fn triggers_refuse_update_delete_and_replace() {
    let env = TestEnv::new();
    session(&env);
    let attempts = [
        ("UPDATE receipts SET decision = 'approved' WHERE seq = 4", "UPDATE refused"),
        ("DELETE FROM receipts WHERE seq = 6", "DELETE refused"),
        ("INSERT OR REPLACE INTO receipts (seq, ts, kind, prev_hash, hash) VALUES (2, 0, 'decision', 'x', 'y')", "append-only"),
        ("INSERT INTO receipts (seq, ts, kind, prev_hash, hash) VALUES (9, 0, 'decision', 'x', 'y')", "does not extend the chain"),
        ("INSERT INTO receipts (seq, ts, kind, prev_hash, hash) VALUES (7, 0, 'decision', 'x', 'y')", "does not extend the chain"),
        // Without the order trigger, the reuse trigger alone still refuses REPLACE.
        ("DROP TRIGGER receipts_in_order; INSERT OR REPLACE INTO receipts (seq, ts, kind, prev_hash, hash) VALUES (2, 0, 'decision', 'x', 'y')", "seq already used"),
    ];
    for (sql, want) in attempts {
        let out = std::process::Command::new("sqlite3")
            .args(["-cmd", ".timeout 10000"])
            .arg(env.db_path())
            .arg(sql)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{sql} must fail");
        assert!(String::from_utf8_lossy(&out.stderr).contains(want), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // Nothing was changed, but the dropped trigger is reported.
    let out = env.run(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out).trim(),
        format!("gate verify: FAILED: the append-only triggers are gone (receipts_in_order); someone opened {} with write access", env.db_path().display())
    );
}

fn drop_triggers(env: &TestEnv) {
    env.sqlite3(
        "DROP TRIGGER receipts_no_update; DROP TRIGGER receipts_no_delete; \
         DROP TRIGGER receipts_no_reuse; DROP TRIGGER receipts_in_order;",
    );
}

#[test]
fn verify_names_the_first_bad_row() {
    let cases: &[(&str, &str)] = &[
        (
            "UPDATE receipts SET args = '{\"command\":\"ls\"}' WHERE seq = 4",
            "gate verify: FAILED: seq 4: row was edited",
        ),
        ("UPDATE receipts SET decision = 'approved' WHERE seq = 4", "gate verify: FAILED: seq 4: row was edited"),
        ("UPDATE receipts SET ts = ts + 1 WHERE seq = 2", "gate verify: FAILED: seq 2: row was edited"),
        ("DELETE FROM receipts WHERE seq = 3", "gate verify: FAILED: seq 3: row is missing"),
        ("DELETE FROM receipts WHERE seq IN (2, 3)", "gate verify: FAILED: seq 2: rows 2..3 are missing"),
        (
            // Swap rows 4 and 5 by renumbering them.
            "UPDATE receipts SET seq = 100 WHERE seq = 4; UPDATE receipts SET seq = 4 WHERE seq = 5; \
             UPDATE receipts SET seq = 5 WHERE seq = 100",
            "gate verify: FAILED: seq 4: rows out of order (it chains to seq 5, not to seq 3)",
        ),
    ];
    for (sql, want) in cases {
        let env = TestEnv::new();
        session(&env);
        drop_triggers(&env);
        env.sqlite3(sql);
        let out = env.run(&["verify"]);
        assert_eq!(out.status.code(), Some(1), "{sql}");
        let text = stdout(&out);
        assert!(text.lines().next().unwrap_or("").starts_with(want), "{sql}:\n{text}");
        assert!(text.contains("append-only triggers are gone"), "{text}");
    }
}

#[test]
fn verify_with_head_catches_a_cut_tail() {
    let env = TestEnv::new();
    session(&env);
    let out = stdout(&env.run(&["verify"]));
    let head = out.trim().rsplit(' ').next().unwrap().to_string();
    assert_eq!(env.run(&["verify", "--head", &head]).status.code(), Some(0));
    drop_triggers(&env);
    env.sqlite3("DELETE FROM receipts WHERE seq = 6");
    // Recreate the triggers so only the missing tail is wrong.
    let schema = include_str!("../../src/store/migrations/0001_receipts.sql");
    let triggers: String = schema.split("CREATE TRIGGER").skip(1).map(|t| format!("CREATE TRIGGER{t}")).collect();
    env.sqlite3(&triggers);
    // The signed checkpoint of the session's end catches it first.
    let sealed = env.run(&["verify"]);
    assert_eq!(sealed.status.code(), Some(1));
    assert!(stdout(&sealed).contains("rows were removed from its end"), "{}", stdout(&sealed));
    std::fs::remove_file(env.gate_home().join("checkpoints.jsonl")).unwrap();
    assert_eq!(env.run(&["verify"]).status.code(), Some(0), "the rest is intact");
    let out = env.run(&["verify", "--head", &head]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("is no longer in the chain"), "{}", stdout(&out));
}

#[test]
fn concurrent_hooks_never_fork_the_chain() {
    let env = TestEnv::new();
    let payload = env.fixture("PreToolUse-Bash-ls").to_string();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let p = payload.clone();
            let envp = (env.home(), env.gate_home(), env.project());
            std::thread::spawn(move || {
                for _ in 0..15 {
                    let mut c = std::process::Command::new(crate::util::GATE);
                    c.arg("hook").env_clear().env("HOME", &envp.0).env("GATE_HOME", &envp.1).current_dir(&envp.2);
                    let mut child =
                        c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
                    use std::io::Write;
                    child.stdin.take().unwrap().write_all(p.as_bytes()).unwrap();
                    let out = child.wait_with_output().unwrap();
                    assert_eq!(out.status.code(), Some(0));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(env.sqlite3("SELECT COUNT(*), COUNT(DISTINCT prev_hash), MAX(seq) FROM receipts").trim(), "120|120|120");
    assert_eq!(env.run(&["verify"]).status.code(), Some(0));
}

#[test]
fn migrations_are_numbered_and_recorded() {
    let env = TestEnv::new();
    env.hook(&env.fixture("SessionStart"));
    assert_eq!(env.sqlite3("PRAGMA user_version").trim(), "3");
    env.hook(&env.fixture("SessionEnd"));
    assert_eq!(env.sqlite3("SELECT COUNT(*) FROM receipts").trim(), "2");
}
