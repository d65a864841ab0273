//! `gate prune --before DATE`: retention. Old rows lose their payload but
//! keep their hashes, so `gate verify` still proves the whole chain; a
//! `prune` row records what was removed and by whom. It asks before it
//! removes anything unless `--yes`, and a signed checkpoint follows.

use std::process::ExitCode;

use anyhow::Context;

use crate::paths::Paths;
use crate::store::{seal, Store};

pub fn run(before: &str, dry_run: bool, yes: bool) -> anyhow::Result<ExitCode> {
    let now = crate::clock::now_ms();
    let before_ms = crate::clock::parse_time(before, now).map_err(|e| anyhow::anyhow!("--before: {e}"))?;
    if before_ms > now {
        anyhow::bail!("--before {before} is in the future; name a time in the past, such as 90d");
    }
    let paths = Paths::from_env()?;
    let mut store = Store::open(&paths.db()).with_context(|| "opening the receipt to prune it")?;
    let (rows, from, to) = store.prunable(before_ms)?;
    let when = crate::clock::format_ms(before_ms);
    if rows == 0 {
        println!("nothing to prune: no row before {when} still holds a payload");
        return Ok(ExitCode::SUCCESS);
    }
    let range = format!("seq {}..{}", from.unwrap_or(0), to.unwrap_or(0));
    if dry_run {
        println!("would prune the payload of {rows} rows before {when} ({range}); nothing was changed");
        return Ok(ExitCode::SUCCESS);
    }
    if !yes {
        let prompt = format!("Remove the payload of {rows} receipt rows before {when} ({range})? Their hashes stay.");
        let confirmed = crate::term::confirm(&prompt)
            .context("gate prune asks before it removes anything; pass --yes to prune without asking")?;
        if !confirmed {
            println!("nothing was pruned");
            return Ok(ExitCode::from(1));
        }
    }
    // Pruning erases what a failing check would need to show: refuse.
    if let Err(e) = seal::audit(&paths, Some(&store)) {
        anyhow::bail!("the receipt does not match its signed checkpoints ({e}); nothing was pruned");
    }
    let by = crate::cmd::answer::approver_name(&paths);
    let report = store.prune(before_ms, &by)?;
    println!(
        "pruned the payload of {} rows ({range}) and {} questions before {when}; prune row seq {}",
        report.rows,
        report.questions,
        report.prune_seq.unwrap_or(0)
    );
    if let Err(e) = seal::checkpoint(&paths, &store) {
        eprintln!("gate: warning: no checkpoint was written after pruning: {e}");
    }
    Ok(ExitCode::SUCCESS)
}
