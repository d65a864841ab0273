//! What went wrong with the receipt store, in words a person can act on. A [`StoreError`]
//! says what SQLite or the OS said; [`Trouble::of`] turns the faults of the environment
//! (a store locked by another process past the busy timeout, a directory that is not
//! writable, a full disk or a file size limit, a damaged file) into one line that names the
//! file, the cause and the fix. `gate hook` denies with that line; `docs/faults.md` lists
//! every fault and what the user sees.

use std::path::{Path, PathBuf};

use super::{StoreError, BUSY_TIMEOUT};

/// A fault of the store's environment, with what is needed to explain it.
#[derive(Debug, thiserror::Error)]
pub enum Trouble {
    #[error(
        "the receipt store {} is locked{} and stayed locked for {} s; end or wait for that process, then retry",
        path.display(), holder.as_deref().map(|h| format!(" by {h}")).unwrap_or_default(), BUSY_TIMEOUT.as_secs()
    )]
    Locked { path: PathBuf, holder: Option<String> },
    #[error(
        "the receipt store's directory {} is not writable ({why}){}; make it writable, or set GATE_HOME to a writable directory",
        dir.display(), under_home()
    )]
    NotWritable { dir: PathBuf, why: String },
    #[error(
        "the receipt store {} cannot grow: disk full or file size limit ({why}); free space on its disk or raise the limit (ulimit -f), then retry",
        path.display()
    )]
    Full { path: PathBuf, why: String },
    #[error(
        "the receipt store {} is damaged ({why}); run `gate recover` to move it aside (it is kept for `gate verify`) and start a new chain that records its last head",
        path.display()
    )]
    Damaged { path: PathBuf, why: String },
}

impl Trouble {
    /// The fault behind `e`, when it is one of the environment's.
    pub fn of(e: &StoreError) -> Option<Trouble> {
        match e {
            StoreError::Sqlite { path, source } => of_sqlite(path, source),
            StoreError::Io { path, source } => of_io(path, source),
            _ => None,
        }
    }
}

/// `e` in words: the fault's line when it is one, else the error itself.
pub fn describe(e: &StoreError) -> String {
    Trouble::of(e).map_or_else(|| e.to_string(), |t| t.to_string())
}

fn of_sqlite(path: &Path, e: &rusqlite::Error) -> Option<Trouble> {
    use rusqlite::ErrorCode as C;
    let rusqlite::Error::SqliteFailure(f, msg) = e else { return None };
    let words = msg.clone().unwrap_or_else(|| f.to_string());
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    match f.code {
        C::DatabaseBusy | C::DatabaseLocked => Some(Trouble::Locked { path: path.to_path_buf(), holder: holder(path) }),
        C::NotADatabase | C::DatabaseCorrupt => Some(Trouble::Damaged { path: path.to_path_buf(), why: words }),
        C::DiskFull => Some(Trouble::Full { path: path.to_path_buf(), why: space(&dir) }),
        C::ReadOnly | C::CannotOpen | C::PermissionDenied => {
            let why = unwritable(&dir, path)?;
            Some(Trouble::NotWritable { dir, why })
        }
        C::SystemIoFailure => {
            let why = space(&dir);
            (file_size_limit().is_some() || free_bytes(&dir).is_some_and(|b| b < 1 << 20))
                .then(|| Trouble::Full { path: path.to_path_buf(), why })
        }
        _ => None,
    }
}

fn of_io(path: &Path, e: &std::io::Error) -> Option<Trouble> {
    let dir = path.to_path_buf();
    match e.raw_os_error()? {
        libc::EACCES | libc::EPERM | libc::EROFS => Some(Trouble::NotWritable { dir, why: e.to_string() }),
        libc::ENOTDIR | libc::EEXIST => Some(Trouble::NotWritable { dir, why: format!("not a directory: {e}") }),
        libc::ENOSPC | libc::EFBIG | libc::EDQUOT => Some(Trouble::Full { path: dir.clone(), why: space(&dir) }),
        _ => None,
    }
}

/// Why the store cannot be written, when the directory or the file says so.
fn unwritable(dir: &Path, db: &Path) -> Option<String> {
    let cannot = |p: &Path| {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).ok()?;
        // SAFETY: a NUL-terminated path.
        (unsafe { libc::access(c.as_ptr(), libc::W_OK) } != 0).then(std::io::Error::last_os_error)
    };
    if let Some(e) = cannot(dir) {
        return Some(e.to_string());
    }
    for side in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{side}", db.display()));
        if p.exists() {
            if let Some(e) = cannot(&p) {
                return Some(format!("{}: {e}", p.display()));
            }
        }
    }
    None
}

/// " (it is under HOME=...)" when HOME, not GATE_HOME, placed the store.
fn under_home() -> String {
    match (std::env::var_os("GATE_HOME").filter(|h| !h.is_empty()), std::env::var_os("HOME")) {
        (None, Some(home)) => format!(" (gate keeps it under HOME, {})", Path::new(&home).display()),
        _ => String::new(),
    }
}

/// What is known of the room left: the file size limit, else the free bytes.
fn space(dir: &Path) -> String {
    match (file_size_limit(), free_bytes(dir)) {
        (Some(l), _) => format!("the file size limit RLIMIT_FSIZE is {l} bytes"),
        (None, Some(b)) => format!("{b} bytes free on the disk of {}", dir.display()),
        (None, None) => "the disk refused the write".to_string(),
    }
}

fn file_size_limit() -> Option<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid out-pointer.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut lim) } == 0;
    (ok && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

fn free_bytes(dir: &Path) -> Option<u64> {
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: a NUL-terminated path and a zeroed out-struct.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    (unsafe { libc::statvfs(c.as_ptr(), &mut s) } == 0).then(|| s.f_bavail as u64 * s.f_frsize as u64)
}

/// The process holding the store's write lock, as "process <pid> (<name>)", when the lock
/// table says (SQLite's POSIX locks: byte 120 of the `-shm` file in WAL mode, the reserved
/// byte of the database file otherwise). Only called on the way to a deny: opening and
/// closing the files here drops this process's own locks on them.
fn holder(db: &Path) -> Option<String> {
    let probe = |p: PathBuf, start: i64, len: i64| -> Option<i32> {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open(&p).ok()?;
        // SAFETY: a zeroed flock filled in below; F_GETLK only reads the lock table.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as _;
        fl.l_whence = libc::SEEK_SET as _;
        fl.l_start = start as _;
        fl.l_len = len as _;
        let r = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETLK, &mut fl) };
        (r == 0 && i32::from(fl.l_type) != libc::F_UNLCK && fl.l_pid > 0).then_some(fl.l_pid)
    };
    let shm = PathBuf::from(format!("{}-shm", db.display()));
    let pid = probe(shm, 120, 1).or_else(|| probe(db.to_path_buf(), 0x4000_0001, 1))?;
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).map(|n| n.trim().to_string()).ok();
    Some(match name {
        Some(n) if !n.is_empty() => format!("process {pid} ({n})"),
        _ => format!("process {pid}"),
    })
}
