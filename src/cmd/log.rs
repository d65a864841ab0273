//! `gate log`: the receipt read as a story, for the person who has to
//! review what an agent did. Without a filter it lists recent sessions;
//! with a session (or any call filter) it prints a line per tool call (when,
//! what was decided, who or which rule decided, the command or path, how it
//! ended), the diff of every edit and write, and per session the files
//! touched and the commands that ran without being proven read-only.
//! Times are local with the zone shown (`--utc` for UTC), and a warning
//! line says when any row shown does not verify. `--follow` keeps printing
//! calls as they are recorded. Text is coloured on a terminal, plain when
//! piped; `--json` gives the calls as records. A long text goes through
//! the pager on a terminal; hints go to stderr, and only on a terminal.

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{LogArgs, OutcomeArg};
use crate::clock;
use crate::review::calls::{CallFold, ReviewCall as Call};
use crate::review::diff::{self, Change, Line};
use crate::store::{Filter, Receipt, RowKind, SessionSummary, Source, Status, Store, ToolKind, Verdict};
use crate::term::{self, Paint};

/// A call as `gate log --json` prints it.
#[derive(Debug, Serialize)]
pub struct CallRecord<'a> {
    pub seq: i64,
    /// Read from a team store: whose store holds the call, and its machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub developer: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<&'a String>,
    pub ts: String,
    pub session_id: &'a Option<String>,
    pub agent: &'a Option<String>,
    pub tool: &'a Option<String>,
    pub kind: Option<ToolKind>,
    pub target: &'a Option<String>,
    /// The final decision: an `asked` call becomes `approved` once it ran.
    pub decision: Option<Verdict>,
    pub gate_decision: Option<Verdict>,
    pub approver: &'a Option<String>,
    pub source: Option<Source>,
    pub rule: &'a Option<String>,
    pub rule_origin: &'a Option<String>,
    pub reason: &'a Option<String>,
    pub outcome: Option<Status>,
    pub duration_ms: Option<i64>,
    pub error: &'a Option<String>,
    /// The files it changed and how.
    pub changes: Vec<FileChange>,
}

/// A session as `gate log --json` lists it (docs/json.md).
#[derive(Debug, Serialize)]
pub struct SessionRecord<'a> {
    pub session_id: &'a str,
    /// Read from a team store: whose store holds the session, and its machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub developer: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: &'a Option<String>,
    pub agent: &'a Option<String>,
    pub cwd: &'a Option<String>,
    pub started: String,
    pub last: String,
    /// Every tool call; the four counts after it add up to it.
    pub calls: i64,
    pub auto_approved: i64,
    pub approved: i64,
    pub denied: i64,
    /// No one answered: the question expired, the agent gave up, or it still waits.
    pub expired: i64,
    /// Calls gate asked about before they were settled (counted in the four above too).
    pub asked_first: i64,
}

