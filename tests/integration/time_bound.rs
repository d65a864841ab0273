//! The hook's time bound: no command line makes the work that depends on it take longer
//! than 100 ms. Each row builds 64 KiB (the most gate analyses) of one adversarial shape:
//! nested `(`, `$(`, braces and quotes, long pipelines and lists, unclosed openers, quoted
//! closers, and seeded random mixes of all of them. Each is run through what `gate hook` does
//! with a command once it has the payload: the Claude Code adapter parses it, the policy
//! layers are loaded and the call is decided with the disk probe, and its receipt row is
//! built (the masking). The fastest of five runs must stay under the bound, so a loaded
//! machine does not fail it; the decision must never be an allow of something the analysis
//! does not fully understand. The rows are in `adversarial.rs`, which `cargo bench` shares
//! to print the slowest.

use std::time::Duration;

use gate::action::Shell;
use gate::policy::Decision;
use gate::shell::MAX_INPUT_BYTES;

use crate::adversarial::{hook_work, inputs};

/// The bound the hook's input-dependent work must stay under, in an optimized build (CI runs
/// this file with `--release`). An unoptimized build runs the same code ten to forty times
/// slower (measured: 300 ms for the slowest row against 30 ms, and 800 ms for masking a
/// 64 KiB assignment that takes under 25 ms), so there the bound only catches work that grows
/// faster than the input (the two found took 30 s and 6 s).
const BOUND: Duration = Duration::from_millis(if cfg!(debug_assertions) { 2_000 } else { 100 });
/// Runs per row, the fastest counting: five where the bound is tight, one where it is loose.
const RUNS: usize = if cfg!(debug_assertions) { 1 } else { 5 };

#[test]
fn no_command_line_makes_the_hook_take_longer_than_100_ms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = gate::paths::Paths { data_dir: dir.path().join("data"), config_dir: dir.path().join("config") };
    let cwd = dir.path().join("project");
    std::fs::create_dir_all(&cwd).expect("project dir");
    let cwd = cwd.to_string_lossy().into_owned();
    // The first call fills the caches (compiled policy, floor) as an earlier hook would have.
    hook_work(&paths, &cwd, "ls", &Shell::Bash);
    let mut over = Vec::new();
    for (name, command) in inputs() {
        assert!(command.len() <= MAX_INPUT_BYTES && command.len() > MAX_INPUT_BYTES / 2, "{name}: {}", command.len());
        for shell in [Shell::Bash, Shell::Zsh] {
            let mut best = Duration::MAX;
            for _ in 0..RUNS {
                let (took, decision, understood) = hook_work(&paths, &cwd, &command, &shell);
                best = best.min(took);
                if !understood {
                    assert_ne!(decision, Decision::Allow, "{name}: not understood, yet allowed");
                }
            }
            if best >= BOUND {
                over.push(format!("{name} ({}): {best:?}", shell.as_str()));
            }
        }
    }
    assert!(over.is_empty(), "over the {BOUND:?} bound:\n{}", over.join("\n"));
}

/// What keeps the bound on long lines: past `MAX_DECIDED_COMMANDS` simple commands or
/// `MAX_DECIDED_WORDS` words, the rest of a line is not decided command by command, and the
/// line asks. The commands within the bounds are still decided (a deny there stands); one past
/// them is never allowed, whatever it is.
#[test]
fn lines_past_the_decided_bounds_ask() {
    use gate::policy::{MAX_DECIDED_COMMANDS as COMMANDS, MAX_DECIDED_WORDS as WORDS};
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = gate::paths::Paths { data_dir: dir.path().join("data"), config_dir: dir.path().join("config") };
    let cwd = dir.path().to_string_lossy().into_owned();
    let cases: Vec<(String, Decision)> = vec![
        ("ls;".repeat(COMMANDS), Decision::Allow),
        ("ls;".repeat(COMMANDS + 1), Decision::Ask),
        (format!("ls{}", " -l".repeat(WORDS - 1)), Decision::Allow),
        (format!("ls{}", " -l".repeat(WORDS)), Decision::Ask),
        (format!("rm -rf /; {}", "ls;".repeat(COMMANDS)), Decision::Deny),
        (format!("{}rm -rf /", "ls;".repeat(COMMANDS)), Decision::Ask),
    ];
    for (command, want) in cases {
        let action = gate::engine::shell_action(&command, &cwd);
        let (eval, _) = gate::engine::decide(&paths, &action);
        let what = format!("{}… ({} bytes)", &command[..command.len().min(24)], command.len());
        assert_eq!(eval.verdict.decision, want, "{what}: {}", eval.verdict.reason);
        if want == Decision::Ask {
            assert!(eval.verdict.reason.contains("one by one"), "{what}: {}", eval.verdict.reason);
        }
    }
}
