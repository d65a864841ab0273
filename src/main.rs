//! The `gate` binary: parse the command line and dispatch. Nothing else. It
//! has no Rust `main`: std's start-up (which reads `/proc/self/maps` for the
//! main thread's stack guard and sets up a signal stack: 13 system calls and
//! about 0.03 ms of the 0.6 ms a hook process costs) is replaced by the C
//! entry below, which keeps the parts of it gate relies on.
#![no_main]

use std::process::ExitCode;

use clap::Parser;

/// The process's entry. It does what std's start-up would have done that
/// gate needs: descriptors 0-2 are open (else the next file gate opens could
/// get one, and a `println!` would write into it), and a closed pipe is an
/// error to handle, not SIGPIPE. The arguments are read by `std::env`,
/// which glibc hands them to before this runs. It leaves through
/// `std::process::exit`, which flushes stdout as a return from a Rust
/// `main` would, with 101 after a panic as std's start-up would.
#[unsafe(no_mangle)]
extern "C" fn main(_argc: std::ffi::c_int, _argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    gate::cmd::fault::open_standard_fds();
    // SAFETY: setting a signal's disposition to "ignore" before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // A panic has been reported by the panic hook; it exits 101, as from a Rust `main`.
    let status = std::panic::catch_unwind(run).map_or(101, exit_status);
    std::process::exit(status)
}

/// The status an `ExitCode` stands for (std keeps it private).
fn exit_status(code: ExitCode) -> i32 {
    (0..=u8::MAX).find(|&n| ExitCode::from(n) == code).map_or(1, i32::from)
}

fn run() -> ExitCode {
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