impl<'a> SessionRecord<'a> {
    fn of(s: &'a SessionSummary) -> SessionRecord<'a> {
        SessionRecord {
            session_id: &s.session_id,
            developer: &s.developer,
            host: &s.host,
            agent: &s.agent,
            cwd: &s.cwd,
            started: clock::format_ms(s.started),
            last: clock::format_ms(s.last),
            calls: s.calls,
            auto_approved: s.auto_approved,
            approved: s.approved,
            denied: s.denied,
            expired: s.expired,
            asked_first: s.asked,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FileChange {
    pub path: String,
    pub change: Change,
}

impl<'a> CallRecord<'a> {
    fn of(c: &'a Call) -> CallRecord<'a> {
        CallRecord {
            seq: c.seq,
            developer: &c.developer,
            host: c.developer.as_ref().and(c.host.as_ref()),
            ts: clock::format_ms(c.ts),
            session_id: &c.session_id,
            agent: &c.agent,
            tool: &c.tool,
            kind: c.kind,
            target: &c.target,
            decision: c.decision,
            gate_decision: c.gate_decision,
            approver: &c.approver,
            source: c.source,
            rule: &c.rule_id,
            rule_origin: &c.rule_origin,
            reason: &c.reason,
            outcome: c.outcome,
            duration_ms: c.duration_ms,
            error: &c.error,
            changes: c.diffs().into_iter().map(|d| FileChange { path: d.path, change: d.change }).collect(),
        }
    }
}

/// Whether a call passes the call-level filters.
fn matches(c: &Call, f: &CallFilter) -> bool {
    let lower = |s: &Option<String>| s.as_deref().unwrap_or("").to_lowercase();
    f.decision.is_none_or(|d| c.decision == Some(d) || c.gate_decision == Some(d))
        && f.source.is_none_or(|s| c.source == Some(s))
        && f.approver.as_ref().is_none_or(|a| c.approver.as_ref() == Some(a))
        && f.rule.as_ref().is_none_or(|r| match r.strip_suffix('*') {
            Some(prefix) => c.rule_id.as_deref().is_some_and(|id| id.starts_with(prefix)),
            None => c.rule_id.as_ref() == Some(r),
        })
        && f.text.as_ref().is_none_or(|t| {
            let t = t.to_lowercase();
            lower(&c.target).contains(&t)
                || c.args.as_ref().is_some_and(|a| a.0.to_lowercase().contains(&t))
                || lower(&c.reason).contains(&t)
        })
        && f.outcome.is_none_or(|o| match o {
            OutcomeArg::NotRun => !c.ran(),
            OutcomeArg::Success => c.outcome == Some(Status::Success),
            OutcomeArg::Error => c.outcome == Some(Status::Error),
            OutcomeArg::Interrupted => c.outcome == Some(Status::Interrupted),
            OutcomeArg::Ran => c.outcome.is_some(),
        })
}

/// The filters that apply to a whole call, once its rows are folded.
#[derive(Debug, Default)]
struct CallFilter {
    decision: Option<Verdict>,
    source: Option<Source>,
    approver: Option<String>,
    rule: Option<String>,
    text: Option<String>,
    outcome: Option<OutcomeArg>,
}

impl CallFilter {
    fn any(&self) -> bool {
        self.decision.is_some()
            || self.source.is_some()
            || self.approver.is_some()
            || self.rule.is_some()
            || self.text.is_some()
            || self.outcome.is_some()
    }
}

/// Group rows into calls, in order; an outcome whose decision is not among
/// the rows becomes a call of its own.
pub fn calls_of(rows: &[Receipt]) -> Vec<Call> {
    let mut fold = CallFold::keeping_orphans();
    for r in rows {
        fold.push(r);
    }
    fold.finish()
}

/// Rows whose hash or link to the row before them does not check out.
#[derive(Debug, Default)]
struct Unverified {
    count: usize,
    first: Option<(i64, &'static str)>,
}

impl Unverified {
    fn add(&mut self, other: Unverified) {
        self.count += other.count;
        if self.first.is_none() {
            self.first = other.first;
        }
    }

    fn check(rows: &[Receipt]) -> Unverified {
        let mut u = Unverified::default();
        let mut prev: Option<&Receipt> = None;
        for r in rows {
            let problem = if !r.is_intact() {
                Some("edited")
            } else if prev.is_some_and(|p| p.seq + 1 == r.seq && p.hash != r.prev_hash) {
                Some("out of order")
            } else {
                None
            };
            if let Some(p) = problem {
                u.count += 1;
                u.first.get_or_insert((r.seq, p));
            }
            prev = Some(r);
        }
        u
    }

    fn warning(&self, shown: usize) -> Option<String> {
        let (seq, what) = self.first?;
        Some(format!(
            "warning: {} of the {shown} rows shown do not verify (first: seq {seq}, {what}); run `gate verify`",
            self.count
        ))
    }
}

pub fn run(args: LogArgs, pager: bool) -> anyhow::Result<ExitCode> {
    let mut filter = crate::cmd::filter_of(&args.filter)?;
    if let Some(s) = &args.session_id {
        filter.session = Some(s.clone());
    }
    if args.follow && args.filter.from.is_some() {
        anyhow::bail!("--follow watches this machine's receipt as it grows; it cannot follow a team store (--from)");
    }
    let store = match crate::cmd::Receipts::open(args.filter.from.as_deref(), &mut filter) {
        Ok(store) => store,
        // A fresh home: nothing recorded yet is not an error.
        Err(e) if crate::cmd::nothing_yet(&e) => {
            println!("{}", if args.json { "[]".to_string() } else { e.to_string() });
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e),
    };
    let paint = Paint(!args.json && term::colour_stdout());
    let utc = args.utc;
    // Text for a person is paged; JSON and `--follow` never are.
    let mut out = term::Pager::start(pager && !args.json && !args.follow);
    let calls_filter = CallFilter {
        decision: filter.decision.take(),
        source: filter.source.take(),
        approver: filter.approver.take(),
        rule: filter.rule.take(),
        text: filter.text.take(),
        outcome: args.outcome,
    };
    let story = filter.session.is_some() || filter.tool.is_some() || calls_filter.any() || args.follow;
    if !story {
        let sessions = store.sessions(&filter, args.limit, !args.all)?;
        if args.json {
            let records: Vec<SessionRecord> = sessions.iter().map(SessionRecord::of).collect();
            serde_json::to_writer_pretty(&mut out, &records)?;
            writeln!(out)?;
        } else if sessions.is_empty() {
            let what = if args.all { "sessions" } else { "sessions with a tool call" };
            match filter.narrows_calls() || filter.since.is_some() || filter.until.is_some() {
                true => writeln!(out, "no {what} match")?,
                false => writeln!(out, "no {what} recorded yet")?,
            }
        } else {
            write_sessions(&mut out, &sessions, paint, utc)?;
        }
        out.finish()?;
        if !args.json && !sessions.is_empty() && term::stdout_is_terminal() {
            eprintln!("{}", Paint(term::colour_stdout()).dim("`gate log <session>` tells one session's story."));
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Seqs are per store: each store's rows are checked and folded on their own.
    let groups = load_groups(&store, &filter)?;
    let mut unverified = Unverified::default();
    let mut calls = Vec::new();
    let mut shown_rows = 0;
    for (origin, rows) in &groups {
        shown_rows += rows.len();
        unverified.add(Unverified::check(rows));
        let mut group = calls_of(rows);
        if let Some(o) = origin {
            for c in &mut group {
                c.developer = Some(o.developer.clone());
                c.host = Some(o.host.clone());
            }
        }
        calls.extend(group);
    }
    if groups.len() > 1 {
        calls.sort_by_key(|c| c.ts);
    }
    calls.retain(|c| matches(c, &calls_filter));
    let tool_width = calls.iter().map(|c| tool_name(c).chars().count()).max().unwrap_or(0).clamp(6, TOOL_WIDTH);
    let opts = StoryOptions { show_session: filter.session.is_none(), diffs: !args.no_diff, utc, paint, tool_width };
    if args.json {
        if let Some(w) = unverified.warning(shown_rows) {
            eprintln!("gate: {w}");
        }
        let records: Vec<CallRecord> = calls.iter().map(CallRecord::of).collect();
        serde_json::to_writer_pretty(&mut out, &records)?;
        writeln!(out)?;
    } else {
        if let Some(w) = unverified.warning(shown_rows) {
            writeln!(out, "{}", paint.red(&w))?;
        }
        write_story(&mut out, &calls, &opts)?;
        if filter.session.is_some() && !args.follow {
            write_changes(&mut out, &calls, paint)?;
        }
        if let Some(w) = unverified.warning(shown_rows) {
            writeln!(out, "{}", paint.red(&w))?;
        }
    }
    out.finish()?;
    if let (true, crate::cmd::Receipts::Local(store)) = (args.follow, &store) {
        let seen = calls.iter().map(|c| c.seq).collect();
        let last = groups.last().and_then(|(_, rows)| rows.last()).map_or(0, |r| r.seq);
        follow(store, &filter, &calls_filter, last, seen, &opts)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The rows a story needs, store by store (the local receipt is one store).
type Group = (Option<crate::team::read::Origin>, Vec<Receipt>);

fn load_groups(store: &crate::cmd::Receipts, filter: &Filter) -> anyhow::Result<Vec<Group>> {
    let mut groups: Vec<Group> = Vec::new();
    store.for_each_store(filter, &mut |o, r| {
        match groups.last_mut() {
            Some((last, rows)) if last.as_ref() == o => rows.push(r),
            _ => groups.push((o.cloned(), vec![r])),
        }
        Ok(true)
    })?;
    Ok(groups)
}

/// The rows a story needs, after `after_seq`. Call-level filters are not
/// applied here: an outcome row carries no rule or decision of its own.
fn load_rows(store: &Store, filter: &Filter, after_seq: i64) -> anyhow::Result<Vec<Receipt>> {
    let mut rows = Vec::new();
    store.for_each(filter, |r| {
        if r.seq > after_seq {
            rows.push(r);
        }
        Ok(true)
    })?;
    Ok(rows)
}

/// Keep printing calls as they are recorded, until interrupted. A call is
/// printed when its decision arrives; its outcome follows on a line of its
/// own.
fn follow(
    store: &Store,
    filter: &Filter,
    calls_filter: &CallFilter,
    mut last: i64,
    mut shown: std::collections::HashSet<i64>,
    opts: &StoryOptions,
) -> anyhow::Result<()> {
    let mut last_date = Some(clock::shown(clock::now_ms(), opts.utc).date);
    let mut since = filter.clone();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(250));
        since.since = filter.since;
        let rows = load_rows(store, &since, last)?;
        if rows.is_empty() {
            continue;
        }
        let mut out = std::io::stdout().lock();
        let unverified = Unverified::check(&rows);
        if let Some(w) = unverified.warning(rows.len()) {
            writeln!(out, "{}", opts.paint.red(&w))?;
        }
        for r in &rows {
            match r.row_kind() {
                RowKind::Decision => {
                    let calls = calls_of(std::slice::from_ref(r));
                    if let Some(c) = calls.first().filter(|c| matches(c, calls_filter)) {
                        write_call(&mut out, c, opts, &mut last_date)?;
                        shown.insert(c.seq);
                    }
                }
                RowKind::Outcome | RowKind::Answer => {
                    if let Some(link) = r.links_seq.filter(|s| shown.contains(s)) {
                        let what = match (r.row_kind(), r.status, r.decision) {
                            (RowKind::Outcome, Some(s), _) => match r.duration_ms {
                                Some(ms) => format!("→ {s} {ms}ms"),
                                None => format!("→ {s}"),
                            },
                            (_, _, Some(d)) => {
                                format!("→ {d} by {}", term::sanitize(r.approver.as_deref().unwrap_or("unknown")))
                            }
                            _ => continue,
                        };
                        let at = clock::shown(r.ts.0, opts.utc);
                        writeln!(out, "{}  {}", at.time, opts.paint.dim(&format!("seq {link} {what}")))?;
                    }
                }
                _ => {}
            }
        }
        out.flush()?;
        last = rows.last().map_or(last, |r| r.seq);
    }
}

fn write_sessions(out: &mut impl Write, sessions: &[SessionSummary], p: Paint, utc: bool) -> std::io::Result<()> {
    let zone = clock::shown(clock::now_ms(), utc).zone;
    let started = format!("STARTED ({zone})");
    let started_w = started.chars().count().max(19);
    let agent = |s: &SessionSummary| term::sanitize(s.agent.as_deref().unwrap_or("-")).into_owned();
    let agent_w = sessions.iter().map(|s| agent(s).chars().count()).max().unwrap_or(0).max(5);
    // Read from a team store: whose store each session is in.
    let who = |s: &SessionSummary| whose(&s.developer, &s.host).unwrap_or_default();
    let team = sessions.iter().any(|s| s.developer.is_some());
    let who_w = sessions.iter().map(|s| who(s).chars().count()).max().unwrap_or(0).max(9);
    let who_col = |text: &str| if team { format!("{text:<who_w$}  ") } else { String::new() };
    let header = format!(
        "{started:<started_w$}  {:<agent_w$}  {}{:<8}  CALLS  AUTO  APPROVED  DENIED  EXPIRED  ASKED FIRST  CWD",
        "AGENT",
        who_col("DEVELOPER"),
        "SESSION"
    );
    writeln!(out, "{}", p.bold(&header))?;
    for s in sessions {
        let at = clock::shown(s.started, utc);
        let id: String = s.session_id.chars().take(8).collect();
        writeln!(
            out,
            "{:<started_w$}  {:<agent_w$}  {}{:<8}  {:>5}  {:>4}  {:>8}  {:>6}  {:>7}  {:>11}  {}",
            format!("{} {}", at.date, at.time),
            agent(s),
            who_col(&who(s)),
            term::sanitize(&id),
            s.calls,
            s.auto_approved,
            s.approved,
            s.denied,
            s.expired,
            s.asked,
            term::sanitize(s.cwd.as_deref().unwrap_or("-")),
        )?;
    }
    Ok(())
}

/// `developer@host`, for what a team store holds (`None` for the local receipt).
fn whose(developer: &Option<String>, host: &Option<String>) -> Option<String> {
    let d = developer.as_deref()?;
    let text = match host {
        Some(h) => format!("{d}@{h}"),
        None => d.to_string(),
    };
    Some(term::sanitize(&text).into_owned())
}

/// The widest tool column: a longer tool name is cut to it.
const TOOL_WIDTH: usize = 40;

fn tool_name(c: &Call) -> std::borrow::Cow<'_, str> {
    term::sanitize(c.tool.as_deref().unwrap_or("-"))
}

struct StoryOptions {
    show_session: bool,
    diffs: bool,
    utc: bool,
    paint: Paint,
    /// The tool column's width: the longest tool name shown, at least 6.
    tool_width: usize,
}

fn write_story(out: &mut impl Write, calls: &[Call], opts: &StoryOptions) -> std::io::Result<()> {
    if calls.is_empty() {
        return writeln!(out, "no tool calls match");
    }
    let p = opts.paint;
    // A team store's sessions are told apart by whose store holds them too.
    let mut last_session: Option<(&str, Option<&str>, Option<&str>)> = None;
    let mut last_date: Option<String> = None;
    for c in calls {
        let sid = c.session_id.as_deref().unwrap_or("-");
        let key = (sid, c.developer.as_deref(), c.developer.as_ref().and(c.host.as_deref()));
        if last_session != Some(key) {
            let at = clock::shown(c.ts, opts.utc);
            let owner = whose(&c.developer, &c.host).map_or_else(String::new, |w| format!("  {w}"));
            writeln!(
                out,
                "{} {}  {}{owner}  {}  {}",
                p.bold("session"),
                term::sanitize(sid),
                term::sanitize(c.agent.as_deref().unwrap_or("-")),
                term::sanitize(c.cwd.as_deref().unwrap_or("-")),
                p.dim(&format!("{} {} {}", at.date, at.time, at.zone))
            )?;
            last_date = Some(at.date);
        }
        last_session = Some(key);
        write_call(out, c, opts, &mut last_date)?;
    }
    Ok(())
}

/// One call's line (with its date first when the day changed), its reason
/// when it was refused, and its diff.
fn write_call(out: &mut impl Write, c: &Call, opts: &StoryOptions, last_date: &mut Option<String>) -> std::io::Result<()> {
    let p = opts.paint;
    let at = clock::shown(c.ts, opts.utc);
    if last_date.as_deref() != Some(at.date.as_str()) {
        writeln!(out, "{}", p.dim(&format!("── {} {}", at.date, at.zone)))?;
        *last_date = Some(at.date.clone());
    }
    let decision = c.decision.map_or("no decision", Verdict::as_str);
    let label = match (c.gate_decision, c.decision) {
        (Some(Verdict::Asked), Some(d)) if d != Verdict::Asked => format!("asked→{d}"),
        _ => decision.to_string(),
    };
    let coloured = match c.decision {
        Some(d) if d.allowed() => p.green(&label).into_owned(),
        Some(d) if d.refused() => p.red(&label).into_owned(),
        _ => p.yellow(&label).into_owned(),
    };
    let pad = " ".repeat(16usize.saturating_sub(label.chars().count()));
    let who = who_decided(c);
    let what = term::sanitize(c.target.as_deref().unwrap_or("")).into_owned();
    let what = term::ellipsize(&what, 100).into_owned();
    let refused = c.decision.is_some_and(Verdict::refused);
    let outcome = match (&c.outcome, c.duration_ms) {
        (Some(o), Some(ms)) => format!("  → {o} {ms}ms"),
        (Some(o), None) => format!("  → {o}"),
        (None, _) if refused => "  → not run".to_string(),
        (None, _) => String::new(),
    };
    let prefix = if opts.show_session {
        format!("{} ", p.dim(&c.session_id.as_deref().unwrap_or("-").chars().take(8).collect::<String>()))
    } else {
        String::new()
    };
    let tool_w = opts.tool_width;
    writeln!(
        out,
        "{prefix}{}  {coloured}{pad}  {:<28}  {:<tool_w$}  {}{}",
        at.time,
        term::ellipsize(&term::sanitize(&who), 28),
        term::ellipsize(&tool_name(c), tool_w),
        what,
        p.dim(&outcome),
    )?;
    if refused {
        if let Some(reason) = &c.reason {
            writeln!(out, "          {}", p.dim(&term::ellipsize(&term::sanitize(reason), 140)))?;
        }
    }
    // What it changed, once it ran (or was let run): a refused call that
    // ran anyway shows its diff too.
    if opts.diffs && c.ran() {
        for d in c.diffs() {
            write_diff(out, &d, p)?;
        }
    }
    Ok(())
}

/// Lines of one file's diff shown before the rest is summarised.
const DIFF_LINES: usize = 40;

fn write_diff(out: &mut impl Write, d: &diff::FileDiff, p: Paint) -> std::io::Result<()> {
    const INDENT: &str = "          ";
    writeln!(out, "{INDENT}{}", p.bold(&format!("{} {}", d.change.as_str(), term::sanitize(&d.path))))?;
    for l in d.lines.iter().take(DIFF_LINES) {
        let text = match l {
            Line::Hunk(h) => p.cyan(&term::sanitize(h)).into_owned(),
            Line::Context(t) => format!(" {}", term::sanitize(t)),
            Line::Removed(t) => p.red(&format!("-{}", term::sanitize(t))).into_owned(),
            Line::Added(t) => p.green(&format!("+{}", term::sanitize(t))).into_owned(),
            Line::Note(t) => p.dim(&term::sanitize(t)).into_owned(),
        };
        writeln!(out, "{INDENT}{text}")?;
    }
    if d.lines.len() > DIFF_LINES {
        writeln!(out, "{INDENT}{}", p.dim(&format!("… {} more lines", d.lines.len() - DIFF_LINES)))?;
    }
    Ok(())
}

/// A session's files touched, and the shell commands that ran without the
/// floor proving them read-only (the ones that may have written).
fn write_changes(out: &mut impl Write, calls: &[Call], p: Paint) -> std::io::Result<()> {
    let mut files: Vec<(String, Change, &Call)> = Vec::new();
    for c in calls.iter().filter(|c| c.ran()) {
        for d in c.diffs() {
            files.push((d.path, d.change, c));
        }
    }
    let commands: Vec<&Call> = calls
        .iter()
        .filter(|c| {
            c.ran() && c.kind == Some(ToolKind(crate::action::Kind::Shell)) && c.source != Some(Source::Floor)
        })
        .collect();
    if files.is_empty() && commands.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    if !files.is_empty() {
        writeln!(out, "{}", p.bold("files touched"))?;
        for (path, change, c) in &files {
            writeln!(
                out,
                "  {:<8}  {}  {}",
                change.as_str(),
                term::sanitize(path),
                p.dim(&format!("({} seq {})", term::sanitize(c.tool.as_deref().unwrap_or("-")), c.seq))
            )?;
        }
    }
    if !commands.is_empty() {
        writeln!(out, "{}", p.bold("commands that ran without being proven read-only"))?;
        for c in commands {
            writeln!(
                out,
                "  {}  {}",
                term::ellipsize(&term::sanitize(c.target.as_deref().unwrap_or("")), 100),
                p.dim(&format!("(seq {}, {})", c.seq, term::sanitize(&who_decided(c))))
            )?;
        }
    }
    Ok(())
}

fn who_decided(c: &Call) -> String {
    match (c.source, &c.rule_id) {
        (Some(Source::Floor | Source::Rule | Source::Mode), Some(rule)) => rule.clone(),
        (Some(Source::Error), _) => "gate (error)".to_string(),
        (Some(src), _) => format!("{} via {src}", c.approver.as_deref().unwrap_or("unknown")),
        (None, _) => "-".to_string(),
    }
}
