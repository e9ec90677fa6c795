import DVBackup
import Foundation
import Testing

/// A restore reads with as many threads as the backup uses ([Backup] Workers) and still
/// reports, and writes its manifest, in datafile id order: a large file first (it finishes
/// last) and a damaged copy in the middle do not reorder anything.
@Suite(.enabled(if: TestPostgres.enabled), .serialized)
struct RestoreParallelTests {
    @Test func filesAreRestoredSideBySideAndListedInDatafileIdOrder() throws {
        let s = try Sandbox(seed: 1331)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/PARALLEL")
        var files = [try s.addFile(dataset: ds, size: 12 << 20)]   // hashed and written on a second thread
        for i in 0..<29 { files.append(try s.addFile(dataset: ds, size: 1000 + i * 37)) }
        #expect(try s.dvbackup("run").code == 0)
        let damaged = files[15]
        var copy = try #require(s.backupBytes(damaged))
        copy[10] ^= 0x01
        try Data(copy).write(to: URL(fileURLWithPath: s.backupDir + "/" + damaged.relativePath))

        let out = try s.makeDirectory("out")
        let r = try s.dvbackup("restore", "--dataset", "doi:10.5072/FK2/PARALLEL", "--to", out)
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("30 file(s) selected") && r.stderr.contains("2 reader(s)"), "\(r.stderr)")
        let listed = r.stdout.split(separator: "\n").filter { $0.hasPrefix("restored ") || $0.hasPrefix("FAILED ") }
        let ids = listed.compactMap { line in line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first.flatMap { Int64($0) } }
        #expect(ids == files.map(\.id), "one line per file, in datafile id order: \(listed)")
        #expect(listed[15].hasPrefix("FAILED         datafile \(damaged.id)"), "\(listed[15])")
        for f in files where f.id != damaged.id { #expect(s.bytes(at: out + "/" + f.relativePath) == f.bytes, "datafile \(f.id)") }
        #expect(!FileManager.default.fileExists(atPath: out + "/" + damaged.relativePath))
        let manifest = try String(contentsOfFile: out + "/" + RestoreManifest.fileName, encoding: .utf8)
        let rows = manifest.split(separator: "\r\n").dropFirst().compactMap { $0.split(separator: ",").first.flatMap { Int64($0) } }
        #expect(rows == files.map(\.id).filter { $0 != damaged.id }, "the manifest in datafile id order")
    }
}
