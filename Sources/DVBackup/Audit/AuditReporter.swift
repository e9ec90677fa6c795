import Foundation
import Logging

/// After an audit: prints its summary and findings, then stores the report with the audit's
/// row and mails it through [Notifications] (``ReportDelivery``, as restores and orphan scans).
public struct AuditReporter {
    public let settings: Settings
    public let logger: Logger

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    public func report(_ outcome: AuditOutcome, exit: ExitStatus, output: OutputWriter) {
        let report: RunReport
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
        ReportDelivery.deliver(report, settings: settings, logger: logger, what: "audit")
    }
}
