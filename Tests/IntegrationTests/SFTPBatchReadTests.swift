import DVBackup
import Foundation
import Testing

/// Many small copies read back over a network's round-trip time (the test sshd behind the
/// pipeline tests' delay relay): the audit of an account that may not run commands and a
/// restore read them a batch at a time on dvbackup's own SFTP channel. The debug log counts
/// the round trips (never the time); a damaged copy in the middle of a batch is found, or
/// not written, alone; a connection cut mid-batch leaves nothing unproven under its name.
@Suite(.enabled(if: TestSSH.enabled), .serialized)
struct SFTPBatchReadTests {
    typealias DelayRelay = SFTPPipelineTests.DelayRelay

    /// `(copies, round trips)` of every line of the debug log that has `marker` before the
    /// number of copies and "round trips" after the number of round trips.
    func batches(_ log: String, _ marker: String) -> [(copies: Int, roundTrips: Int)] {
        log.components(separatedBy: "\n").compactMap { line in
            guard let r = line.range(of: marker) else { return nil }
            let words = line[r.upperBound...].split(separator: " ")
            guard let copies = Int(words.first ?? ""), let at = words.firstIndex(of: "round"), at > 0,
                  let trips = Int(words[at - 1]) else { return nil }
            return (copies, trips)
        }
    }

    func tree(_ dir: String) -> [String] { SFTPPipelineTests().tree(dir) }

