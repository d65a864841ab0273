//! The typed receipt row and its one field list. `receipt_fields!` below is
//! the only place the columns are spelled out: the struct, the SQL row
//! mapping, the INSERT, the hashed content and the export record are all
//! generated from it, so a column added there reaches every one of them.
//! Each column's Rust type says how it is stored, hashed and exported
//! ([`Column`]): words (decision, source, ...) are enums, times are
//! [`Millis`], JSON documents are [`JsonText`]. The hashed content is
//! specified in `docs/receipt.md` so that a third party can recompute every
//! `hash` from an export alone.

use std::collections::BTreeMap;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde_json::{Map, Value};

use super::chain;

/// How a column takes part in the row's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashed {
    /// Hashed directly by the chain (seq, ts, kind, prev_hash).
    Chain,
    /// A key of the canonical content, `null` when unset.
    Always,
    /// A key of the canonical content only when set: columns added after
    /// version 1, so that older rows keep their hashes.
    WhenSet,
    /// Not hashed: the hash itself, and the digest kept by a pruned row.
    No,
}

/// One column of the receipt: its SQL name, its name in exports, and how it
/// is hashed.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub column: &'static str,
    pub export: &'static str,
    pub hashed: Hashed,
}

impl ColumnSpec {
    /// A content column: part of the canonical content (always, or when set).
    pub fn is_content(&self) -> bool {
        matches!(self.hashed, Hashed::Always | Hashed::WhenSet)
    }
}

/// How a column's Rust type is written in the hashed content and in an
/// export record.
pub trait Column: Sized {
    /// The value in the canonical (hashed) content.
    fn hash_value(&self) -> Value;
    /// The value in an export record.
    fn export_value(&self) -> Value {
        self.hash_value()
    }
    /// Read back from an export record (a team store or a bundle import).
    fn from_export(v: &Value) -> Result<Self, String>;
    /// Read back from the exact stored text an export gives beside a
    /// parsed document (`<name>_text`); only JSON documents have one.
    fn from_exact_text(_text: &str) -> Option<Self> {
        None
    }
    /// Append the export value as compact JSON, the bytes `serde_json`
    /// writes for [`Column::export_value`]; false when that value would not
    /// give the stored text back (a JSON document whose export record then
    /// carries `<name>_text`).
    fn write_export(&self, out: &mut Vec<u8>) -> bool {
        let _ = serde_json::to_writer(out, &self.export_value());
        true
    }
}

impl Column for i64 {
    fn hash_value(&self) -> Value {
        Value::from(*self)
    }
    fn from_export(v: &Value) -> Result<Self, String> {
        v.as_i64().ok_or_else(|| format!("expected an integer, found {v}"))
    }
    fn write_export(&self, out: &mut Vec<u8>) -> bool {
        write_i64(out, *self);
        true
    }
}

impl Column for String {
    fn hash_value(&self) -> Value {
        Value::String(self.clone())
    }
    fn from_export(v: &Value) -> Result<Self, String> {
        v.as_str().map(str::to_string).ok_or_else(|| format!("expected a string, found {v}"))
    }
    fn write_export(&self, out: &mut Vec<u8>) -> bool {
        json_string(out, self.as_bytes());
        true
    }
}

impl<T: Column> Column for Option<T> {
    fn hash_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, Column::hash_value)
    }
    fn export_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, Column::export_value)
    }
    fn from_export(v: &Value) -> Result<Self, String> {
        if v.is_null() {
            Ok(None)
        } else {
            T::from_export(v).map(Some)
        }
    }
    fn from_exact_text(text: &str) -> Option<Self> {
        T::from_exact_text(text).map(Some)
    }
    fn write_export(&self, out: &mut Vec<u8>) -> bool {
        match self {
            Some(v) => v.write_export(out),
            None => {
                out.extend_from_slice(b"null");
                true
            }
        }
    }
}

/// Milliseconds since the Unix epoch, UTC. Exported as RFC 3339 with
/// milliseconds (`2026-12-01T17:44:57.123Z`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Millis(pub i64);

impl Column for Millis {
    fn hash_value(&self) -> Value {
        Value::from(self.0)
    }
    fn export_value(&self) -> Value {
        Value::String(crate::clock::format_ms(self.0))
    }
    fn from_export(v: &Value) -> Result<Self, String> {
        match v {
            Value::String(s) => crate::clock::parse_time(s, 0).map(Millis),
            other => other.as_i64().map(Millis).ok_or_else(|| format!("expected a time, found {other}")),
        }
    }
    fn write_export(&self, out: &mut Vec<u8>) -> bool {
        // The time needs no escape.
        out.push(b'"');
        crate::clock::write_ms(out, self.0);
        out.push(b'"');
        true
    }
}

impl ToSql for Millis {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}
impl FromSql for Millis {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        i64::column_result(v).map(Millis)
    }
}

/// A JSON document kept as the exact text that was stored (and hashed).
/// Exports show it parsed; `docs/receipt.md` says how to get the text back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonText(pub String);

impl JsonText {
    pub fn of(v: &Value) -> JsonText {
        JsonText(v.to_string())
    }
    pub fn parsed(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or_else(|_| Value::String(self.0.clone()))
    }
    /// Whether writing the parsed document back gives this exact text, so
    /// an export's parsed value is enough to recompute the hash.
    pub fn round_trips(&self) -> bool {
        match serde_json::from_str::<Value>(&self.0) {
            Ok(v) => {
                let text = v.to_string();
                !holds_float(&v) && text == self.0
            }
            Err(_) => false,
        }
    }
}

/// Whether `v` serializes to exactly `text`, compared as it is written.
fn writes_as(v: &Value, text: &str) -> bool {
    struct Same<'a>(&'a [u8], bool);
    impl std::io::Write for Same<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            match self.0.strip_prefix(buf) {
                Some(rest) if self.1 => self.0 = rest,
                _ => self.1 = false,
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut same = Same(text.as_bytes(), true);
    serde_json::to_writer(&mut same, v).is_ok() && same.1 && same.0.is_empty()
}

