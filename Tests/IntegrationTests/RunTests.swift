import DVBackup
import Foundation
import Testing

/// A first run over a catalog that has every case: each status, harvested datasets,
/// tabular originals, deferred ingests, alternative storage identifiers, several stores.
@Suite(.enabled(if: TestPostgres.enabled))
struct RunTests {
    @Test func firstRunRecordsEveryStatusAndCopiesProvenBytes() throws {
        let s = try Sandbox(seed: 11)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/ALPHA1")
        let md5 = try s.addFile(dataset: ds, size: 5000, checksumType: .md5)
        let sha1 = try s.addFile(dataset: ds, size: 70_000, checksumType: .sha1)
        let sha256 = try s.addFile(dataset: ds, size: 1_500_000, checksumType: .sha256)
        let sha512 = try s.addFile(dataset: ds, size: 3, checksumType: .sha512)
        let empty = try s.addFile(dataset: ds, size: 0, checksumType: .md5)
        let noChecksum = try s.addFile(dataset: ds, size: 800, checksum: "")
        let unknown = try s.addFile(dataset: ds, size: 900, checksum: "Unknown")
        let unknownLower = try s.addFile(dataset: ds, size: 901, checksumType: .sha1, checksum: "unknown")
        let tabular = try s.addFile(dataset: ds, size: 4000, tabular: true, fileSize: 14)
        let missing = try s.addFile(dataset: ds, size: 100, writeBytes: false)
        let damaged = try s.addFile(dataset: ds, size: 2000, checksum: String(repeating: "0", count: 32))
        let ingesting = try s.addFile(dataset: ds, size: 100, ingestStatus: "C")
        let unconfigured = try s.addFile(dataset: ds, size: 100, store: "nosuchstore", writeBytes: false)
        let s3 = try s.addFile(dataset: ds, size: 100, storageIdentifier: "s3://bucket:19abcdef012-abcdefabcdef", writeBytes: false)
        let absolute = try s.addFile(dataset: ds, size: 100, storageIdentifier: "file:///etc/passwd", writeBytes: false)
        // A dataset whose files live under its storage-designating alternative identifier.
        let moved = try s.addDataset(authority: "10.5073", identifier: "NEW/PID1", storageLocation: ("10.5072", "FK2/OLDLOC"))
        let movedFile = try s.addFile(dataset: moved, size: 1234, checksumType: .sha256)
        // A dataset whose identifier would climb out of the store.
        let evil = try s.addDataset(authority: "10.5072", identifier: "FK2/../../../etc")
        let evilFile = try s.addFile(dataset: evil, size: 10, writeBytes: false)
        // A harvested dataset: its files are remote URLs and are not ours to back up.
        let harvested = try s.addDataset(authority: "10.9999", identifier: "REMOTE/1", harvested: true)
        let remote = try s.addFile(dataset: harvested, size: 10,
                                   storageIdentifier: "https://remote.example.org/api/access/datafile/3040230", writeBytes: false)
        // A second file store, and a Handle dataset.
        let store2 = s.root + "/store2"
        let hdl = try s.addDataset(protocol_: "hdl", authority: "1902.1", identifier: "10001")
        let inStore2 = try s.addFile(dataset: hdl, size: 3000, checksumType: .sha512, store: "file2", storeDirectory: store2)

        let config = try s.writeConfig(stores: [
            "dataverse.files.file.type = file",
            "dataverse.files.file.label = Local",
            "dataverse.files.file.directory = \(s.storeDir)",
            "dataverse.files.file2.type = file",
            "dataverse.files.file2.directory = \(store2)",
            "dataverse.files.s3.type = s3",
            "dataverse.files.s3.bucket-name = bucket",
            // Nothing listens on port 9: the S3 store cannot be reached.
            "dataverse.files.s3.custom-endpoint-url = http://127.0.0.1:9",
            "dataverse.files.s3.access-key = AKIAEXAMPLE",
            "dataverse.files.s3.secret-key = not-a-real-secret",
        ])
        let result = try s.dvbackup("run", config: config)
        #expect(result.code == 1, "a run with failed files exits 1: \(result.stderr)")

        let rows = try s.statusRows()
        let okFiles = [md5, sha1, sha256, sha512, empty, tabular, movedFile, inStore2]
        for f in okFiles {
            #expect(rows[f.id]?.status == "OK", "datafile \(f.id): \(String(describing: rows[f.id]))")
            #expect(s.backupBytes(f) == f.bytes, "the copy of datafile \(f.id) holds the source bytes")
            #expect(rows[f.id]?.location == s.backupDir + "/" + f.relativePath)
            #expect(rows[f.id]?.method == "local")
            #expect(rows[f.id]?.storageIdentifier == f.storageIdentifier)
            #expect(rows[f.id]?.attempts == 1)
        }
        for f in [noChecksum, unknown, unknownLower] {
            #expect(rows[f.id]?.status == "OK_NO_CHECKSUM")
            #expect(s.backupBytes(f) == f.bytes)
            #expect(rows[f.id]?.provenChecksum == "SHA256:" + Digest.hex(.sha256, of: f.bytes))
        }
        #expect(rows[md5.id]?.datasetIdentifier == "10.5072/FK2/ALPHA1")
        #expect(rows[md5.id]?.datasetPID == "doi:10.5072/FK2/ALPHA1")
        #expect(rows[md5.id]?.checksumType == "MD5")
        #expect(rows[md5.id]?.checksumValue == Digest.hex(.md5, of: md5.bytes))
        #expect(rows[md5.id]?.fileSize == 5000)
        #expect(rows[md5.id]?.createdate?.hasSuffix(".123") == true, "createdate keeps its fraction")
        #expect(rows[inStore2.id]?.datasetIdentifier == "1902.1/10001")
        // The tabular file's copy is its original, what the catalog checksum describes.
        #expect(s.backupBytes(tabular) == tabular.bytes)
        // Alternative storage location: read from and written to the storage path.
        #expect(movedFile.relativePath.hasPrefix("10.5072/FK2/OLDLOC/"))
        #expect(rows[movedFile.id]?.datasetPID == "doi:10.5073/NEW/PID1")

        #expect(rows[missing.id]?.status == "FAIL_READ")
        #expect(rows[missing.id]?.lastError?.contains("No such file or directory") == true)
        #expect(rows[damaged.id]?.status == "FAIL_SOURCE_CHECKSUM")
        #expect(rows[damaged.id]?.lastError?.contains(Digest.hex(.md5, of: damaged.bytes)) == true)
        #expect(s.backupBytes(damaged) == nil, "nothing under the final name for a damaged source")
        #expect(rows[unconfigured.id]?.status == "FAIL_READ")
        #expect(rows[unconfigured.id]?.lastError?.contains("store 'nosuchstore' is not configured") == true)
        #expect(rows[s3.id]?.status == "FAIL_READ")
        #expect(rows[s3.id]?.lastError?.contains("s3://bucket/") == true, "\(rows[s3.id]?.lastError ?? "")")
        #expect(rows[s3.id]?.lastError?.contains("after 5 attempts") == true, "\(rows[s3.id]?.lastError ?? "")")
        #expect(rows[absolute.id]?.status == "FAIL_READ")
        #expect(rows[absolute.id]?.lastError?.contains("absolute") == true)
        #expect(rows[evilFile.id]?.status == "FAIL_READ")
        #expect(rows[evilFile.id]?.lastError?.contains("..") == true)
        #expect(rows[ingesting.id] == nil, "a file being ingested is left for a later run")
        #expect(rows[remote.id] == nil, "harvested files are not backed up")

        // No temporary names left, nothing outside the expected layout.
        let tree = s.backupTree()
        #expect(!tree.contains { $0.contains(".dvbackup-partial") })
        #expect(Set(tree) == Set((okFiles + [noChecksum, unknown, unknownLower]).map(\.relativePath)))

        // The summary names every failed file with its dataset, id, storage identifier, reason.
        #expect(result.stdout.contains("FAIL_SOURCE_CHECKSUM doi:10.5072/FK2/ALPHA1 datafile \(damaged.id) \(damaged.storageIdentifier)"))
        #expect(result.stdout.contains("FAIL_READ doi:10.5072/FK2/ALPHA1 datafile \(missing.id) \(missing.storageIdentifier)"))
        #expect(result.stdout.contains("files planned           17"))
        #expect(result.stdout.contains("left for a later run    1"))
        #expect(result.stdout.contains("OK                      8"))
        #expect(result.stdout.contains("OK_NO_CHECKSUM          3"))
        #expect(result.stdout.contains("FAIL_READ               5"))
        let failIndex = result.stdout.range(of: "FAIL_SOURCE_CHECKSUM doi")!.lowerBound
        let readIndex = result.stdout.range(of: "FAIL_READ doi")!.lowerBound
        #expect(failIndex < readIndex, "the most serious failures are listed first")
        // Logs on stderr in the agreed format.
        let logLine = try #require(result.stderr.split(separator: "\n").first)
        #expect(logLine.range(of: #"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} \[(INFO|ERROR|WARNING)\] "#, options: .regularExpression) != nil,
                "log line: \(logLine)")

