import ArgumentParser
import DVBackup
import Foundation

extension DVBackupCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Back up the files created since the last run (the default command).")

        @OptionGroup var options: CommonOptions

        @Flag(name: .long, help: "Full reconciliation: read the whole catalog and copy every file not yet OK.")
        var rerun = false

        @Flag(name: .customLong("dry-run"), help: "Print what would be copied; change nothing.")
        var dryRun = false

        @Option(name: .customLong("metrics-file"), help: ArgumentHelp("Overrides [Backup] MetricsFile: the Prometheus text file written after the run.", valueName: "file"))
        var metricsFile: String?

        func run() throws {
            let started = Date()
            let mode: RunMode = rerun ? .rerun : .incremental
            let (settings, logger) = try options.loadSettings(reportingFor: dryRun ? nil : mode, readsStores: true)
            BackupJob.installSignalHandlers()
            let out = OutputWriter()
            let job = BackupJob(settings: settings, mode: mode, logger: logger, output: out)
            let status = dryRun ? job.dryRun() : job.run()
            // The summary, then the morning report (not for a dry run): stored and mailed; never changes the exit code.
            if !dryRun { RunReporter(settings: settings, logger: logger).report(job.outcome, exit: status, output: out) }
            // The metrics for node-exporter (not for a dry run, which changes nothing).
            if !dryRun, let path = metricsFile ?? settings.backup.metricsFile {
                MetricsFile(path: path, settings: settings, logger: logger).write(job.outcome, mode: mode, exit: status, started: started)
            }
            throw ExitCode(status.rawValue)
        }
    }
}
