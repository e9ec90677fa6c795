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

                --check is a monitoring plugin (Nagios, Icinga): one line with performance data after \
                `|`, and exit code 0 OK (the last run finished within --max-age, no failed file), \
                1 WARNING (it did, with failed files), 2 CRITICAL (no run finished within --max-age, \
                the last run could not start, a proven copy is now missing or corrupt, a damaged \
                primary has no proven copy), 3 UNKNOWN (the configuration or the backup database \
                cannot be read).
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

        @Flag(name: .long, help: "Check as a monitoring plugin (Nagios, Icinga): one line, exit code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")
        var check = false

        @Option(name: .customLong("max-age"), help: ArgumentHelp("With --check: how recently a run must have finished (24h, 36h, 2d).", valueName: "duration"))
        var maxAge: String?

        func validate() throws {
            if maxAge != nil && !check { throw ValidationError("--max-age: only with --check") }
            if case .failure(let e) = StatusArgument.statuses(status) { throw ValidationError("--status: \(e)") }
            if let since, SinceDate.parse(since) == nil {
                throw ValidationError("--since: '\(since)' is not a date (write 2025-06-01, '2025-06-01 14:30', 2025-06-01T14:30:00Z, or a duration like 24h or 7d)")
            }
            if let dataset, dataset.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--dataset: is empty") }
            if limit < 0 { throw ValidationError("--limit: must be 0 or more") }
            if runs < 0 { throw ValidationError("--runs: must be 0 or more") }
        }

        func run() throws {
            if check { try runCheck() }
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
                    try report.render(into: out, store: store, limit: all ? nil : limit,
                                      configPath: ReportComposer.absolute(settings.path))
                }
                out.flush()
            }
        }
    }
}

extension DVBackupCommand.Status {
    /// `--check`: prints one line and ends with the monitoring-plugin code. A configuration or
    /// database that cannot be read is UNKNOWN (3), never the CLI's usual 2 or 3 with a log line.
    func runCheck() throws -> Never {
        let result: MonitorCheck.Result
        if let text = maxAge, DurationParser.seconds(text) == nil || DurationParser.seconds(text) == 0 {
            result = MonitorCheck.unknown("--max-age: '\(text)' is not a duration (write it like 36h, 90m or 2d)")
        } else {
            let check = MonitorCheck(maxAgeSeconds: maxAge.flatMap { DurationParser.seconds($0) } ?? 36 * 3600)
            do {
                let settings = try Settings.load(path: options.config)
                do {
                    let facts = try StatusStore(connection: try settings.database.connectBackup()).monitorFacts()
                    result = check.evaluate(facts)
                } catch {
                    result = MonitorCheck.unknown("cannot read \(settings.database.backupLabel): \(error)")
                }
            } catch {
                result = MonitorCheck.unknown("configuration error: \(error)")
            }
        }
        print(result.line)
        throw ExitCode(result.state.rawValue)
    }
}
