//! The policy commands: `gate policy check` (validate every layer, report
//! `file:line:col` errors with hints, exit 1 on any), `gate policy show`
//! (the effective rules and where each comes from), `gate floor` (the
//! read-only floor), `gate init` (a starter user policy) and `gate trust`
//! (let a project's allow rules apply, keyed to the file's hash).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;

use crate::config::{self, Loaded};
use crate::paths::Paths;
use crate::policy::load;
use crate::policy::rule::Layer;
use crate::term::{self, Paint};

/// The starter user policy `gate init` writes.
pub const STARTER_POLICY: &str = include_str!("../../policies/starter.toml");

fn cwd_or(cwd: Option<String>) -> anyhow::Result<String> {
    let here = std::env::current_dir()?.to_string_lossy().into_owned();
    Ok(match cwd {
        Some(c) => crate::floor::normalize(&c, &here, None),
        None => here,
    })
}

/// One finding of `gate policy check`: an error fails the check, a warning does not.
#[derive(serde::Serialize)]
struct Finding {
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    col: Option<usize>,
    message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    hint: String,
    #[serde(skip)]
    text: String,
}

impl Finding {
    fn of(e: &load::PolicyError) -> Finding {
        Finding {
            file: e.file.clone(),
            line: Some(e.line),
            col: Some(e.col),
            message: e.message.clone(),
            hint: e.hint.clone(),
            text: e.to_string(),
        }
    }
    fn plain(file: &str, message: String) -> Finding {
        Finding { file: file.into(), line: None, col: None, text: format!("{file}: {message}"), message, hint: String::new() }
    }
}

