//! The command line, as clap structs. The doc comments are the help text;
//! the top-level help also lists the exit codes, the environment variables
//! and the files gate reads, and the filters check their values here so a
//! typo is refused with the list of valid ones instead of matching nothing.

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The end of `gate --help` (and of the man page): what scripts and users
/// need besides the commands.
pub const AFTER_HELP: &str = "\
Exit codes:
  0  success (gate check --exit-code: allow)
  1  the answer is no: gate verify found damage, gate policy check found errors,
     gate doctor found an unprotected agent, gate check --ask was denied
     (gate check --exit-code: ask)
  2  an error, or bad usage (gate check --exit-code: deny)
  gate hook answers its agent: 0 with the answer on stdout, 2 to block the call; never 1

Environment:
  GATE_HOME         keep every file gate reads or writes in this directory
  GATE_ASK_TIMEOUT  seconds a question waits for an answer (default 300, at most 840)
  GATE_DURABILITY   full: sync every receipt row to disk, not only human decisions
  GATE_RESIDENT     off: no resident process answers hook calls (require: only it may)
  NO_COLOR          no colour in the output

Files (without GATE_HOME; with it, all of them are in $GATE_HOME):
  ~/.config/gate/policy.toml     your policy (gate init, gate policy docs)
  ~/.config/gate/settings.toml   settings
  ~/.config/gate/trust.toml      trusted project policies (gate trust)
  ~/.config/gate/signing.key     the key that signs checkpoints (gate key)
  ~/.local/share/gate/gate.db    the receipt
  ~/.local/share/gate/run/       the resident's socket (see GATE_RESIDENT)
  .gate/policy.toml              a project's policy, in the working directory or above
  /etc/gate/policy.toml          the managed policy, set by an administrator";

