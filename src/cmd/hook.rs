//! `gate hook`: the hot path, run by the agent before and after every tool
//! call. stdin → adapter → decision → receipt → answer, in that order: the
//! answer is printed only after the receipt row is committed ("no receipt,
//! no action"). Every failure, including a panic or a hang, ends in a deny
//! the agent understands (exit 2 with one line on stderr); `gate hook` never
//! exits 1, which Claude Code reads as "carry on".

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::action::{Action, Agent, HookEvent, Kind, Outcome};
use crate::broker::{self, Settled};
use crate::engine;
use crate::hook::{self, Adapter, HookError, Reply};
use crate::paths::Paths;
use crate::policy::{Basis, Decision, Evaluation, Verdict};
use crate::store::{JsonText, Receipt, Source, Store, Verdict as Word};
use crate::{clock, redact};

use super::{fault, payload, resident};

/// A hook that has not answered within this deadline denies and exits.
/// Waiting for a human's answer moves the deadline out to the question's
/// expiry; nothing else may take this long.
const DEADLINE: Duration = Duration::from_secs(30);

/// A human's approval of a call carries over to the same call announced
/// again within this window (Codex's PermissionRequest after its PreToolUse).
const APPROVAL_CARRIES_MS: i64 = 10 * 60 * 1000;

/// The agent this hook answers, once known (from `--agent`, else the
/// payload): every refusal, even the watchdog's or a panic's, is then
/// rendered in its protocol (Hermes runs the tool on anything but a JSON
/// block answer).
static AGENT: std::sync::OnceLock<Agent> = std::sync::OnceLock::new();

/// Epoch milliseconds after which the watchdog denies.
static DEADLINE_MS: AtomicI64 = AtomicI64::new(i64::MAX);

/// The exit code every agent reads as "block".
pub(crate) const BLOCK: u8 = 2;

pub struct HookArgs {
    pub agent: Option<String>,
}

pub fn run(args: HookArgs) -> ExitCode {
    // Read the payload first, so that the supervisor holds it for a receipt
    // if the worker dies.
    fault::ignore_file_size_signal();
    let (raw, read) = payload::read_stdin();
    // The resident of this context answers a call that needs no human
    // without this process loading anything (`cmd::resident`), not even the
    // payload: it parses it itself. Anything else, and any trouble with it,
    // comes down the path below.
    let mut start_resident = None;
    if read.is_ok() && !payload::was_cut() {
        if let Ok(paths) = Paths::from_env() {
            match resident::ask(&paths, args.agent.as_deref(), &raw) {
                Some(resident::Asked::Answered(a)) => return print_answer(&a.stdout, a.code),
                Some(resident::Asked::NoneThere(sock)) => start_resident = Some(sock),
                Some(resident::Asked::Declined) | None => {}
            }
        }
    }
    // Which agent asked: refusals from here on are written in its protocol.
    if let Some(agent) = args.agent.as_deref().and_then(hook::agent_from_flag).or_else(|| sniff_agent(&raw)) {
        let _ = AGENT.set(agent);
    }
    if resident::required() {
        exit_refusing("gate: GATE_RESIDENT=require, and no resident answered this call; denying this tool call");
    }
    match fault::supervise() {
        Ok(fault::Role::Worker) => {}
        Ok(fault::Role::Exited(code @ (0 | BLOCK))) => return ExitCode::from(code),
        Ok(fault::Role::Exited(code)) => return worker_died(&args, &raw, &format!("exited with status {code}")),
        Ok(fault::Role::Killed(sig)) => return worker_died(&args, &raw, &fault::describe_signal(sig)),
        Err(e) => exit_refusing(&format!("gate: cannot start the hook's worker process ({e}); denying this tool call")),
    }
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        exit_refusing(&format!("gate: internal error{at}: {msg}; denying this tool call"));
    }));
    DEADLINE_MS.store(clock::now_ms() + DEADLINE.as_millis() as i64, Ordering::SeqCst);
    std::thread::spawn(|| loop {
        std::thread::sleep(Duration::from_millis(100));
        if clock::now_ms() > DEADLINE_MS.load(Ordering::SeqCst) {
            exit_refusing(&format!("gate: no decision in time ({}); denying this tool call", fault::waiting_on()));
        }
    });
    // The analysis recurses, boundedly (`shell::MAX_COMPOUND_NESTING` and its siblings):
    // on a stack far larger than those bounds can use, it cannot overflow.
    let work = std::thread::Builder::new()
        .name("gate-hook".into())
        .stack_size(fault::WORKER_STACK)
        .spawn(move || handle(args, raw, read))
        .map_err(|e| e.to_string())
        .and_then(|t| t.join().map_err(|_| "the hook's thread failed".to_string()));
    let (stdout, code, stderr) = match work {
        Ok(answer) => answer,
        Err(e) => refusal(format!("gate: {e}; denying this tool call")),
    };
    if let Some(line) = stderr {
        let _ = writeln!(std::io::stderr(), "{line}");
    }
    let exit = print_answer(&stdout, code);
    run_due_checkpoint();
    if let Some(sock) = start_resident {
        resident::start(&sock);
    }
    exit
}

