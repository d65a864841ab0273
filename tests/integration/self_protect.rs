//! Self-protection (issue 10, item 6), as a table run through `gate hook`
//! the way each agent calls it: every way an agent could change gate's own
//! files (database and its WAL, checkpoints, signing key, settings, policy,
//! trust list, binary) or the agents' settings that hold gate's hook, with
//! each shell writer, each spelling of the path and each agent's file tools,
//! is denied by the named rule; and reads of the same files are not denied,
//! so the table cannot pass by denying everything. Rows are built from
//! targets × ways; every failing row is reported at once.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{json, Value};

use crate::util::{stdout, TestEnv, GATE};

/// One of the two layouts gate's files can have.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// `GATE_HOME` set, as the tests and CI use it: one directory.
    GateHome,
    /// No `GATE_HOME`: `~/.local/share/gate` and `~/.config/gate`.
    Xdg,
}

struct World {
    env: TestEnv,
    layout: Layout,
}

impl World {
    fn new(layout: Layout) -> World {
        let env = TestEnv::new();
        let w = World { env, layout };
        let home = w.env.home();
        for f in
            ["policy.toml", "trust.toml", "settings.toml", "signing.key", "checkpoints.jsonl", "seen-checkpoints.jsonl"]
        {
            let p = w.config_dir().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        std::fs::create_dir_all(w.data_dir()).unwrap();
        for d in ["bin", ".claude", ".codex", ".gemini/policies", ".cursor", ".copilot/hooks", ".hermes"] {
            std::fs::create_dir_all(home.join(d)).unwrap();
        }
        for f in HOME_HOOK_FILES {
            std::fs::write(home.join(f), "{}").unwrap();
        }
        std::fs::write(home.join("bin/gate"), "#!/bin/sh\n").unwrap();
        let p = w.env.project();
        std::fs::create_dir_all(p.join(".claude")).unwrap();
        std::fs::create_dir_all(p.join(".github/hooks")).unwrap();
        std::fs::write(p.join(".claude/settings.json"), "{}").unwrap();
        std::fs::write(p.join(".claude/settings.local.json"), "{}").unwrap();
        std::fs::write(p.join(".github/hooks/gate.json"), "{}").unwrap();
        std::fs::write(p.join("notes.md"), "notes").unwrap();
        // Links into gate's directories from the project.
        symlink(w.data_dir(), p.join("datalink")).unwrap();
        symlink(w.config_dir(), p.join("conflink")).unwrap();
        // The receipt exists, with its WAL, as after any hook call.
        let out = w.hook(&w.claude_bash("ls"));
        assert_eq!(out.0, "allow", "the world's first call");
        w
    }

    fn data_dir(&self) -> PathBuf {
        match self.layout {
            Layout::GateHome => self.env.gate_home(),
            Layout::Xdg => self.env.home().join(".local/share/gate"),
        }
    }

    fn config_dir(&self) -> PathBuf {
        match self.layout {
            Layout::GateHome => self.env.gate_home(),
            Layout::Xdg => self.env.home().join(".config/gate"),
        }
    }

    fn path_var(&self) -> String {
        format!("{}:{}", self.env.home().join("bin").display(), std::env::var("PATH").unwrap_or_default())
    }

    /// `gate hook` on `payload`: (decision, rule id or `-`), read from the
    /// agent's own answer.
    fn hook(&self, payload: &Value) -> (String, String) {
        let mut cmd = self.env.cmd(&["hook"]);
        cmd.env("PATH", self.path_var());
        if self.layout == Layout::Xdg {
            cmd.env_remove("GATE_HOME");
        }
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(payload.to_string().as_bytes());
        let out = child.wait_with_output().unwrap();
        let text = stdout(&out);
        let v: Value = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
        let decision = [
            &v["hookSpecificOutput"]["permissionDecision"],
            &v["permissionDecision"],
            &v["decision"],
            &v["permission"],
        ]
        .into_iter()
        .find_map(|d| d.as_str())
        .map(|d| if d == "block" { "deny" } else { d })
        .unwrap_or(if out.status.code() == Some(2) { "deny" } else { "allow" })
        .to_string();
        let all = format!("{text}{}", String::from_utf8_lossy(&out.stderr));
        let rule = all.split("[gate: ").nth(1).and_then(|r| r.split([',', ']']).next()).unwrap_or("-").to_string();
        (decision, rule)
    }

    fn fixture(&self, name: &str) -> Value {
        self.env.agent_fixture(name)
    }

    fn claude_bash(&self, command: &str) -> Value {
        self.shell("claude", command)
    }

    /// A shell call from one agent, from its captured payload.
    fn shell(&self, agent: &str, command: &str) -> Value {
        let (name, field) = match agent {
            "claude" => ("claude-code-2.1.328/PreToolUse-Bash-rm", "tool_input"),
            "codex" => ("codex-0.169.0/PreToolUse-Bash-rm", "tool_input"),
            "gemini" => ("gemini-cli-0.61.0/BeforeTool-run_shell_command-rm", "tool_input"),
            "cursor" => ("cursor-docs/preToolUse-Shell-rm", "tool_input"),
            "copilot" => ("copilot-1.0.102/preToolUse-bash-git", "toolArgs"),
            "hermes" => ("hermes-agent-0.19.0/pre_tool_call-terminal-git", "tool_input"),
            _ => unreachable!("{agent}"),
        };
        let mut v = self.fixture(name);
        v[field]["command"] = Value::String(command.to_string());
        v
    }

    /// Every agent's own tools that write `path`: (label, payload).
    fn file_tools(&self, path: &Path) -> Vec<(String, Value)> {
        let p = path.to_string_lossy().to_string();
        let other = self.env.project().join("notes.md").to_string_lossy().to_string();
        let mut out: Vec<(String, Value)> = Vec::new();
        let claude = |tool: &str, input: Value| {
            let mut v = self.fixture("claude-code-2.1.328/PreToolUse-Write");
            v["tool_name"] = json!(tool);
            v["tool_input"] = input;
            v
        };
        out.push(("claude Write".into(), claude("Write", json!({"file_path": p, "content": "x"}))));
        out.push((
            "claude Edit".into(),
            claude("Edit", json!({"file_path": p, "old_string": "a", "new_string": "b", "replace_all": false})),
        ));
        out.push((
            "claude MultiEdit".into(),
            claude("MultiEdit", json!({"file_path": p, "edits": [{"old_string": "a", "new_string": "b"}]})),
        ));
        out.push((
            "claude NotebookEdit".into(),
            claude("NotebookEdit", json!({"notebook_path": p, "new_source": "x", "edit_mode": "replace"})),
        ));
        for (label, patch) in [
            ("Add File", format!("*** Begin Patch\n*** Add File: {p}\n+x\n*** End Patch\n")),
            ("Update File", format!("*** Begin Patch\n*** Update File: {p}\n@@\n-a\n+b\n*** End Patch\n")),
            ("Delete File", format!("*** Begin Patch\n*** Delete File: {p}\n*** End Patch\n")),
            (
                "Move File onto",
                format!("*** Begin Patch\n*** Update File: {other}\n*** Move to: {p}\n@@\n-a\n+b\n*** End Patch\n"),
            ),
            (
                "Move File away",
                format!(
                    "*** Begin Patch\n*** Update File: {p}\n*** Move to: {other}.moved\n@@\n-a\n+b\n*** End Patch\n"
                ),
            ),
        ] {
            let mut v = self.fixture("codex-0.169.0/PreToolUse-apply_patch");
            v["tool_input"]["command"] = json!(patch);
            out.push((format!("codex apply_patch {label}"), v));
        }
        let gemini = |tool: &str, input: Value| {
            let mut v = self.fixture("gemini-cli-0.61.0/BeforeTool-write_file");
            v["tool_name"] = json!(tool);
            v["tool_input"] = input;
            v
        };
        out.push(("gemini write_file".into(), gemini("write_file", json!({"file_path": p, "content": "x"}))));
        out.push((
            "gemini replace".into(),
            gemini("replace", json!({"file_path": p, "old_string": "a", "new_string": "b"})),
        ));
        let copilot = |tool: &str, args: Value| {
            let mut v = self.fixture("copilot-1.0.102/preToolUse-create");
            v["toolName"] = json!(tool);
            v["toolArgs"] = args;
            v
        };
        out.push(("copilot create".into(), copilot("create", json!({"path": p, "file_text": "x"}))));
        out.push(("copilot edit".into(), copilot("edit", json!({"path": p, "old_str": "a", "new_str": "b"}))));
        let cursor = |tool: &str, input: Value| {
            let mut v = self.fixture("cursor-docs/preToolUse-Write");
            v["tool_name"] = json!(tool);
            v["tool_input"] = input;
            v
        };
        out.push(("cursor Write".into(), cursor("Write", json!({"file_path": p, "contents": "x"}))));
        out.push(("cursor Edit".into(), cursor("Edit", json!({"file_path": p, "old_string": "a", "new_string": "b"}))));
        out.push(("cursor Delete".into(), cursor("Delete", json!({"file_path": p}))));
        let hermes = |tool: &str, input: Value| {
            let mut v = self.fixture("hermes-agent-0.19.0/pre_tool_call-terminal-git");
            v["tool_name"] = json!(tool);
            v["tool_input"] = input;
            v
        };
        out.push(("hermes write_file".into(), hermes("write_file", json!({"path": p, "content": "x"}))));
        out.push(("hermes patch".into(), hermes("patch", json!({"path": p, "old_string": "a", "new_string": "b"}))));
        out.push((
            "hermes patch (V4A)".into(),
            hermes(
                "patch",
                json!({"patch": format!("*** Begin Patch\n*** Update File: {p}\n@@\n-a\n+b\n*** End Patch\n")}),
            ),
        ));
        out
    }
}

/// A protected file: what it is, where it is, and the rule that guards it.
struct Target {
    what: String,
    path: PathBuf,
    rule: &'static str,
    /// The rule that names a change to the whole directory holding it.
    tree: &'static str,
}

fn gate_targets(w: &World) -> Vec<Target> {
    let mut out = Vec::new();
    for (what, dir, name) in [
        ("database", w.data_dir(), "gate.db"),
        ("database WAL", w.data_dir(), "gate.db-wal"),
        ("database shared memory", w.data_dir(), "gate.db-shm"),
        ("checkpoint log", w.config_dir(), "checkpoints.jsonl"),
        ("seen checkpoints", w.config_dir(), "seen-checkpoints.jsonl"),
        ("signing key", w.config_dir(), "signing.key"),
        ("settings", w.config_dir(), "settings.toml"),
        ("user policy", w.config_dir(), "policy.toml"),
        ("trust list", w.config_dir(), "trust.toml"),
    ] {
        out.push(Target { what: what.into(), path: dir.join(name), rule: "no-gate-files", tree: "no-gate-files" });
    }
    for (what, path) in [("gate's binary", PathBuf::from(GATE)), ("gate on PATH", w.env.home().join("bin/gate"))] {
        out.push(Target { what: what.into(), path, rule: "no-gate-binary", tree: "protected-parent" });
    }
    out
}

/// Whole directories of hook files (`~/.copilot/hooks`, `.github/hooks`,
/// `~/.gemini/policies`) are themselves protected; other files are guarded
/// against changes to the trees above them by `protected-parent`.
fn tree(rel: &str) -> &'static str {
    if rel.contains("/hooks/") || rel.contains("/policies/") {
        "no-agent-hook-settings"
    } else {
        "protected-parent"
    }
}

