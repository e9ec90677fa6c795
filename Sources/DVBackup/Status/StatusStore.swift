import Foundation

/// What the backup database says of one file.
public struct RecordedStatus: Sendable, Equatable {
    public var status: String
    public var checksumType: String?
    public var checksumValue: String?

    /// Whether `file` needs no copy: its status is OK or OK_NO_CHECKSUM and the catalog's
    /// checksum is still the one the copy was proven against (rows of the original script
    /// carry none and are trusted).
    public func isCurrentCopy(of file: CatalogFile) -> Bool {
        guard let s = BackupStatus(rawValue: status), s.isOK else { return false }
        guard let recorded = checksumValue else { return true }
        return recorded.lowercased() == (file.checksumValue ?? "").lowercased()
            && (checksumType ?? "").uppercased() == (file.checksumType ?? "").uppercased()
    }
}

/// Reads and writes the backup database: statuses, runs, the cursor, the run lock.
public final class StatusStore {
    public let db: PostgresConnection
    /// The advisory lock key: "dvbackup" in ASCII, as a bigint.
    public static let lockKey: Int64 = 0x6476_6261_636B_7570

    public init(connection: PostgresConnection) { self.db = connection }

    // MARK: lock

    /// Takes the run lock without waiting. `false` when another session holds it.
    public func tryLock() throws(PostgresError) -> Bool {
        try db.query("SELECT pg_try_advisory_lock($1::bigint) AS locked", [String(Self.lockKey)]).bool(0, "locked") == true
    }

    // MARK: statuses

    public func statuses(of ids: [Int64]) throws(PostgresError) -> [Int64: RecordedStatus] {
        guard !ids.isEmpty else { return [:] }
        let r = try db.query("""
            SELECT datafileid, status, checksumtype, checksumvalue FROM datafilestatus
            WHERE datafileid = ANY($1::bigint[])
            """, [PostgresConnection.arrayLiteral(ids)])
        var out: [Int64: RecordedStatus] = [:]
        for i in 0..<r.rowCount {
            if let id = try r.int(i, "datafileid") {
                out[id] = RecordedStatus(status: try r.string(i, "status") ?? "", checksumType: try r.string(i, "checksumtype"),
                                         checksumValue: try r.string(i, "checksumvalue"))
            }
        }
        return out
    }

    /// Files whose last status is a failure and which lie at or before `bound` (outside an
    /// incremental run's window), by ascending datafile id after `afterId`.
    public func failedFiles(atOrBefore bound: WindowBound, afterId: Int64, limit: Int) throws(PostgresError) -> [Int64] {
        let r = try db.query("""
            SELECT datafileid FROM datafilestatus
            WHERE status NOT IN ('OK', 'OK_NO_CHECKSUM') AND datafileid IS NOT NULL AND datafileid > $4::bigint
              AND (createdate IS NULL OR (createdate, datafileid) <= \(WindowBound.sql(timestamp: "$1", seconds: "$2", id: "$3")))
            ORDER BY datafileid LIMIT \(limit)
            """, bound.parameters + [String(afterId)])
        var ids: [Int64] = []
        for i in 0..<r.rowCount { if let id = try r.int(i, "datafileid") { ids.append(id) } }
        return ids
    }

    // MARK: cursor

    /// Where the next incremental run starts: the cursor of the newest finished run; for a
    /// database the original script filled (no run of ours yet), its newest `createdate`;
    /// `nil` means the whole catalog.
    public func incrementalCursor() throws(PostgresError) -> CatalogCursor? {
        let r = try db.query("""
            SELECT cursor_createdate::text AS createdate, cursor_id FROM dvbackup_run
            WHERE state = $1 AND cursor_createdate IS NOT NULL ORDER BY id DESC LIMIT 1
            """, [RunState.finished.rawValue])
        if r.rowCount == 1, let ts = try r.string(0, "createdate") {
            return CatalogCursor(createdate: ts, id: try r.int(0, "cursor_id") ?? 0)
        }
        // A run that could not start (lock held) leaves a row but read nothing; audits,
        // restores and orphan scans copy nothing: neither takes the original script's place.
        let runs = try db.query("SELECT count(*) AS n FROM dvbackup_run WHERE state <> $1 AND mode IN ($2, $3)",
                                [RunState.notStarted.rawValue, RunMode.incremental.rawValue, RunMode.rerun.rawValue]).int(0, "n") ?? 0
        guard runs == 0 else { return nil }
        let legacy = try db.query("SELECT max(createdate)::text AS createdate FROM datafilestatus")
        return try legacy.string(0, "createdate").map { CatalogCursor(createdate: $0, id: 0) }
    }

    // MARK: runs

    public func markAbandonedRuns() throws(PostgresError) {
        // Called with the lock held: a run still marked running died without finishing.
        try db.query("UPDATE dvbackup_run SET state = $1 WHERE state = $2",
                     [RunState.crashed.rawValue, RunState.running.rawValue])
    }

    public func startRun(mode: String, method: String, target: String) throws(PostgresError) -> Int64 {
        let r = try db.query("""
            INSERT INTO dvbackup_run (mode, state, host, pid, method, target)
            VALUES ($1, $6, $2, $3, $4, $5) RETURNING id
            """, [mode, WallClock.hostname(), String(getpid()), method, target, RunState.running.rawValue])
        return try r.int(0, "id") ?? 0
    }

