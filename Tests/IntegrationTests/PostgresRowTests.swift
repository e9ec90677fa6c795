import DVBackup
import Foundation
import Testing

/// Rows read by column name against the real server: the order a query lists its columns
/// in does not matter, and a name the result lacks is an error that names it.
@Suite(.enabled(if: TestPostgres.enabled))
struct PostgresRowTests {
    @Test func columnsListedInAnotherOrderGiveTheSameValues() throws {
        let s = try Sandbox(seed: 241)
        let ds = try s.addDataset()
        _ = try s.addFile(dataset: ds, size: 100)
        _ = try s.addFile(dataset: ds, size: 10, writeBytes: false)
        #expect(try s.dvbackup("run").code == 1)
        let db = try s.backupConnection()
        let a = try db.query("SELECT datafileid, status, filesize, lasterror, attempts FROM datafilestatus ORDER BY datafileid")
        let b = try db.query("SELECT attempts, lasterror, filesize, status, datafileid FROM datafilestatus ORDER BY datafileid")
        #expect(a.rowCount == 2 && b.rowCount == 2)
        for i in 0..<a.rowCount {
            for name in ["datafileid", "status", "filesize", "lasterror", "attempts"] {
                #expect(try a.string(i, name) == b.string(i, name), "row \(i) column \(name)")
            }
        }
        #expect(try a.string(0, "status") == "OK" && a.isNull(0, "lasterror"))
        #expect(try a.string(1, "status") == "FAIL_READ" && a.int(1, "filesize") == nil && a.int(1, "attempts") == 1)
    }

    @Test func aColumnTheResultLacksIsNamedInTheError() throws {
        let s = try Sandbox(seed: 242)
        #expect(try s.dvbackup("init-db").code == 0)
        let r = try s.backupConnection().query("SELECT id, mode FROM dvbackup_run")
        do {
            _ = try r.string(0, "state")
            Issue.record("no error for a column the result lacks")
        } catch {
            #expect(error.description.contains("no column \"state\" (its columns: id, mode)"), "\(error)")
        }
    }
}
