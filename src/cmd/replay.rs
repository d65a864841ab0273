//! `gate replay --policy FILE`: re-decide the receipt's calls since a time
//! under FILE in place of the user policy (project and managed policies
//! still apply, and can only tighten it), and print every call whose
//! decision would change, grouped by the rule that would decide it, with a
//! summary line; `--json` gives the same. FILE is validated first, with
//! `file:line:col` errors. Calls are decided against the disk as it is now
//! (the floor probes symlinks and git config), and a call whose stored
//! input had a secret masked is decided on the masked text, and marked so.
//! Nothing is recorded.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;

use crate::action::Shell;
use crate::cli::ReplayArgs;
use crate::config::UserLayer;
use crate::hook::Adapter;
use crate::paths::Paths;
use crate::policy::load::PolicyError;
use crate::policy::{Basis, Decision};
use crate::review::replay::{self, Group, History, HistoryBuilder, Recorded, Report};
use crate::review::Decider;
use crate::store::{Filter, Store};
use crate::term::{self, Paint};

/// Examples shown per group.
const EXAMPLES: usize = 3;

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let since = since_ms(&args.since)?;
    let (name, user) = match proposed_layer(&paths, &args.policy)? {
        Ok(layer) => layer,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}", term::sanitize(&e.to_string()));
            }
            eprintln!(
                "gate: {} is not a valid policy ({} error{}); nothing was replayed",
                term::sanitize(&args.policy),
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            return Ok(ExitCode::from(2));
        }
    };
    let history = load_history(&paths, since)?;
    let mut decider = Decider::new(&paths, user);
    let report = replay::replay(&history, &mut |c| decide(&mut decider, c));
    let groups = replay::group(&report);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report_json(&name, since, &history, &report, &groups))?;
        writeln!(out)?;
    } else {
        write_report(&mut out, &name, since, &history, &report, &groups, Paint(term::colour_stdout()))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `--since` as milliseconds.
pub(crate) fn since_ms(since: &str) -> anyhow::Result<i64> {
    crate::clock::parse_time(since, crate::clock::now_ms()).map_err(|e| anyhow::anyhow!("--since: {e}"))
}

/// Read and validate a proposed policy file: its name (absolute) and the
/// user layer it makes, or its errors, each naming `file:line:col`.
pub(crate) fn proposed_layer(
    paths: &Paths,
    file: &str,
) -> anyhow::Result<Result<(String, UserLayer), Vec<PolicyError>>> {
    let name = crate::paths::absolute(Path::new(file)).display().to_string();
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
    Ok(crate::config::parse_user_text(paths, &text, &name)
        .map(|parsed| (name.clone(), UserLayer::Proposed { name, parsed: Ok(parsed) })))
}

/// The recorded calls since `since`, streamed from the receipt.
pub(crate) fn load_history(paths: &Paths, since: i64) -> anyhow::Result<History> {
    let store = Store::open_read(&paths.db())?;
    let mut b = HistoryBuilder::default();
    store.for_each(&Filter { since: Some(since), ..Filter::default() }, |r| {
        b.push(r);
        Ok(true)
    })?;
    Ok(b.finish())
}

/// The shell a rebuilt shell call runs in: not recorded, so the one the
/// agent's hook would find in this environment, as `gate check` does.
pub(crate) fn shell_here(adapter: &dyn Adapter) -> Shell {
    adapter.shell(&|k| std::env::var(k).ok(), &crate::cmd::hook::is_executable)
}

/// Rebuild and decide one call; None when it cannot be rebuilt.
pub(crate) fn decide(decider: &mut Decider<'_>, c: &Recorded) -> Option<crate::policy::Evaluation> {
    let action = replay::rebuild(c, &shell_here).ok()?;
    Some(decider.decide(&action))
}

fn rule_label(g: &Group) -> String {
    match (&g.rule, g.basis) {
        (Some(r), _) => format!("{}  ({})", r.id, r.origin),
        (None, Basis::Floor) => "the read-only floor".into(),
        (None, Basis::Mode) => "the agent's edit mode".into(),
        (None, Basis::Default) => "no rule (the default for unmatched calls)".into(),
        (None, Basis::Error) => "gate could not decide".into(),
        (None, Basis::Rule) => "a rule".into(),
    }
}

fn cwd_gone(c: &Recorded) -> bool {
    !Path::new(&c.cwd).is_dir()
}

/// What the calls of a group were recorded as: `approved 2, denied 1`.
fn then_counts(history: &History, report: &Report, g: &Group) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in &g.changes {
        *counts.entry(history.calls[report.changes[i].call].last.as_str()).or_default() += 1;
    }
    counts.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
}

