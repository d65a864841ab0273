//! The resident decider: a process that keeps what every hook call would
//! otherwise rebuild (the loaded binary, the decoded floor, an open SQLite
//! connection with its schema parsed) and answers the calls it can answer
//! alone. `gate hook` asks it first over a Unix socket in gate's data
//! directory; a call the resident cannot finish alone (a human must be
//! asked, the payload is bad, the store refuses the row), a resident that
//! is not there, not ours, or stops answering, all send the hook down its
//! own full path, which is unchanged and has its own fault handling. So the
//! resident can only make a call faster, never decide it differently, and
//! never leave it unanswered.
//!
//! One resident serves one context: the same gate binary, user, working
//! directory, file-size limit and environment. The socket's name is a hash
//! of that context, and the resident also compares the whole context a hook
//! sends with its own, byte for byte, so every environment variable gate
//! reads means the same in the resident as in the hook. The first call in a
//! new context starts one, after it has answered; it exits after
//! [`IDLE`] without a call, or as soon as its socket or data directory is
//! gone. `GATE_RESIDENT=off` turns it off. Design and figures:
//! `docs/perf.md`.

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::paths::Paths;
use crate::store::{Checkpointed, Store};

/// A resident with no call for this long exits.
pub const IDLE: Duration = Duration::from_secs(600);

/// How long a hook waits for the resident's answer before it decides the
/// call itself. The resident's own work is bounded far below it.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// A resident starts a call, and takes its turn at the store for it, only
/// this soon after the hook sent it, well inside [`ANSWER_WITHIN`] (the
/// append after it waits at most [`RESIDENT_BUSY`]): a resident that was
/// stopped, starved or held up by a slow disk must not record a call the
/// hook has meanwhile decided itself.
const START_WITHIN: Duration = Duration::from_secs(3);

/// The resident's SQLite busy timeout: a store locked longer than this is
/// left to the hook's own path (and its own, longer, busy timeout).
const RESIDENT_BUSY: Duration = Duration::from_secs(2);

/// The most residents one data directory runs at once.
const MAX_RESIDENTS: usize = 16;

/// The first bytes of a request; a resident of another version would not
/// read it.
const MAGIC: &[u8; 8] = b"gate-r2\n";

/// The parts of a request after the magic: when it must start by, the
/// context, the agent's name and the payload.
const REQUEST_PARTS: usize = 4;

/// The largest reply a hook reads: an answer is a few kilobytes.
const MAX_REPLY: usize = 1 << 20;

/// The largest request a resident reads (a payload within the hook's cap,
/// and the context).
const MAX_REQUEST: usize = crate::hook::MAX_PAYLOAD + (1 << 20);

/// The resident's answer: stdout text and exit code, as the hook would print them.
pub struct Answer {
    pub stdout: String,
    pub code: u8,
}

/// Everything a hook and its resident must share for the resident's answer
/// to be the hook's own: the binary, the user, the working directory, the
/// file-size limit, and every environment variable (sorted).
struct Context {
    bytes: Vec<u8>,
}

