//! Fuzz the shell analysis and the floor: any input must be analysed
//! without a panic, within the work bound, and a command line the analysis
//! does not fully understand must never be auto-approved.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let analysis = gate::shell::analyze(src);
    let probe = gate::floor::NoProbe;
    let set = gate::policy::PolicySet::default();
    let ctx = gate::policy::Context { home: Some("/home/u".into()), gate_dirs: vec!["/home/u/.local/share/gate".into()], probe: &probe, policy: &set, edits: None };
    let action = gate::engine::shell_action(src, "/home/u/project");
    let verdict = gate::policy::evaluate(&action, &ctx);
    if !analysis.is_fully_understood() {
        assert_ne!(verdict.decision, gate::policy::Decision::Allow, "opaque input allowed: {src:?}");
    }
});
