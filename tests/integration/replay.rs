//! `gate replay` and `gate suggest` on a recorded history: real hook calls,
//! answered from the command line (`ask_via = ["cli"]`), then re-decided
//! under proposed policies. What a person reads is compared whole, with
//! times and the temp directory normalised.


use serde_json::{json, Value};

use crate::ask::{bash, spawn_hook};
use crate::util::{stderr, stdout, TestEnv};

/// A user policy whose questions wait for `gate approve` / `gate deny`.
fn answer_from_cli(env: &TestEnv) {
    std::fs::write(env.gate_home().join("policy.toml"), "[settings]\nask_via = [\"cli\"]\n").unwrap();
}

/// Run one hook call that asks, and answer it with `verb` (approve or deny).
fn answered(env: &TestEnv, payload: &Value, verb: &str) {
    let hook = spawn_hook(env, payload, &[]);
    let id = env.next_question_id();
    assert_eq!(env.run(&[verb, &id.to_string()]).status.code(), Some(0));
    assert_eq!(hook.wait_with_output().unwrap().status.code(), Some(0));
}

fn write_call(env: &TestEnv, session: &str, id: &str, path: &str) -> Value {
    json!({
        "session_id": session, "cwd": env.project(), "permission_mode": "default",
        "hook_event_name": "PreToolUse", "tool_name": "Write",
        "tool_input": {"file_path": path, "content": "x"}, "tool_use_id": id
    })
}

/// Times and the temp directory, which change from run to run.
fn normalise(env: &TestEnv, text: &str) -> String {
    let re = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z").unwrap();
    re.replace_all(text, "TIME").replace(&env.dir.path().to_string_lossy().into_owned(), "TMP")
}

/// A history: two floor reads, a rule's deny, three approved `make build`,
/// a denied `make deploy` whose token the receipt masked, an approved curl.
fn record_history(env: &TestEnv) {
    answer_from_cli(env);
    for f in ["PreToolUse-Bash-ls", "PreToolUse-Bash-rm"] {
        assert_eq!(env.hook(&env.fixture(f)).status.code(), Some(0), "{f}");
    }
    for n in 1..=3 {
        answered(env, &bash(env, &format!("s{n}"), &format!("b{n}"), "make build"), "approve");
    }
    let deploy = "make deploy TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345";
    answered(env, &bash(env, "s4", "d1", deploy), "deny");
    answered(env, &bash(env, "s4", "c1", "curl -s https://example.com"), "approve");
}

