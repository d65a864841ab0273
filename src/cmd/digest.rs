//! `gate digest`: a period of the receipt summed up for the person who
//! reviews it. Reads the matching rows once (in seq order), folds them into
//! calls, places each call in its repository (the nearest directory above
//! its cwd holding `.git`, else the cwd itself), loads the current policy
//! for the rules that never fired, and prints [`Digest`] as aligned text
//! (coloured on a terminal), Markdown tables, or JSON. Times are UTC.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{DigestArgs, DigestFormat};
use crate::clock;
use crate::review::calls::{CallFold, Decider};
use crate::review::digest::{Digest, DigestOptions, PolicyRule};
use crate::store::StoreError;
use crate::term::{self, Paint};

pub fn run(args: DigestArgs) -> anyhow::Result<ExitCode> {
    let mut filter = crate::cmd::filter_of(&args.filter)?;
    let opts = DigestOptions {
        since: filter.since,
        until: filter.until.unwrap_or_else(clock::now_ms),
        top: args.top,
        ..DigestOptions::default()
    };
    let rules = policy_rules(filter.cwd.as_deref())?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let store = match crate::cmd::Receipts::open(args.filter.from.as_deref(), &mut filter) {
        Ok(s) => Some(s),
        Err(e) if matches!(e.downcast_ref::<StoreError>(), Some(StoreError::Missing(_))) => None,
        Err(e) => return Err(e),
    };
    let calls = match &store {
        Some(store) => {
            // Decision and source filters apply to the call's final state.
            let mut rows = filter.clone();
            rows.decision = None;
            rows.source = None;
            // Seqs are per store: each store's rows are folded on their own.
            let probe = crate::probe::DiskProbe::new(None);
            let mut calls = Vec::new();
            let mut fold = CallFold::default();
            let mut origin: Option<crate::team::read::Origin> = None;
            let finish = |fold: CallFold, origin: &Option<crate::team::read::Origin>, calls: &mut Vec<_>| {
                let mut done = fold.finish_located(|cwd| probe.work_tree(cwd).unwrap_or_else(|| cwd.to_string()));
                if let Some(o) = origin {
                    for c in &mut done {
                        c.developer = Some(o.developer.clone());
                    }
                }
                calls.extend(done);
            };
            let (mut shown, mut unverified) = (0usize, 0usize);
            store.for_each_store(&rows, &mut |o, r| {
                if o != origin.as_ref() {
                    finish(std::mem::take(&mut fold), &origin, &mut calls);
                    origin = o.cloned();
                }
                shown += 1;
                if !r.is_intact() {
                    unverified += 1;
                }
                fold.push(&r);
                Ok(true)
            })?;
            finish(fold, &origin, &mut calls);
            if unverified > 0 {
                eprintln!("gate: warning: {unverified} of the {shown} rows summed up do not verify; run `gate verify`");
            }
            if matches!(store, crate::cmd::Receipts::Team(_)) {
                calls.sort_by_key(|c| c.ts);
            }
            calls.retain(|c| {
                filter.decision.is_none_or(|d| c.decision == Some(d) || c.gate_decision == Some(d))
                    && filter.source.is_none_or(|s| c.source == Some(s))
            });
            calls
        }
        None => Vec::new(),
    };
    let digest = Digest::build(&calls, &rules, &opts);
    match args.format {
        DigestFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &digest)?;
            writeln!(out)?;
        }
        _ if store.is_none() => {
            writeln!(
                out,
                "no receipts yet: gate has recorded no tool calls here (it starts with an agent's first hook call)"
            )?;
        }
        _ if digest.calls == 0 => {
            writeln!(out, "no tool calls recorded {}", period(&digest))?;
        }
        DigestFormat::Text => write_text(&mut out, &digest, args.top, Paint(term::colour_stdout()))?,
        DigestFormat::Md => write_md(&mut out, &digest, args.top)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The rules of the policy layers that apply in `cwd` (default: here).
fn policy_rules(cwd: Option<&str>) -> anyhow::Result<Vec<PolicyRule>> {
    let paths = crate::paths::Paths::from_env()?;
    let cwd = match cwd {
        Some(c) => c.to_string(),
        None => std::env::current_dir()?.to_string_lossy().into_owned(),
    };
    let loaded = crate::config::load(&paths, &cwd);
    Ok(loaded
        .set
        .rules
        .iter()
        .map(|r| PolicyRule { id: r.id.clone(), layer: r.layer.as_str().to_string(), origin: r.origin.clone() })
        .collect())
}

