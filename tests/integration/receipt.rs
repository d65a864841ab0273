//! The receipt's guarantees, checked against the real SQLite file: the
//! append-only triggers, the hash chain, `gate verify` catching edits,
//! deletions and reordering, and concurrent hook processes never forking the chain.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

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

/// A `gate hook` child that is killed if the test gives up on it.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One `gate hook` call with `payload`, given `limit` to answer: its exit code.
fn hook_call(envp: &(PathBuf, PathBuf, PathBuf), payload: &[u8], limit: Duration) -> Option<i32> {
    use std::io::{Read, Write};
    let mut c = std::process::Command::new(crate::util::GATE);
    c.arg("hook")
        .env_clear()
        .env("HOME", &envp.0)
        .env("GATE_HOME", &envp.1)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(&envp.2)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = Child(c.spawn().expect("spawn gate hook"));
    let _ = child.0.stdin.take().expect("stdin").write_all(payload);
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            let mut out = String::new();
            let _ = child.0.stdout.take().expect("stdout").read_to_string(&mut out);
            return status.code();
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Issue 10, item 3: 8 processes at a time × 500 hook calls each, on one
/// store: floor-approved shell commands, reads and denied commands. Every
/// call leaves exactly one decision row, the rows form one linear chain
/// (each row's prev_hash is the hash of the row before it, seq has no gap,
/// no hash is any two rows' parent), and `gate verify` passes.
#[test]
fn eight_processes_times_five_hundred_calls_make_one_chain() {
    const WORKERS: usize = 8;
    const CALLS: usize = 500;
    let env = TestEnv::new();
    std::fs::write(env.project().join("main.rs"), "fn main() {}\n").unwrap();
    let mut ls = env.fixture("PreToolUse-Bash-ls");
    ls["tool_input"]["command"] = json!("ls");
    let mut read = env.fixture("PreToolUse-Read");
    read["tool_input"]["file_path"] = json!(env.project().join("main.rs"));
    let rm = env.fixture("PreToolUse-Bash-rm");
    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let payloads: Vec<Vec<u8>> = [&ls, &read, &rm].iter().map(|p| p.to_string().into_bytes()).collect();
            let envp = (env.home(), env.gate_home(), env.project());
            std::thread::spawn(move || {
                let mut codes = [0usize; 3];
                for i in 0..CALLS {
                    let k = (i + w) % 3;
                    let code = hook_call(&envp, &payloads[k], Duration::from_secs(60));
                    assert_eq!(code, Some(0), "worker {w}, call {i}: gate hook did not answer in time or failed");
                    codes[k] += 1;
                }
                codes
            })
        })
        .collect();
    let mut per_kind = [0usize; 3];
    for t in workers {
        let c = t.join().expect("a worker failed");
        for k in 0..3 {
            per_kind[k] += c[k];
        }
    }
    let elapsed = started.elapsed();
    eprintln!("{} hook calls by {WORKERS} processes at a time took {elapsed:?}", WORKERS * CALLS);
    let total = WORKERS * CALLS;
    assert_eq!(per_kind.iter().sum::<usize>(), total);
    // Exactly one decision row per call, and nothing else.
    let counts = env.sqlite3(
        "SELECT COUNT(*), SUM(kind = 'decision'), SUM(decision = 'auto-approved'), SUM(decision = 'denied'), \
         MIN(seq), MAX(seq), COUNT(DISTINCT hash), COUNT(DISTINCT prev_hash) FROM receipts",
    );
    let want = format!("{total}|{total}|{}|{}|1|{total}|{total}|{total}", per_kind[0] + per_kind[1], per_kind[2]);
    assert_eq!(counts.trim(), want, "rows, decisions, allowed, denied, seq range, distinct hashes and parents");
    // One linear chain: each row's parent is the row just before it.
    let breaks =
        env.sqlite3("SELECT COUNT(*) FROM receipts r JOIN receipts p ON p.seq = r.seq - 1 WHERE r.prev_hash != p.hash");
    assert_eq!(breaks.trim(), "0", "rows whose prev_hash is not the previous row's hash");
    let first = env.sqlite3("SELECT prev_hash FROM receipts WHERE seq = 1");
    assert_eq!(first.trim(), "0".repeat(64), "the chain starts at the genesis hash");
    let verify = env.run(&["verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", String::from_utf8_lossy(&verify.stderr));
    assert!(String::from_utf8_lossy(&verify.stdout).contains(&format!("{total} rows")), "verify checked every row");
}

#[test]
fn migrations_are_numbered_and_recorded() {
    let env = TestEnv::new();
    env.hook(&env.fixture("SessionStart"));
    assert_eq!(env.sqlite3("PRAGMA user_version").trim(), "4");
    env.hook(&env.fixture("SessionEnd"));
    assert_eq!(env.sqlite3("SELECT COUNT(*) FROM receipts").trim(), "2");
}

/// Every hook process reads the whole WAL when it opens the store, so the
/// WAL is kept short: the call that takes it past its limit answers, then
/// a detached process checkpoints it. 120 calls write about 3 MB of WAL.
#[test]
fn the_wal_is_checkpointed_after_the_hook_answers() {
    let env = TestEnv::new();
    let wal = env.db_path().with_file_name("gate.db-wal");
    for i in 0..120 {
        let mut p = env.fixture("PreToolUse-Bash-ls");
        p["tool_use_id"] = serde_json::json!(format!("toolu_wal_{i}"));
        assert_eq!(env.hook(&p).status.code(), Some(0), "call {i}");
    }
    let size = || wal.metadata().map(|m| m.len()).unwrap_or(0);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while size() > 512 * 1024 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(size() <= 512 * 1024, "the WAL stayed at {} bytes", size());
    let v = env.run(&["verify"]);
    assert!(v.status.success() && stdout(&v).contains("120 rows"), "{}", stdout(&v));
}
