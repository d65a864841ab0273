//! The safe floor against the case table (`tests/data/floor_cases.toml`,
//! written adversarial-first by a separate reviewer) and against planted git
//! configs. Each case runs through the same decision the hook uses, with
//! the default policy loaded, in a scratch git repository.

use serde::Deserialize;

use gate::action::{Action, Agent};
use gate::policy::{self, Decision};

use crate::util::TestEnv;

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    cmd: String,
    safe: bool,
    why: String,
    /// The shell that runs it (default bash).
    #[serde(default)]
    shell: Option<String>,
}

pub(crate) fn shell(cmd: &str, cwd: &str) -> Action {
    gate::engine::shell_action(cmd, cwd)
}

/// Decide with the default policy and a real disk probe, as the hook does.
pub(crate) fn decide(action: &Action, home: &str) -> policy::Evaluation {
    let paths =
        gate::paths::Paths { data_dir: "/nonexistent/gate-data".into(), config_dir: "/nonexistent/gate-config".into() };
    let loaded = gate::config::load(&paths, &action.cwd);
    let probe = gate::probe::DiskProbe::new(Some(home.to_string()));
    let ctx = policy::Context {
        home: Some(home.to_string()),
        gate_dirs: gate::config::gate_dirs(&paths),
        gate_bins: Vec::new(),
        probe: &probe,
        policy: &loaded.set,
        edits: None,
    };
    policy::explain(action, &ctx)
}

/// The action for one of Claude's own tools, as its adapter makes it.
fn file_tool(name: &str, input: serde_json::Value, cwd: &str) -> Action {
    let claude = gate::hook::adapter(Agent::ClaudeCode).unwrap();
    gate::engine::tool_action(claude, name, input, cwd).unwrap()
}

fn scratch_repo(env: &TestEnv) -> String {
    let p = env.project();
    let ok = std::process::Command::new("git").args(["init", "-q"]).current_dir(&p).status().unwrap();
    assert!(ok.success());
    for f in ["a.rs", "b.rs", "README.md", "Cargo.toml", "notes.txt", "in.txt"] {
        std::fs::write(p.join(f), "x\n").unwrap();
    }
    std::fs::create_dir_all(p.join("src")).unwrap();
    std::fs::write(p.join("src/main.rs"), "fn main() {}\n").unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn the_case_table() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/floor_cases.toml")).unwrap();
    let cases: Cases = toml::from_str(&text).unwrap();
    assert!(cases.case.len() >= 300, "the table has {} cases", cases.case.len());
    let env = TestEnv::new();
    let cwd = scratch_repo(&env);
    let home = env.home().to_string_lossy().into_owned();
    let (mut leaks, mut missed) = (Vec::new(), Vec::new());
    let (mut safe_total, mut safe_allowed) = (0, 0);
    for c in &cases.case {
        let mut action = shell(&c.cmd, &cwd);
        if let Some(name) = &c.shell {
            action.shell = gate::action::Shell::from_program(name);
        }
        let e = decide(&action, &home);
        let allowed = e.verdict.decision == Decision::Allow;
        if c.safe {
            safe_total += 1;
            if allowed {
                safe_allowed += 1;
            } else {
                missed.push(format!("{:?}: {} ({})", c.cmd, e.verdict.reason, c.why));
            }
        } else if allowed {
            leaks.push(format!("{:?} was auto-approved ({}): {}", c.cmd, c.why, e.verdict.reason));
        }
    }
    let unsafe_total = cases.case.len() - safe_total;
    eprintln!(
        "floor case table: {} cases; unsafe auto-approved: {}/{unsafe_total}; read-only auto-approved: {safe_allowed}/{safe_total}",
        cases.case.len(),
        leaks.len()
    );
    for m in &missed {
        eprintln!("  asked (read-only): {m}");
    }
    assert!(leaks.is_empty(), "unsafe commands passed the floor:\n{}", leaks.join("\n"));
    assert!(safe_allowed * 100 >= safe_total * 90, "only {safe_allowed}/{safe_total} read-only commands passed");
}

