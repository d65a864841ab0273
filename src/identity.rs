//! Who and where: the OS user running gate and the host name, as recorded
//! in every receipt row, and which gate binary is running. Read from the OS
//! (passwd, gethostname, the binary's file), never from environment
//! variables an agent could set.

/// The login name of the effective user, or the numeric uid.
pub fn os_user() -> String {
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    // /etc/passwd first: the release binary is linked statically, and the
    // system's name services (LDAP, sssd) are loaded by getpwuid_r at run
    // time, a library of the libc the binary was built against.
    if let Some(name) = passwd_user(uid) {
        return name;
    }
    // SAFETY: getpwuid_r writes only into our buffers.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
            if let Ok(name) = std::ffi::CStr::from_ptr(pwd.pw_name).to_str() {
                return name.to_string();
            }
        }
        format!("uid:{uid}")
    }
}

/// The name of user `uid` in /etc/passwd. A process that records many rows
/// (a resident) reads the file again only when it is another file or was
/// changed: the name is remembered with the file's identity (device, inode,
/// size, modification and change times), taken before the file is read.
fn passwd_user(uid: u32) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    type Known = (u32, [i64; 7], String);
    static KNOWN: std::sync::Mutex<Option<Known>> = std::sync::Mutex::new(None);
    const PASSWD: &str = "/etc/passwd";
    let id = std::fs::metadata(PASSWD).ok().map(|m| {
        [m.dev() as i64, m.ino() as i64, m.size() as i64, m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec()]
    });
    if let Some(id) = id {
        let known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((u, i, name)) = known.as_ref() {
            if (*u, *i) == (uid, id) {
                return Some(name.clone());
            }
        }
    }
    let name = std::fs::read_to_string(PASSWD).ok().and_then(|t| passwd_name(&t, uid))?;
    if let Some(id) = id {
        *KNOWN.lock().unwrap_or_else(|e| e.into_inner()) = Some((uid, id, name.clone()));
    }
    Some(name)
}

/// The name of user `uid` in passwd(5) text.
fn passwd_name(text: &str, uid: u32) -> Option<String> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id = f.nth(1)?;
        (id.parse::<u32>().ok()? == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// A gate binary as a file: what tells one build of gate from another
/// (the policy cache's keys, a resident's context and its peer check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binary {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: i64,
    pub mtime_nsec: i64,
}

impl Binary {
    /// The binary at `path` (a `/proc/<pid>/exe` link is followed to it).
    pub fn at(path: &std::path::Path) -> Option<Binary> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(Binary { dev: m.dev(), ino: m.ino(), size: m.size(), mtime: m.mtime(), mtime_nsec: m.mtime_nsec() })
    }

    /// This process's binary, read once.
    pub fn running() -> Option<Binary> {
        static RUNNING: std::sync::OnceLock<Option<Binary>> = std::sync::OnceLock::new();
        *RUNNING.get_or_init(|| {
            Binary::at(std::path::Path::new("/proc/self/exe"))
                .or_else(|| std::env::current_exe().ok().and_then(|p| Binary::at(&p)))
        })
    }
}

/// This machine's host name.
pub fn host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; the result is NUL-terminated or truncated.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwd_lines_give_the_name_of_the_uid() {
        let text = "# comment\nroot:x:0:0:root:/root:/bin/bash\n\nbroken\ndev:x:1000:1000::/home/dev:/bin/zsh\n+nis::::::\n";
        let cases: &[(u32, Option<&str>)] = &[(0, Some("root")), (1000, Some("dev")), (1001, None)];
        for (uid, want) in cases {
            assert_eq!(super::passwd_name(text, *uid).as_deref(), *want, "uid {uid}");
        }
    }
}
