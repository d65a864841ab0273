//! `gate push`: the command edge of [`crate::team::push`]. Resolves the
//! team store's URL and the developer's name, connects, creates or checks
//! the schema, pushes, and says what it did in a line (or JSON).

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::PushArgs;
use crate::team::{self, push::PushOptions};

pub fn run(args: PushArgs) -> anyhow::Result<ExitCode> {
    let paths = crate::paths::Paths::from_env()?;
    let url = team::resolve_url(args.to.as_deref(), &paths)?;
    let settings = team::settings(&paths)?;
    let mut client = team::connect::connect(&url)?;
    if args.init {
        let r = team::schema::init(&mut client, &url)?;
        if !args.json {
            match r.from_version {
                v if v == r.to_version => println!("team store {url}: schema is at version {v}, nothing to migrate"),
                0 => println!("team store {url}: created gate's schema (version {})", r.to_version),
                v => println!("team store {url}: migrated gate's schema from version {v} to {}", r.to_version),
            }
            match (&r.roles, &r.roles_note) {
                (Some(roles), _) => println!("roles {} are set up; grant them to login roles (docs/team.md)", roles.join(" and ")),
                (None, Some(note)) => eprintln!("gate: note: {note}"),
                _ => {}
            }
        }
    } else {
        team::schema::check(&mut client, &url)?;
    }
    let developer = args
        .developer
        .or(settings.developer)
        .unwrap_or_else(crate::identity::os_user);
    let opts = PushOptions { batch: args.batch, developer };
    let report = match team::push::push(&paths, &mut client, &url, &opts) {
        Ok(r) => r,
        Err(team::push::PushError::Store(crate::store::StoreError::Missing(_))) => None,
        Err(e) => return Err(anyhow::Error::from(e)).context("gate push"),
    };
    let Some(report) = report else {
        if args.json {
            println!("{}", serde_json::json!({ "url": url.to_string(), "pushed": 0, "store_id": null }));
        } else {
            println!("no receipts yet: nothing to push");
        }
        return Ok(ExitCode::SUCCESS);
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if report.pushed == 0 {
        println!(
            "team store {}: already holds store {} of {} on {} up to seq {}; nothing to push",
            report.url,
            &report.store_id[..12],
            report.developer,
            report.host,
            report.server_head
        );
    } else {
        let rate = report.pushed as f64 / report.seconds.max(1e-6);
        println!(
            "pushed {} receipts (seq {}..{}) of store {} as {} on {} to {} in {:.2} s ({:.0}/s), {} batch{}, {} checkpoint{}",
            report.pushed,
            report.server_head_before + 1,
            report.server_head,
            &report.store_id[..12],
            report.developer,
            report.host,
            report.url,
            report.seconds,
            rate,
            report.batches,
            if report.batches == 1 { "" } else { "es" },
            report.checkpoints_pushed,
            if report.checkpoints_pushed == 1 { "" } else { "s" },
        );
    }
    Ok(ExitCode::SUCCESS)
}
