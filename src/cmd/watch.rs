//! `gate watch`: the terminal inbox. It keeps a heartbeat so hooks know a
//! human is reachable, shows each pending question (agent, session, cwd,
//! the exact command or the diff, why gate asks, how long it has waited),
//! rings the bell and calls `notify-send` for new ones, and takes the
//! answer with dialoguer: allow once, allow for this session, always allow
//! (which writes a rule to the user policy), deny, or deny with feedback
//! for the model.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use dialoguer::theme::SimpleTheme;
use dialoguer::{Input, Select};
use serde_json::Value;

use crate::broker;
use crate::cmd::answer::{approver_name, refusal};
use crate::paths::Paths;
use crate::store::questions::{Answer, AnswerResult, Question};
use crate::store::Store;
use crate::{clock, term};

const CHOICES: &[&str] = &[
    "Allow once",
    "Allow for this session",
    "Always allow (add a rule to my policy)",
    "Deny",
    "Deny with feedback for the agent",
];

/// The answer a fresh question starts on: Deny, so a stray Enter never allows.
const DEFAULT_CHOICE: usize = 3;

/// Lines of a change shown at once; the rest are one choice away.
const PAGE: usize = 40;

pub fn run() -> anyhow::Result<ExitCode> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!("gate watch needs a terminal; from scripts use `gate pending`, `gate approve <id>` and `gate deny <id>`");
    }
    let paths = Paths::from_env()?;
    paths.ensure_dirs()?;
    let mut store = Store::open(&paths.db())?;
    let beat = broker::heartbeat_path(&paths);
    let beat_thread = beat.clone();
    std::thread::spawn(move || loop {
        let _ = std::fs::write(&beat_thread, format!("{} {}\n", std::process::id(), clock::now_ms()));
        std::thread::sleep(Duration::from_millis(1000));
    });
    let _ = std::fs::write(&beat, format!("{} {}\n", std::process::id(), clock::now_ms()));
    let approver = approver_name(&paths);
    let p = term::Paint(term::colour_stdout());
    println!(
        "{}",
        p.bold(&format!("gate watch: answering as {approver}. Questions from your agents appear here; Ctrl-C quits."))
    );
    let mut seen: HashSet<i64> = HashSet::new();
    let mut deferred: HashSet<i64> = HashSet::new();
    let mut idle_shown = false;
    loop {
        let now = clock::now_ms();
        let pending = store.pending(now)?;
        let fresh: Vec<&Question> = pending.iter().filter(|q| !seen.contains(&q.id)).collect();
        if !fresh.is_empty() {
            print!("\x07");
            let _ = std::io::stdout().flush();
            for q in &fresh {
                notify(q);
                seen.insert(q.id);
            }
            deferred.clear();
        }
        let Some(q) = pending.iter().find(|q| !deferred.contains(&q.id)) else {
            if !idle_shown {
                println!("{}", p.dim("waiting for questions…"));
                idle_shown = true;
            }
            std::thread::sleep(Duration::from_millis(250));
            continue;
        };
        idle_shown = false;
        let body = body_lines(q, p);
        show(q, now, pending.len(), &body, p);
        let mut shown = body.len().min(PAGE);
        let choice = loop {
            let mut items: Vec<String> = CHOICES.iter().map(|c| c.to_string()).collect();
            if shown < body.len() {
                items.push(format!("Show the next lines ({} more)", body.len() - shown));
            }
            let choice = Select::with_theme(&SimpleTheme)
                .with_prompt(format!("Answer question {}", q.id))
                .items(&items)
                .default(DEFAULT_CHOICE)
                .interact_opt()
                .context("reading your answer")?;
            if choice != Some(CHOICES.len()) {
                break choice;
            }
            let end = (shown + PAGE).min(body.len());
            for l in &body[shown..end] {
                println!("{l}");
            }
            shown = end;
            more_note(body.len() - shown, p);
        };
        let Some(choice) = choice else {
            println!("skipped question {} for now", q.id);
            deferred.insert(q.id);
            continue;
        };
        let mut a = Answer {
            allow: choice < 3,
            scope: "once".into(),
            approver: approver.clone(),
            source: "watch".into(),
            feedback: None,
        };
        match choice {
            1 => a.scope = "session".into(),
            2 => a.scope = "always".into(),
            4 => {
                let text: String = Input::with_theme(&SimpleTheme)
                    .with_prompt("Feedback for the agent")
                    .allow_empty(true)
                    .interact_text()
                    .context("reading your feedback")?;
                a.feedback = Some(text);
            }
            _ => {}
        }
        match store.answer_question(q.id, &a, clock::now_ms())? {
            AnswerResult::Accepted => {
                let verb = if a.allow { p.green("allowed") } else { p.red("denied") };
                println!("question {}: {verb}", q.id);
                if a.scope == "always" {
                    always_allow(&paths, q, p)?;
                }
            }
            AnswerResult::Refused(latest) => println!("{}", p.yellow(&refusal(&latest))),
            AnswerResult::NotFound => println!("question {} is gone", q.id),
        }
        println!();
    }
}