impl Context {
    fn of_this_process() -> Option<Context> {
        let exe = crate::identity::Binary::running()?;
        let cwd = std::env::current_dir().ok()?;
        let mut fsize = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes into the struct passed.
        unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut fsize) };
        let mut b = Vec::with_capacity(4096);
        // SAFETY: geteuid cannot fail.
        let uid = unsafe { libc::geteuid() };
        for n in [exe.dev, exe.ino, exe.size, exe.mtime as u64, exe.mtime_nsec as u64, uid as u64] {
            b.extend_from_slice(&n.to_le_bytes());
        }
        b.extend_from_slice(&(fsize.rlim_cur as u64).to_le_bytes());
        b.extend_from_slice(cwd.as_os_str().as_bytes());
        b.push(0);
        // `_` is the shell's last command line, which gate never reads;
        // GATE_RESIDENT is read by the hook alone, before it asks.
        let mut vars: Vec<(std::ffi::OsString, std::ffi::OsString)> =
            std::env::vars_os().filter(|(k, _)| k.as_bytes() != b"_" && k.as_bytes() != b"GATE_RESIDENT").collect();
        vars.sort();
        for (k, v) in vars {
            b.extend_from_slice(k.as_bytes());
            b.push(b'=');
            b.extend_from_slice(v.as_bytes());
            b.push(0);
        }
        Some(Context { bytes: b })
    }

    /// The socket's file name: a hash of the context. Only a meeting
    /// place, not a check (the resident compares the whole context, and the
    /// hook checks the resident's user and binary), so a fast keyless hash
    /// does: std's `DefaultHasher::new()`, which has fixed keys, so it is
    /// the same in every process of one binary (and the binary is part of
    /// the context). SHA-256 would cost a hook's start its CPU feature
    /// probe, a trap to the hypervisor on a virtual machine (`docs/perf.md`).
    fn socket_name(&self) -> String {
        use std::hash::Hasher;
        let mut hex = String::with_capacity(32);
        for lane in [b'a', b'b'] {
            let mut h = std::hash::DefaultHasher::new();
            h.write_u8(lane);
            h.write(&self.bytes);
            hex.push_str(&format!("{:016x}", h.finish()));
        }
        format!("r-{}.sock", &hex[..24])
    }
}

/// The directory of the residents' sockets and locks (mode 0700).
fn run_dir(paths: &Paths) -> PathBuf {
    paths.data_dir.join("run")
}

/// Is the resident turned off in this environment? Also off while a test
/// injects a crash into the hook's own path.
fn turned_off() -> bool {
    std::env::var_os("GATE_RESIDENT").is_some_and(|v| v == "off" || v == "0")
        || std::env::var_os("GATE_TEST_CRASH").is_some()
}

/// `GATE_RESIDENT=require`: a call the resident does not answer is denied
/// instead of decided by the hook itself (for tests and benchmarks that
/// must know which path answered).
pub fn required() -> bool {
    std::env::var_os("GATE_RESIDENT").is_some_and(|v| v == "require")
}

/// What the hook learned when it asked: the answer, or where a resident
/// should be started after the hook has answered itself.
pub enum Asked {
    Answered(Answer),
    /// No resident listens at this socket: start one.
    NoneThere(PathBuf),
    /// A resident is there but cannot answer this call (or is not ours).
    Declined,
}

/// Ask the resident of this context to answer the call. `None` when it is
/// turned off or the context cannot be read.
pub fn ask(paths: &Paths, agent: Option<&str>, raw: &[u8]) -> Option<Asked> {
    if turned_off() {
        return None;
    }
    let ctx = Context::of_this_process()?;
    let sock = run_dir(paths).join(ctx.socket_name());
    let mut stream = match UnixStream::connect(&sock) {
        Ok(s) => s,
        Err(_) => return Some(Asked::NoneThere(sock)),
    };
    if !peer_is_this_binary(&stream) {
        return Some(Asked::Declined);
    }
    let _ = stream.set_read_timeout(Some(ANSWER_WITHIN));
    let _ = stream.set_write_timeout(Some(ANSWER_WITHIN));
    let agent = agent.unwrap_or("").as_bytes();
    // A call the resident has not started by then is left to this hook,
    // which by then may be deciding it itself.
    let start_by = (crate::clock::now_ms() + START_WITHIN.as_millis() as i64).to_le_bytes();
    if stream.write_all(&encode_request([&start_by, &ctx.bytes, agent, raw])).is_err() {
        return Some(Asked::Declined);
    }
    let Some(reply) = read_framed(&mut stream, 4 * 1024, reply_len) else {
        return Some(Asked::Declined);
    };
    Some(match parse_reply(&reply[4..]) {
        Some(a) => Asked::Answered(a),
        None => Asked::Declined,
    })
}

/// How long a message is, from its first bytes: `Some(Ok(n))` once known,
/// `Some(Err(()))` when it cannot be one, `None` until enough has come.
type Framing = Option<Result<usize, ()>>;

