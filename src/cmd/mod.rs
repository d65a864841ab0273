//! One module per subcommand. Each `run` returns an exit code; errors are
//! printed once, as `gate: <error>`, by [`dispatch`].

pub mod answer;
pub mod check;
pub mod digest;
pub mod doctor;
pub mod export;
pub mod fault;
pub mod help;
pub mod hook;
pub mod install;
pub mod key;
pub mod log;
pub mod payload;
pub mod policy;
pub mod prune;
pub mod push;
pub mod recover;
pub mod replay;
pub mod resident;
pub mod serve;
pub mod suggest;
pub mod verify;
pub mod watch;

use std::process::ExitCode;

use crate::cli::{Cli, Command, FilterArgs};
use crate::store::Filter;

pub fn dispatch(cli: Cli) -> ExitCode {
    let Cli { command, no_pager } = cli;
    let result = match command {
        // The hot path: no settings, no database until a decision exists.
        Command::Hook { agent } => return hook::run(hook::HookArgs { agent }),
        Command::Resident => return resident::serve(),
        Command::Log(args) => log::run(args, !no_pager),
        Command::Export(args) => export::run(args),
        Command::Digest(args) => digest::run(args),
        Command::Verify { head, bundle, key, json, from } => match (bundle, from) {
            (Some(file), _) => verify::run_bundle(&file, key.as_deref(), json),
            (None, Some(url)) => verify::run_team(&url, json),
            (None, None) => verify::run(head, json),
        },
        Command::Push(args) => push::run(args),
        Command::Install { agent, dry_run } => install::run_install(agent, dry_run),
        Command::Uninstall { agent } => install::run_uninstall(agent),
        Command::Check(args) => check::run(args),
        Command::Doctor { json } => doctor::run(json),
        Command::Floor { json } => policy::run_floor(json),
        Command::Policy(crate::cli::PolicyCommand::Check { cwd, files, json }) => policy::run_check(cwd, files, json),
        Command::Policy(crate::cli::PolicyCommand::Docs) => policy::run_docs(),
        Command::Policy(crate::cli::PolicyCommand::Show { cwd, floor, json }) => {
            if floor {
                policy::run_floor(json)
            } else {
                policy::run_show(cwd, json)
            }
        }
        Command::Init { force } => policy::run_init(force),
        Command::Watch => watch::run(),
        Command::Serve { port, lan } => serve::run(serve::ServeArgs { port, lan }),
        Command::Pending { json } => answer::run_pending(json),
        Command::Approve { id, session } => answer::run_approve(id, session),
        Command::Deny { id, reason } => answer::run_deny(id, reason),
        Command::Trust { path, revoke } => policy::run_trust(path, revoke),
        Command::Key { json } => key::run(json),
        Command::Prune { before, dry_run, yes } => prune::run(&before, dry_run, yes),
        Command::Recover { force } => recover::run(force),
        Command::Replay(args) => replay::run(args),
        Command::Suggest(args) => suggest::run(args),
        Command::Completions { shell } => help::run_completions(shell),
        Command::Man => help::run_man(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(crate::term::is_broken_pipe)) {
                return ExitCode::SUCCESS;
            }
            eprintln!("gate: {}", crate::term::sanitize(&error_text(&e)));
            ExitCode::from(2)
        }
    }
}

/// An error and its causes on one line, `outer: cause: cause`, each said
/// once, where anyhow's `{:#}` would repeat them: a cause whose text the
/// link before it already carries (a library error that shows its source
/// in its own message) is left out, and so is one that only restates the
/// link before it (SQLite's `Error code 26: file is not a database`).
pub(crate) fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut last = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let said = !last.is_empty() && (last.contains(&text) || text.ends_with(&last));
        if !said {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        last = text;
    }
    out
}

/// Turn the command-line filters into a store filter.
pub(crate) fn filter_of(args: &FilterArgs) -> anyhow::Result<Filter> {
    let now = crate::clock::now_ms();
    let time = |s: &Option<String>, flag: &str| -> anyhow::Result<Option<i64>> {
        s.as_deref().map(|t| crate::clock::parse_time(t, now).map_err(|e| anyhow::anyhow!("--{flag}: {e}"))).transpose()
    };
    Ok(Filter {
        since: time(&args.since, "since")?,
        until: time(&args.until, "until")?,
        session: args.session.clone(),
        tool: args.tool.clone(),
        decision: args.decision,
        source: args.source,
        kind: None,
        agent: args.agent.clone(),
        approver: args.approver.clone(),
        rule: args.rule.clone(),
        cwd: args.cwd.as_deref().map(|c| crate::paths::absolute(std::path::Path::new(c)).display().to_string()),
        text: args.grep.clone(),
        host: args.host.clone(),
        developer: args.developer.clone(),
        after_seq: None,
    })
}

