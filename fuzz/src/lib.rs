//! What the fuzz targets assert, beyond "no panic", stated once for all of them: each target
//! in `fuzz_targets/` feeds its bytes to one of these checks. Decisions are taken as the hook
//! takes them (the built-in default policy and the embedded floor), with a probe that knows
//! nothing about the disk, so a run never reads or writes a file.

use std::sync::{Arc, OnceLock};

use gate::action::{Action, Agent, HookEvent, Kind, Request, Shell};
use gate::floor::{Env, Floor, NoProbe};
use gate::hook::{HookError, Reply};
use gate::policy::load::{self, Macros, ASK_VIA};
use gate::policy::rule::{Layer, Rule};
use gate::policy::{Context, Decision, PolicySet, Verdict};

const HOME: &str = "/home/u";
const CWD: &str = "/home/u/project";

fn macros() -> Macros {
    Macros {
        home: Some(HOME.into()),
        gate_dirs: vec![format!("{HOME}/.local/share/gate")],
        gate_bins: vec![format!("{HOME}/.cargo/bin/gate")],
        ..Default::default()
    }
}

/// The built-in default policy, compiled once.
fn default_rules() -> &'static [Arc<Rule>] {
    static RULES: OnceLock<Vec<Arc<Rule>>> = OnceLock::new();
    RULES.get_or_init(|| {
        load::parse(gate::config::DEFAULT_POLICY, "default.toml", Layer::Default, &macros())
            .expect("the built-in default policy loads")
            .rules
    })
}

/// Decide `action` under `rules`, the embedded floor and a probe that knows nothing.
fn decide(action: &Action, rules: Vec<Arc<Rule>>) -> Verdict {
    let set = PolicySet { rules, broken: Vec::new() };
    let m = macros();
    let ctx = Context {
        home: m.home,
        gate_dirs: m.gate_dirs,
        gate_bins: m.gate_bins,
        probe: &NoProbe,
        policy: &set,
        edits: None,
    };
    gate::policy::evaluate(action, &ctx)
}

/// A command line: analysed without a panic, decided in bash and in zsh with a reason, and
/// never allowed when the analysis does not fully understand it.
pub fn check_command_line(src: &str) {
    let understood = gate::shell::analyze(src).is_fully_understood();
    for shell in [Shell::Bash, Shell::Zsh] {
        let mut action = gate::engine::shell_action(src, CWD);
        action.shell = shell;
        let verdict = decide(&action, default_rules().to_vec());
        assert!(!verdict.reason.is_empty(), "a decision without a reason: {src:?}");
        if !understood {
            assert_ne!(verdict.decision, Decision::Allow, "not fully understood, yet allowed: {src:?}");
        }
    }
}

/// A hook payload, through the adapter of `forced` (or the one that recognises it): a typed
/// error that says what is wrong (a syntax error names its line), or an event of that agent
/// whose tool call is typed consistently, is never allowed when gate cannot analyse it, and
/// renders a deny (and an unanswered question) as an answer the agent blocks on.
pub fn check_payload(forced: Option<Agent>, data: &[u8]) {
    match gate::hook::parse(data, forced) {
        Err((agent, err)) => {
            assert!(!err.to_string().is_empty(), "an empty error for {data:?}");
            if forced.is_some() {
                assert_eq!(agent, forced, "the error names another agent than the one forced");
            }
            if let HookError::Malformed { line, .. } = &err {
                let lines = data.iter().filter(|b| **b == b'\n').count() + 1;
                assert!((1..=lines).contains(line), "line {line} of {lines}: {data:?}");
            }
            if let Some(adapter) = agent.and_then(gate::hook::adapter) {
                let (out, code) = adapter.render_refusal("fuzz: refused");
                assert!(code == 2 || out.contains("fuzz: refused"), "{agent:?} does not block on its refusal: {out:?}");
            }
        }
        Ok((adapter, event)) => {
            if let Some(f) = forced {
                assert_eq!(adapter.agent(), f, "parsed by another adapter than the one forced");
            }
            let action = match &event {
                HookEvent::PreTool(a) | HookEvent::PermissionRequest(a) => a,
                HookEvent::PostTool(o) => &o.action,
                HookEvent::Session(s) => {
                    assert_eq!(s.agent, adapter.agent());
                    return;
                }
                HookEvent::Ignored { agent, .. } => {
                    assert_eq!(*agent, adapter.agent());
                    return;
                }
            };
            assert_eq!(action.agent, adapter.agent());
            let shell_request = matches!(action.request, Request::Shell { .. });
            assert_eq!(
                shell_request,
                action.kind == Kind::Shell,
                "kind {:?} with request {:?}",
                action.kind,
                action.request
            );
            if let Request::Shell { command } = &action.request {
                assert_eq!(action.target.as_deref(), Some(command.as_str()), "a shell call's target is its command");
                if !gate::shell::analyze(command).is_fully_understood() {
                    let verdict = decide(action, default_rules().to_vec());
                    assert_ne!(verdict.decision, Decision::Allow, "not fully understood, yet allowed: {command:?}");
                }
            }
            if matches!(event, HookEvent::PreTool(_)) {
                for reply in [Reply::Deny("fuzz: no".into()), Reply::Ask("fuzz: no".into())] {
                    let (out, code) = adapter.render(&event, &reply);
                    assert!(
                        code == 2 || (out.contains("fuzz: no") && !out.contains("\"allow\"")),
                        "{reply:?} renders as {out:?}, exit {code}, which the agent does not block on"
                    );
                }
            }
        }
    }
}

