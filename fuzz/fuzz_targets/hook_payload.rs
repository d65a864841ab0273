//! Fuzz the hook payload adapters: any bytes give an event or a typed
//! error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gate::hook::parse(data, None);
    for adapter in gate::hook::ADAPTERS {
        let _ = gate::hook::parse(data, Some(adapter.agent()));
    }
});
