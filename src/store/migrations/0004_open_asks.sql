-- Version 4: every hook call looks for the calls of its session that were
-- handed to the agent's own dialog and have no outcome yet (a human may have
-- rejected them there). This index holds only those rows, so the lookup no
-- longer reads every row of a long session. Never edit this file; add a new
-- numbered migration instead.
CREATE INDEX receipts_open_asks ON receipts(session_id, seq)
WHERE kind = 'decision' AND decision = 'asked' AND tool_use_id IS NOT NULL;
