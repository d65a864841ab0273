//! What an edit or a write changed, as unified-diff lines, from whatever
//! the agent reported: Claude Code's `structuredPatch` hunks (or, for a new
//! file, its content), Codex's and Hermes' apply_patch text, Gemini CLI's
//! unified `fileDiff`, or, with no outcome, the call's own arguments
//! (`old_string`/`new_string`, `content`, a patch text).

use serde_json::Value;

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `@@ -a,b +c,d @@`
    Hunk(String),
    Context(String),
    Removed(String),
    Added(String),
    /// A line of the agent's report that is not a diff line.
    Note(String),
}

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Created,
    Edited,
    Deleted,
    /// Written whole, without a before to compare.
    Written,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Edited => "edited",
            Change::Deleted => "deleted",
            Change::Written => "written",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub path: String,
    pub change: Change,
    pub lines: Vec<Line>,
}

/// The files a call changed and how, from its arguments and the patch its
/// outcome reported (`Value::Null` when none).
pub fn of_call(args: &Value, patch: &Value) -> Vec<FileDiff> {
    let path = ["file_path", "filePath", "path", "absolute_path"]
        .iter()
        .find_map(|k| args.get(*k).and_then(Value::as_str))
        .unwrap_or("")
        .to_string();
    match patch {
        Value::Array(hunks) if !hunks.is_empty() => {
            return vec![FileDiff { path, change: Change::Edited, lines: structured(hunks) }];
        }
        Value::String(text) if text.contains("*** Begin Patch") => return apply_patch(text),
        Value::String(text) if text.contains("@@") => {
            let created = text.contains("@@ -0,0 ");
            let change = if created { Change::Created } else { Change::Edited };
            return vec![FileDiff { path, change, lines: unified(text) }];
        }
        _ => {}
    }
    for key in ["command", "patch", "input"] {
        if let Some(text) = args.get(key).and_then(Value::as_str).filter(|t| t.contains("*** Begin Patch")) {
            return apply_patch(text);
        }
    }
    let text = |k: &str| args.get(k).and_then(Value::as_str);
    if let (Some(old), Some(new)) = (text("old_string").or(text("oldString")), text("new_string").or(text("newString")))
    {
        let mut lines: Vec<Line> = old.lines().map(|l| Line::Removed(l.to_string())).collect();
        lines.extend(new.lines().map(|l| Line::Added(l.to_string())));
        return vec![FileDiff { path, change: Change::Edited, lines }];
    }
    if let Some(content) = text("content").or(text("file_text")) {
        // An empty structured patch from Claude Code means the file is new.
        let change = if matches!(patch, Value::Array(h) if h.is_empty()) { Change::Created } else { Change::Written };
        let lines = content.lines().map(|l| Line::Added(l.to_string())).collect();
        return vec![FileDiff { path, change, lines }];
    }
    Vec::new()
}

fn structured(hunks: &[Value]) -> Vec<Line> {
    let mut out = Vec::new();
    for h in hunks {
        let n = |k: &str| h.get(k).and_then(Value::as_i64).unwrap_or(0);
        out.push(Line::Hunk(format!(
            "@@ -{},{} +{},{} @@",
            n("oldStart"),
            n("oldLines"),
            n("newStart"),
            n("newLines")
        )));
        for l in h.get("lines").and_then(Value::as_array).into_iter().flatten() {
            out.push(diff_line(l.as_str().unwrap_or("")));
        }
    }
    out
}

fn diff_line(l: &str) -> Line {
    if let Some(rest) = l.strip_prefix('+') {
        Line::Added(rest.to_string())
    } else if let Some(rest) = l.strip_prefix('-') {
        Line::Removed(rest.to_string())
    } else if let Some(rest) = l.strip_prefix(' ') {
        Line::Context(rest.to_string())
    } else if l.starts_with("@@") {
        Line::Hunk(l.to_string())
    } else {
        Line::Note(l.to_string())
    }
}

/// A unified diff text (Gemini CLI's `fileDiff`): its hunks and lines, the
/// file header lines dropped.
fn unified(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut in_hunk = false;
    for l in text.lines() {
        if l.starts_with("@@") {
            in_hunk = true;
            out.push(Line::Hunk(l.to_string()));
        } else if in_hunk {
            out.push(diff_line(l));
        }
    }
    out
}