/// A planted config key makes read-only git commands ask, naming the key.
#[test]
fn planted_git_configs_make_git_reads_ask() {
    let cases: &[(&str, &str, &str)] = &[
        ("[core]\n\tfsmonitor = /tmp/evil", "git status", "core.fsmonitor"),
        ("[diff]\n\texternal = /tmp/evil", "git diff", "diff.external"),
        ("[diff \"lfs\"]\n\ttextconv = /tmp/evil", "git log -p", "diff.lfs.textconv"),
        ("[log]\n\tshowSignature = true\n[gpg]\n\tprogram = /tmp/evil", "git log", "log.showsignature"),
        ("[filter \"x\"]\n\tclean = /tmp/evil", "git status", "filter.x.clean"),
        ("[core]\n\tpager = /tmp/evil", "git show HEAD", "core.pager"),
    ];
    for (config, cmd, key) in cases {
        let env = TestEnv::new();
        let cwd = scratch_repo(&env);
        let home = env.home().to_string_lossy().into_owned();
        assert_eq!(decide(&shell(cmd, &cwd), &home).verdict.decision, Decision::Allow, "{cmd} in a clean repo");
        let cfg = env.project().join(".git/config");
        let mut text = std::fs::read_to_string(&cfg).unwrap();
        text.push('\n');
        text.push_str(config);
        text.push('\n');
        std::fs::write(&cfg, text).unwrap();
        let v = decide(&shell(cmd, &cwd), &home).verdict;
        assert_eq!(v.decision, Decision::Ask, "{cmd} with {config}");
        assert!(v.reason.to_ascii_lowercase().contains(key), "{cmd}: the reason names {key}: {}", v.reason);
    }
}

#[test]
fn a_post_index_change_hook_makes_git_status_ask() {
    let env = TestEnv::new();
    let cwd = scratch_repo(&env);
    let home = env.home().to_string_lossy().into_owned();
    let hook = env.project().join(".git/hooks/post-index-change");
    std::fs::write(&hook, "#!/bin/sh\ntouch /tmp/pwned\n").unwrap();
    // git skips a hook that is not executable.
    assert_eq!(decide(&shell("git status", &cwd), &home).verdict.decision, Decision::Allow);
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let v = decide(&shell("git status", &cwd), &home).verdict;
    assert_eq!(v.decision, Decision::Ask);
    assert!(v.reason.contains("post-index-change"), "{}", v.reason);
}

#[test]
fn an_included_config_is_followed() {
    let env = TestEnv::new();
    let cwd = scratch_repo(&env);
    let home = env.home().to_string_lossy().into_owned();
    std::fs::write(env.project().join(".git/extra.cfg"), "[core]\n\tfsmonitor = /tmp/evil\n").unwrap();
    let cfg = env.project().join(".git/config");
    let text = std::fs::read_to_string(&cfg).unwrap() + "\n[include]\n\tpath = extra.cfg\n";
    std::fs::write(&cfg, text).unwrap();
    let v = decide(&shell("git status", &cwd), &home).verdict;
    assert_eq!(v.decision, Decision::Ask);
    assert!(v.reason.contains("extra.cfg"), "{}", v.reason);
}

#[test]
fn file_tools_ask_on_secrets_and_pass_otherwise() {
    let env = TestEnv::new();
    let cwd = scratch_repo(&env);
    let home = env.home().to_string_lossy().into_owned();
    std::fs::write(env.project().join(".env"), "K=V").unwrap();
    std::os::unix::fs::symlink(env.project().join(".env"), env.project().join("innocent.txt")).unwrap();
    let tool = |name: &str, input: serde_json::Value| file_tool(name, input, &cwd);
    let cases: &[(&str, serde_json::Value, Decision)] = &[
        ("Read", serde_json::json!({"file_path": format!("{cwd}/src/main.rs")}), Decision::Allow),
        ("Read", serde_json::json!({"file_path": format!("{cwd}/.env")}), Decision::Ask),
        ("Read", serde_json::json!({"file_path": format!("{cwd}/innocent.txt")}), Decision::Ask),
        ("Read", serde_json::json!({"file_path": format!("{home}/.ssh/id_ed25519")}), Decision::Ask),
        ("Read", serde_json::json!({"file_path": format!("{home}/.aws/credentials")}), Decision::Ask),
        ("Read", serde_json::json!({"file_path": "/srv/tls/server.pem"}), Decision::Ask),
        ("Glob", serde_json::json!({"pattern": "**/*.rs"}), Decision::Allow),
        ("Glob", serde_json::json!({"pattern": "**/.env*"}), Decision::Ask),
        ("Grep", serde_json::json!({"pattern": "fn main", "path": format!("{cwd}/src")}), Decision::Allow),
        ("Grep", serde_json::json!({"pattern": "token", "path": home.clone()}), Decision::Ask),
        ("Grep", serde_json::json!({"pattern": "x", "path": "/"}), Decision::Ask),
        ("Write", serde_json::json!({"file_path": format!("{cwd}/notes.md"), "content": "x"}), Decision::Ask),
        (
            "Edit",
            serde_json::json!({"file_path": format!("{home}/.claude/settings.json"), "old_string": "a", "new_string": "b"}),
            Decision::Deny,
        ),
        ("TodoWrite", serde_json::json!({"todos": []}), Decision::Allow),
        ("Frobnicate", serde_json::json!({}), Decision::Ask),
    ];
    for (name, input, want) in cases {
        let v = decide(&tool(name, input.clone()), &home).verdict;
        assert_eq!(v.decision, *want, "{name} {input}: {}", v.reason);
    }
}