        // The run row.
        let db = try s.backupConnection()
        let run = try db.query("SELECT mode, state, planned, ok, ok_no_checksum, fail_read, fail_source_checksum, deferred, bytes FROM dvbackup_run")
        #expect(run.rowCount == 1)
        #expect(run.string(0, 0) == "incremental")
        #expect(run.string(0, 1) == "finished")
        #expect(run.int(0, 2) == 17)
        #expect(run.int(0, 3) == 8)
        #expect(run.int(0, 4) == 3)
        #expect(run.int(0, 5) == 5)
        #expect(run.int(0, 6) == 1)
        #expect(run.int(0, 7) == 1)
        let okBytes = (okFiles + [noChecksum, unknown, unknownLower]).reduce(0) { $0 + $1.bytes.count }
        #expect(run.int(0, 8) == Int64(okBytes))
    }

    @Test func allOKExitsZeroAndPlainCommandRuns() throws {
        let s = try Sandbox(seed: 12)
        let ds = try s.addDataset()
        let f = try s.addFile(dataset: ds, size: 10_000)
        // `dvbackup --config F` is the incremental run.
        let result = try s.run(["--config", try s.writeConfig()])
        #expect(result.code == 0, "\(result.stderr)")
        #expect(s.backupBytes(f) == f.bytes)
        #expect(result.stdout.contains("all OK"))
    }

    @Test func damagedSourceNeverReplacesAGoodCopy() throws {
        let s = try Sandbox(seed: 13)
        let ds = try s.addDataset()
        let f = try s.addFile(dataset: ds, size: 50_000, checksumType: .sha256)
        #expect(try s.dvbackup("run").code == 0)
        #expect(s.backupBytes(f) == f.bytes)
        // The primary copy rots; the catalog is re-verified with a new algorithm
        // (Dataverse's updateHashValues), so the file is planned again.
        var rotten = f.bytes
        rotten[100] ^= 0xff
        try Data(rotten).write(to: URL(fileURLWithPath: f.sourcePath))
        try s.catalog.query("UPDATE datafile SET checksumtype = 'SHA512', checksumvalue = $2 WHERE id = $1",
                            [String(f.id), Digest.hex(.sha512, of: f.bytes)])
        let second = try s.dvbackup("run", "--rerun")
        #expect(second.code == 1)
        #expect(try s.statusRows()[f.id]?.status == "FAIL_SOURCE_CHECKSUM")
        #expect(s.backupBytes(f) == f.bytes, "the good copy is untouched")
        #expect(!s.backupTree().contains { $0.contains(".dvbackup-partial") })
    }

    @Test func unwritableTargetIsFailWrite() throws {
        let s = try Sandbox(seed: 14)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/BLOCKED")
        let f = try s.addFile(dataset: ds, size: 100)
        // A regular file where the dataset's directory must go.
        try FileManager.default.createDirectory(atPath: s.backupDir + "/10.5072", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: s.backupDir + "/10.5072/FK2", contents: Data("x".utf8))
        let result = try s.dvbackup("run")
        #expect(result.code == 1)
        let row = try #require(try s.statusRows()[f.id])
        #expect(row.status == "FAIL_WRITE")
        #expect(row.lastError?.contains("cannot create directory \(s.backupDir)/10.5072/FK2") == true)
    }

    @Test func leftoverTemporaryFileOfACrashedRunIsReplaced() throws {
        let s = try Sandbox(seed: 15)
        let ds = try s.addDataset()
        let f = try s.addFile(dataset: ds, size: 20_000)
        let dir = s.backupDir + "/" + (f.relativePath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/." + f.name + ".dvbackup-partial", contents: Data(count: 7))
        #expect(try s.dvbackup("run").code == 0)
        #expect(s.backupTree() == [f.relativePath])
        #expect(s.backupBytes(f) == f.bytes)
    }

    @Test func passwordFromPGPASSWORD() throws {
        let s = try Sandbox(seed: 16)
        let ds = try s.addDataset()
        let f = try s.addFile(dataset: ds, size: 10)
        let config = try s.writeConfig(password: nil)
        let withoutPassword = try s.run(["run", "--config", config])
        #expect(withoutPassword.code == 3, "no password anywhere: the run cannot start")
        #expect(withoutPassword.stderr.contains("password"))
        let result = try s.run(["run", "--config", config], environment: ["PGPASSWORD": TestPostgres.password])
        #expect(result.code == 0, "\(result.stderr)")
        #expect(s.backupBytes(f) == f.bytes)
    }

    /// The summary printed after the run (by the reports, from the run's outcome and the
    /// backup database) names the run and lists its failed files.
    @Test func theSummaryNamesTheRunAndListsItsFailedFiles() throws {
        let s = try Sandbox(seed: 243)
        let ds = try s.addDataset()
        _ = try s.addFile(dataset: ds, size: 100)
        let missing = try s.addFile(dataset: ds, size: 10, writeBytes: false)
        let r = try s.dvbackup("run")
        #expect(r.code == 1)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let first = try #require(lines.first)
        #expect(first.hasPrefix("dvbackup incremental run ") && first.contains(" finished in ") && first.hasSuffix(": 1 failed"), "\(first)")
        let header = try #require(lines.firstIndex(of: "Failed files (most serious first):"), "\(r.stdout)")
        let line = try #require(lines.dropFirst(header + 1).first)
        #expect(line.hasPrefix("  FAIL_READ ") && line.contains("datafile \(missing.id) \(missing.storageIdentifier): "), "\(line)")
    }
}
