import DVBackup
import Foundation
import Testing

extension Sandbox {
    /// Two versions of `dataset` in the catalog's version tables: a released 1.0 where every
    /// file is `old-name.bin`, and a draft (the latest) with `labels`, for `restore --names labels`.
    func addLabels(dataset: Int64, _ labels: [(file: TestFile, label: String, directory: String?)]) throws {
        let old = try catalog.query("""
            INSERT INTO datasetversion (dataset_id, versionnumber, minorversionnumber, versionstate, createtime, lastupdatetime, releasetime)
            VALUES ($1, 1, 0, 'RELEASED', now(), now(), now()) RETURNING id
            """, [String(dataset)]).string(0, 0)!
        let draft = try catalog.query("""
            INSERT INTO datasetversion (dataset_id, versionstate, createtime, lastupdatetime) VALUES ($1, 'DRAFT', now(), now()) RETURNING id
            """, [String(dataset)]).string(0, 0)!
        for l in labels {
            // The released version's label is the old one; the latest (the draft) wins.
            try catalog.query("INSERT INTO filemetadata (datafile_id, datasetversion_id, label) VALUES ($1, $2, 'old-name.bin')",
                              [String(l.file.id), old])
            try catalog.query("INSERT INTO filemetadata (datafile_id, datasetversion_id, label, directorylabel) VALUES ($1, $2, $3, $4)",
                              [String(l.file.id), draft, l.label, l.directory])
        }
    }

    func bytes(at path: String) -> [UInt8]? { FileManager.default.contents(atPath: path).map { [UInt8]($0) } }

