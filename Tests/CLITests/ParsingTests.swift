import ArgumentParser
import DVBackup
import Logging
import Testing
@testable import dvbackup

/// Parses `arguments` as the command line would, expecting a `T`.
func parse<T: ParsableCommand>(_ arguments: [String], as: T.Type) throws -> T {
    let command = try DVBackupCommand.parseAsRoot(arguments)
    return try #require(command as? T, "\(arguments) parsed as \(type(of: command))")
}

/// The exit code and the message for stderr that `arguments` end with, when they do not parse.
func parseFailure(_ arguments: [String]) -> (code: Int32, message: String)? {
    do {
        _ = try DVBackupCommand.parseAsRoot(arguments)
        return nil
    } catch {
        return (DVBackupCommand.exitStatus(for: error), DVBackupCommand.fullMessage(for: error))
    }
}

@Suite struct ParsingTests {
    @Test func noArgumentsIsAnIncrementalRunWithTheDefaultConfig() throws {
        let run = try parse([], as: DVBackupCommand.Run.self)
        #expect(!run.rerun && !run.dryRun)
        // $DVBACKUP_CONFIG, ./config.ini, /etc/dvbackup/config.ini (ConfigLocationTests pin the order).
        #expect(run.options.config == ConfigLocation.defaultPath())
        #expect(run.options.config.hasSuffix("config.ini"))
        #expect(run.options.logLevel == nil)
    }

    @Test func runTakesItsFlagsAndTheSharedOptions() throws {
        let run = try parse(["run", "--rerun", "--dry-run", "--config", "/etc/b.ini", "--log-level", "DEBUG"],
                            as: DVBackupCommand.Run.self)
        #expect(run.rerun && run.dryRun)
        #expect(run.options.config == "/etc/b.ini")
        #expect(run.options.logLevel?.level == .debug)
        // Without the subcommand's name, the options go to run, the default command.
        let implicit = try parse(["--dry-run", "--config", "c.ini"], as: DVBackupCommand.Run.self)
        #expect(implicit.dryRun && implicit.options.config == "c.ini")
    }

    @Test(arguments: [("debug", Logger.Level.debug), ("warn", .warning), ("Warning", .warning), (" error ", .error),
                      ("trace", .trace), ("notice", .notice), ("critical", .critical), ("INFO", .info)])
    func logLevelsAreReadAsTheConfigurationReadsThem(text: String, level: Logger.Level) throws {
        let run = try parse(["run", "--log-level", text], as: DVBackupCommand.Run.self)
        #expect(run.options.logLevel?.level == level)
        #expect(LogLevelName.parse(text) == level, "the same word in [Backup] LogLevel")
    }

    @Test func anUnknownLogLevelIsBadUsageThatListsTheLevels() throws {
        let failure = try #require(parseFailure(["status", "--log-level", "loud"]))
        #expect(failure.code == 2)
        #expect(failure.message.contains("'loud'") && failure.message.contains("--log-level"), "\(failure.message)")
        for level in ["debug", "info", "warning", "error"] { #expect(failure.message.contains(level), "\(failure.message)") }
    }

    @Test func statusTakesEveryFilter() throws {
        let status = try parse(["status", "--status", "ok", "--status", "OK_NO_CHECKSUM,fail_read", "--since", "7d",
                                "--dataset", "doi:10.5072/FK2/ABC", "--limit", "5", "--runs", "2", "--json", "--all"],
                               as: DVBackupCommand.Status.self)
        #expect(try StatusArgument.statuses(status.status).get() == [.ok, .okNoChecksum, .failRead])
        #expect(status.since == "7d" && status.dataset == "doi:10.5072/FK2/ABC")
        #expect(status.limit == 5 && status.runs == 2 && status.json && status.all)
        let plain = try parse(["status"], as: DVBackupCommand.Status.self)
        #expect(plain.status.isEmpty && plain.limit == 100 && plain.runs == 10 && !plain.json && !plain.all)
    }

    @Test(arguments: [
        (["status", "--status", "OK,FAIL_TYPO"], "--status: 'FAIL_TYPO' is not a status (use OK, OK_NO_CHECKSUM"),
        (["status", "--since", "yesterday"], "--since: 'yesterday' is not a date"),
        (["status", "--dataset", "  "], "--dataset: is empty"),
        (["status", "--limit=-1"], "--limit: must be 0 or more"),
        (["status", "--runs=-1"], "--runs: must be 0 or more"),
        (["status", "--limit", "many"], "'many'"),
        (["report", "--run", "x"], "'x'"),
        (["report", "--run"], "--run"),
        (["run", "--no-such-flag"], "--no-such-flag"),
        (["init-db", "--rerun"], "--rerun"),
        (["check-config", "--csv"], "--csv"),
        (["status", "--send"], "--send"),
        (["restore"], "restore"),
    ])
    func badArgumentsAreBadUsageNamingTheArgument(arguments: [String], expected: String) throws {
        let failure = try #require(parseFailure(arguments), "\(arguments) parsed")
        #expect(failure.code == 2, "\(arguments)")
        #expect(failure.message.contains(expected), "\(arguments): \(failure.message)")
    }

    @Test func reportTakesARunAndItsFlags() throws {
        let report = try parse(["report", "--run", "12", "--send", "--config", "c.ini"], as: DVBackupCommand.Report.self)
        #expect(report.runId == 12 && report.send && !report.csv && report.options.config == "c.ini")
        let latest = try parse(["report", "--csv"], as: DVBackupCommand.Report.self)
        #expect(latest.runId == nil && latest.csv && !latest.send)
    }

    @Test func initDBAndCheckConfigTakeTheSharedOptions() throws {
        let initDB = try parse(["init-db", "--config", "a.ini", "--log-level", "error"], as: DVBackupCommand.InitDB.self)
        #expect(initDB.options.config == "a.ini" && initDB.options.logLevel == .error)
        let check = try parse(["check-config", "--config", "b.ini"], as: DVBackupCommand.CheckConfig.self)
        #expect(check.options.config == "b.ini" && check.options.logLevel == nil)
    }
}
