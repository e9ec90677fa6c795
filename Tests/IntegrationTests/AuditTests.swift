import DVBackup
import Foundation
import Testing

/// `dvbackup audit` on a local directory, and `audit --source` on a file store: damage found
/// with the right status and reason, healed by the next run; the rotation and its budgets;
/// --quick; a target that is gone; bad arguments.
@Suite(.enabled(if: TestPostgres.enabled))
struct AuditTests {
    /// Four files in one dataset, backed up.
    func world(seed: UInt64, count: Int = 4, size: Int = 1000) throws -> (Sandbox, [TestFile], String) {
        let s = try Sandbox(seed: seed)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/AUDIT")
        var files: [TestFile] = []
        for i in 0..<count { files.append(try s.addFile(dataset: ds, size: size, checksumType: i % 2 == 0 ? .md5 : .sha256)) }
        let config = try s.writeConfig()
        let r = try s.dvbackup("run", config: config)
        #expect(r.code == 0, "\(r.stderr)")
        return (s, files, config)
    }

    @Test func damagedCopiesAreFoundAndHealedByTheNextRun() throws {
        let (s, f, config) = try world(seed: 501)
        let written = try s.verifications()
        for x in f {
            #expect(written[x.id]?.lastVerified != nil, "writing a copy proves it: its first verification")
            #expect(written[x.id]?.method?.hasPrefix("copy: ") == true)
        }
        try Damage.delete(s.backupDir + "/" + f[0].relativePath)
        try Damage.truncate(s.backupDir + "/" + f[1].relativePath)
        try Damage.flipByte(s.backupDir + "/" + f[2].relativePath)
        let before = try Damage.now(s)

        let audit = try s.dvbackup("audit", "--all", config: config)
        #expect(audit.code == 1, "\(audit.stdout)\n\(audit.stderr)")
        let v = try s.verifications()
        #expect(v[f[0].id]?.status == "FAIL_AUDIT_MISSING")
        #expect(v[f[1].id]?.status == "FAIL_AUDIT_CORRUPT")
        #expect(v[f[1].id]?.lastError?.contains("holds 100 bytes, 1000 were copied") == true, "\(v[f[1].id]?.lastError ?? "")")
        #expect(v[f[2].id]?.status == "FAIL_AUDIT_CORRUPT")
        let flipped = Digest.hex(.md5, of: try [UInt8](Data(contentsOf: URL(fileURLWithPath: s.backupDir + "/" + f[2].relativePath))))
        #expect(v[f[2].id]?.lastError?.contains(flipped) == true && v[f[2].id]?.lastError?.contains(Digest.hex(.md5, of: f[2].bytes)) == true,
                "the reason gives both digests: \(v[f[2].id]?.lastError ?? "")")
        #expect(v[f[3].id]?.status == "OK")
        #expect(try s.verifiedSince(before) == [f[3].id], "only the intact copy counts as verified again")
        #expect(v[f[3].id]?.method?.hasPrefix("audit: read back from the disk") == true)
        #expect(audit.stdout.contains("Audit findings, most serious first (3)"), "\(audit.stdout)")
        let corruptLine = try #require(audit.stdout.range(of: "FAIL_AUDIT_CORRUPT:"))
        let missingLine = try #require(audit.stdout.range(of: "FAIL_AUDIT_MISSING:"))
        #expect(corruptLine.lowerBound < missingLine.lowerBound, "most serious first")
        let status = try s.dvbackup("status", "--status", "FAIL_AUDIT_CORRUPT", config: config)
        #expect(status.code == 0)
        #expect(status.stdout.contains("Files with status FAIL_AUDIT_CORRUPT (2)"), "\(status.stdout)")

