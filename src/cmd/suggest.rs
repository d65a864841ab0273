//! `gate suggest`: allow rules learned from repeated human approvals. Each
//! approved call that still asks under the current policy gets the rule
//! the inbox's "always allow" would write for it; approvals are grouped by
//! that rule, and a group with at least `--min-count` approvals becomes a
//! suggestion unless any of its calls is excluded (network, secrets, gate's
//! or an agent's files, paths outside the repository: see
//! [`crate::review::suggest::exclusion`]), or its replay over the recorded
//! history would let through any call that was denied. The output is TOML
//! with the evidence and the replay in comments; `--apply` appends the
//! rules to the user policy after confirmation, keeping a backup, and rolls
//! back if the result does not load.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;

use crate::action::Action;
use crate::cli::SuggestArgs;
use crate::config::UserLayer;
use crate::paths::Paths;
use crate::policy::{Decision, Evaluation};
use crate::review::replay::{self, History};
use crate::review::suggest::{self as core, Evidence};
use crate::review::Decider;
use crate::store::Verdict;
use crate::term;

/// One proposed rule.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub id: String,
    pub rule: String,
    pub evidence: Evidence,
    pub newly_allowed: usize,
}

/// A group of approvals that gave no rule, and why.
#[derive(Debug, Clone)]
pub struct NotProposed {
    pub what: String,
    pub why: String,
    pub count: usize,
}

pub fn run(args: SuggestArgs) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let since = crate::cmd::replay::since_ms(&args.since)?;
    let history = crate::cmd::replay::load_history(&paths, since)?;
    let user_path = paths.user_policy();
    let user_text = match std::fs::read_to_string(&user_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", user_path.display())),
    };
    let min = args.min_count as usize;
    let (suggestions, not_proposed) = suggest(&paths, &history, &user_text, min, args.dialog);
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = json!({
            "since": crate::clock::format_ms(since),
            "min_count": min,
            "suggestions": suggestions.iter().map(|s| json!({
                "id": s.id,
                "rule": s.rule,
                "evidence": s.evidence,
                "replay": {"newly_allowed": s.newly_allowed, "denied_now_allowed": 0},
            })).collect::<Vec<_>>(),
            "not_proposed": not_proposed.iter().map(|n| json!({"what": n.what, "why": n.why, "count": n.count})).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = render(since, min, &suggestions, &not_proposed, &user_path.display().to_string());
    for line in text.lines() {
        writeln!(out, "{}", term::sanitize(line))?;
    }
    out.flush()?;
    if !args.apply {
        return Ok(ExitCode::SUCCESS);
    }
    if suggestions.is_empty() {
        writeln!(out, "nothing to apply")?;
        return Ok(ExitCode::SUCCESS);
    }
    drop(out);
    if !args.yes && !confirm(suggestions.len(), &user_path.display().to_string())? {
        println!("nothing written");
        return Ok(ExitCode::SUCCESS);
    }
    apply(&paths, &user_text, &suggestions)?;
    Ok(ExitCode::SUCCESS)
}

/// The rules `history` supports, and the approval groups that gave none.
pub fn suggest(
    paths: &Paths,
    history: &History,
    user_text: &str,
    min: usize,
    with_dialog: bool,
) -> (Vec<Suggestion>, Vec<NotProposed>) {
    let mut current = Decider::new(paths, UserLayer::Installed);
    let shell = crate::cmd::replay::shell_here;
    let actions: Vec<Option<Action>> = history.calls.iter().map(|c| replay::rebuild(c, &shell).ok()).collect();
    let evals: Vec<Option<Evaluation>> = actions.iter().map(|a| a.as_ref().map(|a| current.decide(a))).collect();

    // Approvals grouped by the rule the inbox would offer; refusals by why.
    let mut groups: Vec<(String, String, Evidence)> = Vec::new();
    let mut refused: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, c) in history.calls.iter().enumerate() {
        if !(c.approved_by_human() || (with_dialog && c.approved_in_dialog())) {
            continue;
        }
        let (Some(action), Some(eval)) = (&actions[i], &evals[i]) else { continue };
        // Already decided without asking under the current policy.
        if eval.verdict.decision != Decision::Ask {
            continue;
        }
        let what = c.target.clone().unwrap_or_else(|| c.tool.clone());
        let mut refuse = |why: String| *refused.entry((what.clone(), why)).or_default() += 1;
        if c.masked {
            refuse("its input held a secret (masked in the receipt)".into());
            continue;
        }
        let loaded = current.loaded(&c.cwd);
        let (home, gate_dirs) = (loaded.macros.home.clone(), loaded.macros.gate_dirs.clone());
        if let Some(why) = core::exclusion(action, eval, home.as_deref(), &gate_dirs) {
            refuse(why);
            continue;
        }
        let keys = crate::broker::grant_keys(action, eval);
        if let Some(k) = keys.iter().find(|k| !core::prefix_ok(k)) {
            refuse(format!(
                "a rule for `{}` would also cover arguments no one approved; only builds and tests are suggested as prefixes",
                k.trim_start_matches("prefix:")
            ));
            continue;
        }
        let Some(rule) =
            crate::broker::always_rule(action, eval, &keys).filter(|r| crate::redact::mask(r) == r.as_str())
        else {
            refuse(
                "no allow rule can say exactly what was approved (a policy rule asks for it, or it sets variables \
                 or redirects, which allow rules never cover)"
                    .into(),
            );
            continue;
        };
        let key = core::rule_key(&rule);
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, ev)) => ev.add(i, c),
            None => {
                let mut ev = Evidence::default();
                ev.add(i, c);
                groups.push((key, rule, ev));
            }
        }
    }
    let mut not_proposed: Vec<NotProposed> = refused
        .into_iter()
        .filter(|(_, n)| *n >= min)
        .map(|((what, why), count)| NotProposed { what, why, count })
        .collect();
    groups.retain(|(_, _, ev)| ev.count(with_dialog) >= min);
    groups.sort_by(|a, b| b.2.count(with_dialog).cmp(&a.2.count(with_dialog)).then(a.0.cmp(&b.0)));

    // Each rule is replayed over the whole history, added to the user policy.
    let user_name = paths.user_policy().display().to_string();
    let mut taken: Vec<String> = Vec::new();
    let mut suggestions: Vec<Suggestion> = Vec::new();
    for (_, rule, ev) in groups {
        let id = (1..)
            .map(|n| format!("suggested-{n}"))
            .find(|id| !user_text.contains(&format!("\"{id}")) && !taken.contains(id))
            .expect("an unused id");
        let rule = core::with_ids(&rule, &id);
        let example = ev.examples.first().cloned().unwrap_or_default();
        match replay_rules(paths, history, &actions, &evals, user_text, &user_name, &[&rule]) {
            Err(why) => not_proposed.push(NotProposed { what: example, why, count: ev.calls.len() }),
            Ok((_, denied)) if !denied.is_empty() => not_proposed.push(NotProposed {
                what: example,
                why: format!(
                    "its replay would let through {} recorded call{} that {} denied (e.g. {})",
                    denied.len(),
                    if denied.len() == 1 { "" } else { "s" },
                    if denied.len() == 1 { "was" } else { "were" },
                    denied[0]
                ),
                count: ev.calls.len(),
            }),
            Ok((0, _)) => {}
            Ok((newly, _)) => {
                taken.push(id.clone());
                suggestions.push(Suggestion { id, rule, evidence: ev, newly_allowed: newly });
            }
        }
    }
    // Together, too: two rules can cover the parts of one denied line.
    if suggestions.len() > 1 {
        let rules: Vec<&str> = suggestions.iter().map(|s| s.rule.as_str()).collect();
        let why = match replay_rules(paths, history, &actions, &evals, user_text, &user_name, &rules) {
            Ok((_, denied)) if denied.is_empty() => None,
            Ok((_, denied)) => Some(format!("their replay would let through a recorded denied call ({})", denied[0])),
            Err(why) => Some(why),
        };
        if let Some(why) = why {
            let count = suggestions.len();
            not_proposed.push(NotProposed { what: "the suggested rules together".into(), why, count });
            suggestions.clear();
        }
    }
    (suggestions, not_proposed)
}

