//! `gate check`: explain what gate would decide for a command line, without
//! recording or prompting. It builds the same normalized action the hook
//! would and runs the same decision, so the two always agree.

use std::process::ExitCode;

use serde_json::json;

use crate::action::{Action, Agent, Kind};
use crate::cli::CheckArgs;
use crate::paths::Paths;
use crate::policy::{self, Decision};
use crate::term::{self, Paint};

/// The action the hook would see for this command line.
pub fn shell_action(command: &str, cwd: &str) -> Action {
    Action {
        agent: Agent::ClaudeCode,
        session_id: "gate-check".into(),
        tool_use_id: None,
        tool: "Bash".into(),
        kind: Kind::Shell,
        args: json!({ "command": command }),
        target: Some(command.to_string()),
        cwd: cwd.to_string(),
        permission_mode: None,
        transcript_path: None,
        subagent: None,
    }
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let command = args.command.join(" ");
    let cwd = match args.cwd {
        Some(c) => crate::floor::normalize(&c, &std::env::current_dir()?.to_string_lossy(), None),
        None => std::env::current_dir()?.to_string_lossy().into_owned(),
    };
    let paths = Paths::from_env()?;
    let action = shell_action(&command, &cwd);
    let loaded = crate::config::load(&paths, &cwd);
    let home = std::env::var("HOME").ok().filter(|h| !h.is_empty());
    let probe = crate::probe::DiskProbe::new(home.clone());
    let ctx = policy::Context { home, gate_dirs: crate::config::gate_dirs(&paths), probe: &probe, policy: &loaded.set };
    let eval = policy::explain(&action, &ctx);
    // The hook's own path must agree: it is the function the hook calls.
    debug_assert_eq!(crate::cmd::hook::decide(&paths, &action), eval.verdict);
    if args.json {
        let out = json!({
            "decision": eval.verdict.decision.as_str(),
            "basis": eval.verdict.basis.as_str(),
            "rule": eval.verdict.rule,
            "reason": eval.verdict.reason,
            "commands": eval.commands,
            "broken_policies": loaded.set.broken,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    let p = Paint(term::colour_stdout());
    let word = match eval.verdict.decision {
        Decision::Allow => p.green("allow").into_owned(),
        Decision::Ask => p.yellow("ask").into_owned(),
        Decision::Deny => p.red("deny").into_owned(),
    };
    println!("{word}: {}", term::sanitize(&crate::cmd::hook::answer_reason(&eval.verdict)));
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
    Ok(ExitCode::SUCCESS)
}
