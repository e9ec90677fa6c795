import ArgumentParser
import DVBackup

extension DVBackupCommand {
    /// The orphans part of `dvbackup audit` (the coordinator merges it with the audit of
    /// copies and primaries).
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Audit the backup: --orphans lists what the catalog no longer has and dvbackup's own leftovers.")

        @OptionGroup var options: CommonOptions

        @Flag(name: .long, help: "List copies of files and datasets deleted in Dataverse, and dvbackup's own leftovers, with size and age (never deletes a copy).")
        var orphans = false

        @Flag(name: .customLong("clean-leftovers"), help: "With --orphans: remove dvbackup's own leftovers older than one day.")
        var cleanLeftovers = false

        func validate() throws {
            guard orphans else { throw ValidationError("this build audits --orphans only") }
        }

        func run() throws {
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