/// Read one message whose length `framing` tells, and no more: neither side
/// waits for the other to close or shut down its end, which would take one
/// more wake-up of each process in every call.
fn read_framed(conn: &mut UnixStream, room: usize, framing: impl Fn(&[u8]) -> Framing) -> Option<Vec<u8>> {
    // `room`: enough for a usual message, so that it takes one read.
    let mut buf = vec![0u8; room.max(16)];
    let mut have = 0;
    loop {
        match framing(&buf[..have]) {
            Some(Ok(whole)) if have == whole => {
                buf.truncate(whole);
                return Some(buf);
            }
            Some(Ok(whole)) if have < whole => buf.resize(buf.len().max(whole), 0),
            Some(_) => return None,
            None if have == buf.len() => buf.resize(buf.len() * 2, 0),
            None => {}
        }
        match conn.read(&mut buf[have..]) {
            Ok(0) => return None,
            Ok(n) => have += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// A request as [`request_len`] reads it.
fn encode_request(parts: [&[u8]; REQUEST_PARTS]) -> Vec<u8> {
    let mut req = Vec::with_capacity(MAGIC.len() + parts.iter().map(|p| 4 + p.len()).sum::<usize>());
    req.extend_from_slice(MAGIC);
    for part in parts {
        req.extend_from_slice(&(part.len() as u32).to_le_bytes());
        req.extend_from_slice(part);
    }
    req
}

/// A reply as [`reply_len`] reads it.
fn encode_reply(body: &[u8]) -> Vec<u8> {
    let mut reply = Vec::with_capacity(4 + body.len());
    reply.extend_from_slice(&(body.len() as u32).to_le_bytes());
    reply.extend_from_slice(body);
    reply
}

/// A reply's length: a 4-byte length, then that many bytes.
fn reply_len(b: &[u8]) -> Framing {
    let len = u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize;
    Some(if len <= MAX_REPLY { Ok(4 + len) } else { Err(()) })
}

/// A request's length: the magic, then [`REQUEST_PARTS`] parts, each a
/// 4-byte length and its bytes.
fn request_len(b: &[u8]) -> Framing {
    if !MAGIC.starts_with(&b[..b.len().min(MAGIC.len())]) {
        return Some(Err(()));
    }
    let mut at = MAGIC.len();
    for _ in 0..REQUEST_PARTS {
        let len = u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
        at = match at.checked_add(4 + len) {
            Some(end) if end <= MAX_REQUEST => end,
            _ => return Some(Err(())),
        };
    }
    Some(Ok(at))
}

/// `A`, the exit code, then the stdout text; anything else (`L`, an empty
/// or cut reply) means "decide it yourself".
fn parse_reply(reply: &[u8]) -> Option<Answer> {
    match reply {
        [b'A', code @ (0 | 2), rest @ ..] => Some(Answer { stdout: String::from_utf8(rest.to_vec()).ok()?, code: *code }),
        _ => None,
    }
}

/// The peer is a process of this user running this very binary (the same
/// file), so it decides by the same code.
fn peer_is_this_binary(stream: &UnixStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: SO_PEERCRED writes a ucred of the length passed.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    // SAFETY: geteuid cannot fail.
    if rc != 0 || cred.uid != unsafe { libc::geteuid() } || cred.pid <= 0 {
        return false;
    }
    use crate::identity::Binary;
    match (Binary::running(), Binary::at(Path::new(&format!("/proc/{}/exe", cred.pid)))) {
        (Some(me), Some(peer)) => (me.dev, me.ino) == (peer.dev, peer.ino),
        _ => false,
    }
}

/// Start a resident for the socket `sock`, detached from the hook (its own
/// session, /dev/null for stdio, no other descriptor of the agent's), unless
/// the data directory already runs [`MAX_RESIDENTS`]. Called after the hook
/// has written its answer; a failure only means the next call starts one.
pub fn start(sock: &Path) {
    use std::os::unix::process::CommandExt;
    let Some(dir) = sock.parent() else { return };
    let running = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).filter(|e| e.file_name().as_bytes().ends_with(b".sock")).count())
        .unwrap_or(0);
    if running >= MAX_RESIDENTS {
        return;
    }
    let Ok(exe) = std::fs::read_link("/proc/self/exe") else { return };
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("resident")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            Ok(())
        });
    }
    // Not waited for: the hook exits next, and the resident is reparented.
    let _ = cmd.spawn();
}

