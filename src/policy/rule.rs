//! A compiled policy rule and how it matches. A rule's matchers are all
//! optional and all must match (AND); a list inside one matcher is any-of
//! (OR). A rule is checked against *subjects*: the whole action, each
//! simple command of a shell action, the path of a file tool, the URL of a
//! fetch, the server and tool of an MCP call.

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::glob::Glob;
use super::Decision;
use crate::action::Kind;

/// Where a policy file comes from. Later layers are not "stronger": across
/// all layers the strictest decision wins; the layer decides only whether
/// allow rules count (a project's need `gate trust`) and whether rules can
/// be disabled (only the default layer's, and only by the user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Layer {
    Default,
    User,
    Project,
    Managed,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Default => "default",
            Layer::User => "user",
            Layer::Project => "project",
            Layer::Managed => "managed",
        }
    }
}

/// `tool = ...`: a gate kind or an agent's own tool name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToolMatch {
    Kind(Kind),
    Name(String),
}

/// One word of a `command` prefix: literal text, or a glob over one word.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum WordPat {
    Exact(String),
    Glob(Glob),
}

impl WordPat {
    pub fn matches(&self, word: &str) -> bool {
        match self {
            WordPat::Exact(w) => w == word,
            WordPat::Glob(g) => g.is_match(word),
        }
    }
}

/// A regex compiled on first use, so loading a large policy stays cheap.
pub struct LazyRegex {
    pub source: String,
    /// Literals one of which every match must start with, when the regex
    /// has a finite set of them: text holding none of them cannot match,
    /// and the regex need not be compiled to know it.
    pub literals: Option<Vec<String>>,
    compiled: OnceLock<Option<Regex>>,
}

impl std::fmt::Debug for LazyRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyRegex").field("source", &self.source).field("literals", &self.literals).finish()
    }
}

impl Serialize for LazyRegex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for LazyRegex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| LazyRegex::new(&s))
    }
}

impl Clone for LazyRegex {
    fn clone(&self) -> Self {
        LazyRegex::with_literals(&self.source, self.literals.clone())
    }
}

impl LazyRegex {
    pub fn new(source: &str) -> LazyRegex {
        let literals = regex_syntax::Parser::new().parse(source).ok().and_then(|hir| necessary_literals(&hir));
        LazyRegex::with_literals(source, literals)
    }

    pub fn with_literals(source: &str, literals: Option<Vec<String>>) -> LazyRegex {
        LazyRegex { source: source.to_string(), literals, compiled: OnceLock::new() }
    }

    /// A regex that fails to compile matches everything: it was validated
    /// at load, and for deny/ask rules matching more is the safe side.
    pub fn is_match(&self, text: &str) -> bool {
        if let Some(lits) = &self.literals {
            if !lits.iter().any(|l| text.contains(l.as_str())) {
                return false;
            }
        }
        match self.compiled.get_or_init(|| Regex::new(&self.source).ok()) {
            Some(re) => re.is_match(text),
            None => true,
        }
    }
}

