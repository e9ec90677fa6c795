import ArgumentParser
import DVBackup
import Logging
import Foundation

extension DVBackupCommand {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what the backup database says: totals by status, the last runs, the failed files.",
            discussion: """
                --dataset lists every file of one dataset the backup database knows, the ones not \
                safely replicated first; --status lists the files of those statuses; --since keeps \
                files attempted (and runs started) since then. The totals are for the whole database.
                """)

        @OptionGroup var options: CommonOptions

        @Flag(name: .long, help: "Print one JSON object (keys: audit, counts, dataset, failures, failuresNotListed, files, filesNotListed, filter, runs, total).")
        var json = false

        @Option(name: .long, help: ArgumentHelp("Only this dataset's files: its PID (doi:10.5072/FK2/ABC) or authority/identifier.", valueName: "pid"))
        var dataset: String?

        @Option(name: .long, parsing: .singleValue,
                help: ArgumentHelp("Only files with this status (repeat it, or give a comma-separated list).", valueName: "status"))
        var status: [StatusArgument] = []

        @Option(name: .long, help: ArgumentHelp("Only files attempted and runs started since then: 2025-06-01, '2025-06-01 14:30', 2025-06-01T14:30:00+02:00, or 24h, 7d (ago).", valueName: "date"))
        var since: String?

        @Option(name: .long, help: "How many files to list.")
        var limit: Int = 100

        @Flag(name: .long, help: "List every matching file (streamed; ignores --limit).")
        var all = false

        @Option(name: .long, help: "How many of the last runs to show.")
        var runs: Int = 10

        func validate() throws {
            if case .failure(let e) = StatusArgument.statuses(status) { throw ValidationError("--status: \(e)") }
            if let since, SinceDate.parse(since) == nil {
                throw ValidationError("--since: '\(since)' is not a date (write 2025-06-01, '2025-06-01 14:30', 2025-06-01T14:30:00Z, or a duration like 24h or 7d)")
            }
            if let dataset, dataset.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--dataset: is empty") }
            if limit < 0 { throw ValidationError("--limit: must be 0 or more") }
            if runs < 0 { throw ValidationError("--runs: must be 0 or more") }
        }

        func run() throws {
            let (settings, logger) = try options.loadSettings()
            let out = OutputWriter()
            var filter = StatusFilter()
            if case .success(let s) = StatusArgument.statuses(status) { filter.statuses = s }
            filter.since = since.flatMap { SinceDate.parse($0) }
            filter.dataset = dataset?.trimmingCharacters(in: .whitespaces)
            try exiting(logger: logger, flushing: out) {
                let db = try settings.database.connectBackup()
                guard try Migrations.hasOriginalTable(db) else {
                    logger.error("\(settings.database.backupLabel) has no datafilestatus table yet: run dvbackup init-db (or a first run)")
                    throw ExitCode(ExitStatus.cannotStart.rawValue)
                }
                let pending = Migrations.all.count - (try Migrations.applied(db)).count
                if pending > 0 {
                    logger.error("\(settings.database.backupLabel) needs \(pending) schema upgrade(s): run dvbackup init-db (or a run, which applies them)")
                    throw ExitCode(ExitStatus.cannotStart.rawValue)
                }
                let store = StatusStore(connection: db)
                let report = try StatusReport.load(store, runs: runs, filter: filter, auditCycleSeconds: settings.audit.cycleSeconds)
                if json {
                    try report.writeJSON(into: out, store: store, limit: all ? nil : limit)
                } else {
                    try report.render(into: out, store: store, limit: all ? nil : limit)
                }
                out.flush()
            }
        }
    }
}