/// Print the answer for the agent and return the exit code that goes with it.
fn print_answer(stdout: &str, code: u8) -> ExitCode {
    if !stdout.is_empty() {
        let mut out = std::io::stdout().lock();
        let written = out.write_all(stdout.as_bytes()).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush());
        // An answer the agent never reads must not become "no objection".
        if let Err(e) = written {
            let _ =
                writeln!(std::io::stderr(), "gate: cannot write the answer to stdout ({e}); denying this tool call");
            return ExitCode::from(BLOCK);
        }
    }
    ExitCode::from(code)
}

/// The supervisor's answer when the worker died without answering (a stack
/// overflow, an abort, running out of memory, a signal): deny, with a receipt.
fn worker_died(args: &HookArgs, raw: &[u8], how: &str) -> ExitCode {
    let agent = args.agent.as_deref().and_then(hook::agent_from_flag);
    let reason = format!("gate: the hook's worker {how} before it answered");
    let line = match Paths::from_env() {
        Ok(paths) => refuse_raw(&paths, agent, raw, reason).2.unwrap_or_default(),
        Err(e) => format!("{reason}; denying this tool call (and no receipt: {e})"),
    };
    exit_refusing(&line)
}

/// Returns (stdout, exit code, stderr line).
fn handle(args: HookArgs, raw: Vec<u8>, read: std::io::Result<()>) -> (String, u8, Option<String>) {
    fault::test_crash();
    let forced = match args.agent.as_deref().map(|a| (a, hook::agent_from_flag(a))) {
        None => None,
        Some((_, Some(agent))) => Some(agent),
        Some((name, None)) => {
            return refusal(format!(
                "gate: unknown agent {name:?} for --agent; use one of {}; denying",
                hook::ADAPTERS.iter().map(|a| a.names()[0]).collect::<Vec<_>>().join(", ")
            ))
        }
    };
    let paths = match Paths::from_env() {
        Ok(p) => p,
        Err(e) => return refusal(format!("gate: {e}; denying this tool call")),
    };
    if let Err(e) = read {
        return match e.kind() {
            std::io::ErrorKind::TimedOut => refusal(format!("gate: {e}; denying this tool call")),
            _ => refusal(format!("gate: cannot read the hook payload from stdin: {e}; denying")),
        };
    }
    let (adapter, mut event) = match hook::parse(&raw, forced) {
        Ok(v) => v,
        Err((agent, err)) => return refuse_payload(&paths, agent, &raw, err),
    };
    // Cut to fit only so that a tool that already ran is on record.
    if payload::was_cut() && !matches!(event, HookEvent::PostTool(_)) {
        return refuse_payload(&paths, Some(adapter.agent()), &raw, HookError::TooLarge);
    }
    let _ = AGENT.set(adapter.agent());
    let var = |k: &str| std::env::var(k).ok();
    read_shell(adapter, &mut event);
    match &event {
        HookEvent::PreTool(action) | HookEvent::PermissionRequest(action) => {
            let (eval, loaded) = engine::decide(&paths, action);
            let settings = loaded.settings;
            let no_receipt = |e: &crate::store::StoreError| no_receipt_refusal(&paths, action, e);
            let mut store = match open_store(&paths) {
                Ok(s) => s,
                Err(e) => return no_receipt(&e),
            };
            // A human may have rejected an earlier call in the agent's dialog.
            let _ = broker::reconcile_rejections(
                adapter,
                &mut store,
                &action.session_id,
                action.transcript_path.as_deref(),
            );
            let (mut rec, reply) = match settled_reply(&eval.verdict) {
                Some(reply) => (decision_row(action, &eval.verdict), reply),
                None => {
                    // A human approved this very call a moment ago, when the
                    // agent announced it (Codex: PreToolUse, then its own
                    // PermissionRequest for the same call): do not ask twice.
                    let earlier = if matches!(event, HookEvent::PermissionRequest(_)) {
                        match store.recent_approval(action, clock::now_ms() - APPROVAL_CARRIES_MS) {
                            Ok(e) => e,
                            Err(e) => return no_receipt(&e),
                        }
                    } else {
                        None
                    };
                    match earlier {
                        Some(d) => carried_row(action, &eval, &d),
                        None => {
                            // Settled well inside the agent's own hook timeout.
                            let timeout =
                                broker::ask_timeout(settings.ask_timeout).min(adapter.install_spec().max_wait_secs());
                            let set_deadline = |ms: i64| DEADLINE_MS.store(ms, Ordering::SeqCst);
                            let agent_ask = adapter.can_ask(action, &var);
                            let via = broker::ask_via(&settings.ask_via);
                            fault::waiting(fault::Wait::Human);
                            match broker::settle(
                                &paths,
                                &mut store,
                                action,
                                &eval,
                                timeout,
                                agent_ask,
                                &via,
                                &set_deadline,
                            ) {
                                Ok(settled) => settled_row(action, &eval, settled),
                                Err(e) => return no_receipt(&e),
                            }
                        }
                    }
                }
            };
            // A call that went to a human is on the disk before it is answered.
            if let Err(e) = append_row(&mut store, &mut rec, eval.verdict.decision == Decision::Ask) {
                return no_receipt(&e);
            }
            let (out, code) = adapter.render(&event, &reply);
            (out, code as u8, None)
        }
        HookEvent::PostTool(outcome) => match record_outcome(adapter, &paths, outcome) {
            Ok(()) => (String::new(), 0, None),
            Err(e) => refusal(format!(
                "gate: cannot record the outcome of {} ({})",
                outcome.action.tool,
                crate::store::trouble::describe(&e)
            )),
        },
        HookEvent::Session(mark) => match record(&paths, &mut Receipt::session(mark)) {
            // Each session's end leaves a signed checkpoint apart from the
            // receipt. Nothing waits on it, so a failure is only reported.
            Ok(()) if !mark.started => match open_store(&paths).map(|s| crate::store::seal::checkpoint(&paths, &s)) {
                Ok(Ok(_)) => (String::new(), 0, None),
                Ok(Err(e)) => (String::new(), 0, Some(format!("gate: no checkpoint written at session end: {e}"))),
                Err(e) => (String::new(), 0, Some(format!("gate: no checkpoint written at session end: {e}"))),
            },
            Ok(()) => (String::new(), 0, None),
            Err(e) => {
                refusal(format!("gate: cannot record the session {} ({e})", if mark.started { "start" } else { "end" }))
            }
        },
        HookEvent::Ignored { .. } => (String::new(), 0, None),
    }
}

