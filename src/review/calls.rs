//! Receipt rows folded into tool calls, streaming: a decision row opens a
//! call, and the outcome or answer rows that link to it settle it (an
//! `asked` call that ran becomes `approved`, one rejected in the agent's
//! dialog `denied`) and say how it ended. This is the one fold `gate log`,
//! `gate digest` and `gate replay` share. Rows that link to no decision in
//! the stream (an outcome whose decision is older than the period) are
//! dropped unless the fold keeps orphans (`gate log` shows them as calls
//! of their own). Memory grows with the calls kept, not with the rows read.

use std::collections::HashMap;

use serde::Serialize;

use crate::store::{JsonText, Receipt, RowKind, Source, Status, ToolKind, Verdict};

/// One tool call, as much of it as a review needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewCall {
    pub seq: i64,
    pub ts: i64,
    pub session_id: Option<String>,
    pub agent: Option<String>,
    pub cwd: Option<String>,
    pub tool: Option<String>,
    pub kind: Option<ToolKind>,
    pub target: Option<String>,
    /// What gate decided on its own (`asked` when it handed the call on).
    pub gate_decision: Option<Verdict>,
    /// The final decision, after any answer or outcome.
    pub decision: Option<Verdict>,
    /// Who settled it, finally.
    pub source: Option<Source>,
    pub approver: Option<String>,
    pub rule_id: Option<String>,
    pub rule_origin: Option<String>,
    pub reason: Option<String>,
    /// How long a human took to answer in gate's inbox.
    pub waited_ms: Option<i64>,
    /// How it ended, from its outcome row.
    pub outcome: Option<Status>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    /// The tool input (secrets masked), the patch its outcome reported, and
    /// the decision row's detail, as stored.
    #[serde(skip)]
    pub args: Option<JsonText>,
    #[serde(skip)]
    pub patch: Option<JsonText>,
    #[serde(skip)]
    pub detail: Option<JsonText>,
    /// Secrets were masked in what was stored.
    pub masked: bool,
    /// The repository the call was made in: the fold leaves it unset, and
    /// the reader fills it in from `cwd` (see [`CallFold::finish_located`]).
    pub repo: Option<String>,
    /// A team store: the developer whose store holds the call (the reader
    /// fills it in; the local store leaves it unset).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub developer: Option<String>,
    /// The machine it was recorded on.
    #[serde(skip)]
    pub host: Option<String>,
}

/// Who settled a call, in the words a digest uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decider {
    /// gate on its own: the floor, a rule, the edit mode, an error.
    Gate,
    /// A human, in one of gate's inboxes or through a session grant.
    Human,
    /// The agent's own dialog or permission mode; whether a human saw it is not known.
    Agent,
    /// No one: the question expired, the agent gave up, or no answer is on record.
    Nobody,
}

impl Decider {
    pub const ALL: [Decider; 4] = [Decider::Gate, Decider::Human, Decider::Agent, Decider::Nobody];

    pub fn label(self) -> &'static str {
        match self {
            Decider::Gate => "gate (automatic)",
            Decider::Human => "a human in gate",
            Decider::Agent => "the agent's dialog",
            Decider::Nobody => "no answer",
        }
    }
}

impl ReviewCall {
    fn from_decision(r: &Receipt) -> ReviewCall {
        ReviewCall {
            seq: r.seq,
            ts: r.ts.0,
            session_id: r.session_id.clone(),
            agent: r.agent.clone(),
            cwd: r.cwd.clone(),
            tool: r.tool.clone(),
            kind: r.tool_kind,
            target: r.target.clone(),
            gate_decision: r.decision,
            decision: r.decision,
            source: r.source,
            approver: r.approver.clone(),
            rule_id: r.rule_id.clone(),
            rule_origin: r.rule_origin.clone(),
            reason: r.reason.clone(),
            waited_ms: r.detail_json().get("waited_ms").and_then(serde_json::Value::as_i64).filter(|ms| *ms >= 0),
            outcome: None,
            duration_ms: None,
            error: None,
            args: r.args.clone(),
            patch: None,
            detail: r.detail.clone(),
            masked: r.redacted.is_some(),
            repo: None,
            developer: None,
            host: r.host.clone(),
        }
    }

