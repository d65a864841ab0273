//! What the end-to-end tests with real agent CLIs share: finding the CLI
//! (installed by `./test.sh` into `.e2e/`), and the scripted model server
//! (`tests/e2e/fake_*.py`) each agent talks to on 127.0.0.1 instead of its
//! vendor's API. Every fake server takes the same arguments and the same
//! script: a JSON list of `{"tool": ..., "input": ...}` steps, answered one
//! per request, then the text `done`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::TestEnv;

/// An agent CLI, if installed: `$<var>`, else `.e2e/node_modules/.bin/<bin>`.
/// Missing, the test is skipped, unless `GATE_E2E_REQUIRE=1` (set by
/// `.ci/run`) makes that a failure.
pub fn agent_cli(display: &str, var: &str, bin: &str) -> Option<PathBuf> {
    agent_cli_at(display, var, &Path::new("node_modules/.bin").join(bin))
}

/// An agent CLI, if installed: `$<var>`, else `.e2e/<path>`; as [`agent_cli`].
pub fn agent_cli_at(display: &str, var: &str, path: &Path) -> Option<PathBuf> {
    let candidates =
        [std::env::var_os(var).map(PathBuf::from), Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(".e2e").join(path))];
    let found = candidates.into_iter().flatten().find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("GATE_E2E_REQUIRE").as_deref() != Ok("1"),
            "GATE_E2E_REQUIRE=1 but the {display} is not installed (set {var}, or run ./test.sh, which installs it)"
        );
        eprintln!("skipping: {display} not installed (./test.sh installs it, or set {var})");
    }
    found
}

/// Which vendor API a fake model server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// Anthropic Messages (Claude Code).
    Anthropic,
    /// OpenAI Responses (Codex).
    OpenAi,
    /// Gemini generateContent (Gemini CLI).
    Gemini,
    /// OpenAI Chat Completions (Copilot CLI, Hermes).
    OpenAiChat,
}

impl Api {
    fn script(self) -> &'static str {
        match self {
            Api::Anthropic => "fake_anthropic.py",
            Api::OpenAi => "fake_openai.py",
            Api::Gemini => "fake_gemini.py",
            Api::OpenAiChat => "fake_chat.py",
        }
    }
}

/// The scripted model server, stopped on drop.
pub struct ModelServer {
    child: Child,
    api: Api,
    pub port: u16,
    pub log: PathBuf,
}

impl ModelServer {
    pub fn start(api: Api, dir: &Path, steps: &Value) -> ModelServer {
        let script = dir.join("script.json");
        let port_file = dir.join("port");
        let log = dir.join("requests.jsonl");
        std::fs::write(&script, steps.to_string()).unwrap();
        let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e").join(api.script());
        let child = Command::new("python3")
            .arg(server)
            .arg("--script")
            .arg(&script)
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .stdin(Stdio::null())
            .spawn()
            .expect("python3 must be installed");
        let deadline = Instant::now() + Duration::from_secs(10);
        let port = loop {
            if let Some(p) = std::fs::read_to_string(&port_file).ok().and_then(|s| s.trim().parse().ok()) {
                break p;
            }
            assert!(Instant::now() < deadline, "model server did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        ModelServer { child, api, port, log }
    }

    /// Every main-conversation request the CLI sent, in order.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The tool results the model received, in order, as the API carries
    /// them: Anthropic `tool_result` blocks, OpenAI `*_call_output` items,
    /// Gemini `functionResponse` objects, Chat Completions `role: "tool"`
    /// messages. [`result_text`] reads any of them.
    pub fn tool_results(&self) -> Vec<Value> {
        let reqs = self.requests();
        let Some(last) = reqs.iter().rev().find(|r| r.get("tools").is_some()) else { return vec![] };
        let items = |v: &Value| v.as_array().cloned().unwrap_or_default();
        match self.api {
            Api::Anthropic => items(&last["messages"])
                .iter()
                .flat_map(|m| items(&m["content"]))
                .filter(|b| b["type"] == "tool_result")
                .collect(),
            Api::OpenAi => items(&last["input"])
                .into_iter()
                .filter(|i| i["type"] == "function_call_output" || i["type"] == "custom_tool_call_output")
                .collect(),
            Api::Gemini => items(&last["contents"])
                .iter()
                .flat_map(|c| items(&c["parts"]))
                .filter_map(|p| p.get("functionResponse").cloned())
                .collect(),
            Api::OpenAiChat => items(&last["messages"]).into_iter().filter(|m| m["role"] == "tool").collect(),
        }
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of a tool result, whichever API carried it.
pub fn result_text(block: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    if let Some(c) = block.get("content") {
        text(c) // Anthropic tool_result, Chat Completions tool message
    } else if let Some(o) = block.get("output") {
        text(o) // OpenAI function_call_output / custom_tool_call_output
    } else if let Some(r) = block.get("response") {
        // Gemini functionResponse: {output} when the tool ran, {error} when not.
        [text(&r["output"]), text(&r["error"])].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("\n")
    } else {
        block.to_string()
    }
}

pub fn git_init(dir: &Path) {
    let ok = Command::new("git").args(["init", "-q"]).current_dir(dir).status().map(|s| s.success());
    assert_eq!(ok.ok(), Some(true), "git init");
}

/// `gate install <agent>` as a user runs it, with the env's HOME and GATE_HOME.
pub fn gate_install(env: &TestEnv, agent: &str) -> String {
    let out = env.run(&["install", agent]);
    assert!(out.status.success(), "gate install {agent}: {}", crate::util::stderr(&out));
    crate::util::stdout(&out)
}

/// Run an agent to completion, or kill it (and its process group, where
/// shell children may linger) after `limit`.
pub fn run_with_limit(mut cmd: Command, limit: Duration) -> Output {
    use std::os::unix::process::CommandExt;
    let child = cmd
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the agent CLI");
    let pgid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    let watchdog = std::thread::spawn(move || {
        if rx.recv_timeout(limit).is_err() {
            // Timed out (or the test panicked): end the whole group.
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pgid}")]).status();
        }
    });
    let out = child.wait_with_output().expect("wait for the agent CLI");
    let _ = tx.send(());
    let _ = watchdog.join();
    // Anything the agent left behind in its group (Gemini leaves shell children).
    let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pgid}")]).stderr(Stdio::null()).status();
    out
}

/// A project for an agent to work in: a git repository holding
/// `build/keep.txt`, which a `rm -r build` that gate stops must leave in place.
pub fn project_with_build(env: &TestEnv) {
    git_init(&env.project());
    std::fs::create_dir_all(env.project().join("build")).unwrap();
    std::fs::write(env.project().join("build/keep.txt"), "precious").unwrap();
}

/// gate's default policy asks about `command` for `agent` (what the agent
/// then makes of the question is each test's to show).
pub fn assert_policy_asks(env: &TestEnv, agent: &str, command: &str) {
    let check = crate::util::stdout(&env.run(&["check", "--agent", agent, "--", command]));
    assert!(check.starts_with("ask:"), "{check}");
}

/// The agent CLI in the project, with nothing of the test's environment but
/// PATH, and the env's HOME and GATE_HOME; each test adds what its agent needs.
pub fn agent_command(env: &TestEnv, cli: &Path) -> Command {
    let mut c = Command::new(cli);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.home())
        .env("GATE_HOME", env.gate_home())
        .current_dir(env.project());
    c
}

/// Run the agent `name` to the end (killed after 90 s): it must succeed, in
/// under 60 s. Its stdout.
pub fn run_agent(name: &str, cmd: Command) -> String {
    let started = Instant::now();
    let out = run_with_limit(cmd, Duration::from_secs(90));
    let stdout = crate::util::stdout(&out);
    assert!(out.status.success(), "{name} failed: {stdout}\n{}", crate::util::stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(60), "{name} took {:?}", started.elapsed());
    stdout
}

/// One tool call as gate's receipts carry it: (tool, target, decision).
pub type Call<'a> = (&'a str, &'a str, &'a str);

