import DVBackup
import Foundation
import Logging
import Testing

extension Sandbox {
    /// Runs `dvbackup` under /usr/bin/time; returns the result and the peak RSS in bytes.
    func dvbackupMeasured(_ arguments: [String], config: String) throws -> (CLIResult, Int64) {
        let report = root + "/.rss"
        let r = try run(["-f", "%M", "-o", report, Sandbox.binary] + arguments + ["--config", config], executable: "/usr/bin/time")
        let kb = Int64((try String(contentsOfFile: report, encoding: .utf8)).split(separator: "\n").last.map(String.init) ?? "") ?? -1
        return (r, kb * 1024)
    }
}

@Suite(.enabled(if: TestSSH.enabled), .serialized)
struct RestoreSFTPTests {
    @Test(arguments: [false, true])
    func restoreToADirectoryAndOrphansOverSFTP(chroot: Bool) throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: chroot ? 1311 : 1312)
        let account = chroot ? TestSSH.chrootUser : TestSSH.user
        let remote = try s.remoteDirectory(account: account, serverRoot: chroot ? TestSSH.chrootBackupDir : TestSSH.backupDir,
                                           localRoot: chroot ? TestSSH.chrootRoot + TestSSH.chrootBackupDir : TestSSH.backupDir)
        let config = try s.writeSSHConfig(user: account, backupDirectory: remote.remote)
        let ds = try s.addDataset()
        let files = try (0..<4).map { i in try s.addFile(dataset: ds, size: 1000 + i * 70_001) }
        #expect(try s.dvbackup("run", config: config).code == 0)
        let out = try s.makeDirectory("out")
        let r = try s.dvbackup("restore", "--dataset", "doi:" + files[0].relativePath.split(separator: "/").prefix(3).joined(separator: "/"),
                               "--to", out, config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        for f in files { #expect(s.bytes(at: out + "/" + f.relativePath) == f.bytes) }

        // Orphans and leftovers on the server: the temporary's age set back with touch.
        try s.deleteFromCatalog(file: files[3])
        let temp = remote.local + "/" + (files[0].relativePath as NSString).deletingLastPathComponent + "/." + files[0].name + ".dvbackup-partial"
        try Data(count: 10).write(to: URL(fileURLWithPath: temp))
        guard let pw = getpwnam(account) else { throw TestFailure("no account \(account)") }
        chown(temp, pw.pointee.pw_uid, pw.pointee.pw_gid)
        try touchBack(temp, days: 3)
        let clean = try s.dvbackup("audit", "--orphans", "--clean-leftovers", config: config)
        #expect(clean.code == 0, "\(clean.stdout)\n\(clean.stderr)")
        #expect(clean.stdout.contains("orphan    \(files[3].relativePath)") && clean.stdout.contains("file deleted in Dataverse"), "\(clean.stdout)")
        #expect(clean.stdout.contains(".dvbackup-partial  10 B  3 d old  temporary of an interrupted copy  removed"), "\(clean.stdout)\n\(clean.stderr)")
        #expect(!FileManager.default.fileExists(atPath: temp))
        #expect(FileManager.default.fileExists(atPath: remote.local + "/" + files[3].relativePath), "an orphan copy is never deleted")
    }

    @Test func a260MiBFileIsRestoredOverSFTPInFlatMemory() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 1313)
        let remote = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        let config = try s.writeSSHConfig(backupDirectory: remote.remote)
        let ds = try s.addDataset()
        let size = 260 << 20
        var bytes = [UInt8](repeating: 0, count: size)
        for i in stride(from: 0, to: size, by: 4096) { bytes[i] = UInt8(truncatingIfNeeded: i >> 12) }
        let big = try s.addFile(dataset: ds, bytes: bytes, checksumType: .sha256)
        bytes = []
        #expect(try s.dvbackup("run", config: config).code == 0)
        let out = try s.makeDirectory("out")
        let (r, rss) = try s.dvbackupMeasured(["restore", "--datafile", String(big.id), "--to", out], config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        let restored = try #require(FileManager.default.contents(atPath: out + "/" + big.relativePath))
        #expect(restored.count == size)
        #expect(Digest.hex(.sha256, of: [UInt8](restored)) == Digest.hex(.sha256, of: big.bytes))
        #expect(rss > 0 && rss < 64 << 20, "peak RSS \(rss) bytes")
    }
}

