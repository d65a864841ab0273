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
    assert!(stdout(&out).contains("installed gate for PreToolUse, PostToolUse, PostToolUseFailure, SessionStart, SessionEnd"));
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
    assert!(stdout(&out).contains("removed 5 gate hook entries"), "{}", stdout(&out));
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
    assert_eq!(shipped["hooks"].as_object().unwrap().len(), 5, "every event install registers");
    for event in ["PreToolUse", "PostToolUse", "PostToolUseFailure", "SessionStart", "SessionEnd"] {
        let e = &shipped["hooks"][event][0];
        assert_eq!(e["matcher"], "*");
        assert_eq!(e["hooks"][0]["command"], "gate hook --agent claude");
        assert_eq!(e["hooks"][0]["timeout"], 900);
    }
}

/// `gate install codex`: hooks.json entries, the trust entries Codex needs
/// (beside the user's own config, comments kept), idempotent, and undone by
/// `gate uninstall codex`.
#[test]
fn codex_install_writes_hooks_and_their_trust_and_uninstall_undoes_both() {
    let env = TestEnv::new();
    let dir = env.home().join(".codex");
    std::fs::create_dir_all(&dir).unwrap();
    let config = "# my settings\nmodel = \"gpt-5.5\"\n\n[features]\nplugins = false\n";
    std::fs::write(dir.join("config.toml"), config).unwrap();
    let out = env.run(&["install", "codex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("codex: trusted gate's 5 hooks"), "{}", stdout(&out));
    let hooks: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("hooks.json")).unwrap()).unwrap();
    let command = format!("{GATE} hook --agent codex");
    for event in ["PreToolUse", "PermissionRequest", "PostToolUse"] {
        assert_eq!(
            hooks["hooks"][event],
            json!([{"matcher": "*", "hooks": [{"type": "command", "command": command, "timeout": 900}]}]),
            "{event}"
        );
    }
    let text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(text.starts_with(config), "the user's config is kept as written:\n{text}");
    let doc: toml::Table = text.parse().unwrap();
    let state = doc["hooks"]["state"].as_table().unwrap();
    let key = format!("{}:pre_tool_use:0:0", dir.join("hooks.json").display());
    assert!(state[&key]["trusted_hash"].as_str().unwrap().starts_with("sha256:"), "{text}");
    assert_eq!(state.len(), 5);
    // Doctor agrees it is hooked and trusted.
    let doctor: Value = serde_json::from_str(&stdout(&env.run(&["doctor", "--json"]))).unwrap();
    let codex = doctor["agents"].as_array().unwrap().iter().find(|a| a["agent"] == "codex").unwrap().clone();
    assert_eq!(codex["extra"], "trusted", "{codex}");
    assert_eq!(codex["protected"], true, "{codex}");
    // Again: nothing changes.
    let again = env.run(&["install", "codex"]);
    assert!(stdout(&again).contains("already trusted"), "{}", stdout(&again));
    assert_eq!(std::fs::read_to_string(dir.join("config.toml")).unwrap(), text);
    // A hook edited by hand loses its trust; doctor says so.
    let mut edited = hooks.clone();
    edited["hooks"]["PreToolUse"][0]["hooks"][0]["timeout"] = json!(30);
    std::fs::write(dir.join("hooks.json"), edited.to_string()).unwrap();
    let doctor = env.run(&["doctor"]);
    assert_eq!(doctor.status.code(), Some(1));
    assert!(stdout(&doctor).contains("Codex does not trust gate's PreToolUse hook"), "{}", stdout(&doctor));
    // Uninstall removes the entries and their trust, and nothing else.
    env.run(&["install", "codex"]);
    let out = env.run(&["uninstall", "codex"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(dir.join("config.toml")).unwrap().trim_end(), config.trim_end());
    assert!(!dir.join("hooks.json").exists(), "no file is left where install created one");
    assert!(!dir.join("config.toml.gate-backup").exists(), "the backup went back into place");
}

/// `gate install gemini`: BeforeTool/AfterTool entries with a millisecond
/// timeout, and the policy that makes gate's allow final; both undone.
#[test]
fn gemini_install_writes_hooks_and_policy_and_uninstall_undoes_both() {
    let env = TestEnv::new();
    let dir = env.home().join(".gemini");
    std::fs::create_dir_all(&dir).unwrap();
    let original = json!({"security": {"auth": {"selectedType": "gemini-api-key"}}});
    std::fs::write(dir.join("settings.json"), original.to_string()).unwrap();
    let out = env.run(&["install", "gemini"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("settings.json")).unwrap()).unwrap();
    let command = format!("{GATE} hook --agent gemini");
    for event in ["BeforeTool", "AfterTool"] {
        assert_eq!(
            s["hooks"][event],
            json!([{"matcher": ".*", "hooks": [{"name": "gate", "type": "command", "command": command, "timeout": 900000}]}])
        );
    }
    assert_eq!(s["security"], original["security"]);
    let policy = std::fs::read_to_string(dir.join("policies/gate.toml")).unwrap();
    assert!(policy.contains("argsPattern = \".*\""), "{policy}");
    // The pre-install backup survives a second install.
    env.run(&["install", "gemini"]);
    let backup: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("settings.json.gate-backup")).unwrap()).unwrap();
    assert_eq!(backup, original);
    let out = env.run(&["uninstall", "gemini"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("settings.json")).unwrap()).unwrap();
    assert_eq!(s, original);
    assert!(!dir.join("policies/gate.toml").exists());
}

