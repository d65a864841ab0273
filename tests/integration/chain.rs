//! `gate verify`'s promise as a property, on receipt stores written by the real code path
//! (the `Store` API appending the rows the hook writes, in real SQLite files, some of them
//! then pruned): verification accepts every store no one touched, and rejects every
//! single-row change made behind gate's back, with the append-only triggers dropped as anyone
//! with write access to the file can: a value of any column edited, a row deleted, two rows
//! swapped. It names the first row that changed; a deleted last row leaves a chain that
//! verifies, but under another head, which `gate verify --head` and the signed checkpoints
//! catch.

use std::path::Path;

use gate::action::{Agent, SessionMark};
use gate::store::{Millis, Problem, Receipt, Source, Status, Store, Verdict, VerifyReport, COLUMNS};
use proptest::prelude::*;
use serde_json::json;

const VERDICTS: &[Verdict] =
    &[Verdict::AutoApproved, Verdict::Approved, Verdict::Denied, Verdict::Expired, Verdict::Asked, Verdict::Abandoned];
const SOURCES: &[Source] = &[Source::Floor, Source::Rule, Source::Mode, Source::Agent, Source::Cli, Source::Watch];
const STATUSES: &[Status] = &[Status::Success, Status::Error, Status::Interrupted, Status::Ran];

/// One row as the hook (or `gate prune`) would write it.
#[derive(Debug, Clone)]
enum Row {
    /// A Bash call decided, with a reason; `text` is the command line.
    Shell {
        text: String,
        verdict: usize,
        source: usize,
        human: bool,
    },
    /// A file or web tool call decided.
    Tool {
        tool: usize,
        text: String,
        verdict: usize,
    },
    /// How the last call ended.
    Outcome {
        status: usize,
    },
    /// A later answer to the last decision.
    Answer {
        verdict: usize,
    },
    Session {
        started: bool,
    },
    /// A payload gate could not use.
    Refusal {
        payload: Vec<u8>,
    },
}

fn row() -> impl Strategy<Value = Row> {
    // Text with secrets to mask, quotes, non-ASCII and control characters.
    let text = prop_oneof![
        "[a-z ./|;&$()'\"-]{0,40}",
        "\\PC{0,24}",
        Just("curl -H 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123' x".to_string()),
    ];
    prop_oneof![
        (text.clone(), 0..VERDICTS.len(), 0..SOURCES.len(), any::<bool>())
            .prop_map(|(text, verdict, source, human)| Row::Shell { text, verdict, source, human }),
        (0..3usize, text, 0..VERDICTS.len()).prop_map(|(tool, text, verdict)| Row::Tool { tool, text, verdict }),
        (0..STATUSES.len()).prop_map(|status| Row::Outcome { status }),
        (0..VERDICTS.len()).prop_map(|verdict| Row::Answer { verdict }),
        any::<bool>().prop_map(|started| Row::Session { started }),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|payload| Row::Refusal { payload }),
    ]
}

/// Write `rows` into a new store at `path`, an hour apart from 2020-01-01 (so before the
/// time of a prune row, which is now), then prune the rows before row `prune_at` (modulo
/// their number) when given. Returns the report of the store as written, which verifies.
fn write_store(path: &Path, rows: &[Row], prune_at: Option<usize>) -> VerifyReport {
    let mut store = Store::open(path).expect("open the store");
    let claude = gate::hook::adapter(Agent::ClaudeCode).expect("the Claude Code adapter");
    let cwd = "/home/u/project";
    let mut last_action = gate::engine::shell_action("ls", cwd);
    let mut last_decision: Option<Receipt> = None;
    let mut times = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let mut rec = match r {
            Row::Shell { text, verdict, source, human } => {
                last_action = gate::engine::shell_action(text, cwd);
                let mut rec =
                    Receipt::decision(&last_action, VERDICTS[*verdict], SOURCES[*source], human.then_some("alice"));
                rec.with_reason(&format!("`{text}` needs a human's approval"));
                rec
            }
            Row::Tool { tool, text, verdict } => {
                let (name, input) = match tool {
                    0 => ("Read", json!({ "file_path": text })),
                    1 => ("Write", json!({ "file_path": "notes.md", "content": text })),
                    _ => ("WebFetch", json!({ "url": format!("https://example.com/{text}"), "prompt": text })),
                };
                last_action = gate::engine::tool_action(claude, name, input, cwd).expect("a tool payload parses");
                Receipt::decision(&last_action, VERDICTS[*verdict], Source::Rule, None)
            }
            Row::Outcome { status } => Receipt::outcome(&last_action, STATUSES[*status]),
            Row::Answer { verdict } => match &last_decision {
                Some(d) => Receipt::answer(d, VERDICTS[*verdict], Source::Agent, Some("alice")),
                None => Receipt::outcome(&last_action, Status::Ran),
            },
            Row::Session { started } => Receipt::session(&SessionMark {
                agent: Agent::ClaudeCode,
                session_id: "s-chain".into(),
                cwd: cwd.into(),
                started: *started,
                detail: Some("startup".into()),
                transcript_path: None,
            }),
            Row::Refusal { payload } => Receipt::refusal(Some(Agent::ClaudeCode), payload),
        };
        rec.ts = Millis(1_577_836_800_000 + i as i64 * 3_600_000);
        store.append(&mut rec).expect("append");
        times.push(rec.ts.0);
        if matches!(r, Row::Shell { .. } | Row::Tool { .. }) {
            last_decision = Some(rec);
        }
    }
    if let Some(at) = prune_at {
        store.prune(times[at % times.len()], "alice").expect("prune an intact store");
    }
    let report = gate::store::verify(&store).expect("verify");
    assert_eq!(report.problem, None, "the store as written does not verify");
    assert!(report.missing_triggers.is_empty(), "{:?}", report.missing_triggers);
    report
}

