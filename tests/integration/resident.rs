//! The resident decider (`cmd::resident`): after the first call of a context
//! it answers the calls that need no human, and every way it can go away or
//! go wrong (killed, stopped, its store moved or made read-only, a policy
//! edited, a socket that is not gate's) leaves each call answered once, on
//! record, and decided exactly as the hook would decide it alone.

use std::io::Read;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fault_paths::{chmod, unprivileged};
use crate::util::{stderr, stdout, TestEnv};

fn ls_call(env: &TestEnv, id: &str) -> Vec<u8> {
    let mut v = env.fixture("PreToolUse-Bash-ls");
    v["tool_use_id"] = json!(id);
    v["transcript_path"] = Value::Null;
    v.to_string().into_bytes()
}

/// `gate hook` with `input`, as `uid` when given, with GATE_RESIDENT=`mode` when given.
fn hook(env: &TestEnv, input: &[u8], mode: Option<&str>, uid: Option<u32>) -> Output {
    use std::io::Write;
    let mut c = env.cmd(&["hook"]);
    if let Some(m) = mode {
        c.env("GATE_RESIDENT", m);
    }
    if let Some(u) = uid {
        c.uid(u).gid(u);
    }
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().expect("wait")
}

fn allowed(out: &Output, what: &str) {
    assert_eq!(out.status.code(), Some(0), "{what}: {} / {}", stderr(out), stdout(out));
    let v: Value = serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{what}: {e}: {}", stdout(out)));
    assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "allow", "{what}: {v}");
}

