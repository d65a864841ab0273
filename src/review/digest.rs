//! The digest of a period of the receipt, as numbers: calls by decision and
//! by source, who settled them (gate on its own, a human in gate, the
//! agent's dialog, no one), how long humans took to answer, the commands
//! denied most with their reasons, the asks that were approved every time
//! (allow-rule candidates), which policy rules fired and which never did,
//! and the same counts per agent and per repository. Built from calls
//! ([`crate::review::calls`]) and the current policy's rules; pure, and
//! serialisable as the `--format json` output. Printing is `cmd::digest`'s.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::review::calls::{Decider, ReviewCall};
use crate::review::shape::{group_asks, ShapeAsks};
use crate::store::{Source, Verdict};

/// A rule of the current policy, as the digest names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PolicyRule {
    pub id: String,
    pub layer: String,
    /// `file:line` of the rule.
    pub origin: String,
}

/// What to build the digest over and how much of it to keep.
#[derive(Debug, Clone)]
pub struct DigestOptions {
    /// Epoch milliseconds; `None` for the beginning of the receipt.
    pub since: Option<i64>,
    pub until: i64,
    /// How many denied commands and fired rules to list.
    pub top: usize,
    /// How many approvals a shape needs before it is an allow-rule candidate.
    pub min_approvals: usize,
}

impl Default for DigestOptions {
    fn default() -> Self {
        DigestOptions { since: None, until: 0, top: 10, min_approvals: 2 }
    }
}

/// A name and how many calls it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub name: String,
    pub calls: usize,
}

/// The calls one kind of decider settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeciderTally {
    pub decider: Decider,
    pub calls: usize,
    pub allowed: usize,
    pub refused: usize,
}

/// How long humans took to answer in gate's inbox (nearest-rank percentiles).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wait {
    pub answers: usize,
    pub median_ms: i64,
    pub p90_ms: i64,
    pub max_ms: i64,
}

impl Wait {
    fn of(mut ms: Vec<i64>) -> Option<Wait> {
        if ms.is_empty() {
            return None;
        }
        ms.sort_unstable();
        let rank = |p: usize| ms[(ms.len() * p).div_ceil(100).max(1) - 1];
        Some(Wait { answers: ms.len(), median_ms: rank(50), p90_ms: rank(90), max_ms: ms[ms.len() - 1] })
    }
}

/// One command (tool and target) that was denied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denied {
    pub tool: String,
    pub target: String,
    pub count: usize,
    /// Of those, denied by a human (in gate or in the agent's dialog).
    pub by_human: usize,
    /// The rule of the latest denial that had one.
    pub rule: Option<String>,
    /// The reason of the latest denial.
    pub reason: Option<String>,
    /// When the latest denial was (epoch milliseconds; RFC 3339 in JSON).
    #[serde(serialize_with = "crate::clock::rfc3339")]
    pub last: i64,
}

/// The counts of one agent or one repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slice {
    pub name: String,
    pub calls: usize,
    /// Allowed by gate on its own.
    pub auto_approved: usize,
    /// Settled by a human in gate.
    pub human: usize,
    /// Settled in the agent's own dialog.
    pub agent: usize,
    /// Denied, expired or abandoned, whoever decided.
    pub refused: usize,
    pub median_wait_ms: Option<i64>,
}

/// The digest of a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Digest {
    /// RFC 3339, UTC; `None` for the beginning of the receipt.
    pub since: Option<String>,
    pub until: String,
    pub calls: usize,
    /// Final decisions (an `asked` call that ran counts as `approved`).
    pub by_decision: Vec<Tally>,
    /// Who or what settled each call, finally.
    pub by_source: Vec<Tally>,
    pub by_decider: Vec<DeciderTally>,
    pub human_wait: Option<Wait>,
    pub top_denied: Vec<Denied>,
    /// Shapes asked at least `min_approvals` times and approved every time.
    pub always_approved: Vec<ShapeAsks>,
    pub rules_fired: Vec<Tally>,
    pub rules_never_fired: Vec<PolicyRule>,
    pub by_agent: Vec<Slice>,
    pub by_repo: Vec<Slice>,
    /// A team store: the same counts per developer (empty for the local receipt).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_developer: Vec<Slice>,
}

