//! Archives, only listed or tested: tar needs `-t` (and never a remote
//! `host:path` archive), unzip needs `-l`, `-t`, `-v` or `-p`.

use super::operands::{check_paths, OperandRules, Recursion};
use super::{Env, Floor};
use crate::shell::Word;

pub(super) fn check_tar(args: &[&Word]) -> Result<(), String> {
    let Some(first) = args.first() else { return Err("`tar` without a mode".into()) };
    if !args.iter().all(|w| w.literal) {
        return Err("`tar` with computed arguments".into());
    }
    let mut listing = false;
    for (k, w) in args.iter().enumerate() {
        let t = w.text.as_str();
        let bundle =
            if k == 0 && !t.starts_with('-') { Some(t) } else { t.strip_prefix('-').filter(|s| !s.starts_with('-')) };
        if let Some(letters) = bundle {
            if k > 0 && !t.starts_with('-') {
                continue;
            }
            for c in letters.chars() {
                match c {
                    't' => listing = true,
                    'v' | 'z' | 'j' | 'J' | 'f' | 'a' | 'Z' => {}
                    _ => return Err(format!("`tar -{c}` is not a listing flag")),
                }
            }
            continue;
        }
        if let Some(long) = t.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or("");
            match name {
                "list" => listing = true,
                "verbose" | "file" | "gzip" | "bzip2" | "xz" | "zstd" | "auto-compress" | "numeric-owner"
                | "wildcards" | "exclude" => {}
                _ => return Err(format!("`tar --{name}` is not a listing flag")),
            }
        }
    }
    let _ = first;
    // `-f host:path` reads a remote archive through rsh/ssh.
    let mut archive_next = false;
    for w in args {
        let t = w.text.as_str();
        let f_value = t.strip_prefix("--file=").map(str::to_string).or_else(|| {
            if archive_next {
                Some(t.to_string())
            } else {
                None
            }
        });
        if let Some(v) = f_value {
            if v.split('/').next().is_some_and(|head| head.contains(':')) {
                return Err(format!("`tar -f {v}` reads a remote archive over the network"));
            }
        }
        archive_next = t == "--file"
            || (t.starts_with('-') && !t.starts_with("--") && t.ends_with('f'))
            || (!t.starts_with('-') && args.first().is_some_and(|a| std::ptr::eq(*a, *w)) && t.ends_with('f'));
    }
    if listing {
        Ok(())
    } else {
        Err("`tar` without -t extracts or creates archives".into())
    }
}

pub(super) fn check_unzip(floor: &Floor, args: &[&Word], env: &Env<'_>) -> Result<(), String> {
    let mut ok_mode = false;
    let mut operands = Vec::new();
    for w in args {
        let t = w.text.as_str();
        if let Some(letters) = t.strip_prefix('-') {
            for c in letters.chars() {
                match c {
                    'l' | 't' | 'v' | 'Z' | 'p' | 'c' => ok_mode = true,
                    'q' | 'z' => {}
                    _ => return Err(format!("`unzip -{c}` is not a listing flag")),
                }
            }
        } else {
            operands.push(*w);
        }
    }
    if !ok_mode {
        return Err("`unzip` without -l, -t, -v or -p extracts files".into());
    }
    check_paths(floor, "unzip", &operands[..operands.len().min(1)], env, OperandRules::strict(), Recursion::No)
}
