/// What a restore did, for the summary, the report and the exit code.
public struct RestoreSummary: Sendable {
    public var runId: Int64?
    public var target: String
    public var destination: String
    public var dryRun: Bool
    public var state: RunState = .finished
    public var restored: Int64 = 0
    public var intact: Int64 = 0
    public var wouldRestore: Int64 = 0
    public var failed: Int64 = 0
    public var bytes: Int64 = 0
    /// The failures, in datafile id order (the first `failureLimit`).
    public var failures: [RestoreResult] = []
    public var seconds: Double = 0
    /// Why the restore stopped early, if it did.
    public var error: String?

    static let failureLimit = 1000

    mutating func add(_ r: RestoreResult) {
        switch r.kind {
        case .restored:
            restored += 1
            bytes += r.bytes
        case .intact: intact += 1
        case .wouldRestore: wouldRestore += 1
        case .failed:
            failed += 1
            if failures.count < Self.failureLimit { failures.append(r) }
        }
    }

    /// The runs table's counts: restored files as `ok`, primaries left untouched as
    /// `skipped`, failures by `failedAs`.
    var counts: RunCounts {
        var c = RunCounts()
        c.planned = restored + intact + failed
        c.skipped = intact
        c[.ok] = restored
        c.bytes = bytes
        for f in failures { c[f.failedAs ?? .failRead] += 1 }
        // Failures beyond the kept list are counted as unreadable copies.
        c[.failRead] += failed - Int64(failures.count)
        return c
    }

    public var exitStatus: ExitStatus {
        if dryRun { return error == nil ? .success : .filesFailed }
        return state == .finished && failed == 0 ? .success : .filesFailed
    }

    /// The summary printed at the end (and the head of the report).
    public var text: String {
        var lines: [String] = []
        let run = runId.map { " (run \($0))" } ?? ""
        if dryRun {
            lines.append("Restore dry run\(run) from \(target) to \(destination): \(wouldRestore) file(s) would be restored, \(intact) primar\(intact == 1 ? "y matches" : "ies match") the catalog and would be left untouched, \(failed) cannot be restored")
        } else {
            lines.append("Restore\(run) from \(target) to \(destination): \(state.rawValue) in \(formatDecimal(seconds, places: 1)) s")
            lines.append("  restored, proven against their checksums  \(restored) (\(formatBytes(bytes)))")
            if intact > 0 { lines.append("  primaries intact, left untouched         \(intact)") }
            lines.append("  failed                                    \(failed)")
        }
        if let error { lines.append("  stopped: \(error)") }
        if !failures.isEmpty {
            lines.append("")
            lines.append("Not restored (nothing was written for these):")
            for f in failures {
                lines.append("  datafile \(f.datafileId) (\(f.dataset), \(f.storageName)): \(f.detail)")
            }
            if failed > Int64(failures.count) { lines.append("  … and \(failed - Int64(failures.count)) more") }
        }
        return lines.joined(separator: "\n")
    }
}

/// How a restore ended.
public enum RestoreOutcome: Sendable {
    case notRun
    /// It could not start (exit 3) or was not usable as asked (exit 2).
    case couldNotStart(reason: String, runId: Int64?, exit: ExitStatus)
    case finished(RestoreSummary)
}