/// A store someone else holds open (the resident's), opened again when it must be.
pub(crate) trait HeldStore {
    /// The store, ready to append to; `None` when it cannot be used now.
    fn store(&mut self) -> Option<&mut Store>;
}

/// The answer to a call that needs no human, decided and recorded in `held`
/// without touching anything of this process's own (the resident's path,
/// `cmd::resident`). `None` whenever the call needs more than that: a human
/// must be asked, the payload or agent is not usable, the store refuses the
/// row. The hook then decides the call itself, on its own full path. So is
/// a call no longer `in_time` once this has its turn at the store: the hook
/// that sent it may by then be deciding it itself.
pub(crate) fn answer_alone<S: HeldStore>(
    paths: &Paths,
    agent: Option<&str>,
    raw: &[u8],
    held: &std::sync::Mutex<S>,
    in_time: &dyn Fn() -> bool,
) -> Option<super::resident::Answer> {
    let forced = match agent {
        None => None,
        Some(name) => Some(hook::agent_from_flag(name)?),
    };
    let (adapter, mut event) = hook::parse(raw, forced).ok()?;
    read_shell(adapter, &mut event);
    // Decided without the store, in parallel with the resident's other calls.
    let decided = match &event {
        HookEvent::PreTool(action) | HookEvent::PermissionRequest(action) => {
            let (eval, _) = engine::decide(paths, action);
            let (out, code) = adapter.render(&event, &settled_reply(&eval.verdict)?);
            Some((action, decision_row(action, &eval.verdict), out, code as u8))
        }
        HookEvent::PostTool(_) => None,
        HookEvent::Session(_) | HookEvent::Ignored { .. } => return None,
    };
    // The resident's threads take turns at its one connection (one page
    // cache, and no waits in SQLite's busy handler, which sleeps a
    // millisecond or more per try).
    let mut turn = held.lock().unwrap_or_else(|e| e.into_inner());
    if !in_time() {
        return None;
    }
    let store = turn.store()?;
    let (mut rec, stdout, code) = match (&event, decided) {
        (_, Some((action, rec, out, code))) => {
            let _ = broker::reconcile_rejections(adapter, store, &action.session_id, action.transcript_path.as_deref());
            (rec, out, code)
        }
        (HookEvent::PostTool(outcome), None) => (outcome_row(adapter, store, outcome).ok()?, String::new(), 0),
        _ => return None,
    };
    record_row(store, &mut rec, false).ok()?;
    Some(super::resident::Answer { stdout, code })
}

