//! The decision as a library: load the policy layers for a working
//! directory and decide one action. The hook, `gate check`, `gate doctor`,
//! the tests, the benchmarks and the fuzz targets all call this, so they
//! cannot disagree. It reads the policy files and the disk (through the
//! probe), and writes nothing.

use serde_json::{json, Value};

use crate::action::{Action, Agent, HookEvent};
use crate::config::Loaded;
use crate::hook::{self, Adapter, HookError};
use crate::paths::Paths;
use crate::policy::{self, Evaluation};

/// Load the policy layers for the action's cwd and decide it.
pub fn decide(paths: &Paths, action: &Action) -> (Evaluation, Loaded) {
    // The cached floor first: loading the policies may use the floor.
    prepare(paths);
    let loaded = crate::config::load(paths, &action.cwd);
    let eval = decide_loaded(&loaded, action);
    (eval, loaded)
}

/// Decide one action under layers already loaded for its cwd (`gate replay`
/// loads them once per directory, with a proposed user layer). Call
/// [`prepare`] once first.
pub fn decide_loaded(loaded: &Loaded, action: &Action) -> Evaluation {
    let probe = crate::probe::DiskProbe::new(loaded.macros.home.clone()).with_cwd(&action.cwd);
    // Only the agent's file edits can follow its edit mode.
    let edits = matches!(action.request, crate::action::Request::Write { .. }).then(|| {
        let (follow, origin) = loaded.accept_edits();
        policy::edits::EditScope { follow, origin, root: probe.work_tree(&action.cwd) }
    });
    let ctx = policy::Context {
        home: loaded.macros.home.clone(),
        gate_dirs: loaded.macros.gate_dirs.clone(),
        gate_bins: loaded.macros.gate_bins.clone(),
        probe: &probe,
        policy: &loaded.set,
        edits,
    };
    policy::explain(action, &ctx)
}

/// Use the cached compiled floor for the rest of the process (else the
/// embedded one is parsed on first use): before anything loads policies,
/// which may use the floor.
pub fn prepare(paths: &Paths) {
    if crate::floor::installed() {
        return; // a resident serves many calls with the floor it decoded once
    }
    if let Some(f) = crate::cache::floor(paths) {
        crate::floor::install(f);
    }
}

/// The action `agent` would send gate before running `tool` with `input`
/// in `cwd`, parsed by the agent's own adapter.
pub fn tool_action(agent: &dyn Adapter, tool: &str, input: Value, cwd: &str) -> Result<Action, HookError> {
    match agent.parse(agent.pre_tool_payload("gate-check", tool, input, cwd))? {
        HookEvent::PreTool(action) | HookEvent::PermissionRequest(action) => Ok(action),
        _ => Err(HookError::Shape(format!("{}'s sample payload is not a tool call", agent.agent().as_str()))),
    }
}

/// The action `agent` would send for its shell tool running `command`.
pub fn shell_action_for(agent: &dyn Adapter, command: &str, cwd: &str) -> Result<Action, HookError> {
    tool_action(agent, agent.shell_tool(), json!({ "command": command }), cwd)
}

/// The action Claude Code would send for its Bash tool running `command`.
pub fn shell_action(command: &str, cwd: &str) -> Action {
    let claude = hook::adapter(Agent::ClaudeCode).expect("the Claude Code adapter is built in");
    shell_action_for(claude, command, cwd).expect("a Bash payload with a string command always parses")
}