/// Literals one of which every match of `hir` contains, if there is such a
/// finite set: per top-level alternative, its prefix literals, else its
/// suffix literals (`^(\S*/)?gate$` has no finite prefix set, but every
/// match ends in `gate`).
fn necessary_literals(hir: &regex_syntax::hir::Hir) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    use regex_syntax::hir::HirKind;
    let mut top = hir;
    while let HirKind::Capture(c) = top.kind() {
        top = &c.sub;
    }
    let branches: Vec<&regex_syntax::hir::Hir> = match top.kind() {
        HirKind::Alternation(alts) => alts.iter().collect(),
        _ => vec![top],
    };
    let mut out: Vec<String> = Vec::new();
    for branch in branches {
        let found = [ExtractKind::Prefix, ExtractKind::Suffix].into_iter().find_map(|kind| {
            let seq = Extractor::new().kind(kind).extract(branch);
            let lits = seq.literals()?;
            // A literal cut inside a character is no literal of the text: give up.
            let words: Option<Vec<String>> =
                lits.iter().map(|l| String::from_utf8(l.as_bytes().to_vec()).ok()).collect();
            words.filter(|w| !w.is_empty() && w.iter().all(|w| !w.is_empty()))
        })?;
        for w in found {
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    Some(out)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Matchers {
    pub tool: Vec<ToolMatch>,
    /// Any of these argv-word prefixes.
    pub command: Vec<Vec<WordPat>>,
    pub command_regex: Option<LazyRegex>,
    /// Groups of words; every group must have one word present in the
    /// command (short flag bundles count: `-rf` holds `-r` and `-f`).
    pub args: Vec<Vec<String>>,
    /// The command's output is piped into one of these programs.
    pub piped_into: Vec<String>,
    pub path: Vec<Glob>,
    pub url: Vec<Glob>,
    pub domain: Vec<Glob>,
    /// `server` or `server/tool`, globs.
    pub mcp: Vec<(Glob, Option<Glob>)>,
    pub agent: Vec<String>,
    pub cwd: Vec<Glob>,
    /// `access = "write"`: `path` matches only what the call may write. A
    /// read or search tool never matches, and a shell command matches only
    /// through [`CommandView::writes`].
    pub writes_only: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub decision: Decision,
    pub message: Option<String>,
    pub layer: Layer,
    /// `file:line` of the `[[rule]]`.
    pub origin: String,
    pub matchers: Matchers,
}

/// What the action is, independent of which subject is being matched.
#[derive(Debug, Clone, Copy)]
pub struct ActionView<'a> {
    pub agent: &'a str,
    pub tool: &'a str,
    pub kind: Kind,
    pub cwd: &'a str,
}

/// One simple command, prepared for matching.
#[derive(Debug, Clone, Default)]
pub struct CommandView {
    /// argv after quote removal, wrappers and git's global options dropped.
    pub argv: Vec<String>,
    /// argv plus each short flag of a bundle (`-rf` → `-r`, `-f`) and the
    /// name part of `--name=value`.
    pub words: Vec<String>,
    /// Absolute, normalised paths among the arguments and redirections.
    pub paths: Vec<String>,
    /// The paths among them that the command may write: all of them, unless
    /// the floor proves the command read-only apart from its redirections,
    /// when only the targets of its writing redirections.
    pub writes: Vec<String>,
    /// Programs this command's output is piped into.
    pub piped_into: Vec<String>,
}

impl CommandView {
    pub fn new(argv: Vec<String>, paths: Vec<String>, piped_into: Vec<String>) -> CommandView {
        let mut words = Vec::with_capacity(argv.len() + 4);
        let mut operands_only = false;
        for (i, w) in argv.iter().enumerate() {
            words.push(w.clone());
            if i == 0 || operands_only {
                continue;
            }
            if w == "--" {
                operands_only = true;
            } else if let Some(long) = w.strip_prefix("--") {
                if let Some((name, _)) = long.split_once('=') {
                    words.push(format!("--{name}"));
                }
            } else if let Some(short) = w.strip_prefix('-') {
                if short.len() > 1 && short.chars().all(|c| c.is_ascii_alphabetic()) {
                    words.extend(short.chars().map(|c| format!("-{c}")));
                }
            }
        }
        CommandView { argv, words, writes: paths.clone(), paths, piped_into }
    }

    /// The same command, of which only `writes` may be written.
    pub fn with_writes(mut self, writes: Vec<String>) -> CommandView {
        self.writes = writes;
        self
    }
}

/// What a rule is checked against.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// The action as a whole (tool, agent, cwd only).
    Whole,
    Command(&'a CommandView),
    File(&'a str),
    Url {
        url: &'a str,
        domain: &'a str,
    },
    Mcp {
        server: &'a str,
        tool: &'a str,
    },
}

impl Matchers {
    /// Does the rule constrain anything beyond tool, agent and cwd?
    pub fn has_subject_matcher(&self) -> bool {
        !(self.command.is_empty()
            && self.command_regex.is_none()
            && self.args.is_empty()
            && self.piped_into.is_empty()
            && self.path.is_empty()
            && self.url.is_empty()
            && self.domain.is_empty()
            && self.mcp.is_empty())
    }

    fn has_command_matcher(&self) -> bool {
        !self.command.is_empty() || self.command_regex.is_some() || !self.args.is_empty() || !self.piped_into.is_empty()
    }

    pub fn matches(&self, action: &ActionView<'_>, subject: Subject<'_>) -> bool {
        if !self.tool.is_empty()
            && !self.tool.iter().any(|t| match t {
                ToolMatch::Kind(k) => *k == action.kind,
                ToolMatch::Name(n) => n.eq_ignore_ascii_case(action.tool),
            })
        {
            return false;
        }
        if !self.agent.is_empty() && !self.agent.iter().any(|a| agent_matches(a, action.agent)) {
            return false;
        }
        if !self.cwd.is_empty()
            && !self.cwd.iter().any(|g| g.is_match(action.cwd) || g.is_match(&format!("{}/", action.cwd)))
        {
            return false;
        }
        match subject {
            Subject::Whole => !self.has_subject_matcher(),
            Subject::Command(cmd) => {
                if !self.url.is_empty() || !self.domain.is_empty() || !self.mcp.is_empty() {
                    return false;
                }
                if !self.has_command_matcher() && self.path.is_empty() {
                    return false;
                }
                if !self.command.is_empty() && !self.command.iter().any(|prefix| prefix_matches(prefix, &cmd.argv)) {
                    return false;
                }
                if let Some(re) = &self.command_regex {
                    if !re.is_match(&cmd.argv.join(" ")) {
                        return false;
                    }
                }
                if !self.args.iter().all(|group| group.iter().any(|w| cmd.words.iter().any(|x| word_is(x, w)))) {
                    return false;
                }
                if !self.piped_into.is_empty() && !self.piped_into.iter().any(|p| cmd.piped_into.iter().any(|x| x == p))
                {
                    return false;
                }
                let paths = if self.writes_only { &cmd.writes } else { &cmd.paths };
                self.path.is_empty() || paths.iter().any(|p| self.path.iter().any(|g| path_matches(g, p)))
            }
            Subject::File(path) => {
                if self.has_command_matcher() || !self.url.is_empty() || !self.domain.is_empty() || !self.mcp.is_empty()
                {
                    return false;
                }
                if self.writes_only && matches!(action.kind, Kind::Read | Kind::Search) {
                    return false;
                }
                !self.path.is_empty() && self.path.iter().any(|g| path_matches(g, path))
            }
            Subject::Url { url, domain } => {
                if self.has_command_matcher() || !self.path.is_empty() || !self.mcp.is_empty() {
                    return false;
                }
                if self.url.is_empty() && self.domain.is_empty() {
                    return false;
                }
                (self.url.is_empty() || self.url.iter().any(|g| g.is_match(url)))
                    && (self.domain.is_empty() || self.domain.iter().any(|g| g.is_match(domain)))
            }
            Subject::Mcp { server, tool } => {
                if self.has_command_matcher()
                    || !self.path.is_empty()
                    || !self.url.is_empty()
                    || !self.domain.is_empty()
                {
                    return false;
                }
                !self.mcp.is_empty()
                    && self.mcp.iter().any(|(s, t)| s.is_match(server) && t.as_ref().is_none_or(|t| t.is_match(tool)))
            }
        }
    }
}

fn agent_matches(pattern: &str, agent: &str) -> bool {
    pattern == agent
        || (pattern == "claude" && agent == "claude-code")
        || (pattern == "gemini" && agent == "gemini-cli")
}

/// The program word matches by its last path segment too, so a rule for
/// `rm` also catches `/bin/rm`.
fn prefix_matches(prefix: &[WordPat], argv: &[String]) -> bool {
    prefix.len() <= argv.len()
        && prefix.iter().zip(argv).enumerate().all(|(i, (p, w))| {
            p.matches(w) || (i == 0 && w.contains('/') && p.matches(w.rsplit('/').next().unwrap_or(w)))
        })
}

/// Does a command word stand for `want`? Exactly, or as a GNU abbreviation
/// of a long option (`--recur` for `--recursive`).
fn word_is(word: &str, want: &str) -> bool {
    word == want || (want.starts_with("--") && word.starts_with("--") && word.len() >= 4 && want.starts_with(word))
}

/// A path glob matches the path or any directory above it (so a rule on
/// `~/.ssh` covers `~/.ssh/id_rsa`).
fn path_matches(g: &Glob, path: &str) -> bool {
    if g.is_match(path) {
        return true;
    }
    let mut p = path;
    while let Some((parent, _)) = p.rsplit_once('/') {
        if parent.is_empty() {
            break;
        }
        if g.is_match(parent) && !g.as_str().ends_with("/*") {
            return true;
        }
        p = parent;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The literal prefilter may only skip the regex where the regex cannot
    /// match: it must agree with the compiled regex on every row.
    #[test]
    fn the_literal_prefilter_agrees_with_the_regex() {
        let gate_control = r"(^|/)gate( (trust|approve|deny|install|uninstall|init|policy|watch|serve|hook|prune)( |$)| suggest( .*)? --apply( |$))|^(\S*/)?gate$";
        let rows: &[(&str, &[&str])] = &[
            (
                gate_control,
                &[
                    "gate approve 12",
                    "/usr/bin/gate",
                    "gate",
                    "x/gate",
                    "gate log",
                    "ls",
                    "agate hook",
                    "gate suggest --apply",
                ],
            ),
            (r"^(\S*/)?gate$", &["gate", "/a/b/gate", "gates", "a gate", ""]),
            (r"(?i)curl.*\|\s*sh", &["CURL x | sh", "curl x|SH", "wget x | sh"]),
            (r"rm\s+-rf|mkfs", &["rm -rf /", "mkfs.ext4", "rm -r"]),
            (r"(?i)überweisung", &["ÜBERWEISUNG", "uberweisung", "Überweisung"]),
            (r"[a-z]+\d", &["abc1", "123", ""]),
            (r"x{0,3}", &["", "y"]),
            (
                "ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé+",
                &["éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé", "e"],
            ),
        ];
        for (re, texts) in rows {
            let lazy = LazyRegex::new(re);
            let real = Regex::new(re).unwrap();
            for t in *texts {
                assert_eq!(lazy.is_match(t), real.is_match(t), "{re:?} on {t:?} (literals {:?})", lazy.literals);
            }
        }
    }

    #[test]
    fn each_alternative_gives_literals_from_its_prefix_or_its_suffix() {
        let lits = LazyRegex::new(r"^(\S*/)?gate$|(^|/)gate hook").literals.expect("literals");
        assert!(lits.iter().all(|l| l.contains("gate")), "{lits:?}");
        assert_eq!(LazyRegex::new(r"a|\S*").literals, None, "an alternative with no literal leaves no prefilter");
    }
}
