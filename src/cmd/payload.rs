//! Reading the hook's payload from stdin, under a deadline and a size cap. An agent that
//! opens the hook and never finishes writing gets a deny after [`STDIN_DEADLINE`] ("stdin
//! stalled"), not a hang. A payload over `hook::MAX_PAYLOAD` is read on (up to
//! [`HARD_CAP`]) through a streaming cutter that replaces every long JSON string with its
//! first bytes and a marker holding its length and SHA-256, so that the outcome of a tool
//! that has already run (PostToolUse) is recorded rather than lost; a call not yet run
//! over the cap is still denied (`cmd::hook`). The marker's format is in `docs/faults.md`.

use std::io;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::hook::MAX_PAYLOAD;

/// How long the agent has to write the whole payload and close stdin.
pub const STDIN_DEADLINE: Duration = Duration::from_secs(10);

/// The most gate reads of one payload; beyond it the payload is refused as too large.
pub const HARD_CAP: usize = 256 << 20;

/// A string longer than this (as written in the payload) is cut.
const CUT_OVER: usize = 2048;

/// How much of a cut string is kept, before the marker.
const KEEP: usize = 1024;

/// One string the cutter replaced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cut {
    /// The string's length in bytes (UTF-8, escapes decoded).
    pub bytes: u64,
    /// The SHA-256 of those bytes, lower-case hex.
    pub sha256: String,
}

/// What the cutter replaced, when the payload was over the cap (empty otherwise).
static CUTS: OnceLock<Vec<Cut>> = OnceLock::new();

/// The strings cut from this hook's payload (none when it was within the cap).
pub fn cuts() -> &'static [Cut] {
    CUTS.get().map(Vec::as_slice).unwrap_or(&[])
}

/// Whether this hook's payload was over the cap and was cut to fit.
pub fn was_cut() -> bool {
    CUTS.get().is_some()
}

/// Read stdin to its end within [`STDIN_DEADLINE`]. Returns the payload (cut to fit when
/// it was over the cap and could be cut; else its first `MAX_PAYLOAD + 1` bytes, which
/// the parser refuses as too large) and how the read ended.
pub fn read_stdin() -> (Vec<u8>, io::Result<()>) {
    let deadline = Instant::now() + STDIN_DEADLINE;
    let mut raw = Vec::new();
    let mut cutter: Option<Cutter> = None;
    let mut total = 0usize;
    // Not zeroed: the kernel writes what is read, so only the pages a
    // payload fills are touched (zeroing 64 KiB faulted in 16 pages).
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        match wait_readable(deadline) {
            Ok(true) => {}
            Ok(false) => {
                let err = io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "stdin stalled: no complete hook payload within {} s ({total} bytes came, and stdin was not closed)",
                        STDIN_DEADLINE.as_secs()
                    ),
                );
                return (raw, Err(err));
            }
            Err(e) => return (raw, Err(e)),
        }
        // SAFETY: reading into our own buffer's capacity from fd 0.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.capacity()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted || e.kind() == io::ErrorKind::WouldBlock {
                continue;
            }
            return (raw, Err(e));
        }
        if n == 0 {
            break;
        }
        // SAFETY: read(2) wrote these `n` bytes, within the capacity.
        let chunk = unsafe { std::slice::from_raw_parts(buf.as_ptr(), n as usize) };
        total += chunk.len();
        match &mut cutter {
            Some(c) => c.feed(chunk),
            None if raw.len() + chunk.len() <= MAX_PAYLOAD => raw.extend_from_slice(chunk),
            None => {
                let mut c = Cutter::default();
                c.feed(&raw);
                c.feed(chunk);
                let room = MAX_PAYLOAD + 1 - raw.len();
                raw.extend_from_slice(&chunk[..room.min(chunk.len())]);
                cutter = Some(c);
            }
        }
        if total > HARD_CAP {
            return (raw, Ok(()));
        }
    }
    if let Some(c) = cutter {
        if let Some((out, cuts)) = c.finish() {
            let _ = CUTS.set(cuts);
            return (out, Ok(()));
        }
    }
    (raw, Ok(()))
}

/// Wait until fd 0 has data (or its end) before the deadline: false when it does not.
fn wait_readable(deadline: Instant) -> io::Result<bool> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut p = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if r > 0 {
            // POLLHUP, POLLERR, POLLNVAL: the read says what happened.
            return Ok(true);
        }
    }
}