/// Replay `rules` appended to the user policy: how many calls it newly
/// allows, and the recorded denied calls it would allow.
fn replay_rules(
    paths: &Paths,
    history: &History,
    actions: &[Option<Action>],
    evals: &[Option<Evaluation>],
    user_text: &str,
    user_name: &str,
    rules: &[&str],
) -> Result<(usize, Vec<String>), String> {
    let text = appended(user_text, rules);
    let parsed = crate::config::parse_user_text(paths, &text, user_name)
        .map_err(|e| format!("the rule would not load: {}", e[0]))?;
    let mut proposed = Decider::new(paths, UserLayer::Proposed { name: user_name.to_string(), parsed: Ok(parsed) });
    let mut newly = 0;
    let mut denied = Vec::new();
    for ((c, action), eval) in history.calls.iter().zip(actions).zip(evals) {
        let (Some(action), Some(eval)) = (action, eval) else { continue };
        let new = proposed.decide(action).verdict.decision;
        if core::newly_allowed(eval.verdict.decision, new) {
            newly += 1;
        }
        if c.last == Verdict::Denied && new == Decision::Allow {
            denied.push(c.target.clone().unwrap_or_else(|| c.tool.clone()));
        }
    }
    Ok((newly, denied))
}

/// The user policy with `rules` appended.
fn appended(user_text: &str, rules: &[&str]) -> String {
    let mut text = user_text.to_string();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    for r in rules {
        text.push('\n');
        text.push_str(r);
    }
    text
}

/// A comment line: untrusted text with every control character escaped, so
/// it cannot end the comment.
fn comment(s: &str) -> String {
    term::sanitize(s).into_owned()
}

