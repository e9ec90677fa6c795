import Foundation

/// A point in time for `status --since`: a date (`2025-06-01`, midnight), a date and time
/// (`2025-06-01 14:30`, `2025-06-01T14:30:00`, with an optional `Z` or `+02:00`), or a
/// duration back from now (`24h`, `7d`).
public struct SinceDate: Sendable, Equatable {
    /// As given.
    public let text: String
    /// What PostgreSQL reads as `timestamptz` (no offset: the database session's time zone).
    public let timestamp: String

    public static func parse(_ input: String, now: Date = Date()) -> SinceDate? {
        let t = input.trimmingWhitespace()
        if let seconds = DurationParser.seconds(t), t.contains(where: { $0.isLetter }) {
            let then = now.addingTimeInterval(-Double(seconds))
            let f = CalendarFields(then, timeZone: TimeZone(secondsFromGMT: 0)!)
            return SinceDate(text: t, timestamp: String(format: "%04d-%02d-%02d %02d:%02d:%02d+00",
                                                        f.year, f.month, f.day, f.hour, f.minute, f.second))
        }
        // YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][Z|±HH[:MM]]
        let pattern = #"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$"#
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let m = regex.firstMatch(in: t, range: NSRange(t.startIndex..., in: t)) else { return nil }
        func group(_ i: Int) -> String? {
            guard let r = Range(m.range(at: i), in: t) else { return nil }
            return String(t[r])
        }
        guard let y = Int(group(1)!), let mo = Int(group(2)!), let d = Int(group(3)!),
              (1...12).contains(mo), y >= 1900 else { return nil }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
        guard (1...days).contains(d) else { return nil }
        let h = group(4).flatMap { Int($0) } ?? 0, mi = group(5).flatMap { Int($0) } ?? 0, s = group(6).flatMap { Int($0) } ?? 0
        guard (0...23).contains(h), (0...59).contains(mi), (0...59).contains(s) else { return nil }
        var zone = group(7) ?? ""
        if zone == "Z" { zone = "+00" }
        if !zone.isEmpty {
            let digits = zone.dropFirst().filter(\.isNumber)
            guard let zh = Int(digits.prefix(2)), zh <= 14, digits.count == 2 || (digits.count == 4 && Int(digits.suffix(2))! < 60) else { return nil }
        }
        return SinceDate(text: t, timestamp: String(format: "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, s) + zone)
    }
}

/// What `dvbackup status` lists: files of some statuses, of one dataset, attempted since a
/// date. Empty means no restriction.
public struct StatusFilter: Sendable, Equatable {
    public var statuses: [BackupStatus] = []
    public var since: SinceDate?
    /// A PID (`doi:10.5072/FK2/ABC`) or `authority/identifier`.
    public var dataset: String?

    public init(statuses: [BackupStatus] = [], since: SinceDate? = nil, dataset: String? = nil) {
        self.statuses = statuses
        self.since = since
        self.dataset = dataset
    }

    /// `FAIL_READ,FAIL_WRITE` (any case, repeated or comma-separated) → statuses; `nil`
    /// names the first word that is not a status.
    public static func parseStatuses(_ values: [String]) -> Result<[BackupStatus], StatusNameError> {
        var out: [BackupStatus] = []
        for v in values {
            for word in v.split(separator: ",").map({ $0.trimmingWhitespace() }) where !word.isEmpty {
                guard let s = BackupStatus(rawValue: word.uppercased()) else { return .failure(StatusNameError(name: word)) }
                if !out.contains(s) { out.append(s) }
            }
        }
        return .success(out)
    }

    /// The dataset as `authority/identifier` (the PID without its `doi:`/`hdl:` prefix).
    public var datasetIdentifier: String? {
        guard let d = dataset else { return nil }
        if let colon = d.firstIndex(of: ":"), !d[..<colon].contains("/") { return String(d[d.index(after: colon)...]) }
        return d
    }

    /// The WHERE clause over `datafilestatus` (parameters from `$first`), with
    /// `onlyFailures` restricting to statuses that are not OK.
    func sql(first: Int = 1, onlyFailures: Bool) -> (String, [String?]) {
        var clauses: [String] = []
        var params: [String?] = []
        func p(_ v: String?) -> String { params.append(v); return "$\(first + params.count - 1)" }
        if onlyFailures { clauses.append("status NOT IN ('OK', 'OK_NO_CHECKSUM')") }
        if !statuses.isEmpty {
            clauses.append("status = ANY(\(p(PostgresConnection.arrayLiteral(strings: statuses.map(\.rawValue))))::text[])")
        }
        if let since { clauses.append("lastbackuptime >= (\(p(since.timestamp))::timestamptz)::timestamp") }
        if let dataset {
            clauses.append("(datasetpid = \(p(dataset)) OR datasetidentifier = \(p(datasetIdentifier)))")
        }
        return (clauses.isEmpty ? "true" : clauses.joined(separator: " AND "), params)
    }
}

public struct StatusNameError: Error, CustomStringConvertible, Sendable {
    public let name: String
    public var description: String {
        "'\(name)' is not a status (use \(BackupStatus.allCases.map(\.rawValue).joined(separator: ", ")))"
    }
}

extension StatusStore {
    static let severityOrder = """
        CASE status WHEN 'FAIL_SOURCE_CHECKSUM' THEN 0 WHEN 'FAIL_AUDIT_CORRUPT' THEN 1 WHEN 'FAIL_AUDIT_MISSING' THEN 2
                    WHEN 'FAIL_VERIFY' THEN 3 WHEN 'FAIL_WRITE' THEN 4
                    WHEN 'FAIL_READ' THEN 5 WHEN 'OK_NO_CHECKSUM' THEN 7 WHEN 'OK' THEN 8 ELSE 6 END
        """

    /// How many files match.
    public func countFiles(_ filter: StatusFilter, onlyFailures: Bool) throws(PostgresError) -> Int64 {
        let (whereSQL, params) = filter.sql(onlyFailures: onlyFailures)
        return try db.query("SELECT count(*) AS n FROM datafilestatus WHERE \(whereSQL)", params).int(0, "n") ?? 0
    }

    /// Counts by status of the files that match.
    public func countsByStatus(_ filter: StatusFilter) throws(PostgresError) -> [String: Int64] {
        let (whereSQL, params) = filter.sql(onlyFailures: false)
        let r = try db.query("SELECT status, count(*) AS n FROM datafilestatus WHERE \(whereSQL) GROUP BY status", params)
        var out: [String: Int64] = [:]
        for i in 0..<r.rowCount { out[try r.string(i, "status") ?? "NULL"] = try r.int(i, "n") ?? 0 }
        return out
    }

    /// Streams the matching files, most serious first, then by dataset and datafile id,
    /// through a server-side cursor in pages of `pageSize`: memory does not grow with the
    /// table. At most `limit` files (all when `nil`).
    public func streamFiles(_ filter: StatusFilter, onlyFailures: Bool, limit: Int?, pageSize: Int = 1000,
                            _ body: ([FailedFile]) throws -> Void) throws {
        let (whereSQL, params) = filter.sql(onlyFailures: onlyFailures)
        let sql = """
            SELECT \(FailedFile.columns)
            FROM datafilestatus WHERE \(whereSQL)
            ORDER BY \(Self.severityOrder), datasetidentifier, datafileid, id
            """ + (limit.map { " LIMIT \($0)" } ?? "")
        try db.execute("BEGIN READ ONLY")
        defer { _ = try? db.execute("ROLLBACK") }
        try db.query("DECLARE dvbackup_status NO SCROLL CURSOR FOR " + sql, params)
        while true {
            let r = try db.query("FETCH FORWARD \(pageSize) FROM dvbackup_status")
            if r.rowCount == 0 { break }
            try body(try FailedFile.rows(of: r))
            if r.rowCount < pageSize { break }
        }
    }
}

extension StatusStore {
    /// What `status --check` judges: the last finished run, the last run that ended, and the
    /// files by safety. A database with no dvbackup tables yet has no runs (and, without the
    /// original table, no files).
    public func monitorFacts() throws(PostgresError) -> MonitorFacts {
        var f = MonitorFacts()
        let tables = try db.query("""
            SELECT to_regclass('datafilestatus') IS NOT NULL AS files, to_regclass('dvbackup_run') IS NOT NULL AS runs
            """)
        let hasFiles = try tables.bool(0, "files") == true
        let hasRuns = try tables.bool(0, "runs") == true
        f.noSchema = !hasRuns
        if hasFiles {
            let safe = "status IN ('OK', 'OK_NO_CHECKSUM')"
            // The proven-copy column comes with the runs table (migration 2 before 3).
            let extra = hasRuns ? """
                , count(*) FILTER (WHERE status LIKE 'FAIL\\_AUDIT%') AS audit,
                count(*) FILTER (WHERE status = 'FAIL_SOURCE_CHECKSUM' AND provenchecksum IS NULL) AS damaged
                """ : ""
            let r = try db.query("""
                SELECT count(*) AS files, count(*) FILTER (WHERE \(safe)) AS ok,
                       count(*) FILTER (WHERE NOT (\(safe)) OR status IS NULL) AS failed\(extra)
                FROM datafilestatus
                """)
            f.files = try r.int(0, "files") ?? 0
            f.ok = try r.int(0, "ok") ?? 0
            f.failed = try r.int(0, "failed") ?? 0
            if hasRuns {
                f.auditFailed = try r.int(0, "audit") ?? 0
                f.damagedUnproven = try r.int(0, "damaged") ?? 0
            }
        }
        guard hasRuns else { return f }
        f.damagedPrimaries = AuditOverview.damagedPrimaries(try AuditOverview.primaryResults(db))
        func run(_ whereSQL: String, _ state: RunState, order: String) throws(PostgresError) -> MonitorRun? {
            let r = try db.query("""
                SELECT id, state, error, extract(epoch FROM now() - COALESCE(finished, started))::bigint AS age
                FROM dvbackup_run WHERE \(whereSQL) ORDER BY \(order) LIMIT 1
                """, [state.rawValue])
            guard r.rowCount == 1, let id = try r.int(0, "id") else { return nil }
            return MonitorRun(runId: id, state: try r.string(0, "state") ?? "", ageSeconds: try r.int(0, "age") ?? 0,
                              error: try r.string(0, "error"))
        }
        f.lastFinished = try run("state = $1", .finished, order: "finished DESC NULLS LAST, id DESC")
        f.lastEnded = try run("state <> $1", .running, order: "id DESC")
        return f
    }
}

/// The last run of one mode that ended, and when that mode last succeeded (for the metrics file).
public struct ModeRunFacts: Sendable, Equatable {
    public var mode: String
    public var runId: Int64
    public var state: String
    public var started: Double
    public var finished: Double?
    public var exitCode: Int64?
    public var bytes: Int64
    public var planned: Int64, ok: Int64, failed: Int64, skipped: Int64, deferred: Int64
    /// The end of the last run of this mode that finished with exit code 0.
    public var lastSuccess: Double?
}

extension StatusStore {
    /// Per mode, the newest run that is not running, and its mode's last success.
    public func lastRunsByMode() throws(PostgresError) -> [ModeRunFacts] {
        let failed = "fail_source_checksum + fail_verify + fail_write + fail_read"
        let r = try db.query("""
            SELECT DISTINCT ON (mode) mode, id, state, extract(epoch FROM started)::float8 AS started,
                   extract(epoch FROM finished)::float8 AS finished, exit_code, bytes, planned,
                   ok + ok_no_checksum AS ok, \(failed) AS failed, skipped, deferred,
                   (SELECT extract(epoch FROM max(s.finished))::float8 FROM dvbackup_run s
                     WHERE s.mode = r.mode AND s.state = $2
                       AND COALESCE(s.exit_code, CASE WHEN s.fail_source_checksum + s.fail_verify + s.fail_write + s.fail_read = 0 THEN 0 ELSE 1 END) = 0) AS success
            FROM dvbackup_run r WHERE state <> $1 ORDER BY mode, id DESC
            """, [RunState.running.rawValue, RunState.finished.rawValue])
        return try (0..<r.rowCount).map { i throws(PostgresError) in
            ModeRunFacts(mode: try r.string(i, "mode") ?? "", runId: try r.int(i, "id") ?? 0, state: try r.string(i, "state") ?? "",
                         started: Double(try r.string(i, "started") ?? "") ?? 0, finished: (try r.string(i, "finished")).flatMap(Double.init),
                         exitCode: try r.int(i, "exit_code"), bytes: try r.int(i, "bytes") ?? 0, planned: try r.int(i, "planned") ?? 0,
                         ok: try r.int(i, "ok") ?? 0, failed: try r.int(i, "failed") ?? 0, skipped: try r.int(i, "skipped") ?? 0,
                         deferred: try r.int(i, "deferred") ?? 0, lastSuccess: (try r.string(i, "success")).flatMap(Double.init))
        }
    }
}
