//! A cache of compiled policy files and of the floor, so that the hook,
//! which runs on every tool call, does not parse TOML each time. An entry
//! is keyed by the SHA-256 of the file's bytes, gate's version, the codec
//! version, the running binary's identity (inode, size, mtime) and what `~`, `@gate`, `@gate-bin` and `@agent-hooks` expand to; any change to
//! the file gives a new key. Entries live in gate's own data
//! directory, which agents cannot write. A missing or unreadable entry
//! only costs a parse; it never changes a decision.

use std::path::{Path, PathBuf};

use crate::codec::{self, Codec, Reader};
use crate::paths::Paths;
use crate::policy::load::{self, Macros, PolicyError, PolicyFile};
use crate::policy::rule::Layer;

enum Entry {
    Ok(PolicyFile),
    Err(Vec<PolicyError>),
}

impl Codec for Entry {
    fn put(&self, w: &mut Vec<u8>) {
        match self {
            Entry::Ok(f) => {
                w.push(0);
                f.put(w);
            }
            Entry::Err(e) => {
                w.push(1);
                e.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.u8()? {
            0 => Some(Entry::Ok(PolicyFile::get(r)?)),
            1 => Some(Entry::Err(Vec::get(r)?)),
            _ => None,
        }
    }
}

/// SHA-256 of `parts`, each length-prefixed, in hex.
pub fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn dir(paths: &Paths) -> PathBuf {
    paths.data_dir.join("cache")
}

/// The running binary, as a file: its inode, size and modification time.
/// Part of every key, so that another build of gate, even of the same
/// version, never reads an entry this one wrote (a parser or an encoding
/// that changed between two builds would otherwise decide by a stale entry).
fn this_build() -> &'static str {
    static BUILD: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUILD.get_or_init(|| match crate::identity::Binary::running() {
        Some(b) => format!("{:x}.{:x}.{:x}.{:x}", b.ino, b.size, b.mtime, b.mtime_nsec),
        None => String::from("unknown-build"),
    })
}

fn key_of(parts: &[&str]) -> String {
    let version = [codec::VERSION];
    let mut all: Vec<&[u8]> = vec![env!("CARGO_PKG_VERSION").as_bytes(), &version, this_build().as_bytes()];
    all.extend(parts.iter().map(|p| p.as_bytes()));
    sha256_hex(&all)
}

fn macros_key(m: &Macros) -> String {
    format!(
        "{}\u{1}{}\u{1}{}\u{2}{}",
        m.home.as_deref().unwrap_or(""),
        m.gate_dirs.join("\u{1}"),
        m.gate_bins.join("\u{1}"),
        m.agent_hooks.join("\u{1}")
    )
}

fn read_entry(path: &Path) -> Option<Entry> {
    codec::decode(&std::fs::read(path).ok()?)
}

fn write_entry(paths: &Paths, path: &Path, entry: &Entry) {
    write_bytes(paths, path, &codec::encode(entry));
}

fn write_bytes(paths: &Paths, path: &Path, bytes: &[u8]) {
    let d = dir(paths);
    if std::fs::create_dir_all(&d).is_err() {
        return;
    }
    let tmp = d.join(format!(".tmp-{}-{}", std::process::id(), crate::clock::now_ms()));
    if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Parse `text` (the contents of a file whose identity is `identity`),
/// through the cache.
fn cached(
    paths: &Paths,
    kind: &str,
    identity: &[&str],
    text: &dyn Fn() -> Option<String>,
    file: &str,
    layer: Layer,
    macros: &Macros,
) -> Option<Result<PolicyFile, Vec<PolicyError>>> {
    let mut parts: Vec<&str> = vec![kind, file, layer.as_str()];
    parts.extend_from_slice(identity);
    let mk = macros_key(macros);
    parts.push(&mk);
    // The memo holds this process's own parses: its key is the parts
    // themselves (the binary and the version cannot differ within one
    // process), and only the file on disk needs their hash.
    use std::fmt::Write;
    let mut memo_key = String::with_capacity(parts.iter().map(|p| p.len() + 9).sum());
    for p in &parts {
        let _ = write!(memo_key, "{:08x}\u{1}", p.len());
        memo_key.push_str(p);
    }
    if let Some(hit) = remembered(&memo_key) {
        return Some(hit);
    }
    let key = key_of(&parts);
    let entry_path = dir(paths).join(format!("{kind}-{key}.bin"));
    let result = match read_entry(&entry_path) {
        Some(Entry::Ok(f)) => Ok(f),
        Some(Entry::Err(errs)) => Err(errs),
        None => {
            let text = text()?;
            let result = load::parse(&text, file, layer, macros);
            let entry = match &result {
                Ok(f) => Entry::Ok(f.clone()),
                Err(e) => Entry::Err(e.clone()),
            };
            write_entry(paths, &entry_path, &entry);
            result
        }
    };
    remember(memo_key, &result);
    Some(result)
}

type Parsed = Result<PolicyFile, Vec<PolicyError>>;

/// Files parsed or decoded in this process, by the parts of the cache's key
/// on disk (which name the file's whole content), unhashed. A one-call hook
/// finds nothing here; a resident serving many calls decodes each file once,
/// and its calls share the parsed rules (a clone copies no rule).
static MEMO: std::sync::Mutex<Vec<(String, Parsed)>> = std::sync::Mutex::new(Vec::new());

/// How many parsed files a process keeps (the oldest goes first).
const MEMO_ENTRIES: usize = 32;

fn remembered(key: &str) -> Option<Parsed> {
    let memo = MEMO.lock().unwrap_or_else(|e| e.into_inner());
    memo.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

fn remember(key: String, parsed: &Parsed) {
    let mut memo = MEMO.lock().unwrap_or_else(|e| e.into_inner());
    if memo.len() >= MEMO_ENTRIES {
        drop(memo.remove(0));
    }
    memo.push((key, parsed.clone()));
}

/// A policy file on disk, through the cache. `None` when it does not exist.
pub fn policy_file(
    paths: &Paths,
    path: &Path,
    layer: Layer,
    macros: &Macros,
) -> Option<Result<PolicyFile, Vec<PolicyError>>> {
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Some(policy_text(paths, &text, &path.to_string_lossy(), layer, macros))
}

/// Text gate already holds (the embedded default, a project file it read
/// to hash), through the cache keyed by the text's own hash.
pub fn policy_text(
    paths: &Paths,
    text: &str,
    file: &str,
    layer: Layer,
    macros: &Macros,
) -> Result<PolicyFile, Vec<PolicyError>> {
    // The built-in default policy is keyed by its build-time hash; any other
    // text (a user's or a project's file) by its SHA-256.
    let h = if std::ptr::eq(text, crate::config::DEFAULT_POLICY) {
        format!("builtin-{DEFAULT_POLICY_HASH:016x}")
    } else {
        sha256_hex(&[text.as_bytes()])
    };
    cached(paths, "policy", &[&h], &|| Some(text.to_string()), file, layer, macros)
        .unwrap_or_else(|| load::parse(text, file, layer, macros))
}

/// The floor, through the cache.
/// FNV-1a, at compile time: the key of a text built into the binary, so
/// that the hook need not hash tens of kilobytes of embedded TOML on every
/// call to find its cache entry (a tenth of a hook call with SHA-256).
const fn fnv1a(texts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut t = 0;
    while t < texts.len() {
        let mut i = 0;
        while i < texts[t].len() {
            h = (h ^ texts[t][i] as u64).wrapping_mul(0x0100_0000_01b3);
            i += 1;
        }
        h = (h ^ 1).wrapping_mul(0x0100_0000_01b3);
        t += 1;
    }
    h
}

const FLOOR_TEXT_HASH: u64 = fnv1a(&[crate::floor::FLOOR_TOML.as_bytes(), crate::floor::spec::WRAPPERS_TOML.as_bytes()]);
const DEFAULT_POLICY_HASH: u64 = fnv1a(&[crate::config::DEFAULT_POLICY.as_bytes()]);

pub fn floor(paths: &Paths) -> Option<crate::floor::Floor> {
    let key = format!("{}-{}-{FLOOR_TEXT_HASH:016x}-{}", env!("CARGO_PKG_VERSION"), codec::VERSION, this_build());
    let entry_path = dir(paths).join(format!("floor-{key}.bin"));
    if let Some(f) = std::fs::read(&entry_path).ok().and_then(|b| codec::decode::<crate::floor::Floor>(&b)) {
        return Some(f);
    }
    let f: crate::floor::Floor = toml::from_str(crate::floor::FLOOR_TOML).ok()?;
    write_bytes(paths, &entry_path, &codec::encode(&f));
    Some(f)
}
