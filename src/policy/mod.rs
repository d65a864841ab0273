//! Deciding a tool call: pure code that maps an [`Action`] and its
//! [`Context`] to a [`Verdict`] (allow, ask or deny, with the rule or floor
//! entry that decided and a reason). Across every layer and every simple
//! command of a shell line the strictest decision wins (deny > ask >
//! allow); the read-only floor counts as an allow, and so does the edit
//! mode the user chose for the agent, for in-tree edits (`edits`). No I/O
//! happens here: policy files are read by the caller, and the floor and the
//! edit check reach the disk only through the context's probe.

pub mod edits;
pub mod glob;
pub mod load;
pub mod rule;

use std::collections::HashSet;

use serde::Serialize;

use crate::action::{Action, Kind, Request, Shell};
use crate::floor::{self, Check, Env, Probe};
use rule::{ActionView, CommandView, Layer, Rule, Subject};

/// A decision, ordered by strictness: `max()` of several is the strictest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Ask,
    Deny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Ask => "ask",
            Decision::Deny => "deny",
        }
    }
}

/// What produced a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// The built-in read-only floor.
    Floor,
    /// A policy rule.
    Rule,
    /// The agent's edit mode, which the user chose and the policy follows
    /// (`accept_edits`).
    Mode,
    /// Nothing matched: the default for unmatched calls.
    Default,
    /// gate could not decide (bad input, broken policy): never an allow.
    Error,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Floor => "floor",
            Basis::Rule => "rule",
            Basis::Mode => "mode",
            Basis::Default => "default",
            Basis::Error => "error",
        }
    }
}

/// Where a rule is defined: its id and `file:line`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    pub id: String,
    pub origin: String,
}

impl std::fmt::Display for RuleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {}", self.id, self.origin)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub decision: Decision,
    pub basis: Basis,
    pub rule: Option<RuleRef>,
    pub reason: String,
}

/// The compiled rules of every layer, and what went wrong loading them.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// Shared with the parsed files they came from (a resident's memo): a
    /// call clones none of them, and a regex one compiled stays compiled.
    pub rules: Vec<std::sync::Arc<Rule>>,
    /// One line per broken policy file: gate never allows while any is broken.
    pub broken: Vec<String>,
}

/// What the decision may look at besides the action itself.
pub struct Context<'a> {
    pub home: Option<String>,
    /// gate's own directories.
    pub gate_dirs: Vec<String>,
    /// gate's binary and the `gate` files on PATH (`@gate-bin`).
    pub gate_bins: Vec<String>,
    pub probe: &'a dyn Probe,
    pub policy: &'a PolicySet,
    /// For the agent's file edits: whether they follow its edit mode, and
    /// the project's working tree. `None`: edits never follow a mode.
    pub edits: Option<edits::EditScope>,
}

/// How one simple command (or one subject) was decided.
#[derive(Debug, Clone, Serialize)]
pub struct CommandVerdict {
    /// The command line of this simple command, or the subject.
    pub command: String,
    pub decision: Decision,
    pub basis: Basis,
    pub rule: Option<RuleRef>,
    pub reason: String,
    /// The floor's finding.
    pub floor: String,
    /// Every rule that matched, strictest first.
    pub matched: Vec<MatchedRule>,
    /// A simple command's argv after quote removal (empty for other subjects).
    #[serde(skip)]
    pub argv: Vec<String>,
    /// What a simple command adds around its words, as written: assignments
    /// and redirections other than plainly harmless ones (see [`extras_of`]).
    /// Allow rules and session grants never cover an extra they did not name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MatchedRule {
    pub id: String,
    pub origin: String,
    pub decision: Decision,
}

/// The full explanation `gate check` prints; the verdict is its summary.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub verdict: Verdict,
    pub commands: Vec<CommandVerdict>,
}

/// Decide one tool call.
pub fn evaluate(action: &Action, ctx: &Context<'_>) -> Verdict {
    explain(action, ctx).verdict
}

fn rule_ref(r: &Rule) -> RuleRef {
    RuleRef { id: r.id.clone(), origin: r.origin.clone() }
}

/// Prefer, among rules of equal decision, the one an admin or the user wrote.
fn layer_rank(l: Layer) -> u8 {
    match l {
        Layer::Managed => 0,
        Layer::User => 1,
        Layer::Project => 2,
        Layer::Default => 3,
    }
}

fn matching<'r>(rules: &'r [std::sync::Arc<Rule>], view: &ActionView<'_>, subject: Subject<'_>) -> Vec<&'r Rule> {
    let mut m: Vec<&Rule> = rules.iter().map(|r| &**r).filter(|r| r.matchers.matches(view, subject)).collect();
    m.sort_by(|a, b| b.decision.cmp(&a.decision).then(layer_rank(a.layer).cmp(&layer_rank(b.layer))));
    m
}

fn rule_reason(r: &Rule, what: &str) -> String {
    match (&r.message, r.decision) {
        (Some(m), _) => format!("`{what}`: {m}"),
        (None, Decision::Deny) => format!("`{what}` is denied by gate rule {}", r.id),
        (None, Decision::Ask) => format!("`{what}` needs a human's approval (gate rule {})", r.id),
        (None, Decision::Allow) => format!("`{what}` is allowed by gate rule {}", r.id),
    }
}

/// Combine the rules matching one subject with the floor's finding.
fn decide_subject(what: String, matched: Vec<&Rule>, floor_check: Check) -> CommandVerdict {
    let matched_list: Vec<MatchedRule> = matched
        .iter()
        .map(|r| MatchedRule { id: r.id.clone(), origin: r.origin.clone(), decision: r.decision })
        .collect();
    let floor_text = match &floor_check {
        Check::Safe { entry, reason } => format!("safe ({entry}: {reason})"),
        Check::Unsafe { reason } => format!("not read-only: {reason}"),
    };
    let top = matched.first();
    let (decision, basis, rule, reason) = match (top, &floor_check) {
        (Some(r), _) if r.decision != Decision::Allow => {
            (r.decision, Basis::Rule, Some(rule_ref(r)), rule_reason(r, &what))
        }
        (_, Check::Safe { entry, reason }) => (
            Decision::Allow,
            Basis::Floor,
            Some(RuleRef { id: entry.clone(), origin: "policies/floor.toml".into() }),
            reason.clone(),
        ),
        (Some(r), _) => (Decision::Allow, Basis::Rule, Some(rule_ref(r)), rule_reason(r, &what)),
        (None, Check::Unsafe { reason }) => (Decision::Ask, Basis::Default, None, reason.clone()),
    };
    CommandVerdict {
        command: what,
        decision,
        basis,
        rule,
        reason,
        floor: floor_text,
        matched: matched_list,
        argv: Vec::new(),
        extras: Vec::new(),
    }
}

/// A simple command's environment assignments and redirections, as written,
/// except the plainly harmless ones: descriptor duplication and closing
/// (`2>&1`, `<&-`) and `/dev/null` as a target. Each of the rest changes
/// what the command does (`LD_PRELOAD=x`, `BASH_ENV=/dev/stdin`, `> ~/.bashrc`,
/// `<<< 'code'`), so an allow rule or a grant covers it only by naming it.
pub fn extras_of(c: &crate::shell::SimpleCommand) -> Vec<String> {
    use crate::shell::RedirectOp as Op;
    let mut out: Vec<String> = c.assignments.clone();
    for r in &c.redirects {
        let t = &r.target;
        let harmless = match r.op {
            Op::DupIn | Op::DupOut => t.literal && !t.text.is_empty() && t.text.bytes().all(|b| b.is_ascii_digit()),
            Op::Close => true,
            Op::Read | Op::Write | Op::Append | Op::Clobber | Op::WriteBoth | Op::AppendBoth => {
                t.literal && t.text == "/dev/null"
            }
            Op::ReadWrite | Op::HereDoc | Op::HereString => false,
        };
        if harmless {
            continue;
        }
        let op = match r.op {
            Op::Read => "<",
            Op::Write => ">",
            Op::Append => ">>",
            Op::ReadWrite => "<>",
            Op::Clobber => ">|",
            Op::DupIn => "<&",
            Op::DupOut => ">&",
            Op::Close => ">&-",
            Op::WriteBoth => "&>",
            Op::AppendBoth => "&>>",
            Op::HereDoc => "<<",
            Op::HereString => "<<<",
        };
        let fd = r.fd.map(|f| f.to_string()).unwrap_or_default();
        out.push(format!("{fd}{op}{}", t.raw));
    }
    out
}

