import Foundation

/// What an audit is asked to look at: everything (the rotation), or some datasets and files.
public struct AuditSelection: Sendable, Equatable {
    /// PIDs (`doi:10.5072/FK2/ABC`) or `authority/identifier`.
    public var datasets: [String] = []
    public var datafiles: [Int64] = []

    public init(datasets: [String] = [], datafiles: [Int64] = []) {
        self.datasets = datasets
        self.datafiles = datafiles
    }

    public var isEmpty: Bool { datasets.isEmpty && datafiles.isEmpty }
}

/// Which side an audit proves: the copies on the target, or the primaries in the stores.
public enum AuditSide: String, Sendable {
    case copies = "audit"
    case sources = "audit-source"
}

/// One file the rotation takes, as the backup database records it.
struct AuditCandidate: Sendable {
    let datafileId: Int64
    let status: String
    let checksumType: String?
    let checksumValue: String?
    /// `ALG:hex` of the bytes proven when the copy was written.
    let provenChecksum: String?
    let fileSize: Int64?
}

/// Totals over the files an audit may take.
public struct AuditTotals: Sendable, Equatable, Codable {
    public var files: Int64 = 0
    public var bytes: Int64 = 0
    public var overdueFiles: Int64 = 0
    public var overdueBytes: Int64 = 0
    public var neverVerified: Int64 = 0
    /// The oldest last verification (`YYYY-MM-DD HH:MM:SS`), nil when none was ever made.
    public var oldestVerified: String?
}

/// The audit's queries on the backup database: the rotation (oldest verification first), the
/// totals that set the budget, and what each proof found.
final class AuditStore {
    let db: PostgresConnection
    let side: AuditSide

    init(db: PostgresConnection, side: AuditSide) {
        self.db = db
        self.side = side
    }

    /// The column the rotation is ordered by.
    var lastColumn: String { side == .copies ? "s.lastverified" : "f.lastchecked" }

    var from: String {
        side == .copies ? "datafilestatus s" : "datafilestatus s LEFT JOIN sourcefixity f ON f.datafileid = s.datafileid"
    }

    /// Copies are audited while their status says proven; primaries, for every known file.
    func whereSQL(_ selection: AuditSelection, first: Int = 1) -> (String, [String?]) {
        var clauses = ["s.datafileid IS NOT NULL"]
        if side == .copies { clauses.append("s.status IN ('OK', 'OK_NO_CHECKSUM')") }
        var params: [String?] = []
        func p(_ v: String?) -> String { params.append(v); return "$\(first + params.count - 1)" }
        var narrow: [String] = []
        if !selection.datafiles.isEmpty {
            narrow.append("s.datafileid = ANY(\(p(PostgresConnection.arrayLiteral(selection.datafiles)))::bigint[])")
        }
        if !selection.datasets.isEmpty {
            let ids = selection.datasets.map { StatusFilter(dataset: $0).datasetIdentifier ?? $0 }
            narrow.append("(s.datasetpid = ANY(\(p(PostgresConnection.arrayLiteral(strings: selection.datasets)))::text[]) OR s.datasetidentifier = ANY(\(p(PostgresConnection.arrayLiteral(strings: ids)))::text[]))")
        }
        if !narrow.isEmpty { clauses.append("(" + narrow.joined(separator: " OR ") + ")") }
        return (clauses.joined(separator: " AND "), params)
    }

    func totals(_ selection: AuditSelection, cycleSeconds: Int64) throws(PostgresError) -> AuditTotals {
        let (w, params) = whereSQL(selection, first: 2)
        let overdue = "(\(lastColumn) IS NULL OR \(lastColumn) < now() - ($1 || ' seconds')::interval)"
        let r = try db.query("""
            SELECT count(*) AS files, COALESCE(sum(s.filesize), 0)::bigint AS bytes,
                   count(*) FILTER (WHERE \(overdue)) AS overdue_files,
                   COALESCE(sum(s.filesize) FILTER (WHERE \(overdue)), 0)::bigint AS overdue_bytes,
                   count(*) FILTER (WHERE \(lastColumn) IS NULL) AS never,
                   to_char(min(\(lastColumn)), 'YYYY-MM-DD HH24:MI:SS') AS oldest
            FROM \(from) WHERE \(w)
            """, [String(cycleSeconds)] + params)
        return AuditTotals(files: try r.int(0, "files") ?? 0, bytes: try r.int(0, "bytes") ?? 0,
                           overdueFiles: try r.int(0, "overdue_files") ?? 0, overdueBytes: try r.int(0, "overdue_bytes") ?? 0,
                           neverVerified: try r.int(0, "never") ?? 0, oldestVerified: try r.string(0, "oldest"))
    }

    /// Opens the rotation: the files, never verified first, then the longest ago; a cursor the
    /// server keeps (WITH HOLD), so that findings are committed while it is read.
    func openRotation(_ selection: AuditSelection) throws(PostgresError) {
        let (w, params) = whereSQL(selection)
        try db.execute("BEGIN")
        do throws(PostgresError) {
            try db.query("""
                DECLARE dvbackup_audit NO SCROLL CURSOR WITH HOLD FOR
                SELECT s.datafileid, s.status, s.checksumtype, s.checksumvalue, s.provenchecksum, s.filesize
                FROM \(from) WHERE \(w)
                ORDER BY \(lastColumn) ASC NULLS FIRST, s.datafileid
                """, params)
            try db.execute("COMMIT")
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
    }

    func nextPage(_ size: Int) throws(PostgresError) -> [AuditCandidate] {
        let r = try db.query("FETCH FORWARD \(size) FROM dvbackup_audit")
        return try (0..<r.rowCount).map { i throws(PostgresError) in
            AuditCandidate(datafileId: try r.int(i, "datafileid") ?? 0, status: try r.string(i, "status") ?? "",
                           checksumType: try r.string(i, "checksumtype"), checksumValue: try r.string(i, "checksumvalue"),
                           provenChecksum: try r.string(i, "provenchecksum"), fileSize: try r.int(i, "filesize"))
        }
    }

    func closeRotation() { _ = try? db.execute("CLOSE dvbackup_audit") }

    /// The ids of `ids` the backup database has no row for.
    func unknownDatafiles(_ ids: [Int64]) throws(PostgresError) -> [Int64] {
        guard !ids.isEmpty else { return [] }
        let r = try db.query("SELECT datafileid FROM datafilestatus WHERE datafileid = ANY($1::bigint[])",
                             [PostgresConnection.arrayLiteral(ids)])
        var known: Set<Int64> = []
        for i in 0..<r.rowCount { if let id = try r.int(i, "datafileid") { known.insert(id) } }
        return ids.filter { !known.contains($0) }
    }

    /// The datasets of `pids` the backup database knows no file of.
    func unknownDatasets(_ pids: [String]) throws(PostgresError) -> [String] {
        var unknown: [String] = []
        for pid in pids {
            let (w, params) = StatusFilter(dataset: pid).sql(onlyFailures: false)
            if try db.query("SELECT count(*) AS n FROM datafilestatus WHERE \(w)", params).int(0, "n") == 0 { unknown.append(pid) }
        }
        return unknown
    }

    /// Seconds since the previous audit of this side started (nil: none yet).
    func secondsSincePreviousAudit() throws(PostgresError) -> Double? {
        try db.query("""
            SELECT extract(epoch FROM now() - max(started))::float8 AS s FROM dvbackup_run
            WHERE mode = $1 AND state IN ('finished', 'interrupted')
            """, [side.rawValue]).double(0, "s")
    }
}
