//! Policy files: TOML text → compiled [`Rule`]s and settings, or errors
//! that name `file:line:col` and say how to fix them. Pure: the caller
//! reads the files. Examples (`examples`, `not_examples`) are checked here,
//! after the whole file is compiled, so a rule carries its own tests.

use serde::Deserialize;
use toml::Spanned;

use super::glob::Glob;
use super::rule::{Layer, LazyRegex, Matchers, Rule, ToolMatch, WordPat};
use super::Decision;
use crate::action::Kind;

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct PolicyError {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)?;
        if !self.hint.is_empty() {
            write!(f, " (hint: {})", self.hint)?;
        }
        Ok(())
    }
}

/// Settings a policy file may carry under `[settings]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Settings {
    /// Seconds a question waits for an answer.
    pub ask_timeout: Option<u64>,
    /// Default-policy rule ids to turn off (honoured from the user layer only).
    pub disable: Vec<String>,
    /// A display name recorded as the approver instead of the OS user.
    pub approver: Option<String>,
    /// Whether the agent's own file edits follow the edit mode the user
    /// chose for it (Claude Code's acceptEdits). `None`: the file is silent.
    pub accept_edits: Option<AcceptEdits>,
    /// Where a question may be answered: `watch`, `web` (an open inbox of
    /// that kind), `cli` (`gate approve`/`deny`, so a question waits even
    /// with no inbox open). `None`: the file is silent.
    pub ask_via: Option<Vec<String>>,
}

/// The surfaces `ask_via` may name.
pub const ASK_VIA: &[&str] = &["watch", "web", "cli"];

/// `accept_edits` in `[settings]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AcceptEdits {
    /// In-tree writes by the agent's edit tools follow its mode.
    Follow,
    /// Every edit asks, whatever the mode.
    Ask,
}

impl AcceptEdits {
    pub fn as_str(self) -> &'static str {
        match self {
            AcceptEdits::Follow => "follow",
            AcceptEdits::Ask => "ask",
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize, Deserialize)]
pub struct PolicyFile {
    /// Shared, so that a clone (a resident's memo) copies no rule.
    #[serde(with = "shared_rules")]
    pub rules: Vec<std::sync::Arc<Rule>>,
    pub settings: Settings,
}

/// The rules as serde sees them: the list of rules itself.
mod shared_rules {
    use super::Rule;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::sync::Arc;