/// An approval gate for AI coding agents: every tool call is checked against
/// a read-only floor and your policies, asked of a human when needed, and
/// recorded in a tamper-evident receipt.
#[derive(Debug, Parser)]
#[command(name = "gate", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Do not page long output (`gate log` on a terminal goes through $PAGER, default `less -FRX`).
    #[arg(long, global = true)]
    pub no_pager: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run as an agent's pre/post tool hook: read the payload on stdin, decide, record, answer.
    Hook {
        /// Force the adapter instead of recognising the agent from the payload.
        #[arg(long, value_name = "AGENT")]
        agent: Option<String>,
    },
    /// Serve `gate hook` calls that need no human from a resident process
    /// (started by the hook itself; see docs/perf.md).
    #[command(hide = true)]
    Resident,
    /// Show recent sessions, or one session as a story.
    Log(LogArgs),
    /// Stream receipts as JSON Lines, CSV or OCSF 1.8 events, or write a signed bundle.
    Export(ExportArgs),
    /// Sum up a period for a reviewer: who decided what, and what to change.
    ///
    /// The last 7 days unless --since says: decisions and who made them, how long humans
    /// took, the most denied commands, the asks always approved, rules that never fired,
    /// per agent and per repository.
    Digest(DigestArgs),
    /// Prove the receipt (or a bundle) was not altered, replaced or cut short.
    ///
    /// Walks the hash chain, then checks the store against the signed checkpoints kept
    /// apart from it. With --bundle, checks a file from `gate export --bundle` instead.
    Verify {
        /// Also require that this hash (an earlier `gate verify` head) is still in the chain.
        #[arg(long, value_name = "HASH")]
        head: Option<String>,
        /// Verify a bundle written by `gate export --bundle` instead of the local receipt.
        #[arg(long, value_name = "FILE")]
        bundle: Option<std::path::PathBuf>,
        /// The public key the bundle must be signed with (`gate key` on the machine that wrote it).
        #[arg(long, value_name = "PUBKEY", requires = "bundle")]
        key: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Verify every store in the team store instead: a postgres:// URL, or `team` for the
        /// configured one.
        #[arg(long, value_name = "URL", conflicts_with_all = ["bundle", "head"])]
        from: Option<String>,
    },
    /// Upload this machine's receipts to the team store (PostgreSQL).
    ///
    /// Sends the rows the server does not hold yet, checking each one's hash and link as it
    /// goes, in batches that each commit on their own: a second run sends nothing, and a run
    /// that was cut off goes on where it stopped. Then sends the store's signed checkpoints.
    Push(PushArgs),
    /// Remove old payloads from the receipt, keeping it verifiable.
    ///
    /// Each row older than the date keeps its hash and a digest of what was removed, and a
    /// `prune` row records what was removed and by whom.
    Prune {
        /// Prune rows before this time (RFC 3339, a date, or a span back from now like 90d).
        #[arg(long, value_name = "DATE")]
        before: String,
        /// Say what would be pruned, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Move a damaged receipt store aside and start a new chain that records its last head.
    ///
    /// The damaged file (and its -wal and -shm) is renamed to gate.db.damaged-<time> beside
    /// it and kept; `gate verify` reports on it. The new chain's first row (kind `recover`)
    /// names that file and the last intact row that could be read from it. Refuses a store
    /// that is not damaged unless --force.
    Recover {
        /// Start a new chain even though the store reads as healthy.
        #[arg(long)]
        force: bool,
    },
    /// Hook gate into an agent's settings (all agents found, when none is named).
    Install {
        /// The agent: claude, codex or gemini (default: every one found on this machine).
        agent: Option<String>,
        /// Show what would change without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove exactly what `gate install` added (from every agent it is in, when none is named).
    Uninstall {
        /// The agent: claude, codex, gemini, cursor, copilot or hermes (default: every one gate is in).
        agent: Option<String>,
    },
    /// For each agent: installed? hooked, trusted, pointing at this gate? Then a self-test
    /// through each adapter. Exits 1 when an installed agent is not protected.
    Doctor {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Explain what gate would decide for a command, without recording anything.
    Check(CheckArgs),
    /// Print the read-only floor: each program, its read-only flags, and why.
    Floor {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate or show the policy layers.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Write a commented starter user policy, or add what an existing one lacks (never removing a rule).
    Init {
        /// Replace an existing user policy with the starter.
        #[arg(long)]
        force: bool,
    },
    /// The terminal inbox: answer your agents' questions as they come.
    Watch,
    /// The web inbox: answer your agents' questions in a browser, or with --lan on a phone.
    /// Prints the page's URL (token included) on its first line.
    Serve {
        /// The port to listen on (default: a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Listen on the local network, for a phone: prints a one-time pairing URL and its QR code.
        #[arg(long)]
        lan: bool,
    },
    /// List the questions waiting for an answer.
    Pending {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve a pending question.
    Approve {
        /// The question id (`gate pending` lists them).
        id: i64,
        /// Also allow matching calls for the rest of that session.
        #[arg(long)]
        session: bool,
    },
    /// Deny a pending question; the reason goes back to the model.
    Deny {
        /// The question id.
        id: i64,
        /// What to tell the agent instead.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Trust a project's .gate/policy.toml so its allow rules apply (until it changes).
    Trust {
        /// The project policy file, or a directory (default: the nearest one from here).
        path: Option<String>,
        /// Remove the trust instead.
        #[arg(long)]
        revoke: bool,
    },
    /// Re-decide recorded calls under a proposed user policy, and show every call whose
    /// decision would change, grouped by the rule that would decide it.
    Replay(ReplayArgs),
    /// Propose allow rules from repeated human approvals, each with its evidence and replay.
    Suggest(SuggestArgs),
    /// Print the public key that signs gate's checkpoints (creating the key on first use).
    Key {
        /// Print {key, key_id, path} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script: gate completions bash > ~/.local/share/bash-completion/completions/gate
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): gate man > ~/.local/share/man/man1/gate.1
    Man,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check every layer: syntax, unknown keys, bad globs or regexes, rules that can never match, failing examples.
    Check {
        /// The working directory whose project policies to include (default: here).
        #[arg(long, value_name = "DIR")]
        cwd: Option<String>,
        /// Also check these files (as user-layer files).
        files: Vec<String>,
        /// Print every file's errors and warnings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the effective rules with where each comes from.
    Show {
        /// The working directory whose project policies to include (default: here).
        #[arg(long, value_name = "DIR")]
        cwd: Option<String>,
        /// Print the read-only floor instead.
        #[arg(long)]
        floor: bool,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the policy file format: the keys of a rule, the settings, the layers.
    Docs,
}

#[derive(Debug, Args, Default, Clone)]
pub struct FilterArgs {
    /// Only rows at or after this time (RFC 3339, a date, or a span like 2h or 7d).
    #[arg(long)]
    pub since: Option<String>,
    /// Only rows before this time.
    #[arg(long)]
    pub until: Option<String>,
    /// Only this session (an id or a unique prefix).
    #[arg(long)]
    pub session: Option<String>,
    /// Only this tool (Bash, Read...) or kind (shell, read, write, edit, search, fetch, mcp, agent, other).
    #[arg(long, value_parser = tool_filter)]
    pub tool: Option<String>,
    /// Only this decision.
    #[arg(long, value_name = "DECISION", value_parser = words_parser(crate::store::Verdict::ALL, crate::store::Verdict::as_str))]
    pub decision: Option<crate::store::Verdict>,
    /// Only decisions from this source.
    #[arg(long, value_name = "SOURCE", value_parser = words_parser(crate::store::Source::ALL, crate::store::Source::as_str))]
    pub source: Option<crate::store::Source>,
    /// Only this agent (claude-code, codex, gemini-cli, cursor, copilot-cli, hermes, gate-check).
    #[arg(long, value_parser = agent_filter)]
    pub agent: Option<String>,
    /// Only calls this person approved or denied.
    #[arg(long)]
    pub approver: Option<String>,
    /// Only calls this rule decided (a rule id, or a prefix ending in `*`).
    #[arg(long)]
    pub rule: Option<String>,
    /// Only calls made in this directory or below it (a repository).
    #[arg(long, value_name = "DIR", visible_alias = "repo")]
    pub cwd: Option<String>,
    /// Only calls whose command, path, arguments or reason contain this text (any case).
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
    /// Only rows recorded on this machine (its host name).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Only this developer's rows: the name a store was pushed under (with --from), else the OS user.
    #[arg(long, value_name = "NAME")]
    pub developer: Option<String>,
    /// Read the team store instead of this machine's receipt: a postgres:// URL, or `team`
    /// for the one in GATE_TEAM_URL or settings.toml's [team] url.
    #[arg(long, value_name = "URL")]
    pub from: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// A session id (or a unique prefix) to show as a story.
    #[arg(value_name = "SESSION")]
    pub session_id: Option<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only calls that ended this way.
    #[arg(long, value_enum)]
    pub outcome: Option<OutcomeArg>,
    /// How many sessions to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Also list sessions with no tool call (started, then nothing).
    #[arg(long)]
    pub all: bool,
    /// Show times in UTC instead of the local time zone.
    #[arg(long)]
    pub utc: bool,
    /// Do not show the diffs of edits and writes.
    #[arg(long)]
    pub no_diff: bool,
    /// Keep printing calls as they are recorded (Ctrl-C to stop).
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Print JSON instead of text.
    #[arg(long, conflicts_with = "follow")]
    pub json: bool,
}

/// How a call ended, for `gate log --outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutcomeArg {
    Success,
    Error,
    Interrupted,
    /// Ran, however it ended.
    Ran,
    /// Denied, expired, or never reported as run.
    NotRun,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per receipt row (the `gate.receipt/1` schema).
    Jsonl,
    /// A header, then the same fields as JSONL.
    Csv,
    /// One OCSF 1.8 event per line: Process, File System, API Activity, Application Lifecycle.
    Ocsf,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The team store: postgres://user@host:port/db?sslmode=verify-full&sslrootcert=ca.pem
    /// (default: GATE_TEAM_URL, else [team] url in settings.toml). A password belongs in
    /// PGPASSWORD or ~/.pgpass, not in the URL.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// Create or migrate gate's schema on the server (and the gate_pusher and gate_reviewer
    /// roles, when allowed); run once, as a role that may create tables.
    #[arg(long)]
    pub init: bool,
    /// The name to push this machine's store under (default: [team] developer in
    /// settings.toml, else the OS user). A store keeps the name of its first push.
    #[arg(long, value_name = "NAME")]
    pub developer: Option<String>,
    /// Rows per transaction.
    #[arg(long, value_name = "N", default_value_t = crate::team::push::DEFAULT_BATCH, value_parser = clap::value_parser!(u32).range(1..=1_000_000).map(|n| n as usize))]
    pub batch: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ExportFormat,
    /// Write the whole receipt, as JSONL records and a signed checkpoint, to this file
    /// (`gate verify --bundle FILE --key $(gate key)` checks it anywhere).
    #[arg(long, value_name = "FILE", conflicts_with = "format")]
    pub bundle: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DigestFormat {
    /// Aligned text, coloured on a terminal.
    Text,
    /// Markdown tables, to paste into a review or a chat.
    Md,
    /// One JSON document.
    Json,
}

#[derive(Debug, Args)]
#[command(mut_arg("since", |a| a.default_value("7d").help("Start of the period (RFC 3339, a date, or a span like 2h or 7d)")))]
pub struct DigestArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DigestFormat,
    /// How many denied commands and fired rules to list.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The proposed policy, decided in place of your user policy (project and managed files still apply).
    #[arg(long, value_name = "FILE")]
    pub policy: String,
    /// Replay calls at or after this time (RFC 3339, a date, or a span like 2h or 7d).
    #[arg(long, default_value = "30d")]
    pub since: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// Learn from approvals at or after this time (RFC 3339, a date, or a span like 7d).
    #[arg(long, default_value = "30d")]
    pub since: String,
    /// Propose a rule only when at least this many approvals back it.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub min_count: u32,
    /// Also count calls that ran after the agent's own permission dialog (weaker evidence:
    /// gate cannot tell whether a human saw them).
    #[arg(long)]
    pub dialog: bool,
    /// Append the proposed rules to your user policy, after confirmation.
    #[arg(long)]
    pub apply: bool,
    /// With --apply: do not ask for confirmation.
    #[arg(long, requires = "apply")]
    pub yes: bool,
    /// Print JSON instead of TOML.
    #[arg(long, conflicts_with = "apply")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// The working directory to evaluate in (default: the current one).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<String>,
    /// When gate would ask, ask on this terminal (/dev/tty) and record the answer.
    #[arg(long)]
    pub ask: bool,
    /// Decide as this agent's hook would: claude (default), codex or gemini.
    #[arg(long, value_name = "AGENT")]
    pub agent: Option<String>,
    /// Explain the command as this shell runs it: bash, zsh, or another name (which gate does
    /// not analyse). Default: the shell the agent would pick here (Claude Code: $CLAUDE_CODE_SHELL, $SHELL).
    #[arg(long, value_name = "SHELL")]
    pub shell: Option<String>,
    /// Exit 0 when gate would allow, 1 when it would ask, 2 when it would deny.
    #[arg(long, conflicts_with = "ask")]
    pub exit_code: bool,
    /// The command line to check, as one argument: gate check 'git status'.
    #[arg(value_name = "COMMAND", required_unless_present = "command", conflicts_with = "command")]
    pub line: Option<String>,
    /// The command line to check, after `--`: gate check -- git status.
    #[arg(last = true, value_name = "WORDS")]
    pub command: Vec<String>,
}

impl CheckArgs {
    /// The command line, however it was given.
    pub fn command_line(&self) -> String {
        match &self.line {
            Some(line) => line.clone(),
            None => self.command.join(" "),
        }
    }
}

/// A parser for a [`crate::store`] word type that lists its words in the
/// help, in completions and in the error for a value that is none of them.
fn words_parser<T: Copy + Send + Sync + 'static>(
    all: &'static [T],
    word: fn(T) -> &'static str,
) -> impl clap::builder::TypedValueParser<Value = T> {
    PossibleValuesParser::new(all.iter().map(|t| word(*t)))
        .map(move |s| all.iter().copied().find(|t| word(*t) == s).expect("a possible value is one of the words"))
}

/// `--agent`: an agent as receipts name it, or as `gate install` names it
/// (`claude` is `claude-code`), or `gate-check` (answers given to `gate check --ask`).
fn agent_filter(s: &str) -> Result<String, String> {
    let lower = s.to_ascii_lowercase();
    if lower == "gate-check" {
        return Ok(lower);
    }
    match crate::action::Agent::parse(&lower).or_else(|| crate::hook::agent_from_flag(&lower)) {
        Some(agent) => Ok(agent.as_str().to_string()),
        None => Err(format!(
            "unknown agent; use one of: {}, gate-check",
            crate::action::Agent::ALL.map(|a| a.as_str()).join(", ")
        )),
    }
}

/// `--tool`: a kind, or a tool name some agent uses (any case), or an MCP
/// tool (`mcp__server__tool`, `mcp_server_tool`, `MCP:tool`).
fn tool_filter(s: &str) -> Result<String, String> {
    let mcp = ["mcp__", "mcp_", "MCP:"].iter().any(|p| s.starts_with(p) && s.len() > p.len());
    if crate::action::Kind::parse(s).is_some() || crate::hook::TOOL_NAMES.iter().any(|t| t.eq_ignore_ascii_case(s)) || mcp {
        return Ok(s.to_string());
    }
    Err(format!(
        "unknown tool; use a kind ({}), an MCP tool (mcp__server__tool) or a tool name: {}",
        crate::action::Kind::ALL.map(|k| k.as_str()).join(", "),
        crate::hook::TOOL_NAMES.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