/// The resident's socket, once one is listening (at most 10 s after the first call).
fn socket(env: &TestEnv) -> PathBuf {
    let run = env.gate_home().join("run");
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if let Ok(dir) = std::fs::read_dir(&run) {
            for e in dir.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "sock") && UnixStream::connect(&p).is_ok() {
                    return p;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no resident started in {}", run.display());
}

/// The process listening at `sock`.
fn resident_pid(sock: &PathBuf) -> i32 {
    use std::os::fd::AsRawFd;
    let s = UnixStream::connect(sock).expect("connect");
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: SO_PEERCRED writes a ucred of the length passed.
    let rc = unsafe {
        libc::getsockopt(s.as_raw_fd(), libc::SOL_SOCKET, libc::SO_PEERCRED, (&mut cred as *mut libc::ucred).cast(), &mut len)
    };
    assert_eq!(rc, 0);
    cred.pid
}

/// Send `sig` to the resident this test started.
fn signal(pid: i32, sig: i32) {
    // SAFETY: kill only signals the process.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill {pid}");
}

fn decisions(env: &TestEnv) -> Vec<Value> {
    env.rows().into_iter().filter(|r| r["kind"] == "decision").collect()
}

/// Start a resident for `env` with one call, and return its socket.
fn started(env: &TestEnv, uid: Option<u32>) -> PathBuf {
    allowed(&hook(env, &ls_call(env, "toolu_first"), None, uid), "first call");
    socket(env)
}

#[test]
fn the_resident_answers_every_call_after_the_first_and_each_is_on_record() {
    let env = TestEnv::new();
    started(&env, None);
    for i in 0..5 {
        allowed(&hook(&env, &ls_call(&env, &format!("toolu_r{i}")), Some("require"), None), "via the resident");
    }
    let d = decisions(&env);
    assert_eq!(d.len(), 6, "{d:?}");
    assert!(d.iter().all(|r| r["decision"] == "auto-approved" && r["source"] == "floor"), "{d:?}");
    let v = env.run(&["verify"]);
    assert!(v.status.success(), "{}{}", stdout(&v), stderr(&v));
}

#[test]
fn the_resident_checkpoints_the_wal_between_calls() {
    // A passive checkpoint after 32 appends, in the next gap between calls
    // (or 50 ms later): the WAL then starts again from its beginning, so
    // calls one after another never let it hold much more than 32 calls'
    // pages (64 when a slow disk makes a checkpoint miss the calls that came
    // while it ran).
    let env = TestEnv::new();
    started(&env, None);
    let wal = env.db_path().with_file_name("gate.db-wal");
    let size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let call = |i: usize| allowed(&hook(&env, &ls_call(&env, &format!("toolu_w{i}")), Some("require"), None), "resident");
    for i in 0..4 {
        call(i);
    }
    let before = size();
    for i in 4..12 {
        call(i);
    }
    let per_call = (size() - before) / 8;
    assert!(per_call > 0, "the WAL did not grow with calls: {before} bytes");
    let mut biggest = 0;
    for i in 12..160 {
        call(i);
        biggest = biggest.max(size());
    }
    assert!(
        biggest < 100 * per_call,
        "the WAL reached {biggest} bytes, {} calls' worth ({per_call} bytes a call), over 160 calls",
        biggest / per_call
    );
    assert_eq!(decisions(&env).len(), 161);
}

/// The WAL header's checkpoint sequence number and salts (bytes 12-24),
/// which change exactly when the WAL starts over from its beginning; `None`
/// while the WAL is empty.
fn wal_generation(env: &TestEnv) -> Option<Vec<u8>> {
    let wal = std::fs::read(env.db_path().with_file_name("gate.db-wal")).unwrap_or_default();
    wal.get(12..24).map(<[u8]>::to_vec)
}

#[test]
fn the_wal_starts_over_between_calls_not_inside_one() {
    // After a checkpoint that copied the whole WAL, the next write starts
    // the WAL over and, under synchronous=NORMAL, fsyncs its header. The
    // resident does that write itself, in the gap after its checkpoint, so
    // no call pays for that fsync inside the resident's turn at the store.
    // Past the 32nd append a pause follows each call, long enough for the
    // checkpoint and the start-over to happen in it.
    let env = TestEnv::new();
    started(&env, None);
    let mut restarts_in_calls = Vec::new();
    let mut generations = std::collections::BTreeSet::new();
    for i in 0..48 {
        let before = wal_generation(&env);
        allowed(&hook(&env, &ls_call(&env, &format!("toolu_g{i}")), Some("require"), None), "via the resident");
        let after = wal_generation(&env);
        if before.is_some() && before != after {
            restarts_in_calls.push(i);
        }
        generations.extend(after);
        if i >= 24 {
            std::thread::sleep(Duration::from_millis(250));
            generations.extend(wal_generation(&env));
        }
    }
    assert!(generations.len() > 1, "the WAL never started over in 48 calls: no checkpoint ran");
    assert_eq!(restarts_in_calls, Vec::<usize>::new(), "these calls started the WAL over themselves");
    assert_eq!(decisions(&env).len(), 49);
    let v = env.run(&["verify"]);
    assert!(v.status.success(), "{}{}", stdout(&v), stderr(&v));
}

#[test]
fn a_policy_written_while_the_resident_runs_decides_the_next_call() {
    let env = TestEnv::new();
    started(&env, None);
    std::fs::write(
        env.gate_home().join("policy.toml"),
        "[[rule]]\nid = \"no-ls-here\"\ndecision = \"deny\"\ncommand = \"ls\"\nmessage = \"not ls\"\n",
    )
    .unwrap();
    let out = hook(&env, &ls_call(&env, "toolu_after_edit"), Some("require"), None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "deny", "{v}");
    assert!(v.to_string().contains("no-ls-here"), "{v}");
}

#[test]
fn a_store_removed_under_the_resident_is_created_again_not_written_through() {
    let env = TestEnv::new();
    started(&env, None);
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", env.db_path().display()));
    }
    allowed(&hook(&env, &ls_call(&env, "toolu_new_store"), Some("require"), None), "after the store went");
    let rows = env.rows();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0]["seq"].clone(), rows[0]["tool_use_id"].clone()), (json!(1), json!("toolu_new_store")));
}

