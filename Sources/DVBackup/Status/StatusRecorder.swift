/// Writes each file's outcome into `datafilestatus`, keyed by datafile id, keeping the
/// original columns' meaning. Outcomes are committed in small batches.
public final class StatusRecorder {
    let db: PostgresConnection
    let runId: Int64
    let method: String
    private var pending = 0
    public static let batchSize = 100

    public init(connection: PostgresConnection, runId: Int64, method: String) {
        db = connection
        self.runId = runId
        self.method = method
    }

    static let upsert = """
        INSERT INTO datafilestatus AS s (datafileid, datasetidentifier, datasetpid, storageidentifier, status,
            createdate, lastbackuptime, lastbackupmethod, checksumtype, checksumvalue, provenchecksum, filesize,
            location, lasterror, attempts, lastrunid, lastverified, lastverifymethod, lastverifyresult)
        VALUES ($1::bigint, $2, $3, $4, $5, $6::timestamp, localtimestamp, $7, $8, $9, $10, $11::bigint, $12, $13, 1, $14::bigint,
            CASE WHEN $15::text IS NULL THEN NULL ELSE now() END, 'copy: ' || $15::text,
            CASE WHEN $15::text IS NULL THEN NULL ELSE 'verified' END)
        ON CONFLICT (datafileid) DO UPDATE SET
            datasetidentifier = EXCLUDED.datasetidentifier,
            datasetpid = EXCLUDED.datasetpid,
            storageidentifier = EXCLUDED.storageidentifier,
            status = EXCLUDED.status,
            createdate = EXCLUDED.createdate,
            lastbackuptime = EXCLUDED.lastbackuptime,
            lastbackupmethod = EXCLUDED.lastbackupmethod,
            checksumtype = CASE WHEN EXCLUDED.status IN ('OK', 'OK_NO_CHECKSUM') THEN EXCLUDED.checksumtype ELSE s.checksumtype END,
            checksumvalue = CASE WHEN EXCLUDED.status IN ('OK', 'OK_NO_CHECKSUM') THEN EXCLUDED.checksumvalue ELSE s.checksumvalue END,
            provenchecksum = COALESCE(EXCLUDED.provenchecksum, s.provenchecksum),
            filesize = CASE WHEN EXCLUDED.status IN ('OK', 'OK_NO_CHECKSUM') THEN EXCLUDED.filesize ELSE s.filesize END,
            location = CASE WHEN EXCLUDED.status IN ('OK', 'OK_NO_CHECKSUM') THEN EXCLUDED.location ELSE COALESCE(s.location, EXCLUDED.location) END,
            -- A copy an audit found bad whose primary fails too: no proven copy exists anywhere.
            lasterror = CASE WHEN EXCLUDED.status IN ('FAIL_SOURCE_CHECKSUM', 'FAIL_READ')
                                  AND s.lastverifyresult IN ('missing', 'corrupt')
                             THEN 'NO PROVEN COPY ANYWHERE: the backup copy was found ' || s.lastverifyresult
                                  || ' by an audit and the primary fails too: ' || EXCLUDED.lasterror
                             ELSE EXCLUDED.lasterror END,
            -- Writing a copy proves it: its first verification (audits prove it again).
            lastverified = COALESCE(EXCLUDED.lastverified, s.lastverified),
            lastverifymethod = COALESCE(EXCLUDED.lastverifymethod, s.lastverifymethod),
            lastverifyresult = COALESCE(EXCLUDED.lastverifyresult, s.lastverifyresult),
            attempts = CASE WHEN s.status = EXCLUDED.status THEN s.attempts + 1 ELSE 1 END,
            lastrunid = EXCLUDED.lastrunid
        """

    /// Records one outcome; commits every `batchSize` outcomes.
    public func record(_ o: FileOutcome) throws(PostgresError) {
        if pending == 0 { try db.execute("BEGIN") }
        let f = o.file
        // A failed attempt keeps the catalog checksum of the copy that exists (if any); a
        // success records the one it was proven against. `lasterror` holds a failure's
        // reason, or why an OK_NO_CHECKSUM copy could not be checked against the catalog's
        // checksum (reports list those).
        try db.query(Self.upsert, [
            String(f.id), f.datasetIdentifierColumn, f.datasetPID, f.storageIdentifier, o.status.rawValue,
            f.createdate, method, f.checksumType, f.checksumValue, o.provenChecksum,
            o.status.isOK ? String(o.bytes) : nil, o.location, o.status.isOK ? o.caveat : o.detail, String(runId),
            o.status.isOK ? o.detail : nil,
        ])
        pending += 1
        if pending >= Self.batchSize { try flush() }
    }

    public func flush() throws(PostgresError) {
        guard pending > 0 else { return }
        try db.execute("COMMIT")
        pending = 0
    }
}
