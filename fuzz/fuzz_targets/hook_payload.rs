//! Any hook payload, with the agent recognised from its shape as `gate hook` does without
//! `--agent`: see `gate_fuzz::check_payload`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gate_fuzz::check_payload(None, data);
});