/// A shell call learns from the adapter which shell runs it, and how.
fn read_shell(adapter: &dyn Adapter, event: &mut HookEvent) {
    let var = |k: &str| std::env::var(k).ok();
    if let HookEvent::PreTool(a) | HookEvent::PermissionRequest(a) = event {
        if a.kind == Kind::Shell {
            a.shell = adapter.shell(&var, &is_executable);
        }
    }
}

/// The reply to a verdict gate settles alone; `None` when a human must be asked.
fn settled_reply(v: &Verdict) -> Option<Reply> {
    match v.decision {
        Decision::Allow => Some(Reply::Allow(answer_reason(v))),
        Decision::Deny => Some(Reply::Deny(answer_reason(v))),
        Decision::Ask => None,
    }
}

/// Is there an executable file at this absolute path?
pub fn is_executable(path: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The deny when the receipt cannot be written: the store's fault in words (locked, not
/// writable, full, damaged) when it is one of those.
fn no_receipt_refusal(paths: &Paths, action: &Action, e: &crate::store::StoreError) -> (String, u8, Option<String>) {
    let what = action.target.as_deref().unwrap_or(&action.tool);
    match crate::store::trouble::Trouble::of(e) {
        Some(t) => refusal(format!("gate: {t}; no receipt, no action: denying `{what}`")),
        None => refusal(format!(
            "gate: cannot write the receipt ({e}); no receipt, no action: denying `{what}`. \
             Check that {} is writable and not locked.",
            paths.db().display()
        )),
    }
}

fn open_store(paths: &Paths) -> Result<Store, crate::store::StoreError> {
    fault::waiting(fault::Wait::Store);
    paths.ensure_dirs().map_err(|source| crate::store::StoreError::Io { path: paths.data_dir.clone(), source })?;
    Store::open(&paths.db())
}

/// The row and the reply for an `ask` once it is settled.
fn settled_row(action: &Action, eval: &Evaluation, settled: Settled) -> (Receipt, Reply) {
    let v = &eval.verdict;
    let what = action.target.as_deref().unwrap_or(&action.tool).to_string();
    let mut rec = decision_row(action, v);
    let mut detail = rec.detail_json();
    let reply = match settled {
        Settled::Granted { grant_ids, approver } => {
            rec.decided(Word::Approved, Source::Session, approver.as_deref());
            let who = approver.unwrap_or_else(|| "a human".into());
            let reason = format!("approved for this session by {who} (gate session grant {})", join_ids(&grant_ids));
            detail["grants"] = json!(grant_ids);
            rec.with_reason(&reason);
            Reply::Allow(reason)
        }
        Settled::Answered(q) => {
            let allow = q.answer.as_deref() == Some("allow");
            let who = q.approver.clone().unwrap_or_else(|| "someone".into());
            let surface = q.source.as_deref().and_then(Source::parse).unwrap_or(Source::Cli);
            rec.decided(if allow { Word::Approved } else { Word::Denied }, surface, q.approver.as_deref());
            detail["question"] = json!(q.id);
            detail["waited_ms"] = json!(q.answered_ms.unwrap_or(q.created_ms) - q.created_ms);
            detail["scope"] = json!(q.scope);
            detail["feedback"] = json!(q.feedback);
            let reason = if allow {
                format!("approved by {who} in gate {surface} (question {})", q.id)
            } else {
                match q.feedback.as_deref().filter(|f| !f.trim().is_empty()) {
                    Some(f) => format!("{who} denied `{what}` in gate {surface}, and says: {f}"),
                    None => format!(
                        "{who} denied `{what}` in gate {surface}. Do not retry it; ask the user what to do instead."
                    ),
                }
            };
            rec.with_reason(&reason);
            if allow {
                Reply::Allow(reason)
            } else {
                Reply::Deny(reason)
            }
        }
        Settled::Expired { question, secs } => {
            rec.decided(Word::Expired, Source::Timeout, None);
            detail["question"] = json!(question.id);
            let reason = format!(
                "no one answered within {secs} seconds, so gate denied `{what}` ({}). Ask the user to approve it in `gate watch`, then retry.",
                v.reason
            );
            rec.with_reason(&reason);
            Reply::Deny(reason)
        }
        Settled::AgentDialog => Reply::Ask(answer_reason(v)),
        Settled::InboxClosed { question, dialog } => {
            detail["question"] = json!(question.id);
            detail["inbox"] = json!("closed");
            if dialog {
                // Handed to the agent's own dialog: the row stays `asked`.
                let reason = format!(
                    "the inbox closed while question {} waited, so {} asks in its own dialog: {}",
                    question.id,
                    action.agent.as_str(),
                    answer_reason(v)
                );
                rec.with_reason(&reason);
                Reply::Ask(reason)
            } else {
                rec.decided(Word::Denied, Source::Gate, Some("gate"));
                let reason = format!(
                    "{} A human must approve this, and the inbox (`gate watch`) closed while question {} waited; \
                     {} cannot ask in its own dialog here. Ask the user to open `gate watch` and retry.",
                    crate::policy::sentence(&answer_reason(v)),
                    question.id,
                    action.agent.as_str()
                );
                rec.with_reason(&reason);
                Reply::Deny(reason)
            }
        }
        Settled::Abandoned { question } => {
            rec.decided(Word::Abandoned, Source::Agent, None);
            detail["question"] = json!(question.id);
            let reason = format!(
                "{} stopped waiting (its process ended) before anyone answered question {}; the call was not allowed",
                action.agent.as_str(),
                question.id
            );
            rec.reason = Some(reason.clone());
            Reply::Deny(reason)
        }
        Settled::NoOneCanAsk => {
            rec.decided(Word::Denied, Source::Rule, Some("gate"));
            let reason = format!(
                "{} A human must approve this, and no one can be asked here: this session runs without a permission dialog \
                 and no `gate watch` inbox is open. Ask the user to run `gate watch` in another terminal and retry, \
                 or to allow it with a rule in their gate policy.",
                crate::policy::sentence(&answer_reason(v))
            );
            rec.with_reason(&reason);
            Reply::Deny(reason)
        }
    };
    rec.detail = Some(JsonText::of(&detail));
    (rec, reply)
}

/// The row and the reply for a call a human approved moments ago, when the
/// agent first announced it.
fn carried_row(action: &Action, eval: &Evaluation, earlier: &Receipt) -> (Receipt, Reply) {
    let mut rec = decision_row(action, &eval.verdict);
    rec.decided(Word::Approved, earlier.source.unwrap_or(Source::Session), earlier.approver.as_deref());
    rec.links_seq = Some(earlier.seq);
    let who = earlier.approver.clone().unwrap_or_else(|| "a human".into());
    let reason =
        format!("approved by {who} when {} first announced this call (receipt {})", action.agent.as_str(), earlier.seq);
    rec.with_reason(&reason);
    (rec, Reply::Allow(reason))
}

fn join_ids(ids: &[i64]) -> String {
    ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

/// Refuse the call in the agent's protocol (once the agent is known), with
/// the reason on stderr too.
fn refusal(line: String) -> (String, u8, Option<String>) {
    let (out, code) =
        AGENT.get().and_then(|a| hook::adapter(*a)).map_or((String::new(), BLOCK as i32), |a| a.render_refusal(&line));
    (out, code as u8, Some(line))
}

/// Print a refusal and end the process (the watchdog, a panic, the supervisor).
fn exit_refusing(line: &str) -> ! {
    let (out, code, _) = refusal(line.to_string());
    let _ = writeln!(std::io::stderr(), "{line}");
    if !out.is_empty() {
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "{out}");
        let _ = o.flush();
    }
    std::process::exit(code as i32)
}

/// The agent of a payload, without the adapter's full parse.
fn sniff_agent(raw: &[u8]) -> Option<Agent> {
    match serde_json::from_slice::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(obj)) => hook::detect(&obj),
        _ => None,
    }
}

