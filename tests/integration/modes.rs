//! File writes in the modes users chose: real `gate hook` processes get
//! Claude Code's PreToolUse payloads (the captured fixtures, with the mode
//! and the path changed) in a scratch git repository, and the receipt is
//! read back from the real SQLite file. In acceptEdits (and
//! bypassPermissions) an in-tree write is allowed with source `mode`;
//! everything outside the tree, secrets, guarded files, escapes through
//! symlinks or `..`, other modes and a user's `accept_edits = "ask"` keep
//! asking, and denying rules keep denying.

use std::os::unix::fs::symlink;
use std::process::Command;

use serde_json::{json, Value};

use crate::util::{answer, stdout, TestEnv};

/// How a case's world is set up before the call.
#[derive(Clone, Copy, PartialEq)]
enum World {
    /// The project is a git repository.
    Repo,
    /// The project is a plain directory.
    Plain,
    /// The project is a repository; the agent's cwd is its `sub/` directory.
    RepoSub,
    /// The project is a repository that holds the home directory.
    RepoAroundHome,
}

struct Case {
    name: &'static str,
    world: World,
    mode: &'static str,
    tool: &'static str,
    /// Relative to the project, or `@/x` for `x` in the test's scratch
    /// directory (outside the project).
    path: &'static str,
    user: &'static str,
    project: &'static str,
    managed: &'static str,
    /// The answer Claude gets: allow, ask or deny.
    want: &'static str,
    /// The receipt's source for this call.
    source: &'static str,
}

const C: Case = Case {
    name: "",
    world: World::Repo,
    mode: "acceptEdits",
    tool: "Write",
    path: "notes.md",
    user: "",
    project: "",
    managed: "",
    want: "ask",
    source: "agent",
};

fn git(dir: &std::path::Path, args: &[&str]) {
    let ok = Command::new("git").args(args).current_dir(dir).env("HOME", dir).status().expect("git");
    assert!(ok.success(), "git {args:?}");
}

