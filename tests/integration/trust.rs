//! `gate key` (gate issue 9, item 4): the signing key is created on first
//! use with mode 0600, the public key printed is the same on every run, and
//! a key file others can read is refused with a message saying how to fix.

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::util::{stderr, stdout, TestEnv};

fn key_path(env: &TestEnv) -> std::path::PathBuf {
    env.gate_home().join("signing.key")
}

#[test]
fn gate_key_creates_a_private_key_and_prints_the_same_public_key_every_run() {
    let env = TestEnv::new();
    let first = env.run(&["key"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let public = stdout(&first).trim().to_string();
    assert!(public.starts_with("ed25519:") && public.len() == 8 + 64, "{public}");
    let mode = std::fs::metadata(key_path(&env)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    assert_eq!(stdout(&env.run(&["key"])).trim(), public, "stable across runs");
    let json: Value = serde_json::from_str(&stdout(&env.run(&["key", "--json"]))).unwrap();
    assert_eq!(json["key"], public.as_str());
    assert_eq!(json["key_id"].as_str().unwrap().len(), 16);
    assert_eq!(json["path"], key_path(&env).to_string_lossy().as_ref());
}

#[test]
fn a_group_readable_key_is_refused_with_the_fix() {
    let env = TestEnv::new();
    assert_eq!(env.run(&["key"]).status.code(), Some(0));
    let path = key_path(&env);
    let before = std::fs::read(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = env.run(&["key"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("gate: signing key "), "{err}");
    assert!(err.contains("mode 640") && err.contains(&format!("chmod 600 {}", path.display())), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "the key is left alone");
}

#[test]
fn a_malformed_key_is_refused_not_replaced() {
    let env = TestEnv::new();
    let path = key_path(&env);
    std::fs::write(&path, "not a key\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = env.run(&["key"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is malformed"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key\n");
}
