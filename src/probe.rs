//! The floor's window onto the disk: resolving symlinks, expanding globs
//! the way bash would (no dotfiles for `*`, sorted, bounded), and reading a
//! repository's git config for keys and hooks that run programs, whether it
//! is a partial clone, and which secret-named files its index tracks.
//! Results are cached for the life of one process.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use crate::floor::{GitContent, Probe, TreeQuery};
use crate::gitcfg::RepoScan;
use crate::policy::glob::Glob;

/// Globs that expand to more names than this are treated as unknown.
const MAX_GLOB_MATCHES: usize = 4096;

/// A recursive search over more entries than this cannot be vouched for.
const MAX_TREE_ENTRIES: usize = 20_000;

/// The protected paths walked for another name of a hard-linked file, and
/// the work trees around it, are walked a bounded way: past this many
/// entries no name can be ruled out.
const MAX_LINK_ENTRIES: usize = 20_000;

/// (device, inode) of every regular file with more than one hard link at
/// or under `roots` (no symlink followed below a root), with its paths;
/// `Err` naming the root whose walk was cut short.
fn linked_files(roots: &[String]) -> Result<HashMap<(u64, u64), Vec<String>>, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out: HashMap<(u64, u64), Vec<String>> = HashMap::new();
    let mut seen = 0usize;
    let mut walked: Vec<std::path::PathBuf> = Vec::new();
    for root in roots {
        // A root inside one already walked adds nothing.
        let root_path = std::path::PathBuf::from(root);
        if walked.iter().any(|w| root_path.starts_with(w)) {
            continue;
        }
        let mut stack = vec![root_path.clone()];
        let mut first = true;
        while let Some(path) = stack.pop() {
            // The root itself may be a symlink the user made; below it, none is followed.
            let meta = if first { std::fs::metadata(&path) } else { std::fs::symlink_metadata(&path) };
            first = false;
            let Ok(meta) = meta else { continue };
            seen += 1;
            if seen > MAX_LINK_ENTRIES {
                return Err(format!("{root} holds too many entries (more than {MAX_LINK_ENTRIES} in all)"));
            }
            if meta.is_file() && meta.nlink() > 1 {
                let names = out.entry((meta.dev(), meta.ino())).or_default();
                let name = path.to_string_lossy().into_owned();
                if !names.contains(&name) {
                    names.push(name);
                }
            } else if meta.is_dir() {
                let Ok(entries) = std::fs::read_dir(&path) else { continue };
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        }
        walked.push(root_path);
    }
    Ok(out)
}

/// A `!pattern` line that could re-include a secret file: a pattern with
/// wildcards, or a name the sensitive list matches (`!.env.example`).
fn has_negation(text: &[u8], names: &[Glob]) -> bool {
    String::from_utf8_lossy(text).lines().any(|l| {
        let Some(pat) = l.trim().strip_prefix('!') else { return false };
        let pat = pat.trim_end_matches('/');
        let base = pat.rsplit('/').next().unwrap_or(pat);
        base.bytes().any(|b| matches!(b, b'*' | b'?' | b'[' | b'\\')) || names.iter().any(|g| g.is_match(base))
    })
}

/// An ignore file above `root` that re-includes files with `!`.
fn negations_above(root: &str, home: Option<&str>, names: &[Glob]) -> bool {
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    let mut dir = Path::new(root).parent();
    while let Some(d) = dir {
        for n in [".ignore", ".rgignore", ".gitignore", ".git/info/exclude"] {
            files.push(d.join(n));
        }
        dir = d.parent();
    }
    files.push(Path::new(root).join(".git/info/exclude"));
    if let Some(h) = home {
        files.push(Path::new(h).join(".config/git/ignore"));
        files.push(Path::new(h).join(".gitignore"));
        files.push(Path::new(h).join(".gitignore_global"));
    }
    files.iter().any(|f| std::fs::read(f).is_ok_and(|t| t.len() > 64 * 1024 || has_negation(&t, names)))
}

/// A repository scan as cached: `Ok(None)` outside a repository.
type ScanResult = Result<Option<Rc<RepoScan>>, String>;

/// Stands for `/proc/self` while resolving: a name no directory has.
const SELF: &str = "\0self";

