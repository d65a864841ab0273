//! Receipt rows as OCSF 1.8 events (`gate export --format ocsf`), a pure
//! mapping with no I/O. Each tool call row (decision, answer, outcome)
//! becomes one event of the class its tool kind names: shells are Process
//! Activity (Launch), file tools File System Activity, fetches, MCP and
//! every other tool API Activity. gate's verdict is the security-control
//! part (`action_id`, `disposition_id`, `policy` = the rule); a decision
//! also carries how its call ended (`status_id`), as the JSONL `outcome`
//! does, and the outcome row stays an event of its own (same class, its
//! status, `duration`, error text), joined to its decision by
//! `metadata.correlation_uid`. Session rows become Application Lifecycle
//! Start/Stop of the agent. Prune rows, and rows whose content a prune
//! removed, have nothing to map and are left out: the JSONL export is the
//! complete record. Only receipt fields, already masked, reach an event;
//! `unmapped` keeps gate's own (seq, chain hashes, source, approver, tool).

use serde_json::{json, Map, Value};

use crate::action::Kind;
use crate::store::{Receipt, RowKind, Status, Verdict};

/// The OCSF schema version the events follow.
pub const OCSF_VERSION: &str = "1.8.0";

const PROCESS_ACTIVITY: Class = Class { uid: 1007, name: "Process Activity", category: SYSTEM };
const FILE_ACTIVITY: Class = Class { uid: 1001, name: "File System Activity", category: SYSTEM };
const API_ACTIVITY: Class = Class { uid: 6003, name: "API Activity", category: APPLICATION };
const APP_LIFECYCLE: Class = Class { uid: 6002, name: "Application Lifecycle", category: APPLICATION };
const SYSTEM: (u32, &str) = (1, "System Activity");
const APPLICATION: (u32, &str) = (6, "Application Activity");

/// An OCSF event class and its category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    pub uid: u32,
    pub name: &'static str,
    pub category: (u32, &'static str),
}

