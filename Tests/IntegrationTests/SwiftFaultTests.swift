import DVBackup
import Foundation
import Testing

/// Faults on the way to a real Swift: corrupted bytes on the wire, a cut connection, a token
/// that expires in the middle of a file, a run killed in the middle of a large object.
extension SwiftTests {
    @Test func bytesCorruptedAfterTheHashAreCaughtByTheETagChecks() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 211)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/CORRUPT")
        // A good copy first (SHA-1 in the catalog).
        let good = try s.addFile(dataset: ds, size: 200_000, checksumType: .sha1)
        let config = try s.writeSwiftConfig(authURL: authURL, container: container, extra: ["SwiftSegmentSize = 1MiB"])
        #expect(try s.dvbackup("run", config: config).code == 0)
        let goodMD5 = Digest.hex(.md5, of: good.bytes)
        // The catalog now gives it an MD5: it is copied again, with the MD5 sent ahead as its ETag.
        try s.catalog.query("UPDATE datafile SET checksumtype = 'MD5', checksumvalue = $2 WHERE id = $1", [String(good.id), goodMD5])
        // A Static Large Object, and one object sent through a temporary copy.
        let slo = try s.addFile(dataset: ds, size: 10 << 20, checksumType: .sha256)
        let single = try s.addFile(dataset: ds, size: 6 << 20 - 1000, checksumType: .sha512)
        // And a small one held in memory and sent with its MD5 as ETag.
        let small = try s.addFile(dataset: ds, size: 100_000, checksumType: .sha256)
        let shim = try FaultShim.build(in: s)
        let port = FaultShim.port(of: authURL)
        let r = try s.dvbackup("run", "--rerun", config: try s.writeSwiftConfig(authURL: authURL, container: container,
                                                                                extra: ["SwiftSegmentSize = 8MiB"]),
                               environment: ["LD_PRELOAD": shim, "DVB_SHIM_CORRUPT_PORT": port])
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        let rows = try s.statusRows()
        for f in [good, slo, single, small] {
            #expect(rows[f.id]?.status == "FAIL_VERIFY", "datafile \(f.id): \(rows[f.id]?.status ?? "") \(rows[f.id]?.lastError ?? "")")
        }
        #expect(rows[good.id]?.lastError?.contains("422 Unprocessable Entity") == true, "\(rows[good.id]?.lastError ?? "")")
        #expect(rows[good.id]?.lastError?.contains(goodMD5) == true)
        #expect(rows[small.id]?.lastError?.contains("422 Unprocessable Entity") == true, "\(rows[small.id]?.lastError ?? "")")
        // Both MD5s are named: Swift's ETag and the MD5 of what was sent.
        for f in [slo, single] {
            let e = rows[f.id]?.lastError ?? ""
            #expect(e.contains("the MD5 of the bytes sent is"), "\(e)")
            let hexes = e.split(whereSeparator: { !$0.isHexDigit }).filter { $0.count == 32 }
            #expect(Set(hexes).count == 2, "two different MD5s in: \(e)")
        }
        // The good copy is untouched (still the one proven against SHA-1), nothing else was
        // published, and no segment or temporary copy is left.
        #expect(try probe.get(container, good.relativePath) == good.bytes)
        #expect(try probe.head(container, good.relativePath).headers["X-Object-Meta-Dv-Checksum-Type"] == "SHA1")
        #expect(try probe.head(container, slo.relativePath).status == 404)
        #expect(try probe.head(container, single.relativePath).status == 404)
        #expect(try probe.head(container, small.relativePath).status == 404)
        #expect(try probe.list(container + "_segments").isEmpty)
        // Without the fault, the next run copies them.
        let again = try s.dvbackup("run", config: config)
        #expect(again.code == 0, "\(again.stdout)\n\(again.stderr)")
        for f in [good, slo, single, small] {
            #expect(try s.statusRows()[f.id]?.status == "OK")
            #expect(try probe.get(container, f.relativePath) == f.bytes)
        }
        #expect(try probe.head(container, good.relativePath).headers["X-Object-Meta-Dv-Checksum-Type"] == "MD5")
    }

    @Test func aCutConnectionIsRetried() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 212)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/CUT")
        let f = try s.addFile(dataset: ds, size: 3 << 20, checksumType: .md5)
        let shim = try FaultShim.build(in: s)
        let r = try s.dvbackup("run", config: try s.writeSwiftConfig(authURL: authURL, container: container, workers: 1),
                               environment: ["LD_PRELOAD": shim, "DVB_SHIM_CUT_PORT": FaultShim.port(of: authURL)])
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("trying again (attempt 2 of 3)"), "\(r.stderr)")
        #expect(try s.statusRows()[f.id]?.status == "OK")
        #expect(try probe.get(container, f.relativePath) == f.bytes)
    }

    @Test func anExpiredTokenIsRenewedAndTheRequestSentAgain() throws {
        let authURL = try TestSwift.requireShortTokenServer()
        let s = try Sandbox(seed: 213)
        let container = s.swiftContainer
        defer { try? SwiftProbe(authURL: authURL).destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/TOKEN")
        let f = try s.addFile(dataset: ds, size: 4 << 20, checksumType: .sha256)
        // The source stalls for longer than a token lives, in the middle of the file: the
        // segments after the pause and the manifest are sent with a token that has expired.
        let shim = try FaultShim.build(in: s)
        let name = URL(fileURLWithPath: f.sourcePath).lastPathComponent
        let config = try s.writeSwiftConfig(authURL: authURL, container: container, extra: ["SwiftSegmentSize = 1MiB"], workers: 1)
        let r = try s.dvbackup("run", "--log-level", "debug", config: config, environment: [
            "LD_PRELOAD": shim, "DVB_SHIM_SLOW_READ": name, "DVB_SHIM_SLOW_AFTER": String(3 << 19), "DVB_SHIM_SLOW_SECONDS": "5",
        ])
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("the token was refused (401"), "\(r.stderr)")
        #expect(r.stderr.contains("authenticating again at \(authURL)"))
        // tempauth tokens are <reseller>_tk<hex>: none in the log, even at debug level.
        #expect(!r.stderr.contains("_tk") && !r.stdout.contains("_tk"), "no token in the log")
        #expect(!r.stderr.contains(TestSwift.key))
        #expect(try s.statusRows()[f.id]?.status == "OK")
        // A new token: the probe's own has expired too.
        #expect(try SwiftProbe(authURL: authURL).digest(container, f.relativePath, .sha256)?.hex == Digest.hex(.sha256, of: f.bytes))
    }

    @Test func aRunKilledInTheMiddleOfALargeObjectLeavesTheOldCopyAndTheRerunCleansUp() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 214)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/KILL")
        let size = 24 << 20
        let f = try s.addFile(dataset: ds, size: size, checksumType: .sha1)
        let config = try s.writeSwiftConfig(authURL: authURL, container: container, extra: ["SwiftSegmentSize = 2MiB"], workers: 1)
        #expect(try s.dvbackup("run", config: config).code == 0)
        let oldSegments = try probe.manifestSegments(container, f.relativePath)
        #expect(oldSegments.count == 12)
        // The catalog's checksum changes: the file is copied again, and the run is killed while
        // it sends the segments (the source stalls after 10 MiB, long enough to be killed).
        try s.catalog.query("UPDATE datafile SET checksumtype = 'SHA256', checksumvalue = $2 WHERE id = $1",
                            [String(f.id), Digest.hex(.sha256, of: f.bytes)])
        let shim = try FaultShim.build(in: s)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Sandbox.binary)
        p.arguments = ["run", "--config", config]
        var env = ProcessInfo.processInfo.environment
        env["LD_PRELOAD"] = shim
        env["DVB_SHIM_SLOW_READ"] = URL(fileURLWithPath: f.sourcePath).lastPathComponent
        env["DVB_SHIM_SLOW_AFTER"] = String(10 << 20)
        env["DVB_SHIM_SLOW_SECONDS"] = "60"
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let prefix = f.relativePath + "/slo/"
        func newSegments() -> [String] {
            ((try? probe.list(container + "_segments", prefix: prefix)) ?? []).filter { !oldSegments.contains(container + "_segments/" + $0) }
        }
        let deadline = Date().addingTimeInterval(60)
        while newSegments().count < 4, Date() < deadline, p.isRunning { usleep(100_000) }
        let leftovers = newSegments()
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(leftovers.count >= 4, "the killed run had stored segments of its attempt")
        // The old copy is whole and still the one its manifest describes.
        #expect(try probe.manifestSegments(container, f.relativePath) == oldSegments)
        #expect(try probe.digest(container, f.relativePath, .sha1)?.hex == Digest.hex(.sha1, of: f.bytes))
        #expect(try probe.head(container, f.relativePath).headers["X-Object-Meta-Dv-Checksum-Type"] == "SHA1")

        let rerun = try s.dvbackup("run", "--log-level", "debug", config: config)
        #expect(rerun.code == 0, "\(rerun.stdout)\n\(rerun.stderr)")
        #expect(try s.statusRows()[f.id]?.status == "OK")
        #expect(try probe.digest(container, f.relativePath, .sha256)?.hex == Digest.hex(.sha256, of: f.bytes))
        #expect(try probe.head(container, f.relativePath).headers["X-Object-Meta-Dv-Checksum-Type"] == "SHA256")
        let current = try probe.manifestSegments(container, f.relativePath)
        #expect(current.count == 12 && Set(current).isDisjoint(with: oldSegments))
        #expect(Set(try probe.list(container + "_segments").map { container + "_segments/" + $0 }) == Set(current),
                "the killed attempt's segments and the old copy's are gone")
        #expect(rerun.stderr.contains("removed \(12 + leftovers.count) leftover segment(s)") || rerun.stderr.contains("leftover"), "\(rerun.stderr)")
    }
}