    func makeDirectory(_ name: String) throws -> String {
        let d = root + "/" + name
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// Removes a file, or a whole dataset, from the catalog, as Dataverse's delete does.
    func deleteFromCatalog(file: TestFile) throws {
        try catalog.query("DELETE FROM filemetadata WHERE datafile_id = $1", [String(file.id)])
        try catalog.query("DELETE FROM datatable WHERE datafile_id = $1", [String(file.id)])
        try catalog.query("DELETE FROM datafile WHERE id = $1", [String(file.id)])
        try catalog.query("DELETE FROM dvobject WHERE id = $1", [String(file.id)])
    }

    func deleteDatasetFromCatalog(_ dataset: Int64, files: [TestFile]) throws {
        for f in files { try deleteFromCatalog(file: f) }
        try catalog.query("DELETE FROM datasetversion WHERE dataset_id = $1", [String(dataset)])
        try catalog.query("DELETE FROM dataset WHERE id = $1", [String(dataset)])
        try catalog.query("DELETE FROM dvobject WHERE id = $1", [String(dataset)])
    }
}

func touchBack(_ path: String, days: Int) throws {
    var times = [timespec(tv_sec: time(nil) - days * 86_400 - 60, tv_nsec: 0), timespec(tv_sec: time(nil) - days * 86_400 - 60, tv_nsec: 0)]
    guard utimensat(AT_FDCWD, path, &times, 0) == 0 else { throw TestFailure("cannot set the times of \(path)") }
}

@Suite(.enabled(if: TestPostgres.enabled), .serialized)
struct RestoreTests {
    @Test func restoreToADirectoryByStorageNamesThenByLabelsWithAManifest() throws {
        let s = try Sandbox(seed: 1301)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/REST1")
        let a = try s.addFile(dataset: ds, size: 3000)
        let b = try s.addFile(dataset: ds, size: 2000, checksumType: .sha256)
        let tab = try s.addFile(dataset: ds, size: 1500, tabular: true)
        let hostile = try s.addFile(dataset: ds, size: 100)
        let nested = try s.addFile(dataset: ds, size: 200, checksumType: .sha1)
        let formula = try s.addFile(dataset: ds, size: 300)
        let files = [a, b, tab, hostile, nested, formula]
        #expect(try s.dvbackup("run").code == 0)

        let out = try s.makeDirectory("out")
        let r = try s.dvbackup("restore", "--dataset", "doi:10.5072/FK2/REST1", "--to", out)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        for f in files { #expect(s.bytes(at: out + "/" + f.relativePath) == f.bytes, "\(f.relativePath)") }
        #expect(r.stdout.contains("restored, proven against their checksums  6"), "\(r.stdout)")
        // No temporary is left beside the files.
        let left = try FileManager.default.subpathsOfDirectory(atPath: out).filter { $0.contains(".dvbackup-restore-") }
        #expect(left.isEmpty, "\(left)")

        try s.addLabels(dataset: ds, [(a, "data.csv", nil), (b, "data.csv", nil), (tab, "table.tab", nil),
                                      (hostile, "../../etc/passwd", "/../../"), (nested, "notes.txt", "raw/2024"),
                                      (formula, "=HYPERLINK(\"x\").csv", nil)])
        let named = try s.makeDirectory("named")
        let l = try s.dvbackup("restore", "--dataset", "10.5072/FK2/REST1", "--to", named, "--names", "labels")
        #expect(l.code == 0, "\(l.stdout)\n\(l.stderr)")
        let dir = named + "/10.5072/FK2/REST1/"
        #expect(s.bytes(at: dir + "data.csv") == a.bytes)
        #expect(s.bytes(at: dir + "data (2).csv") == b.bytes, "two files labelled alike get distinct names")
        #expect(s.bytes(at: dir + "table.tab") == tab.bytes, "a tabular file is restored as its original")
        #expect(s.bytes(at: dir + "raw/2024/notes.txt") == nested.bytes)
        #expect(s.bytes(at: dir + ".._.._etc_passwd") == hostile.bytes, "a hostile label stays inside its dataset's directory")
        #expect(s.bytes(at: dir + "=HYPERLINK(\"x\").csv") == formula.bytes)
        let all = try FileManager.default.subpathsOfDirectory(atPath: named)
        #expect(all.allSatisfy { !$0.contains("etc/passwd") }, "\(all)")

        let manifest = try String(contentsOfFile: named + "/dvbackup-restore-manifest.csv", encoding: .utf8)
        let lines = manifest.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.first == "datafile_id,dataset,storage_name,label,path,checksum_type,checksum,bytes")
        #expect(lines.count == 7, "\(manifest)")
        #expect(manifest.contains("\(b.id),doi:10.5072/FK2/REST1,\(b.name),data.csv,10.5072/FK2/REST1/data (2).csv,SHA256,\(Digest.hex(.sha256, of: b.bytes)),2000"), "\(manifest)")
        #expect(manifest.contains("\"'=HYPERLINK(\"\"x\"\").csv\""), "a formula cell is defused and quoted: \(manifest)")

        // A restore leaves a row in the runs table.
        let runs = try s.backupConnection().query("SELECT count(*) FROM dvbackup_run WHERE mode = 'restore' AND state = 'finished'")
        #expect(runs.int(0, 0) == 2)
    }

