//! `gate doctor`: for each agent, is it installed (and which version), is
//! gate hooked into it for every event it needs, does the hook run this
//! gate binary, is it trusted (Codex) and is gate the authority (Gemini's
//! policy); then a self-test pipes sample payloads through this binary's
//! own `gate hook --agent X` (with a scratch GATE_HOME, so nothing is
//! recorded in yours) and shows the answers. Exits 1 when an installed
//! agent is not protected.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::install;
use crate::hook::install::Extra;
use crate::hook::{Adapter, HookShape, ADAPTERS};
use crate::term::Paint;

pub fn run(json_out: bool) -> anyhow::Result<ExitCode> {
    let paint = Paint(!json_out && crate::term::colour_stdout());
    let exe = std::env::current_exe()?;
    let mut reports = Vec::new();
    let mut unprotected = Vec::new();
    for a in ADAPTERS {
        let r = check_agent(*a, &exe);
        if r["installed"] == true && r["protected"] != true {
            unprotected.push(a.names()[0].to_string());
        }
        reports.push(r);
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&json!({"agents": reports, "unprotected": unprotected}))?);
    } else {
        for r in &reports {
            print_report(r, paint);
        }
        if unprotected.is_empty() {
            println!("{}", paint.green("every installed agent is protected"));
        } else {
            println!(
                "{}",
                paint.red(&format!(
                    "not protected: {} (run `gate install <agent>` for a supported one)",
                    unprotected.join(", ")
                ))
            );
        }
    }
    Ok(if unprotected.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Run `program --version` for at most a few seconds; the first line.
fn version_of(program: &Path) -> Option<String> {
    let mut child = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    String::from_utf8_lossy(&out.stdout).lines().next().map(|l| l.trim().to_string()).filter(|l| !l.is_empty())
}

fn check_agent(a: &dyn Adapter, exe: &Path) -> Value {
    let spec = a.install_spec();
    let name = a.names()[0];
    let program = install::program_on_path(&spec);
    let installed = install::present(&spec);
    let version = program.as_deref().and_then(version_of);
    let mut problems: Vec<String> = Vec::new();
    let settings_path = install::settings_path(&spec).ok();
    let text = settings_path.as_deref().and_then(|p| std::fs::read_to_string(p).ok());
    let settings: Option<Value> = match spec.shape {
        // A YAML config: gate's own block, read back as handlers.
        HookShape::Yaml => text.as_deref().map(|t| {
            let hooks: serde_json::Map<String, Value> = install::yaml_hooked(t)
                .into_iter()
                .map(|(event, command, timeout)| (event, json!([{"command": command, "timeout": timeout}])))
                .collect();
            json!({ "hooks": hooks })
        }),
        _ => text.as_deref().and_then(|t| serde_json::from_str(t).ok()),
    };
    let handlers = settings.as_ref().map(|s| install::gate_handlers(s, name)).unwrap_or_default();
    let hooked: Vec<&str> = spec.events.iter().copied().filter(|e| handlers.iter().any(|(ev, ..)| ev == e)).collect();
    for e in spec.events {
        if !hooked.contains(e) {
            problems.push(format!("gate is not hooked for {e}"));
        }
    }
    let this = exe.to_string_lossy().into_owned();
    for (event, _, _, h) in &handlers {
        let cmd = install::handler_command(h).unwrap_or("");
        let program = cmd.strip_suffix(&format!(" hook --agent {name}")).unwrap_or(cmd).trim().trim_matches('\'');
        let same = Path::new(program).canonicalize().ok() == exe.canonicalize().ok();
        if !same {
            problems.push(format!("the {event} hook runs {program}, not this gate ({this})"));
        }
        let secs = install::handler_timeout_secs(&spec, h);
        if secs < spec.timeout_secs {
            problems.push(format!(
                "the {event} hook times out after {secs} s, before a question can be settled ({} s); run `gate install {name}`",
                spec.max_wait_secs()
            ));
        }
    }
    let mut extra = Value::Null;
    match spec.extra {
        Extra::None => {}
        Extra::CodexTrust => {
            let trusted =
                settings.as_ref().zip(settings_path.as_deref()).map(|(s, p)| codex_trusted(&spec, p, s, name));
            match trusted {
                Some(Ok(())) => extra = json!("trusted"),
                Some(Err(why)) => problems.push(why),
                None => {}
            }
        }
        Extra::HermesConsent => {
            let command = handlers.first().and_then(|(_, _, _, h)| install::handler_command(h)).unwrap_or("");
            if !handlers.is_empty() && install::hermes_consented(&spec, command) {
                extra = json!("consented (shell-hooks-allowlist.json)");
            } else if !handlers.is_empty() {
                problems.push(
                    "Hermes skips gate's hooks silently until you consent to them; run `gate install hermes`".into(),
                );
            }
        }
        Extra::GeminiPolicy => {
            let path = install::agent_dir(&spec).map(|d| d.join("policies/gate.toml"));
            if path.as_deref().and_then(|p| std::fs::read_to_string(p).ok()).as_deref() == Some(install::GEMINI_POLICY)
            {
                extra = json!("gate decides (policies/gate.toml)");
            } else {
                problems.push(
                    "Gemini's own policy still confirms after gate allows (policies/gate.toml is missing); run `gate install gemini`"
                        .into(),
                );
            }
        }
    }
    let self_test = self_test(a, exe);
    if let Some(bad) = self_test.iter().find(|t| t["ok"] != true) {
        problems.push(format!("self-test: {} gave {}", bad["command"], bad["answer"]));
    }
    json!({
        "agent": name,
        "display": spec.display,
        "installed": installed,
        "program": program,
        "version": version,
        "settings": settings_path,
        "hooked": hooked,
        "extra": extra,
        "protected": installed && problems.is_empty(),
        "problems": problems,
        "self_test": self_test,
    })
}

fn codex_trusted(
    spec: &crate::hook::InstallSpec,
    hooks_path: &Path,
    settings: &Value,
    name: &str,
) -> Result<(), String> {
    let config = install::agent_dir(spec).map(|d| d.join("config.toml")).ok_or("no Codex directory")?;
    let text = std::fs::read_to_string(&config).unwrap_or_default();
    let doc: toml::Table = text.parse().map_err(|e| format!("{}: {e}", config.display()))?;
    let state = doc.get("hooks").and_then(|h| h.get("state"));
    for e in install::codex_trust_entries(hooks_path, settings, name) {
        let have = state.and_then(|s| s.get(&e.key)).and_then(|t| t.get("trusted_hash")).and_then(|h| h.as_str());
        if have != Some(e.hash.as_str()) {
            return Err(format!(
                "Codex does not trust gate's {} hook (Codex skips untrusted hooks silently); run `gate install codex`",
                e.event
            ));
        }
    }
    Ok(())
}

/// Pipe a harmless and a destructive sample call through `gate hook --agent NAME`.
fn self_test(a: &dyn Adapter, exe: &Path) -> Vec<Value> {
    let Ok(scratch) = tempdir() else {
        return vec![json!({"command": "-", "answer": "no scratch directory", "ok": false})];
    };
    let cwd = scratch.join("project");
    let _ = std::fs::create_dir_all(&cwd);
    let mut out = Vec::new();
    for (command, want) in [("ls", "allow"), ("rm -rf build", "deny")] {
        let payload =
            a.pre_tool_payload("gate-doctor", a.shell_tool(), json!({ "command": command }), &cwd.to_string_lossy());
        let (answer, code) = run_hook(exe, a.names()[0], &scratch, &payload);
        let said = answer_word(&answer, code);
        // Codex's PreToolUse says nothing on an allow.
        let ok = said == want || (want == "allow" && said == "nothing (allowed)");
        out.push(json!({"command": command, "answer": said, "ok": ok}));
    }
    let _ = std::fs::remove_dir_all(&scratch);
    out
}

fn answer_word(stdout: &str, code: i32) -> String {
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    let word = v["hookSpecificOutput"]["permissionDecision"]
        .as_str()
        .or(v["hookSpecificOutput"]["decision"]["behavior"].as_str())
        .or(v["permissionDecision"].as_str())
        .or(v["permission"].as_str())
        .or(v["decision"].as_str());
    match word {
        Some("block") => "deny".into(),
        Some(w) => w.to_string(),
        None if code == 2 => "deny".into(),
        // Codex's PreToolUse and Hermes say nothing (or `{}`) on an allow.
        None if code == 0 && (stdout.trim().is_empty() || v == json!({})) => "nothing (allowed)".into(),
        None if stdout.trim().is_empty() => format!("exit {code}"),
        None => format!("unreadable answer {stdout:?}"),
    }
}

fn run_hook(exe: &Path, agent: &str, scratch: &Path, payload: &Value) -> (String, i32) {
    let child = Command::new(exe)
        .args(["hook", "--agent", agent])
        .env("GATE_HOME", scratch.join("gate"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else { return (String::new(), -1) };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(payload.to_string().as_bytes());
    }
    match child.wait_with_output() {
        Ok(o) => (String::from_utf8_lossy(&o.stdout).into_owned(), o.status.code().unwrap_or(-1)),
        Err(_) => (String::new(), -1),
    }
}

fn tempdir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("gate-doctor-{}-{}", std::process::id(), crate::clock::now_ms()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn print_report(r: &Value, p: Paint) {
    let name = r["agent"].as_str().unwrap_or("?");
    if r["installed"] != true {
        println!("{name:<8} {}", p.dim("not installed"));
        if r.get("self_test").is_none() {
            return;
        }
    } else {
        let version = r["version"].as_str().unwrap_or("version unknown");
        let state = if r["protected"] == true { p.green("protected") } else { p.red("NOT protected") };
        println!("{name:<8} {state}  {version}");
    }
    if let Some(s) = r["settings"].as_str() {
        let hooked: Vec<&str> = r["hooked"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        println!("         hooks    {s}: {}", if hooked.is_empty() { "none".to_string() } else { hooked.join(", ") });
    }
    if let Some(e) = r["extra"].as_str().filter(|_| r["installed"] == true) {
        println!("         {e}");
    }
    for t in r["self_test"].as_array().into_iter().flatten() {
        let mark = if t["ok"] == true { p.green("ok") } else { p.red("FAILED") };
        println!(
            "         self-test {:<14} → {:<20} {mark}",
            t["command"].as_str().unwrap_or(""),
            t["answer"].as_str().unwrap_or("")
        );
    }
    if r["installed"] == true {
        for pr in r["problems"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            println!("         {}", p.yellow(pr));
        }
    }
}