/// `gate resident`: serve this context's socket until idle. Started by a
/// hook; not meant to be run by hand (and harmless when it is).
pub fn serve() -> std::process::ExitCode {
    // Started by a hook pinned to one CPU: run anywhere.
    super::fault::unpin_all();
    // A panic in one call must not print anywhere or end the resident.
    std::panic::set_hook(Box::new(|_| {}));
    let Some(resident) = Resident::bind() else { return std::process::ExitCode::SUCCESS };
    let resident = std::sync::Arc::new(resident);
    crate::engine::prepare(&resident.paths);
    crate::redact::prepare();
    let checkpoints = Checkpointer::start(resident.clone());
    for i in 0..workers() {
        let (r, c) = (resident.clone(), checkpoints.clone());
        let worker = std::thread::Builder::new()
            .name(format!("gate-resident-{i}"))
            .stack_size(super::fault::WORKER_STACK)
            .spawn(move || r.work(&c));
        if worker.is_err() && i == 0 {
            resident.leave();
            return std::process::ExitCode::FAILURE;
        }
    }
    resident.watch(&checkpoints);
    resident.leave();
    std::process::ExitCode::SUCCESS
}

/// How many calls a resident decides at once, each on a thread of its own
/// (one per CPU, two to four); they take turns at the one connection to
/// record them.
fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4)
}

/// Appends after which the WAL is checkpointed (without blocking writers).
const CHECKPOINT_EVERY: u32 = 32;

/// A checkpoint waits for a gap between calls this long (no call in flight,
/// none started), so that its copying and fsyncs, and the WAL's start-over
/// after it, do not compete with a burst of calls for the CPU, the disk and
/// the store.
const GAP: Duration = Duration::from_millis(1);

/// A checkpoint waits at most this long for a [`GAP`]: calls that keep
/// coming without one are checkpointed between anyway.
const GAP_WAIT_AT_MOST: Duration = Duration::from_millis(50);

/// A bound socket and what it serves.
struct Resident {
    paths: Paths,
    ctx: Context,
    sock: PathBuf,
    listener: UnixListener,
    /// The socket file this resident bound (a newer resident may replace it).
    bound: (u64, u64),
    /// Held for the resident's life: one resident per socket.
    _lock: std::fs::File,
    /// When the last call came, in microseconds since the resident started.
    last_call: std::sync::atomic::AtomicU64,
    /// Calls being served now.
    in_flight: std::sync::atomic::AtomicU32,
    started: Instant,
    /// The one open store, taken in turns by the workers.
    store: std::sync::Mutex<Slot>,
}

/// The resident's store, as [`super::hook::HeldStore`].
struct Slot {
    paths: Paths,
    held: Option<Held>,
}

impl super::hook::HeldStore for Slot {
    fn store(&mut self) -> Option<&mut Store> {
        held_store(&self.paths, &mut self.held).map(|h| &mut h.store)
    }
}

