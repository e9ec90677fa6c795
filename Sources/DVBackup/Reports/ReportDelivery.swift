import Logging

/// The one way the reports of restores, orphan scans and audits leave: stored with their run
/// row (where the database has the report columns), mailed through [Notifications]
/// (``MorningReport``, which logs what the mail did), the mail's outcome recorded with the
/// row. A backup run's report takes the same steps in ``RunReporter``, which also keeps the
/// report of a run that could not write its row. Nothing here changes an exit code.
enum ReportDelivery {
    /// Delivers `report` (redacted first); `what` names it in logs.
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