/// Command lines that must be decided the same under any user or project policy: a
/// recursive forced deletion (the default policy denies it, and the strictest rule wins),
/// and lines the analysis cannot follow (only an allow of whole tool calls may pass those).
const DENIED: &[&str] = &["rm -rf /", "sudo rm -rf ~", "cd x && rm -fr build"];
const OPAQUE: &[&str] = &["((((((((((((((ls))))))))))))))", "echo \"unclosed", "cat <(ls", "ls; done"];

/// Policy text, as a user and as a project policy file: every problem is reported at a
/// `file:line:col` inside the text, with a message; a file that loads holds valid, unique
/// rule ids of its layer and settings in range, and cannot loosen the default policy's
/// denies or allow what gate cannot analyse.
pub fn check_policy(text: &str) {
    let m = macros();
    for layer in [Layer::User, Layer::Project] {
        match load::parse(text, "fuzz.toml", layer, &m) {
            Err(errors) => {
                assert!(!errors.is_empty(), "an error without a problem");
                let lines = text.split('\n').count();
                for e in &errors {
                    assert_eq!(e.file, "fuzz.toml");
                    assert!((1..=lines).contains(&e.line) && e.col >= 1, "{e} is outside the text ({lines} lines)");
                    let line_chars = text.split('\n').nth(e.line - 1).map_or(0, |l| l.chars().count());
                    assert!(e.col <= line_chars + 1, "{e}: column past the line's end ({line_chars} characters)");
                    assert!(!e.message.trim().is_empty(), "{e}: no message");
                    assert!(e.to_string().starts_with(&format!("fuzz.toml:{}:{}: ", e.line, e.col)), "{e}");
                }
            }
            Ok(file) => {
                let mut ids: Vec<&str> = Vec::new();
                for r in &file.rules {
                    assert!(
                        !r.id.is_empty() && r.id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)),
                        "{:?}",
                        r.id
                    );
                    assert!(!ids.contains(&r.id.as_str()), "{:?} twice", r.id);
                    ids.push(&r.id);
                    assert_eq!(r.layer, layer);
                    assert!(r.origin.starts_with("fuzz.toml:"), "{}", r.origin);
                }
                if let Some(t) = file.settings.ask_timeout {
                    assert!((1..=86_400).contains(&t), "ask_timeout {t}");
                }
                if let Some(via) = &file.settings.ask_via {
                    assert!(!via.is_empty() && via.iter().all(|v| ASK_VIA.contains(&v.as_str())), "{via:?}");
                }
                let whole_allow =
                    file.rules.iter().any(|r| r.decision == Decision::Allow && !r.matchers.has_subject_matcher());
                let rules: Vec<Arc<Rule>> = default_rules().iter().cloned().chain(file.rules).collect();
                for line in DENIED {
                    let verdict = decide(&gate::engine::shell_action(line, CWD), rules.clone());
                    assert_eq!(verdict.decision, Decision::Deny, "{line:?} under {text:?}");
                }
                if !whole_allow {
                    for line in OPAQUE {
                        assert!(!gate::shell::analyze(line).is_fully_understood(), "{line:?} is understood");
                        let verdict = decide(&gate::engine::shell_action(line, CWD), rules.clone());
                        assert_ne!(verdict.decision, Decision::Allow, "{line:?} under {text:?}");
                    }
                }
            }
        }
    }
}

/// Command lines no floor can pass, whatever it lists: what the analysis marks as computed
/// or writing, a program the floor does not list, a path instead of a program, a secret.
const NEVER_SAFE: &[&str] = &["$p -l", "ls > out", "cat a >> b", "./ls", "/opt/x/cat a", "cat $AWS_SECRET_ACCESS_KEY"];

/// A program no floor in the fuzz corpus is expected to list: unsafe unless it is listed.
const UNLISTED: &str = "gate-fuzz-unlisted";

/// Words tried after every program a fuzzed floor lists, to walk its flag tables.
const ARGS: &[&str] = &["", "-a", "-la x", "--color=auto -- -x", "-n5 --max=3 a b", "sub -x y", "-- ."];

/// Floor text: a typed error with a message (and the line and column it points at, inside
/// the text), or a floor that checks any command without a panic and never passes what no
/// floor may pass.
pub fn check_floor(text: &str) {
    match Floor::from_toml(text) {
        Err(e) => {
            assert!(!e.message.is_empty(), "an error without a message");
            if let Some((line, col)) = e.at {
                let lines = text.split('\n').count();
                assert!((1..=lines).contains(&line) && col >= 1, "{e}: outside the text ({lines} lines)");
            }
        }
        Ok(floor) => {
            let gate_dirs = macros().gate_dirs;
            let env = Env {
                cwd: CWD,
                extra_cwds: Vec::new(),
                stdin_names_from: None,
                home: Some(HOME),
                gate_dirs: &gate_dirs,
                probe: &NoProbe,
                ignore_secrets: false,
            };
            for line in NEVER_SAFE {
                for c in &gate::shell::analyze(line).commands {
                    assert!(!floor.check(c, &env).is_safe(), "{line:?} passed the floor {text:?}");
                }
            }
            if !floor.program.contains_key(UNLISTED) {
                for c in &gate::shell::analyze(&format!("{UNLISTED} -x")).commands {
                    assert!(!floor.check(c, &env).is_safe(), "an unlisted program passed the floor {text:?}");
                }
            }
            // Walk the flag tables of what it lists: any answer, but no panic.
            for (name, _) in floor.program.iter().take(16) {
                for args in ARGS {
                    for c in &gate::shell::analyze(&format!("{name} {args}")).commands {
                        std::hint::black_box(floor.check(c, &env));
                    }
                }
            }
        }
    }
}
