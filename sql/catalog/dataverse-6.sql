-- A Dataverse 6.x-shaped catalog: the tables a backup reads, for tests, the demo and the
-- benchmarks. Load into an EMPTY database (not idempotent), e.g.
--   psql -v ON_ERROR_STOP=1 -d dvndb -f sql/catalog/dataverse-6.sql
--
-- Where it comes from: what a fresh Dataverse 6.x install creates (EclipseLink DDL from the
-- entities in IQSS/dataverse src/main/java/edu/harvard/iq/dataverse/: DvObject.java,
-- DatasetVersion.java, FileMetadata.java,
-- Dataverse.java, Dataset.java, DataFile.java, DataTable.java, HarvestingClient.java,
-- AlternativePersistentIdentifier.java, dataset/DatasetType.java) plus the Flyway scripts in
-- src/main/resources/db/migration/ that change these tables, cross-checked against the
-- pg_dump of a 6.5+ database. Column names, types, NOT NULLs, unique constraints, check
-- constraints and the EclipseLink names of FKs and indexes are kept; columns that point to
-- tables not reproduced here (authenticateduser, guestbook, template, embargo, ...) are kept
-- as plain bigint columns without their FK. Summary of the facts: shared
-- dataverse-facts.md §1 (team notes).
--
-- Things a reader of this catalog must know (and that this schema reproduces):
--   * the PID (protocol/authority/identifier/separator) of a dataset is on its dvobject row;
--     dataset has no PID columns (moved in 4.9);
--   * dvobject.id is integer (serial) while every FK to it is bigint;
--   * datatable.datafile_id references dvobject(id), not datafile(id);
--   * datafile.checksumvalue is NOT NULL ('' / 'Unknown' / 'unknown' mean "no checksum");
--   * storage names are unique per owner only (unq_dvobject_1, unq_dvobject_storageidentifier);
--   * there is NO index on dvobject.createdate in Dataverse: a (createdate, id) scan sorts.
-- Deliberately faithful detail: dvobject.dtype (the JPA discriminator) is nullable in the real
-- DDL; the application always writes 'Dataverse', 'Dataset' or 'DataFile'.

-- ---------------------------------------------------------------------------------------
-- dvobject (DvObject.java; JOINED inheritance root of Dataverse, Dataset, DataFile)
-- ---------------------------------------------------------------------------------------
CREATE TABLE dvobject (
    id                          SERIAL NOT NULL,
    dtype                       VARCHAR(31),
    authority                   VARCHAR(255),
    createdate                  TIMESTAMP NOT NULL,
    globalidcreatetime          TIMESTAMP,
    identifier                  VARCHAR(255),
    identifierregistered        BOOLEAN,
    indextime                   TIMESTAMP,
    modificationtime            TIMESTAMP NOT NULL,
    permissionindextime         TIMESTAMP,
    permissionmodificationtime  TIMESTAMP,
    previewimageavailable       BOOLEAN,
    previewimagefail            BOOLEAN,            -- V5.13.0.1__9506-track-thumb-failures.sql
    protocol                    VARCHAR(255),
    publicationdate             TIMESTAMP,          -- NULL = never published
    separator                   VARCHAR(255),       -- V6.5.0.4.sql: '/' for doi/hdl, '' otherwise
    storageidentifier           VARCHAR(255),
    creator_id                  BIGINT,             -- -> authenticateduser(id) (not reproduced)
    owner_id                    BIGINT,
    releaseuser_id              BIGINT,             -- -> authenticateduser(id) (not reproduced)
    PRIMARY KEY (id),
    -- V5.11.1.6__storageconstraint.sql
    CONSTRAINT chk_dvobject_storageidentifier CHECK (strpos(storageidentifier, '..') = 0)
);
ALTER TABLE dvobject ADD CONSTRAINT unq_dvobject_0 UNIQUE (authority, protocol, identifier);
ALTER TABLE dvobject ADD CONSTRAINT unq_dvobject_1 UNIQUE (owner_id, storageidentifier);
ALTER TABLE dvobject ADD CONSTRAINT fk_dvobject_owner_id
    FOREIGN KEY (owner_id) REFERENCES dvobject (id);
-- V5.5.0.5__7451-unique-constraint-storageidentifier.sql
CREATE UNIQUE INDEX unq_dvobject_storageidentifier ON dvobject (owner_id, storageidentifier)
    WHERE dtype = 'DataFile';
-- V6.4.0.1.sql
CREATE UNIQUE INDEX index_dvobject_authority_protocol_upper_identifier
    ON dvobject (authority, protocol, UPPER(identifier));
