//! gate: an approval gate for AI coding agents. The library holds every
//! module so that tests, benchmarks and fuzz targets reach the same code the
//! binary runs; `main.rs` only dispatches.
//!
//! Pure cores (`shell`, `policy`, `floor`, `ocsf`, `review`) do no I/O; `engine` loads the
//! policy layers and decides. The edges (`hook`,
//! `store`, `cmd`, `config`, `probe`, `gitcfg`) read stdin, files and the
//! database.

pub mod action;
pub mod broker;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod codec;
pub mod config;
pub mod engine;
pub mod floor;
pub mod gitcfg;
pub mod hook;
pub mod identity;
pub mod ocsf;
pub mod paths;
pub mod policy;
pub mod probe;
pub mod redact;
pub mod review;
pub mod shell;
pub mod store;
pub mod team;
pub mod term;
pub mod trust;