/// How many symlinks one resolution may follow, as Linux allows (ELOOP).
const MAX_LINKS: usize = 40;

/// Resolve `path` (absolute) the way the kernel does: component by
/// component from `/`, following each symlink as it is met, so a `..` after
/// a link goes to the parent of the link's target. `/proc/self/cwd` (and
/// `/proc/thread-self/cwd`) is `cwd`, the working directory of the process
/// that will open the path, not gate's; `/proc/self/root` is `/`. Once a
/// component does not exist, the rest is folded lexically (the name a
/// write would create). `None` when the path cannot be known: too many
/// links, a `/proc/self` entry other than `cwd` and `root` (gate is not the
/// process that will run), a magic link that names no path, or a
/// `/proc/self/cwd` without a `cwd`.
pub fn resolve(path: &str, cwd: Option<&str>) -> Option<String> {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    if !path.starts_with('/') {
        return None;
    }
    // Components are bytes: a link's target need not be UTF-8, and the
    // kernel follows it all the same.
    let split = |p: &[u8]| -> Vec<Vec<u8>> { p.split(|b| *b == b'/').rev().map(<[u8]>::to_vec).collect() };
    let mut todo: Vec<Vec<u8>> = split(path.as_bytes());
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut links = 0usize;
    let mut missing = false;
    let self_marker = SELF.as_bytes();
    let joined = |out: &[Vec<u8>]| -> Vec<u8> {
        let mut p = Vec::new();
        for c in out {
            p.push(b'/');
            p.extend_from_slice(c);
        }
        if p.is_empty() {
            p.push(b'/');
        }
        p
    };
    while let Some(c) = todo.pop() {
        match c.as_slice() {
            b"" | b"." => continue,
            b".." => {
                out.pop();
                continue;
            }
            _ => {}
        }
        if missing {
            out.push(c);
            continue;
        }
        // The process that opens the path is not gate: `/proc/self` is it.
        // Its entries are followed by name: `cwd` and `root` are known,
        // `fd` is a directory (`/dev/fd/../cwd`), anything else is not.
        if out.len() == 1 && out[0] == b"proc" && (c == b"self" || c == b"thread-self") {
            out.push(self_marker.to_vec());
            continue;
        }
        if out.get(1).is_some_and(|s| s == self_marker) {
            match (out.len(), c.as_slice()) {
                (2, b"cwd") => {
                    let cwd = cwd.filter(|c| c.starts_with('/'))?;
                    out.clear();
                    todo.extend(split(cwd.as_bytes()));
                    links += 1;
                }
                (2, b"root") => out.clear(),
                (2, b"fd") => out.push(c),
                _ => return None,
            }
            continue;
        }
        let mut here = joined(&out);
        if here.len() > 1 {
            here.push(b'/');
        }
        here.extend_from_slice(&c);
        let here = std::path::PathBuf::from(std::ffi::OsString::from_vec(here));
        match std::fs::symlink_metadata(&here) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return None;
                }
                let target = std::fs::read_link(&here).ok()?;
                let target = target.as_os_str().as_bytes();
                if target.is_empty() || (out.first().is_some_and(|p| p == b"proc") && !target.starts_with(b"/")) {
                    // `socket:[123]`, `pipe:[4]`: a magic link to no path.
                    return None;
                }
                if target.starts_with(b"/") {
                    out.clear();
                }
                todo.extend(split(target));
            }
            Ok(_) => out.push(c),
            Err(_) => {
                missing = true;
                out.push(c);
            }
        }
    }
    if out.get(1).is_some_and(|s| s == self_marker) {
        return None;
    }
    // A name that is not UTF-8 cannot be one of the protected paths (they
    // are all UTF-8); the lossy form keeps every UTF-8 prefix.
    Some(String::from_utf8_lossy(&joined(&out)).into_owned())
}

#[derive(Default)]
pub struct DiskProbe {
    pub home: Option<String>,
    /// The working directory of the action: what `/proc/self/cwd` is for
    /// the command that runs.
    pub cwd: Option<String>,
    git: RefCell<HashMap<String, ScanResult>>,
    content: RefCell<HashMap<String, Option<GitContent>>>,
    /// Paths resolved by this probe (one decision's): a path named several
    /// ways in one call (as written, normalised) is walked once.
    resolved: RefCell<HashMap<String, Option<String>>>,
}