CREATE INDEX index_dvobject_dtype ON dvobject (dtype);
CREATE INDEX index_dvobject_owner_id ON dvobject (owner_id);
CREATE INDEX index_dvobject_creator_id ON dvobject (creator_id);
CREATE INDEX index_dvobject_releaseuser_id ON dvobject (releaseuser_id);

-- ---------------------------------------------------------------------------------------
-- dataverse (Dataverse.java): a collection
-- ---------------------------------------------------------------------------------------
CREATE TABLE dataverse (
    id                              BIGINT NOT NULL,
    affiliation                     VARCHAR(255),
    alias                           VARCHAR(255) NOT NULL,
    datasetfilecountlimit           INTEGER,
    dataversetype                   VARCHAR(255) NOT NULL,
    description                     TEXT,
    externallabelsetname            VARCHAR(255),
    facetroot                       BOOLEAN,
    filepidsenabled                 BOOLEAN,
    guestbookatrequest              BOOLEAN,
    guestbookroot                   BOOLEAN,
    metadatablockfacetroot          BOOLEAN,
    metadatablockroot               BOOLEAN,
    metadatalanguage                VARCHAR(255),
    name                            VARCHAR(255) NOT NULL,
    permissionroot                  BOOLEAN,
    pidgeneratorspecs               VARCHAR(255),
    requirefilestopublishdataset    BOOLEAN,
    storagedriver                   VARCHAR(255),   -- store id; NULL = inherit (V4.19.0.1__6485_multistore.sql)
    templateroot                    BOOLEAN,
    themeroot                       BOOLEAN,
    defaultcontributorrole_id       BIGINT,         -- -> dataverserole(id) (not reproduced)
    defaulttemplate_id              BIGINT,         -- -> template(id) (not reproduced)
    PRIMARY KEY (id),
    CONSTRAINT unq_dataverse_0 UNIQUE (alias)
);
ALTER TABLE dataverse ADD CONSTRAINT fk_dataverse_id
    FOREIGN KEY (id) REFERENCES dvobject (id);
CREATE INDEX index_dataverse_defaultcontributorrole_id ON dataverse (defaultcontributorrole_id);
CREATE INDEX index_dataverse_defaulttemplate_id ON dataverse (defaulttemplate_id);
CREATE INDEX index_dataverse_alias ON dataverse (alias);
CREATE INDEX index_dataverse_affiliation ON dataverse (affiliation);
CREATE INDEX index_dataverse_dataversetype ON dataverse (dataversetype);

-- ---------------------------------------------------------------------------------------
-- harvestingclient (harvest/client/HarvestingClient.java): a dataset with a non-NULL
-- dataset.harvestingclient_id is harvested; its files are remote URLs.
-- ---------------------------------------------------------------------------------------
CREATE TABLE harvestingclient (
    id                  SERIAL NOT NULL,
    archivedescription  TEXT,
    archiveurl          VARCHAR(255),
    deleted             BOOLEAN,
    harveststyle        VARCHAR(255),
    harvesttype         VARCHAR(255),
    harvestingnow       BOOLEAN,
    harvestingset       VARCHAR(255),
    harvestingurl       VARCHAR(255),
    metadataprefix      VARCHAR(255),
    name                VARCHAR(255) NOT NULL,
    scheduledayofweek   INTEGER,
    schedulehourofday   INTEGER,
    scheduleperiod      VARCHAR(255),
    scheduled           BOOLEAN,
    customhttpheaders   TEXT,           -- V5.12.1.5__9231_custom_headers_oai_requests.sql
    dataverse_id        BIGINT,
    PRIMARY KEY (id),
    CONSTRAINT unq_harvestingclient_0 UNIQUE (name)
);
ALTER TABLE harvestingclient ADD CONSTRAINT fk_harvestingclient_dataverse_id
    FOREIGN KEY (dataverse_id) REFERENCES dvobject (id);
CREATE INDEX index_harvestingclient_dataverse_id ON harvestingclient (dataverse_id);
CREATE INDEX index_harvestingclient_harvesttype ON harvestingclient (harvesttype);
CREATE INDEX index_harvestingclient_harveststyle ON harvestingclient (harveststyle);
CREATE INDEX index_harvestingclient_harvestingurl ON harvestingclient (harvestingurl);

-- ---------------------------------------------------------------------------------------
-- datasettype (V6.3.0.3.sql; dataset/DatasetType.java)
-- ---------------------------------------------------------------------------------------
CREATE TABLE datasettype (
    id      SERIAL NOT NULL,
    name    VARCHAR(255) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT unq_datasettype_0 UNIQUE (name)
);
-- Every installation has the default type (inserted by V6.3.0.3.sql); it gets id 1 here.
INSERT INTO datasettype (name) VALUES ('dataset');