/// The reason the agent sees names the rule that decided.
pub fn answer_reason(v: &Verdict) -> String {
    match &v.rule {
        Some(r) => format!("{} [gate: {r}]", v.reason),
        None => v.reason.clone(),
    }
}

/// A payload gate cannot use: deny, and keep a receipt of the refusal.
fn refuse_payload(paths: &Paths, agent: Option<Agent>, raw: &[u8], err: HookError) -> (String, u8, Option<String>) {
    refuse_raw(paths, agent, raw, format!("gate: {err}"))
}

/// Deny the call `raw` asked for, `reason` first, and keep a receipt (source `error`)
/// with whatever of the payload identifies the call.
fn refuse_raw(paths: &Paths, agent: Option<Agent>, raw: &[u8], reason: String) -> (String, u8, Option<String>) {
    let reason = format!("{reason}; denying this tool call");
    let mut rec = Receipt::refusal(agent, raw);
    rec.with_reason(&reason);
    let stored = match record(paths, &mut rec) {
        Ok(()) => String::new(),
        Err(e) => format!(" (and the receipt could not be written: {})", crate::store::trouble::describe(&e)),
    };
    refusal(format!("{reason}{stored}"))
}

fn decision_row(action: &Action, v: &Verdict) -> Receipt {
    let (decision, source, approver) = match (v.decision, v.basis) {
        (Decision::Allow, Basis::Floor) => (Word::AutoApproved, Source::Floor, Some("gate")),
        // The edit mode the user chose for the agent approved it.
        (Decision::Allow, Basis::Mode) => (Word::AutoApproved, Source::Mode, Some("gate")),
        (Decision::Allow, _) => (Word::AutoApproved, Source::Rule, Some("gate")),
        (Decision::Deny, Basis::Error) => (Word::Denied, Source::Error, Some("gate")),
        (Decision::Deny, Basis::Floor) => (Word::Denied, Source::Floor, Some("gate")),
        (Decision::Deny, _) => (Word::Denied, Source::Rule, Some("gate")),
        // Handed to the agent's own dialog: the human's answer arrives later.
        (Decision::Ask, _) => (Word::Asked, Source::Agent, None),
    };
    let mut rec = Receipt::decision(action, decision, source, approver);
    rec.rule_id = v.rule.as_ref().map(|r| r.id.clone());
    rec.rule_origin = v.rule.as_ref().map(|r| r.origin.clone());
    rec.with_reason(&v.reason);
    rec.detail = Some(JsonText::of(&json!({
        "event": action.event,
        "verdict": v.decision.as_str(),
        "permission_mode": action.permission_mode,
        "subagent": action.subagent,
    })));
    rec
}