/// `from 2026-08-15 09:00 UTC to 2026-08-22 09:00 UTC`.
fn period(d: &Digest) -> String {
    let when = |s: &str| format!("{} UTC", s.get(..16).unwrap_or(s).replace('T', " "));
    match &d.since {
        Some(s) => format!("from {} to {}", when(s), when(&d.until)),
        None => format!("up to {}", when(&d.until)),
    }
}

/// A duration for people: `850ms`, `42s`, `3m 05s`, `2h 07m`.
fn duration(ms: i64) -> String {
    let s = ms / 1000;
    match ms {
        ..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{s}s"),
        60_000..3_600_000 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{}%", (part * 100 + whole / 2) / whole)
}

/// How a cell is coloured on a terminal.
#[derive(Clone, Copy, PartialEq)]
enum Tone {
    Plain,
    Good,
    Bad,
    Warn,
    Dim,
}

/// A titled table, printed aligned for a terminal or as Markdown.
struct Table {
    title: String,
    head: Vec<&'static str>,
    /// Columns aligned right (numbers).
    right: Vec<bool>,
    rows: Vec<Vec<(String, Tone)>>,
    /// Said instead of an empty table.
    empty: &'static str,
    /// Said under the table.
    note: Option<String>,
}

impl Table {
    fn new(title: impl Into<String>, head: &[(&'static str, bool)], empty: &'static str) -> Table {
        Table {
            title: title.into(),
            head: head.iter().map(|h| h.0).collect(),
            right: head.iter().map(|h| h.1).collect(),
            rows: Vec::new(),
            empty,
            note: None,
        }
    }

    fn row(&mut self, cells: Vec<(String, Tone)>) {
        self.rows.push(cells);
    }

    fn text(&self, out: &mut impl Write, p: Paint) -> std::io::Result<()> {
        writeln!(out)?;
        writeln!(out, "{}", p.bold(&self.title))?;
        if self.rows.is_empty() {
            writeln!(out, "  {}", p.dim(self.empty))?;
            return match &self.note {
                Some(n) => writeln!(out, "  {}", p.dim(&term::sanitize(n))),
                None => Ok(()),
            };
        }
        let cells: Vec<Vec<(String, Tone)>> =
            self.rows.iter().map(|r| r.iter().map(|(s, t)| (term::sanitize(s).into_owned(), *t)).collect()).collect();
        let mut width: Vec<usize> = self.head.iter().map(|h| h.chars().count()).collect();
        for r in &cells {
            for (i, (s, _)) in r.iter().enumerate() {
                width[i] = width[i].max(s.chars().count());
            }
        }
        let last = self.head.len() - 1;
        let pad = |i: usize, s: &str| -> (String, String) {
            let fill = " ".repeat(width[i].saturating_sub(s.chars().count()));
            match (self.right[i], i == last) {
                (true, _) => (fill, String::new()),
                (false, true) => (String::new(), String::new()),
                (false, false) => (String::new(), fill),
            }
        };
        let head: Vec<String> = self
            .head
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let (l, r) = pad(i, h);
                format!("{l}{h}{r}")
            })
            .collect();
        writeln!(out, "  {}", p.dim(&head.join("  ")))?;
        for r in &cells {
            let line: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, (s, tone))| {
                    let (l, rr) = pad(i, s);
                    let s = match tone {
                        Tone::Plain => s.clone(),
                        Tone::Good => p.green(s).into_owned(),
                        Tone::Bad => p.red(s).into_owned(),
                        Tone::Warn => p.yellow(s).into_owned(),
                        Tone::Dim => p.dim(s).into_owned(),
                    };
                    format!("{l}{s}{rr}")
                })
                .collect();
            writeln!(out, "  {}", line.join("  "))?;
        }
        if let Some(n) = &self.note {
            writeln!(out, "  {}", p.dim(&term::sanitize(n)))?;
        }
        Ok(())
    }

    fn md(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out)?;
        writeln!(out, "### {}", self.title)?;
        writeln!(out)?;
        if self.rows.is_empty() {
            writeln!(out, "{}", self.empty)?;
            return match &self.note {
                Some(n) => writeln!(out, "\n{}", md_cell(n)),
                None => Ok(()),
            };
        }
        writeln!(out, "| {} |", self.head.join(" | "))?;
        let rule: Vec<&str> = self.right.iter().map(|r| if *r { "---:" } else { "---" }).collect();
        writeln!(out, "|{}|", rule.join("|"))?;
        for r in &self.rows {
            let cells: Vec<String> = r.iter().map(|(s, _)| md_cell(s)).collect();
            writeln!(out, "| {} |", cells.join(" | "))?;
        }
        if let Some(n) = &self.note {
            writeln!(out)?;
            writeln!(out, "{}", md_cell(n))?;
        }
        Ok(())
    }
}

