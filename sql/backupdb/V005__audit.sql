-- dvbackup backup database, migration 5: the audit.
--
-- When each copy was last proven against its reference digest, and how. Writing a copy
-- proves it (the run sets these when a copy becomes OK or OK_NO_CHECKSUM); `dvbackup audit`
-- proves it again. Rows from before this migration have NULL: never verified, so the
-- first audits take them first.
ALTER TABLE datafilestatus
    ADD COLUMN IF NOT EXISTS lastverified timestamp with time zone, -- the last full proof that found the bytes right
    ADD COLUMN IF NOT EXISTS lastverifymethod text,   -- how: 'copy: …' (when written) or 'audit: …'
    ADD COLUMN IF NOT EXISTS lastverifyresult text,   -- verified | missing | corrupt | unreadable (the last proof's finding)
    ADD COLUMN IF NOT EXISTS lastpresent timestamp with time zone;  -- the last `audit --quick` that found it present (not a verification)

CREATE INDEX IF NOT EXISTS datafilestatus_lastverified_idx ON datafilestatus (lastverified NULLS FIRST, datafileid);

-- The primaries (the stores Dataverse reads) against the catalog, apart from the backup's
-- status: a damaged primary does not make a proven copy less proven.
CREATE TABLE IF NOT EXISTS sourcefixity (
    datafileid bigint PRIMARY KEY,
    lastchecked timestamp with time zone NOT NULL,
    result text NOT NULL,                -- ok | missing | damaged | unreadable
    reason text,
    lastrunid bigint
);

CREATE INDEX IF NOT EXISTS sourcefixity_lastchecked_idx ON sourcefixity (lastchecked, datafileid);

-- Audit runs count their findings beside the backup's statuses.
ALTER TABLE dvbackup_run
    ADD COLUMN IF NOT EXISTS fail_audit_missing bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS fail_audit_corrupt bigint NOT NULL DEFAULT 0;