extension SwiftTests {
    /// Peak RSS of a `dvbackup run` in kB, measured by GNU time.
    func peakRSS(_ s: Sandbox, _ config: String) throws -> (code: Int32, kB: Int, stderr: String) {
        let out = s.root + "/time.out", err = s.root + "/time.err"
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        p.arguments = ["-f", "%M", "-o", out, Sandbox.binary, "run", "--config", config]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        try p.run()
        p.waitUntilExit()
        let text = try String(contentsOfFile: out, encoding: .utf8)
        let kB = Int(text.split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? -1
        return (p.terminationStatus, kB, (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    @Test func memoryStaysFlatFor200MiBFiles() throws {
        let authURL = try TestSwift.requireServer()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
            throw TestFailure("/usr/bin/time (Debian package time) is needed to measure the peak RSS")
        }
        let s = try Sandbox(seed: 215)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/MEM")
        // Baseline: one small file.
        let tiny = try s.addFile(dataset: ds, size: 1000, checksumType: .md5)
        let base = try peakRSS(s, try s.writeSwiftConfig(authURL: authURL, container: container))
        #expect(base.code == 0, "\(base.stderr)")
        let random = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
        // 200 MiB in one PUT, its MD5 sent ahead.
        let single = try s.addFile(dataset: ds, bytes: [UInt8](random.readData(ofLength: 200 << 20)), checksumType: .md5)
        let one = try peakRSS(s, try s.writeSwiftConfig(authURL: authURL, container: container, extra: ["SwiftSegmentSize = 256MiB"]))
        #expect(one.code == 0, "\(one.stderr)")
        // 200 MiB as a Static Large Object of 16 MiB segments.
        let slo = try s.addFile(dataset: ds, bytes: [UInt8](random.readData(ofLength: 200 << 20)), checksumType: .sha256)
        let segmented = try peakRSS(s, try s.writeSwiftConfig(authURL: authURL, container: container, extra: ["SwiftSegmentSize = 16MiB"]))
        #expect(segmented.code == 0, "\(segmented.stderr)")
        let rows = try s.statusRows()
        for f in [tiny, single, slo] { #expect(rows[f.id]?.status == "OK") }
        #expect(try probe.digest(container, single.relativePath, .md5)?.hex == Digest.hex(.md5, of: single.bytes))
        #expect(try probe.digest(container, slo.relativePath, .sha256)?.hex == Digest.hex(.sha256, of: slo.bytes))
        #expect(try probe.manifestSegments(container, slo.relativePath).count == 13)
        print("swift peak RSS: \(base.kB) kB for a 1000-byte file, \(one.kB) kB for 200 MiB in one PUT, \(segmented.kB) kB for 200 MiB in 13 segments")
        // A few MiB of buffers per upload, whatever the file's size.
        for (what, m) in [("one PUT", one), ("segments", segmented)] {
            #expect(m.kB > 0 && m.kB < base.kB + 24 * 1024, "\(what): peak RSS \(m.kB) kB for 200 MiB, \(base.kB) kB for 1000 bytes")
        }
    }
}
