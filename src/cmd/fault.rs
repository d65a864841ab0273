//! The hook's last line of defence against a crash no Rust code can catch. `gate hook` forks
//! once it has read its payload: the child (the worker) does all the work and answers; the
//! parent (the supervisor) only waits, and turns any death of the worker other than exit 0 or
//! 2 (a stack overflow, an abort, running out of memory, a signal, even SIGKILL) into a deny
//! with a receipt. The worker runs its analysis on a thread with [`WORKER_STACK`] bytes of
//! stack, which the analysis's linear nesting bounds cannot come near. Why this design, and
//! what it costs: `docs/faults.md`.

use std::io;

/// The stack of the thread that does the hook's work. Only reserved address space until the
/// recursion touches it.
pub const WORKER_STACK: usize = 256 << 20;

/// Which side of the fork this process is.
pub enum Role {
    /// The child: do the work and answer.
    Worker,
    /// The parent, after the worker exited with this status.
    Exited(u8),
    /// The parent, after the worker was killed by this signal.
    Killed(i32),
}

/// The process that started the hook (the agent, or the shell it runs hooks
/// through), recorded before the fork.
static AGENT_PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Is the process that started the hook still alive? A hook whose agent
/// died (killed, or quit) stops waiting for a human.
pub fn agent_alive() -> bool {
    let pid = AGENT_PID.load(std::sync::atomic::Ordering::SeqCst);
    if pid <= 1 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Forks the worker and, in the parent, waits for it. Call it while the process has only
/// one thread.
pub fn supervise() -> io::Result<Role> {
    // SAFETY: getppid cannot fail.
    AGENT_PID.store(unsafe { libc::getppid() }, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: the process is single-threaded here, so the child inherits no lock held by
    // another thread; the parent only waits.
    let parent = unsafe { libc::getpid() };
    let cpu = current_cpu();
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        die_with(parent);
        stay_on(cpu);
        return Ok(Role::Worker);
    }
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer; `pid` is our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    if libc::WIFEXITED(status) {
        Ok(Role::Exited(libc::WEXITSTATUS(status) as u8))
    } else if libc::WIFSIGNALED(status) {
        Ok(Role::Killed(libc::WTERMSIG(status)))
    } else {
        Ok(Role::Killed(0))
    }
}

/// When the agent kills the hook (its own timeout), the worker must not live on, asking a
/// human a question no one will read.
#[cfg(target_os = "linux")]
fn die_with(parent: libc::pid_t) {
    // SAFETY: plain syscalls.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(crate::cmd::hook::BLOCK as i32);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with(_parent: libc::pid_t) {}

/// The CPUs this process may run on, before the worker is pinned.
#[cfg(target_os = "linux")]
static ALLOWED_CPUS: std::sync::OnceLock<libc::cpu_set_t> = std::sync::OnceLock::new();

#[cfg(target_os = "linux")]
fn current_cpu() -> Option<usize> {
    // SAFETY: sched_getcpu takes no arguments.
    usize::try_from(unsafe { libc::sched_getcpu() }).ok()
}

#[cfg(not(target_os = "linux"))]
fn current_cpu() -> Option<usize> {
    None
}

/// Keep the worker on the CPU the supervisor ran on. The kernel places a
/// forked child on the idlest CPU, where it starts with cold caches while
/// the supervisor's CPU falls idle as it waits: pinned, a call took about a
/// fifth less time on a busy 2-core machine (docs/perf.md). The worker does
/// its work on one thread at a time, so it loses no parallelism.
#[cfg(target_os = "linux")]
fn stay_on(cpu: Option<usize>) {
    let Some(cpu) = cpu else { return };
    // SAFETY: the sets are plain bit masks of the size passed.
    unsafe {
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed) != 0
            || !libc::CPU_ISSET(cpu, &allowed)
        {
            return;
        }
        let _ = ALLOWED_CPUS.set(allowed);
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one);
    }
}

#[cfg(not(target_os = "linux"))]
fn stay_on(_cpu: Option<usize>) {}

/// Let this process run on every CPU (a resident, started by a pinned
/// worker and inheriting its one-CPU mask across exec).
pub fn unpin_all() {
    #[cfg(target_os = "linux")]
    // SAFETY: a full mask of the size passed; the kernel keeps only allowed CPUs.
    unsafe {
        let mut all: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 0..libc::CPU_SETSIZE as usize {
            libc::CPU_SET(cpu, &mut all);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &all);
    }
}

/// Let this process run on every CPU the hook was started with again (the
/// detached checkpoint, which must not crowd the next call's CPU).
pub fn unpin() {
    #[cfg(target_os = "linux")]
    if let Some(allowed) = ALLOWED_CPUS.get() {
        // SAFETY: `allowed` is a full cpu_set_t read by sched_getaffinity.
        unsafe {
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), allowed);
        }
    }
}

/// A write past RLIMIT_FSIZE raises SIGXFSZ, which kills by default: a death agents read as
/// "carry on". Ignored, the write fails with EFBIG instead, and the store's error says so.
pub fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to ignore.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// What the hook is waiting on, for the watchdog's message.
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
pub enum Wait {
    /// Deciding: the policies and the analysis.
    Decision = 0,
    /// Opening or writing the receipt store (another process may hold its lock).
    Store = 1,
    /// A human's answer to a question.
    Human = 2,
}

