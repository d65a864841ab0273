//! gate's integration tests: one binary, run against the built `gate`.

mod util;

pub mod ask;
mod cli;
mod e2e_claude;
mod floor;
mod hook;
mod install;
mod log_export;
mod modes;
mod paths;
mod policy;
mod receipt;