/// Argv forms a command rule is matched against: as written, and with
/// wrappers (`sudo`, `env`, `timeout`, ...) and git's global options
/// removed, so `sudo rm -rf /` and `git -C x push --force` are caught.
pub fn argv_forms(argv: &[String]) -> Vec<Vec<String>> {
    let mut forms = vec![argv.to_vec()];
    let mut cur: Vec<String> = argv.to_vec();
    for _ in 0..8 {
        let Some(first) = cur.first().map(|s| s.rsplit('/').next().unwrap_or(s).to_string()) else { break };
        if first == "git" {
            let mut out = vec![cur[0].clone()];
            let mut i = 1;
            while i < cur.len() && cur[i].starts_with('-') {
                let flag = cur[i].as_str();
                i += if matches!(
                    flag,
                    "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace" | "--exec-path" | "--config-env"
                ) {
                    2
                } else {
                    1
                };
            }
            if i > 1 {
                out.extend(cur.iter().skip(i).cloned());
                if out != cur {
                    forms.push(out);
                }
            }
            break;
        }
        let Some(w) = floor::wrapper(&first) else { break };
        let Some(i) = wrapped_command_at(w, &cur) else { break };
        cur = cur[i..].to_vec();
        forms.push(cur.clone());
    }
    forms
}

/// Where the command a wrapper runs starts in `argv` (`argv[0]` is the
/// wrapper), by the wrapper table's flags: a flag that takes a value skips
/// it, an unknown flag is taken to have none, then come `NAME=value` words
/// (env) and the wrapper's fixed words (timeout's duration).
fn wrapped_command_at(w: &floor::Wrapper, argv: &[String]) -> Option<usize> {
    let mut i = 1;
    while i < argv.len() {
        let a = argv[i].as_str();
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        i += 1;
        let takes_next = if let Some(long) = a.strip_prefix("--") {
            !long.contains('=') && w.flags.long_arity(long) == Some(floor::Arity::Required)
        } else {
            // A bundle takes the next word when its last letter needs a value
            // that was not attached.
            let letters: Vec<char> = a[1..].chars().collect();
            letters
                .iter()
                .position(|c| w.flags.short_arity(*c) == Some(floor::Arity::Required))
                .is_some_and(|k| k == letters.len() - 1)
        };
        if takes_next {
            i += 1;
        }
    }
    if argv.get(i).is_some_and(|a| a == "-") && w.spec.assignments {
        i += 1;
    }
    while w.spec.assignments && argv.get(i).is_some_and(|a| a.contains('=') && !a.starts_with('-')) {
        i += 1;
    }
    i += w.spec.positionals;
    (i < argv.len()).then_some(i)
}

/// The paths a simple command names: operands and redirection targets,
/// normalised against the working directory.
fn command_paths(cmd: &crate::shell::SimpleCommand, cwd: &str, home: Option<&str>) -> Vec<String> {
    path_words(cmd).into_iter().map(|w| floor::normalize(w, cwd, home)).collect()
}

/// The words of `cmd` that may name files: operands, `--opt=value` values
/// and redirection targets, as written.
fn path_words(cmd: &crate::shell::SimpleCommand) -> Vec<&str> {
    let mut out = Vec::new();
    for w in cmd.argv.iter().skip(1) {
        let t = w.text.as_str();
        let candidate = if let Some((_, v)) = t.split_once('=').filter(|(k, _)| k.starts_with("--")) { v } else { t };
        if candidate.is_empty() || (candidate.starts_with('-') && candidate == t) {
            continue;
        }
        out.push(candidate);
        // `of=FILE` (dd), `NAME=FILE`: the value may be a file too.
        if let Some((_, v)) = t.split_once('=').filter(|(k, v)| is_name(k) && !v.is_empty()) {
            out.push(v);
        }
    }
    for r in &cmd.redirects {
        if !matches!(
            r.op,
            crate::shell::RedirectOp::HereDoc
                | crate::shell::RedirectOp::HereString
                | crate::shell::RedirectOp::DupIn
                | crate::shell::RedirectOp::DupOut
                | crate::shell::RedirectOp::Close
        ) {
            out.push(r.target.text.as_str());
        }
    }
    out
}

