-- The receipt: one append-only, hash-chained table. Never edit this file;
-- add a new numbered migration instead.
CREATE TABLE receipts (
    seq          INTEGER PRIMARY KEY,
    ts           INTEGER NOT NULL,          -- UTC, milliseconds since the epoch
    kind         TEXT    NOT NULL,          -- decision | outcome | session | answer
    session_id   TEXT,
    tool_use_id  TEXT,
    agent        TEXT,
    os_user      TEXT,
    host         TEXT,
    cwd          TEXT,
    tool         TEXT,
    tool_kind    TEXT,                      -- shell | read | write | edit | search | fetch | mcp | agent | other
    args         TEXT,                      -- the tool input as JSON, secrets masked
    target       TEXT,
    decision     TEXT,                      -- auto-approved | approved | denied | expired | asked
    approver     TEXT,
    source       TEXT,                      -- rule | floor | terminal | cli | agent | timeout | error | watch | tty | session
    rule_id      TEXT,
    rule_origin  TEXT,                      -- file:line of the rule
    reason       TEXT,
    links_seq    INTEGER,                   -- an outcome or answer: the decision it belongs to
    status       TEXT,                      -- outcome: success | error | interrupted
    duration_ms  INTEGER,
    error        TEXT,
    patch        TEXT,                      -- edits and writes: the structured patch, JSON
    detail       TEXT,                      -- anything else, JSON
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL
);

CREATE INDEX receipts_session  ON receipts(session_id, seq);
CREATE INDEX receipts_tool_use ON receipts(tool_use_id);
CREATE INDEX receipts_ts       ON receipts(ts);
CREATE INDEX receipts_links    ON receipts(links_seq);

CREATE TRIGGER receipts_no_update BEFORE UPDATE ON receipts
BEGIN
    SELECT RAISE(ABORT, 'gate receipts are append-only: UPDATE refused');
END;

CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts
BEGIN
    SELECT RAISE(ABORT, 'gate receipts are append-only: DELETE refused');
END;

-- INSERT OR REPLACE deletes the old row without firing the delete trigger
-- (recursive triggers are off), so a reused seq is refused here.
CREATE TRIGGER receipts_no_reuse BEFORE INSERT ON receipts
WHEN EXISTS (SELECT 1 FROM receipts WHERE seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'gate receipts are append-only: seq already used');
END;

CREATE TRIGGER receipts_in_order BEFORE INSERT ON receipts
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM receipts)
  OR NEW.prev_hash IS NOT COALESCE((SELECT hash FROM receipts ORDER BY seq DESC LIMIT 1),
                                   '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN
    SELECT RAISE(ABORT, 'gate receipts are append-only: row does not extend the chain');
END;
