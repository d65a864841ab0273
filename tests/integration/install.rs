//! `gate install claude` / `gate uninstall claude` on real settings files:
//! idempotent, keeps every other key, keeps a backup, and removes exactly
//! what it added.

use serde_json::{json, Value};

use crate::util::{stderr, stdout, TestEnv, GATE};

fn settings(env: &TestEnv) -> Value {
    let text = std::fs::read_to_string(env.home().join(".claude/settings.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn gate_entry() -> Value {
    json!({"matcher": "*", "hooks": [{"type": "command", "command": format!("{GATE} hook --agent claude"), "timeout": 900}]})
}

#[test]
fn install_into_a_fresh_home() {
    let env = TestEnv::new();
    let out = env.run(&["install", "claude"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = settings(&env);
    for event in ["PreToolUse", "PostToolUse", "PostToolUseFailure"] {
        assert_eq!(s["hooks"][event], json!([gate_entry()]), "{event}");
    }
    assert!(stdout(&out).contains("installed gate for PreToolUse, PostToolUse, PostToolUseFailure"));
}

#[test]
fn install_is_idempotent_and_keeps_other_settings() {
    let env = TestEnv::new();
    let original = json!({
        "model": "opus",
        "permissions": {"allow": ["Bash(npm run *)"], "deny": ["Read(./.env)"]},
        "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "my-linter"}]}],
                  "Stop": [{"hooks": [{"type": "command", "command": "notify"}]}]},
        "zz_last": true
    });
    let path = env.home().join(".claude/settings.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_string_pretty(&original).unwrap()).unwrap();

    assert_eq!(env.run(&["install", "claude"]).status.code(), Some(0));
    let once = std::fs::read_to_string(&path).unwrap();
    let out = env.run(&["install", "claude"]);
    assert!(stdout(&out).contains("already installed"), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), once, "second install changes nothing");

    let s = settings(&env);
    assert_eq!(s["model"], "opus");
    assert_eq!(s["permissions"], original["permissions"]);
    assert_eq!(s["hooks"]["Stop"], original["hooks"]["Stop"]);
    assert_eq!(s["hooks"]["PreToolUse"][0], original["hooks"]["PreToolUse"][0]);
    assert_eq!(s["hooks"]["PreToolUse"][1], gate_entry());
    let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["model", "permissions", "hooks", "zz_last"], "key order kept");
    let backup: Value =
        serde_json::from_str(&std::fs::read_to_string(env.home().join(".claude/settings.json.gate-backup")).unwrap())
            .unwrap();
    assert_eq!(backup, original);

    let out = env.run(&["uninstall", "claude"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("removed 3 gate hook entries"), "{}", stdout(&out));
    assert_eq!(settings(&env), original, "uninstall removes exactly what install added");
}

#[test]
fn install_updates_an_entry_for_an_old_binary_path() {
    let env = TestEnv::new();
    let path = env.home().join(".claude/settings.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let old = json!({"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "/old/bin/gate hook --agent claude", "timeout": 60}]}]}});
    std::fs::write(&path, old.to_string()).unwrap();
    env.run(&["install", "claude"]);
    assert_eq!(settings(&env)["hooks"]["PreToolUse"], json!([gate_entry()]));
}

#[test]
fn install_refuses_broken_settings_and_leaves_them_alone() {
    let env = TestEnv::new();
    let path = env.home().join(".claude/settings.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{\n  \"model\": \"x\",\n  oops\n}").unwrap();
    let out = env.run(&["install", "claude"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("settings.json:3:3: not valid JSON"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\n  \"model\": \"x\",\n  oops\n}");
}

#[test]
fn install_without_an_agent_finds_the_ones_present() {
    let env = TestEnv::new();
    let out = env.cmd(&["install"]).env("PATH", "/nonexistent").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("no supported agent found"), "{}", stdout(&out));
    std::fs::create_dir_all(env.home().join(".claude")).unwrap();
    let out = env.cmd(&["install"]).env("PATH", "/nonexistent").output().unwrap();
    assert!(stdout(&out).contains("claude: installed gate"), "{}", stdout(&out));
}

#[test]
fn the_ready_to_paste_config_matches_what_install_writes() {
    let shipped: Value = serde_json::from_str(include_str!("../../hooks/claude-settings.json")).unwrap();
    for event in ["PreToolUse", "PostToolUse", "PostToolUseFailure"] {
        let e = &shipped["hooks"][event][0];
        assert_eq!(e["matcher"], "*");
        assert_eq!(e["hooks"][0]["command"], "gate hook --agent claude");
        assert_eq!(e["hooks"][0]["timeout"], 900);
    }
}
