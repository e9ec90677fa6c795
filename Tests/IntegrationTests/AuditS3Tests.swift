import DVBackup
import Foundation
import Testing

/// `dvbackup audit --source` on an S3 store (moto): a damaged and a missing primary found,
/// recorded in `sourcefixity`, reported restorable, restored by `restore --damaged-primaries
/// --into-store` and passed by the next audit; a store that cannot be used stops the audit
/// with exit 3 and records nothing.
@Suite(.enabled(if: TestS3Server.enabled), .serialized)
struct AuditS3Tests {
    /// Three files in an S3 bucket, backed up to a local directory.
    func world(seed: UInt64) throws -> (Sandbox, TestS3Server, String, [TestFile], String) {
        let moto = try TestS3Server.requireMoto()
        let s = try Sandbox(seed: seed)
        let bucket = try moto.makeBucket(s)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/AUDITS3")
        let files = try (0..<3).map { _ in try s.addS3File(moto, dataset: ds, bucket: bucket, size: 9000) }
        let config = try s.writeConfig(stores: s.s3StoreLines(moto, bucket: bucket))
        let r = try s.dvbackup("run", config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        return (s, moto, bucket, files, config)
    }

    func object(_ moto: TestS3Server, _ bucket: String, _ f: TestFile, _ method: HTTPMethod = .get) throws -> (status: Int, bytes: [UInt8]) {
        var got: [UInt8] = []
        let r = try HTTPClient().perform(HTTPRequest(method: method, url: moto.endpoint + "/" + bucket + "/" + f.relativePath,
                                                     headers: [("x-amz-content-sha256", Digest.hex(.sha256, of: []))],
                                                     sigV4: moto.credentials),
                                         download: method == .get ? { got += $0 } : nil)
        return (r.status, got)
    }

    @Test func aDamagedAndAMissingS3PrimaryAreFoundRestoredAndThenPass() throws {
        let (s, moto, bucket, f, config) = try world(seed: 1351)
        var damaged = f[0].bytes
        damaged[100] ^= 0x40
        try moto.put(bucket: bucket, key: f[0].relativePath, damaged)
        #expect(try object(moto, bucket, f[1], .delete).status == 204)

        let audit = try s.dvbackup("audit", "--source", "--all", config: config)
        #expect(audit.code == 1, "\(audit.stdout)\n\(audit.stderr)")
        let fixity = try s.sourceFixity()
        #expect(fixity[f[0].id]?.result == "damaged")
        #expect(fixity[f[0].id]?.reason?.contains(Digest.hex(.md5, of: damaged)) == true, "\(fixity[f[0].id]?.reason ?? "")")
        #expect(fixity[f[1].id]?.result == "missing")
        #expect(fixity[f[1].id]?.reason?.contains("404") == true, "\(fixity[f[1].id]?.reason ?? "")")
        #expect(fixity[f[2].id]?.result == "ok")
        #expect(audit.stdout.contains("PRIMARY DAMAGED, RESTORABLE"), "\(audit.stdout)")
        #expect(audit.stdout.contains("PRIMARY MISSING, RESTORABLE"), "\(audit.stdout)")
        for x in f.prefix(2) {
            #expect(audit.stdout.contains("restore it: dvbackup restore --config \(config) --datafile \(x.id) --into-store"), "\(audit.stdout)")
        }
        for x in f { #expect(try s.verifications()[x.id]?.status == "OK", "the copies stay proven") }

        // What the audit found is what --damaged-primaries restores.
        let dry = try s.dvbackup("restore", "--damaged-primaries", "--into-store", "--dry-run", config: config)
        #expect(dry.code == 0, "\(dry.stdout)\n\(dry.stderr)")
        #expect(dry.stdout.contains("would restore  datafile \(f[0].id)") && dry.stdout.contains("would restore  datafile \(f[1].id)"), "\(dry.stdout)")
        #expect(!dry.stdout.contains("datafile \(f[2].id)"), "\(dry.stdout)")
        let restore = try s.dvbackup("restore", "--damaged-primaries", "--into-store", config: config)
        #expect(restore.code == 0, "\(restore.stdout)\n\(restore.stderr)")
        for x in f { #expect(try object(moto, bucket, x).bytes == x.bytes) }

        let again = try s.dvbackup("audit", "--source", "--all", config: config)
        #expect(again.code == 0, "\(again.stdout)\n\(again.stderr)")
        #expect(try s.sourceFixity().values.map(\.result) == ["ok", "ok", "ok"])
    }

    @Test func anS3StoreThatCannotBeUsedStopsTheAuditWithExit3AndRecordsNothing() throws {
        let (s, moto, bucket, f, _) = try world(seed: 1352)
        // Nothing listens on port 9 (connection refused); the right endpoint with a wrong
        // secret (403 on the bucket).
        let refused = try s.writeConfig(stores: s.s3StoreLines(moto, bucket: bucket, endpoint: "http://127.0.0.1:9"), name: "refused.ini")
        let forbidden = try s.writeConfig(stores: s.s3StoreLines(moto, bucket: bucket, secret: "not-the-secret"), name: "forbidden.ini")
        for (config, words) in [(refused, "127.0.0.1:9"), (forbidden, "403")] {
            let r = try s.dvbackup("audit", "--source", "--all", config: config)
            #expect(r.code == 3, "\(r.stdout)\n\(r.stderr)")
            #expect(r.stderr.contains("the S3 store 's3'") && r.stderr.contains("cannot be used") && r.stderr.contains(words), "\(r.stderr)")
            #expect(!r.stdout.contains("UNREADABLE"), "a store that is down is not a finding: \(r.stdout)")
            #expect(r.stdout.contains("STOPPED"), "\(r.stdout)")
            #expect(try s.sourceFixity().isEmpty, "nothing is recorded")
        }
        for x in f { #expect(try s.verifications()[x.id]?.status == "OK") }
        let runs = try s.backupConnection().query("SELECT state FROM dvbackup_run WHERE mode = 'audit-source' ORDER BY id")
        #expect((0..<runs.rowCount).map { runs.string($0, 0) } == ["failed", "failed"])
    }
}

/// The same on a file store: `audit --source` finds a damaged primary, `restore
/// --damaged-primaries --into-store` puts it back, and the next `audit --source` passes it.
@Suite(.enabled(if: TestPostgres.enabled))
struct AuditSourceRestoreTests {
    @Test func aDamagedFilePrimaryFoundByTheAuditIsRestoredAndThenPasses() throws {
        let s = try Sandbox(seed: 1353)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/AUDITFS")
        let f = try (0..<2).map { _ in try s.addFile(dataset: ds, size: 3000) }
        let config = try s.writeConfig()
        #expect(try s.dvbackup("run", config: config).code == 0)
        try Damage.flipByte(f[0].sourcePath)
        #expect(try s.dvbackup("audit", "--source", "--all", config: config).code == 1)
        #expect(try s.sourceFixity()[f[0].id]?.result == "damaged")
        let restore = try s.dvbackup("restore", "--damaged-primaries", "--into-store", config: config)
        #expect(restore.code == 0, "\(restore.stdout)\n\(restore.stderr)")
        #expect(FileManager.default.contents(atPath: f[0].sourcePath).map { [UInt8]($0) } == f[0].bytes)
        let again = try s.dvbackup("audit", "--source", "--all", config: config)
        #expect(again.code == 0, "\(again.stdout)\n\(again.stderr)")
        #expect(try s.sourceFixity()[f[0].id]?.result == "ok")
    }
}
