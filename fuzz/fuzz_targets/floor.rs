//! The floor loader: any text as `floor.toml` loads into a floor that never passes what no
//! floor may pass, or fails with a located error; see `gate_fuzz::check_floor`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gate_fuzz::check_floor(&String::from_utf8_lossy(data));
});
