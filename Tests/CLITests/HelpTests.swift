import ArgumentParser
import Testing
@testable import dvbackup

@Suite struct HelpTests {
    static let commands: [(any ParsableCommand.Type, [String])] = [
        (DVBackupCommand.Run.self, ["--rerun", "--dry-run"]),
        (DVBackupCommand.Status.self, ["--json", "--dataset <pid>", "--status <status>", "--since <date>", "--limit <limit>",
                                       "--all", "--runs <runs>"]),
        (DVBackupCommand.Report.self, ["--run <id>", "--send", "--csv", "Exit codes:"]),
        (DVBackupCommand.InitDB.self, []),
        (DVBackupCommand.CheckConfig.self, []),
    ]

    @Test(arguments: commands.indices)
    func eachCommandsHelpNamesItsOptionsAndTheSharedOnes(index: Int) {
        let (command, options) = Self.commands[index]
        let help = DVBackupCommand.helpMessage(for: command, columns: 200)
        let name = command._commandName
        #expect(help.contains("USAGE: dvbackup \(name)"), "\(help)")
        if let abstract = command.configuration.abstract.split(separator: "(").first {
            #expect(help.contains(abstract), "\(name): \(help)")
        }
        for option in options + ["--config <file>", "--log-level <level>", "--help"] {
            #expect(help.contains(option), "\(name)'s help names \(option): \(help)")
        }
    }

    @Test func theValuesOfEnumeratedOptionsAreListed() {
        let help = DVBackupCommand.helpMessage(for: DVBackupCommand.Status.self, columns: 400)
        #expect(help.contains("(values: trace, debug, info, notice, warning, error, critical)"), "\(help)")
        #expect(help.contains("(values: OK, OK_NO_CHECKSUM, FAIL_SOURCE_CHECKSUM, FAIL_AUDIT_CORRUPT, FAIL_AUDIT_MISSING, FAIL_VERIFY, FAIL_WRITE, FAIL_READ)"), "\(help)")
    }

    @Test func theRootHelpListsTheCommandsAndExitCodes() {
        let help = DVBackupCommand.helpMessage(columns: 200)
        for name in ["run (default)", "status", "report", "init-db", "check-config", "audit"] {
            #expect(help.contains(name), "\(help)")
        }
        #expect(help.contains("Exit codes: 0 every planned file is OK; 1 the run finished with failed files; 2 bad usage or configuration; 3 the run could not start."))
    }
}