mod properties {
    use proptest::prelude::*;

    use gate::floor::NoProbe;
    use gate::policy::{self, Decision, PolicySet};

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("ls".to_string()),
            Just("cat".to_string()),
            Just("rm".to_string()),
            Just("-rf".to_string()),
            Just("git".to_string()),
            Just("status".to_string()),
            Just("find".to_string()),
            Just("-delete".to_string()),
            Just("sed".to_string()),
            Just("'s/a/b/w x'".to_string()),
            Just("|".to_string()),
            Just("&&".to_string()),
            Just(";".to_string()),
            Just(">".to_string()),
            Just("<".to_string()),
            Just("$(".to_string()),
            Just(")".to_string()),
            Just("`".to_string()),
            Just("\"".to_string()),
            Just("'".to_string()),
            Just("*".to_string()),
            Just("~".to_string()),
            Just("{a,b}".to_string()),
            Just("$x".to_string()),
            Just("x=1".to_string()),
            Just("\\\n".to_string()),
            Just("<<EOF\n".to_string()),
            Just("EOF\n".to_string()),
            Just("xargs".to_string()),
            Just("env".to_string()),
            Just("sh".to_string()),
            Just("-c".to_string()),
            Just("(".to_string()),
            Just("for".to_string()),
            Just("do".to_string()),
            "[a-z./-]{1,8}".prop_map(|s| s),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Any token soup is decided without a panic; what the analysis does
        /// not understand never passes; and `rm -rf` never passes.
        #[test]
        fn evaluation_never_panics_and_never_allows_the_opaque(tokens in proptest::collection::vec(token(), 0..24)) {
            let line = tokens.join(" ");
            let probe = NoProbe;
            let set = PolicySet::default();
            let ctx = policy::Context { home: Some("/home/u".into()), gate_dirs: vec!["/g".into()], gate_bins: Vec::new(), probe: &probe, policy: &set, edits: None };
            let action = gate::engine::shell_action(&line, "/home/u/p");
            let eval = policy::explain(&action, &ctx);
            let analysis = gate::shell::analyze(&line);
            if !analysis.is_fully_understood() {
                prop_assert_ne!(eval.verdict.decision, Decision::Allow, "{:?}", line);
            }
            if analysis.commands.iter().any(|c| c.name() == Some("rm")) {
                prop_assert_ne!(eval.verdict.decision, Decision::Allow, "{:?}", line);
            }
        }
    }
}