/// Text safe in a Markdown table cell: no control characters, pipes escaped.
fn md_cell(s: &str) -> String {
    term::sanitize(s).replace('|', "\\|")
}

/// Text shown as code in Markdown, whatever backticks it holds.
fn md_code(s: &str) -> String {
    match s {
        "" => String::new(),
        s if s.contains('`') => format!("`` {s} ``"),
        s => format!("`{s}`"),
    }
}

fn plain(s: impl Into<String>) -> (String, Tone) {
    (s.into(), Tone::Plain)
}

fn count(n: usize) -> (String, Tone) {
    (n.to_string(), Tone::Plain)
}

/// The digest as tables, shared by the text and Markdown outputs. `code`
/// marks up commands and paths (backticks in Markdown, nothing in text).
fn tables(d: &Digest, top: usize, code: &dyn Fn(&str) -> String) -> Vec<Table> {
    let mut t = Vec::new();

    let mut decisions = Table::new("Decisions", &[("DECISION", false), ("CALLS", true), ("SHARE", true)], "none");
    for x in &d.by_decision {
        let tone = match crate::store::Verdict::parse(&x.name) {
            Some(v) if v.allowed() => Tone::Good,
            Some(v) if v.refused() => Tone::Bad,
            _ => Tone::Warn,
        };
        decisions.row(vec![(x.name.clone(), tone), count(x.calls), plain(percent(x.calls, d.calls))]);
    }
    decisions.note = Some("an asked call that ran counts as approved".into());
    t.push(decisions);

    let mut deciders =
        Table::new("Who decided", &[("DECIDER", false), ("CALLS", true), ("ALLOWED", true), ("REFUSED", true)], "none");
    for x in &d.by_decider {
        deciders.row(vec![plain(x.decider.label()), count(x.calls), count(x.allowed), count(x.refused)]);
    }
    if d.by_decider.iter().any(|x| x.decider == Decider::Agent) {
        deciders.note =
            Some("the agent's dialog: gate handed the call on; whether a human saw it there is not recorded".into());
    }
    t.push(deciders);

    let mut sources = Table::new("By source", &[("SOURCE", false), ("CALLS", true)], "none");
    for x in &d.by_source {
        sources.row(vec![plain(&x.name), count(x.calls)]);
    }
    t.push(sources);

    let mut wait = Table::new(
        "How long humans took to answer in gate",
        &[("ANSWERS", true), ("MEDIAN", true), ("90TH PERCENTILE", true), ("SLOWEST", true)],
        "no answers given in gate's inbox",
    );
    if let Some(w) = &d.human_wait {
        wait.row(vec![
            count(w.answers),
            plain(duration(w.median_ms)),
            plain(duration(w.p90_ms)),
            plain(duration(w.max_ms)),
        ]);
    }
    t.push(wait);

    let mut denied = Table::new(
        "Most denied",
        &[("TIMES", true), ("TOOL", false), ("COMMAND OR TARGET", false), ("RULE", false), ("REASON", false)],
        "nothing was denied",
    );
    for x in &d.top_denied {
        denied.row(vec![
            count(x.count),
            plain(&x.tool),
            plain(code(&term::ellipsize(&x.target, 60))),
            plain(x.rule.as_deref().unwrap_or(if x.by_human > 0 { "(a human)" } else { "-" })),
            (term::ellipsize(x.reason.as_deref().unwrap_or(""), 80).into_owned(), Tone::Dim),
        ]);
    }
    t.push(denied);

    let mut asks = Table::new(
        "Asked and approved every time (allow-rule candidates)",
        &[("ASKS", true), ("HUMAN", true), ("AGENT", true), ("TOOL", false), ("SHAPE", false), ("EXAMPLE", false)],
        "no ask was approved every time (twice or more)",
    );
    for x in &d.always_approved {
        asks.row(vec![
            count(x.asks),
            count(x.approved_by_human),
            count(x.approved_by_agent),
            plain(&x.shape.tool),
            plain(code(&x.shape.pattern)),
            (code(&term::ellipsize(x.example.as_deref().unwrap_or(""), 50)), Tone::Dim),
        ]);
    }
    t.push(asks);

    let mut fired = Table::new("Rules that fired", &[("CALLS", true), ("RULE", false)], "no rule fired");
    for x in d.rules_fired.iter().take(top) {
        fired.row(vec![count(x.calls), plain(&x.name)]);
    }
    if d.rules_fired.len() > fired.rows.len() {
        fired.note =
            Some(format!("and {} more (--format json lists every one)", d.rules_fired.len() - fired.rows.len()));
    }
    t.push(fired);

    // The built-in rules guard against what should stay rare: that they
    // never fired is no news, so they are only counted.
    let (builtin, own): (Vec<_>, Vec<_>) = d.rules_never_fired.iter().partition(|r| r.layer == "default");
    let mut never = Table::new(
        "Your rules that never fired",
        &[("RULE", false), ("LAYER", false), ("WHERE", false)],
        "every rule of your policy files fired",
    );
    for r in own {
        never.row(vec![plain(&r.id), plain(&r.layer), (r.origin.clone(), Tone::Dim)]);
    }
    if !builtin.is_empty() {
        never.note = Some(format!("and {} built-in default rules (--format json lists them)", builtin.len()));
    }
    t.push(never);

    for (title, slices) in [("Per developer", &d.by_developer), ("Per agent", &d.by_agent), ("Per repository", &d.by_repo)] {
        // Only a team store's digest has developers.
        if title == "Per developer" && slices.is_empty() {
            continue;
        }
        let name = match title {
            "Per developer" => "DEVELOPER",
            "Per agent" => "AGENT",
            _ => "REPOSITORY",
        };
        let mut s = Table::new(
            title,
            &[
                (name, false),
                ("CALLS", true),
                ("AUTO", true),
                ("HUMAN", true),
                ("AGENT", true),
                ("REFUSED", true),
                ("MEDIAN WAIT", true),
            ],
            "none",
        );
        for x in slices {
            s.row(vec![
                plain(&x.name),
                count(x.calls),
                count(x.auto_approved),
                count(x.human),
                count(x.agent),
                count(x.refused),
                plain(x.median_wait_ms.map_or("-".into(), duration)),
            ]);
        }
        t.push(s);
    }
    t
}