    /// An outcome whose decision is not in the stream, as a call of its own.
    fn orphan(r: &Receipt) -> ReviewCall {
        let mut c = ReviewCall::from_decision(r);
        c.gate_decision = None;
        c.decision = None;
        c.detail = None;
        c.absorb(r);
        c
    }

    fn absorb(&mut self, r: &Receipt) {
        if r.kind == RowKind::Outcome {
            self.outcome = r.status;
            self.duration_ms = r.duration_ms;
            self.error = r.error.clone();
            self.patch = r.patch.clone();
            self.masked |= r.redacted.is_some();
        }
        if let Some(d) = r.decision {
            self.decision = Some(d);
            self.source = r.source;
            self.approver = r.approver.clone();
            if d.refused() && r.reason.is_some() {
                self.reason = r.reason.clone();
            }
        }
    }

    /// Who settled this call.
    pub fn decider(&self) -> Decider {
        match (self.source, self.decision) {
            (Some(s), _) if s.is_human() => Decider::Human,
            (Some(Source::Floor | Source::Rule | Source::Mode | Source::Error | Source::Gate), _) => Decider::Gate,
            (Some(Source::Agent), Some(Verdict::Approved | Verdict::Denied)) => Decider::Agent,
            _ => Decider::Nobody,
        }
    }

    /// It ran, or was let run (its outcome may not have arrived yet).
    pub fn ran(&self) -> bool {
        self.outcome.is_some() || self.decision.is_some_and(Verdict::allowed)
    }

    /// An edit or a write.
    pub fn writes(&self) -> bool {
        matches!(self.kind, Some(ToolKind(crate::action::Kind::Write | crate::action::Kind::Edit)))
    }

    /// The tool input, parsed (null when none was stored).
    pub fn args_json(&self) -> serde_json::Value {
        self.args.as_ref().map_or(serde_json::Value::Null, JsonText::parsed)
    }

    /// What an edit or a write changed, from its input and its outcome's patch.
    pub fn diffs(&self) -> Vec<super::diff::FileDiff> {
        if !self.writes() {
            return Vec::new();
        }
        let patch = self.patch.as_ref().map_or(serde_json::Value::Null, JsonText::parsed);
        super::diff::of_call(&self.args_json(), &patch)
    }

    /// gate did not settle it itself: a human, the agent, or no one had to.
    pub fn was_asked(&self) -> bool {
        self.decider() != Decider::Gate
    }
}

/// The fold: push rows in seq order, then take the calls.
#[derive(Debug, Default)]
pub struct CallFold {
    calls: Vec<ReviewCall>,
    by_seq: HashMap<i64, usize>,
    keep_orphans: bool,
}

impl CallFold {
    /// A fold that keeps outcomes with no decision in the stream as calls.
    pub fn keeping_orphans() -> CallFold {
        CallFold { keep_orphans: true, ..CallFold::default() }
    }

    pub fn push(&mut self, r: &Receipt) {
        match r.row_kind() {
            RowKind::Decision => {
                self.by_seq.insert(r.seq, self.calls.len());
                self.calls.push(ReviewCall::from_decision(r));
            }
            RowKind::Outcome | RowKind::Answer => match r.links_seq.and_then(|s| self.by_seq.get(&s)) {
                Some(&i) => self.calls[i].absorb(r),
                None if self.keep_orphans && r.kind == RowKind::Outcome => self.calls.push(ReviewCall::orphan(r)),
                None => {}
            },
            RowKind::Session | RowKind::Prune | RowKind::Recover => {}
        }
    }

    pub fn finish(self) -> Vec<ReviewCall> {
        self.calls
    }

    /// The calls, each with its repository worked out from its cwd by
    /// `repo_of` (called once per distinct cwd).
    pub fn finish_located(self, mut repo_of: impl FnMut(&str) -> String) -> Vec<ReviewCall> {
        let mut seen: HashMap<String, String> = HashMap::new();
        let mut calls = self.calls;
        for c in &mut calls {
            if let Some(cwd) = &c.cwd {
                let repo = seen.entry(cwd.clone()).or_insert_with(|| repo_of(cwd)).clone();
                c.repo = Some(repo);
            }
        }
        calls
    }
}

/// Fold rows (in seq order) into calls.
pub fn calls_of<I: IntoIterator<Item = Receipt>>(rows: I) -> Vec<ReviewCall> {
    let mut fold = CallFold::default();
    for r in rows {
        fold.push(&r);
    }
    fold.finish()
}
