-- dvbackup backup database, migration 2: key statuses by datafile id, and keep what an
-- administrator needs to act on a file.
--
-- Storage names are unique only per dataset in Dataverse (UNIQUE (owner_id,
-- storageidentifier)), so the original UNIQUE (storageidentifier) is dropped: two datasets
-- may hold files with the same name. The datafile id is the key from now on; rows written
-- by the original script get theirs when `dvbackup run` matches them to the catalog.
ALTER TABLE datafilestatus DROP CONSTRAINT IF EXISTS datafilestatus_storageidentifier_key;

ALTER TABLE datafilestatus
    ADD COLUMN IF NOT EXISTS datafileid bigint,           -- datafile.id in the catalog
    ADD COLUMN IF NOT EXISTS datasetpid text,             -- e.g. doi:10.5072/FK2/ABCDEF
    ADD COLUMN IF NOT EXISTS checksumtype character varying(16),   -- as in the catalog
    ADD COLUMN IF NOT EXISTS checksumvalue character varying(255), -- as in the catalog
    ADD COLUMN IF NOT EXISTS provenchecksum text,         -- ALG:hex of the bytes proven on the target
    ADD COLUMN IF NOT EXISTS filesize bigint,             -- bytes copied
    ADD COLUMN IF NOT EXISTS location text,               -- where the copy lives
    ADD COLUMN IF NOT EXISTS lasterror text,              -- reason of the last failure
    ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0, -- attempts with this status in a row
    ADD COLUMN IF NOT EXISTS lastrunid bigint;            -- dvbackup_run.id of the last attempt

CREATE UNIQUE INDEX IF NOT EXISTS datafilestatus_datafileid_key ON datafilestatus (datafileid);
CREATE INDEX IF NOT EXISTS datafilestatus_status_idx ON datafilestatus (status);
CREATE INDEX IF NOT EXISTS datafilestatus_lastrunid_idx ON datafilestatus (lastrunid);
CREATE INDEX IF NOT EXISTS datafilestatus_legacy_idx ON datafilestatus (datasetidentifier)
    WHERE datafileid IS NULL;