/// GEMINI_CLI_HOME stands in for HOME, as Gemini reads it; CODEX_HOME is Codex's directory.
#[test]
fn agents_directories_move_with_their_variables() {
    let env = TestEnv::new();
    let elsewhere = env.dir.path().join("elsewhere");
    let out = env.cmd(&["install", "gemini"]).env("GEMINI_CLI_HOME", &elsewhere).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(elsewhere.join(".gemini/settings.json").exists());
    let out = env.cmd(&["install", "codex"]).env("CODEX_HOME", elsewhere.join("cx")).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(elsewhere.join("cx/hooks.json").exists() && elsewhere.join("cx/config.toml").exists());
    assert!(!env.home().join(".gemini").exists() && !env.home().join(".codex").exists());
}

/// Cursor (merged into hooks.json, failClosed), Copilot (a file of gate's
/// own) and Hermes (a marked YAML block, and consent): installed, again
/// without change, then uninstalled back to what the user had.
#[test]
fn cursor_copilot_and_hermes_install_and_uninstall_cleanly() {
    let env = TestEnv::new();
    let h = env.home();
    std::fs::create_dir_all(h.join(".cursor")).unwrap();
    let cursor_before = json!({"version": 1, "hooks": {"stop": [{"command": "notify"}]}});
    std::fs::write(h.join(".cursor/hooks.json"), cursor_before.to_string()).unwrap();
    std::fs::create_dir_all(h.join(".hermes")).unwrap();
    let hermes_before = "model:\n  provider: custom\n  default: m\n";
    std::fs::write(h.join(".hermes/config.yaml"), hermes_before).unwrap();
    for agent in ["cursor", "copilot", "hermes"] {
        let out = env.run(&["install", agent]);
        assert_eq!(out.status.code(), Some(0), "{agent}: {}", stderr(&out));
    }
    let cursor: Value = serde_json::from_str(&std::fs::read_to_string(h.join(".cursor/hooks.json")).unwrap()).unwrap();
    assert_eq!(cursor["hooks"]["stop"], cursor_before["hooks"]["stop"]);
    assert_eq!(
        cursor["hooks"]["preToolUse"],
        json!([{"command": format!("{GATE} hook --agent cursor"), "timeout": 900, "failClosed": true}])
    );
    let copilot: Value =
        serde_json::from_str(&std::fs::read_to_string(h.join(".copilot/hooks/gate.json")).unwrap()).unwrap();
    assert_eq!(
        copilot["hooks"]["preToolUse"],
        json!([{"type": "command", "bash": format!("{GATE} hook --agent copilot"), "timeoutSec": 900}])
    );
    let yaml = std::fs::read_to_string(h.join(".hermes/config.yaml")).unwrap();
    assert!(yaml.starts_with(hermes_before), "{yaml}");
    assert!(yaml.contains(&format!("command: \"{GATE} hook --agent hermes\"")), "{yaml}");
    let allow: Value =
        serde_json::from_str(&std::fs::read_to_string(h.join(".hermes/shell-hooks-allowlist.json")).unwrap()).unwrap();
    let events: Vec<&str> = allow["approvals"].as_array().unwrap().iter().filter_map(|a| a["event"].as_str()).collect();
    assert_eq!(events, ["pre_tool_call", "post_tool_call"]);
    // Again: nothing changes.
    let snapshot = |p: &str| std::fs::read_to_string(h.join(p)).unwrap();
    let before =
        [snapshot(".cursor/hooks.json"), snapshot(".copilot/hooks/gate.json"), snapshot(".hermes/config.yaml")];
    for agent in ["cursor", "copilot", "hermes"] {
        let out = env.run(&["install", agent]);
        assert!(stdout(&out).contains("already"), "{agent}: {}", stdout(&out));
    }
    assert_eq!(
        before,
        [snapshot(".cursor/hooks.json"), snapshot(".copilot/hooks/gate.json"), snapshot(".hermes/config.yaml")]
    );
    let doctor: Value = serde_json::from_str(&stdout(&env.run(&["doctor", "--json"]))).unwrap();
    for agent in ["cursor", "copilot", "hermes"] {
        let r = doctor["agents"].as_array().unwrap().iter().find(|a| a["agent"] == agent).unwrap();
        assert_eq!(r["protected"], true, "{r}");
    }
    for agent in ["cursor", "copilot", "hermes"] {
        let out = env.run(&["uninstall", agent]);
        assert_eq!(out.status.code(), Some(0), "{agent}: {}", stderr(&out));
    }
    let cursor: Value = serde_json::from_str(&snapshot(".cursor/hooks.json")).unwrap();
    assert_eq!(cursor, cursor_before);
    assert_eq!(snapshot(".hermes/config.yaml"), hermes_before);
    let allow: Value = serde_json::from_str(&snapshot(".hermes/shell-hooks-allowlist.json")).unwrap();
    assert_eq!(allow["approvals"], json!([]));
}

