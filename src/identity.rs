//! Who and where: the OS user running gate and the host name, as recorded
//! in every receipt row. Read from the OS (getpwuid_r, gethostname), never
//! from environment variables an agent could set.

/// The login name of the effective user, or the numeric uid.
pub fn os_user() -> String {
    // SAFETY: geteuid cannot fail; getpwuid_r writes only into our buffers.
    unsafe {
        let uid = libc::geteuid();
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
