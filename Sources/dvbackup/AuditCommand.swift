import ArgumentParser
import DVBackup

extension DVBackupCommand {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prove copies again on the target (or, with --source, the primaries) against the catalog, oldest verification first; --orphans lists what the catalog no longer has.",
            discussion: """
                Each audit takes at least its share of [Audit] Cycle (plus what is overdue); --max-time \
                and --max-bytes cap it. Exit codes: 0 nothing found; 1 findings (FAIL_AUDIT_MISSING, \
                FAIL_AUDIT_CORRUPT, damaged primaries, unreadable) or interrupted; 2 bad usage; 3 the \
                audit could not start or the target could not be used (no status is changed).
                """)

        @OptionGroup var options: CommonOptions

        @Flag(name: .long, help: "List copies of files and datasets deleted in Dataverse, and dvbackup's own leftovers, with size and age (never deletes a copy; exit 0 whatever it lists).")
        var orphans = false

        @Flag(name: .customLong("clean-leftovers"), help: "With --orphans: remove dvbackup's own leftovers older than one day.")
        var cleanLeftovers = false

        @Flag(name: .long, help: "Check the primaries (file and S3 stores) against the catalog instead of the copies.")
        var source = false

        @Flag(name: .long, help: "Existence and size only (Swift: HEAD, ETag and recorded checksum): reported as present, never as verified.")
        var quick = false

        @Flag(name: .long, help: "Verify every file, not just this audit's share of the cycle.")
        var all = false

        @Option(name: .customLong("max-time"), help: ArgumentHelp("Stop taking files after this long (2h, 90m).", valueName: "duration"))
        var maxTime: String?

        @Option(name: .customLong("max-bytes"), help: ArgumentHelp("Prove at most this many bytes (500GiB, 1TB, plain bytes).", valueName: "size"))
        var maxBytes: String?

        @Option(name: .long, help: ArgumentHelp("Only this dataset's files (repeatable): its PID or authority/identifier.", valueName: "pid"))
        var dataset: [String] = []

        @Option(name: .long, help: ArgumentHelp("Only this datafile (repeatable).", valueName: "id"))
        var datafile: [Int64] = []

        func validate() throws {
            if let maxTime, DurationParser.seconds(maxTime) == nil || DurationParser.seconds(maxTime) == 0 {
                throw ValidationError("--max-time: '\(maxTime)' is not a duration (write 2h, 90m, 1h30m)")
            }
            if let maxBytes, (SizeParser.bytes(maxBytes) ?? 0) <= 0 {
                throw ValidationError("--max-bytes: '\(maxBytes)' is not a size (write 500GiB, 1TB, 1048576)")
            }
            if source && quick { throw ValidationError("--quick applies to copies, not to --source") }
            if cleanLeftovers && !orphans { throw ValidationError("--clean-leftovers goes with --orphans") }
            if orphans && (source || quick || all || maxTime != nil || maxBytes != nil || !dataset.isEmpty || !datafile.isEmpty) {
                throw ValidationError("--orphans lists the whole target: it takes no --source, --quick, --all, --max-time, --max-bytes, --dataset or --datafile")
            }
        }

        func run() throws {
            if orphans { try runOrphans() }
            let (settings, logger) = try options.loadSettings(readsStores: true)
            BackupJob.installSignalHandlers()
            var request = AuditRequest()
            request.side = source ? .sources : .copies
            request.depth = quick ? .quick : .full
            request.all = all
            request.maxBytes = maxBytes.flatMap { SizeParser.bytes($0) }
            request.maxSeconds = maxTime.flatMap { DurationParser.seconds($0) }.map(Double.init)
            request.selection = AuditSelection(datasets: dataset, datafiles: datafile)
            let auditor = Auditor(settings: settings, request: request, logger: logger)
            let status = auditor.run()
            AuditReporter(settings: settings, logger: logger).report(auditor.outcome, exit: status, output: OutputWriter())
            throw ExitCode(status.rawValue)
        }

        /// `--orphans [--clean-leftovers]`.
        func runOrphans() throws {
            let (settings, logger) = try options.loadSettings()
            BackupJob.installSignalHandlers()
            let out = OutputWriter()
            let scan = OrphanScan(settings: settings, logger: logger, output: out, cleanLeftovers: cleanLeftovers)
            let status = scan.run()
            OrphanReport(settings: settings, logger: logger).report(scan, exit: status, output: out)
            throw ExitCode(status.rawValue)
        }
    }
}