        // The next (incremental) run heals them from the primaries.
        let heal = try s.dvbackup("run", config: config)
        #expect(heal.code == 0, "\(heal.stdout)\n\(heal.stderr)")
        let healed = try s.verifications()
        for x in f {
            #expect(healed[x.id]?.status == "OK")
            #expect(s.backupBytes(x) == x.bytes)
        }
        #expect(try s.dvbackup("audit", "--all", config: config).code == 0)
    }

    @Test func aPrimaryAndItsCopyBothDamagedOverwriteNothingAndAreReported() throws {
        let (s, f, config) = try world(seed: 502, count: 2)
        try Damage.flipByte(s.backupDir + "/" + f[0].relativePath, at: 5)
        let damagedCopy = s.backupBytes(f[0])
        try Damage.flipByte(f[0].sourcePath, at: 9)
        #expect(try s.dvbackup("audit", "--all", config: config).code == 1)
        let run = try s.dvbackup("run", config: config)
        #expect(run.code == 1)
        let v = try s.verifications()
        #expect(v[f[0].id]?.status == "FAIL_SOURCE_CHECKSUM")
        #expect(v[f[0].id]?.lastError?.hasPrefix("NO PROVEN COPY ANYWHERE: the backup copy was found corrupt by an audit") == true,
                "\(v[f[0].id]?.lastError ?? "")")
        #expect(run.stdout.contains("NO PROVEN COPY ANYWHERE"), "\(run.stdout)")
        #expect(s.backupBytes(f[0]) == damagedCopy, "nothing was overwritten")
        #expect(v[f[1].id]?.status == "OK")
    }

    @Test func theRotationTakesTheOldestFirstWithinMaxBytesUntilAllAreCovered() throws {
        let (s, f, config) = try world(seed: 503, count: 6)
        // Verified long ago, in this order: f[0] oldest.
        try s.setLastVerified(f)
        var covered: [Set<Int64>] = []
        for _ in 0..<3 {
            let before = try Damage.now(s)
            let r = try s.dvbackup("audit", "--max-bytes", "2KB", config: config)
            #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
            covered.append(try s.verifiedSince(before))
        }
        #expect(covered == [[f[0].id, f[1].id], [f[2].id, f[3].id], [f[4].id, f[5].id]])
        // All covered: nothing is overdue, and the summary says so.
        let last = try s.dvbackup("audit", "--max-bytes", "2000", config: config)
        #expect(last.stdout.contains("0 copies not verified within the cycle of 90d"), "\(last.stdout)")
    }

    @Test func neverVerifiedCopiesGoFirstAndMaxTimeStopsTheAudit() throws {
        let (s, f, config) = try world(seed: 504, count: 3)
        try s.setLastVerified(f)
        try s.setLastVerified([f[2]], never: true)
        let before = try Damage.now(s)
        // A budget already spent when the first copy is considered: nothing is taken.
        let none = try s.dvbackup("audit", "--max-bytes", "999", config: config)
        #expect(none.code == 0)
        #expect(try s.verifiedSince(before).isEmpty)
        #expect(none.stdout.contains("never (1 never verified)"), "\(none.stdout)")
        #expect(none.stdout.contains("not kept"), "\(none.stdout)")
        let one = try s.dvbackup("audit", "--max-bytes", "1000", config: config)
        #expect(one.code == 0)
        #expect(try s.verifiedSince(before) == [f[2].id], "never verified first")
        let timed = try s.dvbackup("audit", "--max-time", "1h", config: config)
        #expect(timed.code == 0)
        #expect(try s.verifiedSince(before) == Set(f.map(\.id)), "within the time cap, the rest of the rotation")
    }

    @Test func quickIsPresentNotVerified() throws {
        let (s, f, config) = try world(seed: 505, count: 2)
        try s.setLastVerified(f)
        let r = try s.dvbackup("audit", "--quick", "--all", config: config)
        #expect(r.code == 0, "\(r.stderr)")
        #expect(r.stdout.contains("present                 2"), "\(r.stdout)")
        let v = try s.verifications()
        for x in f {
            #expect(v[x.id]?.lastVerified?.hasPrefix("2020-01-") == true, "--quick is not a verification")
            #expect(v[x.id]?.lastPresent != nil)
        }
        try Damage.truncate(s.backupDir + "/" + f[0].relativePath)
        #expect(try s.dvbackup("audit", "--quick", "--all", config: config).code == 1)
        #expect(try s.verifications()[f[0].id]?.status == "FAIL_AUDIT_CORRUPT")
    }

    @Test func aTargetThatIsGoneIsExit3AndChangesNoStatus() throws {
        let (s, f, _) = try world(seed: 506, count: 2)
        let gone = try s.writeConfig(backupLines: ["StorageType: local", "BackupDirectory = \(s.root)/not-mounted"], name: "gone.ini")
        let r = try s.dvbackup("audit", "--all", config: gone)
        #expect(r.code == 3)
        #expect(r.stderr.contains("not-mounted"))
        // An empty directory is a file system that is not mounted, not a backup that vanished.
        try FileManager.default.createDirectory(atPath: s.root + "/empty", withIntermediateDirectories: true)
        let empty = try s.writeConfig(backupLines: ["StorageType: local", "BackupDirectory = \(s.root)/empty"], name: "empty.ini")
        let e = try s.dvbackup("audit", "--all", config: empty)
        #expect(e.code == 3, "\(e.stdout)\n\(e.stderr)")
        #expect(e.stderr.contains("is empty"))
        for x in f { #expect(try s.verifications()[x.id]?.status == "OK") }
    }

    @Test func badArgumentsAreExit2WithClearErrors() throws {
        let (s, _, config) = try world(seed: 507, count: 1)
        let file = try s.dvbackup("audit", "--datafile", "987654", config: config)
        #expect(file.code == 2)
        #expect(file.stderr.contains("--datafile: 987654: no such datafile"), "\(file.stderr)")
        let ds = try s.dvbackup("audit", "--dataset", "doi:10.5072/FK2/NOPE", config: config)
        #expect(ds.code == 2)
        #expect(ds.stderr.contains("--dataset: doi:10.5072/FK2/NOPE"), "\(ds.stderr)")
        let size = try s.dvbackup("audit", "--max-bytes", "lots", config: config)
        #expect(size.code == 2)
        #expect(size.stderr.contains("--max-bytes: 'lots' is not a size"))
    }

    @Test func aDamagedPrimaryIsFoundByAuditSourceAndReportedRestorable() throws {
        let (s, f, config) = try world(seed: 508, count: 3)
        try Damage.flipByte(f[0].sourcePath)
        try Damage.delete(f[1].sourcePath)
        let r = try s.dvbackup("audit", "--source", "--all", config: config)
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        let fixity = try s.sourceFixity()
        #expect(fixity[f[0].id]?.result == "damaged")
        #expect(fixity[f[1].id]?.result == "missing")
        #expect(fixity[f[2].id]?.result == "ok")
        #expect(r.stdout.contains("PRIMARY DAMAGED, RESTORABLE"))
        #expect(r.stdout.contains("restore it: dvbackup restore --config \(config) --datafile \(f[0].id) --into-store"), "\(r.stdout)")
        #expect(try s.verifications()[f[0].id]?.status == "OK", "a damaged primary does not make a proven copy less proven")
        let runs = try s.backupConnection().query("SELECT mode FROM dvbackup_run ORDER BY id")
        #expect((0..<runs.rowCount).map { runs.string($0, 0) } == ["incremental", "audit-source"])
    }
}
