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
        // Found by a red-team pass: fields that change what a reader sees
        // without changing what is hashed.
        (
            "a digest smuggled beside edited content",
            edit(2, &|v| {
                v["content_digest"] = "ab".repeat(32).into();
                v["target"] = "echo harmless".into();
            }),
        ),
        ("an unknown field", edit(2, &|v| v["reviewer_note"] = "approved by alice".into())),
        ("an outcome that is not the row's", edit(3, &|v| v["outcome"] = "error".into())),
        (
            "args that disagree with args_text",
            edit(2, &|v| {
                v["args_text"] = v["args"].to_string().into();
                v["args"] = serde_json::json!({"command": "echo harmless"});
            }),
        ),
        ("a repeated key", {
            let mut l = lines.clone();
            l[2] = l[2].replacen("\"target\":", "\"target\":\"echo harmless\",\"target\":", 1);
            l.join("\n") + "\n"
        }),
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

#[test]
fn a_bundle_from_another_key_for_a_seen_store_needs_that_key_pinned() {
    let env = TestEnv::new();
    let (file, _) = bundle(&env);
    let verifier = TestEnv::new();
    let check = |path: &std::path::Path, key: Option<&str>| {
        let mut args = vec!["verify", "--bundle", path.to_str().unwrap()];
        if let Some(k) = key {
            args.extend(["--key", k]);
        }
        let o = verifier.run(&args);
        (o.status.code(), stdout(&o))
    };
    assert_eq!(check(&file, None).0, Some(0), "first use");
    // The same store, copied elsewhere and extended there, signed by another key.
    let forger = TestEnv::new();
    env.sqlite3(&format!("VACUUM INTO '{}'", forger.db_path().display()));
    forger.hook(&forger.fixture("PreToolUse-Bash-ls"));
    let forged = forger.dir.path().join("forged.bundle");
    assert_eq!(forger.run(&["export", "--bundle", forged.to_str().unwrap()]).status.code(), Some(0));
    let (code, out) = check(&forged, None);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("signed by") && out.contains("--key"), "{out}");
}

#[test]
fn emptying_a_recent_row_as_a_prune_fails_verify() {
    let env = TestEnv::new();
    session(&env);
    env.hook(&env.fixture("PreToolUse-Bash-rm"));
    // What a prune does to a row, and a prune row claiming it, both of
    // which the triggers accept: only the newest row is emptied.
    let rows = env.rows();
    let last = rows.last().unwrap();
    let seq = last["seq"].as_i64().unwrap();
    let cols = "session_id, tool_use_id, agent, os_user, host, cwd, tool, tool_kind, args, target, decision, \
                approver, source, rule_id, rule_origin, reason, links_seq, status, duration_ms, error, patch, detail, redacted";
    let set: Vec<String> = cols.split(", ").map(|c| format!("{c} = NULL")).collect();
    let out = env.run(&["verify"]);
    assert_eq!(out.status.code(), Some(0));
    let script = format!(
        "import json,hashlib,sqlite3,sys\n\
         db=sqlite3.connect(sys.argv[1]);cur=db.cursor()\n\
         cols=[c[1] for c in cur.execute('PRAGMA table_info(receipts)')]\n\
         row=dict(zip(cols,cur.execute('SELECT * FROM receipts WHERE seq={seq}').fetchone()))\n\
         content={{k:row[k] for k in '{cols}'.split(', ') if k!='redacted' or row[k] is not None}}\n\
         d=hashlib.sha256(json.dumps(content,sort_keys=True,separators=(',',':'),ensure_ascii=False).encode()).hexdigest()\n\
         cur.execute('UPDATE receipts SET {set}, content_digest=? WHERE seq={seq}',(d,))\n\
         db.commit()\n",
        cols = cols.replace("\\\n", ""),
        set = set.join(", "),
    );
    let out = std::process::Command::new("python3").arg("-c").arg(&script).arg(env.db_path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Without a prune row: caught.
    let (code, text) = verify(&env);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no `gate prune` accounts for"), "{text}");
    // With a prune row that claims it, chained by the spec: still caught,
    // since a real prune empties every row older than its date.
    let scripts = crate::util::repo_path("tests/scripts");
    let append = format!(
        "import sys,json,sqlite3,time\n\
         sys.path.insert(0,{scripts:?})\n\
         import recompute_hashes as spec\n\
         from datetime import datetime,timezone\n\
         db=sqlite3.connect(sys.argv[1]);cur=db.cursor()\n\
         seq,prev=cur.execute('SELECT seq,hash FROM receipts ORDER BY seq DESC LIMIT 1').fetchone()\n\
         now=int(time.time()*1000)\n\
         ts=datetime.fromtimestamp(now/1000,timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.')+'%03dZ'%(now%1000)\n\
         detail={{'before':ts,'from_seq':{seq},'to_seq':{seq},'rows':1,'questions':0}}\n\
         rec={{k:None for k in spec.CONTENT.values()}}\n\
         rec.update(seq=seq+1,ts=ts,kind='prune',prev_hash=prev,approver='alice',source='cli',detail=detail)\n\
         h=spec.row_hash(rec)\n\
         cur.execute('INSERT INTO receipts (seq,ts,kind,approver,source,detail,prev_hash,hash) VALUES (?,?,?,?,?,?,?,?)',(seq+1,now,'prune','alice','cli',spec.compact(detail),prev,h))\n\
         db.commit()\n"
    );
    let out = std::process::Command::new("python3").arg("-c").arg(&append).arg(env.db_path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (code, text) = verify(&env);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no `gate prune` accounts for"), "{text}");
}

#[test]
fn the_checkpoint_log_cannot_be_quietly_removed() {
    let env = TestEnv::new();
    session(&env);
    session(&env);
    let log = env.gate_home().join("checkpoints.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 2);
    // Cut rows, then hide the newest checkpoint by taking off its newline.
    env.sqlite3("DROP TRIGGER receipts_no_delete; DELETE FROM receipts WHERE seq > 5");
    std::fs::write(&log, text.trim_end_matches('\n')).unwrap();
    let (code, out) = verify(&env);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("rows were removed from its end"), "{out}");
    // Deleted, while the key exists and sessions have ended: caught.
    std::fs::remove_file(&log).unwrap();
    let (code, out) = verify(&env);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("is gone"), "{out}");
    // A symlink in its place: caught.
    std::os::unix::fs::symlink("/nonexistent/x", &log).unwrap();
    let (code, out) = verify(&env);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not a regular file"), "{out}");
}

#[test]
fn a_planted_symlink_is_not_followed_by_export_bundle() {
    let env = TestEnv::new();
    session(&env);
    let victim = env.dir.path().join("victim_rc");
    std::fs::write(&victim, "keep me").unwrap();
    let out_file = env.dir.path().join("receipts.bundle");
    std::os::unix::fs::symlink(&victim, env.dir.path().join("receipts.bundle-partial")).unwrap();
    assert_eq!(env.run(&["export", "--bundle", out_file.to_str().unwrap()]).status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}