fn record_outcome(adapter: &dyn Adapter, paths: &Paths, outcome: &Outcome) -> Result<(), crate::store::StoreError> {
    let mut store = open_store(paths)?;
    let mut rec = outcome_row(adapter, &mut store, outcome)?;
    append_row(&mut store, &mut rec, false)
}

/// The row that records a tool's outcome, linked to its decision.
fn outcome_row(adapter: &dyn Adapter, store: &mut Store, outcome: &Outcome) -> Result<Receipt, crate::store::StoreError> {
    let action = &outcome.action;
    let _ = broker::reconcile_rejections(adapter, store, &action.session_id, action.transcript_path.as_deref());
    let mut rec = Receipt::outcome(action, outcome.status.into());
    rec.duration_ms = outcome.duration_ms.map(|d| d as i64);
    // What the tool printed and changed is data, not shell text.
    rec.error = outcome.error.as_deref().map(|e| truncate(&redact::mask_data(e), 2000));
    rec.patch = outcome.patch.as_ref().map(|p| JsonText::of(&redact::mask_json_for(p, false)));
    // Agents without a tool_use_id (Gemini) are matched by session, tool and arguments.
    let decision = match &action.tool_use_id {
        Some(id) => store.decision_for(id)?,
        None => store.open_decision_for(action)?,
    };
    match &decision {
        Some(d) => {
            rec.links_seq = Some(d.seq);
            // gate handed the call to the agent's dialog, and it ran. That
            // is what is known: the agent let it run, after its dialog or
            // under its permission mode (or its own allow rules), which may
            // not have shown the human anything. No approver is named.
            if d.decision == Some(Word::Asked) {
                let agent = action.agent.as_str();
                let mode = action.permission_mode.as_deref().unwrap_or("unknown");
                rec.decided(Word::Approved, Source::Agent, Some("unknown"));
                rec.reason = Some(format!(
                    "ran after gate handed it to {agent}'s own permission dialog (permission mode {mode}); \
                     whether a human approved it there is not known to gate"
                ));
                rec.detail = Some(JsonText::of(&json!({
                    "permission_mode": action.permission_mode,
                    "let_run_by": "agent",
                    "human_approval": "unknown",
                })));
            }
        }
        None => {
            rec.reason = Some("no decision on record for this tool call (was gate installed for PreToolUse?)".into());
        }
    }
    if payload::was_cut() {
        let mut detail = rec.detail_json();
        if !detail.is_object() {
            detail = json!({});
        }
        detail["cut"] = json!(payload::cuts());
        rec.detail = Some(JsonText::of(&detail));
    }
    Ok(rec)
}