/// The files under HOME that hold an agent's hook (as the World creates them).
const HOME_HOOK_FILES: [&str; 10] = [
        ".claude/settings.json",
        ".claude/settings.local.json",
        ".codex/hooks.json",
        ".codex/config.toml",
        ".gemini/settings.json",
        ".gemini/policies/gate.toml",
        ".cursor/hooks.json",
        ".copilot/hooks/gate.json",
        ".hermes/config.yaml",
        ".hermes/shell-hooks-allowlist.json",
];

fn hook_targets(w: &World) -> Vec<Target> {
    let (h, p) = (w.env.home(), w.env.project());
    let mut out = Vec::new();
    for rel in HOME_HOOK_FILES {
        out.push(Target {
            what: format!("~/{rel}"),
            path: h.join(rel),
            rule: "no-agent-hook-settings",
            tree: tree(rel),
        });
    }
    for rel in [".claude/settings.json", ".claude/settings.local.json", ".github/hooks/gate.json"] {
        let path = p.join(rel);
        out.push(Target { what: format!("project {rel}"), path, rule: "no-agent-hook-settings", tree: tree(rel) });
    }
    out
}

/// Every shell way of changing a file, `{p}` its path, `{d}` its directory
/// and `{n}` its name.
const WAYS: &[(&str, &str)] = &[
    ("redirect >", "echo x > {p}"),
    ("redirect >>", "echo x >> {p}"),
    ("redirect 2>", "ls /nonexistent 2> {p}"),
    ("redirect &>", "echo x &> {p}"),
    ("redirect >|", "echo x >| {p}"),
    ("redirect in a group", "{ echo x; } > {p}"),
    ("tee", "echo x | tee {p}"),
    ("tee -a", "echo x | tee -a {p}"),
    ("sed -i", "sed -i s/a/b/ {p}"),
    ("perl -i", "perl -i -pe s/a/b/ {p}"),
    ("rm", "rm {p}"),
    ("rm -f", "rm -f {p}"),
    ("unlink", "unlink {p}"),
    ("shred", "shred -u {p}"),
    ("mv onto", "mv /tmp/evil {p}"),
    ("mv away", "mv {p} /tmp/elsewhere"),
    ("cp over", "cp /tmp/evil {p}"),
    ("ln -sf over", "ln -sf /tmp/evil {p}"),
    ("ln over", "ln /tmp/evil {p}"),
    ("chmod", "chmod 666 {p}"),
    ("chown", "chown nobody {p}"),
    ("truncate", "truncate -s 0 {p}"),
    ("dd of=", "dd if=/dev/zero of={p} count=1"),
    ("install", "install -m 644 /tmp/evil {p}"),
    ("rsync", "rsync /tmp/evil {p}"),
    ("touch", "touch {p}"),
    ("sqlite3", "sqlite3 {p} 'DELETE FROM receipts'"),
    ("python3 -c", "python3 -c 'open(\"{p}\", \"w\").write(\"x\")'"),
    ("bash -c", "bash -c 'rm {p}'"),
    ("sh -c, double quotes", "sh -c \"echo x > {p}\""),
    ("env rm", "env FOO=1 rm {p}"),
    ("sudo rm", "sudo rm {p}"),
    ("echo | xargs rm", "echo {p} | xargs rm"),
    ("find -delete", "find {d} -name {n} -delete"),
    ("find | xargs rm", "find {d} -name {n} | xargs rm"),
    ("read loop", "echo {p} | while read f; do rm \"$f\"; done"),
    ("rm $(echo)", "rm $(echo {p})"),
    ("cd, then a relative name", "cd {d} && rm {n}"),
    ("cd, then a redirect", "cd {d}; echo x > {n}"),
];

