import Foundation
import Testing

/// Runs `executable` with `arguments` in `directory`, with exactly `environment` plus PATH;
/// returns its exit code and output. No server is needed.
func runProgram(_ executable: String, _ arguments: [String], in directory: String? = nil,
                environment: [String: String] = [:]) throws -> CLIResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes while the program runs (a full pipe would stop it).
    nonisolated(unsafe) var errData = Data()
    let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return CLIResult(code: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                     stderr: String(decoding: errData, as: UTF8.self))
}

/// How `check-config` reads config.ini (issue 15 point 3, issue 16 point 6), through the
/// built binary; nothing here reaches a server (StorageType local, no S3 store).
@Suite struct ConfigCommandTests {
    private let dir = NSTemporaryDirectory() + "dvbackup-config-cmd-" + UUID().uuidString

    private func write(_ name: String, _ text: String, mode: Int = 0o600) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    private func config(database: [String]) -> String {
        (["[Database]", "Host: 127.0.0.1", "Database: dvndb"] + database + ["BackupDatabase: backupdb", "",
         "[Backup]", "StorageType: local", "BackupDirectory: /srv/backup", ""]).joined(separator: "\n")
    }

    @Test func indentedPasswordUnderUsernameIsExit2WithoutThePassword() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let secret = "Zq9-very-secret-pw"
        let path = try write("config.ini", config(database: ["Username: dvnapp", "    Password: \(secret)"]))
        let r = try runProgram(Sandbox.binary, ["check-config", "--config", path])
        #expect(r.code == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("\(path):5: [Database] Username: line 5 is indented"), "\(r.stderr)")
        #expect(!r.stdout.contains(secret) && !r.stderr.contains(secret))
        #expect(!r.stderr.contains("Password: Zq9"))
    }

    @Test func aValueCutAtACommentIsReadAsPython2DidAndWarned() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try write("config.ini", config(database: ["Username: dvnapp ; old-user-name", "Password: pw"]), mode: 0o644)
        let r = try runProgram(Sandbox.binary, ["check-config", "--config", path])
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stderr.contains("[WARNING] \(path):4: [Database] Username: the value ends at ' ;'"), "\(r.stderr)")
        #expect(!r.stdout.contains("old-user-name") && !r.stderr.contains("old-user-name"))
        #expect(r.stdout.contains("dvnapp"))
        // The password is in a file every user can read.
        #expect(r.stderr.contains("[WARNING] \(path) holds a secret ([Database] Password, line 5)"), "\(r.stderr)")
        #expect(r.stderr.contains("(mode 0644)"))
    }

    @Test func configDefaultsToTheEnvironmentThenTheCurrentDirectoryThenEtc() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let work = dir + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let fromEnv = try write("env.ini", config(database: ["Username: from-env-user"]))
        let r1 = try runProgram(Sandbox.binary, ["check-config"], in: work, environment: ["DVBACKUP_CONFIG": fromEnv])
        #expect(r1.code == 0, "\(r1.stderr)")
        #expect(r1.stdout.contains("from-env-user"))

        let r2 = try runProgram(Sandbox.binary, ["check-config"], in: work)
        #expect(r2.code == 2)
        #expect(r2.stderr.contains("/etc/dvbackup/config.ini: cannot read the configuration file")
                || FileManager.default.fileExists(atPath: "/etc/dvbackup/config.ini"), "\(r2.stderr)")

        try config(database: ["Username: from-cwd-user"]).write(toFile: work + "/config.ini", atomically: true, encoding: .utf8)
        let r3 = try runProgram(Sandbox.binary, ["check-config"], in: work)
        #expect(r3.code == 0, "\(r3.stderr)")
        #expect(r3.stdout.contains("from-cwd-user"))
    }
}