impl Digest {
    /// The digest of these calls (in seq order) against these policy rules.
    pub fn build(calls: &[ReviewCall], rules: &[PolicyRule], opts: &DigestOptions) -> Digest {
        let mut by_decision: BTreeMap<Verdict, usize> = BTreeMap::new();
        let mut by_source: BTreeMap<Source, usize> = BTreeMap::new();
        let mut fired: HashMap<&str, usize> = HashMap::new();
        let mut deciders: BTreeMap<Decider, DeciderTally> = BTreeMap::new();
        let mut waits: Vec<i64> = Vec::new();
        let mut denied: HashMap<(&str, &str), Denied> = HashMap::new();
        let mut agents = Slicer::default();
        let mut repos = Slicer::default();
        let mut developers = Slicer::default();
        for c in calls {
            if let Some(d) = c.decision {
                *by_decision.entry(d).or_default() += 1;
            }
            if let Some(s) = c.source {
                *by_source.entry(s).or_default() += 1;
            }
            if let Some(r) = &c.rule_id {
                *fired.entry(r.as_str()).or_default() += 1;
            }
            let who = c.decider();
            let t = deciders.entry(who).or_insert(DeciderTally { decider: who, calls: 0, allowed: 0, refused: 0 });
            t.calls += 1;
            t.allowed += usize::from(c.decision.is_some_and(Verdict::allowed));
            t.refused += usize::from(c.decision.is_some_and(Verdict::refused));
            if who == Decider::Human {
                waits.extend(c.waited_ms);
            }
            if c.decision == Some(Verdict::Denied) {
                let tool = c.tool.as_deref().unwrap_or("?");
                let target = c.target.as_deref().unwrap_or("");
                let d = denied.entry((tool, target)).or_insert_with(|| Denied {
                    tool: tool.to_string(),
                    target: target.to_string(),
                    count: 0,
                    by_human: 0,
                    rule: None,
                    reason: None,
                    last: c.ts,
                });
                d.count += 1;
                d.by_human += usize::from(matches!(who, Decider::Human | Decider::Agent));
                d.last = d.last.max(c.ts);
                if c.rule_id.is_some() {
                    d.rule = c.rule_id.clone();
                }
                if c.reason.is_some() {
                    d.reason = c.reason.clone();
                }
            }
            agents.add(c.agent.as_deref().unwrap_or("-"), c);
            repos.add(c.repo.as_deref().or(c.cwd.as_deref()).unwrap_or("-"), c);
            if let Some(d) = &c.developer {
                developers.add(d, c);
            }
        }

        let mut top_denied: Vec<Denied> = denied.into_values().collect();
        top_denied.sort_by(|a, b| b.count.cmp(&a.count).then(b.last.cmp(&a.last)).then(a.target.cmp(&b.target)));
        top_denied.truncate(opts.top);

        let mut rules_fired: Vec<Tally> =
            fired.iter().map(|(name, calls)| Tally { name: name.to_string(), calls: *calls }).collect();
        rules_fired.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.name.cmp(&b.name)));
        let never: BTreeSet<&PolicyRule> = rules.iter().filter(|r| !fired.contains_key(r.id.as_str())).collect();

        Digest {
            since: opts.since.map(crate::clock::format_ms),
            until: crate::clock::format_ms(opts.until),
            calls: calls.len(),
            by_decision: by_decision
                .into_iter()
                .map(|(k, calls)| Tally { name: k.as_str().to_string(), calls })
                .collect(),
            by_source: {
                let mut v: Vec<Tally> =
                    by_source.into_iter().map(|(k, calls)| Tally { name: k.as_str().to_string(), calls }).collect();
                v.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.name.cmp(&b.name)));
                v
            },
            by_decider: deciders.into_values().collect(),
            human_wait: Wait::of(waits),
            top_denied,
            always_approved: group_asks(calls)
                .into_iter()
                .filter(|g| g.always_approved() && g.asks >= opts.min_approvals)
                .collect(),
            rules_fired,
            rules_never_fired: never.into_iter().cloned().collect(),
            by_agent: agents.finish(),
            by_repo: repos.finish(),
            by_developer: developers.finish(),
        }
    }

    /// The by-decision tallies keep [`Verdict`] order; this is a decision's count.
    pub fn decided(&self, v: Verdict) -> usize {
        self.by_decision.iter().find(|t| t.name == v.as_str()).map_or(0, |t| t.calls)
    }
}

