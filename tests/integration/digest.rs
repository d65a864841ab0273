//! `gate digest` over a real receipt: captured Claude Code payloads through
//! the hook, questions answered with `gate approve` / `gate deny`, then the
//! text and Markdown outputs compared whole (times, durations, the temp
//! directory and the user's name normalised) and the JSON checked field by field.

use std::process::Child;

use serde_json::{json, Value};

use crate::ask::{bash, me, spawn_hook};
use crate::util::{stderr, stdout, TestEnv};

const POLICY: &str = r#"[settings]
ask_via = ["cli"]

[[rule]]
id = "ask-publish"
decision = "ask"
command = "npm publish"

[[rule]]
id = "allow-cargo-test"
decision = "allow"
command = "cargo test"

[[rule]]
id = "never-used"
decision = "deny"
command = "terraform destroy"
"#;

/// Answer the next question with `gate approve` or `gate deny`, and wait for its hook.
fn answer_next(env: &TestEnv, hook: Child, verb: &[&str]) {
    let id = env.next_question_id();
    let mut args = vec![verb[0]];
    let id = id.to_string();
    args.push(&id);
    args.extend(&verb[1..]);
    let out = env.run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    hook.wait_with_output().unwrap();
}

/// A week of one project: reads, denials, a rule's allow, asks approved and denied.
fn a_week(env: &TestEnv) {
    std::fs::write(env.gate_home().join("policy.toml"), POLICY).unwrap();
    std::fs::create_dir_all(env.project().join(".git")).unwrap();
    std::fs::create_dir_all(env.project().join("sub")).unwrap();
    let sub = env.project().join("sub");
    for name in ["PreToolUse-Bash-ls", "PostToolUse-Bash-ls", "PreToolUse-Bash-rm"] {
        assert!(env.hook(&env.fixture(name)).status.success());
    }
    let mut again = env.fixture("PreToolUse-Bash-rm");
    again["tool_use_id"] = json!("toolu_again");
    again["cwd"] = json!(sub);
    env.hook(&again);
    env.hook(&bash(env, "s1", "t1", "cargo test --lib"));
    for (i, cmd) in ["make build -j1", "make build -j2"].iter().enumerate() {
        let mut p = bash(env, "s1", &format!("m{i}"), cmd);
        p["cwd"] = json!(sub);
        answer_next(env, spawn_hook(env, &p, &[("GATE_ASK_TIMEOUT", "30")]), &["approve"]);
    }
    let publish = spawn_hook(env, &bash(env, "s1", "n1", "npm publish"), &[("GATE_ASK_TIMEOUT", "30")]);
    answer_next(env, publish, &["deny", "--reason", "not from an agent"]);
}

/// Times, durations, the temp project and the user's name, made stable.
fn normalise(text: &str, env: &TestEnv, aligned: bool) -> String {
    let project = std::fs::canonicalize(env.project()).unwrap().to_string_lossy().into_owned();
    let text = text.replace(&project, "<project>").replace(&format!("{} denied", me()), "<me> denied");
    let time = regex::Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC").unwrap();
    let text = time.replace_all(&text, "<time>");
    // In aligned text a duration keeps its width, so the columns stay aligned.
    let dur = regex::Regex::new(r" +\d+(ms|s)\b").unwrap();
    dur.replace_all(&text, |c: &regex::Captures| match aligned {
        true => format!("{:>w$}", "<t>", w = c[0].len()),
        false => " <t>".to_string(),
    })
    .into_owned()
}