pub fn run_check(cwd: Option<String>, files: Vec<String>, json_out: bool) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let cwd = cwd_or(cwd)?;
    let loaded = config::load(&paths, &cwd);
    let mut errors: Vec<Finding> = Vec::new();
    let mut warnings: Vec<Finding> = Vec::new();
    for f in &loaded.files {
        errors.extend(f.errors.iter().map(Finding::of));
    }
    for b in loaded.set.broken.iter().filter(|b| b.contains("cannot read")) {
        let (file, message) = b.split_once(": ").unwrap_or(("", b));
        errors.push(Finding::plain(file, message.to_string()));
    }
    let macros = config::macros(&paths);
    let mut extra_rules = 0;
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                errors.push(Finding::plain(f, format!("cannot read: {e}")));
                continue;
            }
        };
        match load::parse(&text, f, Layer::User, &macros) {
            Ok(parsed) => extra_rules += parsed.rules.len(),
            Err(errs) => errors.extend(errs.iter().map(Finding::of)),
        }
    }
    // `disable` must name default rules that exist.
    if let Ok(defaults) = load::parse(config::DEFAULT_POLICY, config::DEFAULT_POLICY_NAME, Layer::Default, &macros) {
        for id in &loaded.settings.disable {
            if !defaults.rules.iter().any(|r| &r.id == id) {
                errors.push(Finding::plain(
                    &paths.user_policy().display().to_string(),
                    format!("settings.disable names {id:?}, which is not a default rule (hint: `gate policy show` lists the default rule ids)"),
                ));
            }
        }
    }
    // Only the user may turn default rules off: a project or managed file's `disable` does nothing.
    for f in loaded.files.iter().filter(|f| matches!(f.layer, Layer::Project | Layer::Managed) && f.errors.is_empty()) {
        let Ok(text) = std::fs::read_to_string(&f.path) else { continue };
        if let Ok(parsed) = load::parse(&text, &f.path, f.layer, &macros) {
            if !parsed.settings.disable.is_empty() {
                warnings.push(Finding::plain(
                    &f.path,
                    format!(
                        "settings.disable ({}) is ignored: only your user policy may turn default rules off",
                        parsed.settings.disable.join(", ")
                    ),
                ));
            }
        }
    }
    let notes: Vec<String> = loaded
        .files
        .iter()
        .filter(|f| f.layer == Layer::Project && !f.trusted && f.ignored_allows > 0)
        .map(|f| format!("{}: {} allow rule(s) are ignored until you run `gate trust {}`", f.path, f.ignored_allows, f.path))
        .collect();
    let rules: usize = loaded.files.iter().map(|f| f.rules).sum::<usize>() + extra_rules;
    let file_count = loaded.files.len() + files.len();
    let code = if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) };
    if json_out {
        let out = json!({
            "ok": errors.is_empty(),
            "files": loaded.files.iter().map(|f| json!({"layer": f.layer.as_str(), "path": f.path, "rules": f.rules, "errors": f.errors.len()})).chain(files.iter().map(|f| json!({"layer": "user", "path": f}))).collect::<Vec<_>>(),
            "rules": rules,
            "errors": errors,
            "warnings": warnings,
            "notes": notes,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(code);
    }
    let mut out = std::io::stdout().lock();
    for e in &errors {
        writeln!(out, "{}", term::sanitize(&e.text))?;
    }
    for w in &warnings {
        writeln!(out, "warning: {}", term::sanitize(&w.text))?;
    }
    for n in &notes {
        writeln!(out, "note: {}", term::sanitize(n))?;
    }
    if errors.is_empty() {
        writeln!(out, "ok: {rules} rules in {file_count} policy files")?;
    } else {
        let in_files = errors.iter().map(|e| e.file.as_str()).collect::<std::collections::BTreeSet<_>>().len();
        writeln!(
            out,
            "gate policy check: {} error{} in {in_files} file{}",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            if in_files == 1 { "" } else { "s" }
        )?;
    }
    Ok(code)
}

/// `gate policy docs`: the policy format, as shipped in policies/README.md.
pub fn run_docs() -> anyhow::Result<ExitCode> {
    print!("{POLICY_DOCS}");
    Ok(ExitCode::SUCCESS)
}

/// The policy format reference, built into the binary so an installed gate has it.
pub const POLICY_DOCS: &str = include_str!("../../policies/README.md");

fn describe(r: &crate::policy::rule::Rule) -> String {
    let m = &r.matchers;
    let mut parts: Vec<String> = Vec::new();
    if !m.tool.is_empty() {
        parts.push(format!(
            "tool={}",
            m.tool
                .iter()
                .map(|t| match t {
                    crate::policy::rule::ToolMatch::Kind(k) => k.as_str().to_string(),
                    crate::policy::rule::ToolMatch::Name(n) => n.clone(),
                })
                .collect::<Vec<_>>()
                .join("|")
        ));
    }
    if !m.command.is_empty() {
        parts.push(format!(
            "command={}",
            m.command
                .iter()
                .map(|p| p
                    .iter()
                    .map(|w| match w {
                        crate::policy::rule::WordPat::Exact(s) => s.clone(),
                        crate::policy::rule::WordPat::Glob(g) => g.as_str().to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(" "))
                .collect::<Vec<_>>()
                .join("|")
        ));
    }
    if let Some(re) = &m.command_regex {
        parts.push(format!("command_regex={}", re.source));
    }
    if !m.args.is_empty() {
        parts.push(format!("args={}", m.args.iter().map(|g| g.join("|")).collect::<Vec<_>>().join(" & ")));
    }
    if !m.piped_into.is_empty() {
        parts.push(format!("piped_into={}", m.piped_into.join("|")));
    }
    for (name, globs) in [("path", &m.path), ("url", &m.url), ("domain", &m.domain), ("cwd", &m.cwd)] {
        if !globs.is_empty() {
            parts.push(format!("{name}={}", globs.iter().map(|g| g.as_str()).collect::<Vec<_>>().join("|")));
        }
    }
    if !m.agent.is_empty() {
        parts.push(format!("agent={}", m.agent.join("|")));
    }
    parts.join(" ")
}

pub fn run_show(cwd: Option<String>, json_out: bool) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let cwd = cwd_or(cwd)?;
    let loaded = config::load(&paths, &cwd);
    let (follow, edits_origin) = loaded.accept_edits();
    let accept_edits = if follow { "follow" } else { "ask" };
    let Loaded { set, files, settings, .. } = loaded;
    if json_out {
        let rules: Vec<_> = set
            .rules
            .iter()
            .map(|r| json!({"id": r.id, "decision": r.decision.as_str(), "layer": r.layer.as_str(), "origin": r.origin, "matchers": describe(r), "message": r.message}))
            .collect();
        let files: Vec<_> = files
            .iter()
            .map(|f| json!({"layer": f.layer.as_str(), "path": f.path, "trusted": f.trusted, "rules": f.rules, "ignored_allows": f.ignored_allows, "errors": f.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>()}))
            .collect();
        let out = json!({"files": files, "rules": rules, "broken": set.broken, "disabled": settings.disable, "ask_timeout": settings.ask_timeout, "accept_edits": {"value": accept_edits, "from": edits_origin}});
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    let p = Paint(term::colour_stdout());
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", p.bold("policy files (strictest decision wins across all of them):"))?;
    for f in &files {
        let mut note = String::new();
        if f.layer == Layer::Project {
            note = if f.trusted {
                " (trusted)".into()
            } else {
                format!(" (not trusted: {} allow rules ignored)", f.ignored_allows)
            };
        }
        if !f.errors.is_empty() {
            note.push_str(&format!(" BROKEN: {}", f.errors[0]));
        }
        writeln!(
            out,
            "  {:<8} {}  {} rules{}",
            f.layer.as_str(),
            term::sanitize(&f.path),
            f.rules,
            term::sanitize(&note)
        )?;
    }
    if !settings.disable.is_empty() {
        writeln!(out, "  disabled default rules: {}", settings.disable.join(", "))?;
    }
    writeln!(out, "  accept_edits = {accept_edits:?} ({})", term::sanitize(&edits_origin))?;
    writeln!(out, "{}", p.bold("rules:"))?;
    // Rules come file by file: each file's path once, then its rules with their lines.
    let mut current_file = None;
    for r in &set.rules {
        let (file, line) = match r.origin.rsplit_once(':') {
            Some((f, l)) if l.parse::<usize>().is_ok() => (f, format!("line {l}")),
            _ => (r.origin.as_str(), String::new()),
        };
        if current_file != Some(file) {
            writeln!(out, "  {}", p.dim(&term::sanitize(file)))?;
            current_file = Some(file);
        }
        let d = match r.decision {
            crate::policy::Decision::Allow => p.green("allow").into_owned(),
            crate::policy::Decision::Ask => p.yellow("ask  ").into_owned(),
            crate::policy::Decision::Deny => p.red("deny ").into_owned(),
        };
        writeln!(out, "  {d}  {:<28} {}", r.id, p.dim(&line))?;
        writeln!(out, "         {}", term::sanitize(&describe(r)))?;
    }
    writeln!(out, "{}", p.dim("The read-only floor applies under these rules: `gate floor` lists it."))?;
    Ok(ExitCode::SUCCESS)
}

pub fn run_floor(json_out: bool) -> anyhow::Result<ExitCode> {
    let entries = crate::floor::entries();
    if json_out {
        let v: Vec<_> = entries
            .iter()
            .map(|(name, s)| json!({"program": name, "reason": s.reason, "short": s.short, "short_with_value": s.short_arg, "long": s.long, "long_with_value": s.long_arg, "operands": format!("{:?}", s.operands).to_lowercase(), "max_operands": s.max_operands, "check": s.check}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let p = Paint(term::colour_stdout());
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        p.bold(
            "gate's read-only floor (policies/floor.toml): a command passes only if every part of it is listed here"
        )
    )?;
    for (name, s) in &entries {
        writeln!(out, "{}  {}", p.bold(name), s.reason)?;
        let mut flags: Vec<String> = s.short.chars().map(|c| format!("-{c}")).collect();
        flags.extend(s.short_arg.chars().map(|c| format!("-{c} X")));
        flags.extend(s.long.iter().map(|l| format!("--{l}")));
        flags.extend(s.long_arg.iter().map(|l| format!("--{l}=X")));
        if s.numeric {
            flags.push("-NUM".into());
        }
        if !flags.is_empty() {
            writeln!(out, "    flags: {}", flags.join(" "))?;
        }
        if let Some(c) = &s.check {
            writeln!(out, "    checked by code: {c}")?;
        }
    }
    let f = crate::floor::floor();
    writeln!(out, "{}", p.bold("sensitive files (reads ask):"))?;
    writeln!(out, "    names: {}", f.sensitive.names.join(" "))?;
    writeln!(out, "    paths: {}", f.sensitive.dirs.join(" "))?;
    writeln!(out, "    safe variable assignments: {}", f.safe_env.join(" "))?;
    Ok(ExitCode::SUCCESS)
}

pub fn run_init(force: bool) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let path = paths.user_policy();
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) if !force => Some(text),
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let Some(existing) = existing else {
        paths.ensure_dirs()?;
        write_atomic(&path, STARTER_POLICY.as_bytes())?;
        println!("wrote {}; check it with `gate policy check`", path.display());
        return Ok(ExitCode::SUCCESS);
    };
    let (text, added) = merge_starter(&existing)
        .map_err(|e| anyhow::anyhow!("{}: {e}; fix it first (`gate policy check` shows where)", path.display()))?;
    if added.is_empty() {
        println!("{} already has everything the starter policy adds; nothing to do", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    write_atomic(&path, text.as_bytes())?;
    println!("added to {} (no rule of yours was changed):", path.display());
    for a in &added {
        println!("  {a}");
    }
    println!("check it with `gate policy check`");
    Ok(ExitCode::SUCCESS)
}

/// The starter policy's parts an existing user policy lacks, appended to
/// it: the `[settings]` table (its settings commented out) when the file
/// has none, and each commented example rule whose id the file does not
/// mention. Nothing already there is changed. Returns the new text and
/// what was added, or why the file cannot be merged into.
fn merge_starter(existing: &str) -> Result<(String, Vec<String>), String> {
    let doc: toml::Table = toml::from_str(existing).map_err(|e| format!("not valid TOML ({})", e.message().trim()))?;
    let mut text = existing.to_string();
    let mut added = Vec::new();
    for block in STARTER_POLICY.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        let what = if block.lines().any(|l| l.trim() == "[settings]") {
            if doc.contains_key("settings") {
                continue;
            }
            "the [settings] table, its settings commented out".to_string()
        } else if let Some(id) = block.lines().find_map(|l| l.strip_prefix("# id = ")) {
            let id = id.trim_matches('"');
            if existing.contains(id) {
                continue;
            }
            format!("the example rule {id} (commented out)")
        } else {
            // The header: only a new file needs it.
            continue;
        };
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!("\n{block}\n"));
        added.push(what);
    }
    Ok((text, added))
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("path has no directory")?;
    std::fs::create_dir_all(dir)?;
    let tmp =
        dir.join(format!(".{}.tmp-{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("f"), std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn run_trust(path: Option<String>, revoke: bool) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let here = std::env::current_dir()?;
    let file: PathBuf = match path {
        Some(p) => {
            let p = PathBuf::from(p);
            if p.is_dir() {
                p.join(".gate/policy.toml")
            } else {
                p
            }
        }
        None => config::project_files(&here)
            .pop()
            .context("no .gate/policy.toml here or above; name the file: gate trust <path>")?,
    };
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let canon = std::fs::canonicalize(&file)?.to_string_lossy().into_owned();
    let hash = config::sha256_hex(&bytes);
    let mut entries: Vec<(String, String)> =
        config::read_trust(&paths).into_iter().filter(|(p, _)| *p != canon).collect();
    if !revoke {
        let macros = config::macros(&paths);
        let parsed = load::parse(&String::from_utf8_lossy(&bytes), &canon, Layer::Project, &macros)
            .map_err(|errs| anyhow::anyhow!("{}; fix it before trusting it", errs[0]))?;
        entries.push((canon.clone(), hash.clone()));
        let allows: Vec<_> = parsed.rules.iter().filter(|r| r.decision == crate::policy::Decision::Allow).collect();
        println!("trusting {canon} (sha256 {}…): its {} allow rule(s) now apply:", &hash[..12], allows.len());
        for r in allows {
            println!("  allow {:<24} {}", r.id, describe(r));
        }
        println!("Any edit to the file withdraws this trust.");
    } else {
        println!("no longer trusting {canon}");
    }
    let mut text = String::from("# Project policy files whose allow rules you trust. Written by `gate trust`.\n");
    for (p, h) in &entries {
        text.push_str(&format!("\n[[project]]\npath = {}\nsha256 = \"{h}\"\n", toml_string(p)));
    }
    paths.ensure_dirs()?;
    write_atomic(&paths.trust(), text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{}\"", s.replace('"', "")))
}
