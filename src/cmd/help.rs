//! `gate completions` and `gate man`: the shell completion scripts and the
//! man page, generated from the same clap definition as `--help`, so the
//! three never disagree. `install.sh` writes them where shells and `man`
//! look.

use std::process::ExitCode;

use clap::CommandFactory;

pub fn run_completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut cmd = crate::cli::Cli::command();
    clap_complete::generate(shell, &mut cmd, "gate", &mut std::io::stdout().lock());
    Ok(ExitCode::SUCCESS)
}

pub fn run_man() -> anyhow::Result<ExitCode> {
    let cmd = crate::cli::Cli::command();
    clap_mangen::Man::new(cmd).render(&mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}