pub(super) fn holds_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => !(n.is_i64() || n.is_u64()),
        Value::Array(a) => a.iter().any(holds_float),
        Value::Object(o) => o.values().any(holds_float),
        _ => false,
    }
}

impl Column for JsonText {
    fn hash_value(&self) -> Value {
        Value::String(self.0.clone())
    }
    fn export_value(&self) -> Value {
        self.parsed()
    }
    fn from_export(v: &Value) -> Result<Self, String> {
        Ok(JsonText(v.to_string()))
    }
    fn from_exact_text(text: &str) -> Option<Self> {
        Some(JsonText(text.to_string()))
    }
    /// The document parsed and written back, as `export_value` gives it;
    /// text already in the form that would take is copied as it is.
    fn write_export(&self, out: &mut Vec<u8>) -> bool {
        if super::canonical::is_canonical(&self.0) {
            out.extend_from_slice(self.0.as_bytes());
            return true;
        }
        let v = self.parsed();
        let start = out.len();
        let _ = serde_json::to_writer(&mut *out, &v);
        // `round_trips`, on the document already parsed and written (text
        // that does not parse is kept as a string, which never writes back
        // as the same text).
        !holds_float(&v) && out[start..] == *self.0.as_bytes()
    }
}

impl ToSql for JsonText {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}
impl FromSql for JsonText {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        String::column_result(v).map(JsonText)
    }
}

/// A closed set of words stored as text: the enum, its words, and the
/// conversions SQL, hashing and exports need.
macro_rules! words {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $word:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $word)] $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word,)* }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($word => Some($name::$variant),)* _ => None }
            }
            /// The words, for help text and errors.
            pub fn words() -> String {
                [$($word,)*].join(", ")
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::parse(s).ok_or_else(|| format!("unknown {} {s:?} (one of: {})", stringify!($name), $name::words()))
            }
        }
        impl Column for $name {
            fn hash_value(&self) -> Value {
                Value::String(self.as_str().to_string())
            }
            fn from_export(v: &Value) -> Result<Self, String> {
                v.as_str().ok_or_else(|| format!("expected a word, found {v}"))?.parse()
            }
            fn write_export(&self, out: &mut Vec<u8>) -> bool {
                json_string(out, self.as_str().as_bytes());
                true
            }
        }
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }
        impl FromSql for $name {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                let s = v.as_str()?;
                $name::parse(s).ok_or_else(|| FromSqlError::Other(format!(
                    "unknown {} {s:?}: this receipt was written by a newer gate or edited (`gate verify` checks)",
                    stringify!($name)).into()))
            }
        }
    };
}

words! {
    /// What a row records.
    RowKind {
        /// gate's decision on a tool call.
        Decision = "decision",
        /// How a call that ran ended.
        Outcome = "outcome",
        /// A later answer to an earlier call (a rejection in the agent's dialog).
        Answer = "answer",
        /// An agent session started or ended.
        Session = "session",
        /// Old payloads were pruned.
        Prune = "prune",
        /// A damaged store was moved aside by `gate recover`: the first row of a new chain.
        Recover = "recover",
    }
}

words! {
    /// What was decided.
    Verdict {
        AutoApproved = "auto-approved",
        Approved = "approved",
        Denied = "denied",
        Expired = "expired",
        /// Handed to the agent's own dialog.
        Asked = "asked",
        /// The agent stopped waiting before anyone answered.
        Abandoned = "abandoned",
    }
}

impl Verdict {
    /// The call was let run.
    pub fn allowed(self) -> bool {
        matches!(self, Verdict::AutoApproved | Verdict::Approved)
    }
    /// The call was stopped.
    pub fn refused(self) -> bool {
        matches!(self, Verdict::Denied | Verdict::Expired | Verdict::Abandoned)
    }
}

words! {
    /// Who or what decided, or where the human answered.
    Source {
        /// The read-only safe floor.
        Floor = "floor",
        /// A policy rule (or the default when none matched).
        Rule = "rule",
        /// The edit mode the user chose for the agent.
        Mode = "mode",
        /// gate could not use the call (malformed payload, no receipt...).
        Error = "error",
        /// gate itself, for a reason of its own (an inbox closed).
        Gate = "gate",
        /// The agent (its dialog, its permission mode).
        Agent = "agent",
        /// A grant a human gave for the session.
        Session = "session",
        /// No one answered in time.
        Timeout = "timeout",
        /// `gate answer` / `gate approve` on the command line.
        Cli = "cli",
        /// `gate watch`, the terminal inbox.
        Watch = "watch",
        /// `gate serve`, the web inbox.
        Web = "web",
        /// `gate check --ask` at a terminal.
        Tty = "tty",
        /// A terminal prompt of an earlier gate.
        Terminal = "terminal",
    }
}

impl Source {
    /// A human answered on this surface.
    pub fn is_human(self) -> bool {
        matches!(self, Source::Session | Source::Cli | Source::Watch | Source::Web | Source::Tty | Source::Terminal)
    }
}

words! {
    /// How a call ended, or which end of a session a session row marks.
    Status {
        Success = "success",
        Error = "error",
        Interrupted = "interrupted",
        /// It ran; the agent does not say how it ended.
        Ran = "ran",
        Start = "start",
        End = "end",
    }
}

impl From<crate::action::OutcomeStatus> for Status {
    fn from(s: crate::action::OutcomeStatus) -> Status {
        use crate::action::OutcomeStatus as O;
        match s {
            O::Success => Status::Success,
            O::Error => Status::Error,
            O::Interrupted => Status::Interrupted,
            O::Ran => Status::Ran,
        }
    }
}

/// The kind of tool, as stored (`crate::action::Kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolKind(pub crate::action::Kind);

