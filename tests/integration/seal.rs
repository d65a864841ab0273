//! Checkpoints and bundles, through the real binary: a session's end and
//! an export leave signed checkpoints; `gate verify` fails on a receipt
//! that was deleted, replaced or cut short; a bundle round-trips and every
//! kind of tampering with one fails `gate verify --bundle`.

use serde_json::Value;

use crate::util::{stdout, TestEnv};

fn session(env: &TestEnv) {
    for f in ["SessionStart", "PreToolUse-Bash-ls", "PostToolUse-Bash-ls", "PreToolUse-Read", "SessionEnd"] {
        assert_eq!(env.hook(&env.fixture(f)).status.code(), Some(0), "{f}");
    }
}

fn remove_store(env: &TestEnv) {
    for side in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", env.db_path().display()));
    }
}

fn verify(env: &TestEnv) -> (Option<i32>, String) {
    let o = env.run(&["verify"]);
    (o.status.code(), stdout(&o))
}

#[test]
fn a_session_end_leaves_a_checkpoint_that_verify_checks() {
    let env = TestEnv::new();
    session(&env);
    let log = std::fs::read_to_string(env.gate_home().join("checkpoints.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");
    let (code, out) = verify(&env);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("matches 1 signed checkpoint (largest 5 rows)"), "{out}");
}

#[test]
fn a_deleted_receipt_fails_verify() {
    let env = TestEnv::new();
    session(&env);
    remove_store(&env);
    let (code, out) = verify(&env);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("is gone") && out.contains("5 rows"), "{out}");
}

#[test]
fn a_replaced_receipt_fails_verify_though_its_own_chain_is_intact() {
    let env = TestEnv::new();
    session(&env);
    remove_store(&env);
    // A fresh chain written after the old one was removed.
    session(&env);
    let (code, out) = verify(&env);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("the receipt was replaced"), "{out}");
    // The session end could not checkpoint over the old store, and said so.
    let o = env.hook(&env.fixture("SessionEnd"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no checkpoint written"), "{o:?}");
}

#[test]
fn an_older_copy_of_the_receipt_fails_verify() {
    let env = TestEnv::new();
    session(&env);
    let copy = env.dir.path().join("old.db");
    env.sqlite3(&format!("VACUUM INTO '{}'", copy.display()));
    session(&env);
    remove_store(&env);
    std::fs::copy(&copy, env.db_path()).unwrap();
    let (code, out) = verify(&env);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("rows were removed from its end"), "{out}");
}

#[test]
fn an_export_leaves_a_checkpoint() {
    let env = TestEnv::new();
    for f in ["PreToolUse-Bash-ls", "PreToolUse-Read"] {
        env.hook(&env.fixture(f));
    }
    assert!(!env.gate_home().join("checkpoints.jsonl").exists());
    assert_eq!(env.run(&["export"]).status.code(), Some(0));
    let log = std::fs::read_to_string(env.gate_home().join("checkpoints.jsonl")).unwrap();
    assert!(log.contains("\"size\":2"), "{log}");
}

fn bundle(env: &TestEnv) -> (std::path::PathBuf, String) {
    session(env);
    let file = env.dir.path().join("receipts.bundle");
    let o = env.run(&["export", "--bundle", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let key = stdout(&env.run(&["key"])).trim().to_string();
    assert!(key.starts_with("ed25519:"), "{key}");
    (file, key)
}

/// Verify a bundle with its own verifier state (another machine).
fn verify_bundle(env: &TestEnv, text: &str, key: Option<&str>) -> (Option<i32>, String) {
    let file = env.dir.path().join("check.bundle");
    std::fs::write(&file, text).unwrap();
    let mut args = vec!["verify", "--bundle", file.to_str().unwrap()];
    if let Some(k) = key {
        args.extend(["--key", k]);
    }
    let other = TestEnv::new();
    let o = other.run(&args);
    (o.status.code(), stdout(&o))
}

#[test]
fn a_bundle_round_trips_and_checks_its_signer() {
    let env = TestEnv::new();
    let (file, key) = bundle(&env);
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 5 + 1, "header, five records, checkpoint");
    assert!(lines[0].contains("gate.bundle/1"));
    let (code, out) = verify_bundle(&env, &text, Some(&key));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("5 records") && out.contains("pinned key"), "{out}");
    let (code, out) = verify_bundle(&env, &text, None);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("not pinned"), "{out}");
    let stranger = TestEnv::new();
    let other_key = stdout(&stranger.run(&["key"])).trim().to_string();
    let (code, out) = verify_bundle(&env, &text, Some(&other_key));
    assert_eq!(code, Some(1), "{out}");
}

#[test]
fn every_tampered_bundle_fails() {
    let env = TestEnv::new();
    let (file, key) = bundle(&env);
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let edit = |i: usize, f: &dyn Fn(&mut Value)| {
        let mut l = lines.clone();
        let mut v: Value = serde_json::from_str(&l[i]).unwrap();
        f(&mut v);
        l[i] = v.to_string();
        l.join("\n") + "\n"
    };
    let without = |i: usize| {
        let mut l = lines.clone();
        l.remove(i);
        l.join("\n") + "\n"
    };
    let swapped = {
        let mut l = lines.clone();
        l.swap(2, 3);
        l.join("\n") + "\n"
    };
    let cases: Vec<(&str, String)> = vec![
        ("edited target", edit(2, &|v| v["target"] = "rm -rf /".into())),
        ("edited decision", edit(2, &|v| v["decision"] = "denied".into())),
        ("edited args", edit(2, &|v| v["args"]["command"] = "ls -la /".into())),
        ("edited hash to match", edit(2, &|v| v["hash"] = "00".repeat(32).into())),
        ("dropped record", without(3)),
        ("dropped last record", without(5)),
        ("reordered", swapped),
        ("no checkpoint", without(6)),
        ("checkpoint size", edit(6, &|v| v["checkpoint"]["size"] = 4.into())),
        ("trailing garbage", text.clone() + "{}\n"),
    ];
    for (name, tampered) in cases {
        let (code, out) = verify_bundle(&env, &tampered, Some(&key));
        assert_eq!(code, Some(1), "{name}: {out}");
        assert!(out.contains("FAILED"), "{name}: {out}");
    }
}

#[test]
fn a_bundle_shorter_than_one_already_seen_fails() {
    let env = TestEnv::new();
    let (first, key) = bundle(&env);
    let short = std::fs::read_to_string(&first).unwrap();
    session(&env);
    let long_file = env.dir.path().join("later.bundle");
    assert_eq!(env.run(&["export", "--bundle", long_file.to_str().unwrap()]).status.code(), Some(0));
    let long = std::fs::read_to_string(&long_file).unwrap();
    // One verifier sees the longer bundle, then is handed the shorter one.
    let verifier = TestEnv::new();
    let check = |text: &str| {
        let f = verifier.dir.path().join("in.bundle");
        std::fs::write(&f, text).unwrap();
        let o = verifier.run(&["verify", "--bundle", f.to_str().unwrap(), "--key", &key]);
        (o.status.code(), stdout(&o))
    };
    assert_eq!(check(&long).0, Some(0));
    let (code, out) = check(&short);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAILED"), "{out}");
    assert_eq!(check(&long).0, Some(0), "the same bundle again still verifies");
}

#[test]
fn a_bundle_takes_no_filters() {
    let env = TestEnv::new();
    session(&env);
    let o = env.run(&["export", "--bundle", "x.bundle", "--since", "1h"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("takes no filters"));
}