/// The evidence and replay of one suggestion, as TOML comments, then the rule.
fn block(s: &Suggestion) -> String {
    let ev = &s.evidence;
    let approvers: Vec<&str> = ev.approvers.iter().map(String::as_str).collect();
    let mut out = format!(
        "# {}: approved {} time{} by {} in {} session{}, {} to {}\n",
        s.id,
        ev.human,
        if ev.human == 1 { "" } else { "s" },
        comment(&if approvers.is_empty() { "-".to_string() } else { approvers.join(", ") }),
        ev.sessions.len(),
        if ev.sessions.len() == 1 { "" } else { "s" },
        crate::clock::format_ms(ev.first_ms),
        crate::clock::format_ms(ev.last_ms),
    );
    if ev.dialog > 0 {
        out.push_str(&format!(
            "#   and {} more ran after the agent's own permission dialog (weaker: gate cannot tell a human saw it)\n",
            ev.dialog
        ));
    }
    for e in &ev.examples {
        out.push_str(&format!("#   e.g. {}\n", comment(&term::ellipsize(e, 100))));
    }
    out.push_str(&format!(
        "# replay: would newly auto-allow {} recorded call{}; 0 recorded denied calls would become allowed\n",
        s.newly_allowed,
        if s.newly_allowed == 1 { "" } else { "s" }
    ));
    out.push_str(&s.rule);
    out
}

/// The whole output: valid TOML, so it can be saved and checked.
pub fn render(since: i64, min: usize, suggestions: &[Suggestion], not_proposed: &[NotProposed], user: &str) -> String {
    let mut out = format!(
        "# gate suggest: allow rules from human approvals since {} (at least {min} each)\n",
        crate::clock::format_ms(since)
    );
    if suggestions.is_empty() {
        out.push_str("# No rule to propose.\n");
    } else {
        out.push_str(&format!("# Review them; `gate suggest --apply` appends them to {}.\n", comment(user)));
    }
    for s in suggestions {
        out.push('\n');
        out.push_str(&block(s));
    }
    if !not_proposed.is_empty() {
        out.push_str("\n# Not proposed:\n");
        for n in not_proposed {
            out.push_str(&format!(
                "#   {} (approved {} time{}): {}\n",
                comment(&term::ellipsize(&n.what, 100)),
                n.count,
                if n.count == 1 { "" } else { "s" },
                comment(&n.why)
            ));
        }
    }
    out
}

/// Ask on the terminal whether to append.
fn confirm(n: usize, path: &str) -> anyhow::Result<bool> {
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").map_err(|e| {
        anyhow::anyhow!("no terminal to confirm on (/dev/tty: {e}); pass --yes to append without asking")
    })?;
    let term = console::Term::read_write_pair(tty.try_clone()?, tty);
    dialoguer::Confirm::with_theme(&dialoguer::theme::SimpleTheme)
        .with_prompt(format!("Append {n} rule{} to {path}?", if n == 1 { "" } else { "s" }))
        .default(false)
        .interact_on(&term)
        .map_err(|e| anyhow::anyhow!("the terminal prompt failed: {e}"))
}

const HEADER: &str = "# gate user policy. Its rules apply with the built-in default policy and any\n\
                      # project policy; across all of them the strictest decision wins.\n\
                      # Check it with `gate policy check`.\n";

/// Append the rules, with their evidence, to the user policy: a backup
/// first, then an atomic write, then a load of the result; a result that
/// does not load is rolled back.
fn apply(paths: &Paths, user_text: &str, suggestions: &[Suggestion]) -> anyhow::Result<()> {
    let path = paths.user_policy();
    paths.ensure_dirs()?;
    let existed = path.exists();
    let backup = path.with_file_name(format!("policy.toml.bak-{}", crate::clock::now_ms()));
    if existed {
        std::fs::copy(&path, &backup).with_context(|| format!("cannot back up {}", path.display()))?;
    }
    let base = if existed { user_text.to_string() } else { HEADER.to_string() };
    let blocks: Vec<String> = suggestions.iter().map(|s| format!("# Added by gate suggest.\n{}", block(s))).collect();
    let text = appended(&base, &blocks.iter().map(String::as_str).collect::<Vec<_>>());
    crate::cmd::policy::write_atomic(&path, text.as_bytes())?;
    // What the hook will read: the file as written, loaded as every layer is.
    let loaded = crate::config::load(paths, &std::env::current_dir()?.to_string_lossy());
    let name = path.to_string_lossy();
    let broken: Vec<String> = loaded
        .files
        .iter()
        .filter(|f| f.path == name)
        .flat_map(|f| f.errors.iter().map(|e| e.to_string()))
        .chain(loaded.set.broken.iter().filter(|b| b.contains(name.as_ref())).cloned())
        .collect();
    if !broken.is_empty() {
        if existed {
            std::fs::copy(&backup, &path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
        anyhow::bail!("the result did not load, so {} is as it was: {}", path.display(), broken[0]);
    }
    println!(
        "appended {} rule{} to {}{}",
        suggestions.len(),
        if suggestions.len() == 1 { "" } else { "s" },
        path.display(),
        if existed { format!(" (backup: {})", backup.display()) } else { String::new() }
    );
    Ok(())
}