/// A copy of the store at `from`, changed by `sql` with the append-only triggers dropped,
/// then verified.
fn tampered(from: &Path, sql: &str) -> VerifyReport {
    let to = from.with_file_name(format!("tampered-{}.db", rand_suffix()));
    let src = rusqlite::Connection::open(from).expect("open the store");
    src.execute_batch("PRAGMA synchronous = OFF").expect("pragma");
    src.execute("VACUUM INTO ?1", [to.to_string_lossy()]).expect("copy the store");
    drop(src);
    let conn = rusqlite::Connection::open(&to).expect("open the copy");
    conn.execute_batch(&format!(
        "PRAGMA synchronous = OFF; DROP TRIGGER receipts_no_update; DROP TRIGGER receipts_no_delete; \
         DROP TRIGGER receipts_no_reuse; DROP TRIGGER receipts_in_order; {sql}"
    ))
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    drop(conn);
    let report = gate::store::verify(&Store::open_read(&to).expect("open the copy")).expect("verify the copy");
    let _ = std::fs::remove_file(&to);
    report
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The first row a problem names.
fn first_bad(p: &Problem) -> i64 {
    match p {
        Problem::Edited { seq } | Problem::OutOfOrder { seq, .. } | Problem::PrunedSilently { seq } => *seq,
        Problem::Missing { from, .. } => *from,
    }
}

/// An edit of `column` in row `seq` that changes its value whatever it is: a number grows
/// (a seq by more than the store holds, so it stays unique), a text gains a character, a
/// NULL becomes a value.
fn edit(path: &Path, column: &str, seq: i64) -> String {
    let conn = rusqlite::Connection::open(path).expect("open the store");
    let kind: String = conn
        .query_row(&format!("SELECT typeof({column}) FROM receipts WHERE seq = ?1"), [seq], |r| r.get(0))
        .expect("the row");
    let value = match (kind.as_str(), column) {
        ("integer", "seq") => "seq + 1000000".to_string(),
        ("integer", _) => format!("{column} + 1"),
        ("text", _) => format!("{column} || 'x'"),
        ("null", _) => "'x'".to_string(),
        (other, _) => panic!("{column} of seq {seq} is {other}"),
    };
    format!("UPDATE receipts SET {column} = {value} WHERE seq = {seq}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn verify_accepts_every_untouched_store_and_rejects_every_single_row_change(
        rows in proptest::collection::vec(row(), 2..10),
        prune_at in proptest::option::of(0usize..10),
        picks in proptest::collection::vec(any::<prop::sample::Index>(), COLUMNS.len() + 3),
    ) {
        // In memory where the system has it: a store's appends and copies wait on no disk.
        let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).expect("tempdir");
        let path = dir.path().join("gate.db");
        let head = write_store(&path, &rows, prune_at);
        let n = head.head_seq;
        prop_assert_eq!(head.rows, n);
        let pick = |i: usize| picks[i].index(n as usize) as i64 + 1;

        // Any column of a random row, edited.
        for (i, spec) in COLUMNS.iter().enumerate() {
            let seq = pick(i);
            let sql = edit(&path, spec.column, seq);
            let report = tampered(&path, &sql);
            let problem = report.problem.as_ref();
            prop_assert!(problem.is_some(), "{} verified", sql);
            prop_assert_eq!(problem.map(first_bad), Some(seq), "{}: {:?}", sql, problem);
        }

        // A random row deleted: a gap, or (the last row) another head.
        let seq = pick(COLUMNS.len());
        let report = tampered(&path, &format!("DELETE FROM receipts WHERE seq = {seq}"));
        let last_is_prune = rusqlite::Connection::open(&path)
            .and_then(|c| c.query_row("SELECT kind = 'prune' FROM receipts WHERE seq = ?1", [n], |r| r.get(0)))
            .expect("the last row");
        match report.problem {
            _ if seq < n => prop_assert_eq!(report.problem, Some(Problem::Missing { from: seq, to: seq })),
            // The pruned rows are no longer accounted for.
            Some(Problem::PrunedSilently { .. }) if last_is_prune => {}
            problem => {
                prop_assert_eq!(problem, None);
                prop_assert_eq!(report.head_seq, n - 1);
                prop_assert_ne!(report.head_hash, head.head_hash.clone());
            }
        }

        // Two different random rows swapped.
        let (a, b) = (pick(COLUMNS.len() + 1), pick(COLUMNS.len() + 2));
        let (a, b) = if a == b { (1, n) } else { (a.min(b), a.max(b)) };
        let sql = format!(
            "UPDATE receipts SET seq = -1 WHERE seq = {a}; UPDATE receipts SET seq = {a} WHERE seq = {b}; \
             UPDATE receipts SET seq = {b} WHERE seq = -1"
        );
        let report = tampered(&path, &sql);
        prop_assert_eq!(report.problem.as_ref().map(first_bad), Some(a), "{}: {:?}", sql, report.problem);
    }
}