/// Holes a red-team pass found (each reproduced in a scratch directory
/// first), kept as regressions. The repository has a `.env`, the home has
/// `~/.aws/credentials`, and `awslink` in the repository points there.
#[test]
fn red_team_regressions() {
    let env = TestEnv::new();
    let cwd = scratch_repo(&env);
    let home = env.home().to_string_lossy().into_owned();
    std::fs::write(env.project().join(".env"), "SECRET=1\n").unwrap();
    std::fs::create_dir_all(env.home().join(".aws")).unwrap();
    std::fs::write(env.home().join(".aws/credentials"), "k\n").unwrap();
    std::os::unix::fs::symlink(env.home().join(".aws"), env.project().join("awslink")).unwrap();
    // A nested repository whose config runs a program on `git diff`.
    let evil = env.project().join("evil");
    std::fs::create_dir_all(&evil).unwrap();
    assert!(std::process::Command::new("git").args(["init", "-q"]).current_dir(&evil).status().unwrap().success());
    let cfg = evil.join(".git/config");
    std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap() + "[diff]\n\texternal = /nonexistent/extdiff\n")
        .unwrap();
    let rows: &[&str] = &[
        "sed ':a e touch pl1' a.rs",
        "sed 'ba;:a e touch x' a.rs",
        "echo '1e touch x' | sed -f /dev/stdin -- --sandbox a.rs",
        "cargo --version",
        "git config edit",
        "git reflog show --output=out1",
        "git stash list --output=F",
        "git stash show -p --output=F",
        "echo ~/.aws/credentials | xargs cat",
        "find . -print0 | xargs -0 cat",
        "git diff /dev/null ~/.aws/credentials",
        "git -C ~/.aws grep --no-index -e .",
        "git -C ~/.aws diff --no-index /dev/null credentials",
        "git grep --no-index -e SECRET",
        "git grep --untracked -e SECRET",
        "cd ~/.aws; cat credentials",
        "cd awslink; cat credentials",
        "cd ~; cd .aws; cat credentials",
        "env -C ~/.aws cat credentials",
        "read -aCDPATH <<< ~; cd .aws; cat credentials",
        "read -aHOME <<< ~/.aws; cat ~/credentials",
        "cat /proc/self/cwd/../.env",
        "cat /proc/1/environ",
        "grep -d recurse SECRET .",
        "grep --directories=recurse SECRET .",
        "printf '.env\\0' | sort --files0-from=-",
        "jq --raw-input -f /dev/null .env",
        "jq -n -L ~/.docker 'import \"config\" as $c; $c'",
        "rg -L AKIA",
        "git show HEAD:.env",
        "git cat-file -p HEAD:.env",
        "grep -f ~/.ssh/id_rsa x a.rs",
        "grep -f \"$HOME/.ssh/id_rsa\" x",
        "wc --files0-from=.env",
        // Second pass.
        "cd .. && grep -r aws_secret .",
        "cd ~ && grep -r aws_secret",
        "cd evil && git diff",
        "env -C evil git diff",
        "pushd evil && git status",
        "diff -rN . /nonexistent-empty",
        "diff -r -N ~ /nonexistent-empty",
        "git diff --no-index /nonexistent-empty ~",
        "rg -g '*' SECRET",
        "rg --glob='*' SECRET",
        "rg --type-add 'e:*.env' -t e SECRET",
        "strings @.env",
        "strings @/dev/null @~/.aws/credentials",
        "git branch --abbrev newb",
        "cat ~/.claude/.credentials.json",
        "cat /etc/ssh/ssh_host_ed25519_key",
        "grep -a BEGIN /dev/vda",
        "dd if=/dev/sda",
        "cat /srv/other/.aws/credentials",
        "printenv",
        "env",
        "printenv GITHUB_TOKEN",
        "echo \"$ANTHROPIC_API_KEY\"",
        // The tree holds a .env and a symlink: names listed from it are not safe to read.
        "find . -name '*.rs' | xargs wc -l",
        "git ls-files | xargs cat",
        "find / -name credentials | xargs cat",
        // Fourth pass.
        "printf 6563686f0a | xxd -r -ps - ~/.bashrc",
        "xxd -bs a.rs b.rs",
        "git --bare diff HEAD~1 HEAD",
        "ps -auxe",
        "ps -uxe",
        "md5sum -c sums.txt",
        "sha256sum --check sums.txt",
        "sort -S 1K -T ~ a.rs",
        // Fifth pass (issue 12), each reproduced with the real program.
        "xxd a.rs -a",
        "xxd a.rs -r",
        "jq -n '$ ENV'",
        "jq -n '$ ENV.HOME'",
        "strings @.gitignore",
        "grep -d rec SECRET .",
        "grep -drec SECRET .",
        "find . -maxdepth 0 -printf '/x/.aws/credentials\\n' | xargs cat",
        "find -L ~ -type f | xargs cat",
        "find -H ~ -type f | xargs grep k",
        "command cd ~/.aws && cat credentials",
        "command pushd ~/.aws && cat credentials",
        "env -C$HOME/.aws cat credentials",
        "env -iC ~/.aws cat credentials",
        "env --chdir=evil git diff",
        "nice env -C evil git diff",
        "timeout 5 env -C evil git diff",
        "command cd evil && git diff",
        "cd sub && cat ../.e*",
        "cd ~/.aws && cat *",
        "cd ~/.aws && cat c*",
        "cd ~/.aws && find . -type f | xargs cat",
        "find names -type f | xargs cat",
        "tree -Lo 2 out.txt",
        "tree -Po x out.txt",
        "git reflog --pretty --output=out.txt",
        "git blame -C --contents=.env a.rs",
        "jq -n --args env",
        "grep -r --exclude=zzz --include='*.rs' SECRET .",
        "rg SECRET -g '*.rs' --iglob '*'",
        "rg SECRET -g '*.RS' --glob-case-insensitive",
        "rg SECRET -g '*.{rs,env}'",
        "git log --format=%GK -1",
        "git show -s --pretty=format:%GG",
        "file -z a.rs",
        "bat --paging=always a.rs",
        "diff -l a.rs b.rs",
        "fd -l rs",
    ];
    std::fs::create_dir_all(env.project().join("sub")).unwrap();
    std::fs::create_dir_all(env.project().join("names")).unwrap();
    std::fs::write(env.project().join("names/foo .env"), "x\n").unwrap();
    let mut leaks = Vec::new();
    for cmd in rows {
        let v = decide(&shell(cmd, &cwd), &home).verdict;
        if v.decision == Decision::Allow {
            leaks.push(format!("{cmd}: {}", v.reason));
        }
    }
    assert!(leaks.is_empty(), "auto-approved:\n{}", leaks.join("\n"));
    // The everyday ones still pass.
    for cmd in [
        "git status",
        "git log --oneline -3",
        "git stash list",
        "git reflog -5",
        "cd src && ls",
        "find src -name '*.rs' | xargs wc -l",
        "cd src && cat *.rs",
        "xxd a.rs",
        "tree -L 2",
        "grep -r --include='*.rs' fn src",
        "git config user.name",
        "rg TODO",
    ] {
        assert_eq!(decide(&shell(cmd, &cwd), &home).verdict.decision, Decision::Allow, "{cmd}");
    }
}

