import DVBackup
import Foundation
import Testing

/// StorageType ssh against a real OpenSSH sshd on 127.0.0.1 (scripts/services/start-sshd.sh).
/// Serialized: one test restarts the server.
@Suite(.enabled(if: TestSSH.enabled), .serialized)
struct SFTPTests {
    /// A catalog of `count` files in two datasets, and a fresh directory on the server.
    func world(seed: UInt64, count: Int = 6, size: Int = 20_000, account: String = TestSSH.user,
               serverRoot: String = TestSSH.backupDir, localRoot: String = TestSSH.backupDir) throws
        -> (Sandbox, [TestFile], remote: String, local: String) {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: seed)
        let a = try s.addDataset(authority: "10.5072", identifier: "FK2/SFTPA")
        let b = try s.addDataset(protocol_: "hdl", authority: "1902.1", identifier: "777")
        var files: [TestFile] = []
        let types: [ChecksumAlgorithm] = [.md5, .sha1, .sha256, .sha512]
        for i in 0..<count {
            files.append(try s.addFile(dataset: i % 2 == 0 ? a : b, size: size + i, checksumType: types[i % types.count]))
        }
        let dirs = try s.remoteDirectory(account: account, serverRoot: serverRoot, localRoot: localRoot)
        return (s, files, dirs.remote, dirs.local)
    }

    /// Gives `account` what the test made in its directory as root.
    func chownTree(_ dir: String, to account: String) {
        guard let pw = getpwnam(account) else { return }
        let (uid, gid) = (pw.pointee.pw_uid, pw.pointee.pw_gid)
        chown(dir, uid, gid)
        guard let e = FileManager.default.enumerator(atPath: dir) else { return }
        while let p = e.nextObject() as? String { chown(dir + "/" + p, uid, gid) }
    }

    /// Puts `contents` at `path` (as root; chownTree hands it to the account).
    func plant(_ path: String, _ contents: Data) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: contents)
    }

    /// Larger than Transfer.lanesThreshold (256 MiB): sent through several connections.
    static let largeSize = 260 << 20

    /// A catalog with one large random MD5 file in dataset `identifier`.
    func largeFile(_ s: Sandbox, identifier: String) throws -> TestFile {
        let ds = try s.addDataset(authority: "10.5072", identifier: identifier)
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        return try s.addFile(dataset: ds, bytes: [UInt8](random.readData(ofLength: Self.largeSize)), checksumType: .md5)
    }

    func bytes(_ local: String, _ f: TestFile) -> [UInt8]? {
        FileManager.default.contents(atPath: local + "/" + f.relativePath).map { [UInt8]($0) }
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

    @Test func copiesAreProvenOnTheServerInTheOriginalLayout() throws {
        let (s, files, remote, local) = try world(seed: 61)
        let config = try s.writeSSHConfig(backupDirectory: remote)
        let r = try s.dvbackup("run", config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("copies are proven by the server's checksum command and published by posix-rename@openssh.com"))
        let rows = try s.statusRows()
        for f in files {
            #expect(bytes(local, f) == f.bytes, "the copy of datafile \(f.id) on the server holds the source bytes")
            #expect(rows[f.id]?.status == "OK")
            #expect(rows[f.id]?.method == "ssh")
            #expect(rows[f.id]?.location == remote + "/" + f.relativePath)
        }
        #expect(tree(local) == files.map(\.relativePath).sorted(), "nothing but the copies, under their final names")
        // The incremental run after it transfers nothing.
        let again = try s.dvbackup("run", config: config)
        #expect(again.code == 0)
        #expect(again.stdout.contains("skipped (already OK)    \(files.count)"))
    }

    @Test func unknownHostKeyStopsTheRunBeforeAnyTransfer() throws {
        let (s, _, remote, local) = try world(seed: 62, count: 2)
        let empty = s.root + "/known_hosts_empty"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let r = try s.dvbackup("run", config: try s.writeSSHConfig(backupDirectory: remote, knownHosts: empty))
        #expect(r.code == 3)
        #expect(r.stderr.contains("is not in \(empty)"))
        #expect(r.stderr.contains(TestSSH.fingerprint), "the key's SHA256 fingerprint, as OpenSSH prints it")
        #expect(r.stderr.contains("add this line to \(empty): [\(TestSSH.host ?? "127.0.0.1")]:\(TestSSH.port) ssh-ed25519 AAAA"))
        #expect(tree(local).isEmpty, "nothing was transferred")
        #expect(try s.statusRows().isEmpty)
    }

    @Test func changedHostKeyStopsTheRun() throws {
        let (s, _, remote, local) = try world(seed: 63, count: 2)
        let r = try s.dvbackup("run", config: try s.writeSSHConfig(backupDirectory: remote, knownHosts: TestSSH.knownHostsChanged))
        #expect(r.code == 3)
        #expect(r.stderr.contains("has CHANGED"))
        #expect(r.stderr.contains(TestSSH.fingerprint))
        #expect(tree(local).isEmpty)
    }

    @Test func hashedKnownHostsEntriesWork() throws {
        let (s, files, remote, local) = try world(seed: 64, count: 2)
        let r = try s.dvbackup("run", config: try s.writeSSHConfig(backupDirectory: remote, knownHosts: TestSSH.knownHostsHashed))
        #expect(r.code == 0, "\(r.stderr)")
        for f in files { #expect(bytes(local, f) == f.bytes) }
    }

    /// The test server is configured as OpenSSH ships (no SHA-1 RSA signatures): an RSA key
    /// cannot log in through libssh2 1.10, and the message says what to do.
    @Test func anRSAKeyRefusedByAModernServerIsExplained() throws {
        let (s, _, remote, local) = try world(seed: 72, count: 1)
        let r = try s.dvbackup("run", config: try s.writeSSHConfig(backupDirectory: remote, key: TestSSH.rsaKey))
        #expect(r.code == 3)
        #expect(r.stderr.contains("cannot log in to \(TestSSH.user)@"))
        #expect(r.stderr.contains("this is an RSA key"))
        #expect(r.stderr.contains("ssh-keygen -t ed25519"))
        #expect(tree(local).isEmpty)
    }

    @Test func keyWithAPassphraseFromTheEnvironment() throws {
        let (s, files, remote, local) = try world(seed: 65, count: 2)
        let config = try s.writeSSHConfig(backupDirectory: remote, key: TestSSH.keyWithPassphrase,
                                          extra: ["SshPrivateKeyPassphraseEnv = DVBACKUP_TEST_KEY_PASSPHRASE"])
        let missing = try s.dvbackup("run", config: config)
        #expect(missing.code == 2, "the variable is not set: a configuration error")
        #expect(missing.stderr.contains("DVBACKUP_TEST_KEY_PASSPHRASE"))
        let wrong = try s.dvbackup("run", config: config, environment: ["DVBACKUP_TEST_KEY_PASSPHRASE": "not the passphrase 42"])
        #expect(wrong.code == 3)
        #expect(wrong.stderr.contains("cannot log in"))
        #expect(!wrong.stderr.contains("not the passphrase 42") && !wrong.stdout.contains("not the passphrase 42"))
        let right = try s.dvbackup("run", config: config, environment: ["DVBACKUP_TEST_KEY_PASSPHRASE": TestSSH.passphrase])
        #expect(right.code == 0, "\(right.stderr)")
        #expect(!right.stderr.contains(TestSSH.passphrase))
        for f in files { #expect(bytes(local, f) == f.bytes) }
    }

    @Test func anExistingBackupTreeIsReused() throws {
        let (s, files, remote, local) = try world(seed: 66, count: 4)
        // The original script's tree: one copy it recorded OK, one it left truncated
        // (paramiko wrote straight to the final name), both under the same layout.
        let db = try s.backupConnection()
        try db.execute(UpgradeTests.originalSchema)
        try db.query("""
            INSERT INTO datafilestatus (status, createdate, lastbackuptime, lastbackupmethod, datasetidentifier, storageidentifier)
            VALUES ('OK', '2024-01-01', '2024-01-01', 'ssh', '10.5072/FK2/SFTPA', $1)
            """, [files[0].storageIdentifier])
        for (f, content) in [(files[0], files[0].bytes), (files[2], Array(files[2].bytes.prefix(100)))] {
            try plant(local + "/" + f.relativePath, Data(content))
        }
        chownTree(local, to: TestSSH.user)
        let before = try FileManager.default.attributesOfItem(atPath: local + "/" + files[0].relativePath)[.modificationDate] as? Date
        let r = try s.dvbackup("run", config: try s.writeSSHConfig(backupDirectory: remote))
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("skipped (already OK)    1"))
        for f in files { #expect(bytes(local, f) == f.bytes, "datafile \(f.id)") }
        let after = try FileManager.default.attributesOfItem(atPath: local + "/" + files[0].relativePath)[.modificationDate] as? Date
        #expect(before == after, "the copy the original recorded as OK was not transferred again")
        #expect(tree(local) == files.map(\.relativePath).sorted())
    }

    @Test func aLyingChecksumCommandIsFailVerifyAndNothingIsPublished() throws {
        let (s, files, remote, local) = try world(seed: 67, count: 4, account: TestSSH.liarUser,
                                                  serverRoot: TestSSH.liarBackupDir, localRoot: TestSSH.liarBackupDir)
        // A good copy already in place must survive.
        let good = files[1]
        try plant(local + "/" + good.relativePath, Data(good.bytes))
        chownTree(local, to: TestSSH.liarUser)
        let r = try s.dvbackup("run", config: try s.writeSSHConfig(user: TestSSH.liarUser, backupDirectory: remote))
        #expect(r.code == 1)
        let rows = try s.statusRows()
        for f in files {
            let row = try #require(rows[f.id])
            #expect(row.status == "FAIL_VERIFY")
            let command = (f.storageIdentifier == files[0].storageIdentifier) ? "md5sum" : ""
            #expect(row.lastError?.contains("the server's \(command)") == true, "\(row.lastError ?? "")")
            #expect(row.lastError?.contains("printed") == true)
        }
        #expect(tree(local) == [good.relativePath], "no copy was published, no temporary file left")
        #expect(bytes(local, good) == good.bytes)
    }

    /// A large file goes through several connections while the server hashes it as it is
    /// written: a lying md5sum there is caught just the same, and a good copy survives.
    @Test func aLyingChecksumCommandCatchesALargeFileHashedAsItIsWritten() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 74)
        let big = try largeFile(s, identifier: "FK2/LIARBIG")
        let (remote, local) = try s.remoteDirectory(account: TestSSH.liarUser, serverRoot: TestSSH.liarBackupDir, localRoot: TestSSH.liarBackupDir)
        let finalPath = local + "/" + big.relativePath
        try plant(finalPath, Data("an older copy".utf8))
        chownTree(local, to: TestSSH.liarUser)
        let r = try s.dvbackup("run", "--log-level", "debug", config: try s.writeSSHConfig(user: TestSSH.liarUser, backupDirectory: remote))
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        let row = try #require(try s.statusRows()[big.id])
        #expect(row.status == "FAIL_VERIFY")
        #expect(row.lastError?.contains("the server's md5sum printed") == true, "\(row.lastError ?? "")")
        #expect(row.lastError?.contains("as it was written") == true, "\(row.lastError ?? "")")
        #expect(tree(local) == [big.relativePath], "no temporary file left")
        #expect(FileManager.default.contents(atPath: finalPath) == Data("an older copy".utf8), "what was under the final name is untouched")
    }

    @Test func aChrootedSFTPOnlyAccountIsProvenByReadingBack() throws {
        let (s, files, remote, local) = try world(seed: 68, count: 4, account: TestSSH.chrootUser,
                                                  serverRoot: TestSSH.chrootBackupDir,
                                                  localRoot: TestSSH.chrootRoot + TestSSH.chrootBackupDir)
        // A truncated copy already under one final name: this server does not offer
        // posix-rename, so the proven copy replaces it by removing it first.
        try plant(local + "/" + files[1].relativePath, Data(files[1].bytes.prefix(10)))
        chownTree(local, to: TestSSH.chrootUser)
        let r = try s.dvbackup("run", config: try s.writeSSHConfig(user: TestSSH.chrootUser, backupDirectory: remote))
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("copies are proven by reading the copy back over SFTP and published by SFTP rename (the server offers no posix-rename@openssh.com)"))
        let rows = try s.statusRows()
        for f in files {
            #expect(rows[f.id]?.status == "OK")
            #expect(bytes(local, f) == f.bytes)
        }
        #expect(tree(local) == files.map(\.relativePath).sorted())
    }

    @Test func pathsWithSpacesAndShellMetacharacters() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 69)
        // A command that would leave a file in the account's home if a path reached a shell.
        let markerName = "injected-" + URL(fileURLWithPath: s.root).lastPathComponent
        let home = String(cString: getpwnam(TestSSH.user)!.pointee.pw_dir)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/it's a $(touch \(markerName)) & \"x\"; `id` dir")
        let files = [
            try s.addFile(dataset: ds, size: 3000, checksumType: .md5, storageIdentifier: "file://name with spaces;$(touch \(markerName))"),
            try s.addFile(dataset: ds, size: 4000, checksumType: .sha256, storageIdentifier: "file://back\\slash 'quote' *glob?"),
        ]
        let (remote, local) = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        let r = try s.dvbackup("run", config: try s.writeSSHConfig(backupDirectory: remote))
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        for f in files { #expect(bytes(local, f) == f.bytes, "\(f.relativePath)") }
        #expect(!FileManager.default.fileExists(atPath: home + "/" + markerName), "no path reached a shell unquoted")
        #expect(!FileManager.default.fileExists(atPath: markerName))
    }

    /// With `yes`, the server hashes the copy while the lanes write it; with `no`, after.
    @Test(arguments: ["yes", "no"])
    func aVeryLargeFileIsSentThroughSeveralConnections(hashDuringUpload: String) throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 73)
        let big = try largeFile(s, identifier: "FK2/LARGE")
        let (remote, local) = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        let sshdLog = TestSSH.dir + "/sshd.log"
        func logins() -> Int {
            ((try? String(contentsOfFile: sshdLog, encoding: .utf8)) ?? "").components(separatedBy: "Accepted publickey for \(TestSSH.user)").count - 1
        }
        let before = logins()
        let config = try s.writeSSHConfig(backupDirectory: remote, extra: ["SshHashDuringUpload = \(hashDuringUpload)"], connections: 1)
        let r = try s.dvbackup("run", "--log-level", "debug", config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(try s.statusRows()[big.id]?.status == "OK")
        let streamed = r.stderr.contains("proven on the server by md5sum, which hashed the copy as it was written")
        #expect(streamed == (hashDuringUpload == "yes"), "the log says which proof was used")
        #expect(r.stderr.contains("proven on the server by md5sum"))
        #expect(FileManager.default.contents(atPath: local + "/" + big.relativePath) == Data(big.bytes))
        // One session checks the target, one copies, at least two lanes share the large
        // file, and one more hashes it on the server while it is written.
        #expect(logins() - before >= (hashDuringUpload == "yes" ? 5 : 4), "the large file went through extra connections")
        #expect(tree(local) == [big.relativePath])
        // libssh2 1.10 negotiates AES-CTR with OpenSSH 9; its block-by-block cipher calls are
        // served from dvbackup's keystream batches (the link-time wrap is in the binary).
        #expect(r.stderr.contains("-ctr with hmac-sha2-"), "the log names the negotiated cipher and MAC")
        let batched = r.stderr.components(separatedBy: "AES-CTR keystream batched for ").dropFirst().first
            .flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
        #expect(batched >= Self.largeSize, "the large file's bytes were encrypted from the batched keystream: \(batched)")
        // OpenSSH 9.2 takes WRITE requests of up to 255 KiB (limits@openssh.com): the lanes
        // send 128 KiB ones of their own, not libssh2's 30,000-byte requests.
        #expect(r.stderr.contains("connections (WRITE requests of 128 KiB)"), "\(r.stderr)")
    }

    /// A server that does not say how large a WRITE it takes (the chrooted account runs
    /// `internal-sftp -P posix-rename,limits`, as a NAS might): the lanes fall back to
    /// libssh2's own requests, and the copy is read back to prove it.
    @Test func aLargeFileToAServerWithoutWriteLimitsGoesThroughLibssh2Writes() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 75)
        let big = try largeFile(s, identifier: "FK2/CHROOTBIG")
        let (remote, local) = try s.remoteDirectory(account: TestSSH.chrootUser, serverRoot: TestSSH.chrootBackupDir,
                                                    localRoot: TestSSH.chrootRoot + TestSSH.chrootBackupDir)
        chownTree(local, to: TestSSH.chrootUser)
        let r = try s.dvbackup("run", "--log-level", "debug",
                               config: try s.writeSSHConfig(user: TestSSH.chrootUser, backupDirectory: remote))
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("connections (libssh2's WRITE requests)"), "\(r.stderr)")
        #expect(try s.statusRows()[big.id]?.status == "OK")
        #expect(FileManager.default.contents(atPath: local + "/" + big.relativePath) == Data(big.bytes))
        #expect(tree(local) == [big.relativePath])
    }

    /// The backup disk fills up while a large file is written through the lanes: the
    /// server's refusal ends the file FAIL_WRITE with the server's words, its partial copy
    /// is removed, the older copy under the final name is untouched, and the other files of
    /// the run are copied.
    @Test func aFullDiskOnTheServerIsFailWriteAndKeepsTheOlderCopy() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 76)
        let big = try largeFile(s, identifier: "FK2/FULLDISK")
        let small = try s.addFile(dataset: try s.addDataset(authority: "10.5072", identifier: "FK2/ROOMY"), size: 50_000,
                                  checksumType: .md5)
        let (remote, local) = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        let finalPath = local + "/" + big.relativePath
        let full = (finalPath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        // A 64 MiB file system where the large file's copy goes.
        try #require(mount("tmpfs", full, "tmpfs", 0, "size=64m") == 0, "mount a small tmpfs (needs root): \(String(cString: strerror(errno)))")
        defer { umount2(full, Int32(MNT_DETACH)) }
        try plant(finalPath, Data("an older copy".utf8))
        chownTree(local, to: TestSSH.user)
        let r = try s.dvbackup("run", config: try s.writeSSHConfig(backupDirectory: remote))
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        let rows = try s.statusRows()
        #expect(rows[small.id]?.status == "OK")
        #expect(bytes(local, small) == small.bytes)
        let row = try #require(rows[big.id])
        #expect(row.status == "FAIL_WRITE")
        #expect(row.lastError?.contains("cannot write ") == true, "\(row.lastError ?? "")")
        #expect(row.lastError?.contains("FK2/FULLDISK/.") == true, "the error names the copy: \(row.lastError ?? "")")
        #expect(row.lastError?.contains("failure (the server gave no reason); its file system is full: ") == true, "\(row.lastError ?? "")")
        #expect(row.lastError?.contains(" free of 67.1 MB on the server") == true, "the server was asked how much room is left: \(row.lastError ?? "")")
        #expect(FileManager.default.contents(atPath: finalPath) == Data("an older copy".utf8), "what was under the final name is untouched")
        #expect(tree(full) == [(big.relativePath as NSString).lastPathComponent], "no partial copy is left")
    }

    /// Starts `dvbackup run` in the background; returns the process and its log file.
    func startRun(_ s: Sandbox, config: String) throws -> (Process, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Sandbox.binary)
        p.arguments = ["run", "--config", config]
        let log = s.root + "/background.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return (p, log)
    }

    func waitFor(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    func published(_ local: String) -> Int { tree(local).filter { !$0.contains(".dvbackup-partial") }.count }

    /// The server goes away mid-run (its connections cut, new ones refused for 1.5 s), then
    /// comes back. It is reached through a relay of the test's own, which is killed and
    /// started again: stopping the shared sshd would cut the other suites' connections too.
    @Test func theServerStoppedInTheMiddleOfARunIsReconnected() throws {
        let (s, files, remote, local) = try world(seed: 70, count: 120, size: 400_000)
        let relay = try SFTPPipelineTests.DelayRelay(delayMs: 0)
        let config = try SFTPPipelineTests().config(s, relay, remote: remote, connections: 1)
        let (process, log) = try startRun(s, config: config)
        #expect(waitFor(seconds: 60) { published(local) >= 2 }, "the run started copying")
        relay.stop()
        usleep(1_500_000)
        try relay.start()
        process.waitUntilExit()
        relay.stop()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.contains("reconnect"), "the log says the connection was re-established")
        let rows = try s.statusRows()
        for f in files {
            #expect(rows[f.id]?.status == "OK", "datafile \(f.id): \(rows[f.id]?.lastError ?? "")")
            #expect(bytes(local, f) == f.bytes)
        }
        #expect(tree(local).count == files.count, "no temporary file left")
    }

    @Test func aKilledRunLeavesOnlyProvenCopiesAndACleanRerunFinishes() throws {
        let (s, files, remote, local) = try world(seed: 71, count: 100, size: 500_000)
        let config = try s.writeSSHConfig(backupDirectory: remote, connections: 2)
        let (process, _) = try startRun(s, config: config)
        #expect(waitFor(seconds: 60) { published(local) >= 3 })
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // Everything under a final name is a complete, correct copy.
        let byPath = Dictionary(uniqueKeysWithValues: files.map { ($0.relativePath, $0) })
        for path in tree(local) where !path.contains(".dvbackup-partial") {
            let f = try #require(byPath[path])
            #expect(bytes(local, f) == f.bytes, "\(path) under its final name is a verified copy")
        }
        let rerun = try s.dvbackup("run", config: config)
        #expect(rerun.code == 0, "\(rerun.stdout)\n\(rerun.stderr)")
        let rows = try s.statusRows()
        for f in files {
            #expect(rows[f.id]?.status == "OK")
            #expect(bytes(local, f) == f.bytes)
        }
        #expect(tree(local) == files.map(\.relativePath).sorted(), "temporary files of the killed run are gone")
        let status = try s.dvbackup("status", config: config)
        #expect(status.stdout.contains("crashed"), "the killed run is shown as crashed")
    }
}