/// A streaming rewrite of a JSON document in which every string longer than [`CUT_OVER`]
/// bytes becomes its first [`KEEP`] bytes and `…[gate cut: <n> bytes, sha256 <hex>]`.
/// Memory: the output (at most `MAX_PAYLOAD`) and one string's first `CUT_OVER` bytes.
#[derive(Default)]
struct Cutter {
    out: Vec<u8>,
    overflow: bool,
    cuts: Vec<Cut>,
    s: Option<Str>,
}

/// The string being read.
#[derive(Default)]
struct Str {
    /// Its text as written (escapes kept), up to `CUT_OVER + 1` bytes.
    text: Vec<u8>,
    /// The longest prefix of `text` of at most `KEEP` bytes that ends between characters.
    safe: usize,
    written: usize,
    bytes: u64,
    sha: Sha256,
    escape: Escape,
    /// A UTF-16 high surrogate waiting for its low half.
    high: Option<u16>,
}

#[derive(Default, PartialEq)]
enum Escape {
    #[default]
    None,
    Backslash,
    Unicode(u8, u16),
}

impl Cutter {
    fn emit(&mut self, bytes: &[u8]) {
        if self.out.len() + bytes.len() > MAX_PAYLOAD {
            self.overflow = true;
        } else if !self.overflow {
            self.out.extend_from_slice(bytes);
        }
    }

    /// The next bytes of the document. Runs of bytes outside strings, and of plain bytes
    /// inside them, go through in bulk; escapes one byte at a time.
    fn feed(&mut self, chunk: &[u8]) {
        let mut i = 0;
        while i < chunk.len() {
            let rest = &chunk[i..];
            match &mut self.s {
                None => {
                    let run = rest.iter().position(|&b| b == b'"').map_or(rest.len(), |k| k + 1);
                    self.emit(&rest[..run]);
                    if rest[run - 1] == b'"' {
                        self.s = Some(Str::default());
                    }
                    i += run;
                }
                Some(s) => {
                    let plain = if s.in_plain_text() {
                        rest.iter().position(|&b| b == b'"' || b == b'\\').unwrap_or(rest.len())
                    } else {
                        0
                    };
                    if plain > 0 {
                        s.plain_run(&rest[..plain]);
                        i += plain;
                    } else {
                        i += 1;
                        if s.step(rest[0]) {
                            let s = self.s.take().unwrap_or_default();
                            self.end_string(s);
                        }
                    }
                }
            }
        }
    }

    fn end_string(&mut self, s: Str) {
        if s.written <= CUT_OVER {
            self.emit(&s.text);
        } else {
            let sha: String = s.sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
            self.emit(&s.text[..s.safe]);
            let marker = format!("…[gate cut: {} bytes, sha256 {sha}]", s.bytes);
            self.emit(marker.as_bytes());
            self.cuts.push(Cut { bytes: s.bytes, sha256: sha });
        }
        self.emit(b"\"");
    }

    /// The rewritten document and what was cut; None when it does not fit or is cut short.
    fn finish(self) -> Option<(Vec<u8>, Vec<Cut>)> {
        (!self.overflow && self.s.is_none()).then_some((self.out, self.cuts))
    }
}

impl Str {
    /// Not inside an escape or a surrogate pair: plain bytes stand for themselves.
    fn in_plain_text(&self) -> bool {
        self.escape == Escape::None && self.high.is_none()
    }

    /// A run of bytes that are neither `"` nor `\`, while [`Str::in_plain_text`].
    fn plain_run(&mut self, run: &[u8]) {
        let base = self.text.len();
        if base <= KEEP {
            for (j, &b) in run.iter().enumerate().take(KEEP - base + 1) {
                if b & 0xC0 != 0x80 {
                    self.safe = base + j;
                }
            }
        }
        self.sha.update(run);
        self.bytes += run.len() as u64;
        self.written += run.len();
        let room = (CUT_OVER + 1).saturating_sub(self.text.len());
        self.text.extend_from_slice(&run[..room.min(run.len())]);
    }