    pub fn serialize<S: Serializer>(rules: &[Arc<Rule>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(rules.iter().map(|r| &**r))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Arc<Rule>>, D::Error> {
        Ok(Vec::<Rule>::deserialize(d)?.into_iter().map(Arc::new).collect())
    }
}

struct RawFile {
    settings: Option<RawSettings>,
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    #[serde(default)]
    ask_timeout: Option<Spanned<i64>>,
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    approver: Option<String>,
    #[serde(default)]
    accept_edits: Option<Spanned<String>>,
    #[serde(default)]
    ask_via: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize, Clone)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// A matcher's strings, each with the span of the matcher's value.
#[derive(Clone)]
struct Item {
    text: String,
    span: std::ops::Range<usize>,
}

impl Item {
    fn get_ref(&self) -> &String {
        &self.text
    }
    fn span(&self) -> std::ops::Range<usize> {
        self.span.clone()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Option<Spanned<String>>,
    decision: Option<Spanned<String>>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    tool: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    command: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    command_regex: Option<Spanned<String>>,
    #[serde(default)]
    args: Option<Vec<Spanned<OneOrMany>>>,
    #[serde(default)]
    piped_into: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    path: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    url: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    domain: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    mcp: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    agent: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    cwd: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    access: Option<Spanned<String>>,
    #[serde(default)]
    examples: Vec<Spanned<String>>,
    #[serde(default)]
    not_examples: Vec<Spanned<String>>,
}

const RULE_KEYS: &[&str] = &[
    "id",
    "decision",
    "message",
    "tool",
    "command",
    "command_regex",
    "args",
    "piped_into",
    "path",
    "url",
    "domain",
    "mcp",
    "agent",
    "cwd",
    "access",
    "examples",
    "not_examples",
];

const SETTINGS_KEYS: &[&str] = &["ask_timeout", "disable", "approver", "accept_edits", "ask_via"];

const AGENTS: &[&str] = &["claude-code", "claude", "codex", "gemini-cli", "gemini", "cursor", "copilot-cli", "hermes"];

/// Byte offset → 1-based line and column (in characters).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary_compat(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

trait FloorBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorBoundary for str {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<PolicyError>,
    macros: &'a Macros,
    /// Byte offsets where lines start, for cheap offset → line lookups.
    line_starts: Vec<usize>,
}

impl Ctx<'_> {
    fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// A TOML or serde error, at its own span or else at `offset`.
    fn toml_err(&mut self, e: &toml::de::Error, offset: usize) {
        let msg = e.message().trim().to_string();
        let hint = toml_hint(&msg);
        self.err(e.span().map(|s| s.start).unwrap_or(offset), msg, hint);
    }

    fn err(&mut self, offset: usize, message: impl Into<String>, hint: impl Into<String>) {
        let (line, col) = line_col(self.text, offset);
        self.errors.push(PolicyError {
            file: self.file.to_string(),
            line,
            col,
            message: message.into(),
            hint: hint.into(),
        });
    }
}

/// The closest known key, for "did you mean".
fn suggest(word: &str, known: &[&str]) -> Option<String> {
    known
        .iter()
        .map(|k| (edit_distance(word, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// What `~`, `@gate`, `@gate-bin` and `@agent-hooks` stand for in path patterns.
#[derive(Debug, Clone, Default)]
pub struct Macros {
    pub home: Option<String>,
    pub gate_dirs: Vec<String>,
    /// Every path a `gate` command can run from: the running binary, and
    /// `gate` in each directory of `PATH` (existing or not, since a new file
    /// earlier on `PATH` shadows the real one).
    pub gate_bins: Vec<String>,
    /// The files holding gate's hooks in an agent directory moved by an
    /// environment variable (`$CODEX_HOME/hooks.json`), which `~` patterns
    /// do not reach (`@agent-hooks`).
    pub agent_hooks: Vec<String>,
}

impl Macros {
    /// Expand one path pattern into the patterns it stands for.
    fn expand(&self, pattern: &str) -> Vec<String> {
        if pattern == "@gate" {
            return self.gate_dirs.clone();
        }
        if pattern == "@gate-bin" {
            return self.gate_bins.iter().map(|b| glob_literal(b)).collect();
        }
        if pattern == "@agent-hooks" {
            return self.agent_hooks.iter().map(|b| glob_literal(b)).collect();
        }
        if let Some(rest) = pattern.strip_prefix("@gate/") {
            return self.gate_dirs.iter().map(|d| format!("{}/{rest}", d.trim_end_matches('/'))).collect();
        }
        if pattern == "~" || pattern.starts_with("~/") {
            return match &self.home {
                Some(h) => vec![format!("{}{}", h.trim_end_matches('/'), &pattern[1..])],
                // No home: the pattern cannot match anything real.
                None => vec![],
            };
        }
        vec![pattern.to_string()]
    }
}

/// A path as a glob that matches only itself.
fn glob_literal(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The file's tables, each read on its own so that every unknown key and
/// every badly typed value in every rule is reported, not only the first
/// serde meets; the tables that read well are compiled after, for their
/// own errors. `None` when the file is not TOML.
fn raw_file(cx: &mut Ctx) -> Option<RawFile> {
    use serde::de::IntoDeserializer as _;
    use toml::de::{DeTable, DeValue};
    let root = match DeTable::parse(cx.text) {
        Ok(root) => root,
        Err(e) => {
            cx.toml_err(&e, 0);
            return None;
        }
    };
    let mut raw = RawFile { settings: None, rule: Vec::new() };
    // Each key not in `known` is an error of its own; `None` when there was one.
    fn checked<'i>(cx: &mut Ctx, value: &Spanned<DeValue<'i>>, known: &[&str], expected: &str) -> Option<Spanned<DeValue<'i>>> {
        let mut value = value.clone();
        let mut clean = true;
        if let DeValue::Table(table) = value.get_mut() {
            let unknown: Vec<_> = table.keys().filter(|k| !known.contains(&k.get_ref().as_ref())).cloned().collect();
            for key in unknown {
                let msg = format!("unknown field `{}`, expected {expected}", key.get_ref());
                cx.err(key.span().start, msg.clone(), toml_hint(&msg));
                table.remove(&key);
                clean = false;
            }
        }
        clean.then_some(value)
    }
    let one_of = |keys: &[&str]| keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    for (key, value) in root.get_ref() {
        match key.get_ref().as_ref() {
            "settings" => {
                let Some(value) = checked(cx, value, SETTINGS_KEYS, &format!("one of {}", one_of(SETTINGS_KEYS)))
                else {
                    continue;
                };
                match RawSettings::deserialize(value.clone().into_deserializer()) {
                    Ok(s) => raw.settings = Some(s),
                    Err(e) => cx.toml_err(&e, value.span().start),
                }
            }
            "rule" => {
                let DeValue::Array(items) = value.get_ref() else {
                    cx.err(value.span().start, "`rule` is not a list of tables", "write each rule under its own [[rule]]");
                    continue;
                };
                for item in items.iter() {
                    // A rule with a mistyped key is not compiled: its other errors would follow from the typo.
                    let Some(item) = checked(cx, item, RULE_KEYS, &format!("one of {}", one_of(RULE_KEYS))) else {
                        continue;
                    };
                    match Spanned::<RawRule>::deserialize(item.clone().into_deserializer()) {
                        Ok(r) => raw.rule.push(r),
                        Err(e) => cx.toml_err(&e, item.span().start),
                    }
                }
            }
            other => {
                let msg = format!("unknown field `{other}`, expected `settings` or `rule`");
                cx.err(key.span().start, msg.clone(), toml_hint(&msg));
            }
        }
    }
    Some(raw)
}

/// Parse and compile one policy file. `file` is how errors and origins
/// name it. All problems are collected; any problem means no rules.
pub fn parse(text: &str, file: &str, layer: Layer, macros: &Macros) -> Result<PolicyFile, Vec<PolicyError>> {
    let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let mut cx = Ctx { file, text, errors: Vec::new(), macros, line_starts };
    let raw = match raw_file(&mut cx) {
        Some(r) => r,
        None => return Err(cx.errors),
    };
    let mut settings = Settings::default();
    if let Some(s) = raw.settings {
        if let Some(t) = s.ask_timeout {
            if *t.get_ref() <= 0 || *t.get_ref() > 86_400 {
                cx.err(
                    t.span().start,
                    "ask_timeout must be between 1 and 86400 seconds",
                    "300 (five minutes) is the default",
                );
            } else {
                settings.ask_timeout = Some(*t.get_ref() as u64);
            }
        }
        settings.disable = s.disable.iter().map(|d| d.get_ref().clone()).collect();
        settings.approver = s.approver;
        if let Some(v) = s.ask_via {
            match v.get_ref().iter().find(|x| !ASK_VIA.contains(&x.as_str())) {
                Some(bad) => cx.err(
                    v.span().start,
                    format!("ask_via names {bad:?}, which is not a place to answer"),
                    "use any of \"watch\", \"web\" and \"cli\"; [\"watch\", \"web\"] is the default",
                ),
                None if v.get_ref().is_empty() => cx.err(
                    v.span().start,
                    "ask_via is empty, so no question could ever be answered",
                    "use any of \"watch\", \"web\" and \"cli\"; [\"watch\", \"web\"] is the default",
                ),
                None => settings.ask_via = Some(v.get_ref().clone()),
            }
        }
        if let Some(a) = s.accept_edits {
            match a.get_ref().as_str() {
                "follow" => settings.accept_edits = Some(AcceptEdits::Follow),
                "ask" => settings.accept_edits = Some(AcceptEdits::Ask),
                other => cx.err(
                    a.span().start,
                    format!("accept_edits {other:?} is not \"follow\" or \"ask\""),
                    "\"follow\" (the default) lets the agent's accept-edits mode approve writes inside the project; \"ask\" asks for every edit",
                ),
            }
        }
    }
    let mut rules = Vec::new();
    let mut seen: Vec<(String, usize)> = Vec::new();
    for spanned in &raw.rule {
        let start = spanned.span().start;
        let line = cx.line_of(start);
        let r = spanned.get_ref();
        let Some(id) = &r.id else {
            cx.err(start, "rule has no `id`", "add a unique id, e.g. id = \"no-publish\"");
            continue;
        };
        let id_text = id.get_ref().trim().to_string();
        if id_text.is_empty() || !id_text.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) {
            cx.err(
                id.span().start,
                format!("rule id {:?} is not valid", id.get_ref()),
                "use letters, digits, `-`, `_`, `.` or `:`",
            );
            continue;
        }
        if let Some((_, first)) = seen.iter().find(|(s, _)| *s == id_text) {
            cx.err(
                id.span().start,
                format!("rule id {id_text:?} is used twice (first at line {first})"),
                "give every rule its own id",
            );
            continue;
        }
        seen.push((id_text.clone(), line));
        let Some(decision) = &r.decision else {
            cx.err(
                start,
                format!("rule {id_text:?} has no `decision`"),
                "add decision = \"allow\", \"ask\" or \"deny\"",
            );
            continue;
        };
        let decision = match decision.get_ref().as_str() {
            "allow" => Decision::Allow,
            "ask" => Decision::Ask,
            "deny" => Decision::Deny,
            other => {
                cx.err(
                    decision.span().start,
                    format!("decision {other:?} is not allow, ask or deny"),
                    "use one of \"allow\", \"ask\", \"deny\"",
                );
                continue;
            }
        };
        let errors_before = cx.errors.len();
        let matchers = compile_matchers(&mut cx, r, start, &id_text);
        if cx.errors.len() > errors_before {
            continue;
        }
        let rule = Rule {
            id: id_text.clone(),
            decision,
            message: r.message.clone(),
            layer,
            origin: format!("{file}:{line}"),
            matchers,
        };
        check_examples(&mut cx, &rule, r);
        rules.push(std::sync::Arc::new(rule));
    }
    if cx.errors.is_empty() {
        Ok(PolicyFile { rules, settings })
    } else {
        Err(cx.errors)
    }
}

fn toml_hint(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or("");
        let known: &[&str] = if msg.contains("ask_timeout") {
            SETTINGS_KEYS
        } else if msg.contains("decision") {
            RULE_KEYS
        } else {
            &["rule", "settings"]
        };
        return match suggest(field, known) {
            Some(s) => format!("did you mean `{s}`? `gate policy docs` lists the keys"),
            None => "remove it; `gate policy docs` lists the keys".into(),
        };
    }
    if msg.contains("data did not match any variant") {
        return "use a string or a list of strings".into();
    }
    if msg.contains("invalid type") {
        return "check the value's type in `gate policy docs`".into();
    }
    "fix the TOML syntax at this place".into()
}

fn strings(v: &Option<Spanned<OneOrMany>>) -> Vec<Item> {
    match v {
        Some(s) => s.get_ref().items().into_iter().map(|text| Item { text, span: s.span() }).collect(),
        None => Vec::new(),
    }
}

fn compile_matchers(cx: &mut Ctx<'_>, r: &RawRule, start: usize, id: &str) -> Matchers {
    let mut m = Matchers::default();
    let errors_at_start = cx.errors.len();
    for t in strings(&r.tool) {
        let name = t.get_ref().trim();
        match Kind::parse(name) {
            Some(k) => m.tool.push(ToolMatch::Kind(k)),
            None if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-:".contains(c)) => {
                m.tool.push(ToolMatch::Name(name.to_string()))
            }
            None => cx.err(
                t.span().start,
                format!("tool {name:?} is neither a kind nor a tool name"),
                "kinds: shell, read, write, edit, search, fetch, mcp, agent, other; or a tool name like Bash",
            ),
        }
    }
    for c in strings(&r.command) {
        let words = command_words(c.get_ref());
        if words.is_empty() {
            cx.err(c.span().start, "command is empty", "give the program and any leading words, e.g. \"npm publish\"");
            continue;
        }
        let mut prefix = Vec::new();
        for w in words {
            if w.bytes().any(|b| matches!(b, b'*' | b'?' | b'[')) {
                match Glob::whole(&w) {
                    Ok(g) => prefix.push(WordPat::Glob(g)),
                    Err(e) => {
                        cx.err(c.span().start, format!("bad glob in command: {e}"), "escape a literal `[` as `\\[`")
                    }
                }
            } else {
                prefix.push(WordPat::Exact(w));
            }
        }
        m.command.push(prefix);
    }
    if let Some(re) = &r.command_regex {
        // Check the syntax now (cheap); compile on first use.
        match regex_syntax::Parser::new().parse(re.get_ref()) {
            Ok(_) => m.command_regex = Some(LazyRegex::new(re.get_ref())),
            Err(e) => {
                let first = e.to_string().lines().last().unwrap_or("").trim().to_string();
                cx.err(
                    re.span().start,
                    format!("bad regex in command_regex: {first}"),
                    "the syntax is Rust's regex crate; escape `(` `.` `*` with `\\\\`",
                )
            }
        }
    }
    for group in r.args.iter().flatten() {
        let words: Vec<String> = group.get_ref().items();
        if words.is_empty() {
            cx.err(group.span().start, "an args group is empty", "each group lists words of which one must be present");
        }
        m.args.push(words);
    }
    m.piped_into = strings(&r.piped_into).iter().map(|s| s.get_ref().clone()).collect();
    for p in strings(&r.path) {
        for pattern in cx.macros.expand(p.get_ref()) {
            match Glob::path(&pattern) {
                Ok(g) => m.path.push(g),
                Err(e) => cx.err(
                    p.span().start,
                    format!("bad glob in path: {e}"),
                    "`gate policy docs` describes the glob syntax",
                ),
            }
        }
    }
    for u in strings(&r.url) {
        match Glob::whole(u.get_ref()) {
            Ok(g) => m.url.push(g),
            Err(e) => cx.err(u.span().start, format!("bad glob in url: {e}"), "e.g. url = \"https://github.com/*\""),
        }
    }
    for d in strings(&r.domain) {
        let text = d.get_ref().trim().to_ascii_lowercase();
        if text.contains('/') || text.is_empty() {
            cx.err(
                d.span().start,
                format!("domain {:?} is not a host name", d.get_ref()),
                "give a host such as \"example.com\" or \"*.example.com\"; use `url` for paths",
            );
            continue;
        }
        match Glob::whole(&text) {
            Ok(g) => m.domain.push(g),
            Err(e) => cx.err(d.span().start, format!("bad glob in domain: {e}"), ""),
        }
    }
    for s in strings(&r.mcp) {
        let text = s.get_ref();
        let (server, tool) = match text.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (text.as_str(), None),
        };
        match (Glob::whole(server), tool.map(Glob::whole).transpose()) {
            (Ok(a), Ok(b)) => m.mcp.push((a, b)),
            _ => cx.err(
                s.span().start,
                format!("bad mcp pattern {text:?}"),
                "use \"server\" or \"server/tool\", with globs",
            ),
        }
    }
    for a in strings(&r.agent) {
        if !AGENTS.contains(&a.get_ref().as_str()) {
            cx.err(a.span().start, format!("unknown agent {:?}", a.get_ref()), format!("one of {}", AGENTS.join(", ")));
        } else {
            m.agent.push(a.get_ref().clone());
        }
    }
    for c in strings(&r.cwd)
        .iter()
        .flat_map(|c| cx.macros.expand(c.get_ref()).into_iter().map(move |e| (c.span(), e)))
        .collect::<Vec<_>>()
    {
        let (span, pattern) = c;
        match Glob::path(&ensure_dir_glob(&pattern)) {
            Ok(g) => m.cwd.push(g),
            Err(e) => cx.err(span.start, format!("bad glob in cwd: {e}"), ""),
        }
    }
    if let Some(a) = &r.access {
        match a.get_ref().as_str() {
            "any" => {}
            // `path` may expand to nothing here (`@gate-bin` with no binary known).
            "write" if r.path.is_some() => m.writes_only = true,
            "write" => cx.err(
                a.span().start,
                "access = \"write\" needs a `path`",
                "it narrows `path` to the files a call may write; add the paths",
            ),
            other => cx.err(
                a.span().start,
                format!("access {other:?} is neither \"any\" nor \"write\""),
                "access = \"write\" matches `path` only where the call may write",
            ),
        }
    }
    if cx.errors.len() > errors_at_start {
        return m;
    }
    // Rules that can never match.
    let shell_only =
        !m.command.is_empty() || m.command_regex.is_some() || !m.args.is_empty() || !m.piped_into.is_empty();
    let fetch_only = !m.url.is_empty() || !m.domain.is_empty();
    let mcp_only = !m.mcp.is_empty();
    let families = [shell_only, fetch_only, mcp_only].iter().filter(|b| **b).count();
    if families > 1 {
        cx.err(start, format!("rule {id:?} can never match: it mixes command, url/domain and mcp matchers, which apply to different tools"), "split it into one rule per kind of tool");
    }
    let kinds: Vec<Kind> =
        m.tool.iter().filter_map(|t| if let ToolMatch::Kind(k) = t { Some(*k) } else { None }).collect();
    let kinds_only = m.tool.iter().all(|t| matches!(t, ToolMatch::Kind(_)));
    if !m.tool.is_empty() && kinds_only {
        let clash = (shell_only && !kinds.contains(&Kind::Shell))
            || (fetch_only && !kinds.contains(&Kind::Fetch))
            || (mcp_only && !kinds.contains(&Kind::Mcp));
        if clash {
            cx.err(
                start,
                format!("rule {id:?} can never match: its tool list excludes the tools its other matchers apply to"),
                "remove `tool`, or add the kind the matchers need (shell, fetch or mcp)",
            );
        }
    }
    if m.tool.is_empty() && m.agent.is_empty() && m.cwd.is_empty() && !m.has_subject_matcher() {
        cx.err(
            start,
            format!("rule {id:?} has no matcher, so it would match every tool call"),
            "add command, tool, path, url, domain, mcp, agent or cwd",
        );
    }
    m
}

fn ensure_dir_glob(p: &str) -> String {
    p.trim_end_matches('/').to_string()
}

/// Split a `command` pattern into words: whitespace separates words, and
/// single or double quotes keep spaces inside one.
pub fn command_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

fn check_examples(cx: &mut Ctx<'_>, rule: &Rule, raw: &RawRule) {
    for ex in &raw.examples {
        if !super::rule_matches_command_line(rule, ex.get_ref()) {
            cx.err(
                ex.span().start,
                format!("rule {:?} does not match its example {:?}", rule.id, ex.get_ref()),
                "fix the matchers, or move the line to not_examples",
            );
        }
    }
    for ex in &raw.not_examples {
        if super::rule_matches_command_line(rule, ex.get_ref()) {
            cx.err(
                ex.span().start,
                format!("rule {:?} matches {:?}, listed in not_examples", rule.id, ex.get_ref()),
                "narrow the matchers, or move the line to examples",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let t = "a\nbc\néd";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 2));
        assert_eq!(line_col(t, 7), (3, 2));
        assert_eq!(line_col(t, 8), (3, 3));
    }

    #[test]
    fn suggestions_for_typos() {
        assert_eq!(suggest("comand", RULE_KEYS).as_deref(), Some("command"));
        assert_eq!(suggest("desicion", RULE_KEYS).as_deref(), Some("decision"));
        assert_eq!(suggest("zzzzzz", RULE_KEYS), None);
    }

    #[test]
    fn access_takes_write_or_any_and_needs_a_path() {
        let m = Macros::default();
        let rule = |extra: &str| format!("[[rule]]\nid = \"r\"\ndecision = \"deny\"\n{extra}\n");
        let cases: &[(&str, Option<bool>)] = &[
            ("path = \"/x\"\naccess = \"write\"", Some(true)),
            ("path = \"/x\"\naccess = \"any\"", Some(false)),
            ("path = \"/x\"", Some(false)),
            ("tool = \"write\"\naccess = \"write\"", None),
            ("path = \"/x\"\naccess = \"read\"", None),
        ];
        for (extra, want) in cases {
            let got = parse(&rule(extra), "t", Layer::User, &m).ok().map(|f| f.rules[0].matchers.writes_only);
            assert_eq!(got, *want, "{extra}");
        }
    }
}
