//! The Ed25519 key that signs checkpoints. It is created on first use and
//! kept in one file, mode 0600, holding the single line
//! `gate.signing-key.v1 ed25519 <64 hex digits of the seed>`. The file is
//! refused, never repaired, when it is readable or writable by group or
//! others, owned by another user, a symlink, or malformed. Two processes
//! creating it at once end with one key: each writes a private temp file and
//! hard-links it into place, and the loser reads the winner's key.
//!
//! A public key's text form is `ed25519:<64 hex digits>`; its key id is the
//! first 16 hex digits of SHA-256 of the 32 public key bytes.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::Signer;
use sha2::{Digest, Sha256};

use super::{from_hex, to_hex};

/// The first word of a key file; a later format gets a new one.
const KEY_FILE_TAG: &str = "gate.signing-key.v1";
/// The prefix of a public key's text form.
const PUBLIC_KEY_PREFIX: &str = "ed25519:";

/// The private signing key. Its seed is wiped from memory when dropped.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public_key())
    }
}

impl SigningKey {
    /// A key from a 32-byte seed (tests and the key file use this).
    pub fn from_seed(seed: &[u8; 32]) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// A fresh key seeded from the operating system's random source.
    pub fn generate() -> Result<SigningKey, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        let key = SigningKey::from_seed(&seed);
        seed.fill(0);
        Ok(key)
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The 64-byte Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// The key file's one line, newline included.
    fn file_text(&self) -> String {
        format!("{KEY_FILE_TAG} ed25519 {}\n", to_hex(self.0.as_bytes()))
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// Parse the text form `ed25519:<64 lowercase hex digits>`.
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        let bad =
            |reason: &str| KeyError::BadPublicKey { text: text.chars().take(80).collect(), reason: reason.into() };
        let hex = text.strip_prefix(PUBLIC_KEY_PREFIX).ok_or_else(|| bad("it does not start with \"ed25519:\""))?;
        let bytes = from_hex::<32>(hex).ok_or_else(|| bad("expected 64 lowercase hex digits after \"ed25519:\""))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| bad("it is not a point on the curve"))?;
        if key.is_weak() {
            return Err(bad("it is a weak (small-order) key"));
        }
        Ok(PublicKey(key))
    }

    /// The text form, `ed25519:<hex>`.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_KEY_PREFIX}{}", to_hex(self.0.as_bytes()))
    }

    /// A short name for the key: 16 hex digits of SHA-256 of its bytes.
    pub fn key_id(&self) -> String {
        to_hex(&Sha256::digest(self.0.as_bytes())[..8])
    }

    /// Whether `signature` is this key's signature of `message`. Uses
    /// strict verification, so a signature has exactly one valid encoding.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify_strict(message, &signature).is_ok()
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.to_text())
    }
}

/// Parse a public key's text form; the same as [`PublicKey::parse`].
pub fn parse_public_key(text: &str) -> Result<PublicKey, KeyError> {
    PublicKey::parse(text.trim())
}

/// Load the signing key at `path`, creating it (and nothing else: the
/// directory must exist) when there is none.
pub fn load_or_create(path: &Path) -> Result<SigningKey, KeyError> {
    match load(path) {
        Err(KeyError::Missing { .. }) => {}
        other => return other,
    }
    let key = SigningKey::generate()?;
    match install_new(path, &key) {
        Ok(()) => Ok(key),
        // Another process created it first: theirs is the key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load(path),
        Err(source) => Err(KeyError::Io { path: path.to_path_buf(), source }),
    }
}

/// Load the signing key at `path`; [`KeyError::Missing`] when there is none.
pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
    let io = |source| KeyError::Io { path: path.to_path_buf(), source };
    let mut file = match OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(KeyError::Missing { path: path.to_path_buf() })
        }
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(KeyError::NotAFile { path: path.to_path_buf(), what: "a symlink" })
        }
        Err(e) => return Err(io(e)),
    };
    check_private(&file, path)?;
    let mut text = String::new();
    // A key file is one short line; reading a little more than that is
    // enough to refuse a longer one.
    (&mut file).take(256).read_to_string(&mut text).map_err(|e| {
        if e.kind() == std::io::ErrorKind::InvalidData {
            KeyError::Malformed { path: path.to_path_buf() }
        } else {
            io(e)
        }
    })?;
    parse_key_file(&text).ok_or_else(|| KeyError::Malformed { path: path.to_path_buf() })
}

fn parse_key_file(text: &str) -> Option<SigningKey> {
    let line = text.strip_suffix('\n')?;
    let mut words = line.split(' ');
    let (tag, algorithm, seed, rest) = (words.next()?, words.next()?, words.next()?, words.next());
    if tag != KEY_FILE_TAG || algorithm != "ed25519" || rest.is_some() {
        return None;
    }
    let mut seed = from_hex::<32>(seed)?;
    let key = SigningKey::from_seed(&seed);
    seed.fill(0);
    Some(key)
}

/// Refuse a key file that others could read or change.
fn check_private(file: &File, path: &Path) -> Result<(), KeyError> {
    let meta = file.metadata().map_err(|source| KeyError::Io { path: path.to_path_buf(), source })?;
    if !meta.file_type().is_file() {
        return Err(KeyError::NotAFile { path: path.to_path_buf(), what: "not a regular file" });
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(KeyError::NotOwned { path: path.to_path_buf(), owner: meta.uid() });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Exposed { path: path.to_path_buf(), mode });
    }
    Ok(())
}

/// Write `key` to a private temp file beside `path`, then hard-link it into
/// place, which fails with `AlreadyExists` when `path` exists. The key file
/// therefore appears whole or not at all, and never replaces another.
fn install_new(path: &Path, key: &SigningKey) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), nonce()));
    let written = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        file.write_all(key.file_text().as_bytes())?;
        file.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    written?;
    // Make the new name durable before anything is signed with the key.
    File::open(dir)?.sync_all()
}