/// The scratch world: a repository (or not) with some files, a directory
/// outside it, and symlinks that lead out.
fn set_up(env: &TestEnv, world: World) {
    let p = env.project();
    if world != World::Plain {
        git(&p, &["init", "-q"]);
    }
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::create_dir_all(p.join("sub")).unwrap();
    std::fs::write(p.join("main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(p.join("notes.md"), "hello\n").unwrap();
    let outside = env.dir.path().join("elsewhere/deep");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(env.dir.path().join("outside.txt"), "x\n").unwrap();
    symlink(env.dir.path().join("outside.txt"), p.join("link.txt")).unwrap();
    symlink(&outside, p.join("linkdir")).unwrap();
    symlink(env.dir.path().join("not-yet.txt"), p.join("dangling.txt")).unwrap();
    symlink(p.join(".git/config"), p.join("innocent.md")).unwrap();
    // A hard link is the file itself under a second name.
    std::fs::hard_link(env.dir.path().join("outside.txt"), p.join("hard.md")).unwrap();
    if world == World::RepoAroundHome {
        git(env.dir.path(), &["init", "-q"]);
    }
}

fn payload(env: &TestEnv, c: &Case) -> Value {
    let cwd = match c.world {
        World::RepoSub => env.project().join("sub"),
        World::RepoAroundHome => env.dir.path().to_path_buf(),
        _ => env.project(),
    };
    let path = match c.path.strip_prefix("@/") {
        Some(rest) => format!("{}/{rest}", env.dir.path().display()),
        None => format!("{}/{}", env.project().display(), c.path),
    };
    let mut v = match c.tool {
        "Edit" => env.fixture("PreToolUse-Edit"),
        _ => env.fixture("PreToolUse-Write"),
    };
    v["cwd"] = json!(cwd.to_string_lossy());
    v["permission_mode"] = json!(c.mode);
    v["tool_name"] = json!(c.tool);
    match c.tool {
        "Write" | "Edit" => v["tool_input"]["file_path"] = json!(path),
        "MultiEdit" => {
            v["tool_input"] = json!({"file_path": path, "edits": [{"old_string": "hello", "new_string": "hi"}]})
        }
        "NotebookEdit" => v["tool_input"] = json!({"notebook_path": path, "new_source": "print(1)"}),
        "Bash" => v["tool_input"] = json!({"command": format!("echo hi > {path}")}),
        other => panic!("no payload for {other}"),
    }
    v
}

fn cases() -> Vec<Case> {
    vec![
        Case { name: "acceptEdits, in-tree Write", want: "allow", source: "mode", ..C },
        Case { name: "acceptEdits, in-tree Edit", tool: "Edit", path: "main.rs", want: "allow", source: "mode", ..C },
        Case { name: "acceptEdits, MultiEdit", tool: "MultiEdit", want: "allow", source: "mode", ..C },
        Case {
            name: "acceptEdits, NotebookEdit",
            tool: "NotebookEdit",
            path: "nb.ipynb",
            want: "allow",
            source: "mode",
            ..C
        },
        Case {
            name: "a new file in directories that do not exist yet",
            path: "src/new/deep/lib.rs",
            want: "allow",
            source: "mode",
            ..C
        },
        Case { name: "bypassPermissions, in-tree", mode: "bypassPermissions", want: "allow", source: "mode", ..C },
        Case { name: "bypassPermissions, .gitattributes", mode: "bypassPermissions", path: ".gitattributes", ..C },
        Case { name: "default mode", mode: "default", ..C },
        Case { name: "plan mode", mode: "plan", ..C },
        Case { name: "auto mode", mode: "auto", ..C },
        Case { name: "dontAsk mode: no one can be asked", mode: "dontAsk", want: "deny", source: "rule", ..C },
        Case { name: "no permission_mode at all", mode: "", ..C },
        Case { name: "outside the tree", path: "@/outside.txt", ..C },
        Case { name: "a secret", path: ".env", ..C },
        Case { name: "a secret deeper down", path: "config/prod.pem", ..C },
        Case { name: "a git hook", path: ".git/hooks/pre-commit", ..C },
        Case { name: "git config", path: ".git/config", ..C },
        Case { name: ".GIT in another case", path: ".GIT/config", ..C },
        Case { name: "a .git file in a subdirectory", path: "vendor/lib/.git", ..C },
        Case { name: ".gitattributes", path: ".gitattributes", ..C },
        Case { name: "nested .gitattributes", path: "src/.gitattributes", ..C },
        Case { name: ".gitmodules", path: ".gitmodules", ..C },
        Case { name: ".envrc", path: ".envrc", ..C },
        Case { name: "rust-toolchain.toml", path: "rust-toolchain.toml", ..C },
        Case { name: ".cargo/config.toml", path: ".cargo/config.toml", ..C },
        Case { name: ".vscode/tasks.json", path: ".vscode/tasks.json", ..C },
        Case { name: "a hook file for core.hooksPath", path: ".githooks/post-index-change", ..C },
        Case {
            name: "Claude's project settings: the default rule denies",
            path: ".claude/settings.json",
            want: "deny",
            source: "rule",
            ..C
        },
        Case {
            name: "Claude's project commands: the default rule denies",
            path: ".claude/commands/x.md",
            want: "deny",
            source: "rule",
            ..C
        },
        Case { name: ".mcp.json: the default rule denies", path: ".mcp.json", want: "deny", source: "rule", ..C },
        Case { name: "gate's project policy", path: ".gate/policy.toml", ..C },
        Case { name: "a symlink inside the tree pointing outside", path: "link.txt", ..C },
        Case { name: "a dangling symlink pointing outside", path: "dangling.txt", ..C },
        Case { name: "a symlink inside the tree pointing at .git/config", path: "innocent.md", ..C },
        Case { name: "a `..` escape", path: "src/../../outside.txt", ..C },
        Case { name: "`..` after a symlinked directory", path: "linkdir/../x.txt", ..C },
        Case { name: "through a symlinked directory", path: "linkdir/x.txt", ..C },
        Case { name: "writing the tree's own directory", path: "", ..C },
        // Its other name is outside every place gate searches: it may be
        // anything, so the write is denied, under the mode and under a rule.
        Case {
            name: "a hard link inside the tree to a file outside",
            path: "hard.md",
            want: "deny",
            source: "rule",
            ..C
        },
        Case {
            name: "a user allow rule covers the name, not the hard link's other names",
            mode: "default",
            user: "[[rule]]\nid = \"md\"\ndecision = \"allow\"\ntool = \"write\"\npath = \"**/*.md\"\n",
            path: "hard.md",
            want: "deny",
            source: "rule",
            ..C
        },
        Case {
            name: "the same allow rule on a file with one link",
            mode: "default",
            user: "[[rule]]\nid = \"md\"\ndecision = \"allow\"\ntool = \"write\"\npath = \"**/*.md\"\n",
            want: "allow",
            source: "rule",
            ..C
        },
        Case { name: "Bash is never covered", tool: "Bash", ..C },
        Case {
            name: "a user deny rule on the file keeps denying",
            user: "[[rule]]\nid = \"no-lock\"\ndecision = \"deny\"\ntool = \"write\"\npath = \"*.lock\"\n",
            path: "Cargo.lock",
            want: "deny",
            source: "rule",
            ..C
        },
        Case {
            name: "a user ask rule on the file keeps asking",
            user: "[[rule]]\nid = \"docs\"\ndecision = \"ask\"\npath = \"**/docs/**\"\n",
            path: "docs/x.md",
            ..C
        },
        Case { name: "user accept_edits = ask", user: "[settings]\naccept_edits = \"ask\"\n", ..C },
        Case {
            name: "user follow is the default, said out loud",
            user: "[settings]\naccept_edits = \"follow\"\n",
            want: "allow",
            source: "mode",
            ..C
        },
        Case {
            name: "a project's follow cannot loosen the user's ask",
            user: "[settings]\naccept_edits = \"ask\"\n",
            project: "[settings]\naccept_edits = \"follow\"\n",
            ..C
        },
        Case { name: "a project may tighten to ask", project: "[settings]\naccept_edits = \"ask\"\n", ..C },
        Case {
            name: "managed follow wins over the user's ask",
            user: "[settings]\naccept_edits = \"ask\"\n",
            managed: "[settings]\naccept_edits = \"follow\"\n",
            want: "allow",
            source: "mode",
            ..C
        },
        Case {
            name: "managed ask wins over the user's follow",
            user: "[settings]\naccept_edits = \"follow\"\n",
            managed: "[settings]\naccept_edits = \"ask\"\n",
            ..C
        },
        Case {
            name: "a project's ask still tightens a managed follow",
            managed: "[settings]\naccept_edits = \"follow\"\n",
            project: "[settings]\naccept_edits = \"ask\"\n",
            ..C
        },
        Case { name: "a bad accept_edits value breaks the policy", user: "[settings]\naccept_edits = \"yes\"\n", ..C },
        Case { name: "a plain directory is its own tree", world: World::Plain, want: "allow", source: "mode", ..C },
        Case { name: "a plain directory: outside it", world: World::Plain, path: "@/outside.txt", ..C },
        Case {
            name: "cwd in a subdirectory: the repo is the tree",
            world: World::RepoSub,
            want: "allow",
            source: "mode",
            ..C
        },
        Case { name: "a tree that holds the home directory", world: World::RepoAroundHome, ..C },
    ]
}

#[test]
fn writes_follow_the_mode_only_inside_the_tree() {
    let mut failures = Vec::new();
    for c in cases() {
        let env = TestEnv::new();
        set_up(&env, c.world);
        if !c.user.is_empty() {
            env.write_user_policy(c.user);
        }
        if !c.project.is_empty() {
            env.write_project_policy(c.project);
        }
        if !c.managed.is_empty() {
            env.write_managed_policy(c.managed);
        }
        let mut p = payload(&env, &c);
        if c.mode.is_empty() {
            p.as_object_mut().unwrap().remove("permission_mode");
        }
        let out = env.hook(&p);
        let (got, reason) = if out.status.code() == Some(2) {
            ("deny".to_string(), String::from_utf8_lossy(&out.stderr).into_owned())
        } else {
            let a = answer(&out);
            let o = &a["hookSpecificOutput"];
            (o["permissionDecision"].as_str().unwrap_or("?").to_string(), o["permissionDecisionReason"].to_string())
        };
        // The receipt, from the SQLite file itself.
        let row = env.sqlite3(
            "SELECT source, json_extract(detail, '$.permission_mode'), ifnull(rule_id, '') \
             FROM receipts WHERE kind = 'decision' ORDER BY seq DESC LIMIT 1",
        );
        let fields: Vec<&str> = row.trim().split('|').collect();
        let want_mode = if c.mode.is_empty() { "" } else { c.mode };
        let ok = got == c.want
            && fields.first() == Some(&c.source)
            && fields.get(1) == Some(&want_mode)
            && (c.source != "mode" || fields.get(2) == Some(&format!("mode:{}", c.mode).as_str()));
        if !ok {
            failures
                .push(format!("{}: got {got} / row {row:?}, want {} / {}; reason {reason}", c.name, c.want, c.source));
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_reasons_name_the_mode_and_what_it_does_not_cover() {
    let env = TestEnv::new();
    set_up(&env, World::Repo);
    let reason = |c: &Case| {
        let a = answer(&env.hook(&payload(&env, c)));
        a["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap().to_string()
    };
    let allowed = reason(&Case { ..C });
    assert!(allowed.contains("acceptEdits mode") && allowed.contains("working tree"), "{allowed}");
    assert!(allowed.contains("[gate: mode:acceptEdits, accept_edits = \"follow\" (built-in default)]"), "{allowed}");
    let asked = reason(&Case { path: ".gitattributes", ..C });
    assert!(
        asked.contains("acceptEdits mode does not cover it") && asked.contains("filter and diff drivers"),
        "{asked}"
    );
    let outside = reason(&Case { path: "link.txt", ..C });
    assert!(outside.contains("leads to") && outside.contains("outside the project's working tree"), "{outside}");
    env.write_user_policy("[settings]\naccept_edits = \"ask\"\n");
    let user = reason(&Case { ..C });
    let user_file = env.gate_home().join("policy.toml");
    assert!(user.contains(&format!("accept_edits = \"ask\" ({})", user_file.display())), "{user}");
}

#[test]
fn gate_log_shows_the_mode_as_what_decided() {
    let env = TestEnv::new();
    set_up(&env, World::Repo);
    env.hook(&payload(&env, &Case { ..C }));
    env.hook(&payload(&env, &Case { path: ".envrc", ..C }));
    let log = stdout(&env.run(&["log", "--session", "100a"]));
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("  Write ")).collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(lines[0].contains("auto-approved") && lines[0].contains("mode:acceptEdits"), "{log}");
    assert!(lines[1].contains("asked") && !lines[1].contains("mode:"), "{log}");
    let only = stdout(&env.run(&["log", "--source", "mode"]));
    assert!(only.contains("notes.md") && !only.contains(".envrc"), "{only}");
    let rows = env.rows();
    let mode_row = rows.iter().find(|r| r["source"] == "mode").expect("a mode row in the export");
    assert_eq!(mode_row["decision"], "auto-approved");
    assert_eq!(mode_row["approver"], "gate");
    assert!(mode_row["detail"].to_string().contains("acceptEdits"), "{mode_row}");
}

#[test]
fn policy_check_and_show_report_the_setting() {
    let env = TestEnv::new();
    env.write_user_policy("[settings]\naccept_edits = \"always\"\n");
    let out = env.run(&["policy", "check"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("policy.toml:2:16: accept_edits \"always\" is not \"follow\" or \"ask\""), "{text}");
    env.write_user_policy("[settings]\naccept_edits = \"ask\"\n");
    let show = stdout(&env.run(&["policy", "show"]));
    let user_file = env.gate_home().join("policy.toml");
    assert!(show.contains(&format!("accept_edits = \"ask\" ({})", user_file.display())), "{show}");
    std::fs::remove_file(&user_file).unwrap();
    let show = stdout(&env.run(&["policy", "show"]));
    assert!(show.contains("accept_edits = \"follow\" (built-in default)"), "{show}");
}