pub fn write_report(
    out: &mut impl Write,
    policy: &str,
    since: i64,
    history: &History,
    report: &Report,
    groups: &[Group],
    p: Paint,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        p.bold(&format!(
            "replaying calls since {} under {} in place of your user policy",
            crate::clock::format_ms(since),
            term::sanitize(policy)
        ))
    )?;
    writeln!(
        out,
        "{}",
        p.dim(
            "decided against the disk as it is now; project and managed policies still apply, and nothing is recorded"
        )
    )?;
    for g in groups {
        let word = match g.decision {
            Decision::Allow => p.green("allow").into_owned(),
            Decision::Ask => p.yellow("ask  ").into_owned(),
            Decision::Deny => p.red("deny ").into_owned(),
        };
        let n = g.changes.len();
        writeln!(out)?;
        writeln!(out, "{word}  {}  {n} call{}", term::sanitize(&rule_label(g)), if n == 1 { "" } else { "s" })?;
        let transitions: Vec<String> = g.transitions.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(out, "    {}   recorded: {}", transitions.join(", "), then_counts(history, report, g))?;
        let mut shown: Vec<String> = Vec::new();
        for &i in &g.changes {
            let c = &history.calls[report.changes[i].call];
            let what = term::ellipsize(&term::sanitize(c.target.as_deref().unwrap_or(&c.tool)), 100).into_owned();
            let mut line = format!("{}  {what}", term::sanitize(&c.tool));
            if c.masked {
                line.push_str("  [masked input, decided on the masked text]");
            }
            if cwd_gone(c) {
                line.push_str("  [its working directory no longer exists]");
            }
            if shown.contains(&line) {
                continue;
            }
            if shown.len() == EXAMPLES {
                writeln!(out, "    {}", p.dim("…"))?;
                break;
            }
            writeln!(out, "    {line}")?;
            shown.push(line);
        }
    }
    if !groups.is_empty() {
        writeln!(out)?;
    }
    let skipped = if report.skipped > 0 {
        format!(
            " ({} recorded call{} could not be rebuilt)",
            report.skipped,
            if report.skipped == 1 { "" } else { "s" }
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "{} call{} replayed, {} change: {} would now be allowed without asking, {} would now ask, {} would now be denied.{skipped}",
        report.replayed,
        if report.replayed == 1 { "" } else { "s" },
        report.changes.len(),
        report.now(Decision::Allow),
        report.now(Decision::Ask),
        report.now(Decision::Deny),
    )
}

fn report_json(policy: &str, since: i64, history: &History, report: &Report, groups: &[Group]) -> serde_json::Value {
    let groups: Vec<_> = groups
        .iter()
        .map(|g| {
            let calls: Vec<_> = g
                .changes
                .iter()
                .map(|&i| {
                    let ch = &report.changes[i];
                    let c = &history.calls[ch.call];
                    json!({
                        "seq": c.seq,
                        "ts": crate::clock::format_ms(c.ts),
                        "session_id": c.session_id,
                        "agent": c.agent,
                        "cwd": c.cwd,
                        "cwd_exists": !cwd_gone(c),
                        "tool": c.tool,
                        "target": c.target,
                        "masked": c.masked,
                        "old": ch.old,
                        "new": ch.new,
                        "recorded": c.last,
                        "source": c.source,
                        "approver": c.approver,
                        "reason": ch.reason,
                    })
                })
                .collect();
            json!({
                "decision": g.decision,
                "rule": g.rule,
                "basis": g.basis,
                "count": g.changes.len(),
                "transitions": g.transitions,
                "calls": calls,
            })
        })
        .collect();
    json!({
        "policy": policy,
        "since": crate::clock::format_ms(since),
        "replayed": report.replayed,
        "skipped": report.skipped,
        "changed": report.changes.len(),
        "now_allowed": report.now(Decision::Allow),
        "now_asked": report.now(Decision::Ask),
        "now_denied": report.now(Decision::Deny),
        "groups": groups,
    })
}
