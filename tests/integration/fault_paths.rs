//! The faults of the hook's environment, each against the real `gate hook` and a real
//! SQLite file: a store locked past the busy timeout, a read-only data directory, a full
//! disk (RLIMIT_FSIZE), a damaged database and `gate recover`, SIGKILL in the middle of
//! writes, a missing or unwritable HOME, a stalled stdin, a PostToolUse payload over the
//! size cap, and a closed pipe on stdout. Each must end in exit 2 with one line naming the
//! cause and the fix (never an allow, never a hang), and keep every row already recorded
//! with `gate verify` passing. Every child runs under a deadline and is killed on drop.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::util::{stderr, stdout, TestEnv};

/// A child that is killed if the test ends (or panics) before it does.
struct Guarded(Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Run `cmd` with `input` on stdin (closed after, unless `hold_stdin`), killing it after
/// `limit`. Returns the output and how long it took.
fn run_guarded(mut cmd: Command, input: &[u8], hold_stdin: bool, limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut child = Guarded(child);
    let mut stdin = child.0.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
        if hold_stdin {
            std::thread::sleep(Duration::from_secs(60));
        }
    });
    let mut out = child.0.stdout.take().expect("stdout");
    let mut err = child.0.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut o = Vec::new();
        let _ = out.read_to_end(&mut o);
        o
    });
    let ereader = std::thread::spawn(move || {
        let mut e = Vec::new();
        let _ = err.read_to_end(&mut e);
        e
    });
    let status = loop {
        if let Some(s) = child.0.try_wait().expect("wait") {
            break s;
        }
        assert!(start.elapsed() < limit, "the command hung for {limit:?}: {:?}", cmd);
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = start.elapsed();
    drop(writer);
    let out = Output { status, stdout: reader.join().unwrap(), stderr: ereader.join().unwrap() };
    (out, elapsed)
}

const LIMIT: Duration = Duration::from_secs(40);

/// The hook on its own path, without a resident: these faults are put under
/// that path (and some, like switching the journal mode, need the store
/// closed). The resident's faults are in `resident.rs`.
fn hook_cmd(env: &TestEnv) -> Command {
    let mut c = env.cmd(&["hook"]);
    c.env("GATE_RESIDENT", "off");
    c
}

fn bash(env: &TestEnv, id: &str) -> Vec<u8> {
    let mut v = env.fixture("PreToolUse-Bash-ls");
    v["tool_use_id"] = json!(id);
    v["transcript_path"] = Value::Null;
    v.to_string().into_bytes()
}

/// The deny every fault must end in: exit 2, one line on stderr holding every key word.
fn assert_deny(out: &Output, keys: &[&str], what: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{what}: not a deny: {err} / {}", stdout(out));
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: not one line: {err:?}");
    for k in keys {
        assert!(err.to_lowercase().contains(&k.to_lowercase()), "{what}: {k:?} missing from {err:?}");
    }
}

/// Record `n` allowed calls and return the rows' hashes.
fn seed(env: &TestEnv, n: usize, as_user: Option<u32>) -> Vec<String> {
    for i in 0..n {
        let mut c = hook_cmd(env);
        if let Some(u) = as_user {
            c.uid(u).gid(u);
        }
        let (out, _) = run_guarded(c, &bash(env, &format!("toolu_seed{i}")), false, LIMIT);
        assert_eq!(out.status.code(), Some(0), "seed: {}", stderr(&out));
    }
    hashes(env)
}

