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