static WAITING: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Say what the hook waits on from now.
pub fn waiting(on: Wait) {
    WAITING.store(on as u8, std::sync::atomic::Ordering::SeqCst);
}

/// What the hook was waiting on, in words.
pub fn waiting_on() -> &'static str {
    match WAITING.load(std::sync::atomic::Ordering::SeqCst) {
        1 => "waiting on the receipt store: is another process holding its lock?",
        2 => "waiting on a human's answer past its deadline",
        _ => "the policy check and the command's analysis took too long",
    }
}

/// Open /dev/null on any of descriptors 0-2 that is closed, as std's start-up
/// would (gate's `main` has none): else the next file or socket gate opens
/// takes that number, and a `println!` or a read of stdin meets it. Aborts
/// when one cannot be opened.
pub fn open_standard_fds() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd { fd, events: 0, revents: 0 });
    // SAFETY: poll reads and writes the three pollfds passed.
    let polled = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } >= 0;
    for pfd in fds {
        let closed = if polled {
            pfd.revents & libc::POLLNVAL != 0
        } else {
            // SAFETY: F_GETFD only reads the descriptor's flags.
            let bad = unsafe { libc::fcntl(pfd.fd, libc::F_GETFD) } == -1;
            bad && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
        };
        // SAFETY: opening /dev/null with a constant, NUL-terminated path; the
        // lowest free descriptor is the closed one.
        if closed && unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) } != pfd.fd {
            // SAFETY: aborting is always allowed.
            unsafe { libc::abort() }
        }
    }
}

/// How the worker died, in words.
pub fn describe_signal(sig: i32) -> String {
    let what = match sig {
        libc::SIGABRT => "SIGABRT: memory exhausted or an abort",
        // gate starts without std's runtime (`main.rs`), so a stack overflow
        // meets no handler that would turn it into an abort.
        libc::SIGSEGV => "SIGSEGV: a stack overflow or an invalid memory access",
        libc::SIGBUS => "SIGBUS: an invalid memory access",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL: perhaps the out-of-memory killer",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXFSZ => "SIGXFSZ: disk full / file size limit (RLIMIT_FSIZE) reached",
        _ => "a signal",
    };
    format!("was killed by signal {sig} ({what})")
}

/// Debug builds only: `GATE_TEST_CRASH=stack|abort|segv|oom|exit1` crashes the worker that
/// way, so that the tests can watch the supervisor answer.
pub fn test_crash() {
    if !cfg!(debug_assertions) {
        return;
    }
    let Ok(how) = std::env::var("GATE_TEST_CRASH") else { return };
    match how.as_str() {
        "stack" => {
            #[allow(unconditional_recursion)]
            fn deep(n: u64) -> u64 {
                let pad = std::hint::black_box([n; 64]);
                deep(pad[0] + 1) + pad[63]
            }
            std::hint::black_box(deep(0));
        }
        "abort" => std::process::abort(),
        // SAFETY: dying of a signal on purpose, in a test build (any handler is put aside first).
        "segv" => unsafe {
            libc::signal(libc::SIGSEGV, libc::SIG_DFL);
            libc::raise(libc::SIGSEGV);
        },
        "oom" => std::alloc::handle_alloc_error(std::alloc::Layout::new::<[u8; 1 << 20]>()),
        "exit1" => std::process::exit(1),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::open_standard_fds;

    /// In a forked child (this test's descriptors stay as they are): close
    /// `closed`, open the standard descriptors, and report which of 0-2 now
    /// name /dev/null, one bit each. Only system calls in the child.
    fn dev_null_after_closing(closed: &[i32]) -> i32 {
        // SAFETY: the child makes only system calls (no allocation, no lock) and leaves with _exit.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0, "fork");
            if pid == 0 {
                for &fd in closed {
                    libc::close(fd);
                }
                open_standard_fds();
                let mut bits = 0;
                for fd in 0..3 {
                    let mut path = *b"/proc/self/fd/0\0";
                    path[14] = b'0' + fd as u8;
                    let mut buf = [0u8; 64];
                    let n = libc::readlink(path.as_ptr().cast(), buf.as_mut_ptr().cast(), buf.len());
                    if n == 9 && &buf[..9] == b"/dev/null" {
                        bits |= 1 << fd;
                    }
                }
                libc::_exit(bits);
            }
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
            assert!(libc::WIFEXITED(status), "the child died: {status}");
            libc::WEXITSTATUS(status)
        }
    }

    #[test]
    fn closed_standard_descriptors_are_opened_on_dev_null() {
        let cases: &[(&[i32], i32)] =
            &[(&[0], 0b001), (&[1], 0b010), (&[2], 0b100), (&[0, 2], 0b101), (&[0, 1, 2], 0b111)];
        for &(closed, want) in cases {
            // Descriptors left open keep what they were; the test's own may be /dev/null too.
            let got = dev_null_after_closing(closed);
            assert_eq!(got & want, want, "closed {closed:?}: /dev/null bits {got:03b}");
        }
    }
}
