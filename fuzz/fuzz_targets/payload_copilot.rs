//! Copilot CLI's hook payloads, through its adapter alone (as `gate hook --agent copilot`), so its
//! parser gets all the coverage: see `gate_fuzz::check_payload`.
#![no_main]

use gate::action::Agent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gate_fuzz::check_payload(Some(Agent::CopilotCli), data);
});