/// An apply_patch text: `*** Add File:`, `*** Update File:` (with `***
/// Move to:`), `*** Delete File:` sections.
fn apply_patch(text: &str) -> Vec<FileDiff> {
    let mut files: Vec<FileDiff> = Vec::new();
    for l in text.lines() {
        let header = |p: &str| l.strip_prefix(p).map(|rest| rest.trim().to_string());
        if let Some(p) = header("*** Add File:") {
            files.push(FileDiff { path: p, change: Change::Created, lines: Vec::new() });
        } else if let Some(p) = header("*** Update File:") {
            files.push(FileDiff { path: p, change: Change::Edited, lines: Vec::new() });
        } else if let Some(p) = header("*** Delete File:") {
            files.push(FileDiff { path: p, change: Change::Deleted, lines: Vec::new() });
        } else if let Some(p) = header("*** Move to:") {
            if let Some(f) = files.last_mut() {
                f.lines.push(Line::Note(format!("moved to {p}")));
            }
        } else if l.starts_with("*** ") {
            continue;
        } else if let Some(f) = files.last_mut() {
            if l == "@@" || l.starts_with("@@ ") {
                f.lines.push(Line::Hunk(l.to_string()));
            } else {
                f.lines.push(diff_line(l));
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(d: &[FileDiff]) -> Vec<String> {
        d.iter()
            .map(|f| {
                let lines: Vec<String> = f
                    .lines
                    .iter()
                    .map(|l| match l {
                        Line::Hunk(h) => h.clone(),
                        Line::Context(t) => format!(" {t}"),
                        Line::Removed(t) => format!("-{t}"),
                        Line::Added(t) => format!("+{t}"),
                        Line::Note(t) => format!("# {t}"),
                    })
                    .collect();
                format!("{} {} | {}", f.change.as_str(), f.path, lines.join(" | "))
            })
            .collect()
    }

    #[test]
    fn every_agents_report_becomes_a_diff() {
        let cases: Vec<(&str, Value, Value, Vec<&str>)> = vec![
            (
                "claude edit, structured patch",
                json!({"file_path": "/p/main.rs", "old_string": "a", "new_string": "b"}),
                json!([{"oldStart": 1, "oldLines": 1, "newStart": 1, "newLines": 1, "lines": ["-fn main() {}", "+fn main() { x }"]}]),
                vec!["edited /p/main.rs | @@ -1,1 +1,1 @@ | -fn main() {} | +fn main() { x }"],
            ),
            (
                "claude write of a new file",
                json!({"file_path": "/p/notes.md", "content": "hello\nworld\n"}),
                json!([]),
                vec!["created /p/notes.md | +hello | +world"],
            ),
            (
                "claude edit, no outcome yet",
                json!({"file_path": "/p/a.txt", "old_string": "x\ny", "new_string": "z"}),
                Value::Null,
                vec!["edited /p/a.txt | -x | -y | +z"],
            ),
            (
                "codex apply_patch",
                json!({"command": "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** Update File: src/a.rs\n@@ fn a\n-old\n+new\n ctx\n*** Delete File: gone.txt\n*** End Patch\n"}),
                json!("*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** Update File: src/a.rs\n@@ fn a\n-old\n+new\n ctx\n*** Delete File: gone.txt\n*** End Patch\n"),
                vec!["created hello.txt | +hi", "edited src/a.rs | @@ fn a | -old | +new |  ctx", "deleted gone.txt | "],
            ),
            (
                "gemini fileDiff",
                json!({"file_path": "/p/hello.txt", "content": "hello\n"}),
                json!("Index: hello.txt\n===\n--- hello.txt\tOriginal\n+++ hello.txt\tWritten\n@@ -0,0 +1,1 @@\n+hello\n"),
                vec!["created /p/hello.txt | @@ -0,0 +1,1 @@ | +hello"],
            ),
            ("a read", json!({"file_path": "/p/x"}), Value::Null, vec![]),
        ];
        for (name, args, patch, want) in cases {
            assert_eq!(summary(&of_call(&args, &patch)), want, "{name}");
        }
    }
}
