//! The policy loader: any text as a user or project policy file loads, or fails with
//! errors at a `file:line:col` inside it; see `gate_fuzz::check_policy`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gate_fuzz::check_policy(&String::from_utf8_lossy(data));
});