    @Test func anAuditReadsSmallCopiesBackInBatches() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 1401)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/AUDBATCH")
        // The last one larger than a batch takes: read back through libssh2 beside the batch.
        let files = try (0..<150).map { i in
            try s.addFile(dataset: ds, size: i == 149 ? 100_000 : 2000 + i * 13, checksumType: i % 2 == 0 ? .md5 : .sha1)
        }
        let dirs = try s.remoteDirectory(account: TestSSH.chrootUser, serverRoot: TestSSH.chrootBackupDir,
                                         localRoot: TestSSH.chrootRoot + TestSSH.chrootBackupDir)
        let direct = try s.writeSSHConfig(user: TestSSH.chrootUser, backupDirectory: dirs.remote)
        #expect(try s.dvbackup("run", config: direct).code == 0)
        let (deleted, truncated, flipped) = (files[70], files[75], files[80])
        try Damage.delete(dirs.local + "/" + deleted.relativePath)
        try Damage.truncate(dirs.local + "/" + truncated.relativePath)
        try Damage.flipByte(dirs.local + "/" + flipped.relativePath, at: 1000)

        let relay = try DelayRelay(delayMs: 5)
        let config = try SFTPPipelineTests().config(s, relay, user: TestSSH.chrootUser, remote: dirs.remote)
        let before = try Damage.now(s)
        let audit = try s.dvbackup("audit", "--all", "--log-level", "debug", config: config)
        #expect(audit.code == 1, "\(audit.stdout)\n\(audit.stderr)")
        #expect(audit.stderr.contains("copies are proven by reading the copy back over SFTP"), "\(audit.stderr)")
        let v = try s.verifications()
        #expect(v[deleted.id]?.status == "FAIL_AUDIT_MISSING")
        #expect(v[deleted.id]?.lastError?.contains("no copy at") == true, "\(v[deleted.id]?.lastError ?? "")")
        #expect(v[truncated.id]?.status == "FAIL_AUDIT_CORRUPT")
        #expect(v[truncated.id]?.lastError?.contains("holds 100 bytes, \(truncated.bytes.count) were copied") == true,
                "\(v[truncated.id]?.lastError ?? "")")
        #expect(v[flipped.id]?.status == "FAIL_AUDIT_CORRUPT")
        var damaged = flipped.bytes
        damaged[1000] ^= 0x01
        #expect(v[flipped.id]?.lastError?.contains(Digest.hex(.md5, of: damaged)) == true, "both digests: \(v[flipped.id]?.lastError ?? "")")
        #expect(v[flipped.id]?.lastError?.contains(Digest.hex(.md5, of: flipped.bytes)) == true)
        let intact = Set(files.map(\.id)).subtracting([deleted.id, truncated.id, flipped.id])
        #expect(try s.verifiedSince(before) == intact)
        // 150 copies in batches of 64: STAT, OPEN, READ+CLOSE each, 9 round trips in all, not 150 × 4.
        let proved = batches(audit.stderr, "proved ")
        #expect(proved.map(\.copies).reduce(0, +) == 150, "\(proved)")
        #expect(proved.count <= 3 && proved.allSatisfy { $0.roundTrips <= 3 }, "\(proved)")

        // Quick: existence and size only, one STAT round trip per batch, for the 147 copies
        // still proven; one more deleted since is found missing.
        try Damage.delete(dirs.local + "/" + files[10].relativePath)
        let quick = try s.dvbackup("audit", "--quick", "--all", "--log-level", "debug", config: config)
        #expect(quick.code == 1, "\(quick.stdout)\n\(quick.stderr)")
        let quickBatches = batches(quick.stderr, "proved ")
        #expect(quickBatches.map(\.copies).reduce(0, +) == 147, "\(quickBatches)")
        #expect(quickBatches.allSatisfy { $0.roundTrips == 1 }, "\(quickBatches)")
        #expect(try s.verifications()[files[10].id]?.status == "FAIL_AUDIT_MISSING")
        #expect(try s.verifications()[files[11].id]?.status == "OK")
    }

    /// Backs up `count` small files with the normal account; returns the files, the server's
    /// directory as seen here, and a config through `relay`.
    func backedUp(_ s: Sandbox, _ identifier: String, count: Int, relay: DelayRelay, connections: Int = 1)
        throws -> (files: [TestFile], local: String, config: String) {
        let ds = try s.addDataset(authority: "10.5072", identifier: identifier)
        let files = try (0..<count).map { i in try s.addFile(dataset: ds, size: 1500 + i * 211, checksumType: [.md5, .sha256][i % 2]) }
        let dirs = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        #expect(try s.dvbackup("run", config: try s.writeSSHConfig(backupDirectory: dirs.remote)).code == 0)
        return (files, dirs.local, try SFTPPipelineTests().config(s, relay, remote: dirs.remote, connections: connections))
    }

    @Test func aRestoreReadsSmallCopiesInBatchesAndADamagedOneFailsAlone() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 1402)
        let relay = try DelayRelay(delayMs: 5)
        let (files, local, config) = try backedUp(s, "FK2/RESTBATCH", count: 100, relay: relay, connections: 2)
        let damaged = files[50]
        try Damage.flipByte(local + "/" + damaged.relativePath, at: 700)

        let out = try s.makeDirectory("out")
        let r = try s.dvbackup("restore", "--dataset", "doi:10.5072/FK2/RESTBATCH", "--to", out, "--log-level", "debug", config: config)
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        let listed = r.stdout.split(separator: "\n").filter { $0.hasPrefix("restored ") || $0.hasPrefix("FAILED ") }
        #expect(listed.count == 100)
        #expect(listed[50].hasPrefix("FAILED         datafile \(damaged.id)") && listed[50].contains("is damaged"), "\(listed[50])")
        for f in files where f.id != damaged.id { #expect(s.bytes(at: out + "/" + f.relativePath) == f.bytes, "datafile \(f.id)") }
        #expect(!FileManager.default.fileExists(atPath: out + "/" + damaged.relativePath), "nothing written for the damaged copy")
        #expect(tree(out) == ([RestoreManifest.fileName] + files.filter { $0.id != damaged.id }.map(\.relativePath)).sorted(),
                "no temporary left")
        let manifest = try String(contentsOfFile: out + "/" + RestoreManifest.fileName, encoding: .utf8)
        let rows = manifest.split(separator: "\r\n").dropFirst().compactMap { $0.split(separator: ",").first.flatMap { Int64($0) } }
        #expect(rows == files.map(\.id).filter { $0 != damaged.id }, "the manifest in datafile id order")
        // Every copy read in a batch of OPENs and one of READs and CLOSEs: 2 round trips a batch.
        let read = batches(r.stderr, "read ")
        #expect(read.map(\.copies).reduce(0, +) == 100, "\(read)")
        #expect(read.allSatisfy { $0.roundTrips == 2 } && read.count <= 8, "\(read)")
    }

    /// More files than the restore keeps in hand (64 a connection): the batches stay full
    /// once the window is full, instead of shrinking to a file or two.
    @Test func batchesStayFullBeyondTheWindow() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 1404)
        let relay = try DelayRelay(delayMs: 2)
        let (files, _, config) = try backedUp(s, "FK2/RESTWIN", count: 300, relay: relay, connections: 1)
        let out = try s.makeDirectory("out")
        let r = try s.dvbackup("restore", "--dataset", "doi:10.5072/FK2/RESTWIN", "--to", out, "--log-level", "debug", config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        for f in files { #expect(s.bytes(at: out + "/" + f.relativePath) == f.bytes, "datafile \(f.id)") }
        let read = batches(r.stderr, "read ")
        #expect(read.map(\.copies).reduce(0, +) == 300, "every copy read in a batch: \(read)")
        #expect(read.count == 10 && read.filter { $0.copies == 32 }.count == 9, "\(read)")
    }

    @Test func aConnectionCutMidRestoreStopsItAndLeavesOnlyProvenFiles() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 1403)
        let relay = try DelayRelay(delayMs: 25)
        let (files, _, config) = try backedUp(s, "FK2/RESTCUT", count: 320, relay: relay)
        let out = try s.makeDirectory("out")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Sandbox.binary)
        p.arguments = ["restore", "--dataset", "doi:10.5072/FK2/RESTCUT", "--to", out, "--log-level", "debug", "--config", config]
        let log = s.root + "/cut.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        func restored() -> Int { tree(out).filter { !$0.contains(".dvbackup-restore-") && $0 != RestoreManifest.fileName }.count }
        let deadline = Date().addingTimeInterval(120)
        while restored() < 40, Date() < deadline, p.isRunning { usleep(2_000) }
        relay.stop()  // every connection through it ends, mid-batch
        p.waitUntilExit()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 1, "\(output.suffix(3000))")
        #expect(output.contains("the target cannot be read"), "\(output.suffix(3000))")
        let written = tree(out)
        #expect(!written.contains { $0.contains(".dvbackup-restore-") }, "no temporary left: \(written)")
        let byPath = Dictionary(uniqueKeysWithValues: files.map { ($0.relativePath, $0) })
        let restoredFiles = written.filter { $0 != RestoreManifest.fileName }
        #expect(restoredFiles.count < files.count, "the restore was cut before its end")
        for path in restoredFiles {
            #expect(s.bytes(at: out + "/" + path) == byPath[path]?.bytes, "\(path) holds exactly its proven bytes")
        }
        // The manifest of a stopped restore lists exactly the files it restored.
        let manifest = (try? String(contentsOfFile: out + "/" + RestoreManifest.fileName, encoding: .utf8)) ?? ""
        let listed = manifest.split(separator: "\r\n").dropFirst().compactMap { $0.split(separator: ",").first.flatMap { Int64($0) } }
        #expect(Set(listed) == Set(restoredFiles.compactMap { byPath[$0]?.id }) && listed.count == restoredFiles.count,
                "\(listed.count) listed, \(restoredFiles.count) restored")
    }
}