fn notify(q: &Question) {
    let body =
        format!("{}: {}", q.tool.as_deref().unwrap_or("tool"), term::ellipsize(q.target.as_deref().unwrap_or(""), 120));
    let _ = std::process::Command::new("notify-send")
        .args(["--app-name=gate", "gate: an agent is waiting for you", &body])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|mut c| std::thread::spawn(move || c.wait()));
}

/// The lines of the change a question would make, in full: every edit of
/// an Edit or MultiEdit, a NotebookEdit's cell, a Write's content.
fn body_lines(q: &Question, p: term::Paint) -> Vec<String> {
    let args: Value = q.args.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or(Value::Null);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut out = Vec::new();
    let diff = |out: &mut Vec<String>, old: &str, new: &str| {
        out.extend(old.lines().map(|l| format!("    {}", p.red(&format!("-{}", term::sanitize(l))))));
        out.extend(new.lines().map(|l| format!("    {}", p.green(&format!("+{}", term::sanitize(l))))));
    };
    if let Some(edits) = args.get("edits").and_then(Value::as_array) {
        for (i, e) in edits.iter().enumerate() {
            let all = if e.get("replace_all").and_then(Value::as_bool) == Some(true) { ", every match" } else { "" };
            out.push(format!("    {}", p.dim(&format!("edit {} of {}{all}", i + 1, edits.len()))));
            diff(&mut out, &text(e, "old_string"), &text(e, "new_string"));
        }
    } else if args.get("new_source").is_some() || args.get("edit_mode").is_some() {
        let mode = args.get("edit_mode").and_then(Value::as_str).unwrap_or("replace");
        let cell = args.get("cell_id").and_then(Value::as_str).unwrap_or("-");
        out.push(format!("    {}", p.dim(&format!("cell {} ({mode})", term::sanitize(cell)))));
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

fn more_note(more: usize, p: term::Paint) {
    if more > 0 {
        let s = if more == 1 { "" } else { "s" };
        println!("    {}", p.dim(&format!("… {more} more line{s} (choose \"Show the next lines\" to see them)")));
    }
}

fn show(q: &Question, now: i64, pending: usize, body: &[String], p: term::Paint) {
    let s = |v: &Option<String>| term::sanitize(v.as_deref().unwrap_or("-")).into_owned();
    println!();
    println!("{} {}", p.bold(&format!("── question {} ", q.id)), p.dim(&format!("({} pending)", pending)));
    let session: String = q.session_id.as_deref().unwrap_or("-").chars().take(8).collect();
    println!("  agent    {}   session {}", s(&q.agent), term::sanitize(&session));
    println!("  cwd      {}", s(&q.cwd));
    println!("  tool     {}", s(&q.tool));
    match q.tool_kind.as_deref() {
        Some("edit") | Some("write") => {
            println!("  file     {}", s(&q.target));
            for l in body.iter().take(PAGE) {
                println!("{l}");
            }
            more_note(body.len().saturating_sub(PAGE), p);
        }
        _ => {
            let text = s(&q.target);
            println!("  command  {}", p.bold(&text));
        }
    }
    let rule = match (&q.rule_id, &q.rule_origin) {
        (Some(id), Some(o)) => format!(" (rule {id}, {o})"),
        _ => String::new(),
    };
    println!("  why      {}{}", s(&q.reason), term::sanitize(&rule));
    println!("  waiting  {}s; expires in {}s", (now - q.created_ms).max(0) / 1000, (q.expires_ms - now).max(0) / 1000);
}

/// Append the question's allow rule to the user policy and show it.
fn always_allow(paths: &Paths, q: &Question, p: term::Paint) -> anyhow::Result<()> {
    let Some(rule) = &q.always_rule else {
        println!(
            "{}",
            p.yellow("no rule written, the call was allowed once: no allow rule can say exactly what you approved. Either a policy rule asks for it (ask beats allow; to stop being asked, add its id to `disable` under [settings] in your policy, default rules only), or it sets environment variables or redirects input or output, which allow rules never cover.")
        );
        return Ok(());
    };
    let path = paths.user_policy();
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("\n# Added by gate watch for question {}.\n{rule}", q.id));
    // Only write a policy that still loads.
    let macros = crate::config::macros(paths);
    if let Err(errs) =
        crate::policy::load::parse(&text, &path.to_string_lossy(), crate::policy::rule::Layer::User, &macros)
    {
        println!("{}", p.red(&format!("not writing the rule, it would break your policy: {}", errs[0])));
        return Ok(());
    }
    paths.ensure_dirs()?;
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, &text)?;
    std::fs::rename(&tmp, &path)?;
    println!("added to {}:", path.display());
    for l in rule.lines() {
        println!("    {}", p.cyan(l));
    }
    Ok(())
}
