//! A conservative reader of sed scripts: a script passes only when every
//! command in it is one that prints, deletes or edits the stream. `w`, `W`,
//! `r`, `R` and `e`, the `w` and `e` flags of `s`, and anything this reader
//! does not recognise make the script unsafe.

/// Commands that take no argument and only act on the stream.
const PLAIN: &[u8] = b"pPdDnNgGhHxlz=FQq";

/// Returns the files the script reads with `r`/`R`, for the caller to check.
pub fn check_script(script: &str) -> Result<Vec<String>, String> {
    let b = script.as_bytes();
    let mut i = 0;
    let mut reads = Vec::new();
    let err = |msg: &str| Err::<Vec<String>, String>(format!("sed script {script:?}: {msg}"));
    while i < b.len() {
        // Separators and whitespace between commands.
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b';') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if b[i] == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        // Addresses: up to two, separated by `,`, then optional `!`.
        for _ in 0..2 {
            i = match address(b, i) {
                Ok(next) => next,
                Err(e) => return err(&e),
            };
            if i < b.len() && b[i] == b',' {
                i += 1;
                continue;
            }
            break;
        }
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'!') {
            i += 1;
        }
        if i >= b.len() {
            return err("address without a command");
        }
        let c = b[i];
        i += 1;
        match c {
            b'{' | b'}' => {}
            c if PLAIN.contains(&c) => {
                // q and Q may take an exit code.
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b' ') {
                    i += 1;
                }
            }
            b':' | b'b' | b't' | b'T' => {
                // A label. GNU sed ends it at whitespace as well as at `;`
                // and newline; what follows is read as the next command.
                while i < b.len() && matches!(b[i], b' ' | b'\t') {
                    i += 1;
                }
                while i < b.len() && !matches!(b[i], b';' | b'\n' | b' ' | b'\t' | b'}') {
                    i += 1;
                }
            }
            b'a' | b'i' | b'c' => {
                // Text to the end of the line (GNU one-liner form).
                while i < b.len() && b[i] != b'\n' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b's' => {
                i = match substitute(b, i) {
                    Ok(next) => next,
                    Err(e) => return err(&e),
                };
            }
            b'y' => {
                let Some(&delim) = b.get(i) else { return err("`y` without a delimiter") };
                if delim == b'\\' || delim == b'\n' {
                    return err("odd `y` delimiter");
                }
                i += 1;
                for _ in 0..2 {
                    i = match until_delim(b, i, delim) {
                        Some(next) => next,
                        None => return err("unterminated `y`"),
                    };
                }
            }
            b'w' | b'W' => return err("the `w` command writes a file"),
            b'r' | b'R' => {
                // The file name runs to the end of the line.
                let start = i;
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                let file = script[start..i].trim();
                if file.is_empty() {
                    return err("`r` without a file");
                }
                reads.push(file.to_string());
            }
            b'e' => return err("the `e` command runs a shell command"),
            other => return err(&format!("command `{}` is not known to be read-only", other as char)),
        }
    }
    Ok(reads)
}

fn address(b: &[u8], mut i: usize) -> Result<usize, String> {
    if i >= b.len() {
        return Ok(i);
    }
    match b[i] {
        b'0'..=b'9' => {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'~') {
                i += 1;
            }
            Ok(i)
        }
        b'$' => Ok(i + 1),
        b'+' | b'~' => {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            Ok(i)
        }
        b'/' => {
            let next = until_delim(b, i + 1, b'/').ok_or("unterminated address regex")?;
            Ok(skip_flags(b, next, b"IM"))
        }
        b'\\' => {
            let delim = *b.get(i + 1).ok_or("bad address")?;
            let next = until_delim(b, i + 2, delim).ok_or("unterminated address regex")?;
            Ok(skip_flags(b, next, b"IM"))
        }
        _ => Ok(i),
    }
}

fn skip_flags(b: &[u8], mut i: usize, flags: &[u8]) -> usize {
    while i < b.len() && flags.contains(&b[i]) {
        i += 1;
    }
    i
}