/// `12 calls: 7 allowed by gate on its own (58%), 3 settled by a human in gate, ...`.
fn headline(d: &Digest) -> String {
    let n = |who: Decider| d.by_decider.iter().find(|x| x.decider == who).map_or(0, |x| x.calls);
    let auto = d.by_decider.iter().find(|x| x.decider == Decider::Gate).map_or(0, |x| x.allowed);
    format!(
        "{} calls: {} approved automatically ({}), {} settled by a human in gate, {} in the agent's dialog, {} with no answer",
        d.calls,
        auto,
        percent(auto, d.calls),
        n(Decider::Human),
        n(Decider::Agent),
        n(Decider::Nobody)
    )
}

fn write_text(out: &mut impl Write, d: &Digest, top: usize, p: Paint) -> std::io::Result<()> {
    writeln!(out, "{} {}", p.bold("gate digest"), period(d))?;
    writeln!(out, "{}", headline(d))?;
    for t in tables(d, top, &|s: &str| s.to_string()) {
        t.text(out, p)?;
    }
    Ok(())
}

fn write_md(out: &mut impl Write, d: &Digest, top: usize) -> std::io::Result<()> {
    writeln!(out, "## gate digest {}", period(d))?;
    writeln!(out)?;
    writeln!(out, "{}", headline(d))?;
    for t in tables(d, top, &md_code) {
        t.md(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        let cases: &[(i64, &str)] =
            &[(0, "0ms"), (850, "850ms"), (1_000, "1s"), (42_500, "42s"), (185_000, "3m 05s"), (7_620_000, "2h 07m")];
        for (ms, want) in cases {
            assert_eq!(duration(*ms), *want);
        }
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        let cases: &[(&str, &str)] =
            &[("ls", "`ls`"), ("a | b", "`a \\| b`"), ("echo `id`", "`` echo `id` ``"), ("", "")];
        for (s, want) in cases {
            assert_eq!(md_cell(&md_code(s)), *want, "{s}");
        }
    }
}
