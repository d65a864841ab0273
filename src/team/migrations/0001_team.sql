-- gate's team store on PostgreSQL, version 1. Created and migrated by
-- `gate push --init`; never edit this file, add a new numbered one.
--
-- Every developer's receipt store is kept as it was written: one row per
-- receipt, keyed by (host, store_id, seq), with the receipt's export record
-- (gate.receipt/1, without the derived `outcome`) byte for byte in `record`,
-- and the columns that reviews filter on copied beside it. Rows are only
-- ever added: triggers refuse UPDATE, DELETE and TRUNCATE whoever runs them,
-- and refuse rows that do not extend their store's hash chain.

CREATE TABLE gate_stores (
    host        text        NOT NULL,
    store_id    text        NOT NULL UNIQUE CHECK (store_id ~ '^[0-9a-f]{64}$'),   -- a store id names one store, whatever host claims it
    developer   text        NOT NULL,
    public_key  text        NOT NULL,            -- ed25519:<hex>, the key that signs this store's checkpoints
    first_push  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (host, store_id)
);

CREATE TABLE gate_receipts (
    host        text   NOT NULL,
    store_id    text   NOT NULL,
    seq         bigint NOT NULL CHECK (seq >= 1),
    ts          bigint NOT NULL,
    kind        text   NOT NULL,
    session_id  text,
    tool_use_id text,
    agent       text,
    os_user     text,
    cwd         text,
    tool        text,
    tool_kind   text,
    target      text,
    decision    text,
    source      text,
    approver    text,
    rule_id     text,
    reason      text,
    links_seq   bigint,
    status      text,
    prev_hash   text   NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash        text   NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    record      text   NOT NULL,
    pushed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (host, store_id, seq)
    -- No FOREIGN KEY to gate_stores: its check per row cost about half of a
    -- push's time on the server; the chain trigger below checks the store
    -- once per statement instead.
);
CREATE INDEX gate_receipts_ts      ON gate_receipts (ts);
CREATE INDEX gate_receipts_session ON gate_receipts (session_id);
CREATE INDEX gate_receipts_links   ON gate_receipts (host, store_id, links_seq) WHERE links_seq IS NOT NULL;

-- Signed checkpoints: the developer's statement that their store had `size`
-- rows with this Merkle root, signed by the store's key.
CREATE TABLE gate_checkpoints (
    host        text   NOT NULL,
    store_id    text   NOT NULL,
    size        bigint NOT NULL CHECK (size >= 1),
    root        text   NOT NULL CHECK (root ~ '^[0-9a-f]{64}$'),
    time_ms     bigint NOT NULL,
    key         text   NOT NULL,
    signature   text   NOT NULL CHECK (signature ~ '^[0-9a-f]{128}$'),
    pushed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (host, store_id, size, time_ms),
    FOREIGN KEY (host, store_id) REFERENCES gate_stores (host, store_id)
);

CREATE FUNCTION gate_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'gate team store: % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER gate_stores_append_only BEFORE UPDATE OR DELETE ON gate_stores
    FOR EACH ROW EXECUTE FUNCTION gate_refuse_change();
CREATE TRIGGER gate_stores_no_truncate BEFORE TRUNCATE ON gate_stores
    FOR EACH STATEMENT EXECUTE FUNCTION gate_refuse_change();
CREATE TRIGGER gate_receipts_append_only BEFORE UPDATE OR DELETE ON gate_receipts
    FOR EACH ROW EXECUTE FUNCTION gate_refuse_change();
CREATE TRIGGER gate_receipts_no_truncate BEFORE TRUNCATE ON gate_receipts
    FOR EACH STATEMENT EXECUTE FUNCTION gate_refuse_change();
CREATE TRIGGER gate_checkpoints_append_only BEFORE UPDATE OR DELETE ON gate_checkpoints
    FOR EACH ROW EXECUTE FUNCTION gate_refuse_change();
CREATE TRIGGER gate_checkpoints_no_truncate BEFORE TRUNCATE ON gate_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION gate_refuse_change();

-- Every inserted row must belong to a registered store and extend its
-- chain: its seq follows a row (already stored, or inserted by the same
-- statement) whose hash is its prev_hash, and a store's first row has the
-- genesis prev_hash and is the row whose hash names the store. Checked once
-- per statement, over all the rows it inserted.
CREATE FUNCTION gate_receipts_check_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.host, n.store_id INTO bad
    FROM (SELECT DISTINCT host, store_id FROM gate_new_receipts) n
    WHERE NOT EXISTS (SELECT 1 FROM gate_stores s WHERE s.host = n.host AND s.store_id = n.store_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'gate team store: store % on % is not registered in gate_stores',
            left(bad.store_id, 12), bad.host
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- One index probe per row for the row before it (the LIMIT keeps the
    -- planner from hashing the whole table instead, which made every batch
    -- read every stored row).
    SELECT n.host, n.store_id, n.seq INTO bad
    FROM gate_new_receipts n
    LEFT JOIN LATERAL (
        SELECT p.hash FROM gate_receipts p
        WHERE p.host = n.host AND p.store_id = n.store_id AND p.seq = n.seq - 1
        LIMIT 1
    ) p ON true
    WHERE CASE WHEN n.seq = 1
        THEN n.prev_hash <> '0000000000000000000000000000000000000000000000000000000000000000'
             OR n.hash <> n.store_id
        ELSE p.hash IS DISTINCT FROM n.prev_hash
        END
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'gate team store: receipt % of store % on % does not extend its chain',
            bad.seq, left(bad.store_id, 12), bad.host
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER gate_receipts_chain AFTER INSERT ON gate_receipts
    REFERENCING NEW TABLE AS gate_new_receipts
    FOR EACH STATEMENT EXECUTE FUNCTION gate_receipts_check_chain();

-- A checkpoint may only be stored once the rows it covers are: the row at
-- its size must exist.
CREATE FUNCTION gate_checkpoints_check_size() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM gate_receipts r
                   WHERE r.host = NEW.host AND r.store_id = NEW.store_id AND r.seq = NEW.size) THEN
        RAISE EXCEPTION 'gate team store: checkpoint of store % at size % covers receipts the server does not hold',
            left(NEW.store_id, 12), NEW.size
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER gate_checkpoints_size BEFORE INSERT ON gate_checkpoints
    FOR EACH ROW EXECUTE FUNCTION gate_checkpoints_check_size();

-- The trigger functions look up tables in gate's own schema only: without
-- this, a role allowed to create temporary tables could shadow gate_stores
-- or gate_receipts with its own (pg_temp is searched first) and insert rows
-- the checks would wave through.
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['gate_refuse_change()', 'gate_receipts_check_chain()', 'gate_checkpoints_check_size()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', f, current_schema());
    END LOOP;
END $$;