/// Whether `e` is only that no receipt exists yet (a fresh home): commands
/// that read the receipt say so and succeed.
pub(crate) fn nothing_yet(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<crate::store::StoreError>(), Some(crate::store::StoreError::Missing(_)))
}

/// Open the team store named by `--from`: a URL, or `team` for the
/// configured one.
pub(crate) fn open_team(from: &str) -> anyhow::Result<crate::team::TeamStore> {
    let paths = crate::paths::Paths::from_env()?;
    let url = crate::team::resolve_url((from != "team").then_some(from), &paths)?;
    Ok(crate::team::TeamStore::open(url)?)
}

/// The receipts a review reads: this machine's, or the team store's.
pub(crate) enum Receipts {
    Local(crate::store::Store),
    Team(crate::team::TeamStore),
}

impl Receipts {
    /// Open what `--from` names (default: the local receipt), resolving a
    /// session prefix in the filter.
    pub(crate) fn open(from: Option<&str>, filter: &mut Filter) -> anyhow::Result<Receipts> {
        let Some(from) = from else { return Ok(Receipts::Local(open_for_reading(filter)?)) };
        let team = open_team(from)?;
        if let Some(prefix) = filter.session.clone() {
            let found = team.resolve_session(&prefix)?;
            filter.session = Some(one_session(&prefix, found)?);
        }
        Ok(Receipts::Team(team))
    }

    pub(crate) fn sessions(
        &self,
        filter: &Filter,
        limit: usize,
        calls_only: bool,
    ) -> Result<Vec<crate::store::SessionSummary>, crate::store::StoreError> {
        match self {
            Receipts::Local(s) => s.sessions(filter, limit, calls_only),
            Receipts::Team(t) => t.sessions(filter, limit, calls_only),
        }
    }

    /// Visit matching rows store by store (the local receipt is one store,
    /// with no origin), each in seq order. `f` gets the store's origin.
    pub(crate) fn for_each_store(
        &self,
        filter: &Filter,
        f: &mut dyn FnMut(Option<&crate::team::read::Origin>, crate::store::Receipt) -> std::io::Result<bool>,
    ) -> Result<(), crate::store::StoreError> {
        match self {
            Receipts::Local(s) => s.for_each(filter, |r| f(None, r)),
            Receipts::Team(t) => t.scan_stores(filter, &mut |o, r, _| f(Some(o), r)),
        }
    }
}

/// Open the receipt for reading, resolving a session prefix in the filter.
pub(crate) fn open_for_reading(filter: &mut Filter) -> anyhow::Result<crate::store::Store> {
    let paths = crate::paths::Paths::from_env()?;
    let store = crate::store::Store::open_read(&paths.db())?;
    if let Some(prefix) = filter.session.clone() {
        filter.session = Some(resolve_session(&store, &prefix)?);
    }
    Ok(store)
}

pub(crate) fn resolve_session(store: &crate::store::Store, prefix: &str) -> anyhow::Result<String> {
    one_session(prefix, store.resolve_session(prefix)?)
}

fn one_session(prefix: &str, found: Vec<String>) -> anyhow::Result<String> {
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => anyhow::bail!("no session matches {prefix:?}; `gate log` lists the recent ones"),
        many => anyhow::bail!(
            "session prefix {prefix:?} is ambiguous ({}); type more of it",
            many.iter().map(|s| s.chars().take(12).collect::<String>()).collect::<Vec<_>>().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[derive(Debug, thiserror::Error)]
    #[error("receipt database /x/gate.db: {source}")]
    struct Wrapped {
        source: Sqlite,
    }

    /// A library error that shows its own source's text, as rusqlite's does.
    #[derive(Debug, thiserror::Error)]
    #[error("file is not a database")]
    struct Sqlite {
        source: Code,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("Error code 26: file is not a database")]
    struct Code;

    #[test]
    fn an_error_says_each_cause_once() {
        let wrapped = || Wrapped { source: Sqlite { source: Code } };
        let cases: Vec<(anyhow::Error, &str)> = vec![
            (anyhow::Error::new(wrapped()), "receipt database /x/gate.db: file is not a database"),
            (
                anyhow::Error::new(wrapped()).context("cannot read the receipt"),
                "cannot read the receipt: receipt database /x/gate.db: file is not a database",
            ),
            (anyhow::Error::new(std::io::Error::other("no such file")).context("--key"), "--key: no such file"),
            (anyhow::anyhow!("plain"), "plain"),
        ];
        for (e, want) in cases {
            assert_eq!(error_text(&e), want);
        }
    }
}