impl Resident {
    fn bind() -> Option<Resident> {
        let paths = Paths::from_env().ok()?;
        let ctx = Context::of_this_process()?;
        let dir = run_dir(&paths);
        // The hook that started this one has just recorded its call there:
        // a data directory gone meanwhile (removed by its user, or by a test
        // that has ended) has nothing to serve, and is not made again here.
        if !paths.data_dir.is_dir() {
            return None;
        }
        if !dir.is_dir() {
            use std::os::unix::fs::DirBuilderExt;
            // Not recursive: nor if the data directory goes right now.
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return None,
                _ => {}
            }
        }
        let sock = dir.join(ctx.socket_name());
        let lock_path = sock.with_extension("lock");
        let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).ok()?;
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return None; // another resident serves this context
        }
        let _ = std::fs::remove_file(&sock);
        let listener = UnixListener::bind(&sock).ok()?;
        let m = std::fs::metadata(&sock).ok()?;
        Some(Resident {
            ctx,
            sock,
            listener,
            bound: (m.dev(), m.ino()),
            _lock: lock,
            last_call: std::sync::atomic::AtomicU64::new(0),
            in_flight: std::sync::atomic::AtomicU32::new(0),
            started: Instant::now(),
            store: std::sync::Mutex::new(Slot { paths: paths.clone(), held: None }),
            paths,
        })
    }

    /// Every second: end the resident once it has been idle for [`IDLE`],
    /// or its socket or data directory is gone; checkpoint a quiet WAL.
    fn watch(&self, checkpoints: &Checkpointer) {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let ours = std::fs::metadata(&self.sock).is_ok_and(|m| (m.dev(), m.ino()) == self.bound);
            let quiet = self.quiet_for();
            if !ours || quiet > IDLE || !self.paths.data_dir.is_dir() {
                return;
            }
            if quiet > Duration::from_secs(2) {
                checkpoints.quiet();
            }
        }
    }

    /// How long since the last call came.
    fn quiet_for(&self) -> Duration {
        let now = self.started.elapsed().as_micros() as u64;
        Duration::from_micros(now.saturating_sub(self.last_call.load(std::sync::atomic::Ordering::Relaxed)))
    }

    /// Wait, at most [`GAP_WAIT_AT_MOST`], for a gap between calls: none in
    /// flight, and none started for [`GAP`].
    fn wait_for_a_gap(&self) {
        let until = Instant::now() + GAP_WAIT_AT_MOST;
        loop {
            let quiet = self.quiet_for();
            let idle = self.in_flight.load(std::sync::atomic::Ordering::SeqCst) == 0;
            if (idle && quiet >= GAP) || Instant::now() >= until {
                return;
            }
            std::thread::sleep(if idle { GAP - quiet } else { GAP / 4 });
        }
    }

    /// Remove the socket, unless another resident has taken the name.
    fn leave(&self) {
        if std::fs::metadata(&self.sock).is_ok_and(|m| (m.dev(), m.ino()) == self.bound) {
            let _ = std::fs::remove_file(&self.sock);
        }
    }

    /// One worker: take calls, one at a time, with a store of its own.
    fn work(&self, checkpoints: &Checkpointer) {
        for conn in self.listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            self.in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let since = self.started.elapsed().as_micros() as u64;
            self.last_call.store(since, std::sync::atomic::Ordering::Relaxed);
            let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = conn.set_write_timeout(Some(Duration::from_secs(2)));
            let mut appended = false;
            let reply = match read_request(&mut conn, &self.ctx) {
                Some((agent, raw, start_by)) => {
                    let in_time = || crate::clock::now_ms() <= start_by;
                    let answered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        super::hook::answer_alone(&self.paths, agent.as_deref(), &raw, &self.store, &in_time)
                    }));
                    match answered {
                        Ok(Some(a)) => {
                            appended = true;
                            let mut r = vec![b'A', a.code];
                            r.extend_from_slice(a.stdout.as_bytes());
                            r
                        }
                        Ok(None) => b"L".to_vec(),
                        Err(_) => {
                            // Whatever it was in the middle of is rolled back with the connection.
                            self.store.lock().unwrap_or_else(|e| e.into_inner()).held = None;
                            b"L".to_vec()
                        }
                    }
                }
                None => b"L".to_vec(),
            };
            let _ = conn.write_all(&encode_reply(&reply));
            drop(conn);
            self.in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            if appended {
                checkpoints.appended();
            }
        }
    }
}

