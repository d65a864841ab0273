//! Reads of committed content. A git read that prints file content (`git show`, `git diff`,
//! `git log -p`, `-L`, `-S`/`-G`, `git grep`, `git blame`, `git cat-file -p`) is a secret read when
//! a path it may print is, or may match, a secret name: a `rev:path` (any colon in any word, so
//! `HEAD@{10:00}:.env`, `-L1,5:.env` and `HEAD^{/fix: x}:.env` count), a pathspec (after `--`, or
//! before it; literal, glob or with magic, matched against the secret names case-insensitively
//! through representative names, both ways, and against the secret-named files the index tracks),
//! or, when nothing narrows the read, whatever the revision holds. gate cannot read a revision's
//! tree without running git, so the bound for a whole read is the index: a tracked secret-named file
//! (or an index that cannot be read in full) makes it ask. A secret that was committed and later
//! removed from the index is not seen by that bound. Computed revisions and paths ask. Separately,
//! in a partial clone a read that may need a missing object fetches it from the network, so those
//! ask too, per subcommand and flag as measured against git 2.47.

use super::super::flags::Parsed;
use super::super::{Env, Floor, GitContent};
use crate::policy::glob::Glob;
use crate::shell::Word;

/// Flags that make a diff-producing command print file content.
const PATCH_FLAGS: &[&str] = &[
    "-p",
    "-u",
    "--patch",
    "-W",
    "--function-context",
    "--cc",
    "-c",
    "--word-diff",
    "--color-words",
    "--word-diff-regex",
    "--patch-with-stat",
    "--patch-with-raw",
    "--binary",
    "-U",
    "--unified",
    "--remerge-diff",
    "--dd",
    "--diff-merges",
    "--check",
    "--full-diff",
    "--color-moved",
];

/// Flags that read file content to pick commits or lines (pickaxe, line ranges).
const CONTENT_FILTERS: &[&str] = &["-S", "-G", "-L", "--pickaxe-regex", "--pickaxe-all", "--find-object"];

/// Flags that turn a diff into names or numbers only.
const NO_PATCH_FLAGS: &[&str] = &[
    "-s",
    "--no-patch",
    "--stat",
    "--shortstat",
    "--numstat",
    "--name-only",
    "--name-status",
    "--raw",
    "--summary",
    "--dirstat",
    "--compact-summary",
    "--quiet",
];

/// git log flags that need nothing but commits and trees (a partial clone with `blob:none` has
/// those): anything else (a diff, rename detection, pickaxe, notes, patch ids) may fetch blobs.
const LOG_METADATA_FLAGS: &[&str] = &[
    "--oneline",
    "--graph",
    "--decorate",
    "--no-decorate",
    "--abbrev-commit",
    "--no-abbrev-commit",
    "--all",
    "--branches",
    "--tags",
    "--remotes",
    "--reverse",
    "--no-merges",
    "--merges",
    "--first-parent",
    "--full-history",
    "--simplify-merges",
    "--date-order",
    "--author-date-order",
    "--topo-order",
    "--left-right",
    "--boundary",
    "--parents",
    "--children",
    "--relative-date",
    "--source",
    "--color",
    "--no-color",
    "--no-walk",
    "--walk-reflogs",
    "-g",
    "--regexp-ignore-case",
    "--basic-regexp",
    "--extended-regexp",
    "--fixed-strings",
    "--perl-regexp",
    "--all-match",
    "--invert-grep",
    "-i",
    "-E",
    "-F",
    "-P",
    "--no-ext-diff",
    "--no-textconv",
    "--min-parents",
    "--max-parents",
    "--mailmap",
    "--use-mailmap",
    "--no-mailmap",
    "--expand-tabs",
    "--no-expand-tabs",
    "--no-notes",
    "--ancestry-path",
    "--dense",
    "--sparse",
    "--in-commit-order",
    "--show-pulls",
    "--decorate-refs",
    "--decorate-refs-exclude",
    "--pretty",
    "--format",
    "--abbrev",
    "--date",
    "--since",
    "--after",
    "--until",
    "--before",
    "--author",
    "--committer",
    "--grep",
    "--max-count",
    "-n",
    "--skip",
    "--encoding",
    "--exclude",
    "--glob",
    "--no-patch",
    "-s",
    "--line-prefix",
    "--count",
    "--timestamp",
    "--header",
    "--numbered",
    "--email",
    "--group",
    "-NUM",
];