/// A Hermes config with its own `hooks:` section is not rewritten: gate
/// says what to add, and leaves the file alone.
#[test]
fn hermes_install_does_not_rewrite_the_users_hooks() {
    let env = TestEnv::new();
    let h = env.home();
    std::fs::create_dir_all(h.join(".hermes")).unwrap();
    let text = "hooks:\n  pre_tool_call:\n    - command: /usr/bin/mine\n";
    std::fs::write(h.join(".hermes/config.yaml"), text).unwrap();
    let out = env.run(&["install", "hermes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already has a `hooks:` section"), "{}", stderr(&out));
    assert!(stderr(&out).contains("hook --agent hermes"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(h.join(".hermes/config.yaml")).unwrap(), text);
}

/// Uninstall puts each agent's files back as they were before install: no
/// file where there was none, the original bytes where there was one, and
/// no backup left behind. With no agent named, it removes gate from every
/// agent it was installed in.
#[test]
fn uninstall_restores_the_pre_install_state_for_every_agent() {
    let env = TestEnv::new();
    let h = env.home();
    let original = "{\n  \"model\": \"opus\"\n}";
    std::fs::create_dir_all(h.join(".gemini")).unwrap();
    std::fs::write(h.join(".gemini/settings.json"), original).unwrap();
    for agent in ["claude", "gemini", "codex", "cursor"] {
        let out = env.run(&["install", agent]);
        assert_eq!(out.status.code(), Some(0), "{agent}: {}", stderr(&out));
    }
    let s = settings(&env);
    for event in ["SessionStart", "SessionEnd"] {
        assert_eq!(s["hooks"][event], json!([gate_entry()]), "install records {event} too");
    }
    let out = env.run(&["uninstall"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for agent in ["claude", "gemini", "codex", "cursor"] {
        assert!(stdout(&out).contains(&format!("{agent}: removed")), "{agent}: {}", stdout(&out));
    }
    assert_eq!(std::fs::read_to_string(h.join(".gemini/settings.json")).unwrap(), original, "the original bytes");
    for gone in [
        ".claude/settings.json",
        ".claude/settings.json.gate-backup",
        ".gemini/settings.json.gate-backup",
        ".codex/hooks.json",
        ".codex/config.toml",
        ".cursor/hooks.json",
    ] {
        assert!(!h.join(gone).exists(), "{gone} is left behind");
    }
    let out = env.run(&["uninstall"]);
    assert!(stdout(&out).contains("not installed in any agent"), "{}", stdout(&out));
}
