//! `gate check`: explain what gate would decide for a command line, without
//! recording or prompting. It builds the same normalized action the hook
//! would and runs the same decision, so the two always agree.

use std::process::ExitCode;

use serde_json::json;

use anyhow::Context as _;

use crate::action::{Action, Agent, Shell};
use crate::cli::CheckArgs;
use crate::paths::Paths;
use crate::policy::Decision;
use crate::term::{self, Paint};

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let command = args.command_line();
    let cwd = match &args.cwd {
        Some(c) => crate::floor::normalize(c, &std::env::current_dir()?.to_string_lossy(), None),
        None => std::env::current_dir()?.to_string_lossy().into_owned(),
    };
    let paths = Paths::from_env()?;
    let adapter = match args.agent.as_deref() {
        None => crate::hook::adapter(Agent::ClaudeCode),
        Some(name) => crate::hook::agent_from_flag(name).and_then(crate::hook::adapter),
    }
    .with_context(|| {
        format!(
            "unknown agent {:?} for --agent; use one of: {}",
            args.agent.as_deref().unwrap_or_default(),
            crate::hook::ADAPTERS.iter().map(|a| a.names()[0]).collect::<Vec<_>>().join(", ")
        )
    })?;
    // The action the agent's own adapter makes of its shell tool's payload.
    let mut action = crate::engine::shell_action_for(adapter, &command, &cwd)?;
    // As the shell named, or as the one the agent's hook would find here.
    action.shell = match &args.shell {
        Some(name) => Shell::from_program(name),
        None => adapter.shell(&|k| std::env::var(k).ok(), &crate::cmd::hook::is_executable),
    };
    // The very function the hook decides with.
    let (eval, loaded) = crate::engine::decide(&paths, &action);
    if args.ask && eval.verdict.decision == Decision::Ask {
        return ask_on_tty(&paths, &action, &eval, loaded.settings.ask_timeout);
    }
    if args.json {
        let out = json!({
            "agent": action.agent,
            "decision": eval.verdict.decision.as_str(),
            "basis": eval.verdict.basis.as_str(),
            "rule": eval.verdict.rule,
            "reason": eval.verdict.reason,
            "shell": action.shell,
            "commands": eval.commands,
            "broken_policies": loaded.set.broken,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(exit_code(&args, eval.verdict.decision));
    }
    let p = Paint(term::colour_stdout());
    let word = match eval.verdict.decision {
        Decision::Allow => p.green("allow").into_owned(),
        Decision::Ask => p.yellow("ask").into_owned(),
        Decision::Deny => p.red("deny").into_owned(),
    };
    println!("{word}: {}", term::sanitize(&crate::cmd::hook::answer_reason(&eval.verdict)));
    if action.shell != Shell::Bash {
        println!("  shell: {}", term::sanitize(action.shell.as_str()));
    }
    for c in &eval.commands {
        println!("  {} {}", p.bold(c.decision.as_str()), term::sanitize(&c.command));
        if !c.floor.is_empty() {
            println!("      floor: {}", term::sanitize(&c.floor));
        }
        for m in &c.matched {
            println!("      rule:  {} {} ({})", m.decision.as_str(), m.id, m.origin);
        }
        if let Some(r) = &c.rule {
            println!("      decided by {r}");
        }
    }
    for b in &loaded.set.broken {
        println!("  {} {}", p.red("broken policy:"), term::sanitize(b));
    }
    if eval.verdict.decision == Decision::Ask {
        let who = adapter.install_spec().display;
        let no_inbox = match adapter.can_ask(&action, &|k| std::env::var(k).ok()) {
            crate::hook::AgentAsk::Dialog => format!("{who} shows its own permission prompt"),
            crate::hook::AgentAsk::Cannot => format!("{who} cannot show a prompt here, so the call is denied"),
        };
        println!("  asked in `gate watch` when it is open; otherwise {no_inbox}");
    }
    Ok(exit_code(&args, eval.verdict.decision))
}

/// With --exit-code the decision is the exit code (0 allow, 1 ask, 2 deny);
/// without it, an answered check succeeds.
fn exit_code(args: &CheckArgs, decision: Decision) -> ExitCode {
    match (args.exit_code, decision) {
        (false, _) | (true, Decision::Allow) => ExitCode::SUCCESS,
        (true, Decision::Ask) => ExitCode::from(1),
        (true, Decision::Deny) => ExitCode::from(2),
    }
}

/// `gate check --ask`: a direct prompt on the controlling terminal, only
/// where this process really has one. The answer is recorded like any other.
fn ask_on_tty(
    paths: &Paths,
    action: &Action,
    eval: &crate::policy::Evaluation,
    settings_timeout: Option<u64>,
) -> anyhow::Result<ExitCode> {
    use std::sync::mpsc;
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| anyhow::anyhow!("no usable terminal to ask on (/dev/tty: {e}); use `gate watch` instead"))?;
    let tty2 = tty.try_clone()?;
    let term = console::Term::read_write_pair(tty, tty2);
    let timeout = crate::broker::ask_timeout(settings_timeout);
    let prompt = format!("gate asks: {} — allow?", term::sanitize(&eval.verdict.reason));
    let (tx, rx) = mpsc::channel();
    let t2 = term.clone();
    let started = crate::clock::now_ms();
    std::thread::spawn(move || {
        let r = dialoguer::Select::with_theme(&dialoguer::theme::SimpleTheme)
            .with_prompt(prompt)
            .items(["Allow once", "Deny"])
            .default(1)
            .interact_on_opt(&t2);
        let _ = tx.send(r);
    });
    let answer = rx.recv_timeout(std::time::Duration::from_secs(timeout));
    let _ = term.show_cursor();
    let approver = crate::cmd::answer::approver_name(paths);
    use crate::store::{JsonText, Receipt, Source, Verdict};
    let (decision, who) = match answer {
        Ok(Ok(Some(0))) => (Verdict::Approved, Some(approver)),
        Ok(Ok(Some(_))) | Ok(Ok(None)) => (Verdict::Denied, Some(approver)),
        Ok(Err(e)) => anyhow::bail!("the terminal prompt failed: {e}"),
        Err(_) => (Verdict::Expired, None),
    };
    let source = if decision == Verdict::Expired { Source::Timeout } else { Source::Tty };
    let mut rec = Receipt::decision(action, decision, source, who.as_deref());
    rec.agent = Some("gate-check".into());
    rec.with_reason(&eval.verdict.reason);
    rec.detail = Some(JsonText::of(&json!({"waited_ms": crate::clock::now_ms() - started})));
    paths.ensure_dirs()?;
    crate::store::Store::open(&paths.db())?.append(&mut rec)?;
    println!("{decision}");
    Ok(if decision == Verdict::Approved { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
