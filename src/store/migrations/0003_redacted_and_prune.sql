-- Version 3: rows say which kinds of secret were masked in them, and old
-- payloads can be pruned without breaking the chain. Never edit this file;
-- add a new numbered migration instead.
ALTER TABLE receipts ADD COLUMN redacted TEXT;        -- JSON array of masked secret kinds
ALTER TABLE receipts ADD COLUMN content_digest TEXT;  -- set only by prune: SHA-256 of the content it removed

-- Rows stay append-only. The one change allowed is a prune: every content
-- column set to NULL and the digest of that content kept, so the row's hash
-- still verifies (`gate verify` recomputes it from the digest, and fails on
-- a pruned row that no prune row covers).
DROP TRIGGER receipts_no_update;
CREATE TRIGGER receipts_no_update BEFORE UPDATE ON receipts
WHEN NOT (
        OLD.content_digest IS NULL AND NEW.content_digest IS NOT NULL
    AND length(NEW.content_digest) = 64
    AND NEW.seq IS OLD.seq AND NEW.ts IS OLD.ts AND NEW.kind IS OLD.kind
    AND NEW.prev_hash IS OLD.prev_hash AND NEW.hash IS OLD.hash
    AND NEW.kind IS NOT 'prune'
    AND NEW.session_id IS NULL AND NEW.tool_use_id IS NULL AND NEW.agent IS NULL
    AND NEW.os_user IS NULL AND NEW.host IS NULL AND NEW.cwd IS NULL
    AND NEW.tool IS NULL AND NEW.tool_kind IS NULL AND NEW.args IS NULL
    AND NEW.target IS NULL AND NEW.decision IS NULL AND NEW.approver IS NULL
    AND NEW.source IS NULL AND NEW.rule_id IS NULL AND NEW.rule_origin IS NULL
    AND NEW.reason IS NULL AND NEW.links_seq IS NULL AND NEW.status IS NULL
    AND NEW.duration_ms IS NULL AND NEW.error IS NULL AND NEW.patch IS NULL
    AND NEW.detail IS NULL AND NEW.redacted IS NULL
)
BEGIN
    SELECT RAISE(ABORT, 'gate receipts are append-only: UPDATE refused');
END;

-- A settled question's answer never changes; a prune may only empty its
-- payload (what was asked about, the offered rule, the feedback).
DROP TRIGGER questions_answer_once;
CREATE TRIGGER questions_answer_once BEFORE UPDATE ON questions
WHEN OLD.state <> 'pending' AND NOT (
        NEW.id IS OLD.id AND NEW.created_ms IS OLD.created_ms AND NEW.expires_ms IS OLD.expires_ms
    AND NEW.session_id IS OLD.session_id AND NEW.tool_use_id IS OLD.tool_use_id AND NEW.agent IS OLD.agent
    AND NEW.state IS OLD.state AND NEW.answer IS OLD.answer AND NEW.scope IS OLD.scope
    AND NEW.approver IS OLD.approver AND NEW.source IS OLD.source AND NEW.answered_ms IS OLD.answered_ms
    AND NEW.rule_id IS OLD.rule_id AND NEW.rule_origin IS OLD.rule_origin
    AND NEW.tool IS OLD.tool AND NEW.tool_kind IS OLD.tool_kind
    AND NEW.target IS NULL AND NEW.args IS NULL AND NEW.reason IS NULL AND NEW.cwd IS NULL
    AND NEW.always_rule IS NULL AND NEW.feedback IS NULL AND NEW.grant_key IS NULL
)
BEGIN
    SELECT RAISE(ABORT, 'gate: this question was already answered or expired');
END;

-- A prune may also blank an old grant's key (the command it covered).
DROP TRIGGER grants_no_update;
CREATE TRIGGER grants_no_update BEFORE UPDATE ON grants
WHEN NOT (
        NEW.id IS OLD.id AND NEW.created_ms IS OLD.created_ms AND NEW.session_id IS OLD.session_id
    AND NEW.question_id IS OLD.question_id AND NEW.approver IS OLD.approver AND NEW.source IS OLD.source
    AND NEW.grant_key = 'pruned'
)
BEGIN
    SELECT RAISE(ABORT, 'gate grants are append-only');
END;
