-- dvbackup backup database, migration 3: one row per run.
CREATE TABLE IF NOT EXISTS dvbackup_run (
    id bigserial PRIMARY KEY,
    mode text NOT NULL,                  -- incremental | rerun
    state text NOT NULL,                 -- running | finished | interrupted | crashed
    started timestamp with time zone NOT NULL DEFAULT now(),
    finished timestamp with time zone,
    host text,
    pid integer,
    method text,                         -- local | ssh | swift
    target text,                         -- where the copies went, without secrets
    planned bigint NOT NULL DEFAULT 0,
    skipped bigint NOT NULL DEFAULT 0,   -- already OK or OK_NO_CHECKSUM
    deferred bigint NOT NULL DEFAULT 0,  -- left for a later run (ingest in progress)
    ok bigint NOT NULL DEFAULT 0,
    ok_no_checksum bigint NOT NULL DEFAULT 0,
    fail_source_checksum bigint NOT NULL DEFAULT 0,
    fail_verify bigint NOT NULL DEFAULT 0,
    fail_write bigint NOT NULL DEFAULT 0,
    fail_read bigint NOT NULL DEFAULT 0,
    bytes bigint NOT NULL DEFAULT 0,
    cursor_createdate timestamp without time zone, -- incremental cursor reached by this run
    cursor_id bigint,
    error text
);

CREATE INDEX IF NOT EXISTS dvbackup_run_started_idx ON dvbackup_run (started);
