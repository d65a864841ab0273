//! The shell analysis and the floor: any command line is analysed without a panic and
//! decided with a reason in bash and in zsh, and one the analysis does not fully understand
//! is never auto-approved.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gate_fuzz::check_command_line(&String::from_utf8_lossy(data));
});