/// The third red-team pass: Claude's own file tools and the payload shapes.
#[test]
fn red_team_file_tools() {
    let env = TestEnv::new();
    let cwd = scratch_repo(&env);
    let home = env.home().to_string_lossy().into_owned();
    std::fs::write(env.project().join(".env"), "SECRET=1\n").unwrap();
    std::fs::create_dir_all(env.home().join(".claude")).unwrap();
    std::os::unix::fs::symlink(env.home().join(".claude/settings.json"), env.project().join("sj")).unwrap();
    let tool = |name: &str, input: serde_json::Value| file_tool(name, input, &cwd);
    let cases: &[(&str, serde_json::Value, Decision)] = &[
        ("Grep", serde_json::json!({"pattern": "SECRET", "path": cwd, "glob": ".e*"}), Decision::Ask),
        ("Grep", serde_json::json!({"pattern": "SECRET", "path": cwd, "glob": "*"}), Decision::Ask),
        ("Grep", serde_json::json!({"pattern": "SECRET", "path": cwd, "type": "sh"}), Decision::Ask),
        ("Grep", serde_json::json!({"pattern": "fn", "path": cwd, "glob": "*.rs"}), Decision::Allow),
        ("Grep", serde_json::json!({"pattern": "fn", "path": cwd}), Decision::Allow),
        ("PowerShell", serde_json::json!({"command": "type ~/.aws/credentials"}), Decision::Ask),
        ("KillShell", serde_json::json!({"shell_id": "1"}), Decision::Ask),
        ("Write", serde_json::json!({"file_path": format!("{cwd}/sj"), "content": "{}"}), Decision::Deny),
        (
            "NotebookEdit",
            serde_json::json!({"notebook_path": format!("{home}/.claude/settings.json"), "file_path": format!("{cwd}/x.ipynb"), "new_source": "x"}),
            Decision::Deny,
        ),
    ];
    for (name, input, want) in cases {
        let v = decide(&tool(name, input.clone()), &home).verdict;
        assert_eq!(v.decision, *want, "{name} {input}: {}", v.reason);
    }
    // A repository's info/exclude re-including .env makes a plain search ask.
    assert_eq!(
        decide(&tool("Grep", serde_json::json!({"pattern": "x", "path": cwd})), &home).verdict.decision,
        Decision::Allow
    );
    std::fs::write(env.project().join(".git/info/exclude"), "!.env\n").unwrap();
    assert_eq!(
        decide(&tool("Grep", serde_json::json!({"pattern": "x", "path": cwd})), &home).verdict.decision,
        Decision::Ask
    );
    assert_eq!(decide(&shell("rg SECRET .", &cwd), &home).verdict.decision, Decision::Ask);
    // ls prints names that xargs opens in the working directory.
    std::fs::create_dir_all(env.project().join("sub")).unwrap();
    std::fs::write(env.project().join("sub/creds"), "").unwrap();
    std::os::unix::fs::symlink(env.home().join(".aws-credentials"), env.project().join("creds")).unwrap();
    assert_eq!(decide(&shell("ls sub | xargs cat", &cwd), &home).verdict.decision, Decision::Ask);
}