    @Test func aDamagedOrMissingCopyIsNotWrittenAndIsReported() throws {
        let s = try Sandbox(seed: 1302)
        let ds = try s.addDataset()
        let good = try s.addFile(dataset: ds, size: 5000)
        let bad = try s.addFile(dataset: ds, size: 5000)
        let gone = try s.addFile(dataset: ds, size: 5000)
        #expect(try s.dvbackup("run").code == 0)
        var copy = try #require(s.backupBytes(bad))
        copy[100] ^= 0x01
        try Data(copy).write(to: URL(fileURLWithPath: s.backupDir + "/" + bad.relativePath))
        try FileManager.default.removeItem(atPath: s.backupDir + "/" + gone.relativePath)

        let out = try s.makeDirectory("out")
        let r = try s.dvbackup("restore", "--datafile", String(good.id), "--datafile", String(bad.id), "--datafile", String(gone.id), "--to", out)
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(s.bytes(at: out + "/" + good.relativePath) == good.bytes)
        #expect(!FileManager.default.fileExists(atPath: out + "/" + bad.relativePath), "a copy that fails its checksum is not written")
        #expect(!FileManager.default.fileExists(atPath: out + "/" + gone.relativePath))
        #expect(r.stdout.contains("FAILED         datafile \(bad.id)") && r.stdout.contains("is damaged"), "\(r.stdout)")
        #expect(r.stdout.contains("FAILED         datafile \(gone.id)") && r.stdout.contains("missing"), "\(r.stdout)")
        let left = try FileManager.default.subpathsOfDirectory(atPath: out).filter { $0.contains(".dvbackup-restore-") }
        #expect(left.isEmpty, "the temporary of the damaged copy is removed: \(left)")
        let failed = try s.backupConnection().query("SELECT ok, fail_verify, fail_read, exit_code FROM dvbackup_run WHERE mode = 'restore'")
        #expect(failed.int(0, 0) == 1 && failed.int(0, 1) == 1 && failed.int(0, 2) == 1)
    }

    @Test func badArgumentsAreRefusedWithClearErrors() throws {
        let s = try Sandbox(seed: 1303)
        let ds = try s.addDataset()
        let f = try s.addFile(dataset: ds, size: 100)
        #expect(try s.dvbackup("run").code == 0)
        let out = try s.makeDirectory("out")

        let unknown = try s.dvbackup("restore", "--datafile", "987654", "--to", out)
        #expect(unknown.code == 2)
        #expect(unknown.stderr.contains("no datafile with id 987654 in the catalog"), "\(unknown.stderr)")
        let noDataset = try s.dvbackup("restore", "--dataset", "doi:10.5072/FK2/NOSUCH", "--to", out)
        #expect(noDataset.code == 2)
        #expect(noDataset.stderr.contains("no dataset doi:10.5072/FK2/NOSUCH in the catalog"), "\(noDataset.stderr)")
        let notWritable = try s.dvbackup("restore", "--datafile", String(f.id), "--to", "/proc")
        #expect(notWritable.code == 2)
        #expect(notWritable.stderr.contains("the destination /proc is not writable"), "\(notWritable.stderr)")
        let missingDir = try s.dvbackup("restore", "--datafile", String(f.id), "--to", s.root + "/nowhere")
        #expect(missingDir.code == 2)
        #expect(missingDir.stderr.contains("does not exist"), "\(missingDir.stderr)")
        let two = try s.dvbackup("restore", "--datafile", String(f.id), "--to", out, "--into-store")
        #expect(two.code == 2)
        #expect(two.stderr.contains("exactly one destination"), "\(two.stderr)")
        let none = try s.dvbackup("restore", "--to", out)
        #expect(none.code == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).isEmpty, "nothing was written")
    }

    @Test func intoStoreRestoresOnlyDamagedOrMissingPrimaries() throws {
        let s = try Sandbox(seed: 1304)
        let ds = try s.addDataset()
        let damaged = try s.addFile(dataset: ds, size: 4000)
        let intact = try s.addFile(dataset: ds, size: 4000)
        let missing = try s.addFile(dataset: ds, size: 4000, tabular: true)
        #expect(try s.dvbackup("run").code == 0)
        var bytes = damaged.bytes
        bytes[10] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: damaged.sourcePath))
        try FileManager.default.removeItem(atPath: missing.sourcePath)
        var before = stat()
        stat(intact.sourcePath, &before)
        // The backup database learns of the damage (as a later run or audit would record it).
        try s.backupConnection().query("UPDATE datafilestatus SET status = 'FAIL_SOURCE_CHECKSUM' WHERE datafileid = $1", [String(damaged.id)])
        try s.backupConnection().query("UPDATE datafilestatus SET status = 'FAIL_READ' WHERE datafileid = $1", [String(missing.id)])

