import Foundation
import Logging

/// After a run: prints its summary, then stores its morning report with the run and mails
/// it. Made from the job's ``RunOutcome`` and the backup database; a database that cannot be
/// read is logged with the reason and the report goes out with what is known. Nothing here
/// changes a file's status or the run's exit code.
public struct RunReporter {
    public let settings: Settings
    public let logger: Logger

    public init(settings: Settings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// Reports `outcome` (nothing for `.notRun`): the summary on `output`, the report stored
    /// and mailed.
    public func report(_ outcome: RunOutcome, exit: ExitStatus, output: OutputWriter) {
        let label = settings.database.backupLabel
        let db: PostgresConnection?
        let unreadable: PostgresError?
        do {
            db = try settings.database.connectBackup()
            unreadable = nil
        } catch {
            logger.error("cannot read \(label) for the report (it goes out with what is known): \(error)")
            db = nil
            unreadable = error
        }
        let status = db.map(StatusStore.init(connection:))
        // The run's failed files, most serious first, in pages; `nil` when they cannot be read.
        let failures = { (runId: Int64) -> ((([FailedFile]) throws -> Void) throws -> Void)? in
            status.map { s in { body in try s.failures(ofRun: runId, body) } }
        }
        var composer = ReportComposer(settings)
        let mail = MorningReport(settings: settings, logger: logger)
        var report: RunReport
        // The most serious lines first, on the terminal and in the mail: the run's files with
        // no proven copy anywhere.
        if case .finished(let summary) = outcome, let status {
            composer.noProvenCopy = try? NoProvenCopySection.load(status, runId: summary.runId, limit: composer.maxFailureLines)
            for line in composer.noProvenCopy?.lines(configPath: composer.configPath) ?? [] { output.line(line) }
        }
        switch outcome {
        case .notRun:
            return
        case .finished(let summary):
            var bytesOnly: [FailedFile] = []
            if let status {
                do { bytesOnly = try status.provenAgainstBytesOnly(ofRun: summary.runId, limit: settings.notifications.maxFailureLines + 1) } catch {
                    logger.error("cannot list the copies proven against the bytes read only: \(error)")
                }
            }
            summary.render(into: output, bytesOnly: bytesOnly) { body in
                guard let listed = failures(summary.runId) else { throw unreadable! }
                try listed(body)
            }
            output.flush()
            report = composer.finished(summary, exit: exit, bytesOnly: bytesOnly, failures: failures(summary.runId))
        case .couldNotStart(let mode, let reason, let id):
            report = composer.couldNotStart(mode: mode, reason: reason, runId: id, exit: exit)
        }
        report = mail.redacted(report)

        // Stored first: a report that cannot be mailed is still there in the morning.
        let store = db.map(ReportStore.init(connection:))
        if let store {
            save(&report, outcome, store: store, redacting: mail.secrets)
        } else {
            logger.warning("the report is not stored: \(label) cannot be reached")
        }

        let runId = report.runId
        let sent = mail.send(report, automatic: true)
        if let store, let runId {
            do { try store.recordMail(sent, runId: runId) } catch {
                logger.error("cannot record the mail's outcome in \(label): \(error)")
            }
        }
        if case .failed = sent, let runId, store != nil {
            logger.error("the report is stored with run \(runId): `dvbackup report --config \(settings.path) --run \(runId) --send` sends it again")
        }
    }

    /// Stores `report` with its run, or (a run that could not start before its row was
    /// written) in a row of its own, whose id `report.runId` then holds.
    private func save(_ report: inout RunReport, _ outcome: RunOutcome, store: ReportStore, redacting secrets: [String?]) {
        let label = settings.database.backupLabel
        do {
            guard try store.hasReportColumns() else {
                logger.warning("the report is not stored: \(label) has no report columns yet (dvbackup init-db)")
                return
            }
            if let runId = report.runId {
                try store.save(report, runId: runId)
            } else if case .couldNotStart(let mode, let reason, _) = outcome {
                report.runId = try store.saveNotStarted(report, mode: mode, reason: Redaction.redact(reason, secrets: secrets))
            }
        } catch {
            logger.error("cannot store the report in \(label): \(error)")
        }
    }
}