/// Whole-directory ways, `{d}` the directory.
const DIR_WAYS: &[(&str, &str)] = &[
    ("rm -rf", "rm -rf {d}"),
    ("rm -r", "rm -r {d}"),
    ("mv away", "mv {d} /tmp/elsewhere"),
    ("find -delete", "find {d} -delete"),
    ("chmod -R", "chmod -R 777 {d}"),
    ("cp -r over", "cp -r /tmp/evil/. {d}"),
];

/// The rule a way names: one that changes the whole tree holding a file
/// names the file's directory.
fn tree_rule(way: &str, t: &Target) -> &'static str {
    if way.starts_with("find ") {
        t.tree
    } else {
        t.rule
    }
}

fn fill(template: &str, p: &str, d: &str, n: &str) -> String {
    template.replace("{p}", p).replace("{d}", d).replace("{n}", n)
}

/// Each row: (target, way, agent, payload, rule). Returns the failures.
fn run_rows(w: &World, rows: Vec<(String, String, Value, &'static str)>) -> (usize, Vec<String>) {
    let n = rows.len();
    // Four hook processes at a time: the rows are independent.
    let chunks: Vec<Vec<_>> = rows.chunks(n.div_ceil(4).max(1)).map(|c| c.to_vec()).collect();
    let failures = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    let mut failures = Vec::new();
                    for (target, way, payload, rule) in chunk {
                        let got = w.hook(&payload);
                        // Cargo hard-links the binary it builds (target/debug/gate and
                        // deps/gate-*): a write to it is then denied first because its
                        // other name cannot be searched for. Still a deny.
                        let linked_binary = target.starts_with("gate's binary")
                            && got == ("deny".to_string(), "hard-link-unsearchable".to_string())
                            && std::fs::metadata(GATE).is_ok_and(|m| std::os::unix::fs::MetadataExt::nlink(&m) > 1);
                        if got != ("deny".to_string(), rule.to_string()) && !linked_binary {
                            failures.push(format!("{target} by {way}: got {got:?}, want deny by {rule}"));
                        }
                    }
                    failures
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a row panicked")).collect::<Vec<String>>()
    });
    (n, failures)
}