/// What [`assert_story`] read: the decision and the outcome of the call that ran.
pub struct Story {
    pub ran: Value,
    pub outcome: Value,
}

/// The receipts of a run in which gate stopped every call in `calls` but the
/// last, which ran and ended in `outcome`:
/// - one decision per call, exactly `calls` (tool, target, decision), in order;
/// - one outcome only, `outcome`, linked to the last call's decision: the
///   stopped calls have none;
/// - every row names `agent` and is in one session, the last call's;
/// - `gate log <session>` names the agent and gives each call a line with its
///   decision, tool and target, ending `→ not run` for a denied call, with no
///   outcome for one left `asked` (handed to the agent, which refused it
///   unseen by gate), and `→ <outcome>` for the last;
/// - `gate verify` passes.
pub fn assert_story(env: &TestEnv, agent: &str, calls: &[Call], outcome: &str) -> Story {
    let rows = env.rows();
    let decisions: Vec<Call> = rows
        .iter()
        .filter(|r| r["kind"] == "decision")
        .map(|r| {
            (r["tool"].as_str().unwrap_or(""), r["target"].as_str().unwrap_or(""), r["decision"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(decisions, calls, "{rows:#?}");
    let (last_tool, last_target, _) = *calls.last().expect("at least one call");
    let ran = rows.iter().find(|r| r["kind"] == "decision" && r["target"] == last_target).unwrap().clone();
    let outcomes: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "outcome").collect();
    assert_eq!(outcomes.len(), 1, "stopped calls have no outcome: {outcomes:#?}");
    let ran_outcome = outcomes[0].clone();
    assert_eq!(ran_outcome["links_seq"], ran["seq"]);
    assert_eq!(ran_outcome["outcome"], outcome);
    assert!(rows.iter().all(|r| r["agent"] == agent && r["session_id"] == ran["session_id"]), "{rows:#?}");

    // The session reads back as a story: the log's line for a call is
    // `<time>  <decision>  <who>  <tool, padded to the session's longest>  <target>[  → <outcome>]`.
    let log = crate::util::stdout(&env.run(&["log", ran["session_id"].as_str().unwrap()]));
    assert!(log.contains(agent), "{log}");
    let call_line = |tool: &str, target: &str| {
        let padded = |l: &str| {
            l.match_indices(&format!(" {tool}  ")).any(|(i, m)| l[i + m.len()..].trim_start().starts_with(target))
        };
        log.lines().find(|l| padded(l)).unwrap_or_else(|| panic!("no line for {tool} {target}: {log}"))
    };
    for &(tool, target, decision) in &calls[..calls.len() - 1] {
        let line = call_line(tool, target);
        assert!(line.contains(decision), "{log}");
        match decision {
            "denied" => assert!(line.contains(&format!("{target}  → not run")), "{log}"),
            "asked" => assert!(line.contains("via agent") && !line.contains('→'), "{log}"),
            other => panic!("{target}: {other} is not a stopped call"),
        }
    }
    let line = call_line(last_tool, last_target);
    assert!(line.contains(calls[calls.len() - 1].2), "{log}");
    assert!(line.contains(&format!("{last_target}  → {outcome}")), "{log}");

    // And the chain verifies.
    assert_eq!(env.run(&["verify"]).status.code(), Some(0));
    Story { ran, outcome: ran_outcome }
}
