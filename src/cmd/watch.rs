//! `gate watch`: the live terminal inbox. While it runs it is an open
//! inbox (a heartbeat hooks check twice a second), so questions wait for
//! it. It shows every pending question, refreshed as the store changes
//! (answered elsewhere, expired, withdrawn, abandoned, new), with a
//! countdown, the exact command or every line of the change, paged, and
//! takes single keys: `a` allow once, `s` for this session, `A` always
//! (writes a rule to the user policy), `d` or Enter deny, `f` deny with
//! feedback for the model, arrows to move between questions, space and
//! PgUp/PgDn to page. It rings the bell and notifies the desktop for new
//! questions. The screen is redrawn whole on every change and resize, on
//! the alternate screen, which quitting (`q`, Esc, Ctrl-C) leaves.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::bail;
use console::{Key, Term};
use serde_json::Value;

use crate::broker;
use crate::cmd::answer::{approver_name, refusal};
use crate::paths::Paths;
use crate::store::questions::{Answer, AnswerResult, Question};
use crate::store::Store;
use crate::{clock, term};

/// Set by SIGINT/SIGTERM/SIGHUP: leave the screen as it was found.
static QUIT: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    QUIT.store(true, Ordering::SeqCst);
}

/// How often the screen is redrawn when nothing happens (the countdown).
const TICK: Duration = Duration::from_millis(250);

/// What the keyboard is doing.
enum Mode {
    /// Keys answer the selected question.
    Keys,
    /// Typing feedback for a deny of question `id`.
    Feedback { id: i64, text: String },
}

struct Watch {
    paths: Paths,
    store: Store,
    approver: String,
    p: term::Paint,
    pending: Vec<Question>,
    selected: Option<i64>,
    scroll: usize,
    mode: Mode,
    messages: Vec<String>,
    seen: HashSet<i64>,
    notifier: Option<&'static str>,
}

pub fn run() -> anyhow::Result<ExitCode> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!(
            "gate watch needs a terminal; from scripts use `gate pending`, `gate approve <id>` and `gate deny <id>` \
             (with ask_via = [\"watch\", \"cli\"] in [settings], questions wait for them with no watch open)"
        );
    }
    let paths = Paths::from_env()?;
    paths.ensure_dirs()?;
    let store = Store::open(&paths.db())?;
    let _inbox = broker::Inbox::open(&paths, "watch")?;
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
    let notifier = notifier();
    let mut w = Watch {
        approver: approver_name(&paths),
        p: term::Paint(term::colour_stdout()),
        paths,
        store,
        pending: Vec::new(),
        selected: None,
        scroll: 0,
        mode: Mode::Keys,
        messages: Vec::new(),
        seen: HashSet::new(),
        notifier,
    };
    if w.notifier.is_none() {
        w.say(
            "desktop notifications are off: install notify-send (Debian/Ubuntu: libnotify-bin) to be told of new questions",
        );
    }
    let (tx, rx) = mpsc::channel::<Key>();
    std::thread::spawn(move || {
        let t = Term::stdout();
        while let Ok(k) = t.read_key() {
            if tx.send(k).is_err() {
                break;
            }
        }
    });
    let out = Term::stdout();
    let _ = out.write_str("\x1b[?1049h\x1b[?25l");
    let result = w.run(&rx);
    let _ = out.write_str("\x1b[?25h\x1b[?1049l");
    println!("gate watch: closed; hooks no longer wait for it");
    result
}

impl Watch {
    fn say(&mut self, m: impl Into<String>) {
        self.messages.push(m.into());
        if self.messages.len() > 4 {
            self.messages.remove(0);
        }
    }