fn spellings(w: &World, t: &Target) -> Vec<(String, String)> {
    let p = t.path.to_string_lossy().to_string();
    let (h, proj) = (w.env.home(), w.env.project());
    let name = t.path.file_name().unwrap().to_string_lossy().to_string();
    let mut out = vec![("absolute".to_string(), p.clone())];
    // Relative to HOME, whatever the layout (the test dirs are siblings).
    if let Ok(rel) = t.path.strip_prefix(&h) {
        out.push(("~".into(), format!("~/{}", rel.display())));
        out.push(("$HOME".into(), format!("$HOME/{}", rel.display())));
        out.push(("${HOME}".into(), format!("\"${{HOME}}\"/{}", rel.display())));
    } else if let Ok(rel) = t.path.strip_prefix(h.parent().unwrap()) {
        out.push(("~/..".into(), format!("~/../{}", rel.display())));
        out.push(("$HOME/..".into(), format!("$HOME/../{}", rel.display())));
    }
    if let Ok(rel) = t.path.strip_prefix(proj.parent().unwrap()) {
        out.push(("..".into(), format!("../{}", rel.display())));
    }
    if w.layout == Layout::GateHome && t.path.starts_with(w.env.gate_home()) {
        out.push(("$GATE_HOME".into(), format!("$GATE_HOME/{name}")));
        out.push(("${GATE_HOME}".into(), format!("\"${{GATE_HOME}}\"/{name}")));
    }
    if t.path.starts_with(w.data_dir()) {
        out.push(("a symlink into the directory".into(), format!("datalink/{name}")));
        out.push((
            "a symlink, then ..".into(),
            format!("conflink/../{}/{name}", w.data_dir().file_name().unwrap().to_string_lossy()),
        ));
    } else if t.path.starts_with(w.config_dir()) {
        out.push(("a symlink into the directory".into(), format!("conflink/{name}")));
    }
    out
}