-- ---------------------------------------------------------------------------------------
-- dataset (Dataset.java, DvObjectContainer.java): NO PID columns (they are on dvobject)
-- ---------------------------------------------------------------------------------------
CREATE TABLE dataset (
    id                              BIGINT NOT NULL,
    datasetfilecountlimit           INTEGER,
    embargocitationdate             TIMESTAMP,
    externallabelsetname            VARCHAR(255),
    fileaccessrequest               BOOLEAN,
    guestbookatrequest              BOOLEAN,
    harvestidentifier               VARCHAR(255),
    lastexporttime                  TIMESTAMP,
    metadatalanguage                VARCHAR(255),
    pidgeneratorspecs               VARCHAR(255),
    storagedriver                   VARCHAR(255),   -- V5.0.0.1__6872-assign-storage-drivers-to-datasets.sql
    usegenericthumbnail             BOOLEAN,
    citationdatedatasetfieldtype_id BIGINT,         -- -> datasetfieldtype(id) (not reproduced)
    datasettype_id                  BIGINT NOT NULL,
    harvestingclient_id             BIGINT,         -- non-NULL = harvested
    template_id                     BIGINT,         -- -> template(id) (not reproduced)
    guestbook_id                    BIGINT,         -- -> guestbook(id) (not reproduced)
    thumbnailfile_id                BIGINT,
    PRIMARY KEY (id)
);
ALTER TABLE dataset ADD CONSTRAINT fk_dataset_id
    FOREIGN KEY (id) REFERENCES dvobject (id);
ALTER TABLE dataset ADD CONSTRAINT fk_dataset_harvestingclient_id
    FOREIGN KEY (harvestingclient_id) REFERENCES harvestingclient (id);
ALTER TABLE dataset ADD CONSTRAINT fk_dataset_thumbnailfile_id
    FOREIGN KEY (thumbnailfile_id) REFERENCES dvobject (id);
ALTER TABLE dataset ADD CONSTRAINT fk_dataset_datasettype_id
    FOREIGN KEY (datasettype_id) REFERENCES datasettype (id);
CREATE INDEX index_dataset_guestbook_id ON dataset (guestbook_id);
CREATE INDEX index_dataset_thumbnailfile_id ON dataset (thumbnailfile_id);

-- ---------------------------------------------------------------------------------------
-- datafile (DataFile.java)
-- ---------------------------------------------------------------------------------------
CREATE TABLE datafile (
    id                  BIGINT NOT NULL,
    checksumtype        VARCHAR(255) NOT NULL,  -- 'MD5' | 'SHA1' | 'SHA256' | 'SHA512'
    checksumvalue       VARCHAR(255) NOT NULL,  -- lowercase hex; '' / 'Unknown' / 'unknown' = none
    contenttype         VARCHAR(255) NOT NULL,
    filesize            BIGINT,                 -- for tabular files: the .tab size
    ingeststatus        CHAR(1),                -- 'A' none/done, 'B' scheduled, 'C' running, 'D' error
    previousdatafileid  BIGINT,
    prov_entityname     TEXT,
    restricted          BOOLEAN,
    rootdatafileid      BIGINT NOT NULL DEFAULT -1,  -- DataFile.ROOT_DATAFILE_ID_DEFAULT (Java-side default)
    embargo_id          BIGINT,                 -- -> embargo(id) (not reproduced)
    retention_id        BIGINT,                 -- -> retention(id) (not reproduced)
    PRIMARY KEY (id)
);
ALTER TABLE datafile ADD CONSTRAINT fk_datafile_id
    FOREIGN KEY (id) REFERENCES dvobject (id);
CREATE INDEX index_datafile_ingeststatus ON datafile (ingeststatus);
CREATE INDEX index_datafile_checksumvalue ON datafile (checksumvalue);
CREATE INDEX index_datafile_contenttype ON datafile (contenttype);
CREATE INDEX index_datafile_restricted ON datafile (restricted);

-- ---------------------------------------------------------------------------------------
-- datatable (DataTable.java): a row exists iff the file is tabular (ingested); the catalog
-- checksum of such a file is of its saved original (<name>.orig), not of the .tab.
-- ---------------------------------------------------------------------------------------
CREATE TABLE datatable (
    id                          SERIAL NOT NULL,
    casequantity                BIGINT,
    originalfileformat          VARCHAR(255),
    originalfilename            VARCHAR(255),   -- V4.20.0.1__2734-alter-data-table-add-orig-file-name.sql
    originalfilesize            BIGINT,         -- NULL before 4.10 unless back-filled; -1/0 when broken
    originalformatversion       VARCHAR(255),
    recordspercase              BIGINT,
    storedwithvariableheader    BOOLEAN NOT NULL DEFAULT FALSE,  -- V6.1.0.2__8524-store-tabular-files-with-varheaders.sql
    unf                         VARCHAR(255) NOT NULL,
    varquantity                 BIGINT,
    datafile_id                 BIGINT NOT NULL,
    PRIMARY KEY (id)
);
ALTER TABLE datatable ADD CONSTRAINT fk_datatable_datafile_id
    FOREIGN KEY (datafile_id) REFERENCES dvobject (id);