impl Column for ToolKind {
    fn hash_value(&self) -> Value {
        Value::String(self.0.as_str().to_string())
    }
    fn from_export(v: &Value) -> Result<Self, String> {
        let s = v.as_str().ok_or_else(|| format!("expected a word, found {v}"))?;
        crate::action::Kind::parse(s).map(ToolKind).ok_or_else(|| format!("unknown tool kind {s:?}"))
    }
    fn write_export(&self, out: &mut Vec<u8>) -> bool {
        json_string(out, self.0.as_str().as_bytes());
        true
    }
}
impl ToSql for ToolKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.as_str()))
    }
}
impl FromSql for ToolKind {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        let s = v.as_str()?;
        crate::action::Kind::parse(s)
            .map(ToolKind)
            .ok_or_else(|| FromSqlError::Other(format!("unknown tool kind {s:?}").into()))
    }
}

impl serde::Serialize for ToolKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

macro_rules! receipt_fields {
    ($($(#[$m:meta])* $name:ident : $ty:ty => $export:literal, $hashed:ident;)*) => {
        /// One row of the receipt, as written and as read back.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Receipt {
            $($(#[$m])* pub $name: $ty,)*
        }

        /// Every column, in table order.
        pub const COLUMNS: &[ColumnSpec] = &[
            $(ColumnSpec { column: stringify!($name), export: $export, hashed: Hashed::$hashed },)*
        ];

        impl Receipt {
            /// Read a row selected with [`select_list`], by position.
            pub(crate) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Receipt> {
                let mut at = 0usize..;
                Ok(Receipt { $($name: r.get(at.next().unwrap_or_default())?,)* })
            }

            /// The values in table order, for an INSERT.
            pub(crate) fn sql_values(&self) -> Vec<&dyn ToSql> {
                vec![$(&self.$name as &dyn ToSql,)*]
            }

            /// Each column with its hashed value, in table order.
            pub fn hash_values(&self) -> Vec<(&'static ColumnSpec, Value)> {
                let mut i = 0;
                let mut out = Vec::with_capacity(COLUMNS.len());
                $(
                    out.push((&COLUMNS[i], Column::hash_value(&self.$name)));
                    i += 1;
                )*
                let _ = i;
                out
            }

            /// Each column with its export value, in table order.
            pub fn export_values(&self) -> Vec<(&'static ColumnSpec, Value)> {
                let mut i = 0;
                let mut out = Vec::with_capacity(COLUMNS.len());
                $(
                    out.push((&COLUMNS[i], Column::export_value(&self.$name)));
                    i += 1;
                )*
                let _ = i;
                out
            }

            /// Each column's value, in table order, to write into an export
            /// record ([`Column::write_export`]).
            fn export_writers(&self) -> [&dyn WriteExport; COLUMNS.len()] {
                [$(&self.$name as &dyn WriteExport,)*]
            }

            /// Read a row back from an export record (by export names).
            pub fn from_export(rec: &Map<String, Value>) -> Result<Receipt, String> {
                Ok(Receipt {
                    $($name: match rec.get(concat!($export, "_text")).filter(|_| ["args", "patch", "detail"].contains(&$export)) {
                        Some(Value::String(text)) => <$ty as Column>::from_exact_text(text)
                            .ok_or_else(|| format!("{}_text: not a JSON document column", $export))?,
                        _ => from_export_field::<$ty>(rec.get($export).unwrap_or(&Value::Null), $export)?,
                    },)*
                })
            }
        }
    };
}

/// Every column in [`COLUMNS`] order (`seq, ts, kind, ...`): what a query
/// selects for [`Receipt::from_row`], which reads the row by position.
pub(crate) fn select_list() -> &'static str {
    static LIST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LIST.get_or_init(|| COLUMNS.iter().map(|c| c.column).collect::<Vec<_>>().join(", "))
}

fn from_export_field<T: Column + 'static>(v: &Value, name: &str) -> Result<T, String> {
    T::from_export(v).map_err(|e| format!("{name}: {e}"))
}

receipt_fields! {
    seq: i64 => "seq", Chain;
    ts: Millis => "ts", Chain;
    kind: RowKindCol => "kind", Chain;
    session_id: Option<String> => "session_id", Always;
    tool_use_id: Option<String> => "tool_use_id", Always;
    agent: Option<String> => "agent", Always;
    os_user: Option<String> => "os_user", Always;
    host: Option<String> => "host", Always;
    cwd: Option<String> => "cwd", Always;
    tool: Option<String> => "tool", Always;
    tool_kind: Option<ToolKind> => "tool_kind", Always;
    /// The tool's input, secrets masked.
    args: Option<JsonText> => "args", Always;
    /// What the call is about, in a line: the command, the path, the URL.
    target: Option<String> => "target", Always;
    decision: Option<Verdict> => "decision", Always;
    approver: Option<String> => "approver", Always;
    source: Option<Source> => "source", Always;
    rule_id: Option<String> => "rule", Always;
    /// `file:line` of the rule.
    rule_origin: Option<String> => "rule_origin", Always;
    reason: Option<String> => "reason", Always;
    /// An outcome or answer: the decision row it belongs to.
    links_seq: Option<i64> => "links_seq", Always;
    duration_ms: Option<i64> => "duration_ms", Always;
    error: Option<String> => "error", Always;
    /// Edits and writes: the structured patch.
    patch: Option<JsonText> => "patch", Always;
    /// Anything else.
    detail: Option<JsonText> => "detail", Always;
    prev_hash: String => "prev_hash", Chain;
    hash: String => "hash", No;
    /// The kinds of secret masked in this row, as a JSON array.
    redacted: Option<JsonText> => "redacted", WhenSet;
    /// A pruned row: its payload is gone, this is the SHA-256 of the
    /// canonical content it had, so its hash still verifies.
    content_digest: Option<String> => "content_digest", No;
    /// An outcome: how the call ended; a session row: start or end.
    status: Option<Status> => "status", Always;
}

/// The row kind column: a [`RowKind`] (a newtype so `Default` can exist for
/// the struct without a meaningless default word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowKindCol(pub RowKind);

impl Default for RowKindCol {
    fn default() -> Self {
        RowKindCol(RowKind::Decision)
    }
}
impl Column for RowKindCol {
    fn hash_value(&self) -> Value {
        self.0.hash_value()
    }
    fn from_export(v: &Value) -> Result<Self, String> {
        RowKind::from_export(v).map(RowKindCol)
    }
    fn write_export(&self, out: &mut Vec<u8>) -> bool {
        self.0.write_export(out)
    }
}
impl ToSql for RowKindCol {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}
impl FromSql for RowKindCol {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        RowKind::column_result(v).map(RowKindCol)
    }
}
impl PartialEq<RowKind> for RowKindCol {
    fn eq(&self, other: &RowKind) -> bool {
        self.0 == *other
    }
}