#[test]
fn a_store_made_read_only_under_the_resident_is_refused_by_the_hook_itself() {
    let env = TestEnv::new();
    let Some(user) = unprivileged(&env) else { return }; // as root nothing is read-only
    started(&env, Some(user));
    for s in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{s}", env.db_path().display()));
        if p.exists() {
            chmod(&p, 0o444);
        }
    }
    chmod(&env.gate_home(), 0o555);
    let out = hook(&env, &ls_call(&env, "toolu_ro"), None, Some(user));
    chmod(&env.gate_home(), 0o700);
    assert_eq!(out.status.code(), Some(2), "{} / {}", stderr(&out), stdout(&out));
    assert!(stderr(&out).contains("not writable"), "{}", stderr(&out));
    assert_eq!(decisions(&env).len(), 1, "the resident wrote through a read-only store");
}

#[test]
fn a_killed_resident_costs_nothing_and_the_next_call_starts_another() {
    let env = TestEnv::new();
    let sock = started(&env, None);
    let pid = resident_pid(&sock);
    signal(pid, libc::SIGKILL);
    std::thread::sleep(Duration::from_millis(100));
    allowed(&hook(&env, &ls_call(&env, "toolu_after_kill"), None, None), "after the kill");
    let again = socket(&env);
    assert_ne!(resident_pid(&again), pid);
    allowed(&hook(&env, &ls_call(&env, "toolu_new_resident"), Some("require"), None), "the new resident");
    assert_eq!(decisions(&env).len(), 3);
}

#[test]
fn a_stopped_resident_is_waited_for_a_few_seconds_and_records_nothing_late() {
    let env = TestEnv::new();
    let sock = started(&env, None);
    let pid = resident_pid(&sock);
    signal(pid, libc::SIGSTOP);
    let t = Instant::now();
    let out = hook(&env, &ls_call(&env, "toolu_while_stopped"), None, None);
    let took = t.elapsed();
    signal(pid, libc::SIGCONT);
    allowed(&out, "while the resident was stopped");
    assert!(took < Duration::from_secs(15), "waited {took:?}");
    // The resident now reads the call it was sent, too late to start it.
    std::thread::sleep(Duration::from_millis(500));
    allowed(&hook(&env, &ls_call(&env, "toolu_resumed"), Some("require"), None), "after it resumed");
    let ids: Vec<Value> = decisions(&env).iter().map(|r| r["tool_use_id"].clone()).collect();
    assert_eq!(ids, [json!("toolu_first"), json!("toolu_while_stopped"), json!("toolu_resumed")]);
}

#[test]
fn a_socket_that_is_not_gates_is_told_nothing() {
    let env = TestEnv::new();
    let sock = started(&env, None);
    signal(resident_pid(&sock), libc::SIGKILL);
    std::thread::sleep(Duration::from_millis(100));
    std::fs::remove_file(&sock).unwrap();
    // This test's own process listens there: another binary than gate.
    let fake = UnixListener::bind(&sock).unwrap();
    let heard = std::thread::spawn(move || {
        let (mut s, _) = fake.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        got
    });
    allowed(&hook(&env, &ls_call(&env, "toolu_fake"), None, None), "beside a fake resident");
    assert!(heard.join().unwrap().is_empty(), "the payload went to a process that is not gate");
    assert_eq!(decisions(&env).len(), 2);
}

#[test]
fn turned_off_no_resident_starts() {
    let env = TestEnv::new();
    for i in 0..2 {
        allowed(&hook(&env, &ls_call(&env, &format!("toolu_off{i}")), Some("off"), None), "off");
    }
    std::thread::sleep(Duration::from_millis(300));
    let run = env.gate_home().join("run");
    let sockets = std::fs::read_dir(&run).map(|d| d.count()).unwrap_or(0);
    assert_eq!(sockets, 0, "{}", run.display());
    let out = hook(&env, &ls_call(&env, "toolu_required"), Some("require"), None);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("no resident answered"), "{}", stderr(&out));
}