impl DiskProbe {
    pub fn new(home: Option<String>) -> DiskProbe {
        DiskProbe { home, ..DiskProbe::default() }
    }

    /// The repository containing `dir`, scanned once per process.
    fn git_scan(&self, dir: &str) -> ScanResult {
        if let Some(hit) = self.git.borrow().get(dir) {
            return hit.clone();
        }
        let home = self.home.as_deref().map(Path::new);
        let result =
            crate::gitcfg::repo_hazards(Path::new(dir), home).map(|s| s.map(Rc::new)).map_err(|e| e.to_string());
        self.git.borrow_mut().insert(dir.to_string(), result.clone());
        result
    }

    /// The probe for an action run in `cwd`.
    pub fn with_cwd(mut self, cwd: &str) -> DiskProbe {
        self.cwd = Some(cwd.to_string());
        self
    }
}

impl DiskProbe {
    /// The project's working tree for `cwd`, canonical: the nearest
    /// directory at or above it that holds a `.git` (a directory, or the
    /// file of a worktree or submodule), or `cwd` itself outside a
    /// repository. `None` when `cwd` does not resolve, or when it lies in
    /// something that looks like a git directory itself (a bare repository
    /// or a `.git` directory), whose files are no project's work tree.
    pub fn work_tree(&self, cwd: &str) -> Option<String> {
        let start = std::fs::canonicalize(cwd).ok()?;
        for level in start.ancestors() {
            let looks_like_git_dir = level.join("HEAD").is_file() && level.join("objects").is_dir();
            if looks_like_git_dir || level.file_name().is_some_and(|n| n == ".git") {
                return None;
            }
            if std::fs::symlink_metadata(level.join(".git")).is_ok() {
                return Some(level.to_string_lossy().into_owned());
            }
        }
        Some(start.to_string_lossy().into_owned())
    }
}

