//! `gate pending`, `gate approve` and `gate deny`: answering questions from
//! scripts and other terminals. The first answer wins; a later one is
//! refused with a message saying who answered first, and how.

use std::process::ExitCode;

use anyhow::bail;

use crate::paths::Paths;
use crate::store::questions::{Answer, AnswerResult, Question};
use crate::store::Store;
use crate::{clock, term};

/// The name recorded for answers given from this process: the settings'
/// display name, else the OS user.
pub fn approver_name(paths: &Paths) -> String {
    let cwd = std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_else(|_| "/".into());
    crate::config::load(paths, &cwd).settings.approver.unwrap_or_else(crate::identity::os_user)
}

fn open(paths: &Paths) -> anyhow::Result<Store> {
    paths.ensure_dirs()?;
    Ok(Store::open(&paths.db())?)
}

/// A question as `gate pending --json` lists it (docs/json.md): RFC 3339
/// times, and the tool input as the object it is.
#[derive(Debug, serde::Serialize)]
struct PendingRecord<'a> {
    id: i64,
    created: String,
    expires: String,
    session_id: &'a Option<String>,
    tool_use_id: &'a Option<String>,
    agent: &'a Option<String>,
    cwd: &'a Option<String>,
    tool: &'a Option<String>,
    tool_kind: &'a Option<String>,
    target: &'a Option<String>,
    args: serde_json::Value,
    rule: &'a Option<String>,
    rule_origin: &'a Option<String>,
    reason: &'a Option<String>,
    /// The rule an "always" answer would add to the user policy.
    always_rule: &'a Option<String>,
}

impl<'a> PendingRecord<'a> {
    fn of(q: &'a Question) -> PendingRecord<'a> {
        PendingRecord {
            id: q.id,
            created: clock::format_ms(q.created_ms),
            expires: clock::format_ms(q.expires_ms),
            session_id: &q.session_id,
            tool_use_id: &q.tool_use_id,
            agent: &q.agent,
            cwd: &q.cwd,
            tool: &q.tool,
            tool_kind: &q.tool_kind,
            target: &q.target,
            args: q.args.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or_default(),
            rule: &q.rule_id,
            rule_origin: &q.rule_origin,
            reason: &q.reason,
            always_rule: &q.always_rule,
        }
    }
}

pub fn run_pending(json: bool) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let store = open(&paths)?;
    let now = clock::now_ms();
    let pending = store.pending(now)?;
    if json {
        let records: Vec<PendingRecord> = pending.iter().map(PendingRecord::of).collect();
        println!("{}", serde_json::to_string_pretty(&records)?);
        return Ok(ExitCode::SUCCESS);
    }
    if pending.is_empty() {
        println!("no pending questions");
    }
    for q in &pending {
        println!(
            "{:>4}  {}  {}  {}  waiting {}s, expires in {}s",
            q.id,
            term::sanitize(q.agent.as_deref().unwrap_or("-")),
            term::sanitize(q.tool.as_deref().unwrap_or("-")),
            term::sanitize(&term::ellipsize(q.target.as_deref().unwrap_or(""), 80)),
            (now - q.created_ms) / 1000,
            (q.expires_ms - now).max(0) / 1000
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Describe who answered a question first, for a refused answer.
pub fn refusal(q: &Question) -> String {
    match q.state.as_str() {
        "answered" => format!(
            "question {} was already answered: {} by {} via {}; the first answer stands",
            q.id,
            q.answer.as_deref().unwrap_or("?"),
            q.approver.as_deref().unwrap_or("?"),
            q.source.as_deref().unwrap_or("?")
        ),
        "withdrawn" => format!("question {} was withdrawn: the inbox closed while it waited", q.id),
        "abandoned" => format!("question {} was abandoned: its agent stopped waiting", q.id),
        _ => format!("question {} has expired; no one answered it in time, and gate denied the call", q.id),
    }
}

pub fn answer(paths: &Paths, id: i64, a: Answer) -> anyhow::Result<ExitCode> {
    let mut store = open(paths)?;
    match store.answer_question(id, &a, clock::now_ms())? {
        AnswerResult::Accepted => {
            let verb = if a.allow { "approved" } else { "denied" };
            let scope = match a.scope.as_str() {
                "session" => " for the rest of its session",
                _ => "",
            };
            println!("question {id} {verb}{scope}");
            Ok(ExitCode::SUCCESS)
        }
        AnswerResult::Refused(q) => {
            eprintln!("gate: {}", refusal(&q));
            Ok(ExitCode::from(1))
        }
        AnswerResult::NotFound => bail!("no question {id}; `gate pending` lists the open ones"),
    }
}

pub fn run_approve(id: i64, session: bool) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let a = Answer {
        allow: true,
        scope: if session { "session" } else { "once" }.into(),
        approver: approver_name(&paths),
        source: "cli".into(),
        feedback: None,
    };
    answer(&paths, id, a)
}

pub fn run_deny(id: i64, reason: Option<String>) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let a = Answer {
        allow: false,
        scope: "once".into(),
        approver: approver_name(&paths),
        source: "cli".into(),
        feedback: reason,
    };
    answer(&paths, id, a)
}