fn record(paths: &Paths, rec: &mut Receipt) -> Result<(), crate::store::StoreError> {
    append_row(&mut open_store(paths)?, rec, false)
}

/// Append the call's row before it is answered: forced to the disk when a
/// human decided it (`human`) or `GATE_DURABILITY=full` asks for every row,
/// and with the WAL's checkpoint left for after the answer.
fn append_row(store: &mut Store, rec: &mut Receipt, human: bool) -> Result<(), crate::store::StoreError> {
    record_row(store, rec, human)?;
    checkpoint_after_answer(store);
    Ok(())
}

/// Append a row, forced to the disk when a human decided it or
/// `GATE_DURABILITY=full` asks for every row (the resident checkpoints on
/// its own).
fn record_row(store: &mut Store, rec: &mut Receipt, human: bool) -> Result<(), crate::store::StoreError> {
    store.append(rec)?;
    if human || sync_every_row() {
        store.sync()?;
    }
    Ok(())
}

/// `GATE_DURABILITY=full` in the hook's environment forces every row to the
/// disk before the answer (one `fdatasync` per call), not only the rows a
/// human decided. It can only make gate slower and safer. README: Durability.
fn sync_every_row() -> bool {
    std::env::var_os("GATE_DURABILITY").is_some_and(|v| v == "full")
}

/// The store whose WAL is due for a checkpoint, once this call has answered.
static CHECKPOINT_DUE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// The hook answers first; a WAL that grew past its limit is checkpointed
/// afterwards, by a detached process the agent does not wait for.
fn checkpoint_after_answer(store: &mut Store) {
    if store.hand_off_checkpoint() {
        let _ = CHECKPOINT_DUE.set(store.path().to_path_buf());
    }
}

/// Run the due checkpoint in a process of its own: a new session with
/// /dev/null for stdin, stdout and stderr, so that the agent, which waits
/// for the hook's exit and the end of its output, never waits for it.
/// Called by the worker after it wrote its answer, when its only other
/// thread (the watchdog) holds no lock.
fn run_due_checkpoint() {
    let Some(db) = CHECKPOINT_DUE.get() else { return };
    // SAFETY: the child only calls setsid, open, dup2 and then opens SQLite,
    // which holds no lock at this point: the work thread has ended.
    let pid = unsafe { libc::fork() };
    if pid != 0 {
        return; // the parent (or a failed fork: the next call tries again)
    }
    unsafe {
        libc::setsid();
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
        }
        // Nor any other descriptor the agent gave the hook: whatever waits
        // for one of them to close must not wait for the checkpoint.
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
    }
    fault::unpin();
    // A store moved away meanwhile (`gate recover`, a user's `rm`) is not
    // created again empty here; the next call creates it if it must.
    if db.exists() {
        if let Ok(store) = Store::open(db) {
            if store.checkpoint_now() == crate::store::Checkpointed::All {
                store.rewind_wal();
            }
        }
    }
    // SAFETY: ends this child without running the parent's exit handlers.
    unsafe { libc::_exit(0) }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[{} bytes cut]", &s[..end], s.len() - end)
}
