import ArgumentParser
import DVBackup
import Logging
import Foundation

extension DVBackupCommand {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the morning report stored with a run (default: the latest); --send mails it again.",
            discussion: """
                Exit codes: 0 printed (and with --send, mailed); 1 the run has no stored report, or \
                the mail could not be sent; 2 bad usage or configuration, or no such run; 3 the \
                backup database cannot be read.
                """)

        @OptionGroup var options: CommonOptions

        @Option(name: .customLong("run"), help: ArgumentHelp("The run's id (as `dvbackup status` lists them).", valueName: "id"))
        var runId: Int64?

        @Flag(name: .long, help: "Mail the report again to [Notifications] Email (whatever MailOn says) and record the outcome.")
        var send = false

        @Flag(name: .long, help: "Print the stored CSV of all failed files (kept when the report's list was cut) instead.")
        var csv = false

        func run() throws {
            let (settings, logger) = try options.loadSettings()
            let out = OutputWriter()
            let (store, stored) = try exiting(logger: logger) {
                let db = try settings.database.connectBackup()
                let store = ReportStore(connection: db)
                guard try Migrations.hasOriginalTable(db), store.isAvailable() else {
                    logger.error("\(settings.database.backupLabel) has no stored reports yet: run dvbackup init-db (or a run, which upgrades it)")
                    throw ExitCode(ExitStatus.cannotStart.rawValue)
                }
                guard let s = try store.load(runId: runId) else {
                    if let runId {
                        logger.error("there is no run \(runId) in \(settings.database.backupLabel) (`dvbackup status` lists the last runs)")
                        throw ExitCode(ExitStatus.usage.rawValue)
                    }
                    logger.error("there is no run in \(settings.database.backupLabel) yet")
                    throw ExitCode(ExitStatus.filesFailed.rawValue)
                }
                return (store, s)
            }
            guard let report = stored.report else {
                let why = stored.state == "running" ? "it is still running" : "it was made before dvbackup stored reports"
                logger.error("run \(stored.runId) has no stored report (\(why))")
                throw ExitCode(ExitStatus.filesFailed.rawValue)
            }
            if csv {
                guard let text = stored.csv else {
                    logger.error("run \(stored.runId) has no stored CSV: its report lists every failed file itself")
                    throw ExitCode(ExitStatus.filesFailed.rawValue)
                }
                FileHandle.standardOutput.write(Data(text.utf8))
                return
            }
            if send {
                let outcome = MorningReport(settings: settings, logger: logger).send(report, automatic: false)
                do { try store.recordMail(outcome, runId: stored.runId) } catch {
                    logger.error("cannot record the mail's outcome: \(error)")
                }
                switch outcome {
                case .sent(let to, _):
                    out.line("run \(stored.runId): report mailed to \(to.joined(separator: ", "))")
                    out.flush()
                    return
                case .failed, .notSent:
                    out.flush()
                    throw ExitCode(ExitStatus.filesFailed.rawValue)
                }
            }
            let exit = stored.exitCode.map { " exit code \($0)," } ?? ""
            out.line("run \(stored.runId) (\(stored.mode), \(stored.state)),\(exit) started \(stored.started)\(stored.finished.map { ", ended \($0)" } ?? "")")
            out.line("mail: \(stored.mailDescription)")
            out.line("Subject: \(report.subject)")
            out.line()
            for line in report.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() { out.line(String(line)) }
            if stored.csv != nil {
                out.line("(all failed files, as attached to the mail: dvbackup report --config \(settings.path) --run \(stored.runId) --csv)")
            }
            out.flush()
        }
    }
}
