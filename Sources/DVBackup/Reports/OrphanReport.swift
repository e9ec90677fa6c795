import Foundation
import Logging

/// After `dvbackup audit --orphans`: the scan's report is stored with its run row and mailed
/// through [Notifications], as a restore's is (``ReportDelivery``).
/// Orphans are normal (files deleted in Dataverse), so the subject only shouts when a
/// leftover could not be removed or the scan stopped. Nothing here changes the exit code.
public struct OrphanReport {
    public let settings: Settings
    public let logger: Logger

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// The report of a scan that finished (or stopped part way) with `summary`, or that could
    /// not start (`startFailure`). `maxLines` caps the lines listed in the text; every line
    /// kept is in the CSV attachment when the text had to cut them.
    public static func compose(_ summary: OrphanSummary, startFailure: String?, exit: ExitStatus, maxLines: Int,
                               host: String = WallClock.hostname()) -> RunReport {
        if let startFailure {
            return RunReport(subject: "dvbackup orphans on \(host): not started", text: "The orphan scan did not start: \(startFailure)\n",
                             runId: summary.runId, exitStatus: exit)
        }
        let s = summary
        var what = "\(s.orphans) orphan\(s.orphans == 1 ? "" : "s"), \(s.leftovers) leftover\(s.leftovers == 1 ? "" : "s")"
        if s.leftoversRemoved > 0 { what += ", \(s.leftoversRemoved) removed" }
        let trouble = s.error != nil ? "STOPPED: " : s.removalFailures > 0 ? "FAILURES: " : ""
        var lines = [s.text]
        if !s.listed.isEmpty {
            lines.append("")
            lines.append("Listed (orphans are never deleted; only leftovers are removed, with --clean-leftovers):")
            for entry in s.listed.prefix(maxLines) { lines.append("  " + entry.line) }
            let total = s.orphans + s.leftovers
            if total > Int64(min(maxLines, s.listed.count)) {
                lines.append("  … and \(total - Int64(min(maxLines, s.listed.count))) more" +
                             (s.listed.count > maxLines ? " (the first \(s.listed.count) are in the attached CSV)" : ""))
            }
        }
        var csv: [UInt8]? = nil
        if s.listed.count > maxLines {
            var text = RestoreManifest.line(["kind", "path", "bytes", "age", "reason"])
            for e in s.listed { text += RestoreManifest.line([e.kind.rawValue, e.path, String(e.size), e.age, e.reason]) }
            csv = Array(text.utf8)
        }
        return RunReport(subject: "dvbackup orphans on \(host): \(trouble)\(what)", text: lines.joined(separator: "\n") + "\n",
                         csv: csv, runId: s.runId, exitStatus: exit)
    }

    /// Prints the summary, then stores and mails the report.
    public func report(_ scan: OrphanScan, exit: ExitStatus, output: OutputWriter) {
        if scan.startFailure == nil {
            output.line()
            output.line(scan.summary.text)
            output.flush()
        }
        let report = Self.compose(scan.summary, startFailure: scan.startFailure, exit: exit,
                                  maxLines: settings.notifications.maxFailureLines)
        ReportDelivery.deliver(report, settings: settings, logger: logger, what: "orphan scan")
    }
}