/// The class and activity (id, caption) a row maps to, or `None` for rows
/// left out of the export.
pub fn class_of(r: &Receipt) -> Option<(Class, (u32, &'static str))> {
    if r.content_digest.is_some() {
        return None;
    }
    match r.row_kind() {
        RowKind::Prune | RowKind::Recover => None,
        RowKind::Session => {
            Some((APP_LIFECYCLE, if r.status == Some(Status::End) { (4, "Stop") } else { (3, "Start") }))
        }
        RowKind::Decision | RowKind::Answer | RowKind::Outcome => Some(match r.tool_kind.map(|k| k.0) {
            Some(Kind::Shell) => (PROCESS_ACTIVITY, (1, "Launch")),
            Some(Kind::Read | Kind::Search) => (FILE_ACTIVITY, (2, "Read")),
            Some(Kind::Write | Kind::Edit) => (FILE_ACTIVITY, (3, "Update")),
            Some(Kind::Fetch) => (API_ACTIVITY, (2, "Read")),
            Some(Kind::Mcp | Kind::Agent | Kind::Other) | None => (API_ACTIVITY, (99, "Call")),
        }),
    }
}

/// What gate did, as OCSF `action_id` and `disposition_id` with their
/// captions.
pub fn action_of(verdict: Verdict, source: Option<crate::store::Source>) -> ((u32, &'static str), (u32, &'static str)) {
    use crate::store::Source;
    match verdict {
        Verdict::AutoApproved => ((1, "Allowed"), (1, "Allowed")),
        Verdict::Approved => ((1, "Allowed"), (8, "Approved")),
        // Handed to a human in the agent's own dialog: no verdict yet.
        Verdict::Asked => ((99, "Asked"), (14, "Delayed")),
        Verdict::Denied if source == Some(Source::Error) => ((2, "Denied"), (27, "Error")),
        Verdict::Denied | Verdict::Expired | Verdict::Abandoned => ((2, "Denied"), (2, "Blocked")),
    }
}

/// How a call ended, as OCSF `status_id` and its caption.
pub fn status_of(s: Status) -> Option<(u32, &'static str)> {
    match s {
        Status::Success => Some((1, "Success")),
        Status::Error | Status::Interrupted => Some((2, "Failure")),
        // It ran; the agent does not say how it ended.
        Status::Ran => Some((0, "Unknown")),
        Status::Start | Status::End => None,
    }
}

/// The OCSF event for a receipt row, or `None` for a row left out.
/// `outcome` is how a decision's call ended (its outcome row's status),
/// as the JSONL export derives it.
pub fn event(r: &Receipt, outcome: Option<Status>) -> Option<Value> {
    let (class, (activity_id, activity)) = class_of(r)?;
    let mut e = Map::new();
    e.insert("class_uid".into(), class.uid.into());
    e.insert("class_name".into(), class.name.into());
    e.insert("category_uid".into(), class.category.0.into());
    e.insert("category_name".into(), class.category.1.into());
    e.insert("activity_id".into(), activity_id.into());
    e.insert("activity_name".into(), activity.into());
    e.insert("type_uid".into(), (u64::from(class.uid) * 100 + u64::from(activity_id)).into());
    e.insert("type_name".into(), format!("{}: {activity}", class.name).into());
    e.insert("time".into(), r.ts.0.into());
    e.insert("timezone_offset".into(), 0.into());
    e.insert("metadata".into(), metadata(r));

    let refused = r.decision.is_some_and(Verdict::refused);
    let (severity_id, severity) = if refused { (3, "Medium") } else { (1, "Informational") };
    e.insert("severity_id".into(), severity_id.into());
    e.insert("severity".into(), severity.into());

    if let Some(verdict) = r.decision {
        let ((action_id, action), (disposition_id, disposition)) = action_of(verdict, r.source);
        e.insert("action_id".into(), action_id.into());
        e.insert("action".into(), action.into());
        e.insert("disposition_id".into(), disposition_id.into());
        e.insert("disposition".into(), disposition.into());
    }
    let ended = match r.row_kind() {
        RowKind::Outcome => r.status,
        _ => outcome,
    };
    let status = match ended.and_then(status_of) {
        Some(s) => Some(s),
        None if refused => Some((2, "Failure")),
        None => None,
    };
    if let Some((status_id, status)) = status {
        e.insert("status_id".into(), status_id.into());
        e.insert("status".into(), status.into());
    }
    put(&mut e, "status_detail", r.error.as_deref());
    put(&mut e, "duration", r.duration_ms);
    put(&mut e, "message", r.reason.as_deref());
    if let Some(rule) = &r.rule_id {
        e.insert("policy".into(), json!({ "uid": rule, "name": rule, "is_applied": true }));
    }

    e.insert("actor".into(), actor(r));
    let host = r.host.as_deref();
    e.insert(
        "device".into(),
        match host {
            Some(h) => json!({ "hostname": h, "type_id": 0, "type": "Unknown" }),
            None => json!({ "name": "unknown", "type_id": 0, "type": "Unknown" }),
        },
    );

    let target = r.target.as_deref();
    match class.uid {
        1007 => {
            let mut p = Map::new();
            put(&mut p, "cmd_line", target);
            p.insert("uid".into(), call_uid(r).into());
            put(&mut p, "working_directory", r.cwd.as_deref());
            e.insert("process".into(), Value::Object(p));
        }
        1001 => {
            e.insert("file".into(), file(r));
        }
        6003 => {
            let url = (r.tool_kind.map(|k| k.0) == Some(Kind::Fetch)).then(|| target.and_then(Url::parse)).flatten();
            let tool = r.tool.as_deref().unwrap_or("unknown");
            let (service, operation) = match (&url, mcp_parts(tool)) {
                (Some(u), _) => (Some(u.host), tool),
                (None, Some((server, name))) => (Some(server), name),
                (None, None) => (None, tool),
            };
            let mut api = Map::new();
            api.insert("operation".into(), operation.into());
            if let Some(s) = service {
                api.insert("service".into(), json!({ "name": s }));
            }
            e.insert("api".into(), Value::Object(api));
            e.insert(
                "src_endpoint".into(),
                match host {
                    Some(h) => json!({ "hostname": h }),
                    None => json!({ "name": "unknown" }),
                },
            );
            if let Some(u) = url {
                e.insert("dst_endpoint".into(), json!({ "hostname": u.host }));
                e.insert(
                    "http_request".into(),
                    json!({ "url": { "url_string": u.text, "scheme": u.scheme, "hostname": u.host } }),
                );
            }
        }
        6002 => {
            let mut app = Map::new();
            app.insert("name".into(), r.agent.as_deref().unwrap_or("unknown").into());
            e.insert("app".into(), Value::Object(app));
            e.insert(
                "message".into(),
                format!("{} session {}", r.agent.as_deref().unwrap_or("agent"), activity.to_lowercase()).into(),
            );
        }
        _ => {}
    }
    e.insert("unmapped".into(), unmapped(r, outcome));
    Some(Value::Object(e))
}

/// `metadata`: the schema version, gate as the product, the row's hash as
/// the event's uid, its seq as the sequence, the call as the correlation.
fn metadata(r: &Receipt) -> Value {
    let mut m = Map::new();
    m.insert("version".into(), OCSF_VERSION.into());
    m.insert("product".into(), json!({ "name": "gate", "vendor_name": "gate", "version": env!("CARGO_PKG_VERSION") }));
    m.insert("uid".into(), r.hash.clone().into());
    m.insert("sequence".into(), r.seq.into());
    m.insert("event_code".into(), r.row_kind().as_str().into());
    m.insert("log_name".into(), "receipt".into());
    if r.row_kind() != RowKind::Session {
        m.insert("correlation_uid".into(), call_uid(r).into());
    }
    Value::Object(m)
}

/// Who acted: the OS user who ran the agent, the agent, its session.
fn actor(r: &Receipt) -> Value {
    let mut a = Map::new();
    if let Some(u) = &r.os_user {
        a.insert("user".into(), json!({ "name": u }));
    }
    if let Some(s) = &r.session_id {
        a.insert("session".into(), json!({ "uid": s }));
    }
    // The actor object needs at least one of its identities.
    a.insert("app_name".into(), r.agent.as_deref().unwrap_or("unknown").into());
    Value::Object(a)
}

/// One id for a tool call, the same on its decision, answer and outcome
/// rows: the agent's tool-use id, or else the decision row's seq.
fn call_uid(r: &Receipt) -> String {
    match &r.tool_use_id {
        Some(id) => id.clone(),
        None => format!("gate-seq-{}", r.links_seq.unwrap_or(r.seq)),
    }
}

/// The file a file tool names: its target for reads and writes (several
/// paths stay as recorded, comma-separated), the working directory for a
/// search (its pattern is in `unmapped.target`).
fn file(r: &Receipt) -> Value {
    let search = r.tool_kind.map(|k| k.0) == Some(Kind::Search);
    let (path, type_id, type_name) = match (search, r.target.as_deref(), r.cwd.as_deref()) {
        (false, Some(t), _) => (t, 1, "Regular File"),
        (_, _, Some(cwd)) => (cwd, 2, "Folder"),
        (_, Some(t), None) => (t, 0, "Unknown"),
        (_, None, None) => ("unknown", 0, "Unknown"),
    };
    let trimmed = path.trim_end_matches('/');
    let name = trimmed.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or(path);
    json!({ "name": name, "path": path, "type_id": type_id, "type": type_name })
}

/// gate's own fields, with no OCSF attribute of their own.
fn unmapped(r: &Receipt, outcome: Option<Status>) -> Value {
    let mut u = Map::new();
    u.insert("seq".into(), r.seq.into());
    u.insert("kind".into(), r.row_kind().as_str().into());
    u.insert("prev_hash".into(), r.prev_hash.clone().into());
    u.insert("hash".into(), r.hash.clone().into());
    put(&mut u, "decision", r.decision.map(Verdict::as_str));
    put(&mut u, "source", r.source.map(|s| s.as_str()));
    put(&mut u, "approver", r.approver.as_deref());
    put(&mut u, "rule_origin", r.rule_origin.as_deref());
    put(&mut u, "agent", r.agent.as_deref());
    put(&mut u, "tool", r.tool.as_deref());
    put(&mut u, "tool_kind", r.tool_kind.map(|k| k.0.as_str()));
    put(&mut u, "tool_use_id", r.tool_use_id.as_deref());
    put(&mut u, "target", r.target.as_deref());
    put(&mut u, "links_seq", r.links_seq);
    let ended = if r.row_kind() == RowKind::Decision { outcome } else { r.status };
    put(&mut u, "outcome", ended.map(Status::as_str));
    if let Some(args) = &r.args {
        u.insert("args".into(), args.parsed());
    }
    if let Some(red) = &r.redacted {
        u.insert("redacted".into(), red.parsed());
    }
    Value::Object(u)
}

fn put<T: Into<Value>>(m: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        m.insert(key.into(), v.into());
    }
}