impl Receipt {
    /// A new row of this kind, stamped now with who and where gate runs.
    pub fn new(kind: RowKind) -> Receipt {
        Receipt {
            ts: Millis(crate::clock::now_ms()),
            kind: RowKindCol(kind),
            os_user: Some(crate::identity::os_user()),
            host: Some(crate::identity::host()),
            ..Default::default()
        }
    }

    /// A row about one tool call: who, where, which tool, and its masked
    /// arguments and target.
    pub fn for_call(kind: RowKind, action: &crate::action::Action) -> Receipt {
        let shell = action.kind == crate::action::Kind::Shell;
        Receipt {
            session_id: Some(action.session_id.clone()),
            tool_use_id: action.tool_use_id.clone(),
            agent: Some(action.agent.as_str().to_string()),
            cwd: Some(action.cwd.clone()),
            tool: Some(action.tool.clone()),
            tool_kind: Some(ToolKind(action.kind)),
            args: Some(JsonText::of(&crate::redact::mask_json_for(&action.args, shell))),
            target: action.target.as_deref().map(|t| crate::redact::cut(&crate::redact::mask(t))),
            ..Receipt::new(kind)
        }
    }

    /// gate's decision on a call.
    pub fn decision(
        action: &crate::action::Action,
        verdict: Verdict,
        source: Source,
        approver: Option<&str>,
    ) -> Receipt {
        let mut rec = Receipt::for_call(RowKind::Decision, action);
        rec.decided(verdict, source, approver);
        rec
    }

    /// How a call that ran ended.
    pub fn outcome(action: &crate::action::Action, status: Status) -> Receipt {
        Receipt { status: Some(status), ..Receipt::for_call(RowKind::Outcome, action) }
    }

    /// A later answer to the call `to` (its decision row).
    pub fn answer(to: &Receipt, verdict: Verdict, source: Source, approver: Option<&str>) -> Receipt {
        let mut rec = Receipt {
            session_id: to.session_id.clone(),
            tool_use_id: to.tool_use_id.clone(),
            agent: to.agent.clone(),
            cwd: to.cwd.clone(),
            tool: to.tool.clone(),
            tool_kind: to.tool_kind,
            target: to.target.clone(),
            links_seq: Some(to.seq),
            ..Receipt::new(RowKind::Answer)
        };
        rec.decided(verdict, source, approver);
        rec
    }

    /// A payload gate could not use, denied: whatever identifies the call,
    /// and the masked payload.
    pub fn refusal(agent: Option<crate::action::Agent>, raw: &[u8]) -> Receipt {
        let mut rec = Receipt::new(RowKind::Decision);
        rec.agent = agent.map(|a| a.as_str().to_string());
        if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(raw) {
            let s = |k: &str| obj.get(k).and_then(|v| v.as_str()).map(str::to_string);
            rec.session_id = s("session_id").or_else(|| s("sessionId")).or_else(|| s("conversation_id"));
            rec.tool_use_id = s("tool_use_id");
            rec.tool = s("tool_name").or_else(|| s("toolName"));
            rec.cwd = s("cwd");
        }
        let text = String::from_utf8_lossy(raw);
        rec.args = Some(JsonText::of(&serde_json::json!({
            "payload": crate::redact::cut(&crate::redact::mask_raw_payload(&text))
        })));
        rec.decided(Verdict::Denied, Source::Error, Some("gate"));
        rec
    }

    /// An agent session started or ended.
    pub fn session(mark: &crate::action::SessionMark) -> Receipt {
        Receipt {
            session_id: Some(mark.session_id.clone()),
            agent: Some(mark.agent.as_str().to_string()),
            cwd: Some(mark.cwd.clone()),
            status: Some(if mark.started { Status::Start } else { Status::End }),
            detail: Some(JsonText::of(&serde_json::json!({ "detail": mark.detail }))),
            ..Receipt::new(RowKind::Session)
        }
    }

    /// Set what was decided, by whom, from where.
    pub fn decided(&mut self, verdict: Verdict, source: Source, approver: Option<&str>) {
        self.decision = Some(verdict);
        self.source = Some(source);
        self.approver = approver.map(str::to_string);
    }

    /// Set the reason, masked.
    pub fn with_reason(&mut self, reason: &str) {
        self.reason = Some(crate::redact::mask(reason).into_owned());
    }

    pub fn row_kind(&self) -> RowKind {
        self.kind.0
    }

    /// The row's content as canonical JSON: every hashed column but the
    /// chain fields, keys sorted, compact (see `docs/receipt.md`).
    pub fn canonical_content(&self) -> String {
        let mut m: BTreeMap<&str, Value> = BTreeMap::new();
        for (spec, v) in self.hash_values() {
            match spec.hashed {
                Hashed::Always => {
                    m.insert(spec.column, v);
                }
                Hashed::WhenSet if !v.is_null() => {
                    m.insert(spec.column, v);
                }
                _ => {}
            }
        }
        serde_json::to_string(&m).unwrap_or_default()
    }

    /// The SHA-256 of the canonical content, or the digest a pruned row kept.
    pub fn content_digest_bytes(&self) -> Option<[u8; 32]> {
        match &self.content_digest {
            Some(hex) => chain::unhex(hex),
            None => Some(chain::content_digest(self.canonical_content())),
        }
    }

    /// The chained hash this row should have.
    pub fn computed_hash(&self) -> String {
        match self.content_digest_bytes() {
            Some(d) => chain::row_hash_of_digest(self.seq, self.ts.0, self.kind.0.as_str(), &self.prev_hash, &d),
            None => String::from("malformed content digest"),
        }
    }

