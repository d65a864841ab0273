//! gate's own, agent-neutral view of a hook call. Every adapter in `hook/`
//! turns its agent's wire JSON into one [`HookEvent`]; everything after that
//! (policy, receipt, log) sees only these types and never the wire format.

use serde::Serialize;
use serde_json::Value;

/// Which agent sent the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Agent {
    ClaudeCode,
    Codex,
    GeminiCli,
    Cursor,
    CopilotCli,
    Hermes,
}

impl Agent {
    pub fn as_str(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::Codex => "codex",
            Agent::GeminiCli => "gemini-cli",
            Agent::Cursor => "cursor",
            Agent::CopilotCli => "copilot-cli",
            Agent::Hermes => "hermes",
        }
    }

    pub const ALL: [Agent; 6] =
        [Agent::ClaudeCode, Agent::Codex, Agent::GeminiCli, Agent::Cursor, Agent::CopilotCli, Agent::Hermes];

    /// The agent a receipt names ([`Agent::as_str`]).
    pub fn parse(s: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// What a tool does, independent of the agent's name for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Shell,
    Read,
    Write,
    Edit,
    Search,
    Fetch,
    Mcp,
    Agent,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Shell,
        Kind::Read,
        Kind::Write,
        Kind::Edit,
        Kind::Search,
        Kind::Fetch,
        Kind::Mcp,
        Kind::Agent,
        Kind::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Shell => "shell",
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::Edit => "edit",
            Kind::Search => "search",
            Kind::Fetch => "fetch",
            Kind::Mcp => "mcp",
            Kind::Agent => "agent",
            Kind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a tool call asks to do, typed. Each adapter maps its agent's tools
/// onto one of these, and the policy matches on it; the raw tool input
/// (`Action::args`) is kept for the receipt only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Request {
    /// Run a command line in a shell.
    Shell { command: String },
    /// Read one file (`None`: the agent named none, so the working directory).
    Read { path: Option<String> },
    /// Walk a tree under `root`. `names` is a file-name pattern the call
    /// targets (`*.env`), checked for secrets; `only` restricts a content
    /// search to names matching it; `hidden` says hidden files are read.
    Search { root: Option<String>, names: Option<String>, only: Option<String>, hidden: bool },
    /// Create, overwrite, edit, move or delete files: every path written,
    /// and the text that lands in them (checked for what it defines).
    Write { paths: Vec<String>, new_text: Vec<String> },
    /// Reach the network.
    Fetch { url: String },
    /// Call a tool of an MCP server.
    Mcp { server: String, tool: String },
    /// Start a subagent, whose own tool calls are gated one by one.
    Subagent,
    /// A tool that only changes the agent's own state (its to-do list, plan mode).
    Internal,
    /// A tool gate does not know.
    Unknown,
}

/// One tool call the agent wants to make (or has made).
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub agent: Agent,
    /// The agent's name for the hook event (`PreToolUse`, `BeforeTool`, `preToolUse`).
    pub event: String,
    pub session_id: String,
    pub tool_use_id: Option<String>,
    /// The agent's own tool name (`Bash`, `Read`, `mcp__srv__tool`).
    pub tool: String,
    pub kind: Kind,
    /// What the call asks to do: the one thing the policy decides on.
    pub request: Request,
    /// The tool input exactly as the agent sent it, for the receipt.
    pub args: Value,
    /// The command line, path, URL or query the call is about.
    pub target: Option<String>,
    pub cwd: String,
    pub permission_mode: Option<String>,
    pub transcript_path: Option<String>,
    /// Set when the call comes from a subagent.
    pub subagent: Option<String>,
    /// The shell a shell tool's command runs in (bash unless the adapter knows otherwise).
    pub shell: Shell,
}

/// The shell that runs a shell tool's command line: bash and zsh read the same text
/// differently (`docs/shells.md`); any other shell is not analysed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Shell {
    #[default]
    Bash,
    Zsh,
    Other(String),
}

impl Shell {
    /// From a shell's path or name: `/usr/bin/zsh`, `zsh-5.9` and `zsh` are zsh.
    pub fn from_program(program: &str) -> Shell {
        let base = program.rsplit('/').next().unwrap_or(program);
        match base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '-') {
            "bash" => Shell::Bash,
            "zsh" => Shell::Zsh,
            _ => Shell::Other(base.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Other(name) => name,
        }
    }
}

impl Serialize for Shell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How a tool call ended, reported after it ran.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub action: Action,
    pub status: OutcomeStatus,
    pub duration_ms: Option<u64>,
    pub error: Option<String>,
    /// For edits and writes: what changed (the agent's structured patch).
    pub patch: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeStatus {
    Success,
    Error,
    Interrupted,
    /// It ran, and the agent does not say how it ended (Codex reports a
    /// shell command's output without its exit code).
    Ran,
}

impl OutcomeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Success => "success",
            OutcomeStatus::Error => "error",
            OutcomeStatus::Interrupted => "interrupted",
            OutcomeStatus::Ran => "ran",
        }
    }
}

/// A session boundary.
#[derive(Debug, Clone, Serialize)]
pub struct SessionMark {
    pub agent: Agent,
    pub session_id: String,
    pub cwd: String,
    pub started: bool,
    /// `startup`, `resume`, `clear`, or the end reason.
    pub detail: Option<String>,
    pub transcript_path: Option<String>,
}

/// Everything an adapter can turn a payload into.
#[derive(Debug, Clone)]
pub enum HookEvent {
    /// The agent asks whether it may run a tool.
    PreTool(Action),
    /// The agent is about to show its own permission prompt.
    PermissionRequest(Action),
    /// The tool ran.
    PostTool(Outcome),
    Session(SessionMark),
    /// An event of the agent's that gate does not gate (Stop, prompts...).
    Ignored {
        agent: Agent,
        event: String,
    },
}