/// The resident's checkpoints, on a thread and a connection of their own,
/// so that no call waits for one: a passive checkpoint (which never blocks
/// a writer) after [`CHECKPOINT_EVERY`] appends, in the next gap between
/// calls, and a truncating one once the resident is quiet. A checkpoint
/// that copied the whole WAL is followed by the WAL's start-over
/// ([`Store::rewind_wal`]), so that the fsync that comes with it is not
/// paid inside the next call.
#[derive(Clone)]
struct Checkpointer {
    tx: std::sync::mpsc::SyncSender<bool>,
    appends: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl Checkpointer {
    fn start(resident: std::sync::Arc<Resident>) -> Checkpointer {
        let (tx, rx) = std::sync::mpsc::sync_channel::<bool>(1);
        std::thread::spawn(move || {
            let mut store: Option<Held> = None;
            let mut truncated = true;
            while let Ok(truncate) = rx.recv() {
                if truncate && truncated {
                    continue;
                }
                if !truncate {
                    resident.wait_for_a_gap();
                }
                let Some(held) = held_store(&resident.paths, &mut store) else { continue };
                let copied = if truncate { held.store.checkpoint_now() } else { held.store.checkpoint_passive() };
                // The rest in the workers' turn at the store, as a call's
                // append would have done it: a call that comes meanwhile
                // decides in parallel and waits for the turn, not in
                // SQLite's busy handler (which sleeps a millisecond or more
                // per try). Calls that appended while the checkpoint ran
                // left the WAL's end uncopied: that end is copied now, when
                // none can append, so calls that keep coming cannot keep
                // the WAL from starting over.
                let _turn = resident.store.lock().unwrap_or_else(|e| e.into_inner());
                let copied = match copied {
                    Checkpointed::All => Checkpointed::All,
                    Checkpointed::Part => held.store.checkpoint_passive(),
                };
                if copied == Checkpointed::All {
                    held.store.rewind_wal();
                }
                truncated = truncate;
            }
        });
        Checkpointer { tx, appends: Default::default() }
    }

    /// One more append.
    fn appended(&self) {
        use std::sync::atomic::Ordering;
        let n = self.appends.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= CHECKPOINT_EVERY {
            self.appends.store(0, Ordering::Relaxed);
            let _ = self.tx.try_send(false);
        }
    }

    fn quiet(&self) {
        let _ = self.tx.try_send(true);
    }
}

/// The store the resident holds open, and which file it is.
struct Held {
    store: Store,
    dev: u64,
    ino: u64,
}

/// The open store, opened again when the file at its path is another one
/// (moved aside by `gate recover`, deleted) or none was open. `None` when
/// the store or its directory is no longer writable by this user: an open
/// descriptor would still write, but the hook's own path must report it.
fn held_store<'a>(paths: &Paths, slot: &'a mut Option<Held>) -> Option<&'a mut Held> {
    let db = paths.db();
    let now = std::fs::metadata(&db).ok().map(|m| (m.dev(), m.ino()));
    if slot.as_ref().is_some_and(|h| Some((h.dev, h.ino)) != now) {
        *slot = None;
    }
    if slot.is_some() && !(writable(&db) && writable(&paths.data_dir)) {
        return None;
    }
    if slot.is_none() {
        paths.ensure_dirs().ok()?;
        let mut store = Store::open(&db).ok()?;
        store.set_busy_timeout(RESIDENT_BUSY).ok()?;
        store.plan_once().ok()?;
        store.hand_off_checkpoint();
        let m = std::fs::metadata(&db).ok()?;
        *slot = Some(Held { store, dev: m.dev(), ino: m.ino() });
    }
    slot.as_mut()
}