fn hashes(env: &TestEnv) -> Vec<String> {
    let conn = rusqlite::Connection::open_with_flags(env.db_path(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the store");
    let mut st = conn.prepare("SELECT hash FROM receipts ORDER BY seq").unwrap();
    let rows = st.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

/// Every row recorded before the fault is still there, in order, and the chain verifies.
fn assert_kept(env: &TestEnv, before: &[String], what: &str) {
    let now = hashes(env);
    assert!(now.len() >= before.len() && now[..before.len()] == *before, "{what}: rows recorded before were lost");
    let v = env.run(&["verify"]);
    assert!(v.status.success(), "{what}: gate verify: {}{}", stdout(&v), stderr(&v));
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

const NOBODY: u32 = 65534;

/// As root, permission bits do not stop a write: run gate as an unprivileged user that owns
/// the test's files instead. Returns that user, or None when the tests already run as one.
pub(crate) fn unprivileged(env: &TestEnv) -> Option<u32> {
    if !is_root() {
        return None;
    }
    chown_tree(env.dir.path(), NOBODY);
    Some(NOBODY)
}

fn chown_tree(p: &Path, uid: u32) {
    std::os::unix::fs::chown(p, Some(uid), Some(uid)).expect("chown");
    if p.is_dir() && !p.is_symlink() {
        for e in std::fs::read_dir(p).unwrap() {
            chown_tree(&e.unwrap().path(), uid);
        }
    }
}

pub(crate) fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn side(db: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", db.display()))
}

#[test]
fn a_store_locked_past_the_busy_timeout_denies_naming_the_lock_and_its_holder() {
    let env = TestEnv::new();
    let before = seed(&env, 2, None);
    let holder = rusqlite::Connection::open(env.db_path()).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (out, took) = run_guarded(hook_cmd(&env), &bash(&env, "toolu_locked"), false, LIMIT);
    assert_deny(&out, &["locked", "gate.db", &format!("process {}", std::process::id())], "locked store");
    assert!(!stderr(&out).contains("no decision in time"), "the watchdog answered: {}", stderr(&out));
    assert!(took < Duration::from_secs(20), "the lock's deny took {took:?}");
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    assert_kept(&env, &before, "locked store");
    let (next, _) = run_guarded(hook_cmd(&env), &bash(&env, "toolu_after"), false, LIMIT);
    assert_eq!(next.status.code(), Some(0), "after the lock: {}", stderr(&next));
}

#[test]
fn a_read_only_data_directory_denies_naming_it() {
    type Setup = fn(&TestEnv);
    let cases: &[(&str, bool, Setup)] = &[
        ("no store yet, directory read-only", false, |env| chmod(&env.gate_home(), 0o555)),
        ("store and directory read-only", true, |env| {
            for s in ["", "-wal", "-shm"] {
                let p = side(&env.db_path(), s);
                if p.exists() {
                    chmod(&p, 0o444);
                }
            }
            chmod(&env.gate_home(), 0o555);
        }),
    ];
    for (what, seeded, setup) in cases {
        let env = TestEnv::new();
        let user = unprivileged(&env);
        let before = if *seeded { seed(&env, 2, user) } else { Vec::new() };
        setup(&env);
        let mut c = hook_cmd(&env);
        if let Some(u) = user {
            c.uid(u).gid(u);
        }
        let (out, _) = run_guarded(c, &bash(&env, "toolu_ro"), false, LIMIT);
        assert_deny(&out, &["not writable", &env.gate_home().display().to_string(), "GATE_HOME"], what);
        chmod(&env.gate_home(), 0o700);
        if *seeded {
            assert_kept(&env, &before, what);
        }
    }
}

/// RLIMIT_FSIZE of `bytes` on the child: a write past it fails (EFBIG) as on a full disk.
fn file_size_limit(c: &mut Command, bytes: u64) {
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        c.pre_exec(move || {
            let lim = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn a_full_disk_or_file_size_limit_denies_and_leaves_the_store_intact() {
    let env = TestEnv::new();
    let before = seed(&env, 3, None);
    // The WAL of the seeded rows is already on disk: let the next write be the one that fails.
    let wal = std::fs::metadata(side(&env.db_path(), "-wal")).map(|m| m.len()).unwrap_or(0);
    for limit in [0, wal] {
        let mut c = hook_cmd(&env);
        file_size_limit(&mut c, limit);
        let (out, _) = run_guarded(c, &bash(&env, "toolu_full"), false, LIMIT);
        assert_deny(&out, &["disk full", "file size limit", "gate.db"], &format!("limit {limit}"));
        assert_kept(&env, &before, &format!("limit {limit}"));
    }
    // And a worker killed by SIGXFSZ (were it not ignored) is still a deny: the supervisor's
    // own receipt write then fails the same way.
    let (next, _) = run_guarded(hook_cmd(&env), &bash(&env, "toolu_after"), false, LIMIT);
    assert_eq!(next.status.code(), Some(0), "after the limit: {}", stderr(&next));
    assert_kept(&env, &before, "after the limit");
}

#[test]
fn a_full_tmpfs_denies_with_disk_full_when_one_can_be_mounted() {
    if !is_root() {
        eprintln!("skipped: mounting a tiny tmpfs needs root; RLIMIT_FSIZE covers the path");
        return;
    }
    let env = TestEnv::new();
    let mnt = env.gate_home();
    let ok = Command::new("mount").args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"]).arg(&mnt).status();
    if !ok.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mount -t tmpfs is not permitted here; RLIMIT_FSIZE covers the path");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());
    let before = seed(&env, 2, None);
    // Fill what is left.
    let filler = mnt.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    let mut done = 0;
    for i in 0..40 {
        let (out, _) = run_guarded(hook_cmd(&env), &bash(&env, &format!("toolu_enospc{i}")), false, LIMIT);
        if out.status.code() == Some(0) {
            continue; // room was left in a page or the WAL; try until the disk refuses.
        }
        assert_deny(&out, &["disk full", "gate.db"], "full tmpfs");
        done += 1;
        break;
    }
    assert_eq!(done, 1, "the full disk was never reported");
    std::fs::remove_file(&filler).unwrap();
    assert_kept(&env, &before, "full tmpfs");
}

/// Corrupt the main file after moving every row into it.
fn checkpoint_into_main_file(env: &TestEnv) {
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    conn.execute_batch("PRAGMA journal_mode=DELETE").unwrap();
}

fn overwrite(p: &Path, at: u64, bytes: &[u8]) {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn a_damaged_store_denies_and_gate_recover_starts_a_new_chain_that_records_the_old_head() {
    type Damage = fn(&Path);
    let cases: &[(&str, Damage)] = &[
        ("garbage header", |p| overwrite(p, 0, &[0x5a; 100])),
        ("garbage in page 2", |p| overwrite(p, 4096, &[0xa5; 4096])),
        ("cut in half", |p| {
            let len = std::fs::metadata(p).unwrap().len();
            std::fs::OpenOptions::new().write(true).open(p).unwrap().set_len(len / 2).unwrap();
        }),
    ];
    for (what, damage) in cases {
        let env = TestEnv::new();
        seed(&env, 40, None);
        // An export signs a checkpoint of the old store: the new chain must not fail on it.
        assert_eq!(env.rows().len(), 40);
        assert!(env.gate_home().join("checkpoints.jsonl").exists());
        checkpoint_into_main_file(&env);
        damage(&env.db_path());
        let (out, _) = run_guarded(hook_cmd(&env), &bash(&env, "toolu_damaged"), false, LIMIT);
        assert_deny(&out, &["damaged", "gate.db", "gate recover"], what);

        let rec = env.run(&["recover"]);
        assert!(rec.status.success(), "{what}: gate recover: {}{}", stdout(&rec), stderr(&rec));
        let moved: Vec<PathBuf> = std::fs::read_dir(env.gate_home())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("gate.db.damaged-"))
            .filter(|p| !p.to_string_lossy().ends_with("-wal") && !p.to_string_lossy().ends_with("-shm"))
            .collect();
        assert_eq!(moved.len(), 1, "{what}: the damaged file is kept beside the new one: {moved:?}");
        assert!(stdout(&rec).contains(&moved[0].display().to_string()), "{what}: {}", stdout(&rec));

        let rows = env.rows();
        assert_eq!(rows.len(), 1, "{what}: {rows:?}");
        assert_eq!(rows[0]["kind"], "recover", "{what}");
        let detail = &rows[0]["detail"];
        assert_eq!(detail["moved_to"], json!(moved[0].file_name().unwrap().to_string_lossy()), "{what}: {detail}");
        assert!(detail.get("previous_head").is_some(), "{what}: the old head (or null) is recorded: {detail}");
        let v = env.run(&["verify"]);
        assert!(v.status.success(), "{what}: gate verify: {}{}", stdout(&v), stderr(&v));
        assert!(stdout(&v).contains("previous store"), "{what}: verify reports on the old file: {}", stdout(&v));

        let (next, _) = run_guarded(hook_cmd(&env), &bash(&env, "toolu_after"), false, LIMIT);
        assert_eq!(next.status.code(), Some(0), "{what}: after recover: {}", stderr(&next));
        let again = env.run(&["recover"]);
        assert!(!again.status.success(), "{what}: recover ran on a healthy store");
        assert!(stderr(&again).contains("--force"), "{what}: {}", stderr(&again));
    }
}

#[test]
fn gate_recover_keeps_the_last_intact_head_it_can_read() {
    let env = TestEnv::new();
    let before = seed(&env, 5, None);
    checkpoint_into_main_file(&env);
    // A page of the index, not of the table: the rows still read.
    let conn = rusqlite::Connection::open(env.db_path()).unwrap();
    let page: i64 =
        conn.query_row("SELECT rootpage FROM sqlite_master WHERE name = 'receipts_ts'", [], |r| r.get(0)).unwrap();
    drop(conn);
    overwrite(&env.db_path(), (page as u64 - 1) * 4096, &[0xff; 4096]);
    let rec = env.run(&["recover", "--force"]);
    assert!(rec.status.success(), "{}{}", stdout(&rec), stderr(&rec));
    let rows = env.rows();
    let head = &rows[0]["detail"]["previous_head"];
    assert_eq!(head["seq"], json!(before.len()), "{head}");
    assert_eq!(head["hash"], json!(before.last().unwrap()), "{head}");
}

#[test]
fn an_agent_cannot_run_gate_recover() {
    let env = TestEnv::new();
    for cmd in ["gate recover", "gate recover --force", "~/.cargo/bin/gate recover"] {
        let out = env.run(&["check", "--json", "--", cmd]);
        let v: Value = serde_json::from_str(&stdout(&out)).expect("json");
        assert_eq!(v["decision"], "deny", "{cmd}: {v}");
        assert_eq!(v["rule"]["id"], "no-gate-control", "{cmd}: {v}");
    }
}

#[test]
fn sigkill_in_the_middle_of_writes_loses_no_committed_row() {
    let env = TestEnv::new();
    let before = seed(&env, 1, None);
    let mut finished = Vec::new();
    for round in 0..6u64 {
        let mut kids = Vec::new();
        for i in 0..8u64 {
            let id = format!("toolu_k{round}_{i}");
            let mut c = hook_cmd(&env);
            c.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
            let mut child = Guarded(c.spawn().unwrap());
            let _ = child.0.stdin.take().unwrap().write_all(&bash(&env, &id));
            kids.push((id, child, i));
        }
        // Kill half of them at spread-out moments of their work.
        let start = Instant::now();
        for (_, child, i) in kids.iter_mut() {
            if *i % 2 == 0 {
                let at = Duration::from_millis((round * 7 + *i * 11) % 40);
                if let Some(wait) = at.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
                // SAFETY: a kill of our own child.
                unsafe { libc::kill(child.0.id() as i32, libc::SIGKILL) };
            }
        }
        for (id, mut child, _) in kids {
            let status = child.0.wait().unwrap();
            if status.code().is_some() {
                assert!(matches!(status.code(), Some(0 | 2)), "{id}: {status:?}");
                finished.push(id);
            }
        }
    }
    assert_kept(&env, &before, "after SIGKILLs");
    let ids = env.sqlite3("SELECT tool_use_id FROM receipts");
    for id in &finished {
        assert!(ids.lines().any(|l| l == id), "{id} answered but its row is gone");
    }
    let (next, _) = run_guarded(hook_cmd(&env), &bash(&env, "toolu_after"), false, LIMIT);
    assert_eq!(next.status.code(), Some(0), "after the kills: {}", stderr(&next));
    assert_kept(&env, &before, "after the next hook");
}

#[test]
fn a_missing_or_unwritable_home_denies_naming_home() {
    type Setup = fn(&TestEnv, &mut Command);
    let cases: &[(&str, Setup)] = &[
        ("HOME unset", |_, c| {
            c.env_remove("HOME");
        }),
        ("HOME empty", |_, c| {
            c.env("HOME", "");
        }),
        ("HOME missing", |env, c| {
            c.env("HOME", env.dir.path().join("no-such-home"));
        }),
        ("HOME a file", |env, c| {
            let f = env.dir.path().join("home-file");
            std::fs::write(&f, "").unwrap();
            c.env("HOME", f);
        }),
        ("HOME not writable", |env, c| {
            chmod(&env.home(), 0o555);
            if let Some(u) = unprivileged(env) {
                c.uid(u).gid(u);
            }
        }),
    ];
    for (what, setup) in cases {
        let env = TestEnv::new();
        let mut c = hook_cmd(&env);
        c.env_remove("GATE_HOME");
        setup(&env, &mut c);
        let (out, _) = run_guarded(c, &bash(&env, "toolu_home"), false, LIMIT);
        assert_deny(&out, &["HOME", "GATE_HOME"], what);
    }
}

#[test]
fn a_stalled_stdin_denies_saying_so_not_that_the_store_is_locked() {
    let env = TestEnv::new();
    let full = bash(&env, "toolu_stall");
    for (what, input) in [("nothing written", &full[..0]), ("half a payload", &full[..full.len() / 2])] {
        let (out, took) = run_guarded(hook_cmd(&env), input, true, LIMIT);
        assert_deny(&out, &["stdin stalled", "denying"], what);
        assert!(!stderr(&out).contains("locked"), "{what}: {}", stderr(&out));
        assert!(took < Duration::from_secs(15), "{what}: took {took:?}");
    }
}

#[test]
fn a_post_tool_use_over_the_size_cap_is_recorded_with_the_large_parts_cut() {
    use sha2::{Digest, Sha256};
    let env = TestEnv::new();
    let before = seed(&env, 1, None);
    let secret = "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";
    let big = format!("token={secret}\n{}", "x".repeat(6 << 20));
    let sha: String = Sha256::digest(big.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let mut v = env.fixture("PostToolUse-Write");
    v["tool_input"]["content"] = json!(big);
    v["tool_response"]["content"] = json!(big);
    let (out, _) = run_guarded(hook_cmd(&env), v.to_string().as_bytes(), false, LIMIT);
    assert_eq!(out.status.code(), Some(0), "the outcome is recorded: {}", stderr(&out));
    let rows = env.rows();
    let last = rows.last().unwrap();
    assert_eq!(last["kind"], "outcome", "{last}");
    let args = last["args"]["content"].as_str().expect("content kept as a string");
    assert!(args.contains(&format!("{} bytes", big.len())) && args.contains(&sha), "{args:.300}");
    assert!(args.len() < 8192, "the large part was cut: {} bytes", args.len());
    assert!(!args.contains(secret), "the kept part is masked: {args:.200}");
    assert!(last["detail"]["cut"].is_array(), "the row says what was cut: {last}");
    assert_kept(&env, &before, "big outcome");

    // Before the call, an oversized payload is still a deny.
    let mut pre = env.fixture("PreToolUse-Write");
    pre["tool_input"]["content"] = json!(big);
    let (out, _) = run_guarded(hook_cmd(&env), pre.to_string().as_bytes(), false, LIMIT);
    assert_deny(&out, &["larger than", "denying"], "big PreToolUse");
}

#[test]
fn a_closed_stdout_pipe_ends_any_command_quietly() {
    let env = TestEnv::new();
    seed(&env, 3, None);
    let commands: &[&[&str]] = &[
        &["check", "--", "git status"],
        &["log"],
        &["log", "--json"],
        &["export"],
        &["export", "--format", "csv"],
        &["--help"],
        &["floor"],
        &["policy", "show"],
        &["verify"],
        &["digest"],
        &["key"],
    ];
    for args in commands {
        // The reader is gone before gate writes a byte.
        let (r, w) = std::io::pipe().unwrap();
        drop(r);
        let mut c = env.cmd(args);
        c.stdout(w);
        let out = run_to_closed_pipe(c, b"");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
    // The hook, though, treats an answer no one reads as a deny.
    let (r, w) = std::io::pipe().unwrap();
    drop(r);
    let mut c = hook_cmd(&env);
    c.stdout(w);
    let out = run_to_closed_pipe(c, &bash(&env, "toolu_pipe"));
    assert_deny(&out, &["cannot write the answer"], "hook with a closed stdout");
}

/// Run `cmd` (its stdout already set) with `input`, under the deadline; stderr captured.
fn run_to_closed_pipe(mut cmd: Command, input: &[u8]) -> Output {
    let start = Instant::now();
    let mut child = Guarded(cmd.stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn"));
    let _ = child.0.stdin.take().expect("stdin").write_all(input);
    let mut err = child.0.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut e = Vec::new();
        let _ = err.read_to_end(&mut e);
        e
    });
    let status = loop {
        if let Some(s) = child.0.try_wait().expect("wait") {
            break s;
        }
        assert!(start.elapsed() < LIMIT, "the command hung: {cmd:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: Vec::new(), stderr: reader.join().unwrap() }
}
