import Foundation

/// What `dvbackup status` prints: totals by status, the last runs, the failed files.
public struct StatusReport: Sendable, Codable {
    public struct Run: Sendable, Codable {
        public var id: Int64
        public var mode: String
        public var state: String
        public var started: String
        public var finished: String?
        public var host: String?
        public var planned: Int64
        public var skipped: Int64
        public var deferred: Int64
        public var counts: [String: Int64]
        public var bytes: Int64
        public var error: String?
    }

    public var counts: [String: Int64]
    public var total: Int64
    public var runs: [Run]
    public var failures: [FailedFile]
    /// Failed files beyond those listed.
    public var failuresNotListed: Int64

    public static func load(_ status: StatusStore, runs runLimit: Int = 10, failures failureLimit: Int = 100) throws -> StatusReport {
        let db = status.db
        var counts: [String: Int64] = [:]
        for s in BackupStatus.allCases { counts[s.rawValue] = 0 }
        let c = try db.query("SELECT status, count(*) FROM datafilestatus GROUP BY status")
        var total: Int64 = 0
        for i in 0..<c.rowCount {
            let n = c.int(i, 1) ?? 0
            counts[c.string(i, 0) ?? "NULL"] = n
            total += n
        }
        let r = try db.query("""
            SELECT id, mode, state, to_char(started, 'YYYY-MM-DD HH24:MI:SS'), to_char(finished, 'YYYY-MM-DD HH24:MI:SS'),
                   host, planned, skipped, deferred, ok, ok_no_checksum, fail_source_checksum, fail_verify, fail_write,
                   fail_read, bytes, error
            FROM dvbackup_run ORDER BY id DESC LIMIT \(runLimit)
            """)
        let runs = (0..<r.rowCount).map { i in
            Run(id: r.int(i, 0) ?? 0, mode: r.string(i, 1) ?? "", state: r.string(i, 2) ?? "",
                started: r.string(i, 3) ?? "", finished: r.string(i, 4), host: r.string(i, 5),
                planned: r.int(i, 6) ?? 0, skipped: r.int(i, 7) ?? 0, deferred: r.int(i, 8) ?? 0,
                counts: ["OK": r.int(i, 9) ?? 0, "OK_NO_CHECKSUM": r.int(i, 10) ?? 0,
                         "FAIL_SOURCE_CHECKSUM": r.int(i, 11) ?? 0, "FAIL_VERIFY": r.int(i, 12) ?? 0,
                         "FAIL_WRITE": r.int(i, 13) ?? 0, "FAIL_READ": r.int(i, 14) ?? 0],
                bytes: r.int(i, 15) ?? 0, error: r.string(i, 16))
        }
        let failures = try status.failedFiles(whereSQL: "true", [], limit: failureLimit)
        let failedTotal = counts.filter { !(BackupStatus(rawValue: $0.key)?.isOK ?? false) }.values.reduce(0, +)
        return StatusReport(counts: counts, total: total, runs: runs, failures: failures,
                            failuresNotListed: max(0, failedTotal - Int64(failures.count)))
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public func render(into out: OutputWriter) {
        out.line("Files by status (\(formatCount(total)) in all):")
        let ordered = BackupStatus.allCases.sorted { $0.severity > $1.severity }.map(\.rawValue)
        let others = counts.keys.filter { !ordered.contains($0) }.sorted()
        for key in ordered + others {
            out.line("  " + key.padding(toLength: 22, withPad: " ", startingAt: 0) + "  " + formatCount(counts[key] ?? 0))
        }
        out.line()
        out.line("Last runs:")
        if runs.isEmpty { out.line("  (none yet)") }
        for run in runs {
            let failed = BackupStatus.failures.reduce(Int64(0)) { $0 + (run.counts[$1.rawValue] ?? 0) }
            let ok = (run.counts["OK"] ?? 0) + (run.counts["OK_NO_CHECKSUM"] ?? 0)
            var verdict = run.state == "finished" ? (failed > 0 ? "\(formatCount(failed)) failed" : "all OK") : run.state
            if let e = run.error { verdict += ": \(e)" }
            out.line("  run \(run.id)  \(run.started)  \(run.mode.padding(toLength: 11, withPad: " ", startingAt: 0))  planned \(formatCount(run.planned)), OK \(formatCount(ok)), failed \(formatCount(failed)), skipped \(formatCount(run.skipped)), \(formatBytes(run.bytes))  \(verdict)")
        }
        out.line()
        if failures.isEmpty {
            out.line("No failed files.")
            return
        }
        out.line("Failed files (most serious first):")
        for f in failures {
            out.line("  \(f.status) \(f.dataset) datafile \(f.datafileId.map(String.init) ?? "?") \(f.storageIdentifier) (\(f.attempts) attempt\(f.attempts == 1 ? "" : "s"), last \(f.lastAttempt ?? "?")): \(f.reason)")
        }
        if failuresNotListed > 0 {
            out.line("  … and \(formatCount(failuresNotListed)) more")
        }
    }
}