    public func finishRun(_ id: Int64, state: RunState, counts: RunCounts, cursor: CatalogCursor?, error: String?) throws(PostgresError) {
        try db.query("""
            UPDATE dvbackup_run SET state = $2, finished = now(), planned = $3, skipped = $4, deferred = $5,
                ok = $6, ok_no_checksum = $7, fail_source_checksum = $8, fail_verify = $9, fail_write = $10,
                fail_read = $11, bytes = $12, cursor_createdate = $13::timestamp, cursor_id = $14::bigint, error = $15,
                fail_audit_missing = $16, fail_audit_corrupt = $17
            WHERE id = $1
            """, [String(id), state.rawValue, String(counts.planned), String(counts.skipped), String(counts.deferred),
                  String(counts[.ok]), String(counts[.okNoChecksum]), String(counts[.failSourceChecksum]),
                  String(counts[.failVerify]), String(counts[.failWrite]), String(counts[.failRead]),
                  String(counts.bytes), cursor?.createdate, cursor.map { String($0.id) }, error,
                  String(counts[.failAuditMissing]), String(counts[.failAuditCorrupt])])
    }

    /// The failures recorded by run `id`, most serious first, in pages.
    public func failures(ofRun id: Int64, _ body: ([FailedFile]) throws -> Void) throws {
        var offset = 0
        while true {
            let page = try failedFiles(whereSQL: "lastrunid = $1", [String(id)], limit: 1000, offset: offset)
            if page.isEmpty { break }
            try body(page)
            offset += page.count
            if page.count < 1000 { break }
        }
    }

    /// The OK_NO_CHECKSUM copies of run `id` that the catalog's checksum could not prove
    /// (an algorithm dvbackup does not know, a malformed value): proven against the bytes
    /// read only. `lasterror` says why; at most `limit`.
    public func provenAgainstBytesOnly(ofRun id: Int64, limit: Int) throws(PostgresError) -> [FailedFile] {
        let r = try db.query("""
            SELECT \(FailedFile.columns)
            FROM datafilestatus
            WHERE status = 'OK_NO_CHECKSUM' AND lasterror IS NOT NULL AND lastrunid = $1::bigint
            ORDER BY datasetidentifier, datafileid
            LIMIT \(max(0, limit))
            """, [String(id)])
        return try FailedFile.rows(of: r)
    }

    public func failedFiles(whereSQL: String, _ params: [String?], limit: Int, offset: Int = 0) throws(PostgresError) -> [FailedFile] {
        let r = try db.query("""
            SELECT \(FailedFile.columns)
            FROM datafilestatus
            WHERE status NOT IN ('OK', 'OK_NO_CHECKSUM') AND \(whereSQL)
            ORDER BY \(Self.severityOrder), datasetidentifier, datafileid
            LIMIT \(limit) OFFSET \(offset)
            """, params)
        return try FailedFile.rows(of: r)
    }
}

/// A failed file as reports list it.
public struct FailedFile: Sendable, Codable, Equatable {
    public var datafileId: Int64?
    public var datasetPID: String?
    public var datasetIdentifier: String
    public var storageIdentifier: String
    public var status: String
    public var reason: String
    public var attempts: Int
    public var lastAttempt: String?
    public var location: String?

    /// The dataset as a PID when known, else `authority/identifier`.
    public var dataset: String { datasetPID ?? datasetIdentifier }

    /// The `datafilestatus` columns `rows(of:)` reads.
    static let columns = """
        datafileid, datasetpid, datasetidentifier, storageidentifier, status, lasterror, attempts,
        to_char(lastbackuptime, 'YYYY-MM-DD HH24:MI:SS') AS lastattempt, location
        """

    /// The files of a result that selected `columns`.
    static func rows(of r: PostgresResult) throws(PostgresError) -> [FailedFile] {
        try (0..<r.rowCount).map { i throws(PostgresError) in
            FailedFile(datafileId: try r.int(i, "datafileid"), datasetPID: try r.string(i, "datasetpid"),
                       datasetIdentifier: try r.string(i, "datasetidentifier") ?? "",
                       storageIdentifier: try r.string(i, "storageidentifier") ?? "", status: try r.string(i, "status") ?? "",
                       reason: try r.string(i, "lasterror") ?? "", attempts: Int(try r.int(i, "attempts") ?? 0),
                       lastAttempt: try r.string(i, "lastattempt"), location: try r.string(i, "location"))
        }
    }
}

/// Counts of one run.
public struct RunCounts: Sendable, Equatable {
    public var planned: Int64 = 0
    public var skipped: Int64 = 0
    public var deferred: Int64 = 0
    public var byStatus: [BackupStatus: Int64] = [:]
    public var bytes: Int64 = 0

    public init() {}

    public subscript(_ s: BackupStatus) -> Int64 {
        get { byStatus[s] ?? 0 }
        set { byStatus[s] = newValue }
    }

    public var failed: Int64 { BackupStatus.failures.reduce(0) { $0 + self[$1] } }
    public var succeeded: Int64 { self[.ok] + self[.okNoChecksum] }
}
