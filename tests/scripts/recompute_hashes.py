#!/usr/bin/env python3
"""Recompute every `hash` of a gate JSONL export, from the export alone.

Written from docs/receipt.md, with nothing from gate: reads a whole,
unfiltered export on stdin (or a file), checks each record's hash, that
seqs follow one another and that each prev_hash is the hash of the record
before it, and prints one line per problem. Exit 0 when all check out.
"""
import hashlib
import json
import sys
from datetime import datetime, timezone

TAG = b"gate.receipt.v1\x00"
GENESIS = "0" * 64
# Content keys (column names) and the export field each is read from.
CONTENT = {
    "session_id": "session_id", "tool_use_id": "tool_use_id", "agent": "agent",
    "os_user": "os_user", "host": "host", "cwd": "cwd", "tool": "tool",
    "tool_kind": "tool_kind", "args": "args", "target": "target",
    "decision": "decision", "approver": "approver", "source": "source",
    "rule_id": "rule", "rule_origin": "rule_origin", "reason": "reason",
    "links_seq": "links_seq", "status": "status", "duration_ms": "duration_ms",
    "error": "error", "patch": "patch", "detail": "detail",
}
WHEN_SET = {"redacted": "redacted"}
DOCUMENTS = {"args", "patch", "detail", "redacted"}


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


TEXT_FIELDS = {"args", "patch", "detail"}
KNOWN = set(CONTENT.values()) | set(WHEN_SET.values()) | {
    "schema", "seq", "ts", "kind", "prev_hash", "hash", "content_digest", "outcome",
} | {name + "_text" for name in TEXT_FIELDS}


def problems_of(record):
    """What makes a record unacceptable whatever its hash says."""
    out = [f"unknown field {k!r}" for k in record if k not in KNOWN]
    for name in TEXT_FIELDS:
        text = record.get(name + "_text")
        if text is not None and (not isinstance(text, str) or json.loads(text) != record.get(name)):
            out.append(f"{name}_text does not say what {name} says")
    has_content = any(record.get(exp) is not None for exp in list(CONTENT.values()) + list(WHEN_SET.values()))
    if record.get("content_digest") and has_content:
        out.append("a pruned record that still holds content")
    return out


def field(record, name):
    if name in DOCUMENTS:
        if name in TEXT_FIELDS and isinstance(record.get(name + "_text"), str):
            return record[name + "_text"]
        value = record.get(name)
        return None if value is None else compact(value)
    return record.get(name)


def millis(ts):
    when = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1000 + 0.5) if when.microsecond % 1000 == 0 else None


def row_hash(record):
    if record.get("content_digest"):
        digest = bytes.fromhex(record["content_digest"])
    else:
        content = {col: field(record, exp) for col, exp in CONTENT.items()}
        for col, exp in WHEN_SET.items():
            if record.get(exp) is not None:
                content[col] = field(record, exp)
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    kind = record["kind"].encode("utf-8")
    h = hashlib.sha256()
    h.update(TAG)
    h.update(record["seq"].to_bytes(8, "big", signed=True))
    h.update(millis(record["ts"]).to_bytes(8, "big", signed=True))
    h.update(len(kind).to_bytes(8, "big"))
    h.update(kind)
    h.update(bytes.fromhex(record["prev_hash"]))
    h.update(digest)
    return h.hexdigest()


def main():
    source = open(sys.argv[1], encoding="utf-8") if len(sys.argv) > 1 else sys.stdin
    bad = 0
    previous = None
    count = 0
    pruned = []
    for line in source:
        if not line.strip():
            continue
        record = json.loads(line)
        count += 1
        for problem in problems_of(record):
            print(f"seq {record.get('seq')}: {problem}")
            bad += 1
        if record.get("content_digest"):
            pruned.append((record["seq"], millis(record["ts"])))
        if record.get("kind") == "prune":
            detail = record.get("detail") or {}
            before = millis(detail["before"]) if detail.get("before") else None
            lo, hi = detail.get("from_seq") or 1, detail.get("to_seq") or 0
            keep = []
            for seq, ts in pruned:
                if lo <= seq <= hi and before is not None and ts < before:
                    continue
                keep.append((seq, ts))
            pruned = keep
        if row_hash(record) != record["hash"]:
            print(f"seq {record['seq']}: hash does not match its content")
            bad += 1
        if previous is not None and record["seq"] != previous["seq"] + 1:
            print(f"seq {record['seq']}: follows seq {previous['seq']} (records missing or out of order)")
            bad += 1
        elif previous is not None and record["prev_hash"] != previous["hash"]:
            print(f"seq {record['seq']}: prev_hash is not the hash of seq {previous['seq']}")
            bad += 1
        if previous is None and record["seq"] == 1 and record["prev_hash"] != GENESIS:
            print("seq 1: prev_hash is not the genesis hash")
            bad += 1
        previous = record
    for seq, _ in pruned:
        print(f"seq {seq}: pruned, and no prune record accounts for it")
        bad += 1
    print(f"{count} records, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