impl Probe for DiskProbe {
    /// Read from /etc/passwd (no NSS lookups: a user only in LDAP is
    /// unknown, and a tilde naming them asks).
    fn home_of(&self, user: &str) -> Option<String> {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 6 && f[0] == user && f[5].starts_with('/')).then(|| f[5].to_string())
        })
    }
    /// Resolved as the kernel would ([`resolve`]): a path that does not
    /// exist yet (a file about to be written) is its existing prefix
    /// resolved plus the rest, and a dangling symlink resolves to where it
    /// points, so a write through it is judged by the file it would create.
    fn canonicalize(&self, path: &str) -> Option<String> {
        // Keyed by the working directory too: `/proc/self/cwd` resolves through it.
        let key = format!("{}\0{path}", self.cwd.as_deref().unwrap_or("\0"));
        if let Some(hit) = self.resolved.borrow().get(&key) {
            return hit.clone();
        }
        let r = resolve(path, self.cwd.as_deref());
        self.resolved.borrow_mut().insert(key, r.clone());
        r
    }

    fn exists(&self, path: &str) -> bool {
        Path::new(path).exists()
    }

    fn glob(&self, cwd: &str, pattern: &str) -> Option<Vec<String>> {
        let absolute = pattern.starts_with('/');
        let mut bases: Vec<String> = vec![String::new()];
        let root = if absolute { "/".to_string() } else { format!("{}/", cwd.trim_end_matches('/')) };
        let segments: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        for (k, seg) in segments.iter().enumerate() {
            let last = k + 1 == segments.len();
            let has_glob = seg.bytes().any(|b| matches!(b, b'*' | b'?' | b'['));
            let mut next = Vec::new();
            for base in &bases {
                let prefix = if base.is_empty() { String::new() } else { format!("{base}/") };
                if !has_glob {
                    next.push(format!("{prefix}{seg}"));
                    continue;
                }
                let dir = format!("{root}{base}");
                let glob = Glob::whole(seg).ok()?;
                let entries = std::fs::read_dir(if dir.is_empty() { "." } else { &dir }).ok()?;
                for e in entries.flatten() {
                    // A name that is not UTF-8 cannot be carried as gate's
                    // path strings: the glob cannot be vouched for.
                    let name = e.file_name().to_str()?.to_string();
                    if name.starts_with('.') && !seg.starts_with('.') {
                        continue;
                    }
                    if glob.is_match(&name) && (last || e.path().is_dir()) {
                        next.push(format!("{prefix}{name}"));
                        if next.len() > MAX_GLOB_MATCHES {
                            return None;
                        }
                    }
                }
            }
            bases = next;
        }
        let mut out: Vec<String> = bases.into_iter().map(|b| if absolute { format!("/{b}") } else { b }).collect();
        out.sort();
        Some(out)
    }

    fn hard_links(&self, path: &str) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().filter(|m| m.is_file()).map_or(0, |m| m.nlink())
    }

    fn other_names(&self, path: &str, roots: &[String]) -> Result<Vec<String>, String> {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = std::fs::metadata(path) else { return Ok(Vec::new()) };
        if !meta.is_file() || meta.nlink() < 2 {
            return Ok(Vec::new());
        }
        let linked = linked_files(roots)?;
        let me = resolve(path, self.cwd.as_deref()).unwrap_or_else(|| path.to_string());
        Ok(linked
            .get(&(meta.dev(), meta.ino()))
            .map(|names| names.iter().filter(|n| n.as_str() != path && n.as_str() != me).cloned().collect())
            .unwrap_or_default())
    }

    fn work_tree_of(&self, dir: &str) -> Option<String> {
        self.work_tree(dir)
    }

    fn tree_finds(&self, root: &str, query: &TreeQuery<'_>) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        let TreeQuery { names, dir_names, hidden, follow, only, linked_to } = *query;
        // Ignore files above the tree (parents, the repository's
        // info/exclude, the global excludes) can re-include hidden files.
        if !hidden && negations_above(root, self.home.as_deref(), names) {
            return self.tree_finds(root, &TreeQuery { hidden: true, ..*query });
        }
        // Secret files with other names: a file in the tree that is one of
        // them is read like the secret. Usually there are none, and then no
        // file in the tree needs a stat.
        let check_links = !linked_to.is_empty();
        let linked = match linked_files(linked_to) {
            Ok(l) => l,
            Err(why) => return Some(format!("hard links into secret directories cannot be ruled out: {why}")),
        };
        let mut stack = vec![std::path::PathBuf::from(root)];
        let mut seen = 0usize;
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries.flatten() {
                seen += 1;
                if seen > MAX_TREE_ENTRIES {
                    return Some(format!("more than {MAX_TREE_ENTRIES} files, too many to check for secrets"));
                }
                let name = e.file_name().to_string_lossy().into_owned();
                if !hidden && matches!(name.as_str(), ".ignore" | ".rgignore" | ".gitignore") {
                    // An ignore file can re-include hidden files (`!.env`).
                    let text = std::fs::read(e.path()).unwrap_or_default();
                    if text.len() > 64 * 1024 || has_negation(&text, names) {
                        return self.tree_finds(root, &TreeQuery { hidden: true, ..*query });
                    }
                }
                if !hidden && name.starts_with('.') {
                    continue;
                }
                let Ok(ft) = e.file_type() else { continue };
                if follow && ft.is_symlink() {
                    return Some(format!("{}, a symlink the search would follow", e.path().display()));
                }
                if ft.is_dir() {
                    if dir_names.contains(&name) {
                        return Some(format!("{}, a directory that holds secrets", e.path().display()));
                    }
                    // No directory is skipped: `grep -r`, `diff -r` and
                    // `rg -uuu` read `node_modules`, `target` and `.venv`
                    // like any other, and a plain `rg` skips only hidden
                    // and ignored paths, which is less than this walks.
                    stack.push(e.path());
                } else if names.iter().any(|g| g.is_match(&name)) && only.is_none_or(|g| g.is_match(&name)) {
                    return Some(format!("{}, a sensitive file", e.path().display()));
                } else if check_links && ft.is_file() && only.is_none_or(|g| g.is_match(&name)) {
                    // Any file with other names may be a secret under one of them.
                    if let Some(m) = e.metadata().ok().filter(|m| m.nlink() > 1) {
                        return Some(match linked.get(&(m.dev(), m.ino())).and_then(|n| n.first()) {
                            Some(other) => format!("{}, a hard link to {other}", e.path().display()),
                            None => format!(
                                "{}, which has {} hard links (the same file under names gate cannot all find)",
                                e.path().display(),
                                m.nlink()
                            ),
                        });
                    }
                }
            }
        }
        None
    }

    fn git_hazards(&self, dir: &str) -> Result<Option<Vec<String>>, String> {
        Ok(self.git_scan(dir)?.map(|scan| {
            scan.hazards.iter().map(|h| format!("{} ({}:{}): {}", h.key, h.file.display(), h.line, h.why)).collect()
        }))
    }

    fn git_content(&self, dir: &str, secret: &dyn Fn(&str) -> bool) -> Result<Option<GitContent>, String> {
        if let Some(hit) = self.content.borrow().get(dir) {
            return Ok(hit.clone());
        }
        let content = self.git_scan(dir)?.map(|scan| {
            // A tracked file with other hard links may be a secret under
            // another name: git reads it from the work tree like any file.
            let top = scan.work_tree.clone();
            let linked = |name: &str| {
                use std::os::unix::fs::MetadataExt;
                top.as_ref().is_some_and(|t| {
                    std::fs::symlink_metadata(t.join(name)).is_ok_and(|m| m.is_file() && m.nlink() > 1)
                })
            };
            let pick = |name: &str| secret(name) || linked(name);
            let (tracked_secrets, has_submodules) = match crate::gitcfg::tracked_matching(&scan, &pick, 64) {
                crate::gitcfg::Tracked::Known { paths, submodules } => (Ok(paths), submodules),
                crate::gitcfg::Tracked::Unknown(why) => (Err(why), true),
            };
            GitContent {
                top: scan.work_tree.as_ref().map(|t| t.to_string_lossy().into_owned()),
                promisor: scan.promisor.as_ref().map(|h| format!("{} ({}:{})", h.key, h.file.display(), h.line)),
                tracked_secrets,
                has_submodules,
            }
        });
        self.content.borrow_mut().insert(dir.to_string(), content.clone());
        Ok(content)
    }
}