/// A shell variable name (`of`, `GATE_HOME`).
fn is_name(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Programs that take code to run as an argument (`python3 -c CODE`,
/// `perl -e CODE`, `awk PROGRAM`, `bash -c SCRIPT`): the files their code
/// names are looked for in its text.
const CODE_RUNNERS: &[&str] = &[
    "python",
    "python2",
    "python3",
    "pypy",
    "pypy3",
    "perl",
    "ruby",
    "node",
    "nodejs",
    "bun",
    "deno",
    "php",
    "lua",
    "luajit",
    "Rscript",
    "tclsh",
    "osascript",
    "awk",
    "gawk",
    "mawk",
    "nawk",
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "mksh",
    "fish",
    "busybox",
    "sqlite3",
];

/// Path-like pieces of the code words of a program in [`CODE_RUNNERS`]
/// (`open("/x/gate.db", "w")` gives `/x/gate.db`): every run of path
/// characters that holds a `/` or a `.`. Deny rules see them; nothing is
/// allowed by them.
fn code_paths(form: &[String]) -> Vec<String> {
    let Some(program) = form.first().map(|p| p.rsplit('/').next().unwrap_or(p)) else { return Vec::new() };
    let runner = CODE_RUNNERS.contains(&program)
        || program.strip_prefix("python").is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    if !runner {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for w in &form[1..] {
        if !w.contains(|c: char| !is_path_char(c)) {
            continue;
        }
        for piece in w.split(|c: char| !is_path_char(c)) {
            if (piece.contains('/') || piece.contains('.')) && !out.iter().any(|o| o == piece) && out.len() < 256 {
                out.push(piece.to_string());
            }
        }
    }
    out
}

fn is_path_char(c: char) -> bool {
    c.is_alphanumeric() || "._-/~${}+@%".contains(c)
}

/// A word's spellings with the variables that locate gate's files and the
/// agents' settings expanded (`$HOME`, `${GATE_HOME}`, `$XDG_DATA_HOME`,
/// `$XDG_CONFIG_HOME`), as the shell that runs the command would see them.
/// `$GATE_HOME` stands for each of gate's directories, and the XDG
/// directories for those holding them; the word as written comes first.
fn var_spellings(word: &str, ctx: &Context<'_>) -> Vec<String> {
    let mut out = vec![word.to_string()];
    if !word.contains('$') {
        return out;
    }
    let own: Vec<&String> = ctx.gate_dirs.iter().filter(|d| d.as_str() != "/etc/gate").collect();
    let mut values: Vec<(&str, Vec<String>)> = vec![("GATE_HOME", own.iter().map(|d| d.to_string()).collect())];
    let parents: Vec<String> =
        own.iter().filter_map(|d| d.strip_suffix("/gate").filter(|p| !p.is_empty()).map(str::to_string)).collect();
    values.push(("XDG_DATA_HOME", parents.clone()));
    values.push(("XDG_CONFIG_HOME", parents));
    if let Some(h) = ctx.home.as_deref() {
        values.push(("HOME", vec![h.trim_end_matches('/').to_string()]));
    }
    for (name, vals) in values {
        let forms = [format!("${{{name}}}"), format!("${name}")];
        let mut next: Vec<String> = Vec::new();
        for w in &out {
            let mut replaced = false;
            for f in &forms {
                // `$HOME` must not match the start of `$HOMEDIR`.
                let at = w.match_indices(f.as_str()).find(|(i, _)| {
                    f.ends_with('}') || !w[i + f.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                });
                if let Some((i, _)) = at {
                    for v in &vals {
                        next.push(format!("{}{v}{}", &w[..i], &w[i + f.len()..]));
                    }
                    replaced = true;
                    break;
                }
            }
            if !replaced || vals.is_empty() {
                next.push(w.clone());
            }
        }
        out = next;
        out.dedup();
        out.truncate(32);
    }
    if !out.iter().any(|w| w == word) {
        out.insert(0, word.to_string());
    }
    out
}

/// `path` made absolute against `cwd` with a leading `~` expanded, and
/// nothing else: `..` and `.` are left for the resolver, since after a
/// symlink `..` is the parent of the link's target, not of the link.
fn joined(path: &str, cwd: &str, home: Option<&str>) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    if let Some(h) = home {
        if path == "~" {
            return h.to_string();
        }
        if let Some(rest) = path.strip_prefix("~/") {
            return format!("{}/{rest}", h.trim_end_matches('/'));
        }
    }
    format!("{}/{path}", cwd.trim_end_matches('/'))
}

/// Files an agent must never change, under the home directory, walked for
/// another name of a hard-linked file: a write through a link changes them
/// under any name.
const LINK_GUARDED_HOME: &[&str] = &[
    ".claude.json",
    ".mcp.json",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".claude/agents",
    ".claude/skills",
    ".claude/commands",
    ".claude/CLAUDE.md",
    ".codex/hooks.json",
    ".codex/config.toml",
    ".codex/rules",
    ".gemini/settings.json",
    ".gemini/policies",
    ".gemini/trustedFolders.json",
    ".cursor/hooks.json",
    ".cursor/mcp.json",
    ".copilot/hooks",
    ".hermes/config.yaml",
    ".hermes/shell-hooks-allowlist.json",
];

/// The same for a project: under every directory from the working
/// directory up (the deny rules match these at any depth).
const LINK_GUARDED_PROJECT: &[&str] = &[
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".claude/agents",
    ".claude/skills",
    ".claude/commands",
    ".mcp.json",
    ".codex/hooks.json",
    ".codex/config.toml",
    ".gemini/settings.json",
    ".gemini/policies",
    ".cursor/hooks.json",
    ".cursor/mcp.json",
    ".github/hooks",
];

/// Where another name of a hard-linked file would make a write to it one
/// that a deny rule stops: gate's directories and the agents' hook files,
/// in the home directory and in every directory from `cwd` up.
fn link_guarded(ctx: &Context<'_>, cwd: &str) -> Vec<String> {
    let mut roots = ctx.gate_dirs.clone();
    if let Some(h) = ctx.home.as_deref() {
        roots.extend(LINK_GUARDED_HOME.iter().map(|r| format!("{}/{r}", h.trim_end_matches('/'))));
    }
    let mut dir = floor::normalize(cwd, "/", None);
    loop {
        roots.extend(LINK_GUARDED_PROJECT.iter().map(|r| format!("{}/{r}", dir.trim_end_matches('/'))));
        match dir.rfind('/') {
            Some(0) | None if dir == "/" => break,
            Some(0) => dir = "/".into(),
            Some(i) => dir.truncate(i),
            None => break,
        }
    }
    roots
}

/// Where to look for the other names of a hard-linked file at `path`:
/// the guarded files ([`link_guarded`]), gate's binaries, and the work
/// trees of the working directory and of the file itself.
fn link_roots(ctx: &Context<'_>, cwd: &str, path: &str) -> Vec<String> {
    let mut roots = link_guarded(ctx, cwd);
    roots.extend(ctx.gate_bins.iter().cloned());
    let dir = path.rsplit_once('/').map_or("/", |(d, _)| if d.is_empty() { "/" } else { d });
    roots.extend([ctx.probe.work_tree_of(cwd), ctx.probe.work_tree_of(dir)].into_iter().flatten());
    roots
}

/// The other names a path's file has, so that the deny rules on those
/// names see a write through a hard link. A walk cut short adds nothing
/// here; [`unsearchable_link`] denies such a write.
fn add_link_names(out: &mut Vec<String>, ctx: &Context<'_>, cwd: &str) {
    let linked: Vec<String> = out.iter().filter(|p| ctx.probe.hard_links(p) > 1).cloned().collect();
    for p in linked {
        if let Ok(others) = ctx.probe.other_names(&p, &link_roots(ctx, cwd, &p)) {
            for other in others {
                if !out.contains(&other) {
                    out.push(other);
                }
            }
        }
    }
}

/// A write to a hard-linked file whose other names gate could not all
/// search for (a walk cut short): one of them may be gate's own file or an
/// agent's hook settings, which no human should be asked to approve by
/// mistake, so the write is denied.
fn unsearchable_link(paths: &[String], ctx: &Context<'_>, cwd: &str) -> Option<String> {
    paths.iter().find_map(|p| {
        let n = ctx.probe.hard_links(p);
        if n < 2 {
            return None;
        }
        let why = match ctx.probe.other_names(p, &link_roots(ctx, cwd, p)) {
            Err(why) => why,
            // Every other name found: the rules have seen them all.
            Ok(found) if found.len() as u64 + 1 >= n => return None,
            Ok(found) => format!("found {} of its {} other names where gate looked", found.len(), n - 1),
        };
        Some(format!(
            "{p} has {n} hard links and gate cannot find every other name ({why}); one may be gate's own file or an \
             agent's hook settings, and a write through any name changes them all. Instead, ask the user to make this change"
        ))
    })
}

/// Why a write to one of `paths` reaches further than its name says: the
/// file has other hard links, so a rule, grant or mode that allows writing
/// this name would allow changing the file under names nobody saw.
fn hard_link_note(paths: &[String], ctx: &Context<'_>) -> Option<String> {
    paths.iter().find_map(|p| {
        let n = ctx.probe.hard_links(p);
        (n > 1).then(|| format!("{p} has {n} hard links, so writing it changes the same file under its other names"))
    })
}

/// A rule's (or the mode's) allow of a command or write that names a
/// hard-linked file becomes an ask: the rule named a path, not the other
/// names of its file. The floor's allows stand (it only passes reads, and
/// checks a read's links itself); denies and asks are untouched.
fn ask_for_hard_links(part: &mut CommandVerdict, paths: &[String], ctx: &Context<'_>) {
    if part.decision != Decision::Allow || part.basis == Basis::Floor {
        return;
    }
    if let Some(note) = hard_link_note(paths, ctx) {
        let by = part.rule.as_ref().map(|r| format!("{} ({})", r.id, r.origin)).unwrap_or_default();
        part.decision = Decision::Ask;
        part.basis = Basis::Default;
        part.rule = None;
        part.reason = format!("{note}; {by} allows the name, not the file's other names, so a human must approve it");
    }
}

/// Every path a rule on `cmd` must see, run from any of `bases`: each path
/// word folded lexically, and resolved the way the kernel will open it
/// (from the word as written, and from its lexical form), and the other
/// names of a hard-linked file among the files no agent may change.
fn resolved_command_paths(cmd: &crate::shell::SimpleCommand, bases: &[&str], ctx: &Context<'_>) -> Vec<String> {
    let home = ctx.home.as_deref();
    let mut out: Vec<String> = Vec::new();
    // Seen paths in a set: a command of thousands of distinct words must not cost their square.
    let mut seen: HashSet<String> = HashSet::new();
    let mut add = |p: String, out: &mut Vec<String>| {
        if seen.insert(p.clone()) {
            out.push(p);
        }
    };
    let argv: Vec<String> = cmd.argv.iter().map(|w| w.text.clone()).collect();
    let mut words: Vec<String> = path_words(cmd).into_iter().map(str::to_string).collect();
    for form in argv_forms(&argv) {
        for p in code_paths(&form) {
            if !words.contains(&p) {
                words.push(p);
            }
        }
    }
    let words: Vec<String> = words.iter().flat_map(|w| var_spellings(w, ctx)).collect();
    for base in bases {
        for w in &words {
            let lexical = floor::normalize(w, base, home);
            if let Some(r) = ctx.probe.canonicalize(&joined(w, base, home)) {
                add(r, &mut out);
            }
            if let Some(r) = ctx.probe.canonicalize(&lexical) {
                add(r, &mut out);
            }
            add(lexical, &mut out);
        }
    }
    if let Some(cwd) = bases.first() {
        add_link_names(&mut out, ctx, cwd);
    }
    out
}

/// The paths among `paths` (those [`resolved_command_paths`] gave for `cmd`)
/// that `cmd` may write, for rules with `access = "write"`. A command the
/// floor proves read-only once its writing redirections are set aside
/// (whatever secrets it reads: `cat ~/.claude/settings.json > out`) writes
/// only those redirections' targets; any other command may write every
/// path it names, code included.
fn written_paths(
    cmd: &crate::shell::SimpleCommand,
    paths: &[String],
    bases: &[&str],
    ctx: &Context<'_>,
    env: &Env<'_>,
    line_writes: bool,
) -> Vec<String> {
    // What it prints may become the names another command on the line
    // writes (`echo F | xargs rm`, `rm $(echo F)`): it names them for it.
    let feeds = cmd.context.in_pipeline || cmd.context.substitution_depth > 0;
    if (feeds && line_writes) || !reads_only(cmd, env) {
        return paths.to_vec();
    }
    let mut targets = cmd.clone();
    targets.argv.truncate(1);
    targets.redirects.retain(|r| r.op.may_write_file());
    if targets.redirects.is_empty() {
        return Vec::new();
    }
    resolved_command_paths(&targets, bases, ctx)
}

/// Does the floor prove `cmd` read-only, once its writing redirections are
/// set aside, whatever secrets it reads?
fn reads_only(cmd: &crate::shell::SimpleCommand, env: &Env<'_>) -> bool {
    if cmd.argv.is_empty() {
        return false;
    }
    let mut reads = cmd.clone();
    reads.redirects.retain(|r| !r.op.may_write_file());
    let read_only = Env {
        cwd: env.cwd,
        extra_cwds: env.extra_cwds.clone(),
        stdin_names_from: env.stdin_names_from.clone(),
        home: env.home,
        gate_dirs: env.gate_dirs,
        probe: env.probe,
        ignore_secrets: true,
    };
    floor::floor().check(&reads, &read_only).is_safe()
}

/// Does any command of `analysis` (or anything it cannot analyse) do more
/// than read?
fn line_may_write(analysis: &crate::shell::Analysis, env: &Env<'_>) -> bool {
    !analysis.opaque.is_empty() || analysis.commands.iter().any(|c| !reads_only(c, env))
}

/// What a command line runs, for comparing a line with its masked form:
/// each simple command's program, word count and redirection count, and
/// the constructs gate cannot analyse.
fn shape_of(a: &crate::shell::Analysis) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = a
        .commands
        .iter()
        .map(|c| (c.argv.first().map(|w| w.text.clone()).unwrap_or_default(), c.argv.len(), c.redirects.len()))
        .collect();
    out.extend(a.opaque.iter().map(|o| (format!("opaque:{}", o.reason), 0, 0)));
    out
}

/// Where the kernel will open each of `words` from any of `bases`: the
/// resolved paths only (no lexical spelling, no other hard-link names).
/// What an allow rule must cover.
fn kernel_paths<'a>(words: impl Iterator<Item = &'a str>, bases: &[&str], ctx: &Context<'_>) -> Vec<String> {
    let home = ctx.home.as_deref();
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for w in words {
        for base in bases {
            for r in [
                ctx.probe.canonicalize(&joined(w, base, home)),
                ctx.probe.canonicalize(&floor::normalize(w, base, home)),
            ]
            .into_iter()
            .flatten()
            {
                if seen.insert(r.clone()) {
                    out.push(r);
                }
            }
        }
    }
    out
}

/// Programs that write the files they name (beyond redirections): a write
/// through a hard link they make is checked like one by a redirection.
const WRITERS: &[&str] = &[
    "cp", "mv", "install", "tee", "dd", "sed", "truncate", "ln", "rsync", "touch", "chmod", "chown", "patch", "rm",
    "shred",
];

/// Where a file tool's path lands: its lexical form first, then where the
/// kernel will resolve it (from the path as written, and from the lexical
/// form).
fn resolved_file_paths(path: &str, ctx: &Context<'_>, cwd: &str) -> Vec<String> {
    let home = ctx.home.as_deref();
    let lexical = floor::normalize(path, cwd, home);
    let mut out = vec![lexical.clone()];
    for r in [ctx.probe.canonicalize(&joined(path, cwd, home)), ctx.probe.canonicalize(&lexical)].into_iter().flatten()
    {
        if !out.contains(&r) {
            out.push(r);
        }
    }
    add_link_names(&mut out, ctx, cwd);
    out
}

/// Programs that delete, move or replace the files they name.
const DESTROYERS: &[&str] = &["rm", "rmdir", "mv", "unlink", "shred", "srm", "trash", "trash-put", "gio"];

/// A command that deletes, moves or replaces a directory holding gate's
/// own files (`rm -r ~/.local/share`, `mv ~/.local /tmp/x`): gate's data
/// goes with it.
fn gate_parent_hit(argv: &[String], paths: &[String], gate_dirs: &[String]) -> Option<String> {
    let program = argv.first().map(|p| p.rsplit('/').next().unwrap_or(p))?;
    if !DESTROYERS.contains(&program) {
        return None;
    }
    paths.iter().find_map(|p| {
        let prefix = if p == "/" { "/".to_string() } else { format!("{}/", p.trim_end_matches('/')) };
        gate_dirs.iter().find(|d| d.starts_with(&prefix)).map(|d| format!("{p} holds gate's own files ({d})"))
    })
}

/// Does `argv` change a whole tree under the directories it names: delete,
/// move or replace them (`rm -r`, `mv`), or recurse into them to delete,
/// run, copy over or change modes (`find -delete`, `find -exec`, `cp -r`,
/// `rsync`, `chmod -R`)?
fn changes_trees(argv: &[String]) -> bool {
    let Some(program) = argv.first().map(|p| p.rsplit('/').next().unwrap_or(p)) else { return false };
    let has = |flags: &[&str], letters: &[char]| {
        argv[1..].iter().any(|a| {
            flags.contains(&a.as_str())
                || (a.starts_with('-') && !a.starts_with("--") && a[1..].chars().any(|c| letters.contains(&c)))
        })
    };
    match program {
        p if DESTROYERS.contains(&p) => true,
        "find" => argv[1..].iter().any(|a| {
            matches!(a.as_str(), "-delete" | "-exec" | "-execdir" | "-ok" | "-okdir" | "-fprint" | "-fprintf" | "-fls")
        }),
        "cp" => has(&["--recursive", "--archive"], &['r', 'R', 'a']),
        "chmod" | "chown" | "chgrp" | "setfacl" => has(&["--recursive"], &['R']),
        "rsync" => true,
        _ => false,
    }
}

/// A command that changes a whole tree holding gate's binary or an agent's
/// hook settings (`find ~/.claude -name settings.json -delete`, `cp -r x/. ~/.codex`,
/// `find ~ -name hooks.json | xargs rm`): those files go with it. `feeds`
/// says the command's output becomes another command's arguments.
fn protected_parent_hit<'a>(
    argv: &[String],
    paths: &[String],
    protected: impl FnOnce() -> &'a [(String, String)],
    feeds: bool,
) -> Option<String> {
    if !feeds && !changes_trees(argv) {
        return None;
    }
    // Built only for a command that can change a tree.
    let protected = protected();
    paths.iter().find_map(|p| {
        let prefix = if p == "/" { "/".to_string() } else { format!("{}/", p.trim_end_matches('/')) };
        protected
            .iter()
            .find(|(f, below)| f.starts_with(&prefix) && p.starts_with(below.as_str()))
            .map(|(f, _)| format!("{p} holds {f}, which gate protects"))
    })
}

