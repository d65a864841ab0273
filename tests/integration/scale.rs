//! The scale generator (`examples/fill_store`, which `bench/scale.sh` runs
//! at a million rows) writes a real receipt: `gate verify` passes on it,
//! chain and signed checkpoint alike, and `gate log` lists its newest
//! sessions and tells the last one, the reads the benchmark times.

#[path = "../../examples/fill_store/synth.rs"]
mod synth;

use serde_json::Value;

use crate::util::{stdout, TestEnv};

#[test]
fn a_generated_store_verifies_and_reads_as_sessions() {
    let env = TestEnv::new();
    let paths = gate::paths::Paths { data_dir: env.gate_home(), config_dir: env.gate_home() };
    let mut store = gate::store::Store::open(&paths.db()).unwrap();
    let opts = synth::Options { rows: 3000, seed: 7, end_ms: gate::clock::now_ms(), span_days: 30, batch_rows: 1000 };
    let stats = synth::fill(&mut store, &opts).unwrap();
    assert!(stats.rows >= 3000 && stats.sessions >= 20 && stats.calls >= 1000, "{stats:?}");
    gate::store::seal::checkpoint(&paths, &store).unwrap();
    drop(store);

    let out = env.run(&["verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).starts_with(&format!("ok: {} rows", stats.rows)), "{}", stdout(&out));
    assert!(stdout(&out).contains("matches 1 signed checkpoint"), "{}", stdout(&out));

    // Realistic: many agents, every way of deciding, secrets masked.
    let agents: i64 = env.sqlite3("SELECT COUNT(DISTINCT agent) FROM receipts").trim().parse().unwrap();
    assert!(agents >= 5, "{agents} agents");
    let sources = env.sqlite3("SELECT DISTINCT source FROM receipts WHERE kind = 'decision' ORDER BY 1");
    for s in ["agent", "floor", "mode", "rule", "timeout", "watch"] {
        assert!(sources.lines().any(|l| l == s), "no {s} decisions: {sources}");
    }
    let masked = env.sqlite3("SELECT COUNT(*) FROM receipts WHERE redacted IS NOT NULL AND args LIKE '%[REDACTED:%'");
    assert!(masked.trim().parse::<i64>().unwrap() > 0);

    // The listing: newest session first, its calls counted over its rows.
    let out = env.run(&["log", "--json", "--all", "--limit", "3"]);
    let listed: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[0]["session_id"], stats.last_session.as_str());
    let decisions = env.sqlite3(&format!(
        "SELECT COUNT(*) FROM receipts WHERE kind = 'decision' AND session_id = '{}'",
        stats.last_session
    ));
    assert_eq!(listed[0]["calls"].as_i64(), decisions.trim().parse().ok());

    let out = env.run(&["log", &stats.last_session[..8]]);
    assert!(out.status.success());
    assert!(stdout(&out).starts_with(&format!("session {}", stats.last_session)), "{}", stdout(&out));
}
