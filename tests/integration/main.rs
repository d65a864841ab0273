//! gate's integration tests: one binary, run against the built `gate`.

mod util;

mod adapters;
mod adversarial;
pub mod ask;
mod chain;
mod cli;
mod cli_output;
mod digest;
mod e2e;
mod e2e_claude;
mod e2e_codex;
mod e2e_copilot;
mod e2e_gemini;
mod e2e_hermes;
mod fault_paths;
mod faults;
mod floor;
mod floor_arity;
mod git_reads;
mod hook;
mod install;
mod log_export;
mod modes;
mod ocsf;
mod paths;
mod policy;
mod prune;
mod receipt;
mod replay;
mod scale;
mod seal;
mod secrets;
mod self_protect;
mod serve;
mod time_bound;
mod trust;