    /// The export record: `schema` first, then every column under its
    /// export name (unset ones as null), JSON documents parsed, with the
    /// exact stored text beside them as `<name>_text` when the parsed form
    /// would not give it back.
    pub fn export_record(&self, outcome: Option<Status>) -> Map<String, Value> {
        let fields = self.export_fields(outcome);
        let mut m = Map::with_capacity(fields.len());
        for (k, v) in fields {
            m.insert(k.into_owned(), v);
        }
        m
    }

    /// The export record as one line of JSON: the same text as
    /// `serde_json::to_string(&self.export_record(outcome))`, written
    /// without building the map (what `gate export` streams).
    pub fn export_json(&self, outcome: Option<Status>) -> serde_json::Result<String> {
        let mut out = Vec::with_capacity(2048);
        self.write_export_json(outcome, &mut out)?;
        Ok(String::from_utf8(out).unwrap_or_default())
    }

    /// [`Receipt::export_json`], written straight to `out`.
    pub fn write_export_json(&self, outcome: Option<Status>, out: &mut impl std::io::Write) -> serde_json::Result<()> {
        let mut buf = Vec::with_capacity(2048);
        self.append_export_json(outcome, &mut buf);
        out.write_all(&buf).map_err(serde_json::Error::io)
    }

    /// [`Receipt::export_json`], appended to `out`: each value written by
    /// its column ([`Column::write_export`]), no document built, and a
    /// stored JSON document already in the form `serde_json` would write
    /// copied as it is.
    pub fn append_export_json(&self, outcome: Option<Status>, out: &mut Vec<u8>) {
        /// `"name":`, for each column and the added fields.
        fn key(out: &mut Vec<u8>, name: &str) {
            json_string(out, name.as_bytes());
            out.push(b':');
        }
        out.push(b'{');
        key(out, "schema");
        json_string(out, super::EXPORT_SCHEMA.as_bytes());
        let mut inexact = [false; COLUMNS.len()];
        for ((spec, value), inexact) in COLUMNS.iter().zip(self.export_writers()).zip(inexact.iter_mut()) {
            out.push(b',');
            key(out, spec.export);
            *inexact = !value.write_column(out);
            if spec.column == "reason" {
                // Derived, not hashed: how the call ended.
                out.push(b',');
                key(out, "outcome");
                Column::write_export(&outcome, out);
            }
        }
        for (name, text) in [("args", &self.args), ("patch", &self.patch), ("detail", &self.detail)] {
            let Some(t) = text else { continue };
            if COLUMNS.iter().zip(inexact).any(|(c, inexact)| c.export == name && inexact) {
                out.push(b',');
                key(out, &format!("{name}_text"));
                json_string(out, t.0.as_bytes());
            }
        }
        out.push(b'}');
    }

    /// The export record's fields, in order; no name appears twice.
    fn export_fields(&self, outcome: Option<Status>) -> Vec<(std::borrow::Cow<'static, str>, Value)> {
        let mut m: Vec<(std::borrow::Cow<'static, str>, Value)> = Vec::with_capacity(COLUMNS.len() + 5);
        m.push(("schema".into(), super::EXPORT_SCHEMA.into()));
        for (spec, v) in self.export_values() {
            m.push((spec.export.into(), v));
            if spec.column == "reason" {
                // Derived, not hashed: how the call ended.
                m.push(("outcome".into(), outcome.map_or(Value::Null, |s| s.as_str().into())));
            }
        }
        for (name, text) in [("args", &self.args), ("patch", &self.patch), ("detail", &self.detail)] {
            if let Some(t) = text {
                // `round_trips`, on the document already parsed above (text
                // that does not parse is kept as a string, which never
                // writes back as the same text).
                let parsed = m.iter().find(|(k, _)| k == name).map(|(_, v)| v);
                let same = parsed.is_some_and(|v| !holds_float(v) && writes_as(v, &t.0));
                if !same {
                    m.push((format!("{name}_text").into(), Value::String(t.0.clone())));
                }
            }
        }
        m
    }

    /// The `redacted` column for rows whose text holds masked secrets.
    pub fn note_redactions(&mut self) {
        let mut kinds: Vec<String> = Vec::new();
        for text in [
            self.args.as_ref().map(|a| a.0.as_str()),
            self.target.as_deref(),
            self.reason.as_deref(),
            self.error.as_deref(),
            self.patch.as_ref().map(|p| p.0.as_str()),
            self.detail.as_ref().map(|d| d.0.as_str()),
        ]
        .into_iter()
        .flatten()
        {
            kinds.extend(crate::redact::redacted_kinds(text));
        }
        kinds.sort();
        kinds.dedup();
        self.redacted = if kinds.is_empty() { None } else { Some(JsonText::of(&Value::from(kinds))) };
    }

    /// Whether any content column is set (a pruned row holds none).
    pub fn holds_content(&self) -> bool {
        self.hash_values().iter().any(|(c, v)| c.is_content() && !v.is_null())
    }

    /// Whether the row, on its own, is what its hash says: its content (or
    /// the digest a prune kept, and then no content beside it) gives its
    /// hash. Its place in the chain is not checked here.
    pub fn is_intact(&self) -> bool {
        self.computed_hash() == self.hash && !(self.content_digest.is_some() && self.holds_content())
    }

    /// The args column parsed back into JSON (null when absent).
    pub fn args_json(&self) -> Value {
        self.args.as_ref().map_or(Value::Null, JsonText::parsed)
    }

    pub fn detail_json(&self) -> Value {
        self.detail.as_ref().map_or(Value::Null, JsonText::parsed)
    }
}

/// Checks export records one at a time, in seq order, the way a bundle
/// verifier must: the fields are exactly the schema's, a `<name>_text`
/// appears only where the parsed document would not give the stored text
/// back and says the same thing, a pruned record holds no content and a
/// prune accounts for it, and each `outcome` is the status its outcome
/// row says. [`RecordCheck::hash`] gives the hash the record must carry.
#[derive(Debug, Default)]
pub struct RecordCheck {
    prunes: super::PruneAudit,
    /// Decision seqs and the outcome their record claimed, until the first
    /// outcome row linking to them shows up.
    claimed: std::collections::HashMap<i64, Option<Status>>,
}

impl RecordCheck {
    pub fn hash(&mut self, rec: &Map<String, Value>) -> Result<String, String> {
        let seq = rec.get("seq").and_then(Value::as_i64).unwrap_or(0);
        let fail = |why: String| format!("seq {seq}: {why}");
        for k in rec.keys() {
            let known = k == "schema"
                || k == "outcome"
                || COLUMNS.iter().any(|c| c.export == k)
                || ["args_text", "patch_text", "detail_text"].contains(&k.as_str());
            if !known {
                return Err(fail(format!("unknown field {k:?}")));
            }
        }
        for name in ["args", "patch", "detail"] {
            if let Some(text) = rec.get(&format!("{name}_text")) {
                let Value::String(text) = text else { return Err(fail(format!("{name}_text is not a string"))) };
                let stored = JsonText(text.clone());
                if stored.round_trips() || rec.get(name) != Some(&stored.parsed()) {
                    return Err(fail(format!("{name}_text does not match {name}")));
                }
            }
        }
        if rec.get("schema").and_then(Value::as_str) != Some(super::EXPORT_SCHEMA) {
            return Err(fail(format!("schema is not {:?}", super::EXPORT_SCHEMA)));
        }
        let r = Receipt::from_export(rec).map_err(&fail)?;
        if r.content_digest.is_some() && r.holds_content() {
            return Err(fail("a pruned record that still holds content".into()));
        }
        let outcome = match rec.get("outcome") {
            None | Some(Value::Null) => None,
            Some(v) => Some(Status::from_export(v).map_err(|e| fail(format!("outcome: {e}")))?),
        };
        match r.row_kind() {
            RowKind::Decision => {
                self.claimed.insert(r.seq, outcome);
            }
            _ if outcome != r.status => return Err(fail("outcome is not the row's status".into())),
            _ => {}
        }
        if r.row_kind() == RowKind::Outcome {
            if let Some(claim) = r.links_seq.and_then(|d| self.claimed.remove(&d)) {
                if claim != r.status {
                    return Err(fail(format!(
                        "the outcome its decision seq {} claims is not this outcome's status",
                        r.links_seq.unwrap_or(0)
                    )));
                }
            }
        }
        let detail = r.detail.as_ref().map(|d| d.0.clone());
        self.prunes.push(r.seq, r.ts.0, r.kind.0.as_str(), r.content_digest.is_some(), detail.as_deref());
        Ok(r.computed_hash())
    }