        let dry = try s.dvbackup("restore", "--damaged-primaries", "--into-store", "--dry-run")
        #expect(dry.code == 0, "\(dry.stdout)\n\(dry.stderr)")
        #expect(dry.stdout.contains("would restore  datafile \(damaged.id)") && dry.stdout.contains("would restore  datafile \(missing.id)"), "\(dry.stdout)")
        #expect(s.bytes(at: damaged.sourcePath) == bytes, "a dry run writes nothing")

        let r = try s.dvbackup("restore", "--dataset", "doi:" + (try s.datasetPath(ds)).authority + "/" + (try s.datasetPath(ds)).identifier, "--into-store")
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(s.bytes(at: damaged.sourcePath) == damaged.bytes)
        #expect(s.bytes(at: missing.sourcePath) == missing.bytes, "a tabular file's original is restored to <name>.orig")
        #expect(r.stdout.contains("intact         datafile \(intact.id)"), "\(r.stdout)")
        var after = stat()
        stat(intact.sourcePath, &after)
        #expect(after.st_ino == before.st_ino && after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec,
                "a primary that matches the catalog is never touched")
        // Now every primary passes its checksum: the next run heals the statuses.
        #expect(try s.dvbackup("run", "--rerun").code == 0)
        #expect(try s.statusRows().values.allSatisfy { $0.status == "OK" })
    }

    @Test func orphansAndLeftoversAreListedAndOnlyOldLeftoversRemoved() throws {
        let s = try Sandbox(seed: 1305)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/KEEP")
        let kept = try s.addFile(dataset: ds, size: 100)
        let deleted = try s.addFile(dataset: ds, size: 200)
        let gone = try s.addDataset(authority: "10.5072", identifier: "FK2/GONE")
        let goneFile = try s.addFile(dataset: gone, size: 300)
        #expect(try s.dvbackup("run").code == 0)
        try s.deleteFromCatalog(file: deleted)
        try s.deleteDatasetFromCatalog(gone, files: [goneFile])
        let dir = s.backupDir + "/10.5072/FK2/KEEP/"
        let oldTemp = dir + "." + kept.name + ".dvbackup-partial"
        let newTemp = dir + ".dvbackup-\(kept.id).partial"
        try Data(count: 50).write(to: URL(fileURLWithPath: oldTemp))
        try Data(count: 60).write(to: URL(fileURLWithPath: newTemp))
        try touchBack(oldTemp, days: 2)

        let list = try s.dvbackup("audit", "--orphans")
        #expect(list.code == 0, "\(list.stdout)\n\(list.stderr)")
        #expect(list.stdout.contains("orphan    \(deleted.relativePath)  200 B") && list.stdout.contains("file deleted in Dataverse"), "\(list.stdout)")
        #expect(list.stdout.contains("orphan    \(goneFile.relativePath)") && list.stdout.contains("dataset no longer in the catalog"), "\(list.stdout)")
        #expect(!list.stdout.contains("orphan    \(kept.relativePath)"))
        #expect(list.stdout.contains("leftover  10.5072/FK2/KEEP/.\(kept.name).dvbackup-partial  50 B  2 d old"), "\(list.stdout)")
        #expect(list.stdout.contains("leftover  10.5072/FK2/KEEP/.dvbackup-\(kept.id).partial"), "\(list.stdout)")

        let clean = try s.dvbackup("audit", "--orphans", "--clean-leftovers")
        #expect(clean.code == 0, "\(clean.stdout)\n\(clean.stderr)")
        #expect(!FileManager.default.fileExists(atPath: oldTemp), "a leftover older than a day is removed")
        #expect(FileManager.default.fileExists(atPath: newTemp), "a younger one is kept")
        for f in [kept, deleted, goneFile] { #expect(s.backupBytes(f) == f.bytes, "a copy of a data file is never deleted") }
        let runs = try s.backupConnection().query("SELECT count(*) FROM dvbackup_run WHERE mode = 'orphans'")
        #expect(runs.int(0, 0) == 2)
    }
}
