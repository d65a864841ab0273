//! `cargo run --release --example fill_store -- <GATE_HOME> [rows] [seed]`:
//! write a synthetic receipt of `rows` rows (default 1,000,000) into
//! `<GATE_HOME>/gate.db` through gate's own writer, then sign a checkpoint of
//! it as `gate export` would, so `gate verify` checks the chain and the
//! checkpoint. For `bench/scale.sh`; it refuses a home that already holds a
//! receipt. Prints what it wrote and how fast, as `key=value` lines.

mod synth;

use std::path::PathBuf;
use std::time::Instant;

use gate::paths::Paths;
use gate::store::{seal, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let home = PathBuf::from(args.next().ok_or("usage: fill_store <GATE_HOME> [rows] [seed]")?);
    let rows: u64 = args.next().map(|s| s.replace('_', "").parse()).transpose()?.unwrap_or(1_000_000);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let paths = Paths { data_dir: home.clone(), config_dir: home };
    if paths.db().exists() {
        return Err(format!("{} already exists; give an empty directory", paths.db().display()).into());
    }
    paths.ensure_dirs()?;
    let mut store = Store::open(&paths.db())?;
    let opts = synth::Options { rows, seed, end_ms: gate::clock::now_ms(), span_days: 180, batch_rows: 50_000 };
    let t = Instant::now();
    let stats = synth::fill(&mut store, &opts)?;
    let filled = t.elapsed();
    let t = Instant::now();
    let cp = seal::checkpoint(&paths, &store)?;
    let sealed = t.elapsed();
    drop(store);
    let bytes = std::fs::metadata(paths.db())?.len();
    println!("rows={}", stats.rows);
    println!("sessions={}", stats.sessions);
    println!("calls={}", stats.calls);
    println!("last_session={}", stats.last_session);
    println!("fill_seconds={:.2}", filled.as_secs_f64());
    println!("rows_per_second={:.0}", stats.rows as f64 / filled.as_secs_f64());
    println!("checkpoint_seconds={:.2}", sealed.as_secs_f64());
    println!("checkpoint_rows={}", cp.map_or(0, |c| c.size));
    println!("db_bytes={bytes}");
    Ok(())
}
