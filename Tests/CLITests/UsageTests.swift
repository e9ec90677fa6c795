import Foundation
import Testing

/// The built dvbackup in a temp dir: what the command prints and returns.
final class Command {
    let root: String

    static var binary: String {
        if let b = ProcessInfo.processInfo.environment["DVBACKUP_BIN"] { return b }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("dvbackup").path
    }

    init() throws {
        var template = Array("/tmp/dvbackup-cli-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        root = String(cString: p)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// A configuration file that loads (no server is ever reached through it by these tests).
    func writeConfig() throws -> String {
        let path = root + "/config.ini"
        try """
            [Database]
            Host: 127.0.0.1
            Port: 1
            Database: dvndb
            Username: u
            Password: pw
            BackupDatabase: backupdb
            [Backup]
            StorageType: local
            BackupDirectory = \(root)/backup

            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func run(_ arguments: [String]) throws -> (code: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        let outPath = root + "/.stdout", errPath = root + "/.stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus,
                (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}

/// Usage and configuration errors, as the built command shows them: none needs a server.
@Suite struct UsageTests {
    @Test func badConfigurationExitsTwoAndNamesFileLineAndKey() throws {
        let s = try Command()
        func check(_ lines: String, _ expected: [String]) throws {
            let path = s.root + "/bad.ini"
            try lines.write(toFile: path, atomically: true, encoding: .utf8)
            for command in [["run"], ["check-config"], ["run", "--dry-run"], ["status"], ["init-db"]] {
                let r = try s.run(command + ["--config", path])
                #expect(r.code == 2, "\(command) with \(lines): \(r.stderr)")
                for e in expected { #expect(r.stderr.contains(e), "stderr names '\(e)': \(r.stderr)") }
            }
        }
        let db = "[Database]\nHost: h\nDatabase: d\nUsername: u\nPassword: secret-pw-123\nBackupDatabase: b\n"
        try check(db + "[Backup]\nStorageType: local\n", ["bad.ini:7", "[Backup] BackupDirectory", "missing"])
        try check(db + "[Backup]\nStorageType: tape\nBackupDirectory: /x\n", ["bad.ini:8", "StorageType", "tape"])
        try check(db + "[Backup]\nStorageType: local\nBackupDirectory: /x\nIncrementalOverlap: 24x\n",
                  ["bad.ini:10", "IncrementalOverlap", "24x"])
        try check(db, ["bad.ini", "[Backup]", "the section is missing"])
        try check(db.replacingOccurrences(of: "BackupDatabase: b\n", with: "") + "[Backup]\nStorageType: local\nBackupDirectory: /x\n",
                  ["bad.ini:1", "[Database] BackupDatabase"])
        try check("Host: h\n", ["bad.ini:1", "before any [Section]"])
        try check(db + "[Backup]\nStorageType: local\nBackupDirectory: /x\n[Stores]\ndataverse.files.file2.type = file\n",
                  ["bad.ini:11", "dataverse.files.file2.directory"])
        let missing = try s.run(["run", "--config", s.root + "/nope.ini"])
        #expect(missing.code == 2)
        #expect(missing.stderr.contains("nope.ini") && missing.stderr.contains("cannot read"))
        let usage = try s.run(["run", "--no-such-flag"])
        #expect(usage.code == 2)
        let level = try s.run(["run", "--config", try s.writeConfig(), "--log-level", "loud"])
        #expect(level.code == 2)
    }

    @Test func usageErrorsGoToStderrWithCodeTwo() throws {
        let s = try Command()
        let config = try s.writeConfig()
        let level = try s.run(["status", "--config", config, "--log-level", "loud"])
        #expect(level.code == 2 && level.stdout.isEmpty)
        #expect(level.stderr.contains("'loud'") && level.stderr.contains("warning"), "\(level.stderr)")
        let status = try s.run(["status", "--config", config, "--status", "OK,FAIL_TYPO"])
        #expect(status.code == 2 && status.stderr.contains("--status: 'FAIL_TYPO' is not a status"), "\(status.stderr)")
        let unknown = try s.run(["restore", "--config", config])
        #expect(unknown.code == 2 && unknown.stderr.contains("restore"), "\(unknown.stderr)")
    }

    @Test func helpAndVersionGoToStdoutWithCodeZero() throws {
        let s = try Command()
        let help = try s.run(["--help"])
        #expect(help.code == 0 && help.stderr.isEmpty)
        #expect(help.stdout.contains("USAGE: dvbackup") && help.stdout.contains("check-config"), "\(help.stdout)")
        let status = try s.run(["status", "--help"])
        #expect(status.code == 0 && status.stdout.contains("--status <status>"), "\(status.stdout)")
        let version = try s.run(["--version"])
        #expect(version.code == 0 && version.stderr.isEmpty)
        // The version git describes for this checkout (built by the VersionPlugin), then the
        // C libraries it runs with, each as the library reports itself.
        let lines = version.stdout.split(separator: "\n").map(String.init)
        // (-dirty aside: the tree may have changed between the build and this test.)
        let describe = try gitDescribe().replacingOccurrences(of: "-dirty", with: "")
        #expect(lines.first?.replacingOccurrences(of: "-dirty", with: "") == "dvbackup " + describe, "\(version.stdout)")
        #expect(lines.contains { $0.range(of: #"^libpq \d+\.\d+"#, options: .regularExpression) != nil }, "\(lines)")
        #expect(lines.contains { $0.range(of: #"^libcurl \d+\.\d+\.\d+ \(OpenSSL/"#, options: .regularExpression) != nil }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("OpenSSL: OpenSSL 3.") }, "\(lines)")
        #expect(lines.contains { $0.range(of: #"^libssh2 1\.\d+\.\d+ \(linked statically: rebuild dvbackup after a libssh2 security update\)$"#, options: .regularExpression) != nil }, "\(lines)")
    }

    /// `git describe --tags --always --dirty` of the repository, as scripts/version.sh runs it.
    func gitDescribe() throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        p.arguments = ["-C", root, "describe", "--tags", "--always", "--dirty"]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