    /// All records seen: what no later record accounted for.
    pub fn finish(self) -> Result<(), String> {
        if let Some(p) = self.prunes.finish() {
            return Err(p.to_string());
        }
        if let Some((seq, _)) = self.claimed.iter().filter(|(_, c)| c.is_some()).min_by_key(|(s, _)| **s) {
            return Err(format!("seq {seq}: claims an outcome no outcome record gives"));
        }
        Ok(())
    }
}

/// A row as SQLite holds it, untyped: what `gate verify` hashes, so that an
/// edited row with a word gate does not know is reported as edited, not as
/// an unreadable database. Its content is kept as the canonical JSON text
/// itself, written straight from the stored values (no document is built).
pub struct RawRow {
    pub seq: i64,
    pub ts: i64,
    pub kind: String,
    pub prev_hash: String,
    pub hash: String,
    pub content_digest: Option<String>,
    pub detail: Option<String>,
    /// The content columns as read, in key order (the canonical content,
    /// see [`Receipt::canonical_content`], is written from them on demand,
    /// so that a reader can leave that work to another thread).
    cells: Vec<Cell>,
    /// The text of every `Cell::Text`, one after another.
    bytes: Vec<u8>,
    has_content: bool,
}

/// One content column of a [`RawRow`].
#[derive(Debug, Clone, Copy)]
enum Cell {
    /// NULL in a column hashed only when set: not in the content at all.
    Absent,
    Null,
    Integer(i64),
    Real(f64),
    /// Text or a blob: these bytes of `RawRow::bytes`.
    Text(u32, u32),
}

/// The content columns sorted by name: the order of the canonical JSON keys.
fn content_by_name() -> &'static [&'static ColumnSpec] {
    static SORTED: std::sync::OnceLock<Vec<&'static ColumnSpec>> = std::sync::OnceLock::new();
    SORTED.get_or_init(|| {
        let mut v: Vec<&'static ColumnSpec> = COLUMNS.iter().filter(|c| c.is_content()).collect();
        v.sort_by_key(|c| c.column);
        v
    })
}

/// The fixed fields [`RawRow::from_row`] reads first, before the content columns.
const RAW_FIXED: &[&str] = &["seq", "ts", "kind", "prev_hash", "hash", "content_digest", "detail"];

