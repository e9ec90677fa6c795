import Foundation
import Logging

/// After a restore: prints its summary, stores the report with its run row and mails it
/// through [Notifications] as runs do (``deliver(_:settings:logger:what:)``, which the orphan
/// scan's report goes through too). Nothing here changes the exit code.
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
        Self.deliver(report, settings: settings, logger: logger, what: "restore")
    }

    /// Stores `report` with its run row (where the database has the report columns) and
    /// mails it through [Notifications], recording the mail's outcome: what a backup run's
    /// report goes through, for the restore's and the orphan scan's. `what` names it in logs.
    static func deliver(_ report: RunReport, settings: Settings, logger: Logger, what: String) {
        let mail = MorningReport(settings: settings, logger: logger)
        let report = mail.redacted(report)
        var store: ReportStore? = nil
        if let runId = report.runId, let db = try? settings.database.connectBackup() {
            let s = ReportStore(connection: db)
            do {
                if try s.hasReportColumns() {
                    try s.save(report, runId: runId)
                    store = s
                }
            } catch {
                logger.error("cannot store the \(what)'s report: \(error)")
            }
        }
        let sent = mail.send(report, automatic: true)
        if let store, let runId = report.runId {
            do { try store.recordMail(sent, runId: runId) } catch { logger.error("cannot record the mail's outcome: \(error)") }
        }
    }
}