/// A random suffix for temp file names; a clock fallback is enough since
/// `create_new` refuses a collision anyway.
fn nonce() -> String {
    getrandom::u64()
        .unwrap_or_else(|_| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
        })
        .to_string()
}

/// Why a key could not be loaded, created or parsed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no signing key at {}; `gate key` creates one", path.display())]
    Missing { path: PathBuf },
    #[error(
        "signing key {} is open to group or others (mode {mode:03o}); if nobody else could have read it, run `chmod 600 {}`, otherwise move it away and run `gate key` for a new one",
        path.display(),
        path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("signing key {} belongs to user id {owner}, not to you; move it away and run `gate key` for a new one", path.display())]
    NotOwned { path: PathBuf, owner: u32 },
    #[error("signing key {} is {what}; replace it with the key file itself", path.display())]
    NotAFile { path: PathBuf, what: &'static str },
    #[error(
        "signing key {} is malformed (expected one line \"{KEY_FILE_TAG} ed25519 <64 hex digits>\"); restore it from a backup, or move it away and run `gate key` for a new one",
        path.display()
    )]
    Malformed { path: PathBuf },
    #[error("signing key {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot seed a signing key from the operating system's random source: {0}")]
    Random(String),
    #[error("public key {text:?} is not valid: {reason}; a gate public key looks like ed25519:<64 hex digits> (`gate key` prints it)")]
    BadPublicKey { text: String, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn first_use_creates_a_private_key_and_later_uses_load_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let first = load_or_create(&path).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        let again = load_or_create(&path).unwrap();
        assert_eq!(first.public_key(), again.public_key());
        assert_eq!(load(&path).unwrap().public_key(), first.public_key());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("signing.key")], "no temp files are left behind");
    }

    #[test]
    fn racing_creators_end_with_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let keys: Vec<PublicKey> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8).map(|_| s.spawn(|| load_or_create(&path).unwrap().public_key())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.windows(2).all(|w| w[0] == w[1]), "every creator got the same key");
        assert_eq!(load(&path).unwrap().public_key(), keys[0]);
    }

    #[test]
    fn unsafe_or_malformed_key_files_are_refused() {
        let good = SigningKey::from_seed(&[9; 32]).file_text();
        type Expect = fn(&KeyError) -> bool;
        let cases: [(&str, &[u8], u32, Expect); 8] = [
            ("group-readable", good.as_bytes(), 0o640, |e| matches!(e, KeyError::Exposed { mode: 0o640, .. })),
            ("world-readable", good.as_bytes(), 0o604, |e| matches!(e, KeyError::Exposed { .. })),
            ("group-writable", good.as_bytes(), 0o620, |e| matches!(e, KeyError::Exposed { .. })),
            ("empty", b"", 0o600, |e| matches!(e, KeyError::Malformed { .. })),
            ("no newline", good.trim_end().as_bytes(), 0o600, |e| matches!(e, KeyError::Malformed { .. })),
            ("short seed", b"gate.signing-key.v1 ed25519 abcd\n", 0o600, |e| matches!(e, KeyError::Malformed { .. })),
            ("other tag", b"gate.signing-key.v2 ed25519 0000\n", 0o600, |e| matches!(e, KeyError::Malformed { .. })),
            ("not utf-8", b"\xff\xfe\n", 0o600, |e| matches!(e, KeyError::Malformed { .. })),
        ];
        for (name, text, mode, expected) in cases {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("signing.key");
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = load_or_create(&path).unwrap_err();
            assert!(expected(&err), "{name}: got {err}");
            assert!(err.to_string().contains(&path.display().to_string()), "{name}: the error names the file: {err}");
            assert_eq!(std::fs::read(&path).unwrap(), text, "{name}: the file is left alone");
        }
        let exposed = KeyError::Exposed { path: "k".into(), mode: 0o640 }.to_string();
        assert!(exposed.contains("chmod 600 k"), "{exposed}");
    }

    #[test]
    fn a_symlinked_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.key");
        std::fs::write(&real, SigningKey::from_seed(&[1; 32]).file_text()).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("signing.key");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(load(&link), Err(KeyError::NotAFile { .. })));
    }

    #[test]
    fn public_keys_round_trip_and_bad_ones_are_refused() {
        let key = SigningKey::from_seed(&[3; 32]).public_key();
        let text = key.to_text();
        assert!(text.starts_with("ed25519:") && text.len() == 8 + 64, "{text}");
        assert_eq!(parse_public_key(&text).unwrap(), key);
        assert_eq!(parse_public_key(&format!("  {text}\n")).unwrap(), key);
        assert_eq!(key.key_id().len(), 16);
        let zero = format!("ed25519:{}", "00".repeat(32));
        for bad in [
            "".to_string(),
            text[8..].to_string(),
            format!("ed448:{}", &text[8..]),
            text.to_uppercase(),
            text[..70].to_string(),
            zero,
        ] {
            let err = parse_public_key(&bad).unwrap_err();
            assert!(matches!(err, KeyError::BadPublicKey { .. }), "{bad:?}: {err}");
        }
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let key = SigningKey::from_seed(&[5; 32]);
        let other = SigningKey::from_seed(&[6; 32]).public_key();
        let sig = key.sign(b"message");
        assert!(key.public_key().verify(b"message", &sig));
        assert!(!key.public_key().verify(b"massage", &sig));
        assert!(!other.verify(b"message", &sig));
        let mut flipped = sig;
        flipped[10] ^= 1;
        assert!(!key.public_key().verify(b"message", &flipped));
    }
}