fn policy_file(env: &TestEnv, name: &str, text: &str) -> String {
    let path = env.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn replay_shows_exactly_the_calls_a_proposed_policy_changes() {
    let env = TestEnv::new();
    record_history(&env);

    // Allowing `make`: the four make calls that asked would be allowed; the
    // floor's reads, the rule's deny and the curl are as they were.
    let allow =
        policy_file(&env, "allow.toml", "[[rule]]\nid = \"allow-make\"\ndecision = \"allow\"\ncommand = \"make\"\n");
    let out = env.run(&["replay", "--policy", &allow]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        normalise(&env, &stdout(&out)),
        "replaying calls since TIME under TMP/allow.toml in place of your user policy\n\
         decided against the disk as it is now; project and managed policies still apply, and nothing is recorded\n\
         \n\
         allow  allow-make  (TMP/allow.toml:1)  4 calls\n    \
             ask→allow 4   recorded: approved 3, denied 1\n    \
             Bash  make build\n    \
             Bash  make deploy TOKEN=[REDACTED:github-token]  [masked input, decided on the masked text]\n\
         \n\
         7 calls replayed, 4 change: 4 would now be allowed without asking, 0 would now ask, 0 would now be denied.\n"
    );

    // Denying it: the same four calls, now denied.
    let deny = policy_file(&env, "deny.toml", "[[rule]]\nid = \"no-make\"\ndecision = \"deny\"\ncommand = \"make\"\n");
    let out = env.run(&["replay", "--policy", &deny, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((v["replayed"].as_u64(), v["changed"].as_u64(), v["now_denied"].as_u64()), (Some(7), Some(4), Some(4)));
    assert_eq!(v["groups"].as_array().unwrap().len(), 1);
    let g = &v["groups"][0];
    assert_eq!((g["rule"]["id"].as_str(), g["transitions"]["ask→deny"].as_u64()), (Some("no-make"), Some(4)));
    let targets: Vec<(&str, &str, bool)> = g["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["target"].as_str().unwrap(), c["recorded"].as_str().unwrap(), c["masked"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        targets,
        vec![
            ("make build", "approved", false),
            ("make build", "approved", false),
            ("make build", "approved", false),
            ("make deploy TOKEN=[REDACTED:github-token]", "denied", true),
        ]
    );

    // A policy the same as the user's changes nothing.
    let same = policy_file(&env, "same.toml", "[settings]\nask_via = [\"cli\"]\n");
    let out = env.run(&["replay", "--policy", &same]);
    assert!(stdout(&out).ends_with("7 calls replayed, 0 change: 0 would now be allowed without asking, 0 would now ask, 0 would now be denied.\n"), "{}", stdout(&out));
}

#[test]
fn replay_refuses_an_invalid_policy_with_file_line_col() {
    let env = TestEnv::new();
    record_history(&env);
    let bad = policy_file(&env, "bad.toml", "[[rule]]\nid = \"x\"\ndecision = \"allw\"\ncommand = \"make\"\n");
    let out = env.run(&["replay", "--policy", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    let err = normalise(&env, &stderr(&out));
    assert!(err.starts_with("TMP/bad.toml:3:12: decision \"allw\" is not allow, ask or deny"), "{err}");
    assert!(err.ends_with("is not a valid policy (1 error); nothing was replayed\n"), "{err}");
}

#[test]
fn suggest_proposes_a_rule_for_repeated_approvals_and_never_for_the_network_or_outside_the_repo() {
    let env = TestEnv::new();
    record_history(&env);
    for n in 1..=2 {
        answered(&env, &bash(&env, &format!("c{n}"), &format!("cc{n}"), "curl -s https://example.com"), "approve");
    }
    let outside = env.dir.path().join("outside.txt").to_string_lossy().into_owned();
    for n in 1..=3 {
        answered(&env, &write_call(&env, &format!("w{n}"), &format!("w{n}"), &outside), "approve");
        answered(&env, &bash(&env, &format!("k{n}"), &format!("k{n}"), "cp notes.txt ../copy.txt"), "approve");
    }
    let out = env.run(&["suggest"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let me = crate::ask::me();
    assert_eq!(
        normalise(&env, &stdout(&out)),
        format!(
            "# gate suggest: allow rules from human approvals since TIME (at least 3 each)\n\
             # Review them; `gate suggest --apply` appends them to TMP/gate/policy.toml.\n\
             \n\
             # suggested-1: approved 3 times by {me} in 3 sessions, TIME to TIME\n\
             #   e.g. make build\n\
             # replay: would newly auto-allow 3 recorded calls; 0 recorded denied calls would become allowed\n\
             [[rule]]\n\
             id = \"suggested-1\"\n\
             decision = \"allow\"\n\
             command = [\"make build\"]\n\
             command_regex = \"^make build( [A-Za-z0-9_,+@%][A-Za-z0-9_.,+@%-]*)*$\"\n\
             \n\
             # Not proposed:\n\
             #   TMP/outside.txt (approved 3 times): writes outside the repository or to a guarded file: TMP/outside.txt is outside the project's working tree TMP/project\n\
             #   cp notes.txt ../copy.txt (approved 3 times): names a path outside the repository or a guarded file: TMP/copy.txt is outside the project's working tree TMP/project\n\
             #   curl -s https://example.com (approved 3 times): the rule ask-network asks for it\n"
        )
    );

    // Applied: the next `make build` is allowed without asking, nothing else.
    assert_eq!(env.decision("make build").0, "ask");
    let out = env.run(&["suggest", "--apply", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(normalise(&env, &stdout(&out))
        .contains("appended 1 rule to TMP/gate/policy.toml (backup: TMP/gate/policy.toml.bak-"));
    let policy = std::fs::read_to_string(env.gate_home().join("policy.toml")).unwrap();
    assert!(
        policy.starts_with("[settings]\nask_via = [\"cli\"]\n\n# Added by gate suggest.\n# suggested-1: "),
        "{policy}"
    );
    assert_eq!(env.run(&["policy", "check"]).status.code(), Some(0));
    assert_eq!(env.decision("make build").0, "allow");
    assert_eq!(env.decision("make deploy").0, "ask");
    assert_eq!(env.decision("curl -s https://example.com").0, "ask");
    // Nothing is left to propose.
    assert!(stdout(&env.run(&["suggest"])).contains("# No rule to propose."));
}

/// A rule whose replay would let through a call a human denied is not proposed.
#[test]
fn suggest_never_turns_a_recorded_deny_into_an_allow() {
    let env = TestEnv::new();
    answer_from_cli(&env);
    for n in 1..=3 {
        answered(&env, &bash(&env, &format!("s{n}"), &format!("t{n}"), "make test"), "approve");
    }
    answered(&env, &bash(&env, "s4", "t4", "make test integration"), "deny");
    let out = stdout(&env.run(&["suggest", "--json"]));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["suggestions"], json!([]), "{out}");
    assert_eq!(
        v["not_proposed"][0]["why"],
        "its replay would let through 1 recorded call that was denied (e.g. make test integration)"
    );
    // So --apply has nothing to write.
    let out = env.run(&["suggest", "--apply", "--yes"]);
    assert!(stdout(&out).contains("nothing to apply"), "{}", stdout(&out));
    assert_eq!(
        std::fs::read_to_string(env.gate_home().join("policy.toml")).unwrap(),
        "[settings]\nask_via = [\"cli\"]\n"
    );
}
