//! `cargo bench`: the hot-path costs, measured with plain timing loops (no
//! bench framework): shell analysis per command, the floor decision, and
//! loading + compiling a 1,000-rule policy then evaluating one call.

use std::hint::black_box;
use std::time::{Duration, Instant};

use gate::floor::NoProbe;
use gate::policy::load::{self, Macros};
use gate::policy::rule::Layer;
use gate::policy::{self, PolicySet};

/// The adversarial command lines of the time-bound test, and the hook's work on one.
#[path = "../tests/integration/adversarial.rs"]
mod adversarial;

/// Run `f` repeatedly for about `budget`; report the median of 15 batches.
fn bench<F: FnMut()>(name: &str, budget: Duration, mut f: F) -> Duration {
    // Calibrate a batch size of about budget/15.
    let mut n = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        if t.elapsed() >= budget / 15 || n >= 1 << 24 {
            break;
        }
        n *= 2;
    }
    let mut samples: Vec<Duration> = (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed() / n as u32
        })
        .collect();
    samples.sort();
    let median = samples[7];
    println!(
        "{name:<58} {:>10.2} µs   (p10 {:.2}, p90 {:.2})",
        median.as_secs_f64() * 1e6,
        samples[1].as_secs_f64() * 1e6,
        samples[13].as_secs_f64() * 1e6
    );
    median
}

fn thousand_rules() -> String {
    let mut s = String::new();
    for i in 0..1000 {
        let body = match i % 5 {
            0 => format!("command = [\"tool{i} run\", \"tool{i} exec\"]"),
            1 => format!("command = \"make target{i}\"\nargs = [[\"--force\", \"-f\"]]"),
            2 => format!("tool = [\"write\", \"edit\"]\npath = \"**/generated{i}/**\""),
            3 => format!("tool = \"fetch\"\ndomain = \"*.host{i}.example.com\""),
            _ => format!("command_regex = \"^deploy{i} (prod|staging)\""),
        };
        let decision = ["allow", "ask", "deny"][i % 3];
        s.push_str(&format!("[[rule]]\nid = \"r{i}\"\ndecision = \"{decision}\"\nmessage = \"rule {i}\"\n{body}\n\n"));
    }
    s
}