    fn run(&mut self, keys: &mpsc::Receiver<Key>) -> anyhow::Result<ExitCode> {
        loop {
            if QUIT.load(Ordering::SeqCst) {
                return Ok(ExitCode::SUCCESS);
            }
            self.refresh()?;
            self.draw();
            match keys.recv_timeout(TICK) {
                Ok(k) => {
                    if !self.key(k)? {
                        return Ok(ExitCode::SUCCESS);
                    }
                    // Take every key already typed before drawing again.
                    while let Ok(k) = keys.try_recv() {
                        if !self.key(k)? {
                            return Ok(ExitCode::SUCCESS);
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(ExitCode::SUCCESS),
            }
        }
    }

    /// Reload the pending questions; ring and notify for new ones.
    fn refresh(&mut self) -> anyhow::Result<()> {
        let now = clock::now_ms();
        self.pending = self.store.pending(now)?;
        let fresh: Vec<Question> = self.pending.iter().filter(|q| !self.seen.contains(&q.id)).cloned().collect();
        if !fresh.is_empty() {
            print!("\x07");
            let _ = std::io::stdout().flush();
            for q in &fresh {
                self.seen.insert(q.id);
                if let Some(n) = self.notifier {
                    notify(n, q);
                }
            }
        }
        if !self.pending.iter().any(|q| Some(q.id) == self.selected) {
            self.selected = self.pending.first().map(|q| q.id);
            self.scroll = 0;
            if let Mode::Feedback { id, .. } = &self.mode {
                if !self.pending.iter().any(|q| q.id == *id) {
                    let id = *id;
                    self.mode = Mode::Keys;
                    self.say(format!("question {id} is no longer waiting; feedback dropped"));
                }
            }
        }
        Ok(())
    }

    fn current(&self) -> Option<&Question> {
        self.pending.iter().find(|q| Some(q.id) == self.selected)
    }

    /// Handle one key; false quits.
    fn key(&mut self, k: Key) -> anyhow::Result<bool> {
        if let Mode::Feedback { id, text } = &mut self.mode {
            match k {
                Key::Enter => {
                    let (id, text) = (*id, std::mem::take(text));
                    self.mode = Mode::Keys;
                    self.answer(id, false, "once", Some(text))?;
                }
                Key::Escape => {
                    self.mode = Mode::Keys;
                    self.say("feedback cancelled");
                }
                Key::Backspace => {
                    text.pop();
                }
                Key::Char(c) if !c.is_control() => text.push(c),
                Key::CtrlC => return Ok(false),
                _ => {}
            }
            return Ok(true);
        }
        let Some(id) = self.selected else {
            return Ok(!matches!(k, Key::Char('q') | Key::Escape | Key::CtrlC));
        };
        let at = self.pending.iter().position(|q| q.id == id).unwrap_or(0);
        match k {
            Key::Char('q') | Key::Escape | Key::CtrlC => return Ok(false),
            Key::Char('a') => self.answer(id, true, "once", None)?,
            Key::Char('s') => self.answer(id, true, "session", None)?,
            Key::Char('A') => self.answer(id, true, "always", None)?,
            Key::Char('d') | Key::Enter => self.answer(id, false, "once", None)?,
            Key::Char('f') => self.mode = Mode::Feedback { id, text: String::new() },
            Key::ArrowUp | Key::Char('k') if at > 0 => {
                self.selected = Some(self.pending[at - 1].id);
                self.scroll = 0;
            }
            Key::ArrowDown | Key::Char('j') if at + 1 < self.pending.len() => {
                self.selected = Some(self.pending[at + 1].id);
                self.scroll = 0;
            }
            Key::PageDown | Key::Char(' ') => self.scroll += self.page(),
            Key::PageUp => self.scroll = self.scroll.saturating_sub(self.page()),
            _ => {}
        }
        Ok(true)
    }

    /// Lines of the change shown at once: what the terminal has room for.
    fn page(&self) -> usize {
        let (rows, _) = Term::stdout().size();
        (rows as usize).saturating_sub(16 + self.pending.len().min(6)).max(5)
    }

    fn answer(&mut self, id: i64, allow: bool, scope: &str, feedback: Option<String>) -> anyhow::Result<()> {
        let a =
            Answer { allow, scope: scope.into(), approver: self.approver.clone(), source: "watch".into(), feedback };
        let q = self.pending.iter().find(|q| q.id == id).cloned();
        match self.store.answer_question(id, &a, clock::now_ms())? {
            AnswerResult::Accepted => {
                let verb = if allow { "allowed" } else { "denied" };
                let how = match scope {
                    "session" => " for this session",
                    "always" => " (always)",
                    _ => "",
                };
                self.say(format!("question {id}: {verb}{how}"));
                if scope == "always" {
                    if let Some(q) = q {
                        let lines = always_allow(&self.paths, &q, "watch")?;
                        for l in lines {
                            self.say(l);
                        }
                    }
                }
            }
            AnswerResult::Refused(latest) => self.say(refusal(&latest)),
            AnswerResult::NotFound => self.say(format!("question {id} is gone")),
        }
        Ok(())
    }

    fn draw(&mut self) {
        let t = Term::stdout();
        let (rows, cols) = t.size();
        let (rows, cols) = (rows as usize, (cols as usize).max(20));
        let p = self.p;
        let now = clock::now_ms();
        let fit = |s: &str| term::ellipsize(s, cols).into_owned();
        let mut lines: Vec<String> = Vec::new();
        let n = self.pending.len();
        lines.push(
            p.bold(&fit(&format!("gate watch: answering as {} · {n} pending · q quits", self.approver))).into_owned(),
        );
        if n == 0 {
            lines.push(p.dim("waiting for questions…").into_owned());
        } else {
            for q in self.pending.iter().take(8) {
                let mark = if Some(q.id) == self.selected { ">" } else { " " };
                let what = term::sanitize(q.target.as_deref().unwrap_or("-")).replace('\n', " ");
                let row = format!(
                    "{mark} {:>4}  {:<11} {:<10} {}  {}",
                    q.id,
                    term::sanitize(q.agent.as_deref().unwrap_or("-")),
                    term::sanitize(q.tool.as_deref().unwrap_or("-")),
                    countdown(q.expires_ms - now),
                    what
                );
                lines.push(fit(&row));
            }
            if n > 8 {
                lines.push(p.dim(&format!("  … {} more", n - 8)).into_owned());
            }
        }
        lines.push(p.dim(&"─".repeat(cols.min(100))).into_owned());
        if let Some(q) = self.current().cloned() {
            let s = |v: &Option<String>| term::sanitize(v.as_deref().unwrap_or("-")).into_owned();
            let session: String = q.session_id.as_deref().unwrap_or("-").chars().take(8).collect();
            lines.push(p.bold(&format!("question {}", q.id)).into_owned());
            lines.push(fit(&format!("  agent    {}   session {}", s(&q.agent), term::sanitize(&session))));
            lines.push(fit(&format!("  cwd      {}", s(&q.cwd))));
            lines.push(fit(&format!("  tool     {}", s(&q.tool))));
            let rule = match (&q.rule_id, &q.rule_origin) {
                (Some(id), Some(o)) => format!(" (rule {id}, {o})"),
                _ => String::new(),
            };
            lines.push(fit(&format!("  why      {}{}", s(&q.reason), term::sanitize(&rule))));
            lines.push(format!(
                "  waiting  {}s; expires in {}",
                (now - q.created_ms).max(0) / 1000,
                countdown(q.expires_ms - now)
            ));
            let body = body_lines(&q, p);
            match q.tool_kind.as_deref() {
                Some("edit") | Some("write") if !body.is_empty() => {
                    lines.push(fit(&format!("  file     {}", s(&q.target))));
                    let page = self.page();
                    let start = self.scroll.min(body.len().saturating_sub(1));
                    let end = (start + page).min(body.len());
                    if start > 0 {
                        lines.push(p.dim(&format!("    … {start} lines above (PgUp)")).into_owned());
                    }
                    lines.extend(body[start..end].iter().cloned());
                    let more = body.len() - end;
                    if more > 0 {
                        let s = if more == 1 { "" } else { "s" };
                        lines.push(p.dim(&format!("    … {more} more line{s} (space or PgDn)")).into_owned());
                    }
                }
                _ => {
                    // The whole command, wrapped: the human approves what they see.
                    let text = s(&q.target);
                    lines.push("  command".into());
                    for l in text.lines() {
                        for chunk in wrap(l, cols.saturating_sub(4).max(10)) {
                            lines.push(format!("    {}", p.bold(&chunk)));
                        }
                    }
                }
            }
            lines.push(p.dim(&"─".repeat(cols.min(100))).into_owned());
            match &self.mode {
                Mode::Feedback { id, text } => {
                    lines.push(format!("Feedback for the agent (question {id}, Enter sends the deny, Esc cancels):"));
                    lines.push(format!("> {}", term::sanitize(text)));
                }
                Mode::Keys => {
                    lines.push(fit(&format!(
                        "Answer question {}: a allow once · s this session · A always · d/Enter deny · f deny with feedback · ↑↓ questions",
                        q.id
                    )));
                }
            }
        }
        let room = rows.saturating_sub(lines.len() + 1);
        let msgs: Vec<String> = self.messages.iter().rev().take(room.min(4)).rev().map(|m| fit(m)).collect();
        lines.extend(msgs);
        // Keep the answer line on screen: cut the body, never the footer.
        if lines.len() > rows && rows > 0 {
            let footer = lines.split_off(lines.len().saturating_sub(6.min(rows)));
            lines.truncate(rows.saturating_sub(footer.len()));
            lines.extend(footer);
        }
        let mut frame = String::from("\x1b[H\x1b[2J");
        frame.push_str(&lines.join("\r\n"));
        let _ = t.write_str(&frame);
    }
}

/// `m:ss` left.
fn countdown(ms: i64) -> String {
    let s = (ms.max(0) + 999) / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

fn wrap(line: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(width).map(|c| c.iter().collect()).collect()
}

/// The desktop notifier on this machine, if any.
fn notifier() -> Option<&'static str> {
    let on_path = |p: &str| {
        std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(p).is_file()))
    };
    if cfg!(target_os = "macos") && on_path("osascript") {
        Some("osascript")
    } else if on_path("notify-send") {
        Some("notify-send")
    } else {
        None
    }
}

fn notify(notifier: &str, q: &Question) {
    let body =
        format!("{}: {}", q.tool.as_deref().unwrap_or("tool"), term::ellipsize(q.target.as_deref().unwrap_or(""), 120));
    let mut c = std::process::Command::new(notifier);
    if notifier == "osascript" {
        let quoted = serde_json::to_string(&body).unwrap_or_default();
        c.args(["-e", &format!("display notification {quoted} with title \"gate: an agent is waiting for you\"")]);
    } else {
        c.args(["--app-name=gate", "gate: an agent is waiting for you", &body]);
    }
    let _ = c
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|mut c| std::thread::spawn(move || c.wait()));
}