/// An MCP tool name as `(server, tool)`: `mcp__srv__tool` (Claude Code,
/// Codex). Other spellings (Gemini's `mcp_srv_tool`, where a server name
/// may hold `_`) are not split.
fn mcp_parts(tool: &str) -> Option<(&str, &str)> {
    let rest = tool.strip_prefix("mcp__")?;
    let (server, name) = rest.split_once("__")?;
    (!server.is_empty() && !name.is_empty()).then_some((server, name))
}

/// The parts of an http(s) URL an event names.
struct Url<'a> {
    text: &'a str,
    scheme: &'a str,
    host: &'a str,
}

impl<'a> Url<'a> {
    fn parse(text: &'a str) -> Option<Url<'a>> {
        let (scheme, rest) = text.split_once("://")?;
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return None;
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host_port = authority.rsplit('@').next().unwrap_or(authority);
        let host = match host_port.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host_port.split(':').next().unwrap_or(""),
        };
        (!host.is_empty()).then_some(Url { text, scheme, host })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::receipt::RowKindCol;
    use crate::store::{JsonText, Millis, Source, ToolKind};

    fn call(kind: RowKind, tool: &str, tool_kind: Kind, target: &str) -> Receipt {
        Receipt {
            seq: 7,
            ts: Millis(1_780_000_000_123),
            kind: RowKindCol(kind),
            session_id: Some("s1".into()),
            tool_use_id: Some("toolu_1".into()),
            agent: Some("claude-code".into()),
            os_user: Some("dev".into()),
            host: Some("box".into()),
            cwd: Some("/home/dev/project".into()),
            tool: Some(tool.into()),
            tool_kind: Some(ToolKind(tool_kind)),
            args: Some(JsonText(r#"{"x":1}"#.into())),
            target: Some(target.into()),
            prev_hash: "0".repeat(64),
            hash: "ab".repeat(32),
            ..Default::default()
        }
    }

    #[test]
    fn each_tool_kind_maps_to_its_class_and_activity() {
        let cases: &[(Kind, &str, &str, u32, u32)] = &[
            (Kind::Shell, "Bash", "ls", 1007, 1),
            (Kind::Read, "Read", "/a/b.rs", 1001, 2),
            (Kind::Search, "Grep", "fn main in src", 1001, 2),
            (Kind::Write, "Write", "/a/b.rs", 1001, 3),
            (Kind::Edit, "Edit", "/a/b.rs", 1001, 3),
            (Kind::Fetch, "WebFetch", "https://example.com/x", 6003, 2),
            (Kind::Mcp, "mcp__srv__echo", "mcp__srv__echo", 6003, 99),
            (Kind::Agent, "Task", "explore", 6003, 99),
            (Kind::Other, "TodoWrite", "", 6003, 99),
        ];
        for (kind, tool, target, class_uid, activity_id) in cases {
            let e = event(&call(RowKind::Decision, tool, *kind, target), None).unwrap();
            assert_eq!(e["class_uid"], *class_uid, "{tool}");
            assert_eq!(e["activity_id"], *activity_id, "{tool}");
            assert_eq!(e["type_uid"], class_uid * 100 + activity_id, "{tool}");
            assert_eq!(e["category_uid"], if *class_uid < 2000 { 1 } else { 6 }, "{tool}");
        }
    }

    #[test]
    fn each_verdict_maps_to_an_action_and_disposition() {
        // (verdict, source, action_id, disposition_id, status_id, severity_id)
        type Case = (Verdict, Source, u32, u32, Option<u32>, u32);
        let cases: &[Case] = &[
            (Verdict::AutoApproved, Source::Floor, 1, 1, None, 1),
            (Verdict::Approved, Source::Watch, 1, 8, None, 1),
            (Verdict::Asked, Source::Agent, 99, 14, None, 1),
            (Verdict::Denied, Source::Rule, 2, 2, Some(2), 3),
            (Verdict::Denied, Source::Error, 2, 27, Some(2), 3),
            (Verdict::Expired, Source::Timeout, 2, 2, Some(2), 3),
            (Verdict::Abandoned, Source::Gate, 2, 2, Some(2), 3),
        ];
        for (verdict, source, action, disposition, status, severity) in cases {
            let mut r = call(RowKind::Decision, "Bash", Kind::Shell, "ls");
            r.decided(*verdict, *source, Some("gate"));
            let e = event(&r, None).unwrap();
            assert_eq!(e["action_id"], *action, "{verdict}");
            assert_eq!(e["disposition_id"], *disposition, "{verdict}");
            assert_eq!(e["status_id"].as_u64(), status.map(u64::from), "{verdict}");
            assert_eq!(e["severity_id"], *severity, "{verdict}");
        }
    }

    #[test]
    fn a_decision_carries_how_its_call_ended() {
        let cases: &[(Option<Status>, Option<u32>)] = &[
            (None, None),
            (Some(Status::Success), Some(1)),
            (Some(Status::Error), Some(2)),
            (Some(Status::Interrupted), Some(2)),
            (Some(Status::Ran), Some(0)),
        ];
        for (outcome, status_id) in cases {
            let mut r = call(RowKind::Decision, "Bash", Kind::Shell, "ls");
            r.decided(Verdict::AutoApproved, Source::Floor, Some("gate"));
            let e = event(&r, *outcome).unwrap();
            assert_eq!(e["status_id"].as_u64(), status_id.map(u64::from), "{outcome:?}");
        }
    }

    #[test]
    fn rows_with_nothing_to_map_are_left_out() {
        let prune = Receipt { kind: RowKindCol(RowKind::Prune), ..Default::default() };
        assert!(event(&prune, None).is_none());
        let pruned = Receipt { content_digest: Some("00".repeat(32)), ..Default::default() };
        assert!(event(&pruned, None).is_none());
    }

    #[test]
    fn mcp_fetch_and_file_details() {
        let e = event(&call(RowKind::Decision, "mcp__srv__echo", Kind::Mcp, "mcp__srv__echo"), None).unwrap();
        assert_eq!(e["api"], json!({ "operation": "echo", "service": { "name": "srv" } }));
        let e =
            event(&call(RowKind::Decision, "WebFetch", Kind::Fetch, "https://u:p@Example.com:8443/a?b"), None).unwrap();
        assert_eq!(e["http_request"]["url"]["hostname"], "Example.com");
        assert_eq!(e["api"]["service"]["name"], "Example.com");
        let e = event(&call(RowKind::Decision, "WebSearch", Kind::Fetch, "rust ocsf"), None).unwrap();
        assert!(e.get("http_request").is_none());
        assert_eq!(e["api"]["operation"], "WebSearch");
        let e = event(&call(RowKind::Decision, "Read", Kind::Read, "/a/b.rs"), None).unwrap();
        assert_eq!(e["file"], json!({ "name": "b.rs", "path": "/a/b.rs", "type_id": 1, "type": "Regular File" }));
        let e = event(&call(RowKind::Decision, "Glob", Kind::Search, "*.rs"), None).unwrap();
        assert_eq!(e["file"]["path"], "/home/dev/project");
        assert_eq!(e["file"]["name"], "project");
        assert_eq!(e["unmapped"]["target"], "*.rs");
    }

    #[test]
    fn decision_and_outcome_share_a_correlation_id() {
        let mut d = call(RowKind::Decision, "Bash", Kind::Shell, "ls");
        d.tool_use_id = None;
        let mut o = d.clone();
        o.kind = RowKindCol(RowKind::Outcome);
        o.seq = 9;
        o.links_seq = Some(7);
        o.status = Some(Status::Error);
        o.error = Some("Exit code 1".into());
        let (de, oe) = (event(&d, Some(Status::Error)).unwrap(), event(&o, None).unwrap());
        assert_eq!(de["metadata"]["correlation_uid"], "gate-seq-7");
        assert_eq!(oe["metadata"]["correlation_uid"], "gate-seq-7");
        assert_eq!(oe["process"]["uid"], "gate-seq-7");
        assert_eq!(oe["status_id"], 2);
        assert_eq!(oe["status_detail"], "Exit code 1");
        assert!(oe.get("action_id").is_none(), "an outcome row decides nothing");
    }
}