/// Index just past the next unescaped `delim` from `i`.
fn until_delim(b: &[u8], mut i: usize, delim: u8) -> Option<usize> {
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == b'\n' && delim != b'\n' {
            return None;
        }
        if b[i] == delim {
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

fn substitute(b: &[u8], mut i: usize) -> Result<usize, String> {
    let delim = *b.get(i).ok_or("`s` without a delimiter")?;
    if delim == b'\\' || delim == b'\n' || delim == b' ' {
        return Err("odd `s` delimiter".into());
    }
    i += 1;
    i = until_delim(b, i, delim).ok_or("unterminated `s` pattern")?;
    i = until_delim(b, i, delim).ok_or("unterminated `s` replacement")?;
    while i < b.len() {
        match b[i] {
            b'g' | b'p' | b'i' | b'I' | b'm' | b'M' | b'0'..=b'9' => i += 1,
            b'w' => return Err("the `w` flag of `s` writes a file".into()),
            b'e' => return Err("the `e` flag of `s` runs the result as a command".into()),
            b';' | b'\n' | b' ' | b'\t' | b'}' => break,
            other => return Err(format!("unknown `s` flag `{}`", other as char)),
        }
    }
    Ok(i)
}

/// sed's words: flags by the shared walker, then the scripts (`-e`, or the
/// first operand) read by [`check_script`], then the files it reads.
/// `--sandbox` makes sed refuse `e`, `w` and `r` wherever the script comes
/// from, so a script file (`-f`) passes only with it.
pub(super) fn check_sed(
    floor: &super::Floor,
    spec: &super::ProgramSpec,
    args: &[&crate::shell::Word],
    env: &super::Env<'_>,
) -> Result<(), String> {
    use super::operands::{check_paths, check_values, OperandRules, Recursion};
    // `-i` (in a bundle too, before a letter whose value is the rest).
    for w in args.iter().take_while(|w| !w.is("--")) {
        let t = w.text.as_str();
        let bundle = t.strip_prefix('-').filter(|b| !b.starts_with('-')).unwrap_or("");
        let in_bundle = bundle.chars().take_while(|c| !"efl".contains(*c)).any(|c| c == 'i');
        if t.starts_with("--in-place") || in_bundle {
            return Err("`sed -i` edits files in place".into());
        }
    }
    let parsed = super::flags::walk("sed", spec, args, false)?;
    let sandbox = parsed.has("--sandbox");
    let from_file = parsed.has("-f") || parsed.has("--file");
    if from_file && !sandbox {
        return Err("`sed -f` runs a script from a file gate cannot see (add --sandbox)".into());
    }
    check_values(floor, "sed", &parsed, env)?;
    let mut operands = parsed.operands.clone();
    let mut scripts: Vec<(bool, String, String)> = Vec::new();
    for (flag, v) in &parsed.values {
        if flag == "-e" || flag == "--expression" {
            scripts.push((v.literal, v.text.clone(), v.raw.clone()));
        }
    }
    for (flag, v) in &parsed.inline_values {
        if flag == "-e" || flag == "--expression" {
            scripts.push((true, v.clone(), v.clone()));
        }
    }
    if scripts.is_empty() && !from_file {
        if operands.is_empty() {
            return Err("`sed` without a script".into());
        }
        let w = operands.remove(0);
        scripts.push((w.literal, w.text.clone(), w.raw.clone()));
    }
    for (literal, text, raw) in &scripts {
        if !literal {
            return Err(format!("`sed`: the script `{raw}` is computed at run time"));
        }
        if sandbox {
            continue;
        }
        for read in check_script(text)? {
            if let Some(r) = floor.sensitive_reason(&read, env) {
                return Err(format!("`sed r` would read a secret: {r}"));
            }
        }
    }
    check_paths(floor, "sed", &operands, env, OperandRules::strict(), Recursion::No)
}

#[cfg(test)]
mod tests {
    use super::check_script;

    #[test]
    fn scripts() {
        let cases: &[(&str, bool)] = &[
            ("p", true),
            ("1,5p", true),
            ("/foo/d", true),
            ("s/a/b/g", true),
            ("s|a|b|2p", true),
            ("$!N;P;D", true),
            ("/start/,/end/{s/x/y/;p}", true),
            ("y/abc/xyz/", true),
            ("10q", true),
            ("s/a/b/w out", false),
            ("s/a/b/e", false),
            ("w out", false),
            ("1W out", false),
            ("e ls", false),
            ("r /etc/passwd", true),
            ("s/a/b/;w x", false),
            ("/x/!e date", false),
            ("s/a\\/b/c/", true),
            ("s/a/b", false),
            ("v", false),
            (":a e touch x", false),
            ("ba;:a e touch x", false),
            ("t a e touch x\n:a", false),
            (":a\tw out", false),
            (":a;N;$!ba;s/\\n/ /g", true),
        ];
        for (script, ok) in cases {
            assert_eq!(check_script(script).is_ok(), *ok, "{script}");
        }
    }
}
