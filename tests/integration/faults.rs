//! `gate hook` under input built to crash it: deep nesting of every construct of the grammar,
//! at several sizes up to the analysed limit, and (debug builds) a worker made to die by a
//! stack overflow, an abort, a signal or exhausted memory. Every run must end in exit 0 or
//! 2, never allow, and leave a receipt row.

use serde_json::{json, Value};

use crate::util::{answer, stderr, TestEnv};

/// `n` levels of one construct around `touch x`, which is never auto-approved.
type Nest = fn(usize) -> String;

const CONSTRUCTS: &[(&str, Nest)] = &[
    ("[[ ! ]]", |n| format!("[[ {}a ]]; touch x", "! ".repeat(n))),
    ("[[ ( ) ]]", |n| format!("[[ {}a{} ]]; touch x", "( ".repeat(n), " )".repeat(n))),
    ("[[ && ]]", |n| format!("[[ a{} ]]; touch x", " && a".repeat(n))),
    ("! pipeline", |n| format!("{}touch x", "! ".repeat(n))),
    ("( )", |n| format!("{}touch x{}", "(".repeat(n), ")".repeat(n))),
    ("{ }", |n| format!("{}touch x; {}", "{ ".repeat(n), "}; ".repeat(n))),
    ("$( )", |n| format!("echo {}touch x{}", "$(".repeat(n), ")".repeat(n))),
    ("backticks", |n| format!("echo `{}touch x`", "\\`".repeat(n))),
    ("<( )", |n| format!("cat {}touch x{}", "<(".repeat(n), ")".repeat(n))),
    ("$(( ))", |n| format!("echo $(({}1{})); touch x", "(".repeat(n), ")".repeat(n))),
    ("$(( ! ))", |n| format!("echo $(({}1)); touch x", "!".repeat(n))),
    ("(( ))", |n| format!("(({}1{})); touch x", "(".repeat(n), ")".repeat(n))),
    ("${ }", |n| format!("echo {}x{}; touch x", "${a:-".repeat(n), "}".repeat(n))),
    ("{a,b}", |n| format!("echo {}b{}; touch x", "{a,".repeat(n), "}".repeat(n))),
    ("here-docs", |n| format!("{}touch x", "cat <<E\nx\nE\n".repeat(n))),
    ("here-doc in $( )", |n| format!("cat <<E\n{}x\nE\n{}touch x", "$(cat <<E\n".repeat(n), ")\nE\n".repeat(n))),
    ("case", |n| format!("{}touch x{}", "case x in a) ".repeat(n), " ;; esac".repeat(n))),
    ("if", |n| format!("{}touch x{}", "if true; then ".repeat(n), "; fi".repeat(n))),
    ("while", |n| format!("{}touch x{}", "while true; do ".repeat(n), "; done".repeat(n))),
    ("for", |n| format!("{}touch x{}", "for i in a; do ".repeat(n), "; done".repeat(n))),
    ("f() { }", |n| format!("{}touch x{}", "f() { ".repeat(n), "; }".repeat(n))),
    ("function f { }", |n| format!("{}touch x{}", "function f { ".repeat(n), "; }".repeat(n))),
    ("a=( $( ) )", |n| format!("a=({}x{}); touch x", "$(".repeat(n), ")".repeat(n))),
    ("a=( ( )", |n| format!("a=({}); touch x", "(".repeat(n))),
    ("unclosed (", |n| format!("{}touch x", "(".repeat(n))),
    ("unclosed [[", |n| format!("{}touch x", "[[ ".repeat(n))),
    ("quoted closers", |n| format!("{}touch x", "( \")\" ".repeat(n))),
];

/// Byte sizes tried for each construct; the last is just under the analysed 64 KiB.
const SIZES: &[usize] = &[1_000, 10_000, 60_000];

/// The largest nesting of `nest` that fits in `size` bytes.
fn fit(nest: Nest, size: usize) -> String {
    let per = nest(2).len().saturating_sub(nest(1).len()).max(1);
    let mut n = size / per;
    while n > 1 && nest(n).len() > size {
        n -= 1;
    }
    nest(n)
}

fn bash_call(env: &TestEnv, command: &str) -> Value {
    json!({
        "session_id": "s-faults",
        "transcript_path": "/nonexistent/t.jsonl",
        "cwd": env.project().to_string_lossy(),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command},
        "tool_use_id": "toolu_faults",
    })
}

/// Exit 0 with an answer other than allow, or exit 2 with a reason on stderr.
fn assert_not_allowed(out: &std::process::Output, what: &str) {
    match out.status.code() {
        Some(0) => {
            let a = answer(out);
            let decision = &a["hookSpecificOutput"]["permissionDecision"];
            assert!(decision == "ask" || decision == "deny", "{what}: {a}");
        }
        Some(2) => assert!(!stderr(out).trim().is_empty(), "{what}: exit 2 without a reason"),
        other => panic!("{what}: exit {other:?}, which agents read as carry on: {}", stderr(out)),
    }
}

fn receipt_count(env: &TestEnv) -> usize {
    env.sqlite3("SELECT count(*) FROM receipts WHERE kind = 'decision'").trim().parse().expect("a count")
}

#[test]
fn deep_nesting_of_every_construct_never_ends_the_hook_otherwise_than_0_or_2() {
    // Constructs in parallel, sizes in turn, one receipt store per construct.
    std::thread::scope(|s| {
        for chunk in CONSTRUCTS.chunks(CONSTRUCTS.len().div_ceil(4)) {
            s.spawn(move || {
                for (name, nest) in chunk {
                    let env = TestEnv::new();
                    for (i, &size) in SIZES.iter().enumerate() {
                        let command = fit(*nest, size);
                        let what = format!("{name} in {} bytes", command.len());
                        let out = env.hook(&bash_call(&env, &command));
                        assert_not_allowed(&out, &what);
                        assert_eq!(receipt_count(&env), i + 1, "{what}: no receipt row");
                    }
                }
            });
        }
    });
}

#[test]
fn a_worker_that_dies_is_answered_with_a_deny_and_a_receipt() {
    if !cfg!(debug_assertions) {
        return; // GATE_TEST_CRASH is honoured by debug builds only.
    }
    let cases: &[(&str, &str)] = &[
        ("stack", "signal 11 (SIGSEGV: a stack overflow"),
        ("abort", "signal 6 (SIGABRT"),
        ("oom", "signal 6 (SIGABRT"),
        ("segv", "signal 11 (SIGSEGV"),
        ("exit1", "exited with status 1"),
    ];
    for (how, why) in cases {
        let env = TestEnv::new();
        let payload = bash_call(&env, "ls");
        let out = env
            .cmd(&["hook"])
            .env("GATE_TEST_CRASH", how)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().expect("stdin").write_all(payload.to_string().as_bytes())?;
                c.wait_with_output()
            })
            .expect("run gate hook");
        assert_eq!(out.status.code(), Some(2), "{how}: {}", stderr(&out));
        assert!(stderr(&out).contains(why), "{how}: {}", stderr(&out));
        assert!(stderr(&out).contains("denying this tool call"), "{how}: {}", stderr(&out));
        let row = env.sqlite3("SELECT decision || '|' || source || '|' || tool || '|' || reason FROM receipts");
        assert!(row.starts_with("denied|error|Bash|gate: the hook's worker"), "{how}: {row}");
        assert!(row.contains(why), "{how}: {row}");
    }
}