@Suite(.enabled(if: TestSwift.enabled), .serialized)
struct RestoreSwiftTests {
    @Test func aStaticLargeObjectIsRestoredAndADamagedCopyIsNot() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 1321)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset()
        let slo = try s.addFile(dataset: ds, size: 3 * (1 << 20) + 4321, checksumType: .sha256)
        let small = try s.addFile(dataset: ds, size: 5000)
        let config = try s.writeSwiftConfig(authURL: authURL, container: container, extra: ["SwiftSegmentSize = 1MiB"])
        #expect(try s.dvbackup("run", config: config).code == 0)
        #expect(try probe.head(container, slo.relativePath).headers["X-Static-Large-Object"]?.lowercased() == "true")
        // The small copy is replaced by other bytes behind dvbackup's back.
        _ = try probe.request(.put, probe.url(container, small.relativePath), body: Array(repeating: 7, count: 5000))

        let out = try s.makeDirectory("out")
        let r = try s.dvbackup("restore", "--datafile", String(slo.id), "--datafile", String(small.id), "--to", out, config: config)
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(s.bytes(at: out + "/" + slo.relativePath) == slo.bytes)
        #expect(!FileManager.default.fileExists(atPath: out + "/" + small.relativePath))
        #expect(r.stdout.contains("FAILED         datafile \(small.id)") && r.stdout.contains("is damaged"), "\(r.stdout)")
    }

    /// A Static Large Object is read segment by segment (the proxy does not hash what
    /// dvbackup hashes anyway); a segment changed, deleted or cut behind dvbackup's back makes
    /// the copy fail, and nothing is written for it.
    @Test func aStaticLargeObjectIsReadSegmentBySegmentAndADamagedSegmentIsFound() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 1323)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset()
        let files = try (0..<4).map { i in try s.addFile(dataset: ds, size: 3 * (1 << 20) + 1000 + i, checksumType: .sha256) }
        let config = try s.writeSwiftConfig(authURL: authURL, container: container, extra: ["SwiftSegmentSize = 1MiB"])
        #expect(try s.dvbackup("run", config: config).code == 0)
        func segment(_ f: TestFile, _ n: Int) throws -> String {
            let all = try probe.manifestSegments(container, f.relativePath)
            try #require(all.count == 4, "\(all)")
            return String(all[n].drop(while: { $0 != "/" }).dropFirst())
        }
        let segments = container + "_segments"
        // files[1]: its second segment holds other bytes of the same size.
        _ = try probe.request(.put, probe.url(segments, try segment(files[1], 1)), body: Array(repeating: 9, count: 1 << 20))
        // files[2]: its second segment is gone.
        let gone = try segment(files[2], 1)
        _ = try probe.request(.delete, probe.url(segments, gone))
        // files[3]: its third segment is cut short.
        _ = try probe.request(.put, probe.url(segments, try segment(files[3], 2)), body: Array(repeating: 9, count: 1000))

        let out = try s.makeDirectory("out")
        let r = try s.dvbackup("restore", "--dataset", "doi:" + files[0].relativePath.split(separator: "/").prefix(3).joined(separator: "/"),
                               "--to", out, "--log-level", "debug", config: config)
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(s.bytes(at: out + "/" + files[0].relativePath) == files[0].bytes)
        #expect(r.stderr.contains("\(container)/\(files[0].relativePath) read as 4 segment(s), each with a GET of its own"), "\(r.stderr)")
        for f in files.dropFirst() {
            #expect(!FileManager.default.fileExists(atPath: out + "/" + f.relativePath), "nothing is written for datafile \(f.id)")
            #expect(r.stdout.contains("FAILED         datafile \(f.id)"), "\(r.stdout)")
        }
        #expect(r.stdout.contains("datafile \(files[1].id) (") && r.stdout.contains("is damaged: its SHA256 is"), "\(r.stdout)")
        #expect(r.stdout.contains("segment 2 of 4 of \(container)/\(files[2].relativePath)") && r.stdout.contains("\(gone)) (404 Not Found)"),
                "\(r.stdout)")
        #expect(r.stdout.contains("segment 3 of 4 of \(container)/\(files[3].relativePath)") && r.stdout.contains("holds 1000 bytes, its manifest says 1048576"),
                "\(r.stdout)")
        let partials = try FileManager.default.subpathsOfDirectory(atPath: out).filter { $0.contains(".dvbackup-restore-") }
        #expect(partials.isEmpty, "\(partials)")
    }

    @Test func unreferencedSegmentsAreLeftoversAndOnlyOldOnesAreRemoved() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 1322)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset()
        let slo = try s.addFile(dataset: ds, size: 2 * (1 << 20) + 10, checksumType: .sha256)
        let deleted = try s.addFile(dataset: ds, size: 100)
        let config = try s.writeSwiftConfig(authURL: authURL, container: container, extra: ["SwiftSegmentSize = 1MiB"])
        #expect(try s.dvbackup("run", config: config).code == 0)
        try s.deleteFromCatalog(file: deleted)
        let stray = slo.relativePath + "/slo/20200101T000000Z-deadbeef/00000000"
        let staged = slo.relativePath + "/tmp/20200101T000000Z-deadbeef"
        for name in [stray, staged] {
            _ = try probe.request(.put, probe.url(container + "_segments", name), body: Array(repeating: 1, count: 123))
        }
        let referenced = try probe.manifestSegments(container, slo.relativePath)

        let list = try s.dvbackup("audit", "--orphans", config: config)
        #expect(list.code == 0, "\(list.stdout)\n\(list.stderr)")
        #expect(list.stdout.contains("orphan    \(deleted.relativePath)"), "\(list.stdout)")
        #expect(list.stdout.contains("leftover  /\(container)_segments/\(stray)  123 B") && list.stdout.contains("segment no manifest references"), "\(list.stdout)")
        #expect(list.stdout.contains("leftover  /\(container)_segments/\(staged)"), "\(list.stdout)")
        for segment in referenced { #expect(!list.stdout.contains(segment), "a referenced segment is not a leftover") }

        // Swift's last-modified time cannot be set back: the scan is run two days later instead.
        let settings = try Settings.load(path: config)
        let scan = OrphanScan(settings: settings, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
                              output: OutputWriter(fd: open("/dev/null", O_WRONLY)), cleanLeftovers: true,
                              now: { Date().timeIntervalSince1970 + 2 * 86_400 })
        #expect(scan.run() == .success)
        #expect(scan.summary.leftoversRemoved == 2)
        let left = try probe.list(container + "_segments")
        #expect(!left.contains(stray) && !left.contains(staged))
        #expect(Set(referenced.map { String($0.dropFirst(container.count + "_segments/".count)) }).isSubset(of: Set(left)),
                "segments a manifest references stay")
        #expect(try probe.digest(container, slo.relativePath, .sha256)?.hex == Digest.hex(.sha256, of: slo.bytes))
        #expect(try probe.get(container, deleted.relativePath) == deleted.bytes, "an orphan copy is never deleted")
    }
}