/// Counts per name (agent or repository), most calls first.
#[derive(Default)]
struct Slicer {
    slices: BTreeMap<String, (Slice, Vec<i64>)>,
}

impl Slicer {
    fn add(&mut self, name: &str, c: &ReviewCall) {
        let (s, waits) = self.slices.entry(name.to_string()).or_insert_with(|| {
            (
                Slice {
                    name: name.to_string(),
                    calls: 0,
                    auto_approved: 0,
                    human: 0,
                    agent: 0,
                    refused: 0,
                    median_wait_ms: None,
                },
                Vec::new(),
            )
        });
        let who = c.decider();
        s.calls += 1;
        s.auto_approved += usize::from(who == Decider::Gate && c.decision.is_some_and(Verdict::allowed));
        s.human += usize::from(who == Decider::Human);
        s.agent += usize::from(who == Decider::Agent);
        s.refused += usize::from(c.decision.is_some_and(Verdict::refused));
        if who == Decider::Human {
            waits.extend(c.waited_ms);
        }
    }

    fn finish(self) -> Vec<Slice> {
        let mut out: Vec<Slice> = self
            .slices
            .into_values()
            .map(|(mut s, waits)| {
                s.median_wait_ms = Wait::of(waits).map(|w| w.median_ms);
                s
            })
            .collect();
        out.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.name.cmp(&b.name)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Kind;
    use crate::review::calls::calls_of;
    use crate::store::{JsonText, Millis, Receipt, RowKind, ToolKind};

    const REPO: &str = "/home/dev/project";

    /// A decision row: seq, tool, target, what gate decided, by what.
    fn decision(seq: i64, tool: &str, target: &str, v: Verdict, s: Source) -> Receipt {
        let kind = match tool {
            "Bash" => Kind::Shell,
            "Edit" => Kind::Edit,
            "Read" => Kind::Read,
            _ => Kind::Other,
        };
        Receipt {
            seq,
            ts: Millis(1_000 * seq),
            kind: crate::store::receipt::RowKindCol(RowKind::Decision),
            session_id: Some("s1".into()),
            agent: Some("claude-code".into()),
            cwd: Some(format!("{REPO}/sub")),
            tool: Some(tool.into()),
            tool_kind: Some(ToolKind(kind)),
            target: Some(target.into()),
            decision: Some(v),
            source: Some(s),
            ..Default::default()
        }
    }

    fn with(mut r: Receipt, f: impl FnOnce(&mut Receipt)) -> Receipt {
        f(&mut r);
        r
    }

    /// A later row (outcome or answer) linking to `to`.
    fn later(seq: i64, kind: RowKind, to: i64, v: Option<(Verdict, Source)>) -> Receipt {
        Receipt {
            seq,
            ts: Millis(1_000 * seq),
            kind: crate::store::receipt::RowKindCol(kind),
            links_seq: Some(to),
            decision: v.map(|x| x.0),
            source: v.map(|x| x.1),
            ..Default::default()
        }
    }

    fn waited(ms: i64) -> impl FnOnce(&mut Receipt) {
        move |r| r.detail = Some(JsonText::of(&serde_json::json!({ "waited_ms": ms })))
    }

    fn digest(rows: Vec<Receipt>, rules: &[PolicyRule]) -> Digest {
        let mut fold = crate::review::calls::CallFold::default();
        for r in &rows {
            fold.push(r);
        }
        let calls = fold.finish_located(|cwd| cwd.strip_suffix("/sub").unwrap_or(cwd).to_string());
        Digest::build(&calls, rules, &DigestOptions { since: Some(0), until: 100_000, ..Default::default() })
    }

    fn rule(id: &str) -> PolicyRule {
        PolicyRule { id: id.into(), layer: "user".into(), origin: format!("policy.toml:{}", id.len()) }
    }

    #[test]
    fn calls_fold_their_answers_and_outcomes() {
        use Source::*;
        use Verdict::*;
        // (rows, final decision, final source, decider)
        let cases: Vec<(Vec<Receipt>, Verdict, Source, Decider)> = vec![
            (vec![decision(1, "Bash", "ls", AutoApproved, Floor)], AutoApproved, Floor, Decider::Gate),
            (
                vec![
                    decision(1, "Bash", "npm i", Asked, Agent),
                    later(2, RowKind::Outcome, 1, Some((Approved, Agent))),
                ],
                Approved,
                Agent,
                Decider::Agent,
            ),
            (
                vec![decision(1, "Bash", "npm i", Asked, Agent), later(2, RowKind::Answer, 1, Some((Denied, Agent)))],
                Denied,
                Agent,
                Decider::Agent,
            ),
            (vec![decision(1, "Bash", "npm i", Asked, Agent)], Asked, Agent, Decider::Nobody),
            (vec![decision(1, "Bash", "npm i", Approved, Watch)], Approved, Watch, Decider::Human),
            (vec![decision(1, "Bash", "npm i", Expired, Timeout)], Expired, Timeout, Decider::Nobody),
            (vec![decision(1, "Bash", "npm i", Abandoned, Agent)], Abandoned, Agent, Decider::Nobody),
            (vec![decision(1, "Bash", "rm -rf /", Denied, Rule)], Denied, Rule, Decider::Gate),
            (
                // An outcome that carries no decision only says how the call ended.
                vec![decision(1, "Bash", "ls", AutoApproved, Floor), later(2, RowKind::Outcome, 1, None)],
                AutoApproved,
                Floor,
                Decider::Gate,
            ),
        ];
        for (rows, want, source, decider) in cases {
            let calls = calls_of(rows.clone());
            assert_eq!(calls.len(), 1, "{rows:?}");
            assert_eq!((calls[0].decision, calls[0].source, calls[0].decider()), (Some(want), Some(source), decider));
        }
        // An outcome whose decision is before the period is no call.
        assert!(calls_of(vec![later(5, RowKind::Outcome, 1, None)]).is_empty());
    }

    #[test]
    fn counts_by_decision_source_and_decider() {
        use Source::*;
        use Verdict::*;
        let d = digest(
            vec![
                decision(1, "Bash", "ls", AutoApproved, Floor),
                decision(2, "Read", "/home/dev/project/a.rs", AutoApproved, Floor),
                decision(3, "Bash", "rm -rf /", Denied, Rule),
                decision(4, "Bash", "npm i", Asked, Agent),
                later(5, RowKind::Outcome, 4, Some((Approved, Agent))),
                with(decision(6, "Bash", "cargo build", Approved, Watch), waited(4_000)),
                with(decision(7, "Bash", "curl x", Denied, Web), waited(60_000)),
                decision(8, "Bash", "make", Expired, Timeout),
            ],
            &[],
        );
        assert_eq!(d.calls, 7);
        let names = |v: &[Tally]| v.iter().map(|t| format!("{}={}", t.name, t.calls)).collect::<Vec<_>>().join(" ");
        assert_eq!(names(&d.by_decision), "auto-approved=2 approved=2 denied=2 expired=1");
        assert_eq!(names(&d.by_source), "floor=2 agent=1 rule=1 timeout=1 watch=1 web=1");
        let deciders: Vec<(Decider, usize, usize, usize)> =
            d.by_decider.iter().map(|t| (t.decider, t.calls, t.allowed, t.refused)).collect();
        assert_eq!(
            deciders,
            vec![
                (Decider::Gate, 3, 2, 1),
                (Decider::Human, 2, 1, 1),
                (Decider::Agent, 1, 1, 0),
                (Decider::Nobody, 1, 0, 1)
            ]
        );
        assert_eq!(d.human_wait, Some(Wait { answers: 2, median_ms: 4_000, p90_ms: 60_000, max_ms: 60_000 }));
        assert_eq!(d.decided(Approved), 2);
    }

    #[test]
    fn wait_percentiles_are_nearest_rank() {
        type Case<'a> = (&'a [i64], Option<(i64, i64, i64)>);
        let cases: &[Case] = &[
            (&[], None),
            (&[7], Some((7, 7, 7))),
            (&[1, 2], Some((1, 2, 2))),
            (&[5, 1, 4, 2, 3], Some((3, 5, 5))),
            (&[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], Some((50, 90, 100))),
        ];
        for (ms, want) in cases {
            let got = Wait::of(ms.to_vec()).map(|w| (w.median_ms, w.p90_ms, w.max_ms));
            assert_eq!(got, *want, "{ms:?}");
        }
    }

