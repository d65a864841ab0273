//! The `gate` binary: parse the command line and dispatch. Nothing else.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Files gate creates are private to the user, before any is created.
    // SAFETY: umask only changes this process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    // One malloc arena for the hook: its work thread would otherwise get an
    // arena of its own and grow it page by page with mprotect (a tenth of
    // its time, measured), and it works on one thread at a time. Not for the
    // commands that work on two threads at once (export, verify), where one
    // arena made them contend for the allocator.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if is_hook_invocation() {
        // SAFETY: mallopt only sets an allocator tunable, before any thread starts.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
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
    // The hook runs on every tool call: its two spellings skip building the
    // whole command-line parser. Anything else goes through clap.
    if let Some(agent) = hook_fast_path() {
        return gate::cmd::hook::run(gate::cmd::hook::HookArgs { agent });
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
    gate::cmd::dispatch(cli)
}

/// `gate hook` or `gate hook --agent NAME` (also `--agent=NAME`), exactly:
/// the agent flag's value, if any. `None` for every other command line.
fn hook_fast_path() -> Option<Option<String>> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).take(4).collect();
    let args: Vec<&str> = args.iter().map(|a| a.to_str()).collect::<Option<_>>()?;
    match args.as_slice() {
        ["hook"] => Some(None),
        ["hook", "--agent", name] if !name.starts_with('-') => Some(Some(name.to_string())),
        ["hook", flag] => flag.strip_prefix("--agent=").map(|n| Some(n.to_string())),
        _ => None,
    }
}

fn is_hook_invocation() -> bool {
    std::env::args().nth(1).as_deref() == Some("hook")
}
