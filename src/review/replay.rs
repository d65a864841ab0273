//! Replaying recorded calls: the receipt's rows folded into one record per
//! tool call with its final decision ([`HistoryBuilder`]), each rebuilt into
//! the action its agent's adapter makes of the stored input ([`rebuild`]),
//! and the calls whose decision a new verdict changes, grouped by the rule
//! that now decides ([`replay`], [`group`]). Stored inputs are masked: a
//! call whose secret was masked is decided on the masked text, and says so;
//! nothing is ever unmasked. Pure but for the decision, which the caller
//! passes in.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::action::{Action, Agent, Shell};
use crate::hook::Adapter;
use crate::policy::{Basis, Decision, Evaluation, RuleRef};
use crate::review::calls::{CallFold, ReviewCall};
use crate::store::{Receipt, Source, Verdict};

/// One recorded tool call, as much of it as a replay needs.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    pub seq: i64,
    pub ts: i64,
    pub agent: String,
    pub session_id: Option<String>,
    pub cwd: String,
    pub tool: String,
    /// The tool input as stored: secrets masked.
    #[serde(skip)]
    pub args: Value,
    /// The stored input had secrets masked, so a replay decides on the masked text.
    pub masked: bool,
    pub target: Option<String>,
    #[serde(skip)]
    pub permission_mode: Option<String>,
    /// What gate decided then: allow, ask or deny.
    pub gate: Decision,
    /// The call's final decision, after any human's answer.
    pub last: Verdict,
    pub source: Option<Source>,
    pub approver: Option<String>,
}

impl Recorded {
    /// A human answered yes on one of gate's surfaces (or a session grant did).
    pub fn approved_by_human(&self) -> bool {
        self.last == Verdict::Approved && self.source.is_some_and(Source::is_human)
    }
    /// It ran after gate handed it to the agent's own dialog: someone, or
    /// the agent's own mode, let it run.
    pub fn approved_in_dialog(&self) -> bool {
        self.last == Verdict::Approved && self.source == Some(Source::Agent)
    }
}

/// The recorded calls, in order, and how many decision rows could not be replayed.
#[derive(Debug, Default)]
pub struct History {
    pub calls: Vec<Recorded>,
    /// Decision rows without a tool, input or working directory (payloads
    /// gate refused to read), or from an agent gate no longer knows.
    pub skipped: usize,
}

/// Folds receipt rows, in seq order, into [`History`], with the fold every
/// review shares ([`crate::review::calls::CallFold`]). Rows arrive one at a
/// time from [`crate::store::Store::for_each`].
#[derive(Debug, Default)]
pub struct HistoryBuilder {
    fold: CallFold,
}

impl HistoryBuilder {
    pub fn push(&mut self, r: Receipt) {
        self.fold.push(&r);
    }

    pub fn finish(self) -> History {
        let mut history = History::default();
        for c in self.fold.finish() {
            match recorded(&c) {
                Some(r) => history.calls.push(r),
                None => history.skipped += 1,
            }
        }
        history
    }
}

fn recorded(c: &ReviewCall) -> Option<Recorded> {
    let detail = c.detail.as_ref().map(|d| d.parsed()).unwrap_or(Value::Null);
    let last = c.decision?;
    let first = c.gate_decision.unwrap_or(last);
    let gate = match detail.get("verdict").and_then(Value::as_str) {
        Some("allow") => Decision::Allow,
        Some("ask") => Decision::Ask,
        Some("deny") => Decision::Deny,
        _ => match (first, c.source) {
            (Verdict::AutoApproved, _) => Decision::Allow,
            (Verdict::Denied, Some(Source::Floor | Source::Rule | Source::Error | Source::Mode)) => Decision::Deny,
            _ => Decision::Ask,
        },
    };
    // `gate check --ask` records its calls as the agent `gate-check`; it
    // builds them as Claude Code would, unless told otherwise.
    let agent = match c.agent.as_deref()? {
        "gate-check" => Agent::ClaudeCode.as_str().to_string(),
        a => Agent::parse(a)?.as_str().to_string(),
    };
    let args = c.args_json();
    if !args.is_object() {
        return None;
    }
    Some(Recorded {
        seq: c.seq,
        ts: c.ts,
        agent,
        session_id: c.session_id.clone(),
        cwd: c.cwd.clone()?,
        tool: c.tool.clone()?,
        // Older receipts masked as `****` and noted it nowhere.
        masked: c.masked || c.args.as_ref().is_some_and(|a| a.0.contains("****")),
        args,
        target: c.target.clone(),
        permission_mode: detail.get("permission_mode").and_then(Value::as_str).map(str::to_string),
        gate,
        last,
        source: c.source,
        approver: c.approver.clone(),
    })
}

