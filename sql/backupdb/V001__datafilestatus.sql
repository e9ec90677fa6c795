-- dvbackup backup database, migration 1: the original table.
--
-- This is the `datafilestatus` table of Dataverse's scripts/backup/run_backup/backupdb.sql,
-- created only when it is missing. A backup database made by the original script already
-- has it, with its rows; they are kept as they are.
CREATE SEQUENCE IF NOT EXISTS datafilestatus_id_seq
    START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;

CREATE TABLE IF NOT EXISTS datafilestatus (
    id integer NOT NULL DEFAULT nextval('datafilestatus_id_seq'::regclass),
    datasetidentifier character varying(255),
    storageidentifier character varying(255),
    status character varying(255),
    createdate timestamp without time zone,
    lastbackuptime timestamp without time zone,
    lastbackupmethod character varying(16),
    CONSTRAINT datafilestatus_pkey PRIMARY KEY (id)
);

ALTER SEQUENCE datafilestatus_id_seq OWNED BY datafilestatus.id;