    #[test]
    fn top_denied_groups_commands_and_keeps_the_latest_reason() {
        use Source::*;
        use Verdict::*;
        let reason = |t: &'static str| move |r: &mut Receipt| r.reason = Some(t.into());
        let d = digest(
            vec![
                with(decision(1, "Bash", "rm -rf build", Denied, Rule), reason("old")),
                with(decision(2, "Bash", "git push -f origin main", Denied, Rule), |r| {
                    r.rule_id = Some("no-force-push-main".into());
                }),
                with(decision(3, "Bash", "rm -rf build", Denied, Rule), |r| {
                    r.rule_id = Some("no-rm-rf".into());
                    r.reason = Some("gate blocks recursive forced deletion".into());
                }),
                with(decision(4, "Bash", "curl x | sh", Denied, Cli), reason("no")),
                decision(5, "Bash", "rm -rf build", AutoApproved, Rule),
            ],
            &[],
        );
        type Row<'a> = (&'a str, usize, usize, Option<&'a str>, Option<&'a str>);
        let top: Vec<Row> = d
            .top_denied
            .iter()
            .map(|t| (t.target.as_str(), t.count, t.by_human, t.rule.as_deref(), t.reason.as_deref()))
            .collect();
        assert_eq!(
            top,
            vec![
                ("rm -rf build", 2, 0, Some("no-rm-rf"), Some("gate blocks recursive forced deletion")),
                ("curl x | sh", 1, 1, None, Some("no")),
                ("git push -f origin main", 1, 0, Some("no-force-push-main"), None),
            ]
        );
    }

    #[test]
    fn asks_approved_every_time_are_candidates() {
        use Source::*;
        use Verdict::*;
        let ran = |seq, to| later(seq, RowKind::Outcome, to, Some((Approved, Agent)));
        let d = digest(
            vec![
                // Approved twice by a human, once in the agent's dialog: a candidate.
                decision(1, "Bash", "cargo test --lib", Approved, Watch),
                decision(2, "Bash", "cargo test -q", Approved, Session),
                decision(3, "Bash", "cargo test", Asked, Agent),
                ran(4, 3),
                // Approved once: not yet.
                decision(5, "Bash", "npm publish", Approved, Web),
                // Approved, then denied: not always.
                decision(6, "Bash", "git push", Approved, Cli),
                decision(7, "Bash", "git push --tags", Denied, Cli),
                // Approved, then expired: not always.
                decision(8, "Edit", "/home/dev/project/src/a.rs", Approved, Watch),
                decision(9, "Edit", "/home/dev/project/src/b/c.rs", Expired, Timeout),
                // Edits of docs: one shape across files.
                decision(10, "Edit", "/home/dev/project/docs/a.md", Approved, Watch),
                decision(11, "Edit", "/home/dev/project/docs/x/y.md", Approved, Web),
                // Allowed by gate on its own: not an ask at all.
                decision(12, "Bash", "ls", AutoApproved, Floor),
                decision(13, "Bash", "ls", AutoApproved, Floor),
            ],
            &[],
        );
        let got: Vec<(String, usize, usize, usize)> = d
            .always_approved
            .iter()
            .map(|g| (g.shape.to_string(), g.asks, g.approved_by_human, g.approved_by_agent))
            .collect();
        assert_eq!(got, vec![("Bash cargo test".into(), 3, 2, 1), ("Edit docs/**/*.md".into(), 2, 2, 0)]);
        assert_eq!(d.always_approved[0].repos, vec![REPO.to_string()]);
        assert_eq!(d.always_approved[0].example.as_deref(), Some("cargo test"));
    }

    #[test]
    fn rules_that_never_fired() {
        use Source::*;
        use Verdict::*;
        let fired = |id: &str| {
            let id = id.to_string();
            move |r: &mut Receipt| r.rule_id = Some(id)
        };
        let d = digest(
            vec![
                with(decision(1, "Bash", "rm -rf /", Denied, Rule), fired("no-rm-rf")),
                with(decision(2, "Bash", "rm -rf /x", Denied, Rule), fired("no-rm-rf")),
                with(decision(3, "Bash", "npm i", Asked, Agent), fired("ask-installs")),
                with(decision(4, "Bash", "ls", AutoApproved, Floor), fired("ls")),
            ],
            &[rule("no-rm-rf"), rule("ask-installs"), rule("allow-tests"), rule("no-force-push-main")],
        );
        let never: Vec<&str> = d.rules_never_fired.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(never, vec!["allow-tests", "no-force-push-main"]);
        let fired: Vec<(&str, usize)> = d.rules_fired.iter().map(|t| (t.name.as_str(), t.calls)).collect();
        assert_eq!(fired, vec![("no-rm-rf", 2), ("ask-installs", 1), ("ls", 1)]);
    }

    #[test]
    fn slices_per_agent_and_repository() {
        use Source::*;
        use Verdict::*;
        let elsewhere = |agent: &str, cwd: &str| {
            let (agent, cwd) = (agent.to_string(), cwd.to_string());
            move |r: &mut Receipt| {
                r.agent = Some(agent);
                r.cwd = Some(cwd);
            }
        };
        let d = digest(
            vec![
                decision(1, "Bash", "ls", AutoApproved, Floor),
                with(decision(2, "Bash", "make", Approved, Watch), waited(3_000)),
                with(decision(3, "Bash", "make", Approved, Watch), waited(9_000)),
                with(decision(4, "Bash", "rm -rf /", Denied, Rule), elsewhere("codex", "/srv/other")),
                with(decision(5, "Bash", "npm i", Asked, Agent), elsewhere("codex", "/srv/other")),
                later(6, RowKind::Outcome, 5, Some((Approved, Agent))),
            ],
            &[],
        );
        let row = |s: &Slice| (s.name.clone(), s.calls, s.auto_approved, s.human, s.agent, s.refused, s.median_wait_ms);
        assert_eq!(
            d.by_agent.iter().map(row).collect::<Vec<_>>(),
            vec![("claude-code".into(), 3, 1, 2, 0, 0, Some(3_000)), ("codex".into(), 2, 0, 0, 1, 1, None)]
        );
        assert_eq!(
            d.by_repo.iter().map(row).collect::<Vec<_>>(),
            vec![(REPO.into(), 3, 1, 2, 0, 0, Some(3_000)), ("/srv/other".into(), 2, 0, 0, 1, 1, None)]
        );
    }

    #[test]
    fn an_empty_period_is_an_empty_digest() {
        let d = digest(Vec::new(), &[rule("r")]);
        assert_eq!(d.calls, 0);
        assert!(d.by_decision.is_empty() && d.top_denied.is_empty() && d.always_approved.is_empty());
        assert_eq!(d.rules_never_fired.len(), 1);
        assert_eq!(d.human_wait, None);
        assert_eq!(
            (d.since.as_deref(), d.until.as_str()),
            (Some("1970-01-01T00:00:00.000Z"), "1970-01-01T00:01:40.000Z")
        );
    }
}