impl RawRow {
    /// What a query selects for [`RawRow::from_row`]: the chain fields,
    /// then every content column in key order.
    pub fn select_list() -> &'static str {
        static LIST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        LIST.get_or_init(|| {
            let mut names: Vec<&str> = RAW_FIXED.to_vec();
            names.extend(content_by_name().iter().map(|c| c.column));
            names.join(", ")
        })
    }

    /// Read a row selected with [`RawRow::select_list`].
    pub fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
        use rusqlite::types::ValueRef as V;
        let specs = content_by_name();
        let mut cells = Vec::with_capacity(specs.len());
        let mut bytes = Vec::with_capacity(1024);
        let mut has_content = false;
        for (i, spec) in specs.iter().enumerate() {
            let v = r.get_ref(RAW_FIXED.len() + i)?;
            cells.push(match v {
                V::Null if spec.hashed == Hashed::WhenSet => Cell::Absent,
                V::Null => Cell::Null,
                V::Integer(n) => Cell::Integer(n),
                V::Real(f) => Cell::Real(f),
                V::Text(t) | V::Blob(t) => {
                    let start = bytes.len() as u32;
                    bytes.extend_from_slice(t);
                    Cell::Text(start, bytes.len() as u32)
                }
            });
            // What a JSON document would hold: a non-finite real is null.
            has_content |= !matches!(v, V::Null) && !matches!(v, V::Real(f) if !f.is_finite());
        }
        let text = |v: V<'_>| match v {
            V::Text(t) => String::from_utf8_lossy(t).into_owned(),
            V::Integer(i) => i.to_string(),
            V::Null => String::new(),
            other => format!("{other:?}"),
        };
        Ok(RawRow {
            seq: r.get(0)?,
            ts: r.get(1)?,
            kind: text(r.get_ref(2)?),
            prev_hash: text(r.get_ref(3)?),
            hash: text(r.get_ref(4)?),
            content_digest: r.get(5)?,
            detail: match r.get_ref(6)? {
                V::Null => None,
                v => Some(text(v)),
            },
            cells,
            bytes,
            has_content,
        })
    }

    /// The canonical content: the content columns as one JSON object, keys
    /// in order (see [`Receipt::canonical_content`]).
    fn content(&self) -> Vec<u8> {
        let mut content = Vec::with_capacity(self.bytes.len() + 512);
        content.push(b'{');
        let mut first = true;
        static KEYS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        let keys = KEYS.get_or_init(|| {
            content_by_name()
                .iter()
                .map(|spec| {
                    let mut k = Vec::new();
                    json_string(&mut k, spec.column.as_bytes());
                    k.push(b':');
                    k
                })
                .collect()
        });
        for (key, cell) in keys.iter().zip(&self.cells) {
            if matches!(cell, Cell::Absent) {
                continue;
            }
            if !first {
                content.push(b',');
            }
            first = false;
            content.extend_from_slice(key);
            match *cell {
                Cell::Absent | Cell::Null => content.extend_from_slice(b"null"),
                Cell::Integer(n) => content.extend_from_slice(n.to_string().as_bytes()),
                Cell::Real(f) => {
                    let _ = serde_json::to_writer(&mut content, &Value::from(f));
                }
                Cell::Text(a, b) => {
                    let t = &self.bytes[a as usize..b as usize];
                    match std::str::from_utf8(t) {
                        Ok(text) => json_string(&mut content, text.as_bytes()),
                        Err(_) => json_string(&mut content, String::from_utf8_lossy(t).as_bytes()),
                    }
                }
            }
        }
        content.push(b'}');
        content
    }

    /// The hash this row should have, from its stored content (or, for a
    /// pruned row, from the digest it kept).
    pub fn computed_hash(&self) -> String {
        let digest = match &self.content_digest {
            Some(hex) => match chain::unhex(hex) {
                Some(d) => d,
                None => return String::from("malformed content digest"),
            },
            None => chain::content_digest(self.content()),
        };
        chain::row_hash_of_digest(self.seq, self.ts, &self.kind, &self.prev_hash, &digest)
    }

    /// The SHA-256 of this row's stored content (what a prune keeps).
    pub fn content_digest_bytes(&self) -> [u8; 32] {
        chain::content_digest(self.content())
    }

    /// Whether any content column is still set (a pruned row has none).
    pub fn has_content(&self) -> bool {
        self.has_content
    }
}

