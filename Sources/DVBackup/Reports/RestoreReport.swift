import Foundation
import Logging

/// After a restore: prints its summary, stores the report with its run row and mails it
/// through [Notifications] as runs do (``ReportDelivery``). Nothing here changes the exit code.
public struct RestoreReport {
    public let settings: Settings
    public let logger: Logger

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// The mail for `outcome` (nil for `.notRun`).
    public static func compose(_ outcome: RestoreOutcome, host: String = WallClock.hostname()) -> RunReport? {
        switch outcome {
        case .notRun:
            return nil
        case .couldNotStart(let reason, let runId, let exit):
            return RunReport(subject: "dvbackup restore on \(host): not started", text: "The restore did not start: \(reason)\n",
                             runId: runId, exitStatus: exit)
        case .finished(let s):
            let what = s.dryRun ? "dry run, \(s.wouldRestore) would be restored" + (s.failed > 0 ? ", \(s.failed) cannot be" : "")
                : "\(s.restored) restored, \(s.failed) failed" + (s.intact > 0 ? ", \(s.intact) intact" : "")
            var csv: [UInt8]? = nil
            if !s.failures.isEmpty {
                var text = RestoreManifest.line(["datafile_id", "dataset", "storage_name", "reason"])
                for f in s.failures { text += RestoreManifest.line([String(f.datafileId), f.dataset, f.storageName, f.detail]) }
                csv = Array(text.utf8)
            }
            return RunReport(subject: "dvbackup restore on \(host): \(s.failed > 0 ? "FAILURES: " : "")\(what)",
                             text: s.text + "\n", csv: csv, runId: s.runId, exitStatus: s.exitStatus)
        }
    }

    /// Prints the summary (not for a restore that did not start: the log said why), then
    /// stores and mails the report (not for a dry run).
    public func report(_ outcome: RestoreOutcome, output: OutputWriter) {
        if case .finished(let s) = outcome {
            output.line()
            output.line(s.text)
            output.flush()
            if s.dryRun { return }
        }
        guard let report = Self.compose(outcome) else { return }
        ReportDelivery.deliver(report, settings: settings, logger: logger, what: "restore")
    }
}
