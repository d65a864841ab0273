//! Link the `gate` binary as a position-dependent executable on x86-64
//! Linux: the loader then has no relocations to apply at start-up (a PIE
//! build carries about 19,000), and the hook starts on every tool call.
//! Measured in docs/perf.md.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && arch == "x86_64" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
