import DVBackup
import Foundation
import Testing

/// Catalog checksums dvbackup cannot compare: an algorithm it does not know, a value of the
/// wrong length or not hexadecimal. The copy is still made and proven against the bytes
/// read (OK_NO_CHECKSUM), and the reason is recorded, logged as a warning and listed in the
/// report; a malformed value is never taken for a damaged primary.
@Suite(.enabled(if: TestPostgres.enabled))
struct CatalogChecksumTests {
    /// Sets the catalog's checksum of `f` as stored, whatever it is.
    func setChecksum(_ s: Sandbox, _ f: TestFile, type: String, value: String) throws {
        try s.catalog.query("UPDATE datafile SET checksumtype = $2, checksumvalue = $3 WHERE id = $1",
                            [String(f.id), type, value])
    }

    @Test func unsupportedAlgorithmIsNamedWarnedAndReported() throws {
        let s = try Sandbox(seed: 1501)
        let ds = try s.addDataset()
        let sha3 = try s.addFile(dataset: ds, size: 3000)
        try setChecksum(s, sha3, type: "SHA3-256", value: String(repeating: "ab", count: 32))
        let good = try s.addFile(dataset: ds, size: 100)
        let r = try s.dvbackup("run")
        #expect(r.code == 0, "\(r.stderr)")
        let rows = try s.statusRows()
        let row = try #require(rows[sha3.id])
        #expect(row.status == "OK_NO_CHECKSUM")
        #expect(s.backupBytes(sha3) == sha3.bytes)
        #expect(row.provenChecksum == "SHA256:" + Digest.hex(.sha256, of: sha3.bytes))
        #expect(row.lastError?.contains("catalog algorithm SHA3-256 is not supported") == true, "\(String(describing: row.lastError))")
        #expect(rows[good.id]?.status == "OK")
        #expect(rows[good.id]?.lastError == nil)
        // A warning in the log names the file and the algorithm.
        let warning = r.stderr.split(separator: "\n").first { $0.contains("[WARNING]") && $0.contains("SHA3-256") }
        #expect(warning?.contains("datafile \(sha3.id)") == true, "\(r.stderr)")
        // The printed summary and the stored report list it.
        let line = "datafile \(sha3.id) \(sha3.storageIdentifier): proven against the bytes read only: catalog algorithm SHA3-256 is not supported"
        #expect(r.stdout.contains(line), "\(r.stdout)")
        let report = try s.dvbackup("report")
        #expect(report.stdout.contains(line), "\(report.stdout)")
        #expect(!report.stdout.contains("datafile \(good.id) "), "a file proven against the catalog is not listed")
        // The next incremental run leaves it alone: it is copied, with the reason known.
        let again = try s.dvbackup("run")
        #expect(again.code == 0)
        #expect(try s.statusRows()[sha3.id]?.attempts == 1)
    }

    @Test(arguments: [
        ("MD5", String(repeating: "a", count: 31), "the catalog's MD5 value 'aaaaaaaaaaaaaaaa…' is malformed: 31 hex digits, 32 expected"),
        ("SHA256", String(repeating: "0", count: 32), "the catalog's SHA256 value '0000000000000000…' is malformed: 32 hex digits, 64 expected"),
        ("SHA-1", "zz" + String(repeating: "1", count: 38), "the catalog's SHA-1 value 'zz11111111111111…' is malformed: not hexadecimal"),
        ("MD5", "abc", "the catalog's MD5 value 'abc' is malformed: 3 hex digits, 32 expected"),
    ] as [(String, String, String)])
    func malformedValueIsNotADamagedPrimary(type: String, value: String, reason: String) throws {
        let s = try Sandbox(seed: 1502)
        let ds = try s.addDataset()
        let f = try s.addFile(dataset: ds, size: 2000)
        try setChecksum(s, f, type: type, value: value)
        let r = try s.dvbackup("run")
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        let row = try #require(try s.statusRows()[f.id])
        #expect(row.status == "OK_NO_CHECKSUM", "never FAIL_SOURCE_CHECKSUM: \(String(describing: row.lastError))")
        #expect(row.lastError?.contains(reason) == true, "\(String(describing: row.lastError))")
        #expect(row.lastError?.contains("primary") != true)
        #expect(s.backupBytes(f) == f.bytes, "the copy is made and proven against the bytes read")
        #expect(r.stderr.contains("[WARNING]") && r.stderr.contains(reason), "\(r.stderr)")
        #expect(r.stdout.contains("datafile \(f.id) \(f.storageIdentifier): proven against the bytes read only: \(reason)"), "\(r.stdout)")
    }

    /// A value of the right length that does not match is still a damaged primary.
    @Test func wellFormedValueThatDiffersIsStillADamagedPrimary() throws {
        let s = try Sandbox(seed: 1503)
        let ds = try s.addDataset()
        let f = try s.addFile(dataset: ds, size: 2000, checksumType: .sha256, checksum: String(repeating: "0", count: 64))
        let r = try s.dvbackup("run")
        #expect(r.code == 1)
        let row = try #require(try s.statusRows()[f.id])
        #expect(row.status == "FAIL_SOURCE_CHECKSUM")
        #expect(row.lastError?.contains("the primary copy differs from what was deposited") == true)
    }
}