#[cfg(test)]
mod tests {
    use super::resolve;
    use std::os::unix::fs::symlink;

    #[test]
    fn resolves_like_the_kernel() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let r = root.to_string_lossy().into_owned();
        for d in ["gate/cache", "proj/sub", "far/deep"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        symlink(root.join("gate/cache"), root.join("proj/cachelink")).unwrap();
        symlink("../far/deep", root.join("proj/rel")).unwrap();
        symlink(root.join("proj/loop1"), root.join("proj/loop2")).unwrap();
        symlink(root.join("proj/loop2"), root.join("proj/loop1")).unwrap();
        symlink(root.join("nowhere/file"), root.join("proj/dangling")).unwrap();
        let cwd = format!("{r}/proj");
        let cases: Vec<(String, Option<String>)> = vec![
            (format!("{r}/proj/cachelink/../policy.toml"), Some(format!("{r}/gate/policy.toml"))),
            (format!("{r}/proj/rel/../x"), Some(format!("{r}/far/x"))),
            (format!("{r}/proj/./sub/../cachelink"), Some(format!("{r}/gate/cache"))),
            (format!("{r}/proj/new/dir/../f"), Some(format!("{r}/proj/new/f"))),
            (format!("{r}/proj/dangling"), Some(format!("{r}/nowhere/file"))),
            ("/proc/self/cwd/cachelink/../p".into(), Some(format!("{r}/gate/p"))),
            ("/proc/thread-self/cwd/sub".into(), Some(format!("{r}/proj/sub"))),
            ("/proc/self/root/etc/../etc".into(), Some("/etc".into())),
            ("/dev/fd/../cwd/sub".into(), Some(format!("{r}/proj/sub"))),
            ("/proc/self/environ".into(), None),
            ("/proc/self/fd/1".into(), None),
            (format!("{r}/proj/loop1/x"), None),
            ("relative".into(), None),
        ];
        for (path, want) in cases {
            assert_eq!(resolve(&path, Some(&cwd)), want, "{path}");
        }
        assert_eq!(resolve("/proc/self/cwd/x", None), None);
    }
}
