-- The question broker's working state. Unlike `receipts`, these rows
-- change (a question goes from pending to answered or expired, exactly
-- once); every final answer is also appended to `receipts`, which never
-- changes. Never edit this file; add a new numbered migration instead.
CREATE TABLE questions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    session_id   TEXT,
    tool_use_id  TEXT,
    agent        TEXT,
    cwd          TEXT,
    tool         TEXT,
    tool_kind    TEXT,
    target       TEXT,                     -- secrets masked
    args         TEXT,                     -- secrets masked, JSON
    rule_id      TEXT,
    rule_origin  TEXT,
    reason       TEXT,
    grant_key    TEXT,                     -- what "allow for this session" would cover
    always_rule  TEXT,                     -- the TOML rule "always allow" would write
    state        TEXT NOT NULL DEFAULT 'pending',   -- pending | answered | expired
    answer       TEXT,                     -- allow | deny
    scope        TEXT,                     -- once | session | always
    approver     TEXT,
    source       TEXT,                     -- watch | cli | tty
    feedback     TEXT,
    answered_ms  INTEGER
);
CREATE INDEX questions_state ON questions(state, id);

-- A question can be answered once; its answer never changes afterwards.
CREATE TRIGGER questions_answer_once BEFORE UPDATE ON questions
WHEN OLD.state <> 'pending'
BEGIN
    SELECT RAISE(ABORT, 'gate: this question was already answered or expired');
END;

CREATE TRIGGER questions_no_delete BEFORE DELETE ON questions
BEGIN
    SELECT RAISE(ABORT, 'gate questions are kept');
END;

-- "Allow for this session": honoured for later calls of the same session
-- whose grant key matches.
CREATE TABLE grants (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    created_ms   INTEGER NOT NULL,
    session_id   TEXT NOT NULL,
    grant_key    TEXT NOT NULL,
    question_id  INTEGER NOT NULL REFERENCES questions(id),
    approver     TEXT,
    source       TEXT
);
CREATE INDEX grants_session ON grants(session_id, grant_key);

CREATE TRIGGER grants_no_update BEFORE UPDATE ON grants
BEGIN
    SELECT RAISE(ABORT, 'gate grants are append-only');
END;
