//! `gate log`: the receipt read as a story. Without a session it lists the
//! recent sessions with their counts; with one it prints a line per tool
//! call: when, what was decided, who or which rule decided, the command or
//! path, and how it ended. Text is coloured on a terminal, plain when piped,
//! and `--json` gives the same calls as machine-readable records.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::LogArgs;
use crate::clock;
use crate::store::{Receipt, RowKind, Source, Status, Store, ToolKind, Verdict};
use crate::term::{self, Paint};

/// One tool call: its decision row and what came after it.
#[derive(Debug, Serialize)]
pub struct Call {
    pub seq: i64,
    pub ts: String,
    pub session_id: Option<String>,
    pub agent: Option<String>,
    pub tool: Option<String>,
    pub kind: Option<ToolKind>,
    pub target: Option<String>,
    /// The final decision: an `asked` call becomes `approved` once it ran.
    pub decision: Option<Verdict>,
    pub gate_decision: Option<Verdict>,
    pub approver: Option<String>,
    pub source: Option<Source>,
    pub rule: Option<String>,
    pub rule_origin: Option<String>,
    pub reason: Option<String>,
    pub outcome: Option<Status>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
}

impl Call {
    fn from_decision(r: &Receipt) -> Call {
        Call {
            seq: r.seq,
            ts: clock::format_ms(r.ts.0),
            session_id: r.session_id.clone(),
            agent: r.agent.clone(),
            tool: r.tool.clone(),
            kind: r.tool_kind,
            target: r.target.clone(),
            decision: r.decision,
            gate_decision: r.decision,
            approver: r.approver.clone(),
            source: r.source,
            rule: r.rule_id.clone(),
            rule_origin: r.rule_origin.clone(),
            reason: r.reason.clone(),
            outcome: None,
            duration_ms: None,
            error: None,
        }
    }

    /// Fold in a later row (outcome or answer) that links to this call.
    fn absorb(&mut self, r: &Receipt) {
        if r.kind == RowKind::Outcome {
            self.outcome = r.status;
            self.duration_ms = r.duration_ms;
            self.error = r.error.clone();
        }
        if let Some(d) = r.decision {
            self.decision = Some(d);
            self.approver = r.approver.clone();
            self.source = r.source;
        }
    }
}

/// Group rows into calls, in order. Rows that link to no decision row in
/// the set (an outcome with no decision on record) become calls of their own.
pub fn calls_of(rows: &[Receipt]) -> Vec<Call> {
    let mut calls: Vec<Call> = Vec::new();
    let mut by_seq: HashMap<i64, usize> = HashMap::new();
    for r in rows {
        match r.row_kind() {
            RowKind::Decision => {
                by_seq.insert(r.seq, calls.len());
                calls.push(Call::from_decision(r));
            }
            RowKind::Outcome | RowKind::Answer => match r.links_seq.and_then(|s| by_seq.get(&s)) {
                Some(&i) => calls[i].absorb(r),
                None if r.kind == RowKind::Outcome => {
                    let mut c = Call::from_decision(r);
                    c.decision = None;
                    c.gate_decision = None;
                    c.absorb(r);
                    calls.push(c);
                }
                None => {}
            },
            _ => {}
        }
    }
    calls
}