@Suite(.enabled(if: TestS3Server.enabled), .serialized)
struct RestoreS3Tests {
    @Test func aMissingS3PrimaryIsRestoredIntoItsStoreAndThenPasses() throws {
        let moto = try TestS3Server.requireMoto()
        let s = try Sandbox(seed: 1331)
        let bucket = try moto.makeBucket(s)
        let ds = try s.addDataset()
        let f = try s.addS3File(moto, dataset: ds, bucket: bucket, size: 70_000)
        let config = try s.writeConfig(stores: s.s3StoreLines(moto, bucket: bucket))
        #expect(try s.dvbackup("run", config: config).code == 0)
        // The primary is deleted from the bucket.
        let client = try HTTPClient()
        let url = moto.endpoint + "/" + bucket + "/" + f.relativePath
        let del = try client.perform(HTTPRequest(method: .delete, url: url, headers: [("x-amz-content-sha256", Digest.hex(.sha256, of: []))],
                                                 sigV4: moto.credentials))
        #expect(del.isSuccess)

        let r = try s.dvbackup("restore", "--datafile", String(f.id), "--into-store", config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        var got: [UInt8] = []
        let get = try client.perform(HTTPRequest(url: url, headers: [("x-amz-content-sha256", Digest.hex(.sha256, of: []))], sigV4: moto.credentials),
                                     download: { got += $0 })
        #expect(get.status == 200)
        #expect(got == f.bytes)
        // The primary now passes its checksum: a second restore leaves it alone.
        let again = try s.dvbackup("restore", "--datafile", String(f.id), "--into-store", config: config)
        #expect(again.code == 0)
        #expect(again.stdout.contains("intact         datafile \(f.id)"), "\(again.stdout)")
    }
}
