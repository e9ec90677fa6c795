import DVBackup
import Foundation
import Testing

/// A large copy restored alone over SFTP is read through several connections ("lanes") and
/// delivered in order: the bytes arrive whole, and a copy damaged, truncated or cut off
/// while it streams is never written.
@Suite(.enabled(if: TestSSH.enabled), .serialized)
struct RestoreLanesTests {
    /// A file large enough for lanes (72 MiB), different for each `seed`.
    static func largeFile(_ s: Sandbox, _ dataset: Int64, seed: Int) throws -> TestFile {
        let size = 72 << 20
        var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: seed), count: size)
        for i in stride(from: 0, to: size, by: 509) { bytes[i] = UInt8(truncatingIfNeeded: i >> 9 &+ seed) }
        return try s.addFile(dataset: dataset, bytes: bytes, checksumType: .sha256)
    }

    /// How many connections the debug log says read `file`; nil where it names none.
    static func connections(_ log: String, _ file: TestFile) -> Int? {
        guard let r = log.range(of: "\(file.relativePath) read through ") else { return nil }
        return Int(log[r.upperBound...].prefix { $0.isNumber })
    }

    /// The regular files under `dir`, the restore's manifest aside.
    static func files(under dir: String) -> [String] {
        let e = FileManager.default.enumerator(atPath: dir)
        var found: [String] = []
        while let p = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + p, isDirectory: &isDir), !isDir.boolValue,
               p != "dvbackup-restore-manifest.csv" { found.append(p) }
        }
        return found
    }

    /// A restore running in the background, its output and log in files of the sandbox.
    struct Background {
        let process: Process
        let stdout: String
        let log: String
        var output: String { (try? String(contentsOfFile: stdout, encoding: .utf8)) ?? "" }
        var errors: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    }

    /// Starts `dvbackup restore --log-level debug ARGUMENTS --to OUT` in the background and
    /// returns once the temporary of `file` holds 4 MiB (or the restore ended, or 120 s went
    /// by), with what the temporary held then.
    static func restoreInFlight(_ s: Sandbox, _ arguments: [String], out: String, config: String, name: String,
                                file: TestFile) throws -> (Background, written: Int) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Sandbox.binary)
        p.arguments = ["restore", "--log-level", "debug"] + arguments + ["--to", out, "--config", config]
        let run = Background(process: p, stdout: s.root + "/\(name).out", log: s.root + "/\(name).log")
        for f in [run.log, run.stdout] { _ = FileManager.default.createFile(atPath: f, contents: nil) }
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: run.stdout))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: run.log))
        try p.run()
        let temporary = out + "/" + (file.relativePath as NSString).deletingLastPathComponent + "/." + file.name
            + ".dvbackup-restore-\(p.processIdentifier)"
        func written() -> Int { ((try? FileManager.default.attributesOfItem(atPath: temporary))?[.size] as? Int) ?? 0 }
        let deadline = Date().addingTimeInterval(120)
        while written() < 4 << 20, Date() < deadline, p.isRunning { usleep(2_000) }
        return (run, written())
    }

    @Test func aLargeCopyIsReadThroughSeveralConnectionsInOrder() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 1341)
        let remote = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        let config = try s.writeSSHConfig(backupDirectory: remote.remote)
        let ds = try s.addDataset()
        let big = try Self.largeFile(s, ds, seed: 1)
        #expect(try s.dvbackup("run", config: config).code == 0)
        let out = try s.makeDirectory("out")
        let r = try s.dvbackup("restore", "--log-level", "debug", "--datafile", String(big.id), "--to", out, config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect((Self.connections(r.stderr, big) ?? 0) >= 2, "\(r.stderr)")
        #expect(s.bytes(at: out + "/" + big.relativePath) == big.bytes)
    }

    @Test func aCopyDamagedInTheMiddleOrTruncatedIsNotWritten() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 1342)
        let remote = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        // One reader: each copy is read alone, through lanes.
        let config = try s.writeSSHConfig(backupDirectory: remote.remote, connections: 1)
        let ds = try s.addDataset()
        let damaged = try Self.largeFile(s, ds, seed: 2)
        let truncated = try Self.largeFile(s, ds, seed: 3)
        #expect(try s.dvbackup("run", config: config).code == 0)
        // One byte flipped in the middle of one copy; the other cut to 40 MiB on the server.
        let middle = UInt64(damaged.bytes.count / 2 + 12345)
        let h = try FileHandle(forUpdating: URL(fileURLWithPath: remote.local + "/" + damaged.relativePath))
        try h.seek(toOffset: middle)
        try h.write(contentsOf: [damaged.bytes[Int(middle)] ^ 0x40])
        try h.close()
        #expect(truncate(remote.local + "/" + truncated.relativePath, 40 << 20) == 0)

        let out = try s.makeDirectory("out")
        let r = try s.dvbackup("restore", "--log-level", "debug", "--datafile", String(damaged.id), "--datafile", String(truncated.id),
                               "--to", out, config: config)
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("FAILED         datafile \(damaged.id)") && r.stdout.contains("is damaged: its SHA256 is"), "\(r.stdout)")
        #expect(r.stdout.contains("FAILED         datafile \(truncated.id)") && r.stdout.contains("ends after \(40 << 20) bytes"),
                "\(r.stdout)")
        #expect((Self.connections(r.stderr, damaged) ?? 0) >= 2, "the damaged copy was read through lanes: \(r.stderr)")
        #expect(Self.files(under: out).isEmpty, "nothing is written: \(Self.files(under: out))")
        #expect(try s.statusRows()[damaged.id]?.status == "OK", "a restore changes no backup status")
    }

    @Test func aConnectionCutMidFileFailsTheFileAndWritesNothing() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 1343)
        let remote = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        let config = try s.writeSSHConfig(backupDirectory: remote.remote)
        let ds = try s.addDataset()
        let big = try Self.largeFile(s, ds, seed: 4)
        #expect(try s.dvbackup("run", config: config).code == 0)

        // The restore reads through a relay that slows every connection, and is killed mid-file.
        let relay = try SFTPPipelineTests.DelayRelay(delayMs: 5)
        let relayConfig = try SFTPPipelineTests().config(s, relay, remote: remote.remote)
        let out = try s.makeDirectory("out")
        // Cut once the temporary holds some bytes.
        let (p, cutAt) = try Self.restoreInFlight(s, ["--datafile", String(big.id)], out: out, config: relayConfig, name: "cut", file: big)
        relay.stop()  // every connection through it ends
        p.process.waitUntilExit()
        let output = p.output, errors = p.errors
        #expect(cutAt > 0 && cutAt < big.bytes.count, "the restore was cut mid-file (\(cutAt) bytes written)")
        #expect(p.process.terminationStatus == 1, "\(output)\n\(errors.suffix(3000))")
        #expect(output.contains("FAILED         datafile \(big.id)") && output.contains("nothing was written"), "\(output)")
        #expect(Self.files(under: out).isEmpty, "nothing is left: \(Self.files(under: out))")
    }

    @Test func sigtermLetsTheFileInFlightFinishWhole() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 1344)
        let remote = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        let config = try s.writeSSHConfig(backupDirectory: remote.remote)
        let ds = try s.addDataset()
        let first = try Self.largeFile(s, ds, seed: 5)
        let second = try Self.largeFile(s, ds, seed: 6)
        #expect(try s.dvbackup("run", config: config).code == 0)

        // One reader (SshConnections = 1) behind a slow relay: each file is read through lanes.
        let relay = try SFTPPipelineTests.DelayRelay(delayMs: 5)
        let relayConfig = try SFTPPipelineTests().config(s, relay, remote: remote.remote, connections: 1)
        let out = try s.makeDirectory("out")
        let (p, inFlight) = try Self.restoreInFlight(s, ["--datafile", String(first.id), "--datafile", String(second.id)],
                                                     out: out, config: relayConfig, name: "term", file: first)
        #expect(inFlight > 0, "the first file was in flight")
        kill(p.process.processIdentifier, SIGTERM)
        p.process.waitUntilExit()
        let output = p.output, errors = p.errors
        // The lanes end with the file (as an upload's do); no file is begun after the stop,
        // and the restore says it was interrupted.
        #expect(p.process.terminationStatus == 1, "\(output)\n\(errors.suffix(3000))")
        #expect(output.contains(": interrupted in "), "\(output)")
        #expect((Self.connections(errors, first) ?? 0) >= 2, "\(errors.suffix(3000))")
        #expect(s.bytes(at: out + "/" + first.relativePath) == first.bytes, "the file in flight finished")
        #expect(Self.files(under: out) == [first.relativePath], "the second file was not begun, and no temporary was left")
    }
}
