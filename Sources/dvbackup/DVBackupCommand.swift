import ArgumentParser
import DVBackup
import Foundation

/// The `dvbackup` command: its subcommands are in one file each (`RunCommand.swift`, …), the
/// options they share in `CommonOptions.swift`, and the exit codes in `ExitCodes.swift`.
@main
struct DVBackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dvbackup",
        abstract: "Replicates a Dataverse installation's data files to a second storage system and proves every copy.",
        discussion: """
            Exit codes: 0 every planned file is OK; 1 the run finished with failed files; \
            2 bad usage or configuration; 3 the run could not start.
            """,
        version: "dvbackup 0.1.0",
        subcommands: [Run.self, Status.self, Report.self, InitDB.self, CheckConfig.self, Audit.self],
        defaultSubcommand: Run.self)

    /// Parses, runs, and ends the process with the exit code `exitStatus(for:)` gives: help and
    /// the version on stdout with 0, every usage error on stderr with 2.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitStatus(for: error)
            if error is ExitCode { Foundation.exit(code) }
            if code == ExitStatus.success.rawValue { self.exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(code)
        }
    }
}