fn main() {
    let budget = Duration::from_millis(if std::env::var_os("GATE_BENCH_QUICK").is_some() { 200 } else { 1500 });
    println!("gate benchmarks (release; median per call)");
    let commands = [
        "ls -la",
        "git status && git diff --stat",
        "cat src/main.rs | grep -n fn | sort | uniq -c | sort -rn | head -20",
        "find . -name '*.rs' -type f -not -path './target/*' | xargs wc -l",
        "for f in src/*.rs; do echo \"$f\"; done; echo $(git rev-parse HEAD) > /dev/null",
    ];
    for c in commands {
        bench(&format!("shell::analyze {:?}", &c[..c.len().min(30)]), budget, || {
            black_box(gate::shell::analyze(black_box(c)));
        });
    }
    let big: String = (0..3000).map(|i| format!("echo {i} | grep {i}; ")).collect::<String>();
    let big = &big[..big.len().min(64 * 1024)];
    bench(&format!("shell::analyze 64 KiB input ({} bytes)", big.len()), budget, || {
        black_box(gate::shell::analyze(black_box(big)));
    });

    let macros = Macros {
        home: Some("/home/u".into()),
        gate_dirs: vec!["/home/u/.local/share/gate".into()],
        gate_bins: vec!["/home/u/.cargo/bin/gate".into()],
        ..Default::default()
    };
    let default =
        load::parse(gate::config::DEFAULT_POLICY, "default.toml", Layer::Default, &macros).expect("default policy");
    let set = PolicySet { rules: default.rules.clone(), broken: vec![] };
    let probe = NoProbe;
    let ctx = policy::Context {
        home: Some("/home/u".into()),
        gate_dirs: macros.gate_dirs.clone(),
        gate_bins: macros.gate_bins.clone(),
        probe: &probe,
        policy: &set,
        edits: None,
    };
    for c in commands {
        let action = gate::engine::shell_action(c, "/home/u/project");
        bench(&format!("policy::evaluate (default policy + floor) {:?}", &c[..c.len().min(20)]), budget, || {
            black_box(policy::evaluate(black_box(&action), &ctx));
        });
    }

    let text = thousand_rules();
    let action = gate::engine::shell_action("make target501 --force && git status", "/home/u/project");
    bench("parse 1,000 rules from TOML (no cache), then evaluate one call", budget, || {
        let file = load::parse(black_box(&text), "user.toml", Layer::User, &macros).expect("1000 rules");
        let mut rules = default.rules.clone();
        rules.extend(file.rules);
        let set = PolicySet { rules, broken: vec![] };
        let ctx = policy::Context {
            home: Some("/home/u".into()),
            gate_dirs: macros.gate_dirs.clone(),
            gate_bins: macros.gate_bins.clone(),
            probe: &probe,
            policy: &set,
            edits: None,
        };
        black_box(policy::evaluate(&action, &ctx));
    });
    // What the hook does: the compiled file comes from the cache, keyed by
    // the file's identity.
    let dir = std::env::temp_dir().join(format!("gate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let paths = gate::paths::Paths { data_dir: dir.clone(), config_dir: dir.clone() };
    let file_path = dir.join("policy.toml");
    std::fs::write(&file_path, &text).expect("write policy");
    let _ = gate::cache::policy_file(&paths, &file_path, Layer::User, &macros);
    let t = bench("load 1,000 compiled rules (cache) + default, evaluate one call", budget, || {
        let file = gate::cache::policy_file(&paths, &file_path, Layer::User, &macros).expect("exists").expect("valid");
        let mut rules =
            gate::cache::policy_text(&paths, gate::config::DEFAULT_POLICY, "default", Layer::Default, &macros)
                .expect("default")
                .rules;
        rules.extend(file.rules);
        let set = PolicySet { rules, broken: vec![] };
        let ctx = policy::Context {
            home: Some("/home/u".into()),
            gate_dirs: macros.gate_dirs.clone(),
            gate_bins: macros.gate_bins.clone(),
            probe: &probe,
            policy: &set,
            edits: None,
        };
        black_box(policy::evaluate(&action, &ctx));
    });
    println!("target (issue 4): under 1 ms: {}", if t < Duration::from_millis(1) { "met" } else { "NOT MET" });
    bench("load the floor from its cache", budget, || {
        black_box(gate::cache::floor(&paths));
    });
    let _ = std::fs::remove_dir_all(&dir);
    let file = load::parse(&text, "user.toml", Layer::User, &macros).expect("1000 rules");
    let mut rules = default.rules.clone();
    rules.extend(file.rules);
    let set = PolicySet { rules, broken: vec![] };
    let ctx = policy::Context {
        home: Some("/home/u".into()),
        gate_dirs: macros.gate_dirs.clone(),
        gate_bins: macros.gate_bins.clone(),
        probe: &probe,
        policy: &set,
        edits: None,
    };
    bench("evaluate one call against 1,000 compiled rules", budget, || {
        black_box(policy::evaluate(&action, &ctx));
    });
    bench("parse the embedded floor.toml", budget, || {
        black_box(toml::from_str::<toml::Value>(gate::floor::FLOOR_TOML).ok());
    });

    // Redaction of 64 KiB: a long shell script, and a file's content, each
    // with ordinary lines and a secret every 2 KiB (issue 9: under 1 ms each).
    let (script, data) = redaction_inputs();
    let mut worst = Duration::ZERO;
    for (name, text, shell) in [("shell", &script, true), ("data", &data, false)] {
        let t = bench(&format!("redact::mask 64 KiB ({name} mode, {} bytes)", text.len()), budget, || {
            if shell {
                black_box(gate::redact::mask(black_box(text)));
            } else {
                black_box(gate::redact::mask_data(black_box(text)));
            }
        });
        worst = worst.max(t);
    }
    println!(
        "target (issue 9): redaction of 64 KiB under 1 ms: {}",
        if worst < Duration::from_millis(1) { "met" } else { "NOT MET" }
    );
    // The receipt's part of a hook call: open the store (schema, WAL read),
    // append one chained row, close. A real SQLite file; WAL truncated as
    // the hook's checkpoint does it.
    let store_dir = std::env::temp_dir().join(format!("gate-bench-store-{}", std::process::id()));
    std::fs::create_dir_all(&store_dir).expect("bench dir");
    let db = store_dir.join("gate.db");
    let action = gate::engine::shell_action("git status", "/home/u/project");
    for (name, sync) in [("synchronous=NORMAL, the default", false), ("+ fdatasync of the WAL (GATE_DURABILITY=full)", true)] {
        bench(&format!("store: open, append one row, close ({name})"), budget, || {
            let mut store = gate::store::Store::open(&db).expect("store");
            let mut rec = gate::store::Receipt::decision(&action, gate::store::Verdict::AutoApproved, gate::store::Source::Floor, None);
            store.append(&mut rec).expect("append");
            if sync {
                store.sync().expect("sync");
            }
        });
    }
    let _ = std::fs::remove_dir_all(&store_dir);
    transcript_scan(budget);
    hook_time_bound();
}

/// While a call waits in the agent's own dialog, each call of its session
/// looks through the transcript's last 8 MiB for the human's rejection of
/// it (`broker::reconcile_rejections`, in the resident's turn at the store).
/// The worst case: the rejection is not there (the call was interrupted,
/// or is still waiting), so nothing is appended and every call looks again.
fn transcript_scan(budget: Duration) {
    let dir = std::env::temp_dir().join(format!("gate-bench-transcript-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 8 << 20 {
        let line = if i % 2 == 0 {
            serde_json::json!({"type": "assistant", "message": {"role": "assistant", "content": [
                {"type": "text", "text": "Let me look at the tests next. ".repeat(8)},
                {"type": "tool_use", "id": format!("toolu_{i:020}"), "name": "Bash", "input": {"command": "cargo test --lib"}}]}})
        } else {
            serde_json::json!({"type": "user", "message": {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": format!("toolu_{:020}", i - 1), "is_error": false, "content": "test result: ok. ".repeat(20)}]}})
        };
        text.push_str(&line.to_string());
        text.push('\n');
        i += 1;
    }
    let transcript = dir.join("session.jsonl");
    std::fs::write(&transcript, &text).expect("transcript");
    let mut store = gate::store::Store::open(&dir.join("gate.db")).expect("store");
    let mut action = gate::engine::shell_action("make deploy", "/home/u/project");
    action.tool_use_id = Some("toolu_01ABCDEFGHJKMNPQRSTVWXYZ".into());
    let mut asked = gate::store::Receipt::decision(&action, gate::store::Verdict::Asked, gate::store::Source::Agent, None);
    store.append(&mut asked).expect("append");
    let claude = gate::hook::adapter(gate::action::Agent::ClaudeCode).expect("claude");
    let path = transcript.to_str().expect("utf-8 path");
    bench(&format!("transcript: one open ask, its rejection not in the last {} MiB", text.len() >> 20), budget, || {
        gate::broker::reconcile_rejections(claude, &mut store, &action.session_id, Some(black_box(path))).expect("reconcile");
    });
    assert_eq!(store.unresolved_asks(&action.session_id).expect("asks").len(), 1, "the ask is still open");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The hook's work on each adversarial 64 KiB command line (the time-bound test's table),
/// in bash and in zsh: the fastest of five runs each, and the slowest of those.
fn hook_time_bound() {
    let dir = std::env::temp_dir().join(format!("gate-bench-bound-{}", std::process::id()));
    let paths = gate::paths::Paths { data_dir: dir.join("data"), config_dir: dir.join("config") };
    let cwd = dir.join("project");
    std::fs::create_dir_all(&cwd).expect("bench dir");
    let cwd = cwd.to_string_lossy().into_owned();
    adversarial::hook_work(&paths, &cwd, "ls", &gate::action::Shell::Bash);
    let mut rows: Vec<(Duration, String)> = Vec::new();
    for (name, command) in adversarial::inputs() {
        for shell in [gate::action::Shell::Bash, gate::action::Shell::Zsh] {
            let best = (0..5).map(|_| adversarial::hook_work(&paths, &cwd, &command, &shell).0).min();
            rows.push((best.unwrap_or_default(), format!("{name} ({})", shell.as_str())));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    rows.sort();
    for (t, name) in rows.iter().rev().take(5) {
        println!("{:<58} {:>10.2} µs", format!("hook work, 64 KiB: {name}"), t.as_secs_f64() * 1e6);
    }
    let worst = rows.last().map(|r| r.0).unwrap_or_default();
    println!(
        "target (issue 10): the hook's work on any 64 KiB command line under 100 ms: {}",
        if worst < Duration::from_millis(100) { "met" } else { "NOT MET" }
    );
}

/// 64 KiB of shell script and 64 KiB of file content, each with ordinary
/// lines and a few fake secrets (built here, so no secret-looking literal
/// is in the source).
fn redaction_inputs() -> (String, String) {
    let fake = |p: &str, n: usize| format!("{p}{}", "Zq7xK2mP9wR4tY6u".repeat(n / 16 + 1).get(..n).unwrap_or(""));
    let shell_lines = [
        "git status && git diff --stat".to_string(),
        "cargo build --release 2>&1 | tail -20".to_string(),
        "find . -name '*.rs' -not -path './target/*' | xargs grep -n 'fn main'".to_string(),
        "for f in src/*.rs; do echo \"$f\"; wc -l \"$f\"; done".to_string(),
        "curl -s https://api.example.com/v1/items?page=2 | jq '.items[] | .name'".to_string(),
        "export PATH=\"$HOME/.cargo/bin:$PATH\"".to_string(),
        "docker run --rm -p 8080:80 -v \"$PWD\":/src nginx:latest".to_string(),
        format!("mysql -u root -p{} appdb -e 'select 1'", fake("Pw", 14)),
        format!("curl -H 'Authorization: Bearer {}' https://api.example.com", fake("", 32)),
        format!("GITHUB_TOKEN={} gh pr list", fake(&["gh", "p_"].concat(), 36)),
        "python3 -m pytest -q tests/ -k 'not slow'".to_string(),
        "sshpass -p \"$PW\" ssh deploy@host 'sudo systemctl restart app'".to_string(),
    ];
    let data_lines = [
        "fn main() {".to_string(),
        "    let config = Config::load(&path).expect(\"config\");".to_string(),
        "    for (i, item) in items.iter().enumerate() {".to_string(),
        "        println!(\"{i}: {}\", item.name);".to_string(),
        "    }".to_string(),
        "}".to_string(),
        "# Settings for the local environment".to_string(),
        "NODE_ENV=development".to_string(),
        format!("STRIPE_KEY={}", fake(&["sk", "_live_"].concat(), 24)),
        format!("DATABASE_URL=postgres://app:{}@db:5432/app", fake("", 16)),
        "// See https://example.com/docs/keys for the key rotation policy.".to_string(),
        "const MAX_TOKENS: usize = 4096; // the model's limit".to_string(),
    ];
    // Ordinary lines, with one line holding a secret every 2 KiB or so
    // (32 secrets in 64 KiB: more than a real script or file holds).
    let fill = |lines: &[String], secret_lines: &[String]| {
        let mut s = String::new();
        let (mut i, mut j) = (0, 0);
        loop {
            let l = if s.len() / 2048 > j { &secret_lines[j % secret_lines.len()] } else { &lines[i % lines.len()] };
            if s.len() / 2048 > j {
                j += 1;
            } else {
                i += 1;
            }
            if s.len() + l.len() + 1 > 64 * 1024 {
                break;
            }
            s.push_str(l);
            s.push('\n');
        }
        s
    };
    let is_secret = |l: &&String| l.contains("Zq7x");
    let split = |lines: &[String]| -> (Vec<String>, Vec<String>) {
        (lines.iter().filter(|l| !is_secret(l)).cloned().collect(), lines.iter().filter(is_secret).cloned().collect())
    };
    let (shell_plain, shell_secret) = split(&shell_lines);
    let (data_plain, data_secret) = split(&data_lines);
    (fill(&shell_plain, &shell_secret), fill(&data_plain, &data_secret))
}
