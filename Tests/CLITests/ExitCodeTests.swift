import ArgumentParser
import DVBackup
import Foundation
import Logging
import Testing
@testable import dvbackup

/// Keeps what is logged.
final class CapturedLog: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.lock()
        lines.append("\(event.level): \(event.message)")
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }
}

struct DatabaseDown: Error, CustomStringConvertible {
    var description: String { "cannot connect to backup database" }
}

@Suite struct ExitCodeTests {
    @Test(arguments: [DVBackup.ExitStatus.success, .filesFailed, .usage, .cannotStart])
    func anExitCodeKeepsItsValue(status: DVBackup.ExitStatus) {
        #expect(DVBackupCommand.exitStatus(for: ExitCode(status.rawValue)) == status.rawValue)
    }

    @Test(arguments: [["--help"], ["status", "--help"], ["help", "report"], ["-h"]])
    func helpIsACommandThatPrintsAndExitsZero(arguments: [String]) throws {
        // ArgumentParser answers a request for help with its own help command, which prints
        // the help when run: `main` then exits with 0.
        let command = try DVBackupCommand.parseAsRoot(arguments)
        #expect(!(command is DVBackupCommand.Run) && !(command is DVBackupCommand.Status) && !(command is DVBackupCommand.Report))
        #expect("\(type(of: command))".contains("Help"), "\(type(of: command))")
    }

    @Test func theVersionExitsZero() throws {
        let failure = try #require(parseFailure(["--version"]))
        #expect(failure.code == 0 && failure.message == DVBackupCommand.versionText)
        #expect(failure.message.hasPrefix("dvbackup ") && !failure.message.hasPrefix("dvbackup 0.1.0"))
    }

    @Test func usageErrorsExitTwo() {
        #expect(DVBackupCommand.exitStatus(for: ValidationError("--limit: must be 0 or more")) == 2)
        #expect(parseFailure(["--no-such-flag"])?.code == 2)
        #expect(DVBackupCommand.exitStatus(for: DatabaseDown()) == 2, "an error a command did not map is bad usage")
    }

    @Test func anErrorOfTheWorkIsLoggedAndExitsThree() throws {
        let log = CapturedLog()
        let logger = Logger(label: "test") { _ in log }
        #expect(throws: ExitCode(3)) { try exiting(logger: logger) { throw DatabaseDown() } }
        #expect(log.all == ["error: cannot connect to backup database"])
        #expect(throws: ExitCode(1)) { try exiting(with: .filesFailed, logger: logger) { throw DatabaseDown() } }
    }

    @Test func anExitCodeOfTheWorkPassesUnlogged() throws {
        let log = CapturedLog()
        let logger = Logger(label: "test") { _ in log }
        #expect(throws: ExitCode(1)) { try exiting(logger: logger) { throw ExitCode(1) } }
        #expect(log.all.isEmpty)
        #expect(try exiting(logger: logger) { 42 } == 42)
    }
}
