//! `cargo bench`: the hot-path costs, measured with plain timing loops (no
//! bench framework): shell analysis per command, the floor decision, and
//! loading + compiling a 1,000-rule policy then evaluating one call.

use std::hint::black_box;
use std::time::{Duration, Instant};

use gate::floor::NoProbe;
use gate::policy::load::{self, Macros};
use gate::policy::rule::Layer;
use gate::policy::{self, PolicySet};

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
}
