import ArgumentParser
import DVBackup
import Foundation

extension RestoreRequest.Names: ExpressibleByArgument {}

extension DVBackupCommand {
    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore files from the backup, each proven against its checksum before it is written.",
            discussion: """
                Choose the files with --datafile (repeatable), --dataset or --damaged-primaries, and where \
                they go with --to DIR or --into-store. Exit codes: 0 every file restored; 1 some failed; \
                2 bad usage; 3 could not start.
                """)

        @OptionGroup var options: CommonOptions

        @Option(name: .customLong("datafile"), help: ArgumentHelp("Restore this datafile (its id; repeatable).", valueName: "id"))
        var datafiles: [Int64] = []

        @Option(name: .long, help: ArgumentHelp("Restore every file of this dataset (doi:10.5072/FK2/ABCDEF).", valueName: "pid"))
        var dataset: String?

        @Flag(name: .customLong("damaged-primaries"), help: "Restore the files whose primary is known damaged or missing and whose copy was proven.")
        var damagedPrimaries = false

        @Option(name: .customLong("to"), help: ArgumentHelp("Write the files under this directory (it must exist).", valueName: "dir"))
        var to: String?

        @Flag(name: .customLong("into-store"), help: "Write the files back into the primary stores, only where the primary is missing or fails its checksum.")
        var intoStore = false

        @Option(name: .long, help: ArgumentHelp("With --to: name files by their storage names (the default) or by their labels in the latest version.", valueName: "storage|labels"))
        var names: RestoreRequest.Names = .storage

        @Flag(name: .customLong("dry-run"), help: "List what would be restored; write nothing.")
        var dryRun = false

        func validate() throws {
            let selections = (datafiles.isEmpty ? 0 : 1) + (dataset == nil ? 0 : 1) + (damagedPrimaries ? 1 : 0)
            guard selections == 1 else {
                throw ValidationError("choose the files with exactly one of --datafile, --dataset or --damaged-primaries")
            }
            guard (to == nil) != !intoStore else { throw ValidationError("choose exactly one destination: --to DIR or --into-store") }
            if let dataset, DatasetPID(parsing: dataset) == nil {
                throw ValidationError("--dataset '\(dataset)' is not a dataset PID (doi:10.5072/FK2/ABCDEF)")
            }
            if intoStore && names != .storage { throw ValidationError("--names applies to --to only") }
            if let bad = datafiles.first(where: { $0 <= 0 }) { throw ValidationError("--datafile \(bad) is not a datafile id") }
        }

        func run() throws {
            let (settings, logger) = try options.loadSettings(readsStores: intoStore)
            let selection: RestoreRequest.Selection =
                damagedPrimaries ? .damagedPrimaries : dataset.map { .dataset(DatasetPID(parsing: $0)!) } ?? .datafiles(datafiles)
            let destination: RestoreRequest.Destination = to.map { .directory(Self.absolute($0), names: names) } ?? .intoStore
            BackupJob.installSignalHandlers()
            let out = OutputWriter()
            let job = RestoreJob(settings: settings, request: RestoreRequest(selection: selection, destination: destination, dryRun: dryRun),
                                 logger: logger, output: out)
            let status = job.run()
            out.flush()
            RestoreReport(settings: settings, logger: logger).report(job.outcome, output: out)
            throw ExitCode(status.rawValue)
        }

        /// `dir` made absolute against the working directory, without a trailing `/`.
        static func absolute(_ dir: String) -> String {
            var d = dir.hasPrefix("/") ? dir : FileManager.default.currentDirectoryPath + "/" + dir
            while d.count > 1 && d.hasSuffix("/") { d.removeLast() }
            return d
        }
    }
}