/// Append the UTF-8 text `s` as a JSON string, escaped exactly as
/// `serde_json` escapes it (`\"`, `\\`, the short escapes of
/// backspace, form feed, newline, carriage return and tab, `\u00xx` for the
/// other control characters, and nothing else), eight bytes at a time over
/// runs that need no escape.
fn json_string(out: &mut Vec<u8>, s: &[u8]) {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // A byte of `w` is below 0x20, a quote or a backslash.
    let special = |w: u64| {
        let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
        (w.wrapping_sub(LO * 0x20) & !w & HI) | zero(w ^ (LO * b'"' as u64)) | zero(w ^ (LO * b'\\' as u64))
    };
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        if i + 8 <= s.len() {
            let w = u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or_default());
            if special(w) == 0 {
                i += 8;
                continue;
            }
        }
        let b = s[i];
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&s[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        } else {
            out.extend_from_slice(esc);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// [`Column::write_export`] for a column of any type (a `Column` is not
/// `dyn`-compatible).
trait WriteExport {
    fn write_column(&self, out: &mut Vec<u8>) -> bool;
}

impl<T: Column> WriteExport for T {
    fn write_column(&self, out: &mut Vec<u8>) -> bool {
        Column::write_export(self, out)
    }
}

/// Append `n` in decimal, as `serde_json` writes an integer.
fn write_i64(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut m = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}

/// Append `v` as compact JSON, as `serde_json::to_string` writes it.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_round_trips() {
        for k in RowKind::ALL {
            assert_eq!(RowKind::parse(k.as_str()), Some(*k));
        }
        for v in Verdict::ALL {
            assert_eq!(Verdict::parse(v.as_str()), Some(*v));
        }
        for s in Source::ALL {
            assert_eq!(Source::parse(s.as_str()), Some(*s));
        }
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        assert!("yolo".parse::<Verdict>().unwrap_err().contains("auto-approved"));
    }

    #[test]
    fn columns_are_listed_once_each() {
        let mut names: Vec<&str> = COLUMNS.iter().map(|c| c.column).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), COLUMNS.len());
    }

    #[test]
    fn an_export_record_reads_back_to_the_same_row() {
        let mut r = Receipt::new(RowKind::Decision);
        r.seq = 3;
        r.session_id = Some("s".into());
        r.tool_kind = Some(ToolKind(crate::action::Kind::Shell));
        r.args = Some(JsonText(r#"{"command":"ls é\u001f","n":1.5e30}"#.into()));
        r.decision = Some(Verdict::AutoApproved);
        r.source = Some(Source::Floor);
        r.redacted = Some(JsonText::of(&serde_json::json!(["github-token"])));
        r.prev_hash = chain::GENESIS.into();
        r.hash = r.computed_hash();
        let rec = r.export_record(None);
        assert!(rec.contains_key("args_text"), "floats and escapes keep the exact text");
        assert_eq!(r.export_json(None).unwrap(), serde_json::to_string(&rec).unwrap());
        let back = Receipt::from_export(&rec).unwrap();
        assert_eq!(back.computed_hash(), r.hash);
        assert_eq!(back, r);
    }

    #[test]
    fn columns_added_later_do_not_change_old_hashes() {
        let mut r = Receipt::new(RowKind::Outcome);
        r.prev_hash = chain::GENESIS.into();
        let before = r.canonical_content();
        assert!(!before.contains("redacted") && !before.contains("content_digest"));
        r.redacted = Some(JsonText::of(&serde_json::json!(["aws-secret"])));
        assert!(r.canonical_content().contains("\"redacted\""));
    }

    #[test]
    fn json_strings_are_escaped_as_serde_json_escapes_them() {
        let mut cases: Vec<String> = (0u8..0x80).map(|b| format!("ab{}cdefghij{}", b as char, b as char)).collect();
        cases.push(String::new());
        cases.push("plain text of more than eight bytes, no escapes".into());
        cases.push("é\u{1f}\"\\\n\u{7f}日本語 tab\there".into());
        cases.push("12345678\"".into());
        for c in cases {
            let mut out = Vec::new();
            json_string(&mut out, c.as_bytes());
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&c).unwrap(), "{c:?}");
        }
    }

    /// The record `gate export` writes is the one built as a map and
    /// written by serde_json, whichever path each document takes.
    fn assert_export_matches(r: &Receipt, outcome: Option<Status>) {
        let want = serde_json::to_string(&r.export_record(outcome)).unwrap();
        let mut got = Vec::new();
        r.append_export_json(outcome, &mut got);
        assert_eq!(String::from_utf8(got).unwrap(), want);
    }

    #[test]
    fn export_json_matches_the_record_for_every_kind_of_document() {
        let docs = [
            None,
            Some(""),
            Some("null"),
            Some("1"),
            Some("-0"),
            Some("1.5"),
            Some("\"plain\""),
            Some(r#"{"command":"ls -la","description":"list"}"#),
            Some(r#"{"b":1,"a":[true,false,null,-3]}"#),
            Some(r#"{"a":1,"a":2}"#),
            Some(r#"{"a": 1}"#),
            Some(r#"{"s":"\u0041\/"}"#),
            Some(r#"{"s":"\u001f\n\"\\é"}"#),
            Some(r#"{"n":18446744073709551616}"#),
            Some("not json at all"),
            Some("{\"unterminated\":"),
            Some(r#"["tab	raw"]"#),
        ];
        for (i, doc) in docs.iter().enumerate() {
            for (j, other) in docs.iter().enumerate() {
                let mut r = Receipt::new(if i % 2 == 0 { RowKind::Decision } else { RowKind::Outcome });
                r.seq = i as i64 * 100 + j as i64 - 50;
                r.ts = Millis(-1_000 + 7_777_777_777 * i as i64);
                r.args = doc.map(|d| JsonText(d.into()));
                r.patch = other.map(|d| JsonText(d.into()));
                r.detail = docs[(i + j) % docs.len()].map(|d| JsonText(d.into()));
                r.redacted = other.map(|d| JsonText(d.into()));
                r.reason = Some("a \"reason\"\n\u{1}\u{7f}".into());
                r.links_seq = Some(i64::MIN + j as i64);
                r.duration_ms = Some(i64::MAX - i as i64);
                r.tool_kind = Some(ToolKind(crate::action::Kind::Shell));
                r.decision = Some(Verdict::ALL[i % Verdict::ALL.len()]);
                r.source = Some(Source::ALL[j % Source::ALL.len()]);
                r.status = Some(Status::ALL[(i + j) % Status::ALL.len()]);
                r.content_digest = doc.map(|d| d.into());
                r.hash = r.computed_hash();
                assert_export_matches(&r, None);
                assert_export_matches(&r, r.status);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        #[test]
        fn export_json_matches_the_record(
            seq in proptest::prelude::any::<i64>(),
            ts in -100_000_000_000_000i64..100_000_000_000_000,
            strings in proptest::collection::vec(proptest::option::of(".{0,20}"), 4),
            docs in proptest::collection::vec(proptest::option::of(
                proptest::prop_oneof![".{0,12}", r#"\{"[a-c\\"]{0,3}":(-?[0-9]{1,3}|"[a-b\\/\n]{0,3}"|\[\]|null)(,"[a-c]{0,2}":[0-9]{0,2}(\.5)?)?\}"#]
            ), 4),
            outcome in proptest::option::of(0usize..Status::ALL.len()),
        ) {
            let mut r = Receipt::new(RowKind::Decision);
            r.seq = seq;
            r.ts = Millis(ts);
            r.session_id = strings[0].clone();
            r.cwd = strings[1].clone();
            r.reason = strings[2].clone();
            r.error = strings[3].clone();
            r.args = docs[0].clone().map(JsonText);
            r.patch = docs[1].clone().map(JsonText);
            r.detail = docs[2].clone().map(JsonText);
            r.redacted = docs[3].clone().map(JsonText);
            assert_export_matches(&r, outcome.map(|i| Status::ALL[i]));
        }
    }

    #[test]
    fn a_pruned_row_keeps_its_hash() {
        let mut r = Receipt::new(RowKind::Decision);
        r.seq = 1;
        r.args = Some(JsonText(r#"{"command":"ls"}"#.into()));
        r.prev_hash = chain::GENESIS.into();
        r.hash = r.computed_hash();
        let digest = chain::hex(&chain::content_digest(r.canonical_content()));
        let pruned = Receipt {
            seq: r.seq,
            ts: r.ts,
            kind: r.kind,
            prev_hash: r.prev_hash.clone(),
            hash: r.hash.clone(),
            content_digest: Some(digest),
            ..Default::default()
        };
        assert_eq!(pruned.computed_hash(), r.hash);
        let mut wrong = pruned.clone();
        wrong.content_digest = Some(chain::GENESIS.into());
        assert_ne!(wrong.computed_hash(), r.hash);
    }
}
