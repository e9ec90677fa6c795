import Foundation

/// What `dvbackup status` prints: totals by status, the last runs with their verdicts, and
/// a list of files (the failed ones; or those of some statuses, of one dataset, attempted
/// since a date). The lists are streamed from the database, never held whole.
public struct StatusReport: Sendable {
    public struct Run: Sendable, Encodable, Equatable {
        public var id: Int64
        public var mode: String
        public var state: String
        public var started: String
        public var finished: String?
        public var durationSeconds: Double?
        public var host: String?
        public var planned: Int64
        public var skipped: Int64
        public var deferred: Int64
        public var counts: [String: Int64]
        public var bytes: Int64
        public var error: String?
        public var exitCode: Int64?
        public var mailStatus: String?
        public var mailError: String?

        public var failed: Int64 { BackupStatus.failures.reduce(Int64(0)) { $0 + (counts[$1.rawValue] ?? 0) } }
        public var ok: Int64 { (counts["OK"] ?? 0) + (counts["OK_NO_CHECKSUM"] ?? 0) }

        enum CodingKeys: String, CodingKey {
            case id, mode, state, started, finished, durationSeconds, host, planned, skipped, deferred, counts, bytes
            case error, exitCode, mailStatus, mailError, verdict
        }

        /// Every field, and the verdict.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(mode, forKey: .mode)
            try c.encode(state, forKey: .state)
            try c.encode(started, forKey: .started)
            try c.encodeIfPresent(finished, forKey: .finished)
            try c.encodeIfPresent(durationSeconds, forKey: .durationSeconds)
            try c.encodeIfPresent(host, forKey: .host)
            try c.encode(planned, forKey: .planned)
            try c.encode(skipped, forKey: .skipped)
            try c.encode(deferred, forKey: .deferred)
            try c.encode(counts, forKey: .counts)
            try c.encode(bytes, forKey: .bytes)
            try c.encodeIfPresent(error, forKey: .error)
            try c.encodeIfPresent(exitCode, forKey: .exitCode)
            try c.encodeIfPresent(mailStatus, forKey: .mailStatus)
            try c.encodeIfPresent(mailError, forKey: .mailError)
            try c.encode(verdict, forKey: .verdict)
        }

