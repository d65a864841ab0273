//! `gate key`: print the public half of the key that signs checkpoints,
//! creating the key on first use. The text form is one line,
//! `ed25519:<hex>`, so it can be passed straight to `--key`.

use std::process::ExitCode;

use anyhow::Context;

use crate::paths::Paths;
use crate::trust::keys;

pub fn run(json: bool) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let path = paths.signing_key();
    paths.ensure_dirs().with_context(|| format!("creating {}", paths.config_dir.display()))?;
    let key = keys::load_or_create(&path)?.public_key();
    if json {
        let report = serde_json::json!({
            "key": key.to_text(),
            "key_id": key.key_id(),
            "path": path.to_string_lossy(),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{key}");
    }
    Ok(ExitCode::SUCCESS)
}