fn writable(p: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else { return false };
    // SAFETY: a NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

/// Read one request: the agent's name, the payload, and when the call must
/// have started by (milliseconds). `None` (decline) when it is malformed,
/// late, or its context is not exactly this resident's.
fn read_request(conn: &mut UnixStream, ctx: &Context) -> Option<(Option<String>, Vec<u8>, i64)> {
    let buf = read_framed(conn, 32 * 1024, request_len)?;
    let rest = buf.strip_prefix(MAGIC.as_slice())?;
    let (start_by, rest) = take_part(rest)?;
    let start_by = i64::from_le_bytes(start_by.try_into().ok()?);
    if crate::clock::now_ms() > start_by {
        return None;
    }
    let (context, rest) = take_part(rest)?;
    let (agent, rest) = take_part(rest)?;
    let (raw, rest) = take_part(rest)?;
    if !rest.is_empty() || context != ctx.bytes.as_slice() {
        return None;
    }
    let agent = (!agent.is_empty()).then(|| String::from_utf8(agent.to_vec())).transpose().ok()?;
    Some((agent, raw.to_vec(), start_by))
}

fn take_part(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let part = b.get(4..4 + len)?;
    Some((part, &b[4 + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_an_answer_only_when_whole() {
        let cases: &[(&[u8], Option<(u8, &str)>)] = &[
            (b"A\x00{}", Some((0, "{}"))),
            (b"A\x02", Some((2, ""))),
            (b"L", None),
            (b"", None),
            (b"A", None),
            (b"A\x01{}", None),
            (b"A\x00\xff", None),
        ];
        for (reply, want) in cases {
            let got = parse_reply(reply).map(|a| (a.code, a.stdout));
            assert_eq!(got.as_ref().map(|(c, s)| (*c, s.as_str())), *want, "{reply:?}");
        }
    }

    #[test]
    fn a_request_length_is_known_once_every_part_length_has_come() {
        let whole = encode_request([b"12345678", b"ctx", b"", b"{}"]);
        // The last part's length says more than any request may hold.
        let mut huge = encode_request([b"12345678", b"ctx", b"", b""]);
        huge.truncate(huge.len() - 4);
        huge.extend_from_slice(&(MAX_REQUEST as u32).to_le_bytes());
        let cases: Vec<(&str, &[u8], Framing)> = vec![
            ("nothing yet", b"", None),
            ("part of the magic", b"gate-", None),
            ("another version", b"gate-r1\n", Some(Err(()))),
            ("not a request", b"GET / HTTP/1.1", Some(Err(()))),
            ("before the last part's length", &whole[..whole.len() - 2 - 4], None),
            ("all but the last byte", &whole[..whole.len() - 1], Some(Ok(whole.len()))),
            ("whole", &whole, Some(Ok(whole.len()))),
            ("a part longer than any request", &huge, Some(Err(()))),
        ];
        for (what, bytes, want) in cases {
            assert_eq!(request_len(bytes), want, "{what}");
        }
    }

    #[test]
    fn a_framed_message_is_read_whole_without_waiting_for_the_end() {
        use std::os::unix::net::UnixStream;
        let body = vec![7u8; 100_000];
        let framed = encode_reply(&body);
        let (mut a, mut b) = UnixStream::pair().unwrap();
        // Written in pieces, and the writer's end is left open: the reader
        // must stop at the message's end, not wait for the close.
        let writer = std::thread::spawn(move || {
            for piece in framed.chunks(30_000) {
                a.write_all(piece).unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
            a
        });
        b.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let got = read_framed(&mut b, 1024, reply_len).expect("a whole message, before the writer closes");
        assert_eq!(&got[4..], &body[..]);
        let _open = writer.join().unwrap();
        // A message cut short by a close is no message.
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(&[10, 0, 0, 0, b'A', 0]).unwrap();
        drop(a);
        assert!(read_framed(&mut b, 1024, reply_len).is_none());
    }

    #[test]
    fn a_request_parts_round_trip_and_reject_trailing_bytes() {
        let mut req = Vec::new();
        for part in [&b"ctx"[..], b"", b"{}"] {
            req.extend_from_slice(&(part.len() as u32).to_le_bytes());
            req.extend_from_slice(part);
        }
        let (a, rest) = take_part(&req).unwrap();
        let (b, rest) = take_part(rest).unwrap();
        let (c, rest) = take_part(rest).unwrap();
        assert_eq!((a, b, c, rest), (&b"ctx"[..], &b""[..], &b"{}"[..], &b""[..]));
        assert!(take_part(&[5, 0, 0, 0, b'x']).is_none());
    }
}
