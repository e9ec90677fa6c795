import Foundation

/// The summary printed at the end of a run.
extension RunSummary {
    public var verdict: String {
        if let error { return "FAILED: \(error)" }
        if state == .interrupted { return "interrupted" }
        return counts.failed > 0 ? "\(formatCount(counts.failed)) failed" : "all OK"
    }

    public func render(into out: OutputWriter, failures: ((([FailedFile]) throws -> Void) throws -> Void)) {
        let rate = seconds > 0 ? Double(counts.bytes) / seconds : 0
        out.line("dvbackup \(mode.rawValue) run \(runId) \(state.rawValue) in \(formatDecimal(seconds, places: 1)) s: \(verdict)")
        out.line("  target                  \(target)")
        let rows: [(String, Int64)] = [
            ("files planned", counts.planned),
            ("skipped (already OK)", counts.skipped),
            ("left for a later run", counts.deferred),
            ("OK", counts[.ok]),
            ("OK_NO_CHECKSUM", counts[.okNoChecksum]),
        ] + BackupStatus.failures.map { ($0.rawValue, counts[$0]) }
        for (label, n) in rows {
            out.line("  " + label.padding(toLength: 22, withPad: " ", startingAt: 0) + "  " + formatCount(n))
        }
        out.line("  bytes copied            \(formatBytes(counts.bytes)) (\(formatCount(counts.bytes)) bytes)")
        out.line("  duration                \(formatDecimal(seconds, places: 1)) s")
        out.line("  rate                    \(formatBytes(Int64(rate)))/s")
        guard counts.failed > 0 else { return }
        out.line("Failed files (most serious first):")
        do {
            try failures { page in
                for f in page {
                    out.line("  \(f.status) \(f.dataset) datafile \(f.datafileId.map(String.init) ?? "?") \(f.storageIdentifier): \(f.reason)")
                }
            }
        } catch {
            out.line("  (cannot list the failed files: \(error))")
        }
    }
}