/// One line of the change a question would make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Which edit or cell the lines below belong to.
    Note(String),
    /// A line taken away.
    Old(String),
    /// A line put in.
    New(String),
}

/// The lines of the change a question would make, in full: every edit of
/// an Edit or MultiEdit, a NotebookEdit's cell, a Write's content. Raw
/// agent text: each surface escapes it for itself.
pub(crate) fn change_lines(q: &Question) -> Vec<Change> {
    let args: Value = q.args.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or(Value::Null);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut out = Vec::new();
    let diff = |out: &mut Vec<Change>, old: &str, new: &str| {
        out.extend(old.lines().map(|l| Change::Old(l.to_string())));
        out.extend(new.lines().map(|l| Change::New(l.to_string())));
    };
    if let Some(edits) = args.get("edits").and_then(Value::as_array) {
        for (i, e) in edits.iter().enumerate() {
            let all = if e.get("replace_all").and_then(Value::as_bool) == Some(true) { ", every match" } else { "" };
            out.push(Change::Note(format!("edit {} of {}{all}", i + 1, edits.len())));
            diff(&mut out, &text(e, "old_string"), &text(e, "new_string"));
        }
    } else if args.get("new_source").is_some() || args.get("edit_mode").is_some() {
        let mode = args.get("edit_mode").and_then(Value::as_str).unwrap_or("replace");
        let cell = args.get("cell_id").and_then(Value::as_str).unwrap_or("-");
        out.push(Change::Note(format!("cell {cell} ({mode})")));
        if mode != "delete" {
            diff(&mut out, "", &text(&args, "new_source"));
        }
    } else if args.get("content").is_some() && args.get("old_string").is_none() {
        diff(&mut out, "", &text(&args, "content"));
    } else if args.get("old_string").is_some() || args.get("new_string").is_some() {
        diff(&mut out, &text(&args, "old_string"), &text(&args, "new_string"));
    }
    out
}