/// The files [`protected_parent_hit`] guards, each with the directory a
/// named path must lie in to count: gate's binaries and the agents' hook
/// settings in the home directory from anywhere above them; a project's
/// from inside the project (`find .claude -delete`, not `find . -name
/// '*.o' -delete`, which a project's own files cannot stop).
fn parent_guarded(ctx: &Context<'_>, cwd: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = ctx.gate_bins.iter().map(|b| (b.clone(), "/".to_string())).collect();
    if let Some(h) = ctx.home.as_deref() {
        out.extend(LINK_GUARDED_HOME.iter().map(|r| (format!("{}/{r}", h.trim_end_matches('/')), "/".to_string())));
    }
    let mut dir = floor::normalize(cwd, "/", None);
    loop {
        let base = format!("{}/", dir.trim_end_matches('/'));
        out.extend(LINK_GUARDED_PROJECT.iter().map(|r| (format!("{base}{r}"), base.clone())));
        match dir.rfind('/') {
            Some(0) | None => break,
            Some(i) => dir.truncate(i),
        }
    }
    out
}

/// Shell start-up files, relative to the home directory, and system-wide.
const STARTUP_FILES: &[&str] = &[
    "~/.bashrc",
    "~/.bash_profile",
    "~/.bash_login",
    "~/.bash_logout",
    "~/.profile",
    "~/.bash_aliases",
    "~/.zshrc",
    "~/.zshenv",
    "~/.zprofile",
    "~/.zlogin",
    "~/.kshrc",
    "~/.mkshrc",
    "~/.config/fish",
    "~/.config/zsh",
    "~/.oh-my-zsh/custom",
    "/etc/profile",
    "/etc/profile.d",
    "/etc/bash.bashrc",
    "/etc/bashrc",
    "/etc/zsh",
    "/etc/zshrc",
    "/etc/zshenv",
    "/etc/environment",
];

/// Is `path` (resolved) a shell start-up file, or inside a directory of
/// them?
fn is_startup_file(path: &str, home: Option<&str>) -> bool {
    // Compared piece by piece: `path` is `f` or starts with `f/`, where `f`
    // is the entry with `~/` expanded (no string is built per entry).
    let at_or_below = |rest: &str| rest.is_empty() || rest.starts_with('/');
    STARTUP_FILES.iter().any(|f| match (f.strip_prefix("~/"), home) {
        (Some(rel), Some(h)) => path
            .strip_prefix(h.trim_end_matches('/'))
            .and_then(|p| p.strip_prefix('/'))
            .and_then(|p| p.strip_prefix(rel))
            .is_some_and(at_or_below),
        (Some(_), None) => false,
        (None, _) => path.strip_prefix(f).is_some_and(at_or_below),
    })
}