/// The action the call's agent would send gate for it, as the hook built
/// it: the agent's own adapter parses the stored input. `shell` says which
/// shell the agent's shell tool runs in (not recorded; the caller decides).
pub fn rebuild(c: &Recorded, shell: &dyn Fn(&dyn Adapter) -> Shell) -> Result<Action, String> {
    let agent = Agent::parse(&c.agent).ok_or_else(|| format!("unknown agent {:?}", c.agent))?;
    let adapter = crate::hook::adapter(agent).ok_or_else(|| format!("no adapter for {}", c.agent))?;
    let mut action = crate::engine::tool_action(adapter, &c.tool, c.args.clone(), &c.cwd).map_err(|e| e.to_string())?;
    if let Some(s) = &c.session_id {
        action.session_id = s.clone();
    }
    action.tool_use_id = None;
    action.permission_mode = c.permission_mode.clone();
    action.shell = shell(adapter);
    Ok(action)
}

/// A call whose decision the replay changes.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Index into [`History::calls`].
    #[serde(skip)]
    pub call: usize,
    pub old: Decision,
    pub new: Decision,
    pub basis: Basis,
    pub rule: Option<RuleRef>,
    pub reason: String,
}

/// What a replay found.
#[derive(Debug, Default)]
pub struct Report {
    pub replayed: usize,
    /// Calls that could not be rebuilt (and decision rows that were not calls).
    pub skipped: usize,
    pub changes: Vec<Change>,
}

impl Report {
    /// How many changes end in `d`.
    pub fn now(&self, d: Decision) -> usize {
        self.changes.iter().filter(|c| c.new == d).count()
    }
}

/// Re-decide every call of `history` with `decide` (None: the call could
/// not be rebuilt) and keep those whose decision differs from gate's then.
pub fn replay(history: &History, decide: &mut dyn FnMut(&Recorded) -> Option<Evaluation>) -> Report {
    let mut report = Report { skipped: history.skipped, ..Report::default() };
    for (i, c) in history.calls.iter().enumerate() {
        let Some(eval) = decide(c) else {
            report.skipped += 1;
            continue;
        };
        report.replayed += 1;
        let v = eval.verdict;
        if v.decision != c.gate {
            report.changes.push(Change {
                call: i,
                old: c.gate,
                new: v.decision,
                basis: v.basis,
                rule: v.rule,
                reason: v.reason,
            });
        }
    }
    report
}

/// The changes that one rule (or, without one, one basis) now decides.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub decision: Decision,
    pub rule: Option<RuleRef>,
    pub basis: Basis,
    /// Indices into [`Report::changes`].
    #[serde(skip)]
    pub changes: Vec<usize>,
    /// `ask→allow` and the like, with their counts.
    pub transitions: BTreeMap<String, usize>,
}