/// The change's lines for the terminal, coloured and sanitized.
fn body_lines(q: &Question, p: term::Paint) -> Vec<String> {
    change_lines(q)
        .into_iter()
        .map(|c| match c {
            Change::Note(n) => format!("    {}", p.dim(&term::sanitize(&n))),
            Change::Old(l) => format!("    {}", p.red(&format!("-{}", term::sanitize(&l)))),
            Change::New(l) => format!("    {}", p.green(&format!("+{}", term::sanitize(&l)))),
        })
        .collect()
}

/// Append the question's allow rule to the user policy; the lines that say
/// what happened. `surface` names who added it (`watch`, `serve`).
pub(crate) fn always_allow(paths: &Paths, q: &Question, surface: &str) -> anyhow::Result<Vec<String>> {
    let Some(rule) = &q.always_rule else {
        return Ok(vec![
            "no rule written, the call was allowed once: no allow rule can say exactly what you approved \
             (a policy rule asks for it, and ask beats allow; or it sets environment variables or redirects input \
             or output, which allow rules never cover)"
                .into(),
        ]);
    };
    let path = paths.user_policy();
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    // Readable ids (`allow-npm-test`), made unique against the rules already there.
    let rule = crate::broker::unique_ids(rule, &crate::broker::ids_in(&text));
    text.push_str(&format!("\n# Added by gate {surface} for question {}.\n{rule}", q.id));
    // Only write a policy that still loads.
    let macros = crate::config::macros(paths);
    if let Err(errs) =
        crate::policy::load::parse(&text, &path.to_string_lossy(), crate::policy::rule::Layer::User, &macros)
    {
        return Ok(vec![format!("not writing the rule, it would break your policy: {}", errs[0])]);
    }
    paths.ensure_dirs()?;
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, &text)?;
    std::fs::rename(&tmp, &path)?;
    let mut out = vec![format!("added to {}:", path.display())];
    out.push(rule.lines().map(str::trim).collect::<Vec<_>>().join(" "));
    Ok(out)
}