/// Does `text` define `gate` as an alias, a function or a hashed command,
/// which would shadow gate's binary in every shell that reads it?
fn defines_gate(text: &str) -> bool {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r#"(?:\b(?:alias|abbr)\b[^\n;&|]*?(?:^|[\s'"])gate\s*[=\s'"])|(?:(?:^|[^\w.-])gate\s*\(\s*\))|(?:\bfunction\s+gate\b)|(?:\bhash\s+-p\s+\S+\s+gate\b)"#,
        )
        .expect("valid regex")
    })
    .is_match(text)
}

/// The verdict for a change that would shadow or undo gate.
fn built_in_deny(what: String, id: &str, why: String) -> CommandVerdict {
    CommandVerdict {
        command: what.clone(),
        decision: Decision::Deny,
        basis: Basis::Rule,
        rule: Some(RuleRef { id: id.into(), origin: "gate (built in)".into() }),
        reason: format!("`{what}`: {why}; an agent must not undo or bypass gate. Instead, ask the user to make this change themselves"),
        floor: String::new(),
        matched: Vec::new(),
        argv: Vec::new(),
        extras: Vec::new(),
    }
}

/// Programs each command's stdout is piped into: the later stages of
/// its own pipeline.
fn pipe_targets(analysis: &crate::shell::Analysis) -> Vec<Vec<String>> {
    let cmds = &analysis.commands;
    cmds.iter()
        .map(|c| {
            if !c.context.in_pipeline {
                return Vec::new();
            }
            cmds.iter()
                .filter(|d| {
                    d.context.in_pipeline
                        && d.context.pipeline == c.context.pipeline
                        && d.context.pipeline_stage > c.context.pipeline_stage
                })
                .filter_map(|d| d.name().map(|n| n.rsplit('/').next().unwrap_or(n).to_string()))
                .collect()
        })
        .collect()
}

/// The script of `sh -c SCRIPT` (and bash, zsh, dash, ksh), when it is a
/// literal word.
fn shell_c_script(argv: &[String], c: &crate::shell::SimpleCommand) -> Option<String> {
    let program = argv.first()?.rsplit('/').next()?;
    if !matches!(program, "sh" | "bash" | "zsh" | "dash" | "ksh" | "mksh" | "busybox") {
        return None;
    }
    let args = if program == "busybox" { argv.get(2..)? } else { argv.get(1..)? };
    let pos = args.iter().position(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('c'))?;
    let script = args.get(pos + 1)?;
    // Only a word the analysis saw as literal is the script bash will run.
    c.argv.iter().any(|w| w.literal && w.text == *script).then(|| script.clone())
}