/// Group changes by the rule that now decides them: the largest group
/// first, then by decision (deny first) and rule id.
pub fn group(report: &Report) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, ch) in report.changes.iter().enumerate() {
        let found = groups.iter_mut().find(|g| g.decision == ch.new && g.rule == ch.rule && g.basis == ch.basis);
        let g = match found {
            Some(g) => g,
            None => {
                groups.push(Group {
                    decision: ch.new,
                    rule: ch.rule.clone(),
                    basis: ch.basis,
                    changes: Vec::new(),
                    transitions: BTreeMap::new(),
                });
                groups.last_mut().expect("just pushed")
            }
        };
        g.changes.push(i);
        *g.transitions.entry(format!("{}→{}", ch.old.as_str(), ch.new.as_str())).or_default() += 1;
    }
    groups.sort_by(|a, b| {
        b.changes
            .len()
            .cmp(&a.changes.len())
            .then(b.decision.cmp(&a.decision))
            .then(a.rule.as_ref().map(|r| &r.id).cmp(&b.rule.as_ref().map(|r| &r.id)))
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::receipt::RowKindCol;
    use crate::store::{JsonText, Millis, RowKind};

    fn decision_row(seq: i64, command: &str, verdict: &str, last: Verdict, source: Source) -> Receipt {
        Receipt {
            seq,
            ts: Millis(seq * 1000),
            kind: RowKindCol(RowKind::Decision),
            session_id: Some("s1".into()),
            agent: Some("claude-code".into()),
            cwd: Some("/p".into()),
            tool: Some("Bash".into()),
            args: Some(JsonText::of(&serde_json::json!({ "command": command }))),
            target: Some(command.into()),
            decision: Some(last),
            source: Some(source),
            detail: Some(JsonText::of(&serde_json::json!({ "verdict": verdict, "permission_mode": "default" }))),
            ..Receipt::default()
        }
    }

    fn later(kind: RowKind, links: i64, d: Verdict, source: Source, who: &str) -> Receipt {
        Receipt {
            seq: links + 100,
            kind: RowKindCol(kind),
            links_seq: Some(links),
            decision: Some(d),
            source: Some(source),
            approver: Some(who.into()),
            ..Receipt::default()
        }
    }

    #[test]
    fn history_folds_answers_and_skips_rows_that_are_not_calls() {
        let mut b = HistoryBuilder::default();
        b.push(decision_row(1, "make build", "ask", Verdict::Asked, Source::Agent));
        b.push(decision_row(2, "ls", "allow", Verdict::AutoApproved, Source::Floor));
        b.push(decision_row(3, "make test", "ask", Verdict::Approved, Source::Watch));
        b.push(Receipt { seq: 4, decision: Some(Verdict::Denied), ..Receipt::default() });
        b.push(later(RowKind::Outcome, 1, Verdict::Approved, Source::Agent, "unknown"));
        let mut unknown = decision_row(5, "x", "ask", Verdict::Asked, Source::Agent);
        unknown.agent = Some("someone-else".into());
        b.push(unknown);
        let h = b.finish();
        assert_eq!(h.skipped, 2);
        let got: Vec<(i64, Decision, Verdict, bool, bool)> =
            h.calls.iter().map(|c| (c.seq, c.gate, c.last, c.approved_by_human(), c.approved_in_dialog())).collect();
        assert_eq!(
            got,
            vec![
                (1, Decision::Ask, Verdict::Approved, false, true),
                (2, Decision::Allow, Verdict::AutoApproved, false, false),
                (3, Decision::Ask, Verdict::Approved, true, false),
            ]
        );
    }

    #[test]
    fn gate_decision_without_detail_comes_from_the_row() {
        let cases: &[(Verdict, Source, Decision)] = &[
            (Verdict::AutoApproved, Source::Rule, Decision::Allow),
            (Verdict::Denied, Source::Rule, Decision::Deny),
            (Verdict::Denied, Source::Floor, Decision::Deny),
            (Verdict::Denied, Source::Watch, Decision::Ask),
            (Verdict::Expired, Source::Timeout, Decision::Ask),
            (Verdict::Approved, Source::Cli, Decision::Ask),
        ];
        for (v, s, want) in cases {
            let mut r = decision_row(1, "x", "", *v, *s);
            r.detail = None;
            let mut b = HistoryBuilder::default();
            b.push(r);
            assert_eq!(b.finish().calls.first().map(|c| c.gate), Some(*want), "{v} via {s}");
        }
    }

    #[test]
    fn replay_keeps_changes_and_groups_them_by_rule() {
        let mut b = HistoryBuilder::default();
        for (i, cmd) in ["make build", "make build", "curl x", "ls"].iter().enumerate() {
            let gate = if *cmd == "ls" { "allow" } else { "ask" };
            b.push(decision_row(i as i64 + 1, cmd, gate, Verdict::Asked, Source::Agent));
        }
        let h = b.finish();
        let rule = |id: &str| Some(RuleRef { id: id.into(), origin: "p.toml:1".into() });
        let mut decide = |c: &Recorded| {
            let (decision, r) = match c.target.as_deref() {
                Some("make build") => (Decision::Allow, rule("make")),
                Some("curl x") => (Decision::Deny, rule("no-curl")),
                _ => (Decision::Allow, None),
            };
            Some(Evaluation {
                verdict: crate::policy::Verdict { decision, basis: Basis::Rule, rule: r, reason: String::new() },
                commands: Vec::new(),
            })
        };
        let report = replay(&h, &mut decide);
        assert_eq!((report.replayed, report.changes.len()), (4, 3));
        assert_eq!((report.now(Decision::Allow), report.now(Decision::Deny)), (2, 1));
        let groups = group(&report);
        let got: Vec<(String, usize, Vec<String>)> = groups
            .iter()
            .map(|g| {
                (
                    g.rule.as_ref().map(|r| r.id.clone()).unwrap_or_default(),
                    g.changes.len(),
                    g.transitions.iter().map(|(k, v)| format!("{k} {v}")).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![("make".into(), 2, vec!["ask→allow 2".into()]), ("no-curl".into(), 1, vec!["ask→deny 1".into()])]
        );
    }
}
