//! git reads against real git, in scratch repositories: every case is first run through git
//! itself to show what it really does (the hook ran, the secret was printed, a fetch was
//! attempted), then decided by the floor with a real disk probe. Hooks: `post-index-change` in
//! the hooks directory git really uses. Committed secrets: the spellings that print a committed
//! `.env`. Partial clones: the reads that fetch missing objects from the promisor remote.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gate::policy::Decision;

use crate::floor::{decide, shell};
use crate::util::TestEnv;

/// Runs git in `dir` with the test's own home and no system config.
fn git_out(env: &TestEnv, dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "protocol.file.allow=always"])
        .args(args)
        .current_dir(dir)
        .env("HOME", env.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .expect("git runs")
}

fn git(env: &TestEnv, dir: &Path, args: &[&str]) {
    let o = git_out(env, dir, args);
    assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// A command line run by sh in `dir`, as the agent would; stdout and stderr together.
fn sh(env: &TestEnv, dir: &Path, line: &str, extra: &[(&str, &str)]) -> String {
    let o = Command::new("sh")
        .args(["-c", line])
        .current_dir(dir)
        .env("HOME", env.home())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PAGER", "cat")
        .env_remove("XDG_CONFIG_HOME")
        .envs(extra.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sh runs");
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn new_repo(env: &TestEnv, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    git(env, dir, &["init", "-q", "-b", "main"]);
}

fn commit_all(env: &TestEnv, dir: &Path, msg: &str) {
    git(env, dir, &["add", "-A"]);
    git(env, dir, &["commit", "-qm", msg]);
}

/// An executable hook that appends its tag to `log`.
fn plant_hook(dir: &Path, tag: &str, log: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let hook = dir.join("post-index-change");
    std::fs::write(&hook, format!("#!/bin/sh\necho {tag} >> '{}'\n", log.display())).unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Makes `file`'s stat data differ from the index, so that git status refreshes (and rewrites) it.
fn stale(file: &Path) {
    let f = std::fs::File::options().write(true).open(file).unwrap();
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000)).unwrap();
}

fn decision(env: &TestEnv, cmd: &str, cwd: &Path) -> (Decision, String) {
    let v = decide(&shell(cmd, &cwd.to_string_lossy()), &env.home().to_string_lossy()).verdict;
    (v.decision, v.reason)
}

#[test]
fn post_index_change_hooks_where_git_really_looks() {
    struct Case {
        name: &'static str,
        /// Sets up under the root (the repository is `r`); returns the directory to run in and the file to make stale.
        setup: fn(&TestEnv, &Path, &Path) -> (PathBuf, PathBuf),
        runs: bool,
    }
    fn base(env: &TestEnv, root: &Path) -> PathBuf {
        let r = root.join("r");
        new_repo(env, &r);
        std::fs::create_dir_all(r.join("sub")).unwrap();
        std::fs::write(r.join("a"), "a\n").unwrap();
        std::fs::write(r.join("sub/s"), "s\n").unwrap();
        commit_all(env, &r, "init");
        r
    }
    let cases: &[Case] = &[
        Case {
            name: "default .git/hooks",
            setup: |env, root, log| {
                let r = base(env, root);
                plant_hook(&r.join(".git/hooks"), "default", log);
                (r.clone(), r.join("a"))
            },
            runs: true,
        },
        Case {
            name: "relative core.hooksPath, run from a subdirectory",
            setup: |env, root, log| {
                let r = base(env, root);
                git(env, &r, &["config", "core.hooksPath", "myhooks"]);
                plant_hook(&r.join("myhooks"), "relative", log);
                (r.join("sub"), r.join("a"))
            },
            runs: true,
        },
        Case {
            name: "absolute core.hooksPath",
            setup: |env, root, log| {
                let r = base(env, root);
                let abs = root.join("abshooks");
                git(env, &r, &["config", "core.hooksPath", &abs.to_string_lossy()]);
                plant_hook(&abs, "absolute", log);
                (r.clone(), r.join("a"))
            },
            runs: true,
        },
        Case {
            name: "~/ core.hooksPath",
            setup: |env, root, log| {
                let r = base(env, root);
                git(env, &r, &["config", "core.hooksPath", "~/th"]);
                plant_hook(&env.home().join("th"), "tilde", log);
                (r.clone(), r.join("a"))
            },
            runs: true,
        },
        Case {
            name: "relative core.hooksPath from the user's ~/.gitconfig",
            setup: |env, root, log| {
                let r = base(env, root);
                std::fs::write(env.home().join(".gitconfig"), "[core]\n\thooksPath = .githooks\n").unwrap();
                plant_hook(&r.join(".githooks"), "global", log);
                (r.clone(), r.join("a"))
            },
            runs: true,
        },
        Case {
            name: "linked worktree: the common dir's hooks",
            setup: |env, root, log| {
                let r = base(env, root);
                let wt = root.join("wt");
                git(env, &r, &["worktree", "add", "-q", &wt.to_string_lossy()]);
                plant_hook(&r.join(".git/hooks"), "common", log);
                (wt.clone(), wt.join("a"))
            },
            runs: true,
        },
        Case {
            name: "submodule's gitdir under .git/modules",
            setup: |env, root, log| {
                let s = root.join("subsrc");
                new_repo(env, &s);
                std::fs::write(s.join("f"), "f\n").unwrap();
                commit_all(env, &s, "s");
                let r = base(env, root);
                git(env, &r, &["submodule", "add", "-q", &s.to_string_lossy(), "mod"]);
                commit_all(env, &r, "add submodule");
                plant_hook(&r.join(".git/modules/mod/hooks"), "submodule", log);
                (r.clone(), r.join("mod/f"))
            },
            runs: true,
        },
        Case {
            name: "husky: core.hooksPath=.husky/_ with commit hooks only",
            setup: |env, root, _| {
                let r = base(env, root);
                git(env, &r, &["config", "core.hooksPath", ".husky/_"]);
                for h in ["pre-commit", "commit-msg", "pre-push"] {
                    std::fs::create_dir_all(r.join(".husky/_")).unwrap();
                    let p = r.join(".husky/_").join(h);
                    std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
                }
                (r.clone(), r.join("a"))
            },
            runs: false,
        },
    ];
    for case in cases {
        let env = TestEnv::new();
        let root = env.project();
        let log = root.join("hook.log");
        let (cwd, file) = (case.setup)(&env, &root, &log);
        stale(&file);
        let _ = std::fs::remove_file(&log);
        // What real git does.
        git(&env, &cwd, &["status", "--porcelain"]);
        assert_eq!(log.exists(), case.runs, "{}: git status ran the hook: {}", case.name, log.exists());
        // What gate decides, for git status and for git diff (which refreshes the index too).
        for cmd in ["git status", "git diff"] {
            let (d, reason) = decision(&env, cmd, &cwd);
            let want = if case.runs { Decision::Ask } else { Decision::Allow };
            assert_eq!(d, want, "{}: {cmd}: {reason}", case.name);
            if case.runs {
                assert!(reason.contains("post-index-change"), "{}: {reason}", case.name);
            }
        }
    }
}

#[test]
fn committed_secrets_in_every_spelling() {
    let env = TestEnv::new();
    let r = env.project().join("s");
    new_repo(&env, &r);
    std::fs::write(r.join(".env"), "SECRET=hunter2\n").unwrap();
    std::fs::write(r.join("a.rs"), "fn a() {}\n").unwrap();
    std::fs::create_dir_all(r.join("conf")).unwrap();
    std::fs::write(r.join("conf/server.pem"), "KEYDATA\n").unwrap();
    std::fs::create_dir_all(r.join("src")).unwrap();
    std::fs::write(r.join("src/m.rs"), "fn m() {}\n").unwrap();
    commit_all(&env, &r, "add env");
    std::fs::write(r.join(".env"), "SECRET=hunter3\n").unwrap();
    std::fs::write(r.join("a.rs"), "fn b() {}\n").unwrap();
    commit_all(&env, &r, "fix: rotate");
    let leaks = [
        "git show HEAD -- .env",
        "git show -- .env",
        "git show HEAD~1 -- '*.pem'",
        "git show HEAD",
        "git show",
        "git show ':/rotate'",
        "git show 'HEAD^{/add env}'",
        "git show :0:.env",
        "git show 'HEAD^{/fix: rotate}:.env'",
        "git log -p .env",
        "git log -p",
        "git log -p -- '*.env'",
        "git log -p -- '.e*'",
        "git log -p -- ':(glob)**/.env*'",
        "git log -p -- conf",
        "git log -L1,1:.env",
        "git log -S hunter2 -p",
        "git diff HEAD~1 HEAD",
        "git diff HEAD~1 HEAD -- '*.env'",
        "git grep hunter HEAD",
        "git grep hunter HEAD~1 -- '*.env'",
        "git grep -e KEY HEAD -- conf",
        "git grep hunter",
        "git grep --cached hunter",
        "git diff-tree -p HEAD",
        "git cat-file -p HEAD:.env",
        "git log -p -- ':(attr:!secret)'",
        "x=.env; git log -p -- \"$x\"",
        "git show \"$(git rev-parse HEAD)\"",
    ];
    for cmd in leaks {
        let out = sh(&env, &r, cmd, &[]);
        assert!(out.contains("hunter") || out.contains("KEYDATA"), "{cmd}: real git did not print the secret:\n{out}");
        let (d, reason) = decision(&env, cmd, &r);
        assert_ne!(d, Decision::Allow, "{cmd} was auto-approved: {reason}");
    }
    // Reads that print no secret still pass, with the secret tracked.
    let fine = [
        "git log --oneline",
        "git log --stat",
        "git status",
        "git log -p -- '*.rs'",
        "git log -p -- src",
        "git diff HEAD~1 HEAD -- a.rs",
        "git show HEAD:a.rs",
        "git show --stat",
        "git blame a.rs",
        "git log -L1,1:a.rs",
        "git grep fn -- '*.rs'",
        "git cat-file -p HEAD",
        "git ls-tree -r HEAD",
    ];
    for cmd in fine {
        let out = sh(&env, &r, cmd, &[]);
        assert!(!out.contains("hunter") && !out.contains("KEYDATA"), "{cmd}: real git printed the secret:\n{out}");
        let (d, reason) = decision(&env, cmd, &r);
        assert_eq!(d, Decision::Allow, "{cmd}: {reason}");
    }
    // With the secret untracked (and ignored), whole-revision reads pass again.
    git(&env, &r, &["rm", "-q", "--cached", ".env", "conf/server.pem"]);
    std::fs::write(r.join(".gitignore"), ".env\n*.pem\n").unwrap();
    commit_all(&env, &r, "untrack secrets");
    for cmd in ["git show", "git log -p -3", "git diff", "git grep fn", "git diff HEAD~1 HEAD -- a.rs"] {
        let (d, reason) = decision(&env, cmd, &r);
        assert_eq!(d, Decision::Allow, "{cmd}: {reason}");
    }
    // Naming the secret still asks: history holds it.
    for cmd in ["git log -p -- .env", "git show HEAD~1:.env", "git log -p -- '*.pem'"] {
        let out = sh(&env, &r, cmd, &[]);
        assert!(out.contains("hunter") || out.contains("KEYDATA"), "{cmd}: real git did not print the secret:\n{out}");
        assert_ne!(decision(&env, cmd, &r).0, Decision::Allow, "{cmd}");
    }
}

#[test]
fn partial_clones_ask_for_reads_that_fetch() {
    let env = TestEnv::new();
    let origin = env.project().join("origin");
    new_repo(&env, &origin);
    git(&env, &origin, &["config", "uploadpack.allowFilter", "true"]);
    git(&env, &origin, &["config", "uploadpack.allowAnySHA1InWant", "true"]);
    for i in 1..=3 {
        std::fs::write(origin.join("f"), format!("v{i}\n")).unwrap();
        commit_all(&env, &origin, &format!("c{i}"));
    }
    // A rename with a change: listing names runs rename detection, which reads both blobs.
    git(&env, &origin, &["mv", "f", "g"]);
    std::fs::write(origin.join("g"), "v3\nv4\n").unwrap();
    commit_all(&env, &origin, "rename");
    let pc = env.project().join("pc");
    let url = format!("file://{}", origin.display());
    git(&env, &env.project(), &["clone", "-q", "--filter=blob:none", &url, &pc.to_string_lossy()]);
    // Break the remote: a fetch attempt now shows in the trace and fails.
    git(&env, &pc, &["config", "remote.origin.url", "file:///nonexistent/origin"]);
    let fetches = |cmd: &str| {
        let out = sh(&env, &pc, cmd, &[("GIT_TRACE", "1")]);
        out.lines().any(|l| l.contains("run_command") && l.contains(" fetch "))
    };
    let rows: &[(&str, bool)] = &[
        ("git log -p", true),
        ("git log --stat", true),
        ("git log --name-only", true),
        ("git show HEAD~1", true),
        ("git show --stat HEAD~1", true),
        ("git diff HEAD~2 HEAD~1", true),
        ("git grep v HEAD~1", true),
        ("git blame g", true),
        ("git log --follow --oneline g", true),
        ("git cat-file -s HEAD~1:f", true),
        ("git ls-tree -l HEAD~1", true),
        ("git status", false),
        ("git log --oneline", false),
        ("git log --oneline -- g", false),
        ("git branch", false),
        ("git describe --always", false),
        ("git shortlog -sn HEAD", false),
        ("git ls-tree HEAD~1", false),
        ("git grep v", false),
    ];
    for &(cmd, fetch) in rows {
        assert_eq!(fetches(cmd), fetch, "{cmd}: real git fetch attempt");
        let (d, reason) = decision(&env, cmd, &pc);
        let want = if fetch { Decision::Ask } else { Decision::Allow };
        assert_eq!(d, want, "{cmd}: {reason}");
        if fetch {
            assert!(reason.contains("partial clone"), "{cmd}: {reason}");
        }
    }
}
