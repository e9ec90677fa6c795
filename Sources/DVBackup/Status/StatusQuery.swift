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