        /// `all OK`, `3 failed`, `could not start: …`, `interrupted`, `failed: …`.
        public var verdict: String {
            switch state {
            case RunState.finished.rawValue: return failed > 0 ? "\(formatCount(failed)) failed" : "all OK"
            case RunState.notStarted.rawValue: return "could not start" + (error.map { ": \($0)" } ?? "")
            default: return state + (error.map { ": \($0)" } ?? "")
            }
        }
    }

    /// For `--dataset`: what the backup database knows of that dataset's files.
    public struct DatasetSummary: Sendable, Codable, Equatable {
        public var dataset: String
        public var files: Int64
        public var safelyReplicated: Int64
        public var notSafelyReplicated: Int64
        public var counts: [String: Int64]
    }

    public var counts: [String: Int64]
    public var total: Int64
    public var runs: [Run]
    public var filter: StatusFilter
    public var dataset: DatasetSummary?
    /// Failed files that match the filter.
    public var failuresTotal: Int64
    /// With `--status` or `--dataset`: files that match (of any status).
    public var filesTotal: Int64?
    /// The audit's state (nil on a database without the audit's columns).
    public var audit: AuditOverview? = nil
    /// Files with no proven copy anywhere, shown first (nil when it cannot be read).
    public var noProvenCopy: NoProvenCopySection? = nil

    /// Whether the listing is of chosen files (`--status`, `--dataset`) rather than failures.
    public var listsFiles: Bool { !filter.statuses.isEmpty || filter.dataset != nil }

    public static func load(_ status: StatusStore, runs runLimit: Int = 10, filter: StatusFilter = StatusFilter(),
                            auditCycleSeconds: Int64 = AuditSettings.defaultCycleSeconds) throws -> StatusReport {
        let db = status.db
        var counts: [String: Int64] = [:]
        for s in BackupStatus.allCases { counts[s.rawValue] = 0 }
        for (k, v) in try status.countsByStatus(StatusFilter()) { counts[k] = v }
        let total = counts.values.reduce(0, +)
        var runSQL = """
            SELECT id, mode, state, to_char(started, 'YYYY-MM-DD HH24:MI:SS') AS started,
                   to_char(finished, 'YYYY-MM-DD HH24:MI:SS') AS finished, host, planned, skipped, deferred,
                   ok, ok_no_checksum, fail_source_checksum, fail_audit_corrupt, fail_audit_missing, fail_verify, fail_write,
                   fail_read, bytes, error,
                   extract(epoch FROM finished - started)::float8 AS seconds, exit_code, mail_status, mail_error
            FROM dvbackup_run
            """
        var params: [String?] = []
        if let since = filter.since {
            runSQL += " WHERE started >= $1::timestamptz"
            params.append(since.timestamp)
        }
        let r = try db.query(runSQL + " ORDER BY id DESC LIMIT \(max(0, runLimit))", params)
        let runs = try (0..<r.rowCount).map { i throws(PostgresError) in
            var counts: [String: Int64] = [:]
            for s in BackupStatus.allCases { counts[s.rawValue] = try r.int(i, s.rawValue.lowercased()) ?? 0 }
            return Run(id: try r.int(i, "id") ?? 0, mode: try r.string(i, "mode") ?? "", state: try r.string(i, "state") ?? "",
                       started: try r.string(i, "started") ?? "", finished: try r.string(i, "finished"),
                       durationSeconds: try r.double(i, "seconds").map { ($0 * 10).rounded() / 10 },
                       host: try r.string(i, "host"),
                       planned: try r.int(i, "planned") ?? 0, skipped: try r.int(i, "skipped") ?? 0,
                       deferred: try r.int(i, "deferred") ?? 0, counts: counts,
                       bytes: try r.int(i, "bytes") ?? 0, error: try r.string(i, "error"), exitCode: try r.int(i, "exit_code"),
                       mailStatus: try r.string(i, "mail_status"), mailError: try r.string(i, "mail_error"))
        }
        var dataset: DatasetSummary? = nil
        if let d = filter.dataset {
            let byStatus = try status.countsByStatus(StatusFilter(dataset: d))
            var c: [String: Int64] = [:]
            for s in BackupStatus.allCases { c[s.rawValue] = 0 }
            for (k, v) in byStatus { c[k] = v }
            let files = byStatus.values.reduce(0, +)
            let safe = (byStatus["OK"] ?? 0) + (byStatus["OK_NO_CHECKSUM"] ?? 0)
            dataset = DatasetSummary(dataset: d, files: files, safelyReplicated: safe, notSafelyReplicated: files - safe, counts: c)
        }
        let listing = !filter.statuses.isEmpty || filter.dataset != nil
        var report = StatusReport(counts: counts, total: total, runs: runs, filter: filter, dataset: dataset,
                                  failuresTotal: try status.countFiles(filter, onlyFailures: true),
                                  filesTotal: listing ? try status.countFiles(filter, onlyFailures: false) : nil)
        report.audit = try? AuditOverview.load(db, cycleSeconds: auditCycleSeconds)
        report.noProvenCopy = try? NoProvenCopySection.load(status, limit: 50)
        return report
    }

    // MARK: JSON

    /// One JSON object, keys in a stable (sorted) order: `counts`, `dataset` (with
    /// `--dataset`), `failures`, `failuresNotListed`, `files` and `filesNotListed` (with
    /// `--status` or `--dataset`), `filter`, `noProvenCopy` (when a file has no proven copy
    /// anywhere), `runs`, `total`. Lists are written as they are
    /// read. `limit` caps each list (`nil`: all).
    public func writeJSON(into out: OutputWriter, store: StatusStore, limit: Int?) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func json<T: Encodable>(_ v: T) throws -> String { String(decoding: try encoder.encode(v), as: UTF8.self) }
        struct FilterJSON: Encodable { var statuses: [String]; var since: String?; var dataset: String? }

        out.line("{")
        if let audit { out.line("\"audit\": \(try json(audit)),") }
        out.line("\"counts\": \(try json(counts)),")
        if let dataset { out.line("\"dataset\": \(try json(dataset)),") }
        func list(_ key: String, onlyFailures: Bool, total: Int64) throws {
            out.line("\"\(key)\": [")
            var n: Int64 = 0
            try store.streamFiles(filter, onlyFailures: onlyFailures, limit: limit) { page in
                for f in page {
                    out.line((n == 0 ? "" : ",") + (try json(f)))
                    n += 1
                }
            }
            out.line("],")
            out.line("\"\(key)NotListed\": \(max(0, total - n)),")
        }
        try list("failures", onlyFailures: true, total: failuresTotal)
        if listsFiles { try list("files", onlyFailures: false, total: filesTotal ?? 0) }
        out.line("\"filter\": \(try json(FilterJSON(statuses: filter.statuses.map(\.rawValue), since: filter.since?.timestamp, dataset: filter.dataset))),")
        // Only when there are such files, as `dataset` only with --dataset.
        if let noProvenCopy, !noProvenCopy.isEmpty { out.line("\"noProvenCopy\": \(try json(noProvenCopy)),") }
        out.line("\"runs\": [")
        for (i, run) in runs.enumerated() { out.line((i == 0 ? "" : ",") + (try json(run))) }
        out.line("],")
        out.line("\"total\": \(total)")
        out.line("}")
    }

    // MARK: text

    public func render(into out: OutputWriter, store: StatusStore, limit: Int?, configPath: String = "FILE") throws {
        if let noProvenCopy, !noProvenCopy.isEmpty {
            for line in noProvenCopy.lines(configPath: configPath) { out.line(line) }
            out.line()
        }
        out.line("Files by status (\(formatCount(total)) in all):")
        let ordered = BackupStatus.allCases.sorted { $0.severity > $1.severity }.map(\.rawValue)
        let others = counts.keys.filter { !ordered.contains($0) }.sorted()
        for key in ordered + others {
            out.line("  " + key.padding(toLength: 22, withPad: " ", startingAt: 0) + "  " + formatCount(counts[key] ?? 0))
        }
        if let audit {
            out.line()
            audit.render(into: out)
        }
        out.line()
        out.line(filter.since.map { "Last runs since \($0.text):" } ?? "Last runs:")
        if runs.isEmpty { out.line("  (none yet)") }
        for line in Self.runLines(runs) { out.line(line) }
        out.line()
        let since = filter.since.map { ", last attempt since \($0.text)" } ?? ""
        if let dataset {
            out.line("Dataset \(dataset.dataset): \(formatCount(dataset.files)) file\(dataset.files == 1 ? "" : "s") in the backup database, \(formatCount(dataset.safelyReplicated)) safely replicated (OK, OK_NO_CHECKSUM), \(formatCount(dataset.notSafelyReplicated)) not")
            if dataset.files == 0 {
                out.line("  (the backup database knows no file of this dataset: check the PID, or run a backup)")
                return
            }
        }
        if listsFiles {
            let what = filter.statuses.isEmpty ? "Files" : "Files with status \(filter.statuses.map(\.rawValue).joined(separator: ", "))"
            out.line("\(what)\(filter.dataset.map { " of \($0)" } ?? "")\(since) (\(formatCount(filesTotal ?? 0))), most serious first:")
            var n: Int64 = 0
            var safeHeader = false, unsafeHeader = false
            try store.streamFiles(filter, onlyFailures: false, limit: limit) { page in
                for f in page {
                    let safe = BackupStatus(rawValue: f.status)?.isOK ?? false
                    if filter.dataset != nil {
                        if !safe && !unsafeHeader { out.line("  Not safely replicated:"); unsafeHeader = true }
                        if safe && !safeHeader { out.line("  Safely replicated:"); safeHeader = true }
                    }
                    out.line("  " + Self.describe(f))
                    n += 1
                }
            }
            if n == 0 { out.line("  (none)") }
            if let t = filesTotal, t > n { out.line("  … and \(formatCount(t - n)) more (--limit N or --all lists more)") }
            return
        }
        if failuresTotal == 0 {
            out.line(since.isEmpty ? "No failed files." : "No failed files\(since).")
            return
        }
        out.line("Failed files\(since.isEmpty ? "" : " (\(since.dropFirst(2)))") (most serious first):")
        var n: Int64 = 0
        try store.streamFiles(filter, onlyFailures: true, limit: limit) { page in
            for f in page {
                out.line("  " + Self.describe(f))
                n += 1
            }
        }
        if failuresTotal > n { out.line("  … and \(formatCount(failuresTotal - n)) more") }
    }

    /// The runs table's lines, the mode column as wide as the longest mode shown (at least
    /// `incremental`'s), so that `audit-source` is not cut.
    static func runLines(_ runs: [Run]) -> [String] {
        let width = runs.map(\.mode.count).reduce(RunMode.incremental.rawValue.count, max)
        return runs.map { run in
            var line = "  run \(run.id)  \(run.started)  \(run.mode.padding(toLength: width, withPad: " ", startingAt: 0))"
            line += "  planned \(formatCount(run.planned)), OK \(formatCount(run.ok)), failed \(formatCount(run.failed)), skipped \(formatCount(run.skipped)), \(formatBytes(run.bytes))"
            if let d = run.durationSeconds { line += ", \(formatDecimal(d, places: 1)) s" }
            if let e = run.exitCode { line += ", exit \(e)" }
            line += "  \(run.verdict)"
            if let m = run.mailStatus { line += "  [mail \(m == "not-sent" ? "not sent" : m)]" }
            return line
        }
    }

    /// One file: `FAIL_READ doi:… datafile 12 file://… (2 attempts, last …): reason`.
    static func describe(_ f: FailedFile) -> String {
        var s = "\(f.status) \(f.dataset) datafile \(f.datafileId.map(String.init) ?? "?") \(f.storageIdentifier)"
        if BackupStatus(rawValue: f.status)?.isOK ?? false {
            s += " (copied \(f.lastAttempt ?? "?")\(f.location.map { ", at \($0)" } ?? ""))"
        } else {
            s += " (\(f.attempts) attempt\(f.attempts == 1 ? "" : "s"), last \(f.lastAttempt ?? "?")): \(ReportComposer.oneLine(f.reason))"
        }
        return s
    }
}
