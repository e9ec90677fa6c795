import DVBackup
import Foundation
import Testing

/// A backup database made by the original run_backup.py: its table is upgraded in place,
/// its rows kept, and the files it recorded as OK are not copied again.
@Suite(.enabled(if: TestPostgres.enabled))
struct UpgradeTests {
    /// The shape of the original scripts/backup/run_backup/backupdb.sql.
    static let originalSchema = """
        CREATE TABLE datafilestatus (
            id integer NOT NULL,
            datasetidentifier character varying(255),
            storageidentifier character varying(255),
            status character varying(255),
            createdate timestamp without time zone,
            lastbackuptime timestamp without time zone,
            lastbackupmethod character varying(16));
        CREATE SEQUENCE datafilestatus_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
        ALTER SEQUENCE datafilestatus_id_seq OWNED BY datafilestatus.id;
        ALTER TABLE ONLY datafilestatus ADD CONSTRAINT datafilestatus_pkey PRIMARY KEY (id);
        ALTER TABLE ONLY datafilestatus ALTER COLUMN id SET DEFAULT nextval('datafilestatus_id_seq'::regclass);
        ALTER TABLE ONLY datafilestatus ADD CONSTRAINT datafilestatus_storageidentifier_key UNIQUE (storageidentifier);
        """

    func legacyRow(_ db: PostgresConnection, dataset: String, storage: String, status: String, createdate: String) throws {
        try db.query("""
            INSERT INTO datafilestatus (status, createdate, lastbackuptime, lastbackupmethod, datasetidentifier, storageidentifier)
            VALUES ($1, $2, '2024-01-01 03:00:00', 'ssh', $3, $4)
            """, [status, createdate, dataset, storage])
    }

    @Test func originalTableIsUpgradedAndItsOKRowsAreTrusted() throws {
        let s = try Sandbox(seed: 31)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/LEGACY")
        let trusted = try s.addFile(dataset: ds, size: 100, createdate: "2024-05-01 10:00:00.25")
        let bareName = try s.addFile(dataset: ds, size: 100, createdate: "2024-05-01 10:00:00.25")
        let failedBefore = try s.addFile(dataset: ds, size: 100, createdate: "2024-05-01 10:00:00.25")
        let newer = try s.addFile(dataset: ds, size: 100, createdate: "2024-05-02 10:00:00")
        // Same storage name in another dataset: the old UNIQUE (storageidentifier) must go.
        let other = try s.addDataset(authority: "10.5072", identifier: "FK2/OTHER")
        let sameName = try s.addFile(dataset: other, size: 100, storageIdentifier: trusted.storageIdentifier,
                                     createdate: "2024-05-02 11:00:00")

        let db = try s.backupConnection()
        try db.execute(Self.originalSchema)
        try legacyRow(db, dataset: "10.5072/FK2/LEGACY", storage: trusted.storageIdentifier, status: "OK", createdate: "2024-05-01 10:00:00.25")
        // Before Dataverse 4.20 storage identifiers had no driver prefix.
        try legacyRow(db, dataset: "10.5072/FK2/LEGACY", storage: bareName.name, status: "OK", createdate: "2024-05-01 10:00:00.25")
        try legacyRow(db, dataset: "10.5072/FK2/LEGACY", storage: failedBefore.storageIdentifier, status: "FAIL_WRITE", createdate: "2024-05-01 10:00:00.25")
        // A row for a file the catalog no longer has.
        try legacyRow(db, dataset: "10.5072/FK2/GONE", storage: "file://15a8e1c2b3d-0123456789ab", status: "OK", createdate: "2023-01-01 00:00:00")

        let initDB = try s.dvbackup("init-db")
        #expect(initDB.code == 0, "\(initDB.stderr)")
        #expect(initDB.stdout.contains("keeping its 4 rows"))
        #expect(try db.query("SELECT count(*) FROM datafilestatus").int(0, 0) == 4)
        let again = try s.dvbackup("init-db")
        #expect(again.code == 0)
        #expect(again.stdout.contains("up to date"))

        let run = try s.dvbackup("run")
        #expect(run.code == 0, "\(run.stdout)\n\(run.stderr)")
        let rows = try s.statusRows()
        // Trusted: recorded OK by the original script, not copied again, now keyed by id.
        #expect(rows[trusted.id]?.status == "OK")
        #expect(rows[trusted.id]?.method == "ssh", "the row was not rewritten")
        #expect(rows[bareName.id]?.status == "OK")
        #expect(s.backupBytes(trusted) == nil, "an OK file of the original script is not copied again")
        #expect(s.backupBytes(bareName) == nil)
        // The failure is retried, the rest copied.
        #expect(rows[failedBefore.id]?.status == "OK")
        #expect(rows[failedBefore.id]?.method == "local")
        #expect(s.backupBytes(failedBefore) == failedBefore.bytes)
        #expect(s.backupBytes(newer) == newer.bytes)
        #expect(s.backupBytes(sameName) == sameName.bytes)
        #expect(rows[sameName.id]?.storageIdentifier == trusted.storageIdentifier)
        // The orphan row is kept as it was.
        let orphan = try db.query("SELECT status, datafileid FROM datafilestatus WHERE datasetidentifier = '10.5072/FK2/GONE'")
        #expect(orphan.rowCount == 1 && orphan.string(0, 0) == "OK" && orphan.isNull(0, 1))
        // The incremental cursor started from the original's newest createdate.
        #expect(run.stderr.contains("files after 2024-05-01 10:00:00.25"))
    }

    @Test func runUpgradesByItself() throws {
        let s = try Sandbox(seed: 32)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/SELF")
        let f = try s.addFile(dataset: ds, size: 100)
        let db = try s.backupConnection()
        try db.execute(Self.originalSchema)
        try legacyRow(db, dataset: "10.5072/FK2/SELF", storage: f.storageIdentifier, status: "OK", createdate: "2025-06-01 10:00:00")
        let run = try s.dvbackup("run")
        #expect(run.code == 0, "\(run.stderr)")
        #expect(run.stderr.contains("applied V002__datafilestatus_keys_and_details.sql"))
        #expect(run.stdout.contains("skipped (already OK)    1"))
        #expect(try s.statusRows()[f.id]?.status == "OK")
    }
}
