import DVBackup
import Foundation
import Testing

/// Small files over a network's round-trip time: the test sshd behind a relay that delays
/// every byte (scripts/delay-relay.py; this kernel has no netem). A batch of small files is
/// written, proven and published with a number of SFTP round trips that does not grow with
/// it (the debug log counts them; no test measures time), a refused file fails alone, and a
/// connection cut mid-batch is survived with every copy proven.
@Suite(.enabled(if: TestSSH.enabled), .serialized)
struct SFTPPipelineTests {
    /// The relay in front of the test sshd, on a free port; stopped in `deinit`.
    final class DelayRelay {
        let port: Int
        let delayMs: Int
        private var process: Process?

        init(delayMs: Int) throws {
            self.delayMs = delayMs
            port = try freeTCPPort()
            try start()
        }

        deinit { stop() }

        func start() throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            p.arguments = [Sandbox.repoRoot + "/scripts/delay-relay.py", String(port), TestSSH.host ?? "127.0.0.1",
                           String(TestSSH.port), String(delayMs)]
            try p.run()
            process = p
            for _ in 0..<250 {
                if Self.accepts(port) { return }
                usleep(20_000)
            }
            throw TestFailure("the delay relay did not start on port \(port)")
        }

        /// Ends the relay and with it every connection through it. SIGKILL: the relay may
        /// inherit a mask that blocks SIGTERM from the test's thread.
        func stop() {
            guard let p = process else { return }
            process = nil
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }

        static func accepts(_ port: Int) -> Bool {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var a = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: in_port_t(port).bigEndian,
                                sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
            return withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
        }

    }

    /// A config.ini for StorageType ssh through `relay`, with a known_hosts file that names
    /// the test server's key at the relay's port.
    func config(_ s: Sandbox, _ relay: DelayRelay, user: String = TestSSH.user, remote: String, connections: Int = 1) throws -> String {
        let lines = try String(contentsOfFile: TestSSH.knownHosts, encoding: .utf8)
        let known = s.root + "/known_hosts_relay"
        try lines.replacingOccurrences(of: "]:\(TestSSH.port) ", with: "]:\(relay.port) ")
            .write(toFile: known, atomically: true, encoding: .utf8)
        return try s.writeConfig(backupLines: [
            "StorageType = ssh", "SshHost = 127.0.0.1", "SshPort = \(relay.port)", "SshUsername = \(user)",
            "BackupDirectory = \(remote)", "SshPrivateKey = \(TestSSH.key)", "SshKnownHosts = \(known)",
            "SshConnections = \(connections)",
        ], name: "relay.ini")
    }

    /// The round trips of every settled batch, from the debug log.
    func batches(_ log: String) -> [(copies: Int, roundTrips: Int)] {
        log.components(separatedBy: "\n").compactMap { line in
            guard let r = line.range(of: "settled ") else { return nil }
            let words = line[r.upperBound...].split(separator: " ")
            guard let copies = Int(words.first ?? ""), let at = words.firstIndex(of: "round"), at > 0,
                  let trips = Int(words[at - 1]) else { return nil }
            return (copies, trips)
        }
    }

    func tree(_ dir: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
        var out: [String] = []
        while let p = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + "/" + p, isDirectory: &isDir), !isDir.boolValue { out.append(p) }
        }
        return out.sorted()
    }

    func bytes(_ local: String, _ f: TestFile) -> [UInt8]? {
        FileManager.default.contents(atPath: local + "/" + f.relativePath).map { [UInt8]($0) }
    }

    /// Makes `relative` under `local` as the account's, except its last directory, which
    /// stays root's: the account cannot create files there.
    func lockedDirectory(_ local: String, _ relative: String, account: String) throws {
        guard let pw = getpwnam(account) else { throw TestFailure("no account \(account)") }
        var d = local
        let parts = relative.split(separator: "/")
        for (i, c) in parts.enumerated() {
            d += "/" + c
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            if i < parts.count - 1 { chown(d, pw.pointee.pw_uid, pw.pointee.pw_gid) }
        }
        chmod(d, 0o755)
    }

    @Test func aBatchOfSmallFilesWithARefusedOneInTheMiddle() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 81)
        let relay = try DelayRelay(delayMs: 5)
        var files: [TestFile] = []
        for identifier in ["FK2/PIPEA", "FK2/LOCKED", "FK2/PIPEC"] {
            let ds = try s.addDataset(authority: "10.5072", identifier: identifier)
            for i in 0..<12 { files.append(try s.addFile(dataset: ds, size: 4096 + i, checksumType: [.md5, .sha256][i % 2])) }
        }
        let (remote, local) = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        try lockedDirectory(local, "10.5072/FK2/LOCKED", account: TestSSH.user)
        let r = try s.dvbackup("run", "--log-level", "debug", config: try config(s, relay, remote: remote))
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        let rows = try s.statusRows()
        for f in files {
            let row = try #require(rows[f.id])
            if f.relativePath.contains("/LOCKED/") {
                #expect(row.status == "FAIL_WRITE")
                #expect(row.lastError?.contains("cannot create ") == true && row.lastError?.contains("permission denied") == true,
                        "the server's words: \(row.lastError ?? "")")
            } else {
                #expect(row.status == "OK", "\(row.lastError ?? "")")
                #expect(bytes(local, f) == f.bytes, "\(f.relativePath) holds the source bytes")
            }
        }
        #expect(tree(local) == files.filter { !$0.relativePath.contains("/LOCKED/") }.map(\.relativePath).sorted(),
                "only proven copies, under their final names")
        // One batch of 36 files: directories (at most a round trip per depth, and one STAT),
        // OPEN, WRITE and CLOSE, posix-rename: 7 at most, not one per file.
        let settled = batches(r.stderr)
        #expect(settled.map(\.copies) == [36], "\(settled)")
        #expect(settled.allSatisfy { $0.roundTrips <= 7 }, "\(settled)")
    }

    @Test func aChrootedAccountReadsTheBatchBackAndRenamesItAllAtOnce() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 82)
        let relay = try DelayRelay(delayMs: 5)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/PIPECHROOT")
        let files = try (0..<30).map { i in try s.addFile(dataset: ds, size: 3000 + i * 100, checksumType: .sha1) }
        let (remote, local) = try s.remoteDirectory(account: TestSSH.chrootUser, serverRoot: TestSSH.chrootBackupDir,
                                                    localRoot: TestSSH.chrootRoot + TestSSH.chrootBackupDir)
        // An older, truncated copy under one final name: SFTP rename does not replace it.
        let old = local + "/" + files[7].relativePath
        try FileManager.default.createDirectory(atPath: (old as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: old, contents: Data(files[7].bytes.prefix(5)))
        if let pw = getpwnam(TestSSH.chrootUser) {
            for p in [local + "/10.5072", local + "/10.5072/FK2", (old as NSString).deletingLastPathComponent, old] {
                chown(p, pw.pointee.pw_uid, pw.pointee.pw_gid)
            }
        }
        let r = try s.dvbackup("run", "--log-level", "debug", config: try config(s, relay, user: TestSSH.chrootUser, remote: remote))
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        let rows = try s.statusRows()
        for f in files {
            #expect(rows[f.id]?.status == "OK")
            #expect(bytes(local, f) == f.bytes)
        }
        #expect(r.stderr.contains("read back over SFTP, SHA1 matches"))
        #expect(tree(local) == files.map(\.relativePath).sorted())
        let settled = batches(r.stderr)
        #expect(settled.map(\.copies) == [30], "\(settled)")
        // Directories (3 depths, one STAT of those that existed), OPEN, WRITE+fsync+CLOSE,
        // OPEN and READ+CLOSE for the read-back, RENAME and the STAT of the one refused: 10.
        #expect(settled.allSatisfy { $0.roundTrips <= 10 }, "\(settled)")
    }

    @Test func aConnectionCutMidBatchIsTriedAgainAndOnlyProvenCopiesArePublished() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 83)
        let relay = try DelayRelay(delayMs: 25)
        var files: [TestFile] = []
        for d in 0..<3 {
            let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/PIPECUT\(d)")
            for i in 0..<100 { files.append(try s.addFile(dataset: ds, size: 4096 + i, checksumType: .md5)) }
        }
        let (remote, local) = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Sandbox.binary)
        p.arguments = ["run", "--log-level", "debug", "--config", try config(s, relay, remote: remote)]
        let log = s.root + "/cut.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        func published() -> Int { tree(local).filter { !$0.contains(".dvbackup-partial") }.count }
        let deadline = Date().addingTimeInterval(120)
        while published() < 64, Date() < deadline, p.isRunning { usleep(5_000) }
        #expect(published() < files.count, "the run was cut before its end")
        relay.stop()  // every connection through it ends
        usleep(300_000)
        try relay.start()
        p.waitUntilExit()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 0, "\(output.suffix(3000))")
        #expect(output.contains("trying again"), "files of the cut batch were tried again")
        let rows = try s.statusRows()
        for f in files {
            #expect(rows[f.id]?.status == "OK", "datafile \(f.id): \(rows[f.id]?.lastError ?? "")")
            #expect(bytes(local, f) == f.bytes)
        }
        #expect(tree(local) == files.map(\.relativePath).sorted(), "no temporary copy left")
        #expect(batches(output).allSatisfy { $0.roundTrips <= 8 }, "\(batches(output))")
    }
}