/// When `c` reads a pipe whose previous stage only lists file names under
/// known directories (`find DIR...`, `git ls-files`, `ls DIR...`), those
/// directories, normalised. Anything else is unknown.
fn names_listed_into(
    analysis: &crate::shell::Analysis,
    c: &crate::shell::SimpleCommand,
    cwd: &str,
    extra_cwds: &[String],
    home: Option<&str>,
) -> Option<Vec<String>> {
    if !c.context.in_pipeline || c.context.pipeline_stage == 0 {
        return None;
    }
    let prev = analysis.commands.iter().find(|d| {
        d.context.in_pipeline
            && d.context.pipeline == c.context.pipeline
            && d.context.pipeline_stage + 1 == c.context.pipeline_stage
            && d.context.substitution_depth == c.context.substitution_depth
    })?;
    if !prev.argv.iter().all(|w| w.literal) || !prev.redirects.is_empty() {
        return None;
    }
    let words: Vec<&str> = prev.argv.iter().map(|w| w.text.as_str()).collect();
    let roots: Vec<&str> = match words.as_slice() {
        // find prints only names under its starting points unless an
        // action prints text of its own (`-printf`, `-ls`).
        ["find", rest @ ..]
            if !rest.iter().any(|w| matches!(*w, "-printf" | "-ls" | "-fprintf" | "-fls" | "-fprint")) =>
        {
            let rest: Vec<&str> = rest.iter().copied().skip_while(|w| matches!(*w, "-H" | "-L" | "-P")).collect();
            let starts: Vec<&str> =
                rest.iter().copied().take_while(|w| !w.starts_with('-') && *w != "(" && *w != "!").collect();
            if starts.is_empty() {
                vec!["."]
            } else {
                starts
            }
        }
        ["git", "ls-files", rest @ ..] if rest.iter().all(|w| w.starts_with('-')) => vec!["."],
        // ls prints bare names, which the next program opens relative to
        // the working directory, not to the listed directory.
        ["ls", rest @ ..] => {
            let mut dirs: Vec<&str> = rest.iter().copied().filter(|w| !w.starts_with('-')).collect();
            dirs.push(".");
            dirs
        }
        _ => return None,
    };
    // A `cd` earlier on the line moves where find starts and where the
    // next program opens the names: every directory the line may be in counts.
    let mut out: Vec<String> = Vec::new();
    for base in std::iter::once(cwd).chain(extra_cwds.iter().map(String::as_str)) {
        for r in &roots {
            let n = floor::normalize(r, base, home);
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    Some(out)
}

/// Every directory the line may change into (`cd`, `pushd`, `env -C`),
/// each resolved against the working directory and the earlier targets.
fn cd_targets(analysis: &crate::shell::Analysis, cwd: &str, ctx: &Context<'_>) -> Vec<String> {
    let (home, probe) = (ctx.home.as_deref(), ctx.probe);
    let mut bases: Vec<String> = vec![cwd.to_string()];
    for c in &analysis.commands {
        let argv: Vec<String> = c.argv.iter().map(|w| w.text.clone()).collect();
        // Through every wrapper (`command cd`, `nice env -C`...), and env's
        // -C in any spelling (`-C/x`, `-iC x`, `--chdir=x`).
        let mut targets: Vec<String> = Vec::new();
        for form in argv_forms(&argv) {
            match form.first().map(|f| f.rsplit('/').next().unwrap_or(f)) {
                Some("cd" | "pushd" | "chdir") => match form[1..].iter().find(|w| !w.starts_with('-')) {
                    Some(t) => targets.push(t.clone()),
                    None => targets.extend(home.map(str::to_string)),
                },
                Some("env") => targets.extend(floor::env_chdirs(&form)),
                _ => {}
            }
        }
        for t in targets.iter().flat_map(|t| var_spellings(t, ctx)) {
            let Some(t) = expand_tilde(&t, probe) else { continue };
            let new: Vec<String> = bases.iter().map(|b| floor::normalize(&t, b, home)).collect();
            for n in new {
                if !bases.contains(&n) && bases.len() < 16 {
                    bases.push(n);
                }
            }
        }
    }
    bases.remove(0);
    bases
}

/// `~+` and `~user` as bash expands them (`~` and `~/` are left to
/// [`floor::normalize`]); `None` for a form that cannot be known (`~-`),
/// which the floor asks for anyway.
fn expand_tilde(t: &str, probe: &dyn floor::Probe) -> Option<String> {
    let Some(rest) = t.strip_prefix('~') else { return Some(t.to_string()) };
    let (head, tail) = rest.split_once('/').map_or((rest, ""), |(h, r)| (h, r));
    let tail = if tail.is_empty() { String::new() } else { format!("/{tail}") };
    match head {
        "" => Some(t.to_string()),
        "+" => Some(format!(".{tail}")),
        "-" => None,
        user => probe.home_of(user).map(|h| format!("{h}{tail}")),
    }
}

/// Why the shell that runs `command` may not do what the bash analysis says, if it may not:
/// zsh reads some constructs differently (`shell::zsh`); any other shell is not analysed.
fn shell_difference(shell: &Shell, command: &str, analysis: &crate::shell::Analysis) -> Option<String> {
    match shell {
        Shell::Bash => None,
        Shell::Zsh => crate::shell::zsh::difference(command, analysis)
            .map(|r| format!("this command runs in zsh, which reads it differently from bash: {r}")),
        Shell::Other(name) => {
            Some(format!("this command runs in `{name}`, and gate only analyses bash and zsh command lines"))
        }
    }
}

/// Does a rule match any simple command of a command line? (For `examples`.)
pub fn rule_matches_command_line(rule: &Rule, line: &str) -> bool {
    let analysis = crate::shell::analyze(line);
    let view = ActionView { agent: "claude-code", tool: "Bash", kind: Kind::Shell, cwd: "/" };
    let pipes = pipe_targets(&analysis);
    analysis.commands.iter().zip(pipes).any(|(c, piped)| {
        let argv: Vec<String> = c.argv.iter().map(|w| w.text.clone()).collect();
        let paths = command_paths(c, "/", None);
        let extras = !extras_of(c).is_empty();
        let env = Env {
            cwd: "/",
            extra_cwds: Vec::new(),
            stdin_names_from: None,
            home: None,
            gate_dirs: &[],
            probe: &floor::NoProbe,
            ignore_secrets: true,
        };
        let feeds = c.context.in_pipeline || c.context.substitution_depth > 0;
        let writes: Vec<String> = if !(feeds && line_may_write(&analysis, &env)) && reads_only(c, &env) {
            c.redirects
                .iter()
                .filter(|r| r.op.may_write_file())
                .map(|r| floor::normalize(&r.target.text, "/", None))
                .collect()
        } else {
            paths.clone()
        };
        argv_forms(&argv).into_iter().enumerate().any(|(fi, form)| {
            if rule.decision == Decision::Allow && (fi > 0 || extras) {
                return false;
            }
            let cv = CommandView::new(form, paths.clone(), piped.clone()).with_writes(writes.clone());
            rule.matchers.matches(&view, Subject::Command(&cv))
        })
    })
}

fn domain_of(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = if host.starts_with('[') {
        host.split(']').next().unwrap_or(host).trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or(host)
    };
    host.to_ascii_lowercase()
}

/// The most simple commands of one line, and words in them (argv words, assignments and
/// redirections), decided one by one. Each costs path lookups on disk and matching against
/// every rule, so these bound the hook's time on any command line (under 100 ms:
/// `tests/integration/time_bound.rs`). The commands past them are not decided; the line asks.
pub const MAX_DECIDED_COMMANDS: usize = 256;
/// See [`MAX_DECIDED_COMMANDS`].
pub const MAX_DECIDED_WORDS: usize = 1024;

fn command_words(c: &crate::shell::SimpleCommand) -> usize {
    c.argv.len() + c.assignments.len() + c.redirects.len()
}

/// How many of the analysis's first commands fit in the bounds.
fn decided_commands(analysis: &crate::shell::Analysis) -> usize {
    let mut words = 0;
    analysis
        .commands
        .iter()
        .position(|c| {
            words += command_words(c);
            words > MAX_DECIDED_WORDS
        })
        .unwrap_or(analysis.commands.len())
        .min(MAX_DECIDED_COMMANDS)
}

/// Decide one tool call and say why, subject by subject.
pub fn explain(action: &Action, ctx: &Context<'_>) -> Evaluation {
    let view = ActionView { agent: action.agent.as_str(), tool: &action.tool, kind: action.kind, cwd: &action.cwd };
    let mut env = Env {
        cwd: &action.cwd,
        extra_cwds: Vec::new(),
        home: ctx.home.as_deref(),
        gate_dirs: &ctx.gate_dirs,
        probe: ctx.probe,
        stdin_names_from: None,
        ignore_secrets: false,
    };
    let rules = &ctx.policy.rules;
    // What `protected_parent_hit` guards, built once, and only if a command can change a tree.
    let guarded: std::cell::OnceCell<Vec<(String, String)>> = std::cell::OnceCell::new();
    let fl = floor::floor();
    let mut parts: Vec<CommandVerdict> = Vec::new();
    let target = action.target.clone().unwrap_or_default();

    // Rules on the action as a whole (tool, agent, cwd only).
    let whole = matching(rules, &view, Subject::Whole);
    match &action.request {
        Request::Shell { command } => {
            let command = command.clone();
            if crate::redact::holds_private_key(&command) {
                parts.push(built_in_deny(
                    command.clone(),
                    "inline-private-key",
                    "this command carries private-key text inline: masked, it could hide lines the shell runs; shown, \
                     it would print the key. Instead, write the key with the file tool, or ask the user to run this"
                        .into(),
                ));
            }
            let analysis = crate::shell::analyze(&command);
            // What is stored and shown is the masked line: it must still be
            // the same commands, so that masking a secret never hides what
            // runs (a quoted "secret" that spans `"; touch x; echo "`).
            let masked = crate::redact::mask(&command);
            if masked != command
                && !crate::redact::holds_private_key(&command)
                && (!crate::redact::masking_is_local(&command, &masked, true)
                    || shape_of(&crate::shell::analyze(&masked)) != shape_of(&analysis))
            {
                parts.push(built_in_deny(
                    command.clone(),
                    "masking-would-hide",
                    "masking the secret text in this command would hide commands it runs from whoever approves it. \
                     Instead, pass the secret through an environment variable or a file, or ask the user to run this"
                        .into(),
                ));
            }
            // Past the bounds, the rest of the line is not decided command by command: it asks.
            let mut analysis = analysis;
            let decided = decided_commands(&analysis);
            let cut = decided < analysis.commands.len();
            if cut {
                let words: usize = analysis.commands.iter().map(command_words).sum();
                let reason = format!(
                    "this line runs {} simple commands ({words} words); gate decides at most {MAX_DECIDED_COMMANDS} \
                     commands and {MAX_DECIDED_WORDS} words one by one",
                    analysis.commands.len()
                );
                analysis.commands.truncate(decided);
                parts.push(CommandVerdict::line_asks(&command, reason));
            }
            let pipes = pipe_targets(&analysis);
            env.extra_cwds = cd_targets(&analysis, &action.cwd, ctx);
            let line_writes = line_may_write(&analysis, &env);
            for (c, piped) in analysis.commands.iter().zip(pipes) {
                let argv: Vec<String> = c.argv.iter().map(|w| w.text.clone()).collect();
                let line = if argv.is_empty() {
                    c.assignments.join(" ")
                } else {
                    c.argv.iter().map(|w| w.raw.clone()).collect::<Vec<_>>().join(" ")
                };
                // Relative paths after a `cd`, and symlinks, name other files.
                let bases: Vec<&str> =
                    std::iter::once(action.cwd.as_str()).chain(env.extra_cwds.iter().map(String::as_str)).collect();
                let paths = resolved_command_paths(c, &bases, ctx);
                env.stdin_names_from =
                    names_listed_into(&analysis, c, &action.cwd, &env.extra_cwds, ctx.home.as_deref());
                let writes = written_paths(c, &paths, &bases, ctx, &env, line_writes);
                let mut matched: Vec<&Rule> = Vec::new();
                let forms = argv_forms(&argv);
                let extras = extras_of(c);
                let feeds = (c.context.in_pipeline || c.context.substitution_depth > 0) && line_writes;
                if let Some(why) = forms.iter().find_map(|f| gate_parent_hit(f, &paths, &ctx.gate_dirs)) {
                    parts.push(built_in_deny(line.clone(), "gate-data-parent", why));
                } else if let Some(why) = forms.iter().find_map(|f| {
                    protected_parent_hit(f, &writes, || guarded.get_or_init(|| parent_guarded(ctx, &action.cwd)), feeds)
                }) {
                    parts.push(built_in_deny(line.clone(), "protected-parent", why));
                }
                let mut written: Vec<String> = c
                    .redirects
                    .iter()
                    .filter(|r| r.op.may_write_file())
                    .map(|r| floor::normalize(&r.target.text, &action.cwd, ctx.home.as_deref()))
                    .collect();
                let program = argv.first().map(|p| p.rsplit('/').next().unwrap_or(p)).unwrap_or("");
                if WRITERS.contains(&program) {
                    written.extend(path_words(c).into_iter().map(|w| {
                        let w = if program == "dd" { w.split_once('=').map_or(w, |(_, v)| v) } else { w };
                        floor::normalize(w, &action.cwd, ctx.home.as_deref())
                    }));
                }
                if let Some(why) = unsearchable_link(&written, ctx, &action.cwd) {
                    parts.push(built_in_deny(line.clone(), "hard-link-unsearchable", why));
                }
                if let Some(p) = paths.iter().find(|p| is_startup_file(p, ctx.home.as_deref())) {
                    if defines_gate(&command) {
                        let why = format!("this defines `gate` in the shell start-up file {p}, which shadows gate");
                        parts.push(built_in_deny(line.clone(), "gate-shadow", why));
                    }
                }
                let real = kernel_paths(path_words(c).into_iter(), &bases, ctx);
                for (fi, form) in forms.iter().enumerate() {
                    let cv = CommandView::new(form.clone(), paths.clone(), piped.clone()).with_writes(writes.clone());
                    let cv_real = CommandView::new(form.clone(), real.clone(), piped.clone());
                    for r in matching(rules, &view, Subject::Command(&cv)) {
                        // An allow rule covers the command as written, and
                        // nothing it does not name: not what a wrapper runs
                        // (`env LD_PRELOAD=x make`), nor added assignments or
                        // redirections. Deny and ask rules look through both.
                        if r.decision == Decision::Allow && (fi > 0 || !extras.is_empty()) {
                            continue;
                        }
                        // Its paths must be where the kernel opens them.
                        if r.decision == Decision::Allow && !r.matchers.matches(&view, Subject::Command(&cv_real)) {
                            continue;
                        }
                        if !matched.iter().any(|m| std::ptr::eq(*m, r)) {
                            matched.push(r);
                        }
                    }
                }
                // `bash -c '...'` runs a second command line: the rules see
                // its commands too, so a deny inside it still denies. (The
                // floor never passes a shell, so this can only tighten.)
                for form in &forms {
                    let Some(script) = shell_c_script(form, c) else { continue };
                    let inner = crate::shell::analyze(&script);
                    let inner_pipes = pipe_targets(&inner);
                    for (ic, ipiped) in inner.commands.iter().zip(inner_pipes) {
                        let iargv: Vec<String> = ic.argv.iter().map(|w| w.text.clone()).collect();
                        let ipaths = resolved_command_paths(ic, &bases, ctx);
                        let iwrites = written_paths(ic, &ipaths, &bases, ctx, &env, true);
                        if let Some(why) =
                            argv_forms(&iargv).iter().find_map(|f| gate_parent_hit(f, &ipaths, &ctx.gate_dirs))
                        {
                            parts.push(built_in_deny(line.clone(), "gate-data-parent", why));
                        } else if let Some(why) = argv_forms(&iargv).iter().find_map(|f| {
                            protected_parent_hit(
                                f,
                                &iwrites,
                                || guarded.get_or_init(|| parent_guarded(ctx, &action.cwd)),
                                true,
                            )
                        }) {
                            parts.push(built_in_deny(line.clone(), "protected-parent", why));
                        }
                        for iform in argv_forms(&iargv) {
                            let cv =
                                CommandView::new(iform, ipaths.clone(), ipiped.clone()).with_writes(iwrites.clone());
                            for r in matching(rules, &view, Subject::Command(&cv)) {
                                if r.decision != Decision::Allow && !matched.iter().any(|m| std::ptr::eq(*m, r)) {
                                    matched.push(r);
                                }
                            }
                        }
                    }
                }
                matched.sort_by(|a, b| b.decision.cmp(&a.decision).then(layer_rank(a.layer).cmp(&layer_rank(b.layer))));
                let mut part = decide_subject(line, matched, fl.check(c, &env));
                ask_for_hard_links(&mut part, &paths, ctx);
                part.argv = argv;
                part.extras = extras;
                parts.push(part);
                env.stdin_names_from = None;
            }
            for o in &analysis.opaque {
                parts.push(CommandVerdict {
                    command: command.clone(),
                    decision: Decision::Ask,
                    basis: Basis::Default,
                    rule: None,
                    reason: format!("gate cannot fully analyse this command: {}", o.reason),
                    floor: "not analysable".into(),
                    matched: Vec::new(),
                    argv: Vec::new(),
                    extras: Vec::new(),
                });
            }
            if let Some(reason) = shell_difference(&action.shell, &command, &analysis) {
                parts.push(CommandVerdict::line_asks(&command, reason));
            }
            if analysis.commands.is_empty() && analysis.opaque.is_empty() && !cut {
                parts.push(decide_subject(
                    command.clone(),
                    Vec::new(),
                    Check::Safe { entry: "floor:empty".into(), reason: "the command line runs nothing".into() },
                ));
            }
        }
        Request::Read { path: p } | Request::Search { root: p, .. } => {
            let path = p.clone().unwrap_or_else(|| action.cwd.clone());
            let abs = floor::normalize(&path, &action.cwd, ctx.home.as_deref());
            let floor_check = if let Request::Search { names, only, hidden, .. } = &action.request {
                let named_secret = names.as_deref().and_then(|p| {
                    let tail = p.rsplit('/').next().unwrap_or(p);
                    ["env", "pem", "key", "id_rsa", "id_ed25519", "netrc", "credentials", "secret"]
                        .iter()
                        .find(|s| tail.to_ascii_lowercase().contains(*s))
                        .map(|s| format!("the pattern {p:?} targets secret files ({s})"))
                });
                // A search that reads hidden files counts the secret files
                // its restriction matches (any, when it has none).
                let only = only
                    .as_deref()
                    .and_then(|g| crate::policy::glob::Glob::path(g.rsplit('/').next().unwrap_or(g)).ok());
                let found = fl.recursive_reason_only(&abs, &env, *hidden, false, only.as_ref());
                match found.or(named_secret) {
                    Some(r) => Check::Unsafe { reason: format!("searching secrets: {r}") },
                    None => Check::Safe {
                        entry: "floor:file-tools".into(),
                        reason: format!("{} only searches files", action.tool),
                    },
                }
            } else {
                match fl.sensitive_reason(&abs, &env) {
                    Some(r) => Check::Unsafe { reason: format!("reading a secret: {r}") },
                    None => Check::Safe {
                        entry: "floor:file-tools".into(),
                        reason: format!("{} only reads a file", action.tool),
                    },
                }
            };
            let mut matched: Vec<&Rule> = Vec::new();
            for p in resolved_file_paths(&path, ctx, &action.cwd) {
                for r in matching(rules, &view, Subject::File(&p)) {
                    if !matched.iter().any(|m| std::ptr::eq(*m, r)) {
                        matched.push(r);
                    }
                }
            }
            matched.sort_by(|a, b| b.decision.cmp(&a.decision).then(layer_rank(a.layer).cmp(&layer_rank(b.layer))));
            parts.push(decide_subject(abs.clone(), matched, floor_check));
        }
        Request::Write { paths: fields, new_text } => {
            let path = fields.first().cloned().unwrap_or_default();
            let abs = floor::normalize(&path, &action.cwd, ctx.home.as_deref());
            // The change is shown masked: a key block, or a masked value that
            // swallows whole lines, would hide lines written (into a
            // `.bashrc`, a script) from whoever approves it.
            if new_text.iter().any(|t| crate::redact::holds_private_key(t)) {
                parts.push(built_in_deny(
                    abs.clone(),
                    "inline-private-key",
                    "this writes private-key text: shown masked, it could hide other lines written with it. \
                     Instead, ask the user to put the key in place"
                        .into(),
                ));
            } else if new_text.iter().any(|t| !crate::redact::masking_is_local(t, &crate::redact::mask_data(t), false))
            {
                parts.push(built_in_deny(
                    abs.clone(),
                    "masking-would-hide",
                    "masking the secret text in this change would hide more than the secret from whoever approves it. \
                     Instead, write the secret on its own (`NAME=value`), or ask the user to write it"
                        .into(),
                ));
            }
            let mut matched: Vec<&Rule> = Vec::new();
            let mut landings: Vec<String> = Vec::new();
            // Per file written: the rules matching any spelling of it.
            let mut per_file: Vec<Vec<&Rule>> = Vec::new();
            // Per file written: the allow rules matching where the kernel
            // will write it (never just a spelling: `link/x` where `link`
            // points out of the project is not a project file).
            let mut allows: Vec<Vec<&Rule>> = Vec::new();
            // The files the call names, where the kernel opens them, in order.
            let mut named: Vec<String> = Vec::new();
            for field in fields {
                let mut these: Vec<&Rule> = Vec::new();
                for p in resolved_file_paths(field, ctx, &action.cwd) {
                    for r in matching(rules, &view, Subject::File(&p)) {
                        if !these.iter().any(|m| std::ptr::eq(*m, r)) {
                            these.push(r);
                        }
                    }
                    landings.push(p);
                }
                let real = kernel_paths(std::iter::once(field.as_str()), &[action.cwd.as_str()], ctx);
                let here: Vec<&Rule> = these
                    .iter()
                    .copied()
                    .filter(|r| {
                        r.decision == Decision::Allow
                            && !real.is_empty()
                            && real
                                .iter()
                                .all(|p| matching(rules, &view, Subject::File(p)).iter().any(|m| std::ptr::eq(*m, *r)))
                    })
                    .collect();
                allows.push(here);
                per_file.push(these);
                for p in real {
                    if !named.contains(&p) {
                        named.push(p);
                    }
                }
            }
            // A deny or ask on any file counts; an allow only when it covers
            // every file the call writes (a patch to `notes.md` and `~/.bashrc`
            // is not allowed by a rule for the project's files).
            for these in &per_file {
                for r in these {
                    let counts = r.decision != Decision::Allow
                        || allows.iter().all(|here| here.iter().any(|m| std::ptr::eq(*m, *r)));
                    if counts && !matched.iter().any(|m| std::ptr::eq(*m, *r)) {
                        matched.push(r);
                    }
                }
            }
            if fields.is_empty() {
                matched = matching(rules, &view, Subject::File(&abs));
            }
            matched.sort_by(|a, b| b.decision.cmp(&a.decision).then(layer_rank(a.layer).cmp(&layer_rank(b.layer))));
            if let Some(p) = landings.iter().find(|p| is_startup_file(p, ctx.home.as_deref())) {
                if new_text.iter().any(|t| defines_gate(t)) {
                    let why = format!("this defines `gate` in the shell start-up file {p}, which shadows gate");
                    parts.push(built_in_deny(abs.clone(), "gate-shadow", why));
                }
            }
            // Name the file the kernel will write, when the spelling hides it
            // (`link/../x` where `link` leads elsewhere).
            let shown = match named.first() {
                Some(r) if *r != abs => format!("{r} (written as {abs})"),
                _ => abs.clone(),
            };
            let reason = format!("{} would change {shown}; a human must approve it", action.tool);
            let mut part = decide_subject(abs.clone(), matched, Check::Unsafe { reason });
            // The user's edit mode stands in only where nothing but "not
            // read-only" asks: a rule's ask or deny keeps its decision.
            if let Some(scope) = &ctx.edits {
                match edits::check(action, fields, scope, &env) {
                    edits::ModeCheck::NotInMode => {}
                    edits::ModeCheck::Asks { mode, why } => {
                        if part.basis == Basis::Default {
                            part.reason = format!("{}; the agent's {mode} mode does not cover it: {why}", part.reason);
                        }
                        part.floor = format!("mode: {mode} does not cover it: {why}");
                    }
                    edits::ModeCheck::Allows { mode, root } => {
                        part.floor = format!("mode: {mode} covers writes inside {root}");
                        if part.basis == Basis::Default {
                            part.decision = Decision::Allow;
                            part.basis = Basis::Mode;
                            part.rule = Some(RuleRef {
                                id: format!("mode:{mode}"),
                                origin: format!("accept_edits = \"follow\" ({})", scope.origin),
                            });
                            part.reason = format!(
                                "{} is in {mode} mode, which the user chose, and {} is inside the project's working tree {root}",
                                action.agent.as_str(),
                                part.command
                            );
                        }
                    }
                }
            }
            ask_for_hard_links(&mut part, &landings, ctx);
            parts.push(part);
            // The other names of the files it names are what the search is for.
            if let Some(why) = unsearchable_link(&named, ctx, &action.cwd) {
                parts.push(built_in_deny(abs.clone(), "hard-link-unsearchable", why));
            }
        }
        Request::Fetch { url } => {
            let domain = domain_of(url);
            let matched = matching(rules, &view, Subject::Url { url, domain: &domain });
            parts.push(decide_subject(
                target.clone(),
                matched,
                Check::Unsafe { reason: format!("{} reaches the network", action.tool) },
            ));
        }
        Request::Mcp { server, tool } => {
            let matched = matching(rules, &view, Subject::Mcp { server, tool });
            parts.push(decide_subject(
                action.tool.clone(),
                matched,
                Check::Unsafe { reason: format!("MCP tool {} may do anything", action.tool) },
            ));
        }
        Request::Subagent => parts.push(decide_subject(
            target.clone(),
            Vec::new(),
            Check::Safe {
                entry: "floor:subagent".into(),
                reason: "starting a subagent runs nothing; its tool calls are gated one by one".into(),
            },
        )),
        Request::Internal => parts.push(decide_subject(
            action.tool.clone(),
            Vec::new(),
            Check::Safe {
                entry: "floor:agent-internal".into(),
                reason: format!("{} only changes the agent's own state", action.tool),
            },
        )),
        Request::Unknown => parts.push(decide_subject(
            action.tool.clone(),
            Vec::new(),
            Check::Unsafe { reason: format!("gate does not know what {} does", action.tool) },
        )),
    }
    // Whole-action rules join every part.
    if let Some(top) = whole.first() {
        let cv = CommandVerdict {
            command: format!("{} call", action.tool),
            decision: top.decision,
            basis: Basis::Rule,
            rule: Some(rule_ref(top)),
            reason: rule_reason(top, if target.is_empty() { &action.tool } else { &target }),
            floor: String::new(),
            matched: whole
                .iter()
                .map(|r| MatchedRule { id: r.id.clone(), origin: r.origin.clone(), decision: r.decision })
                .collect(),
            argv: Vec::new(),
            extras: Vec::new(),
        };
        // A whole-action allow only stands in for a part that asks for no
        // other reason than "not read-only"; it never lifts a rule's ask.
        if top.decision == Decision::Allow {
            for p in parts.iter_mut() {
                if p.basis == Basis::Default {
                    p.decision = Decision::Allow;
                    p.basis = Basis::Rule;
                    p.rule = cv.rule.clone();
                    p.reason = cv.reason.clone();
                }
            }
        } else {
            parts.push(cv);
        }
    }
    let mut verdict = summarize(&parts, &target);
    if !ctx.policy.broken.is_empty() && verdict.decision == Decision::Allow {
        verdict = Verdict {
            decision: Decision::Ask,
            basis: Basis::Error,
            rule: None,
            reason: format!(
                "gate will not auto-approve anything while a policy file is broken: {} Run `gate policy check`",
                sentence(&ctx.policy.broken[0])
            ),
        };
    }
    Evaluation { verdict, commands: parts }
}

/// `text` as a finished sentence, so another can follow it: a full stop
/// is added unless it already ends with one (a rule's `message` may), or
/// with `!` or `?`.
pub fn sentence(text: &str) -> String {
    let text = text.trim_end();
    if text.ends_with(['.', '!', '?']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

fn summarize(parts: &[CommandVerdict], target: &str) -> Verdict {
    let Some(top) = parts.iter().max_by(|a, b| a.decision.cmp(&b.decision).then(b.basis_rank().cmp(&a.basis_rank())))
    else {
        return Verdict {
            decision: Decision::Ask,
            basis: Basis::Default,
            rule: None,
            reason: "nothing to decide".into(),
        };
    };
    let reason = match top.decision {
        Decision::Deny => {
            let r = &top.reason;
            if r.contains("Instead") || r.contains("instead") {
                r.clone()
            } else {
                format!("{} Do not retry it; choose another way, or ask the user to run it themselves.", sentence(r))
            }
        }
        Decision::Ask => format!("gate asks: {}", top.reason),
        Decision::Allow => {
            if parts.len() == 1 {
                top.reason.clone()
            } else {
                format!(
                    "`{target}`: every command is allowed ({})",
                    parts.iter().filter_map(|p| p.rule.as_ref().map(|r| r.id.clone())).collect::<Vec<_>>().join(", ")
                )
            }
        }
    };
    Verdict { decision: top.decision, basis: top.basis, rule: top.rule.clone(), reason }
}

impl CommandVerdict {
    /// The whole line asks, for a reason of the line's own (too long to
    /// decide, or read differently by the agent's shell), not of a rule.
    fn line_asks(command: &str, reason: String) -> CommandVerdict {
        CommandVerdict {
            command: command.to_string(),
            decision: Decision::Ask,
            basis: Basis::Default,
            rule: None,
            floor: format!("not read-only: {reason}"),
            reason,
            matched: Vec::new(),
            argv: Vec::new(),
            extras: Vec::new(),
        }
    }

    /// Among equal decisions, name a rule over the floor over the default.
    fn basis_rank(&self) -> u8 {
        match self.basis {
            Basis::Rule => 0,
            Basis::Error => 1,
            Basis::Floor => 2,
            Basis::Mode => 3,
            Basis::Default => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_files_match_as_the_expanded_paths_would() {
        // The comparison as it was written, by building each expanded path.
        let built = |path: &str, home: Option<&str>| {
            STARTUP_FILES.iter().any(|f| {
                let f = match (f.strip_prefix("~/"), home) {
                    (Some(rest), Some(h)) => format!("{}/{rest}", h.trim_end_matches('/')),
                    (Some(_), None) => return false,
                    (None, _) => f.to_string(),
                };
                path == f || path.starts_with(&format!("{f}/"))
            })
        };
        let paths = [
            "/home/u/.bashrc",
            "/home/u/.bashrc/x",
            "/home/u/.bashrcx",
            "/home/u/.config/fish/config.fish",
            "/home/u/.config/fishy",
            "/home/u//.bashrc",
            "/home/.bashrc",
            "/.bashrc",
            "/etc/profile",
            "/etc/profile.d/a.sh",
            "/etc/profiles",
            "/etc/zsh",
            "/etc/zshrc",
            "/etc/zsh/zshrc",
            "/tmp/x",
            "",
            "/",
        ];
        for home in [Some("/home/u"), Some("/home/u/"), Some("/"), Some(""), None] {
            for p in paths {
                assert_eq!(is_startup_file(p, home), built(p, home), "{p} with home {home:?}");
            }
        }
    }
}
