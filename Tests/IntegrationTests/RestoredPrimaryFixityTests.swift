import DVBackup
import Foundation
import Testing

/// A primary restored `--into-store` was proven on the way (streamed, hashed against the
/// catalog, written under a temporary name, flushed, renamed): `sourcefixity` says so at once,
/// so that `status`, `status --check` and a second `restore --damaged-primaries` no longer take
/// it for damaged, without waiting for the next `audit --source`. A restore that failed leaves
/// the row as the audit wrote it.
@Suite(.enabled(if: TestPostgres.enabled))
struct RestoredPrimaryFixityTests {
    func statusJSON(_ s: Sandbox, _ config: String) throws -> [String: Any] {
        let r = try s.dvbackup("status", "--json", config: config)
        #expect(r.code == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    func primaries(_ s: Sandbox, _ config: String) throws -> [String: Int]? {
        let audit = try statusJSON(s, config)["audit"] as? [String: Any]
        return audit?["primaries"] as? [String: Int]
    }

    @Test func aRestoredPrimaryIsRecordedProvenAndNotPickedAgain() throws {
        let s = try Sandbox(seed: 1371)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/FIXREST")
        let f = try (0..<4).map { _ in try s.addFile(dataset: ds, size: 3000) }
        let config = try s.writeConfig()
        #expect(try s.dvbackup("run", config: config).code == 0)
        try Damage.flipByte(f[0].sourcePath)
        try Damage.delete(f[1].sourcePath)
        try Damage.flipByte(f[2].sourcePath)
        // f[2]'s copy is damaged too (after its proof): its restore fails its checksum.
        let copy2 = s.backupDir + "/" + f[2].relativePath
        try Damage.flipByte(copy2, at: 5)
        #expect(try s.dvbackup("audit", "--source", "--all", config: config).code == 1)
        let audited = try s.sourceFixity()
        #expect(audited[f[0].id]?.result == "damaged" && audited[f[1].id]?.result == "missing" && audited[f[2].id]?.result == "damaged")

        // Before: status, its JSON and the check count three.
        #expect(try primaries(s, config) == ["damaged": 2, "missing": 1, "ok": 1])
        let text = try s.dvbackup("status", config: config)
        #expect(text.stdout.contains("primaries (audit --source): damaged 2, missing 1, ok 1;"), "\(text.stdout)")
        let check = try s.dvbackup("status", "--check", config: config)
        #expect(check.code == 1 && check.stdout.contains("3 primaries were last found damaged or missing (audit --source)"), "\(check.stdout)")

        let restore = try s.dvbackup("restore", "--damaged-primaries", "--into-store", config: config)
        #expect(restore.code == 1, "\(restore.stdout)\n\(restore.stderr)")
        let runId = try #require(try s.backupConnection().query("SELECT max(id) FROM dvbackup_run WHERE mode = 'restore'").int(0, 0))
        #expect(FileManager.default.contents(atPath: f[0].sourcePath).map { [UInt8]($0) } == f[0].bytes)
        #expect(FileManager.default.contents(atPath: f[1].sourcePath).map { [UInt8]($0) } == f[1].bytes)

        let r = try s.backupConnection().query("SELECT datafileid, result, reason, lastrunid FROM sourcefixity ORDER BY datafileid")
        var rows: [Int64: (result: String, reason: String, run: Int64?)] = [:]
        for i in 0..<r.rowCount { rows[try r.int(i, "datafileid")!] = (try r.string(i, "result")!, try r.string(i, "reason") ?? "", try r.int(i, "lastrunid")) }
        for x in [f[0], f[1]] {
            #expect(rows[x.id]?.result == "ok")
            #expect(rows[x.id]?.run == runId)
            #expect(rows[x.id]?.reason.hasPrefix("restored by restore run \(runId) on ") == true, "\(rows[x.id]?.reason ?? "")")
            #expect(rows[x.id]?.reason.contains("proven against the catalog's MD5 while streaming") == true, "\(rows[x.id]?.reason ?? "")")
        }
        // The failed restore left the audit's finding; the primary that was never damaged is untouched.
        #expect(rows[f[2].id]?.result == "damaged" && rows[f[2].id]?.reason == audited[f[2].id]?.reason ?? "")
        #expect(rows[f[2].id]?.run != runId)
        #expect(rows[f[3].id]?.result == "ok" && rows[f[3].id]?.run != runId)

        #expect(try primaries(s, config) == ["damaged": 1, "ok": 3])
        #expect(try s.dvbackup("status", config: config).stdout.contains("primaries (audit --source): damaged 1, ok 3;"))
        let after = try s.dvbackup("status", "--check", config: config)
        #expect(after.stdout.contains("1 primary was last found damaged or missing"), "\(after.stdout)")

        // Only the one that failed is picked again; once its copy is good, it is restored, and then nothing is.
        let dry = try s.dvbackup("restore", "--damaged-primaries", "--into-store", "--dry-run", config: config)
        #expect(dry.stdout.contains("1 file(s) would be restored"), "\(dry.stdout)")
        #expect(dry.stdout.contains("datafile \(f[2].id) ") && !dry.stdout.contains("datafile \(f[0].id) ") && !dry.stdout.contains("datafile \(f[1].id) "), "\(dry.stdout)")
        try Data(f[2].bytes).write(to: URL(fileURLWithPath: copy2))
        #expect(try s.dvbackup("restore", "--damaged-primaries", "--into-store", config: config).code == 0)
        let none = try s.dvbackup("restore", "--damaged-primaries", "--into-store", "--dry-run", config: config)
        #expect(none.code == 0 && none.stdout.contains("0 file(s) would be restored"), "\(none.stdout)")
        #expect(try primaries(s, config) == ["ok": 4])
        let clean = try s.dvbackup("status", config: config)
        #expect(clean.stdout.contains("primaries (audit --source): ok 4") && !clean.stdout.contains("damaged 1"), "\(clean.stdout)")
        let good = try s.dvbackup("status", "--check", config: config)
        #expect(good.code == 0 && !good.stdout.contains("damaged or missing"), "\(good.stdout)")
    }
}