    /// One byte of the string's text; true at its closing quote.
    fn step(&mut self, b: u8) -> bool {
        let at_boundary = self.escape == Escape::None && self.high.is_none() && b & 0xC0 != 0x80;
        if at_boundary && self.text.len() <= KEEP {
            self.safe = self.text.len();
        }
        match std::mem::take(&mut self.escape) {
            Escape::None => match b {
                b'"' => return true,
                b'\\' => self.escape = Escape::Backslash,
                _ => self.content(&[b]),
            },
            Escape::Backslash => match b {
                b'u' => self.escape = Escape::Unicode(0, 0),
                _ => {
                    let c = match b {
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        other => other,
                    };
                    self.content(&[c]);
                }
            },
            Escape::Unicode(n, v) => {
                let d = (b as char).to_digit(16).unwrap_or(0) as u16;
                let v = v << 4 | d;
                if n < 3 {
                    self.escape = Escape::Unicode(n + 1, v);
                } else {
                    self.unit(v);
                }
            }
        }
        self.written += 1;
        if self.text.len() <= CUT_OVER {
            self.text.push(b);
        }
        false
    }

    /// A UTF-16 code unit from a `\u` escape.
    fn unit(&mut self, v: u16) {
        let c = match (self.high.take(), v) {
            (None, 0xD800..=0xDBFF) => {
                self.high = Some(v);
                return;
            }
            (Some(h), 0xDC00..=0xDFFF) => char::from_u32(0x10000 + ((h as u32 - 0xD800) << 10) + (v as u32 - 0xDC00)),
            (Some(_), _) => {
                self.content("\u{FFFD}".as_bytes());
                char::from_u32(v as u32)
            }
            (None, _) => char::from_u32(v as u32),
        };
        let mut tmp = [0u8; 4];
        self.content(c.unwrap_or('\u{FFFD}').encode_utf8(&mut tmp).as_bytes());
    }

    fn content(&mut self, bytes: &[u8]) {
        if let Some(_h) = self.high.take() {
            self.sha.update("\u{FFFD}".as_bytes());
            self.bytes += 3;
        }
        self.sha.update(bytes);
        self.bytes += bytes.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document cut, fed in chunks of several sizes, which must all agree.
    fn cut(doc: &str) -> (serde_json::Value, Vec<Cut>) {
        let mut results = [1, 7, 4096, doc.len()].map(|size| {
            let mut c = Cutter::default();
            for chunk in doc.as_bytes().chunks(size) {
                c.feed(chunk);
            }
            c.finish().expect("fits")
        });
        for (out, _) in &results[1..] {
            assert_eq!(out, &results[0].0, "the chunking changed the result");
        }
        let (out, cuts) = std::mem::take(&mut results[0]);
        (serde_json::from_slice(&out).expect("still JSON"), cuts)
    }

    #[test]
    fn short_strings_pass_through_and_long_ones_keep_their_length_and_hash() {
        let long = format!("é\n\"😀{}", "y".repeat(5000));
        let doc = serde_json::json!({"a": "short", "b": [long.clone(), 1.5, null], "c": {"d": "x"}}).to_string();
        let (v, cuts) = cut(&doc);
        assert_eq!(v["a"], "short");
        assert_eq!(v["c"]["d"], "x");
        assert_eq!(v["b"][1], 1.5);
        let kept = v["b"][0].as_str().unwrap();
        let sha: String = Sha256::digest(long.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        assert!(kept.starts_with("é\n\"😀yyy"), "{kept:.40}");
        assert!(kept.ends_with(&format!("…[gate cut: {} bytes, sha256 {sha}]", long.len())), "{kept}");
        assert_eq!(cuts.len(), 1);
        assert_eq!(cuts[0].bytes, long.len() as u64);
    }

    #[test]
    fn a_cut_never_splits_an_escape_or_a_character() {
        for s in ["\u{1F600}".repeat(2000), "\\".repeat(3000), "\u{7}".repeat(3000), "é".repeat(2000)] {
            let doc = serde_json::json!({ "s": s }).to_string();
            let (v, cuts) = cut(&doc);
            assert!(v["s"].as_str().unwrap().contains("gate cut"));
            assert_eq!(cuts[0].bytes, s.len() as u64);
        }
    }

    #[test]
    fn a_document_cut_short_is_not_passed_on() {
        let mut c = Cutter::default();
        c.feed(b"{\"a\": \"unterminated");
        assert!(c.finish().is_none());
    }
}