/// Short git log flags that take a value (the rest of a bundle is the value).
const LOG_SHORT_WITH_VALUE: &[char] = &['n', 'S', 'G', 'L', 'U'];

/// The flags of `words` up to `--`, normalised: `--name` without a value, `-x` per bundled letter
/// (up to one that takes a value), `-NUM` for `-5`.
fn flag_names(words: &[&Word]) -> Vec<String> {
    let mut out = Vec::new();
    for w in words {
        let t = w.text.as_str();
        if t == "--" {
            break;
        }
        if let Some(long) = t.strip_prefix("--") {
            out.push(format!("--{}", long.split_once('=').map_or(long, |(n, _)| n)));
        } else if let Some(short) = t.strip_prefix('-').filter(|s| !s.is_empty()) {
            if short.chars().all(|c| c.is_ascii_digit()) {
                out.push("-NUM".into());
                continue;
            }
            for c in short.chars() {
                out.push(format!("-{c}"));
                if LOG_SHORT_WITH_VALUE.contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

/// A revision that names a commit or a tree, never a blob: HEAD and its relatives, a commit found by
/// its message, or an explicit peel.
fn names_commit_or_tree(t: &str) -> bool {
    if t.starts_with(":/") || t.ends_with("^{commit}") || t.ends_with("^{tree}") || t.ends_with("^0") {
        return true;
    }
    if let Some(k) = t.find("^{/") {
        return t.ends_with('}') && !t[k..].contains(':');
    }
    let base_end = t.find(['~', '^']).unwrap_or(t.len());
    let (base, rest) = t.split_at(base_end);
    matches!(base, "HEAD" | "@" | "ORIG_HEAD" | "FETCH_HEAD" | "MERGE_HEAD" | "CHERRY_PICK_HEAD")
        && rest.chars().all(|c| c == '~' || c == '^' || c.is_ascii_digit())
}

/// Whether this read prints file content it reads from a revision, the index or the work tree.
fn prints_content(sub: &str, flags: &[String], operands: &[&Word]) -> bool {
    let has = |list: &[&str]| flags.iter().any(|f| list.contains(&f.as_str()));
    match sub {
        "grep" | "blame" => true,
        "show" => {
            has(PATCH_FLAGS)
                || has(CONTENT_FILTERS)
                || !has(NO_PATCH_FLAGS)
                || !operands.iter().all(|w| names_commit_or_tree(&w.text))
        }
        "diff" => has(PATCH_FLAGS) || has(CONTENT_FILTERS) || !has(NO_PATCH_FLAGS),
        "log" | "whatchanged" | "reflog" | "diff-tree" => has(PATCH_FLAGS) || has(CONTENT_FILTERS),
        "cat-file" => {
            let typed = operands.len() >= 2 && !matches!(operands[0].text.as_str(), "commit" | "tree" | "tag");
            let object = operands.last().map(|w| w.text.as_str()).unwrap_or("");
            (flags.iter().any(|f| f == "-p") || typed) && !names_commit_or_tree(object)
        }
        _ => false,
    }
}

/// Whether this read may need an object a partial clone lacks (and so fetch it), from what git
/// 2.47 did in a `--filter=blob:none` clone: `git show`, `git diff`, `git blame`, `git cat-file`
/// (even `-t`/`-s`), `git diff-tree`, `git grep REV`, `git log` with a diff, rename detection
/// (`--name-only`, `--raw`, `--follow`), pickaxe or notes, `git ls-tree -l`, `git rev-list
/// --objects`, and `git stash show` fetched; `git status`, `git log --oneline`, `git branch`,
/// `git describe` and `git grep` over the work tree did not.
fn may_fetch(sub: &str, rest: &[&Word], flags: &[String], revs: bool) -> bool {
    match sub {
        "show" | "diff" | "blame" | "cat-file" | "diff-tree" | "cherry" => true,
        "grep" => revs || flags.iter().any(|f| f == "--cached"),
        "log" | "whatchanged" | "reflog" | "shortlog" | "rev-list" => {
            flags.iter().any(|f| !LOG_METADATA_FLAGS.contains(&f.as_str()))
                || flags.iter().any(|f| f.starts_with("--objects") || f == "--missing")
        }
        "stash" => rest.first().is_some_and(|w| w.text == "show"),
        "ls-tree" => flags.iter().any(|f| matches!(f.as_str(), "-l" | "--long" | "--format")),
        "check-attr" => flags.iter().any(|f| f == "--source"),
        _ => false,
    }
}

/// A path as a repository holds it names a secret: its last segment matches a secret name, or a
/// segment is a secret directory (`.ssh`). Case is ignored: a pathspec may be `:(icase)`.
pub(super) fn secret_repo_path(floor: &Floor, p: &str) -> bool {
    let lower = p.to_ascii_lowercase();
    let segs: Vec<&str> = lower.split('/').filter(|s| !s.is_empty() && *s != "." && *s != "..").collect();
    let Some(base) = segs.last() else { return false };
    floor.names.iter().any(|g| g.is_match(base))
        || segs.iter().any(|s| floor.sensitive.dir_names.iter().any(|d| d.eq_ignore_ascii_case(s)))
}

/// Every colon in a word may start a path (`rev:path`, `:path`, `:0:path`, `-L1,5:path`,
/// `HEAD@{10:00}:path`, `HEAD^{/fix: x}:path`): the first one that names a secret.
pub(super) fn colon_secret(floor: &Floor, text: &str) -> Option<String> {
    text.match_indices(':').map(|(i, _)| &text[i + 1..]).find(|p| secret_repo_path(floor, p)).map(str::to_string)
}

/// `pattern` with every `*` replaced by `fill`, `?` by `x` and each `[...]` class by a member.
fn instantiate(pattern: &str, fill: &str) -> String {
    let b: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            '*' => {
                while i + 1 < b.len() && b[i + 1] == '*' {
                    i += 1;
                }
                out.push_str(fill);
            }
            '?' => out.push('x'),
            '\\' if i + 1 < b.len() => {
                i += 1;
                out.push(b[i]);
            }
            '[' => {
                let mut j = i + 1;
                let negated = j < b.len() && (b[j] == '!' || b[j] == '^');
                if negated {
                    j += 1;
                }
                let first = b.get(j).copied().unwrap_or('x');
                while j < b.len() && !(b[j] == ']' && j > i + 1 + usize::from(negated)) {
                    j += 1;
                }
                out.push(if negated { '_' } else { first });
                i = j;
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Fills that stand for what a `*` in a secret name usually covers.
const FILLS: &[&str] = &["", "x", ".x", ".local", ".production", ".pub", "_x", "-x", "rc"];

/// Representative secret paths: each secret name instantiated, and each secret directory with a file.
fn representatives(floor: &Floor) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in &floor.sensitive.names {
        for f in FILLS {
            let r = instantiate(n, f).to_ascii_lowercase();
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    for d in &floor.sensitive.dir_names {
        out.push(format!("{}/x", d.to_ascii_lowercase()));
    }
    out
}

/// One pathspec, its magic parsed.
struct Pathspec {
    pattern: String,
    exclude: bool,
    /// Relative to the top of the work tree rather than the working directory.
    top: bool,
    wildcard: bool,
    /// `:(attr:...)` picks files by attribute: any path.
    any: bool,
}

fn parse_pathspec(text: &str) -> Pathspec {
    let mut ps = Pathspec { pattern: text.to_string(), exclude: false, top: false, wildcard: false, any: false };
    let mut literal = false;
    if let Some(rest) = text.strip_prefix(":(") {
        if let Some(end) = rest.find(')') {
            for m in rest[..end].split(',') {
                match m.trim() {
                    "exclude" => ps.exclude = true,
                    "top" => ps.top = true,
                    "literal" => literal = true,
                    m if m.starts_with("attr") => ps.any = true,
                    _ => {}
                }
            }
            ps.pattern = rest[end + 1..].to_string();
        } else {
            ps.any = true;
        }
    } else if let Some(rest) = text.strip_prefix(':') {
        let mut k = 0;
        for c in rest.chars() {
            match c {
                '/' => ps.top = true,
                '!' | '^' => ps.exclude = true,
                _ => break,
            }
            k += c.len_utf8();
        }
        let rest = &rest[k..];
        ps.pattern = rest.strip_prefix(':').unwrap_or(rest).to_string();
    }
    ps.wildcard = !literal && ps.pattern.chars().any(|c| matches!(c, '*' | '?' | '[' | '\\'));
    ps
}

/// Join `p` to the work tree prefix `prefix` lexically (`.` and `..` folded); None when `..`
/// climbs out of the work tree.
fn from_top(prefix: &str, p: &str) -> Option<String> {
    let mut parts: Vec<&str> = prefix.split('/').filter(|s| !s.is_empty()).collect();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// Why this pathspec may print a secret, if it may. `prefix` is the working directory relative to
/// the top of the work tree (None when unknown).
fn pathspec_secret(
    floor: &Floor,
    ps: &Pathspec,
    prefix: Option<&str>,
    tracked: &Result<Vec<String>, String>,
) -> Option<String> {
    let shown = &ps.pattern;
    if ps.any {
        return whole_secret(tracked).map(|r| format!("pathspec `{shown}` can match any file, and {r}"));
    }
    let base = if ps.top { Some("") } else { prefix };
    let full = base.and_then(|b| from_top(b, &ps.pattern)).map(|f| f.to_ascii_lowercase());
    if !ps.wildcard {
        if secret_repo_path(floor, &ps.pattern) {
            return Some(format!("pathspec `{shown}` names a secret file"));
        }
        let Some(full) = full else {
            return whole_secret(tracked)
                .map(|r| format!("pathspec `{shown}` is outside what gate can place, and {r}"));
        };
        return match tracked {
            Err(why) => Some(format!("pathspec `{shown}` may hold a tracked secret file ({why})")),
            Ok(paths) => paths
                .iter()
                .find(|x| {
                    let x = x.to_ascii_lowercase();
                    full.is_empty() || x == full || x.starts_with(&format!("{full}/"))
                })
                .map(|x| format!("pathspec `{shown}` covers the tracked secret file {x}")),
        };
    }
    let pattern = ps.pattern.to_ascii_lowercase();
    let Ok(glob) = Glob::whole(&pattern) else {
        return Some(format!("pathspec `{shown}` is a pattern gate cannot read"));
    };
    if let Some(r) = representatives(floor).iter().find(|r| glob.is_match(r) || glob.is_match(&format!("a/{r}"))) {
        return Some(format!("pathspec `{shown}` matches secret names such as {r}"));
    }
    for f in ["", "x"] {
        let inst = instantiate(&pattern, f);
        if secret_repo_path(floor, &inst) {
            return Some(format!("pathspec `{shown}` matches secret names such as {inst}"));
        }
    }
    let Some(full) = full else {
        return whole_secret(tracked).map(|r| format!("pathspec `{shown}` is outside what gate can place, and {r}"));
    };
    let Ok(full_glob) = Glob::whole(&full) else {
        return Some(format!("pathspec `{shown}` is a pattern gate cannot read"));
    };
    match tracked {
        Err(why) => Some(format!("pathspec `{shown}` may match a tracked secret file ({why})")),
        Ok(paths) => paths
            .iter()
            .find(|x| {
                let x = x.to_ascii_lowercase();
                // A pattern matches a path or a leading directory of it.
                full_glob.is_match(&x) || x.match_indices('/').any(|(k, _)| full_glob.is_match(&x[..k]))
            })
            .map(|x| format!("pathspec `{shown}` matches the tracked secret file {x}")),
    }
}

/// Why a read of everything tracked would print a secret: the index tracks one, or cannot be read.
fn whole_secret(tracked: &Result<Vec<String>, String>) -> Option<String> {
    match tracked {
        Ok(paths) => paths.first().map(|p| format!("the index tracks the secret file {p}")),
        Err(why) => Some(format!("gate cannot tell which files the index tracks ({why})")),
    }
}

/// The content check for one git read, run in `dir`. `parsed` is the walked words (None for a
/// subcommand with a special check).
pub(super) fn check(
    floor: &Floor,
    sub: &str,
    rest: &[&Word],
    parsed: Option<&Parsed<'_>>,
    dir: &str,
    env: &Env<'_>,
) -> Result<(), String> {
    // `rev:path` words naming a secret were refused before (see [`colon_secret`]).
    let name = format!("git {sub}");
    let flags: Vec<String> = flag_names(rest);
    // Operands, with the index where those after `--` start.
    let (operands, protected_from): (Vec<&Word>, usize) = match parsed {
        Some(p) => (p.operands.clone(), p.protected_from.min(p.operands.len())),
        None => {
            let words: Vec<&Word> = rest.iter().copied().skip(usize::from(sub == "stash")).collect();
            let dd = words.iter().position(|w| w.text == "--");
            let ops: Vec<&Word> = words
                .iter()
                .enumerate()
                .filter(|(k, w)| dd.is_some_and(|d| *k > d) || !w.text.starts_with('-'))
                .map(|(_, w)| *w)
                .collect();
            let n = ops.len();
            let before = dd.map_or(n, |d| words[..d].iter().filter(|w| !w.text.starts_with('-')).count());
            (ops, before)
        }
    };
    let stash_show = sub == "stash" && rest.first().is_some_and(|w| w.text == "show");
    let content = if stash_show {
        if flags.iter().any(|f| matches!(f.as_str(), "-u" | "--include-untracked" | "--only-untracked")) {
            return Err(format!(
                "`{name} show` with untracked files prints files the index does not list, which may be secrets"
            ));
        }
        flags.iter().any(|f| PATCH_FLAGS.contains(&f.as_str()))
    } else {
        prints_content(sub, &flags, &operands)
    };
    // git grep's first operand is its pattern unless -e or -f gave one; `git cat-file TYPE OBJECT`.
    let skip = usize::from(
        sub == "grep" && !flags.iter().any(|f| f == "-e" || f == "-f") && protected_from > 0
            || sub == "cat-file" && operands.len() >= 2,
    );
    let mut definite: Vec<Pathspec> = Vec::new();
    let mut maybe: Vec<Pathspec> = Vec::new();
    let mut narrowed: Vec<String> = Vec::new();
    let mut revs = 0usize;
    for (k, w) in operands.iter().enumerate().skip(skip) {
        let after_dd = k >= protected_from;
        if !w.literal {
            if content {
                return Err(format!(
                    "`{name}`: `{}` is computed at run time, so gate cannot tell which committed files it prints",
                    w.raw
                ));
            }
            continue;
        }
        let t = w.text.as_str();
        if after_dd {
            definite.push(parse_pathspec(t));
            continue;
        }
        if let Some(path) = rev_path(t) {
            narrowed.push(path);
            continue;
        }
        // Before `--`, git takes a word for a path only when it exists (or is a pattern).
        if env.probe.exists(&super::super::normalize(t, dir, env.home)) {
            definite.push(parse_pathspec(t));
        } else {
            revs += 1;
            maybe.push(parse_pathspec(t));
        }
    }
    // `-L<range>:<file>` limits everything it prints to that file (relative to the working directory).
    let line_ranges: Vec<String> = parsed
        .map(|p| p.values_of("-L").filter_map(|v| v.rsplit_once(':').map(|(_, f)| format!("./{f}"))).collect())
        .unwrap_or_default();
    let ranged = !line_ranges.is_empty();
    narrowed.extend(line_ranges);
    let needs_facts = content || may_fetch(sub, rest, &flags, revs > 0 || !narrowed.is_empty());
    if !needs_facts {
        return Ok(());
    }
    let facts: Option<GitContent> = env
        .probe
        .git_content(dir, &|p| secret_repo_path(floor, p))
        .map_err(|e| format!("cannot check the repository's index: {e}"))?;
    let Some(facts) = facts else { return Ok(()) };
    if let Some(key) = &facts.promisor {
        if may_fetch(sub, rest, &flags, revs > 0 || !narrowed.is_empty()) {
            return Err(format!(
                "`{name}` may fetch missing objects from the network: this repository is a partial clone ({key})"
            ));
        }
    }
    if !content {
        return Ok(());
    }
    if facts.has_submodules
        && flags.iter().any(|f| f == "--recurse-submodules")
        && !flags.iter().any(|f| f == "--no-recurse-submodules")
        || parsed.is_some_and(|p| p.values_of("--submodule").any(|v| v == "diff"))
    {
        return Err(format!("`{name}` prints submodules' content, which gate does not check for secrets"));
    }
    let real = env.probe.canonicalize(dir).unwrap_or_else(|| dir.to_string());
    let prefix: Option<String> = facts.top.as_deref().and_then(|top| {
        let top = top.trim_end_matches('/');
        if real == top {
            Some(String::new())
        } else {
            real.strip_prefix(&format!("{top}/")).map(str::to_string)
        }
    });
    let tracked = &facts.tracked_secrets;
    for ps in definite.iter().chain(maybe.iter()).filter(|p| !p.exclude) {
        if let Some(r) = pathspec_secret(floor, ps, prefix.as_deref(), tracked) {
            return Err(format!("`{name}` may print a secret file's committed content: {r}"));
        }
    }
    for path in &narrowed {
        let ps = Pathspec {
            pattern: path.trim_start_matches('/').to_string(),
            exclude: false,
            top: !(path.starts_with("./") || path.starts_with("../")),
            wildcard: false,
            any: false,
        };
        if let Some(r) = pathspec_secret(floor, &ps, prefix.as_deref(), tracked) {
            return Err(format!("`{name}` may print a secret file's committed content: {r}"));
        }
    }
    let positive = definite.iter().any(|p| !p.exclude);
    // git blame reads the one file it names.
    if !positive && !ranged && sub != "blame" && (revs > 0 || narrowed.is_empty()) {
        if let Some(r) = whole_secret(tracked) {
            return Err(format!("`{name}` prints whatever the files it reads hold, and {r}"));
        }
    }
    Ok(())
}

/// The path of a `rev:path`, `:path` or `:N:path` word (not `:/message`, which names a commit).
fn rev_path(t: &str) -> Option<String> {
    if t.starts_with(":/") || t.starts_with(":(") || t.starts_with(":!") || t.starts_with(":^") {
        return None;
    }
    // The colon that ends the revision is the first one outside `{...}`.
    let mut depth = 0usize;
    for (i, c) in t.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => {
                let rest = &t[i + 1..];
                let rest = if i == 0 {
                    match rest.split_once(':') {
                        Some((n, p)) if n.len() == 1 && n.chars().all(|c| c.is_ascii_digit()) => p,
                        _ => rest,
                    }
                } else {
                    rest
                };
                return Some(rest.to_string());
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floor() -> &'static Floor {
        super::super::super::floor()
    }

    #[test]
    fn pathspecs_that_may_match_a_secret() {
        let rows: &[(&str, bool)] = &[
            (".env", true),
            ("conf/server.pem", true),
            ("*.env", true),
            (".e*", true),
            ("*.pem", true),
            ("*", true),
            ("**/.env*", true),
            (":(glob)**/.env*", true),
            (":(icase)*.PEM", true),
            ("*.local", true),
            (".env.*", true),
            ("?env", true),
            ("[.]env", true),
            ("*key", true),
            (".ssh/*", true),
            ("*.rs", false),
            ("src/*.ts", false),
            ("src", false),
            ("README.md", false),
            (":(exclude)*.env", false),
            (":!*.env", false),
        ];
        for &(p, want) in rows {
            let ps = parse_pathspec(p);
            let got = !ps.exclude && pathspec_secret(floor(), &ps, Some(""), &Ok(vec![])).is_some();
            assert_eq!(got, want, "{p}");
        }
    }

    #[test]
    fn tracked_secrets_under_a_pathspec() {
        let tracked: Result<Vec<String>, String> = Ok(vec!["conf/prod/.env.local".into()]);
        let rows: &[(&str, &str, bool)] = &[
            ("conf", "", true),
            ("prod", "conf", true),
            (".", "conf", true),
            ("src", "", false),
            ("c*", "", true),
            ("conf/*/x", "", false),
            ("../conf", "src", true),
            (":/conf", "src", true),
            ("conf", "src", false),
        ];
        for &(p, prefix, want) in rows {
            let got = pathspec_secret(floor(), &parse_pathspec(p), Some(prefix), &tracked).is_some();
            assert_eq!(got, want, "{p} from {prefix:?}");
        }
    }

    #[test]
    fn revision_paths() {
        let rows: &[(&str, Option<&str>)] = &[
            ("HEAD:.env", Some(".env")),
            (":.env", Some(".env")),
            (":0:.env", Some(".env")),
            (":2:a/b", Some("a/b")),
            ("HEAD@{2024-01-01 10:00}:x", Some("x")),
            ("HEAD^{/fix: y}:z", Some("z")),
            (":/fix: .env", None),
            ("HEAD", None),
            ("main~2", None),
            (":(glob)*.rs", None),
        ];
        for &(t, want) in rows {
            assert_eq!(rev_path(t).as_deref(), want, "{t}");
        }
        for (t, want) in [
            ("HEAD@{10:00}:.env", true),
            ("-L1,5:.env", true),
            ("HEAD^{/fix: x}:conf/a.pem", true),
            ("HEAD:.ssh/config", true),
            ("HEAD:src/main.rs", false),
            ("--format=%h:%s", false),
        ] {
            assert_eq!(colon_secret(floor(), t).is_some(), want, "{t}");
        }
    }

    #[test]
    fn commits_by_name() {
        for (t, want) in [
            ("HEAD", true),
            ("HEAD~3", true),
            ("@^2", true),
            (":/fix", true),
            ("v1^{commit}", true),
            ("HEAD^{/add env}", true),
            ("main", false),
            ("1a2b3c4", false),
            ("HEAD:a.rs", false),
        ] {
            assert_eq!(names_commit_or_tree(t), want, "{t}");
        }
    }
}
