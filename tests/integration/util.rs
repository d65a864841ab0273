//! `TestEnv`: one isolated world per test. A temp dir holds a fake HOME, a
//! GATE_HOME and a project directory; every command runs the built `gate`
//! binary with only those, so no test sees the developer's own files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub const GATE: &str = env!("CARGO_BIN_EXE_gate");

pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

impl Drop for TestEnv {
    /// A resident started by the test's last call may still be creating
    /// its socket while the directory is removed, which then fails and
    /// leaves the resident serving it for its idle time: remove until the
    /// directory stays gone (a resident exits once its socket is).
    fn drop(&mut self) {
        for _ in 0..5 {
            let _ = std::fs::remove_dir_all(self.dir.path());
            if !self.dir.path().exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl TestEnv {
    pub fn new() -> TestEnv {
        let dir = tempfile::Builder::new().prefix("gate-test-").tempdir().expect("tempdir");
        for d in ["home", "gate", "project"] {
            std::fs::create_dir_all(dir.path().join(d)).expect("mkdir");
        }
        TestEnv { dir }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    pub fn gate_home(&self) -> PathBuf {
        self.dir.path().join("gate")
    }
    pub fn project(&self) -> PathBuf {
        self.dir.path().join("project")
    }
    pub fn db_path(&self) -> PathBuf {
        self.gate_home().join("gate.db")
    }

    /// `gate <args>` with the isolated environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(GATE);
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("GATE_HOME", self.gate_home())
            .env("NO_COLOR", "1")
            .env("TZ", "UTC")
            .current_dir(self.project());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).stdin(Stdio::null()).output().expect("run gate")
    }

    /// Run `gate <args>` with `input` on stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gate");
        let mut stdin = child.stdin.take().expect("stdin");
        // The hook may refuse before reading everything: ignore EPIPE.
        let _ = stdin.write_all(input);
        drop(stdin);
        child.wait_with_output().expect("wait gate")
    }

    pub fn hook(&self, payload: &Value) -> Output {
        self.run_with_stdin(&["hook"], payload.to_string().as_bytes())
    }

    /// A captured payload, with its cwd moved into this env's project.
    pub fn fixture(&self, name: &str) -> Value {
        let mut v = fixture(name);
        if v.get("cwd").is_some() {
            v["cwd"] = Value::String(self.project().to_string_lossy().into_owned());
        }
        v
    }

    /// A payload captured from another agent (`codex-0.169.0/PreToolUse-Bash-rm`),
    /// with its cwd moved into this env's project and its transcript dropped.
    pub fn agent_fixture(&self, name: &str) -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(format!("{name}.json"));
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json");
        if v.get("cwd").is_some() {
            v["cwd"] = Value::String(self.project().to_string_lossy().into_owned());
        }
        if v.get("transcript_path").is_some() {
            v["transcript_path"] = Value::Null;
        }
        v
    }

    /// Rows of the receipt, via the sqlite3 command-line shell. It waits for
    /// the lock as gate's own commands do: a hook may have left a checkpoint
    /// running after it answered.
    pub fn sqlite3(&self, sql: &str) -> String {
        let out = Command::new("sqlite3")
            .args(["-cmd", ".timeout 10000"])
            .arg(self.db_path())
            .arg(sql)
            .output()
            .expect("sqlite3 must be installed");
        assert!(out.status.success(), "sqlite3 {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The receipt rows as JSON objects, via `gate export`.
    pub fn rows(&self) -> Vec<Value> {
        let out = self.run(&["export", "--format", "jsonl"]);
        assert!(out.status.success(), "export failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("jsonl line")).collect()
    }
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code-2.1.328").join(format!("{name}.json"))
}

pub fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture_path(name)).expect("fixture");
    serde_json::from_str(&text).expect("fixture json")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The hook's JSON answer.
pub fn answer(o: &Output) -> Value {
    serde_json::from_str(stdout(o).trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} / {:?}", stdout(o), stderr(o)))
}

/// A file of this repository.
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

impl TestEnv {
    /// The id of the first question waiting in `gate pending`, waiting up
    /// to 15 seconds for one to appear.
    pub fn next_question_id(&self) -> i64 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let v: Value = serde_json::from_str(&stdout(&self.run(&["pending", "--json"]))).unwrap();
            if let Some(id) = v[0]["id"].as_i64() {
                return id;
            }
            assert!(std::time::Instant::now() < deadline, "no question is pending");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}
