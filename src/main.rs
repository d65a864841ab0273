//! The `gate` binary: parse the command line and dispatch. Nothing else.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Files gate creates are private to the user, before any is created.
    // SAFETY: umask only changes this process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    // A reader that goes away (`gate check ... | head`) ends a command
    // quietly with success, as `gate export` already does, not with a panic
    // message from `println!`. The hook keeps its own panic handling.
    if !is_hook_invocation() {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("");
            if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
                std::process::exit(0);
            }
            default(info)
        }));
    }
    // `gate hook` must never exit 1 (agents read that as "carry on"), not
    // even for bad flags: it handles its own argument errors.
    let cli = match gate::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if is_hook_invocation()
                && !matches!(
                    e.kind(),
                    clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
                ) =>
        {
            let first =
                e.to_string().lines().next().unwrap_or("bad arguments").trim_start_matches("error: ").to_string();
            eprintln!("gate: {first}; denying this tool call");
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    gate::cmd::dispatch(cli.command)
}

fn is_hook_invocation() -> bool {
    std::env::args().nth(1).as_deref() == Some("hook")
}