CREATE INDEX index_datatable_datafile_id ON datatable (datafile_id);

-- ---------------------------------------------------------------------------------------
-- alternativepersistentidentifier (AlternativePersistentIdentifier.java): with
-- storagelocationdesignator = true, the dataset's files live under THIS authority/identifier
-- (Dataset.getAuthorityForFileStorage / getIdentifierForFileStorage).
-- ---------------------------------------------------------------------------------------
CREATE TABLE alternativepersistentidentifier (
    id                          SERIAL NOT NULL,
    authority                   VARCHAR(255),
    globalidcreatetime          TIMESTAMP,
    identifier                  VARCHAR(255),
    identifierregistered        BOOLEAN,
    protocol                    VARCHAR(255),
    storagelocationdesignator   BOOLEAN,
    dvobject_id                 BIGINT NOT NULL,
    PRIMARY KEY (id)
);
ALTER TABLE alternativepersistentidentifier ADD CONSTRAINT fk_alternativepersistentidentifier_dvobject_id
    FOREIGN KEY (dvobject_id) REFERENCES dvobject (id);

-- ---------------------------------------------------------------------------------------
-- datasetversion (DatasetVersion.java): one row per version of a dataset; the latest is the
-- DRAFT if there is one, else the highest versionnumber.minorversionnumber. A backup does not
-- read it; `dvbackup restore --names labels` does (with filemetadata). Columns pointing to
-- tables not reproduced here (termsofuseandaccess) are plain bigints.
-- ---------------------------------------------------------------------------------------
CREATE TABLE datasetversion (
    id                      SERIAL NOT NULL,
    unf                     VARCHAR(255),
    archivalcopylocation    TEXT,
    archivenote             VARCHAR(1000),
    archivetime             TIMESTAMP,
    createtime              TIMESTAMP NOT NULL,
    deaccessionlink         VARCHAR(255),
    deaccessionnote         TEXT,
    externalstatuslabel     VARCHAR(255),
    lastupdatetime          TIMESTAMP NOT NULL,
    minorversionnumber      BIGINT,
    releasetime             TIMESTAMP,
    version                 BIGINT,                 -- JPA optimistic lock
    versionnote             VARCHAR(1000),
    versionnumber           BIGINT,                 -- NULL for a DRAFT never released
    versionstate            VARCHAR(255),           -- 'DRAFT' | 'RELEASED' | 'ARCHIVED' | 'DEACCESSIONED'
    dataset_id              BIGINT,
    termsofuseandaccess_id  BIGINT,                 -- -> termsofuseandaccess(id) (not reproduced)
    PRIMARY KEY (id)
);
ALTER TABLE datasetversion ADD CONSTRAINT unq_datasetversion_0
    UNIQUE (dataset_id, versionnumber, minorversionnumber);
ALTER TABLE datasetversion ADD CONSTRAINT fk_datasetversion_dataset_id
    FOREIGN KEY (dataset_id) REFERENCES dvobject (id);
CREATE INDEX index_datasetversion_dataset_id ON datasetversion (dataset_id);

-- ---------------------------------------------------------------------------------------
-- filemetadata (FileMetadata.java): a file as one version shows it. The names users know
-- (label, directorylabel) are here, per version, not on datafile; a file "deleted" from a
-- draft only loses its filemetadata row in that draft.
-- ---------------------------------------------------------------------------------------
CREATE TABLE filemetadata (
    id                  SERIAL NOT NULL,
    description         TEXT,
    directorylabel      VARCHAR(255),           -- '/'-separated folder path, NULL at the top
    displayorder        INTEGER,
    label               VARCHAR(255) NOT NULL,
    prov_freeform       TEXT,
    restricted          BOOLEAN,
    version             BIGINT,                 -- JPA optimistic lock
    datafile_id         BIGINT NOT NULL,
    datasetversion_id   BIGINT NOT NULL,
    PRIMARY KEY (id)
);
ALTER TABLE filemetadata ADD CONSTRAINT fk_filemetadata_datafile_id
    FOREIGN KEY (datafile_id) REFERENCES dvobject (id);
ALTER TABLE filemetadata ADD CONSTRAINT fk_filemetadata_datasetversion_id
    FOREIGN KEY (datasetversion_id) REFERENCES datasetversion (id);
CREATE INDEX index_filemetadata_datafile_id ON filemetadata (datafile_id);
CREATE INDEX index_filemetadata_datasetversion_id ON filemetadata (datasetversion_id);