#[test]
fn digest_of_a_week_in_text_markdown_and_json() {
    let env = TestEnv::new();
    a_week(&env);

    let out = env.run(&["digest"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = normalise(&stdout(&out), &env, true);
    // The repository column is as wide as the temp directory's path: only its words are compared.
    let (text, per_repo) = text.split_once("\nPer repository\n").expect("a per-repository section");
    assert_eq!(
        text,
        r#"gate digest from <time> to <time>
7 calls: 2 approved automatically (29%), 3 settled by a human in gate, 0 in the agent's dialog, 0 with no answer

Decisions
  DECISION       CALLS  SHARE
  auto-approved      2    29%
  approved           2    29%
  denied             3    43%
  an asked call that ran counts as approved

Who decided
  DECIDER           CALLS  ALLOWED  REFUSED
  gate (automatic)      4        2        2
  a human in gate       3        2        1

By source
  SOURCE  CALLS
  cli         3
  rule        3
  floor       1

How long humans took to answer in gate
  ANSWERS  MEDIAN  90TH PERCENTILE  SLOWEST
        3     <t>              <t>      <t>

Most denied
  TIMES  TOOL  COMMAND OR TARGET  RULE         REASON
      2  Bash  rm -rf build       no-rm-rf     `rm -rf build`: gate blocks recursive forced deletion. Instead, delete the spec…
      1  Bash  npm publish        ask-publish  <me> denied `npm publish` in gate cli, and says: not from an agent

Asked and approved every time (allow-rule candidates)
  ASKS  HUMAN  AGENT  TOOL  SHAPE       EXAMPLE
     2      2      0  Bash  make build  make build -j2

Rules that fired
  CALLS  RULE
      2  no-rm-rf
      1  allow-cargo-test
      1  ask-publish
      1  floor:git-status

Your rules that never fired
  RULE        LAYER  WHERE
  never-used  user   <gate>/policy.toml:14
  and 17 built-in default rules (--format json lists them)

Per agent
  AGENT        CALLS  AUTO  HUMAN  AGENT  REFUSED  MEDIAN WAIT
  claude-code      7     2      3      0        3          <t>
"#
        .replace("<gate>", &env.gate_home().to_string_lossy())
    );
    let words: Vec<Vec<&str>> = per_repo.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        words,
        vec![
            vec!["REPOSITORY", "CALLS", "AUTO", "HUMAN", "AGENT", "REFUSED", "MEDIAN", "WAIT"],
            vec!["<project>", "7", "2", "3", "0", "3", "<t>"],
        ],
        "calls in a subdirectory count for the repository"
    );

    let out = env.run(&["digest", "--format", "md", "--top", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = normalise(&stdout(&out), &env, false);
    let want = r#"## gate digest from <time> to <time>

7 calls: 2 approved automatically (29%), 3 settled by a human in gate, 0 in the agent's dialog, 0 with no answer

### Decisions

| DECISION | CALLS | SHARE |
|---|---:|---:|
| auto-approved | 2 | 29% |
| approved | 2 | 29% |
| denied | 3 | 43% |

an asked call that ran counts as approved

### Who decided

| DECIDER | CALLS | ALLOWED | REFUSED |
|---|---:|---:|---:|
| gate (automatic) | 4 | 2 | 2 |
| a human in gate | 3 | 2 | 1 |

### By source

| SOURCE | CALLS |
|---|---:|
| cli | 3 |
| rule | 3 |
| floor | 1 |

### How long humans took to answer in gate

| ANSWERS | MEDIAN | 90TH PERCENTILE | SLOWEST |
|---:|---:|---:|---:|
| 3 | <t> | <t> | <t> |

### Most denied

| TIMES | TOOL | COMMAND OR TARGET | RULE | REASON |
|---:|---|---|---|---|
| 2 | Bash | `rm -rf build` | no-rm-rf | `rm -rf build`: gate blocks recursive forced deletion. Instead, delete the spec… |

### Asked and approved every time (allow-rule candidates)

| ASKS | HUMAN | AGENT | TOOL | SHAPE | EXAMPLE |
|---:|---:|---:|---|---|---|
| 2 | 2 | 0 | Bash | `make build` | `make build -j2` |

### Rules that fired

| CALLS | RULE |
|---:|---|
| 2 | no-rm-rf |

and 3 more (--format json lists every one)

### Your rules that never fired

| RULE | LAYER | WHERE |
|---|---|---|
| never-used | user | <gate>/policy.toml:14 |

and 17 built-in default rules (--format json lists them)

### Per agent

| AGENT | CALLS | AUTO | HUMAN | AGENT | REFUSED | MEDIAN WAIT |
|---|---:|---:|---:|---:|---:|---:|
| claude-code | 7 | 2 | 3 | 0 | 3 | <t> |

### Per repository

| REPOSITORY | CALLS | AUTO | HUMAN | AGENT | REFUSED | MEDIAN WAIT |
|---|---:|---:|---:|---:|---:|---:|
| <project> | 7 | 2 | 3 | 0 | 3 | <t> |
"#
    .replace("<gate>", &env.gate_home().to_string_lossy());
    assert_eq!(md, want);

    let out = env.run(&["digest", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let d: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(d["calls"], 7);
    assert!(d["since"].as_str().unwrap().ends_with('Z') && d["until"].as_str().unwrap().ends_with('Z'));
    assert_eq!(d["by_decider"][1], json!({"decider": "human", "calls": 3, "allowed": 2, "refused": 1}));
    assert_eq!(d["human_wait"]["answers"], 3);
    assert!(d["human_wait"]["median_ms"].as_i64().unwrap() >= 0);
    assert_eq!(d["top_denied"][0]["target"], "rm -rf build");
    assert_eq!(d["top_denied"][0]["count"], 2);
    assert_eq!(d["top_denied"][0]["rule"], "no-rm-rf");
    assert_eq!(d["always_approved"][0]["shape"], json!({"tool": "Bash", "pattern": "make build"}));
    assert_eq!(d["always_approved"][0]["approved_by_human"], 2);
    let never: Vec<&str> =
        d["rules_never_fired"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(never.contains(&"never-used") && never.contains(&"no-force-push-main"), "{never:?}");
    assert!(!never.contains(&"ask-publish") && !never.contains(&"no-rm-rf"), "{never:?}");
    let project = std::fs::canonicalize(env.project()).unwrap();
    assert_eq!(d["by_repo"][0]["name"], project.to_string_lossy().as_ref());
    assert_eq!(d["by_agent"][0]["name"], "claude-code");

    // Filters narrow the calls; a period with none says so in a line.
    let d: Value =
        serde_json::from_str(&stdout(&env.run(&["digest", "--format", "json", "--decision", "denied"]))).unwrap();
    assert_eq!(d["calls"], 3);
    let out = env.run(&["digest", "--since", "2000-01-01", "--until", "2000-01-02"]);
    assert_eq!(stdout(&out), "no tool calls recorded from 2000-01-01 00:00 UTC to 2000-01-02 00:00 UTC\n");
}

#[test]
fn digest_without_a_receipt_says_so_in_one_line() {
    let env = TestEnv::new();
    for format in ["text", "md"] {
        let out = env.run(&["digest", "--format", format]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
        assert!(stdout(&out).starts_with("no receipts yet"), "{}", stdout(&out));
    }
    let d: Value = serde_json::from_str(&stdout(&env.run(&["digest", "--format", "json"]))).unwrap();
    assert_eq!(d["calls"], 0);
    assert!(d["rules_never_fired"].as_array().unwrap().iter().any(|r| r["id"] == "no-rm-rf"));
}
