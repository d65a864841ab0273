//! Policies as users write them: precedence across the four layers, the
//! trust flow for project files, errors at file:line:col (snapshots of
//! what a person reads), and a broken file never allowing.

use serde_json::Value;

use crate::util::{stdout, TestEnv};

impl TestEnv {
    pub fn write_user_policy(&self, text: &str) {
        std::fs::write(self.gate_home().join("policy.toml"), text).unwrap();
    }
    pub fn write_managed_policy(&self, text: &str) {
        std::fs::write(self.gate_home().join("managed.toml"), text).unwrap();
    }
    pub fn write_project_policy(&self, text: &str) {
        std::fs::create_dir_all(self.project().join(".gate")).unwrap();
        std::fs::write(self.project().join(".gate/policy.toml"), text).unwrap();
    }
    /// `gate check --json` for a command line in the project.
    pub fn check(&self, command: &str) -> Value {
        let out = self.run(&["check", "--json", "--", command]);
        assert_eq!(out.status.code(), Some(0), "check {command}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_str(&stdout(&out)).unwrap()
    }
    pub fn decision(&self, command: &str) -> (String, String) {
        let v = self.check(command);
        (v["decision"].as_str().unwrap().to_string(), v["rule"]["id"].as_str().unwrap_or("-").to_string())
    }
}

fn rule(id: &str, decision: &str, command: &str) -> String {
    format!("[[rule]]\nid = \"{id}\"\ndecision = \"{decision}\"\ncommand = \"{command}\"\n")
}

/// One row per case: which layers hold which rule for `make deploy`, and
/// what wins. Project allows count only when trusted.
#[test]
fn precedence_across_the_four_layers() {
    struct Case {
        user: Option<&'static str>,
        project: Option<&'static str>,
        managed: Option<&'static str>,
        trust: bool,
        want: (&'static str, &'static str),
    }
    let cases = [
        Case { user: None, project: None, managed: None, trust: false, want: ("ask", "-") },
        Case { user: Some("allow"), project: None, managed: None, trust: false, want: ("allow", "u") },
        Case { user: Some("deny"), project: None, managed: None, trust: false, want: ("deny", "u") },
        Case { user: Some("allow"), project: Some("deny"), managed: None, trust: false, want: ("deny", "p") },
        Case { user: Some("allow"), project: Some("ask"), managed: None, trust: false, want: ("ask", "p") },
        Case { user: None, project: Some("allow"), managed: None, trust: false, want: ("ask", "-") },
        Case { user: None, project: Some("allow"), managed: None, trust: true, want: ("allow", "p") },
        Case { user: Some("ask"), project: Some("allow"), managed: None, trust: true, want: ("ask", "u") },
        Case { user: Some("allow"), project: None, managed: Some("deny"), trust: false, want: ("deny", "m") },
        Case { user: Some("allow"), project: Some("allow"), managed: Some("ask"), trust: true, want: ("ask", "m") },
        Case { user: Some("deny"), project: None, managed: Some("allow"), trust: false, want: ("deny", "u") },
        Case { user: Some("deny"), project: Some("deny"), managed: Some("deny"), trust: true, want: ("deny", "m") },
    ];
    for (n, c) in cases.iter().enumerate() {
        let env = TestEnv::new();
        if let Some(d) = c.user {
            env.write_user_policy(&rule("u", d, "make deploy"));
        }
        if let Some(d) = c.project {
            env.write_project_policy(&rule("p", d, "make deploy"));
        }
        if let Some(d) = c.managed {
            env.write_managed_policy(&rule("m", d, "make deploy"));
        }
        if c.trust {
            let out = env.run(&["trust"]);
            assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        }
        let got = env.decision("make deploy");
        assert_eq!((got.0.as_str(), got.1.as_str()), c.want, "case {n}");
    }
}

#[test]
fn an_edited_project_file_loses_its_trust() {
    let env = TestEnv::new();
    env.write_project_policy(&rule("p", "allow", "make deploy"));
    assert_eq!(env.decision("make deploy").0, "ask");
    let out = env.run(&["trust"]);
    assert!(stdout(&out).contains("its 1 allow rule(s) now apply"), "{}", stdout(&out));
    assert_eq!(env.decision("make deploy"), ("allow".into(), "p".into()));
    // The agent (or anyone) edits the file: trust is gone.
    env.write_project_policy(&(rule("p", "allow", "make deploy") + &rule("q", "allow", "curl")));
    assert_eq!(env.decision("make deploy").0, "ask");
    assert_eq!(env.decision("curl x").0, "ask");
    let check = stdout(&env.run(&["policy", "check"]));
    assert!(check.contains("2 allow rule(s) are ignored until you run `gate trust"), "{check}");
    // Trust it again, then revoke.
    env.run(&["trust"]);
    assert_eq!(env.decision("make deploy").0, "allow");
    env.run(&["trust", "--revoke"]);
    assert_eq!(env.decision("make deploy").0, "ask");
}

#[test]
fn a_project_deny_applies_without_trust_and_allow_never_loosens_the_default() {
    let env = TestEnv::new();
    env.write_project_policy(
        &(rule("no-make", "deny", "make") + "\n[[rule]]\nid = \"yes-rm\"\ndecision = \"allow\"\ncommand = \"rm\"\n"),
    );
    env.run(&["trust"]);
    assert_eq!(env.decision("make all"), ("deny".into(), "no-make".into()));
    assert_eq!(env.decision("rm -rf build"), ("deny".into(), "no-rm-rf".into()));
}

#[test]
fn command_rules_match_each_simple_command() {
    let env = TestEnv::new();
    env.write_user_policy(&(rule("tests", "allow", "cargo test") + &rule("no-push-force", "deny", "git push --force")));
    let cases: &[(&str, &str)] = &[
        ("cargo test", "allow"),
        ("cargo test --workspace && ls", "allow"),
        ("cargo test; curl x | sh", "deny"),
        ("cargo test && make", "ask"),
        ("cd x && git push --force", "deny"),
        ("(git push --force)", "deny"),
        ("echo $(git push --force)", "deny"),
        // An allow rule covers the command as written and nothing it does
        // not name: no added assignment, redirection or here-string, and
        // not what a wrapper runs. Harmless descriptor moves still pass.
        ("cargo test 2>&1", "allow"),
        ("cargo test > /dev/null 2>&1", "allow"),
        ("LD_PRELOAD=/tmp/x.so cargo test", "ask"),
        ("RUSTC_WRAPPER=/tmp/x cargo test", "ask"),
        ("cargo test > ~/.bashrc", "ask"),
        ("cargo test <<< 'x'", "ask"),
        ("{ cargo test; } >> ~/.profile", "ask"),
        ("env RUSTC_WRAPPER=/tmp/x cargo test", "ask"),
        ("nice cargo test", "ask"),
        // Deny rules still look through all of it.
        ("X=1 git push --force", "deny"),
        ("env X=1 git push --force > out", "deny"),
    ];
    for (cmd, want) in cases {
        assert_eq!(env.decision(cmd).0, *want, "{cmd}");
    }
}

#[test]
fn the_user_can_disable_a_default_rule_but_a_project_cannot() {
    let env = TestEnv::new();
    env.write_project_policy("[settings]\ndisable = [\"ask-git-push\"]\n");
    assert_eq!(env.decision("git push"), ("ask".into(), "ask-git-push".into()));
    env.write_user_policy("[settings]\ndisable = [\"ask-git-push\"]\n");
    assert_eq!(env.decision("git push"), ("ask".into(), "-".into()), "still asks: git push is not read-only");
}

#[test]
fn other_matchers() {
    let env = TestEnv::new();
    env.write_user_policy(
        r#"
[[rule]]
id = "no-infra"
decision = "deny"
tool = ["write", "edit"]
path = "**/infra/**"

[[rule]]
id = "docs-ok"
decision = "allow"
tool = "fetch"
domain = "docs.rs"

[[rule]]
id = "gh-mcp"
decision = "deny"
mcp = "github/delete_*"
"#,
    );
    let p = env.project().to_string_lossy().into_owned();
    let write = serde_json::json!({"session_id": "s", "cwd": p, "hook_event_name": "PreToolUse", "tool_name": "Write", "tool_use_id": "t1", "tool_input": {"file_path": format!("{p}/infra/main.tf"), "content": "x"}});
    let a = crate::util::answer(&env.hook(&write));
    assert_eq!(a["hookSpecificOutput"]["permissionDecision"], "deny");
    assert!(a["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap().contains("no-infra, "));
    let fetch = serde_json::json!({"session_id": "s", "cwd": p, "hook_event_name": "PreToolUse", "tool_name": "WebFetch", "tool_use_id": "t2", "tool_input": {"url": "https://docs.rs/regex", "prompt": "x"}});
    assert_eq!(
        crate::util::answer(&env.hook(&fetch))["hookSpecificOutput"]["permissionDecision"],
        "ask",
        "ask-web-fetch beats the allow"
    );
    let mcp = serde_json::json!({"session_id": "s", "cwd": p, "hook_event_name": "PreToolUse", "tool_name": "mcp__github__delete_repo", "tool_use_id": "t3", "tool_input": {}});
    assert_eq!(crate::util::answer(&env.hook(&mcp))["hookSpecificOutput"]["permissionDecision"], "deny");
}

/// What a person reads when a policy is wrong: exact text, one row per case.
#[test]
fn policy_check_errors_snapshot() {
    let cases: &[(&str, &str)] = &[
        (
            "[[rule]]\nid = \"a\"\ndecision = \"deny\"\ncomand = \"npm publish\"\n",
            "policy.toml:4:1: unknown field `comand`, expected one of `id`, `decision`, `message`, `tool`, `command`, `command_regex`, `args`, `piped_into`, `path`, `url`, `domain`, `mcp`, `agent`, `cwd`, `access`, `examples`, `not_examples` (hint: did you mean `command`? `gate policy docs` lists the keys)",
        ),
        (
            "[[rule]]\nid = \"a\"\ndecision = \"block\"\ncommand = \"x\"\n",
            "policy.toml:3:12: decision \"block\" is not allow, ask or deny (hint: use one of \"allow\", \"ask\", \"deny\")",
        ),
        (
            "[[rule]]\nid = \"a\"\ndecision = \"deny\"\ncommand_regex = \"git (push\"\n",
            "policy.toml:4:17: bad regex in command_regex: error: unclosed group (hint: the syntax is Rust's regex crate; escape `(` `.` `*` with `\\\\`)",
        ),
        (
            "[[rule]]\nid = \"a\"\ndecision = \"deny\"\npath = \"[abc\"\n",
            "policy.toml:4:8: bad glob in path: unclosed `[` at offset 0 in \"[abc\" (hint: `gate policy docs` describes the glob syntax)",
        ),
        (
            "[[rule]]\nid = \"a\"\ndecision = \"deny\"\ntool = \"read\"\ncommand = \"rm\"\n",
            "policy.toml:1:1: rule \"a\" can never match: its tool list excludes the tools its other matchers apply to (hint: remove `tool`, or add the kind the matchers need (shell, fetch or mcp))",
        ),
        (
            "[[rule]]\nid = \"a\"\ndecision = \"deny\"\ncommand = \"npm publish\"\nexamples = [\"npm pub\"]\n",
            "policy.toml:5:13: rule \"a\" does not match its example \"npm pub\" (hint: fix the matchers, or move the line to not_examples)",
        ),
        (
            "[[rule]]\nid = \"a\"\ndecision = \"deny\"\ncommand = \"npm\"\nnot_examples = [\"npm test\"]\n",
            "policy.toml:5:17: rule \"a\" matches \"npm test\", listed in not_examples (hint: narrow the matchers, or move the line to examples)",
        ),
        (
            "[[rule]]\nid = \"a\"\ndecision = \"deny\"\n",
            "policy.toml:1:1: rule \"a\" has no matcher, so it would match every tool call (hint: add command, tool, path, url, domain, mcp, agent or cwd)",
        ),
        (
            "[[rule]]\nid = \"a\"\ndecision = \"deny\"\ncommand = \"x\"\n[[rule]]\nid = \"a\"\ndecision = \"ask\"\ncommand = \"y\"\n",
            "policy.toml:6:6: rule id \"a\" is used twice (first at line 1) (hint: give every rule its own id)",
        ),
        (
            "[[rule]\nid = 1\n",
            "policy.toml:1:8: unclosed array table, expected `]` (hint: fix the TOML syntax at this place)",
        ),
    ];
    for (text, want) in cases {
        let env = TestEnv::new();
        env.write_user_policy(text);
        let out = env.run(&["policy", "check"]);
        assert_eq!(out.status.code(), Some(1), "{text}");
        let got = stdout(&out).replace(&format!("{}/", env.gate_home().display()), "");
        let first = got.split("\ngate policy check:").next().unwrap();
        assert_eq!(first, *want, "\n{text}");
    }
}

#[test]
fn a_broken_policy_never_allows() {
    let env = TestEnv::new();
    env.write_user_policy("[[rule]]\nid = \"a\"\ndecision = \"allow\"\ncommand = \"ls\"\nbogus = 1\n");
    let v = env.check("ls -la");
    assert_eq!(v["decision"], "ask");
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.contains("policy.toml:5:1: unknown field `bogus`"), "{reason}");
    // Denies still apply while the file is broken.
    assert_eq!(env.check("rm -rf build")["decision"], "deny");
    // The hook says the same, naming the file.
    let a = crate::util::answer(&env.hook(&env.fixture("PreToolUse-Read")));
    assert_eq!(a["hookSpecificOutput"]["permissionDecision"], "ask");
    assert!(a["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap().contains("policy.toml:5:1"));
}

#[test]
fn policy_check_passes_on_the_shipped_policies() {
    let env = TestEnv::new();
    let out = env.run(&["init"]);
    assert_eq!(out.status.code(), Some(0));
    let out = env.run(&["policy", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("ok: "), "{}", stdout(&out));
    let show = stdout(&env.run(&["policy", "show"]));
    assert!(show.contains("no-rm-rf") && show.contains("\n  policies/default.toml (built in)\n"), "{show}");
    let floor = stdout(&env.run(&["floor"]));
    assert!(floor.contains("find") && floor.contains("checked by code: find"), "{floor}");
}

#[test]
fn an_edited_policy_is_never_served_stale_from_the_cache() {
    let env = TestEnv::new();
    env.write_user_policy(&rule("u", "allow", "make deploy"));
    assert_eq!(env.decision("make deploy").0, "allow");
    assert!(
        std::fs::read_dir(env.gate_home().join("cache")).unwrap().count() >= 2,
        "the compiled policy and floor are cached"
    );
    // Same size, same second: only the content and the change time differ.
    env.write_user_policy(&rule("u", "deny ", "make deploy").replace("deny \"", "deny\" "));
    assert_eq!(env.decision("make deploy"), ("deny".into(), "u".into()));
    env.write_user_policy("[[rule]]\nbroken");
    assert_eq!(env.decision("ls").0, "ask", "a broken edit never allows");
}

/// Deny rules that spelling tricks once dodged (they asked instead).
#[test]
fn deny_rules_catch_other_spellings() {
    let env = TestEnv::new();
    let cases: &[&str] = &[
        "/bin/rm -rf x",
        "/usr/bin/rm -rf x",
        "rm --recur --force x",
        "rm -r --forc x",
        "git push --force origin HEAD:refs/heads/main",
        "git push -f origin feature:main",
        "git push --force origin main:main",
        "git push --forc origin main",
        "git push origin :main",
        "git push --mirror",
        "git push -f origin +main",
    ];
    for cmd in cases {
        assert_eq!(env.decision(cmd).0, "deny", "{cmd}");
    }
    assert_eq!(env.decision("git push origin feature:main").0, "ask");
}

#[test]
fn writes_through_symlinks_into_gate_files_are_denied() {
    let env = TestEnv::new();
    let link = env.project().join("ghlink");
    std::os::unix::fs::symlink(env.gate_home(), &link).unwrap();
    let p = env.project().to_string_lossy().into_owned();
    let target = format!("{}/policy.toml", link.display());
    let write = serde_json::json!({"session_id": "s", "cwd": p, "hook_event_name": "PreToolUse", "tool_name": "Write", "tool_use_id": "t1", "tool_input": {"file_path": target, "content": "x"}});
    let a = crate::util::answer(&env.hook(&write));
    assert_eq!(a["hookSpecificOutput"]["permissionDecision"], "deny", "{a}");
    for cmd in ["echo x > ghlink/policy.toml", "cp a ghlink/policy.toml"] {
        assert_eq!(env.decision(cmd).0, "deny", "{cmd}");
    }
}

/// `gate policy check` reports every error in every file, not only the first
/// serde meets, as text and as JSON.
#[test]
fn policy_check_reports_every_error_in_every_file() {
    let env = TestEnv::new();
    env.write_user_policy(
        "[[rule]]\nid = \"a\"\ndecision = \"deny\"\ncomand = \"x\"\n\n[[rule]]\nid = \"b\"\ndecision = \"block\"\ncommand = \"y\"\n\n[settings]\nask_timeot = 3\n",
    );
    let extra = env.project().join("extra.toml");
    std::fs::write(&extra, "[[rule]]\nid = \"c\"\ndecision = \"allow\"\npath = \"[x\"\nbogus = 1\n").unwrap();
    let out = env.run(&["policy", "check", extra.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out).replace(&format!("{}/", env.gate_home().display()), "");
    let want = [
        "policy.toml:4:1: unknown field `comand`",
        "policy.toml:12:1: unknown field `ask_timeot`",
        "policy.toml:8:12: decision \"block\" is not allow, ask or deny",
        "extra.toml:5:1: unknown field `bogus`",
        "gate policy check: 4 errors in 2 files",
    ];
    for w in want {
        assert!(text.contains(w), "{w}\n{text}");
    }
    let out = env.run(&["policy", "check", "--json", extra.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"].as_array().unwrap().len(), 4, "{v}");
    assert_eq!(v["errors"][0]["line"], 4);
    assert!(v["errors"][0]["hint"].as_str().unwrap().contains("gate policy docs"));
}

/// Only the user may turn default rules off: a project file that tries gets a warning.
#[test]
fn a_project_disable_is_warned_about() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.project().join(".gate")).unwrap();
    std::fs::write(env.project().join(".gate/policy.toml"), "[settings]\ndisable = [\"no-rm-rf\"]\n").unwrap();
    let out = env.run(&["policy", "check", "--cwd", env.project().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "a warning does not fail the check");
    assert!(
        stdout(&out).contains("warning: ") && stdout(&out).contains("settings.disable (no-rm-rf) is ignored"),
        "{}",
        stdout(&out)
    );
    let out = env.run(&["policy", "check", "--json", "--cwd", env.project().to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1, "{v}");
}

/// `gate init` next to an existing policy adds what is missing, says what,
/// and never removes a rule; a second run has nothing to add.
#[test]
fn init_merges_into_an_existing_policy() {
    let env = TestEnv::new();
    let mine = "[[rule]]\nid = \"no-publish\"\ndecision = \"deny\"\ncommand = \"npm publish\"\n";
    env.write_user_policy(mine);
    let out = env.run(&["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", crate::util::stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("the [settings] table") && said.contains("allow-tests") && said.contains("ask-infra"), "{said}");
    assert!(!said.contains("the example rule no-publish"), "an id already there is not added again: {said}");
    let text = std::fs::read_to_string(env.gate_home().join("policy.toml")).unwrap();
    assert!(text.starts_with(mine), "{text}");
    assert_eq!(env.run(&["policy", "check"]).status.code(), Some(0));
    let out = env.run(&["init"]);
    assert!(stdout(&out).contains("nothing to do"), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string(env.gate_home().join("policy.toml")).unwrap(), text);
    // The starter points at documentation the binary carries.
    assert!(crate::util::repo_path("policies/starter.toml").exists());
    let docs = stdout(&env.run(&["policy", "docs"]));
    assert!(docs.starts_with("# gate policies"), "{}", &docs[..80]);
}

/// `gate policy show` names each file once over its rules, not on every rule.
#[test]
fn policy_show_prints_each_path_once() {
    let env = TestEnv::new();
    env.write_user_policy(&format!("{}\n{}", rule("one", "deny", "make a"), rule("two", "deny", "make b")));
    let show = stdout(&env.run(&["policy", "show"]));
    let rules = show.split("\nrules:\n").nth(1).unwrap();
    let user = env.gate_home().join("policy.toml").display().to_string();
    assert_eq!(rules.matches(&user).count(), 1, "{show}");
    assert_eq!(rules.matches("policies/default.toml").count(), 1, "{show}");
    assert!(rules.contains("one") && rules.contains("line "), "{show}");
}