fn gate_files_rows(w: &World) -> Vec<(String, String, Value, &'static str)> {
    let mut rows = Vec::new();
    let targets = gate_targets(w);
    for t in &targets {
        let p = t.path.to_string_lossy().to_string();
        let d = t.path.parent().unwrap().to_string_lossy().to_string();
        let n = t.path.file_name().unwrap().to_string_lossy().to_string();
        // Every way, spelt absolutely, from Claude Code.
        for (way, template) in WAYS {
            rows.push((
                t.what.clone(),
                (*way).to_string(),
                w.claude_bash(&fill(template, &p, &d, &n)),
                tree_rule(way, t),
            ));
        }
        // Every spelling, by a few ways.
        for (spelling, sp) in spellings(w, t) {
            for (way, template) in [
                ("redirect >", "echo x > {p}"),
                ("rm", "rm {p}"),
                ("sed -i", "sed -i s/a/b/ {p}"),
                ("cp over", "cp /tmp/evil {p}"),
            ] {
                rows.push((
                    t.what.clone(),
                    format!("{way}, spelt {spelling}"),
                    w.claude_bash(&fill(template, &sp, &d, &n)),
                    t.rule,
                ));
            }
        }
        // Every agent's file tools.
        for (tool, payload) in w.file_tools(&t.path) {
            rows.push((t.what.clone(), tool, payload, t.rule));
        }
    }
    // Every agent's shell tool, every way, on the database.
    let db = &targets[0];
    let (p, d) = (db.path.to_string_lossy().to_string(), db.path.parent().unwrap().to_string_lossy().to_string());
    for agent in ["codex", "gemini", "cursor", "copilot", "hermes"] {
        for (way, template) in WAYS {
            rows.push((
                db.what.clone(),
                format!("{way} from {agent}"),
                w.shell(agent, &fill(template, &p, &d, "gate.db")),
                db.rule,
            ));
        }
    }
    // The directories themselves.
    for dir in [w.data_dir(), w.config_dir()] {
        let d = dir.to_string_lossy().to_string();
        for (way, template) in DIR_WAYS {
            let want = if way.starts_with("rm -rf") { "no-rm-rf" } else { "no-gate-files" };
            rows.push((
                format!("gate's directory {}", dir.display()),
                (*way).to_string(),
                w.claude_bash(&fill(template, "", &d, "")),
                want,
            ));
        }
    }
    rows
}

