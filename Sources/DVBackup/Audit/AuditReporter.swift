import Foundation
import Logging

/// After an audit: prints its summary and findings, stores the report with the audit's row
/// and mails it through [Notifications], as ``RunReporter`` does for runs.
public struct AuditReporter {
    public let settings: Settings
    public let logger: Logger

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public func report(_ outcome: AuditOutcome, exit: ExitStatus, output: OutputWriter) {
        let mail = MorningReport(settings: settings, logger: logger)
        var report: RunReport
        switch outcome {
        case .notRun, .refused:
            return
        case .finished(let s):
            report = AuditReport(settings).finished(s, exit: exit)
            // The report's text without its footer is the summary.
            for line in report.text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line == "-- " { break }
                output.line(String(line))
            }
            output.flush()
        case .couldNotStart(let side, let reason, let runId):
            report = AuditReport(settings).couldNotStart(side: side, reason: reason, runId: runId, exit: exit)
        }
        report = mail.redacted(report)
        let store = (try? settings.database.connectBackup()).map(ReportStore.init(connection:))
        if let store, let runId = report.runId {
            do { try store.save(report, runId: runId) } catch { logger.error("cannot store the audit's report: \(error)") }
        }
        let sent = mail.send(report, automatic: true)
        if let store, let runId = report.runId { try? store.recordMail(sent, runId: runId) }
    }
}
