//! Writing for people: colour only on a terminal (and never with
//! `NO_COLOR`), untrusted text escaped before it reaches a terminal so an
//! agent's command cannot inject escape sequences, and a broken pipe
//! (`gate log | head`) treated as a normal end.

use std::borrow::Cow;
use std::io::IsTerminal;

/// Whether stdout gets ANSI colour.
pub fn colour_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[derive(Clone, Copy)]
pub struct Paint(pub bool);

impl Paint {
    fn wrap<'a>(&self, code: &str, s: &'a str) -> Cow<'a, str> {
        if self.0 {
            Cow::Owned(format!("\x1b[{code}m{s}\x1b[0m"))
        } else {
            Cow::Borrowed(s)
        }
    }
    pub fn green<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.wrap("32", s)
    }
    pub fn red<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.wrap("31", s)
    }
    pub fn yellow<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.wrap("33", s)
    }
    pub fn cyan<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.wrap("36", s)
    }
    pub fn dim<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.wrap("2", s)
    }
    pub fn bold<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.wrap("1", s)
    }
}

/// Escape control characters, bidi overrides and zero-width characters.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if bad(c) && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if bad(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Shorten to at most `max` characters, marking the cut.
pub fn ellipsize(s: &str, max: usize) -> Cow<'_, str> {
    if s.chars().count() <= max {
        return Cow::Borrowed(s);
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    Cow::Owned(format!("{cut}…"))
}

/// True when an I/O error is the reader going away.
pub fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

/// Where a long human output goes: through a pager (`$PAGER`, default
/// `less -FRX`, as git does) when stdout is a terminal and paging is on,
/// straight to stdout otherwise. [`Pager::finish`] waits for the pager, so
/// what is printed after it (a hint on stderr) comes below the output.
pub struct Pager {
    child: Option<std::process::Child>,
    out: Option<Box<dyn std::io::Write>>,
}

impl Pager {
    /// Start the pager, when `enabled` and stdout is a terminal. A pager
    /// that cannot start leaves the output on stdout.
    pub fn start(enabled: bool) -> Pager {
        use std::io::IsTerminal;
        let stdout = || Pager { child: None, out: Some(Box::new(std::io::BufWriter::new(std::io::stdout()))) };
        if !enabled || !std::io::stdout().is_terminal() {
            return stdout();
        }
        let command = std::env::var("PAGER").unwrap_or_else(|_| "less -FRX".to_string());
        if command.trim().is_empty() || command.trim() == "cat" {
            return stdout();
        }
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c").arg(&command).stdin(std::process::Stdio::piped());
        // less keeps colours and quits at once on a short output unless told otherwise.
        if std::env::var_os("LESS").is_none() {
            cmd.env("LESS", "FRX");
        }
        match cmd.spawn() {
            Ok(mut child) => match child.stdin.take() {
                Some(stdin) => Pager { child: Some(child), out: Some(Box::new(std::io::BufWriter::new(stdin))) },
                None => stdout(),
            },
            Err(_) => stdout(),
        }
    }

    /// Flush the output and wait for the pager to be closed. A reader that
    /// went away early (the pager quit) is a normal end.
    pub fn finish(mut self) -> std::io::Result<()> {
        match std::io::Write::flush(&mut self) {
            Err(e) if is_broken_pipe(&e) => Ok(()),
            other => other,
        }
    }
}

/// However the output ends (an error too), the pager gets its end of file
/// and is waited for, so the shell prompt never comes back under it.
impl Drop for Pager {
    fn drop(&mut self) {
        self.out.take();
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

impl std::io::Write for Pager {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.as_mut().map_or(Ok(buf.len()), |o| o.write(buf))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.as_mut().map_or(Ok(()), |o| o.flush())
    }
}

/// Whether stdout is a terminal: hints and footers are only for a person
/// reading there, never for a pipe.
pub fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}

/// Ask a yes/no question on the terminal (default no). Fails when there is
/// no terminal to ask on.
pub fn confirm(prompt: &str) -> std::io::Result<bool> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(std::io::Error::other("no terminal to ask on"));
    }
    dialoguer::Confirm::new().with_prompt(prompt).default(false).interact().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_run() {
        let cases: &[(&str, &str)] = &[
            ("ls -la", "ls -la"),
            ("echo \x1b]0;pwned\x07", "echo \\x1b]0;pwned\\x07"),
            ("a\nb", "a\\nb"),
            ("rm \u{202e}txt.exe", "rm \\u{202e}txt.exe"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), *want);
        }
    }
}

