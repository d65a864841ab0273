//! Command lines built to make the analysis slow: 64 KiB (the most gate analyses) of one
//! adversarial shape each, named. The time-bound test (`time_bound.rs`) runs every one through
//! the hook's work, and `cargo bench` (which includes this file) reports the slowest.

use std::time::{Duration, Instant};

use gate::action::{HookEvent, Shell};
use gate::policy::Decision;
use gate::shell::MAX_INPUT_BYTES;

/// `unit` repeated to fill the analysed size.
fn fill(unit: &str) -> String {
    unit.repeat(MAX_INPUT_BYTES / unit.len())
}

/// As many `open`s, then `mid`, then as many `close`s as fit in the analysed size.
fn nest(open: &str, mid: &str, close: &str) -> String {
    let n = (MAX_INPUT_BYTES - mid.len()) / (open.len() + close.len());
    format!("{}{mid}{}", open.repeat(n), close.repeat(n))
}

/// `start`, then `word(i)` for i = 0, 1, ... separated by spaces, filling the analysed size.
fn distinct(start: &str, word: impl Fn(usize) -> String) -> String {
    let mut out = start.to_string();
    for i in 0.. {
        let w = word(i);
        if out.len() + 1 + w.len() > MAX_INPUT_BYTES {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&w);
    }
    out
}

/// A seeded mix of the pieces that nest, open, close and quote, filling the analysed size.
fn mix(seed: u64) -> String {
    const PIECES: &[&str] = &[
        "(", ")", "$(", "{ ", "; }", "{a,", "}", "\"", "'", "`", "|", " | ", "&&", ";", "<(", "${", "$((", "[[ ",
        " ]]", "\\", "ls ", "-la ", "x", " ", "\n", "<<E\n", "E\n", "#",
    ];
    let mut state = seed;
    let mut out = String::new();
    loop {
        // xorshift64: deterministic, so a failure names an input that can be rebuilt.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let piece = PIECES[(state % PIECES.len() as u64) as usize];
        if out.len() + piece.len() > MAX_INPUT_BYTES {
            return out;
        }
        out.push_str(piece);
    }
}

/// The adversarial inputs: a name and the command line.
pub fn inputs() -> Vec<(String, String)> {
    let mut rows: Vec<(&str, String)> = vec![
        ("( unclosed", fill("(")),
        ("( )", nest("(", "ls", ")")),
        ("( ) spaced", nest("( ", "ls", " )")),
        ("$( unclosed", fill("$(")),
        ("$( )", nest("$(", "ls", ")")),
        ("\"$( )\"", nest("\"$(", "ls", ")\"")),
        ("<( )", nest("<(", "ls", ")")),
        ("$(( ))", nest("$((", "1", "))")),
        ("${ }", nest("${a:-", "x", "}")),
        ("backticks", nest("`", "ls", "`")),
        ("escaped backticks", format!("echo `{}ls`", "\\`".repeat(MAX_INPUT_BYTES / 2 - 16))),
        ("{ }", nest("{ ", "ls", "; }")),
        ("{ unclosed", fill("{ ")),
        ("} unopened", fill("} ")),
        ("{a, brace expansion", nest("{a,", "b", "}")),
        ("{a,b} words", fill("{a,b}")),
        ("{1..N} ranges", fill("{1..99999} ")),
        ("[[ ( ]]", format!("[[ {}a{} ]]", "( ".repeat(MAX_INPUT_BYTES / 4 - 4), " )".repeat(MAX_INPUT_BYTES / 4 - 4))),
        ("[[ ! ]]", format!("[[ {}a ]]", "! ".repeat(MAX_INPUT_BYTES / 2 - 16))),
        ("pipes", fill("ls | ")),
        ("bare pipes", fill("|")),
        ("pipes into cat", format!("ls{}", "|cat".repeat(MAX_INPUT_BYTES / 4 - 1))),
        ("&& list", fill("ls && ")),
        ("; list", fill("ls;")),
        ("; list of git", fill("git status;")),
        ("; list of reads", fill("cat a;")),
        ("one command, many operands", format!("cat{}", " a".repeat(MAX_INPUT_BYTES / 2 - 2))),
        ("one command, distinct operands", distinct("cat", |i| format!("a{i}"))),
        ("distinct commands", distinct("", |i| format!("c{i};"))),
        (
            "cd, then operands",
            format!("cd a; cd b; cd c; cd d; cd e; cd f; cd g; cd h; cat{}", " x".repeat(MAX_INPUT_BYTES / 2 - 64)),
        ),
        ("secret-named assignments, no space", fill("TOKEN=\"")),
        ("one command, many globs", format!("cat{}", " *".repeat(MAX_INPUT_BYTES / 2 - 2))),
        ("one word", fill("a")),
        ("double quotes", fill("\"")),
        ("single quotes", fill("'")),
        ("alternating quotes", fill("\"'")),
        ("quoted closers", fill("( \")\" ")),
        ("escaped quotes", fill("\\\"")),
        ("unclosed quote, then code", format!("\"{}", fill("ls; ").get(1..).unwrap_or(""))),
        ("here-docs", fill("cat <<E\nx\nE\n")),
        ("unclosed here-docs", fill("cat <<E\n")),
        ("nested loops", nest("for i in a b c d; do ", "cat $i", "; done")),
        ("if", nest("if ls; then ", "ls", "; fi")),
        ("case", nest("case x in a) ", "ls", " ;; esac")),
        ("functions", nest("f() { ", "ls", "; }")),
        ("assignments", fill("A=1 ")),
        ("arrays", nest("a=(", "x", ")")),
        ("comments", fill("# ( $( \" '\n")),
        ("bash -c", fill("bash -c 'ls'; ")),
        ("mix of ( $( | { \"", fill("( $( | { \" ")),
        ("mix of closers", fill(") } ]] \" ' ` ")),
    ];
    let mut out: Vec<(String, String)> = rows.drain(..).map(|(n, s)| (n.to_string(), s)).collect();
    for seed in 1..=8u64 {
        out.push((format!("random mix {seed}"), mix(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15))));
    }
    out
}

/// What `gate hook` does with a Bash call of `command` once it has read the payload, as the
/// shell `shell` runs it: the adapter parses it, the policy layers are loaded and the call is
/// decided with the disk probe in `cwd`, and its receipt row is built (masking the command).
/// Returns how long that took, the decision, and whether the analysis fully understood it.
pub fn hook_work(paths: &gate::paths::Paths, cwd: &str, command: &str, shell: &Shell) -> (Duration, Decision, bool) {
    let payload = serde_json::json!({
        "session_id": "s-time", "cwd": cwd, "hook_event_name": "PreToolUse",
        "tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": "toolu_time",
    })
    .to_string();
    let start = Instant::now();
    let (_, event) = gate::hook::parse(payload.as_bytes(), None).expect("a Bash payload parses");
    let HookEvent::PreTool(mut action) = event else { panic!("a PreToolUse payload is a tool call") };
    action.shell = shell.clone();
    let (eval, _) = gate::engine::decide(paths, &action);
    let mut rec = gate::store::Receipt::decision(&action, gate::store::Verdict::Asked, gate::store::Source::Rule, None);
    rec.with_reason(&eval.verdict.reason);
    std::hint::black_box(&rec);
    let took = start.elapsed();
    (took, eval.verdict.decision, gate::shell::analyze(command).is_fully_understood())
}