#[test]
fn every_way_of_changing_gates_own_files_is_denied() {
    for layout in [Layout::GateHome, Layout::Xdg] {
        let w = World::new(layout);
        let (n, failures) = run_rows(&w, gate_files_rows(&w));
        assert!(n > 500, "the table has {n} rows");
        assert!(failures.is_empty(), "{} of {n} rows are holes:\n{}", failures.len(), failures.join("\n"));
    }
}

#[test]
fn every_way_of_disabling_the_hook_is_denied() {
    let w = World::new(Layout::GateHome);
    let mut rows = Vec::new();
    for t in hook_targets(&w) {
        let p = t.path.to_string_lossy().to_string();
        let d = t.path.parent().unwrap().to_string_lossy().to_string();
        let n = t.path.file_name().unwrap().to_string_lossy().to_string();
        for (way, template) in WAYS {
            rows.push((
                t.what.clone(),
                (*way).to_string(),
                w.claude_bash(&fill(template, &p, &d, &n)),
                tree_rule(way, &t),
            ));
        }
        for (spelling, sp) in spellings(&w, &t) {
            rows.push((
                t.what.clone(),
                format!("redirect, spelt {spelling}"),
                w.claude_bash(&format!("echo x > {sp}")),
                t.rule,
            ));
        }
        for (tool, payload) in w.file_tools(&t.path) {
            rows.push((t.what.clone(), tool, payload, t.rule));
        }
    }
    // Starting Claude Code with gate's hook left out or turned off.
    for cmd in [
        "claude -p 'do it' --setting-sources project,local",
        "claude --setting-sources= -p x",
        "claude -p x --settings '{\"disableAllHooks\": true}'",
        "env FOO=1 claude --setting-sources project -p x",
    ] {
        rows.push(("Claude's hooks".into(), cmd.into(), w.claude_bash(cmd), "no-agent-hook-bypass"));
    }
    let (n, failures) = run_rows(&w, rows);
    assert!(n > 500, "the table has {n} rows");
    assert!(failures.is_empty(), "{} of {n} rows are holes:\n{}", failures.len(), failures.join("\n"));
}