pub fn run(args: LogArgs) -> anyhow::Result<ExitCode> {
    let mut filter = crate::cmd::filter_of(&args.filter)?;
    if let Some(s) = &args.session_id {
        filter.session = Some(s.clone());
    }
    let store = crate::cmd::open_for_reading(&mut filter)?;
    let paint = Paint(!args.json && term::colour_stdout());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let story =
        filter.session.is_some() || filter.tool.is_some() || filter.decision.is_some() || filter.source.is_some();
    if !story {
        let sessions = store.sessions(&filter, args.limit)?;
        if args.json {
            serde_json::to_writer_pretty(&mut out, &sessions)?;
            writeln!(out)?;
        } else {
            write_sessions(&mut out, &sessions, paint)?;
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let calls = load_calls(&store, &filter)?;
    if args.json {
        serde_json::to_writer_pretty(&mut out, &calls)?;
        writeln!(out)?;
    } else {
        write_story(&mut out, &calls, filter.session.is_none(), paint)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The calls matching a filter. Decision filters (decision, source) are
/// applied to the call's final state, after its outcome is folded in.
fn load_calls(store: &Store, filter: &crate::store::Filter) -> anyhow::Result<Vec<Call>> {
    let mut row_filter = filter.clone();
    row_filter.decision = None;
    row_filter.source = None;
    let mut rows = Vec::new();
    store.for_each(&row_filter, |r| {
        rows.push(r);
        Ok(true)
    })?;
    let mut calls = calls_of(&rows);
    calls.retain(|c| {
        filter.decision.is_none_or(|d| c.decision == Some(d) || c.gate_decision == Some(d))
            && filter.source.is_none_or(|s| c.source == Some(s))
    });
    Ok(calls)
}

fn write_sessions(out: &mut impl Write, sessions: &[crate::store::SessionSummary], p: Paint) -> std::io::Result<()> {
    if sessions.is_empty() {
        return writeln!(out, "no sessions recorded yet");
    }
    writeln!(
        out,
        "{}",
        p.bold(&format!(
            "{:<19}  {:<12}  {:<8}  {:>5}  {:>5}  {:>8}  {:>6}  {:>5}  {}",
            "STARTED (UTC)", "AGENT", "SESSION", "CALLS", "AUTO", "APPROVED", "DENIED", "ASKED", "CWD"
        ))
    )?;
    for s in sessions {
        let started = clock::format_ms(s.started).replace('T', " ");
        let id: String = s.session_id.chars().take(8).collect();
        writeln!(
            out,
            "{:<19}  {:<12}  {:<8}  {:>5}  {:>5}  {:>8}  {:>6}  {:>5}  {}",
            &started[..19],
            term::sanitize(s.agent.as_deref().unwrap_or("-")),
            term::sanitize(&id),
            s.calls,
            s.auto_approved,
            s.approved,
            s.denied,
            s.asked,
            term::sanitize(s.cwd.as_deref().unwrap_or("-")),
        )?;
    }
    writeln!(out, "{}", p.dim("`gate log <session>` tells one session's story."))
}

fn write_story(out: &mut impl Write, calls: &[Call], show_session: bool, p: Paint) -> std::io::Result<()> {
    if calls.is_empty() {
        return writeln!(out, "no tool calls match");
    }
    let mut last_session: Option<&str> = None;
    for c in calls {
        let sid = c.session_id.as_deref().unwrap_or("-");
        if last_session != Some(sid) && !show_session {
            writeln!(
                out,
                "{} {}  {}  {}",
                p.bold("session"),
                term::sanitize(sid),
                term::sanitize(c.agent.as_deref().unwrap_or("-")),
                p.dim(&clock::format_ms(parse_ts(&c.ts)).replace('T', " ")[..19])
            )?;
        }
        last_session = Some(sid);
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
        let prefix =
            if show_session { format!("{} ", p.dim(&sid.chars().take(8).collect::<String>())) } else { String::new() };
        writeln!(
            out,
            "{prefix}{}  {coloured}{pad}  {:<28}  {:<6}  {}{}",
            clock::format_hms(parse_ts(&c.ts)),
            term::ellipsize(&who, 28),
            term::sanitize(c.tool.as_deref().unwrap_or("-")),
            what,
            p.dim(&outcome),
        )?;
        if refused {
            if let Some(reason) = &c.reason {
                writeln!(out, "          {}", p.dim(&term::ellipsize(&term::sanitize(reason), 140)))?;
            }
        }
    }
    Ok(())
}

fn who_decided(c: &Call) -> String {
    match (c.source, &c.rule) {
        (Some(Source::Floor | Source::Rule | Source::Mode), Some(rule)) => rule.clone(),
        (Some(Source::Error), _) => "gate (error)".to_string(),
        (Some(src), _) => format!("{} via {src}", c.approver.as_deref().unwrap_or("?")),
        (None, _) => "-".to_string(),
    }
}

fn parse_ts(ts: &str) -> i64 {
    clock::parse_time(ts, 0).unwrap_or(0)
}
