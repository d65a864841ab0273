//! Where gate keeps its files. `GATE_HOME` moves every file gate reads or
//! writes (receipt database, settings, user policy, trust list) under one
//! directory; without it gate uses the platform data and config directories
//! from `directories`. Nothing here creates files: callers that write call
//! [`Paths::ensure_dirs`] first, so read-only commands never touch the disk.

use std::path::{Path, PathBuf};

/// The resolved locations of gate's own files.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Directory holding the receipt database.
    pub data_dir: PathBuf,
    /// Directory holding `policy.toml`, `settings.toml`, `trust.toml`, the
    /// signing key and the checkpoint files.
    pub config_dir: PathBuf,
}

impl Paths {
    /// Resolve from the environment: `GATE_HOME`, else the platform dirs.
    pub fn from_env() -> Result<Paths, PathsError> {
        match std::env::var_os("GATE_HOME") {
            Some(home) if !home.is_empty() => {
                let home = absolute(Path::new(&home));
                Ok(Paths { data_dir: home.clone(), config_dir: home })
            }
            _ => {
                // The platform dirs hang off HOME: without a usable one, gate would keep its
                // receipt somewhere the user does not look (or fail to), so it refuses.
                match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
                    None => return Err(PathsError::NoHome),
                    Some(h) if !Path::new(&h).is_absolute() || !Path::new(&h).is_dir() => {
                        return Err(PathsError::HomeUnusable(PathBuf::from(h)))
                    }
                    Some(_) => {}
                }
                let dirs = directories::ProjectDirs::from("", "", "gate").ok_or(PathsError::NoHome)?;
                Ok(Paths { data_dir: dirs.data_dir().to_path_buf(), config_dir: dirs.config_dir().to_path_buf() })
            }
        }
    }

    pub fn db(&self) -> PathBuf {
        self.data_dir.join("gate.db")
    }
    pub fn user_policy(&self) -> PathBuf {
        self.config_dir.join("policy.toml")
    }
    pub fn settings(&self) -> PathBuf {
        self.config_dir.join("settings.toml")
    }
    pub fn trust(&self) -> PathBuf {
        self.config_dir.join("trust.toml")
    }
    /// The Ed25519 key that signs checkpoints (mode 0600).
    pub fn signing_key(&self) -> PathBuf {
        self.config_dir.join("signing.key")
    }
    /// Signed checkpoints of the receipt, kept apart from the database so
    /// a replaced or shortened receipt is caught.
    pub fn checkpoints(&self) -> PathBuf {
        self.config_dir.join("checkpoints.jsonl")
    }
    /// The checkpoints `gate verify --bundle` has already seen.
    pub fn seen_checkpoints(&self) -> PathBuf {
        self.config_dir.join("seen-checkpoints.jsonl")
    }

    /// Every path that belongs to gate itself. The agent must never write
    /// these, and shell commands that name them are refused.
    pub fn own_files(&self) -> Vec<PathBuf> {
        let mut v = vec![self.data_dir.clone(), self.config_dir.clone()];
        v.dedup();
        v
    }

    /// Create the data and config directories with mode 0700.
    pub fn ensure_dirs(&self) -> std::io::Result<()> {
        for dir in [&self.data_dir, &self.config_dir] {
            create_private_dir(dir)?;
        }
        Ok(())
    }
}

/// Create `dir` and its missing parents with mode 0700.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

pub fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error("HOME is not set, so gate cannot find where to keep its receipt; set HOME to your home directory, or GATE_HOME=<dir> for gate's files")]
    NoHome,
    #[error("HOME is {}, which is not an existing directory; set HOME to your home directory, or GATE_HOME=<dir> for gate's files", .0.display())]
    HomeUnusable(PathBuf),
}