/// An agent directory moved by its environment variable (`CODEX_HOME`...)
/// holds gate's hooks there, and is protected there.
#[test]
fn agent_directories_moved_by_environment_variables_are_protected() {
    let w = World::new(Layout::GateHome);
    let moved = w.env.dir.path().join("moved");
    let cases = [
        ("CLAUDE_CONFIG_DIR", moved.join("claude"), "settings.json"),
        ("CODEX_HOME", moved.join("codex"), "hooks.json"),
        ("CODEX_HOME", moved.join("codex"), "config.toml"),
        ("HERMES_HOME", moved.join("hermes"), "config.yaml"),
        ("HERMES_HOME", moved.join("hermes"), "shell-hooks-allowlist.json"),
        ("GEMINI_CLI_HOME", moved.join("gemini"), ".gemini/settings.json"),
        ("GEMINI_CLI_HOME", moved.join("gemini"), ".gemini/policies/gate.toml"),
    ];
    for (var, dir, file) in cases {
        let path = dir.join(file);
        for (way, payload) in [
            ("redirect", w.claude_bash(&format!("echo x > {}", path.display()))),
            ("rm", w.claude_bash(&format!("rm {}", path.display()))),
            ("Write", w.file_tools(&path).remove(0).1),
        ] {
            let mut cmd = w.env.cmd(&["hook"]);
            cmd.env(var, &dir).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            use std::io::Write;
            child.stdin.take().unwrap().write_all(payload.to_string().as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            let text = stdout(&out);
            assert!(
                text.contains("\"deny\"") && text.contains("[gate: no-agent-hook-settings"),
                "{var}={}: {file} by {way}: {text}",
                dir.display()
            );
        }
        // Without the variable, the same path is an ordinary file (but
        // for Gemini's, whose `.gemini` is denied anywhere).
        if var != "GEMINI_CLI_HOME" {
            let plain = w.hook(&w.claude_bash(&format!("echo x > {}", path.display())));
            assert_eq!(plain.0, "ask", "{} without {var}", path.display());
        }
    }
}

/// Reads of the same files are not denied by the self-protection rules:
/// gate's files ask (they are secrets to the floor), the agents' settings
/// are read freely; anything that can write them (sqlite3) is still denied.
#[test]
fn reading_protected_files_is_not_denied() {
    for layout in [Layout::GateHome, Layout::Xdg] {
        let w = World::new(layout);
        let h = w.env.home();
        let db = w.data_dir().join("gate.db").to_string_lossy().to_string();
        let policy = w.config_dir().join("policy.toml").to_string_lossy().to_string();
        let settings = h.join(".claude/settings.json").to_string_lossy().to_string();
        let rows: Vec<(String, Value, (&str, &str))> = vec![
            (format!("cat {policy}"), w.claude_bash(&format!("cat {policy}")), ("ask", "-")),
            (
                format!("ls {}", w.config_dir().display()),
                w.claude_bash(&format!("ls {}", w.config_dir().display())),
                ("ask", "-"),
            ),
            (format!("grep deny {policy}"), w.claude_bash(&format!("grep deny {policy}")), ("ask", "-")),
            ("gate log".into(), w.claude_bash("gate log"), ("ask", "-")),
            ("gate verify".into(), w.claude_bash("gate verify"), ("ask", "-")),
            (format!("cat {settings}"), w.claude_bash(&format!("cat {settings}")), ("allow", "floor:cat")),
            (
                "cat ~/.codex/hooks.json | jq .hooks".into(),
                w.claude_bash("cat ~/.codex/hooks.json | jq .hooks"),
                ("allow", "floor:jq"),
            ),
            (
                "jq . .claude/settings.local.json".into(),
                w.claude_bash("jq . .claude/settings.local.json"),
                ("allow", "floor:jq"),
            ),
            ("ls ~/.copilot/hooks".into(), w.claude_bash("ls ~/.copilot/hooks"), ("allow", "floor:ls")),
            // A copy elsewhere writes only the copy: a human decides.
            (
                format!("cat {settings} > /tmp/copy"),
                w.claude_bash(&format!("cat {settings} > /tmp/copy")),
                ("ask", "-"),
            ),
            (
                "Read policy".into(),
                json!({"session_id": "s", "cwd": w.env.project(), "hook_event_name": "PreToolUse",
                "tool_name": "Read", "tool_input": {"file_path": policy}, "tool_use_id": "r1"}),
                ("ask", "-"),
            ),
            (
                "Read settings".into(),
                json!({"session_id": "s", "cwd": w.env.project(), "hook_event_name": "PreToolUse",
                "tool_name": "Read", "tool_input": {"file_path": settings}, "tool_use_id": "r2"}),
                ("allow", "-"),
            ),
            // sqlite3 can write the database whatever its arguments say.
            (format!("sqlite3 {db} .dump"), w.claude_bash(&format!("sqlite3 {db} .dump")), ("deny", "no-gate-files")),
            (
                format!("sqlite3 -readonly {db} .dump"),
                w.claude_bash(&format!("sqlite3 -readonly {db} .dump")),
                ("deny", "no-gate-files"),
            ),
            // A computed target asks; it is never allowed.
            (
                "x=...; rm $x/gate.db".into(),
                w.claude_bash(&format!("x={}; rm $x/gate.db", w.data_dir().display())),
                ("ask", "-"),
            ),
            ("rm \"$(cat list)\"".into(), w.claude_bash("rm \"$(cat list)\""), ("ask", "-")),
        ];
        let mut failures = Vec::new();
        for (what, payload, (decision, rule)) in &rows {
            let got = w.hook(payload);
            let rule_ok = *rule == "-" && !got.1.starts_with("no-") || got.1 == *rule;
            if got.0 != *decision || !rule_ok {
                failures.push(format!("{what}: got {got:?}, want {decision} by {rule}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
