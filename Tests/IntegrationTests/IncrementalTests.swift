import DVBackup
import Foundation
import Testing

/// The incremental cursor: skips, ties on createdate, late commits, retries, --rerun.
@Suite(.enabled(if: TestPostgres.enabled))
struct IncrementalTests {
    @Test func secondRunSkipsWhatIsOKAndCopiesOnlyNewFiles() throws {
        let s = try Sandbox(seed: 21)
        let ds = try s.addDataset()
        let a = try s.addFile(dataset: ds, size: 100)
        let b = try s.addFile(dataset: ds, size: 200)
        #expect(try s.dvbackup("run").code == 0)
        let firstCopy = try FileManager.default.attributesOfItem(atPath: s.backupDir + "/" + a.relativePath)[.modificationDate] as? Date
        let c = try s.addFile(dataset: ds, size: 300)
        let second = try s.dvbackup("run")
        #expect(second.code == 0)
        #expect(second.stdout.contains("files planned           1"))
        #expect(second.stdout.contains("skipped (already OK)    2"))
        #expect(s.backupBytes(c) == c.bytes)
        let rows = try s.statusRows()
        #expect(rows[a.id]?.attempts == 1 && rows[b.id]?.attempts == 1, "OK files are not copied again")
        let after = try FileManager.default.attributesOfItem(atPath: s.backupDir + "/" + a.relativePath)[.modificationDate] as? Date
        #expect(firstCopy == after)
        // --rerun reads the whole catalog and also skips what is OK.
        let rerun = try s.dvbackup("run", "--rerun")
        #expect(rerun.code == 0)
        #expect(rerun.stdout.contains("files planned           0"))
        #expect(rerun.stdout.contains("skipped (already OK)    3"))
    }

    @Test func cursorTiesOnCreatedateAreResolvedById() throws {
        let s = try Sandbox(seed: 22)
        let ds = try s.addDataset()
        // One command gives many files the same createdate.
        let ts = "2025-06-01 12:00:00.5"
        _ = try s.addFile(dataset: ds, size: 10, createdate: ts)
        _ = try s.addFile(dataset: ds, size: 10, createdate: ts)
        let config = try s.writeConfig(backupLines: ["IncrementalOverlap = 0"])
        #expect(try s.dvbackup("run", config: config).code == 0)
        // A file with the same createdate committed after the run (higher id) is found even
        // with no overlap window: the cursor is (createdate, id), not createdate alone.
        let tie = try s.addFile(dataset: ds, size: 10, createdate: ts)
        let second = try s.dvbackup("run", config: config)
        #expect(second.code == 0)
        #expect(second.stdout.contains("files planned           1"))
        #expect(s.backupBytes(tie) == tie.bytes)
        let db = try s.backupConnection()
        let cursor = try db.query("SELECT cursor_createdate::text, cursor_id FROM dvbackup_run ORDER BY id DESC LIMIT 1")
        #expect(cursor.string(0, 0) == "2025-06-01 12:00:00.5")
        #expect(cursor.int(0, 1) == tie.id)
    }

    @Test func lateCommittedFileIsFoundByTheOverlapWindow() throws {
        let s = try Sandbox(seed: 23)
        let ds = try s.addDataset()
        _ = try s.addFile(dataset: ds, size: 10, createdate: "2025-06-01 12:00:00")
        _ = try s.addFile(dataset: ds, size: 10, createdate: "2025-06-01 13:00:00")
        #expect(try s.dvbackup("run").code == 0)
        // A long transaction commits a file stamped before the cursor.
        let late = try s.addFile(dataset: ds, size: 10, createdate: "2025-06-01 12:30:00")
        // Without an overlap window it is missed by the incremental run…
        let noOverlap = try s.writeConfig(backupLines: ["IncrementalOverlap = 0"], name: "no-overlap.ini")
        let missed = try s.dvbackup("run", config: noOverlap)
        #expect(missed.stdout.contains("files planned           0"))
        #expect(s.backupBytes(late) == nil)
        // …with the default 24h window it is found.
        let found = try s.dvbackup("run")
        #expect(found.code == 0)
        #expect(found.stdout.contains("files planned           1"))
        #expect(s.backupBytes(late) == late.bytes)
    }

    @Test func rerunFindsWhatTheWindowMissed() throws {
        let s = try Sandbox(seed: 24)
        let ds = try s.addDataset()
        _ = try s.addFile(dataset: ds, size: 10, createdate: "2025-06-05 12:00:00")
        let config = try s.writeConfig(backupLines: ["IncrementalOverlap = 1h"])
        #expect(try s.dvbackup("run", config: config).code == 0)
        let late = try s.addFile(dataset: ds, size: 10, createdate: "2025-06-01 12:00:00")
        #expect(try s.dvbackup("run", config: config).stdout.contains("files planned           0"))
        let rerun = try s.dvbackup("run", "--rerun", config: config)
        #expect(rerun.code == 0)
        #expect(rerun.stdout.contains("files planned           1"))
        #expect(s.backupBytes(late) == late.bytes)
    }

    @Test func earlierFailuresAreRetriedOutsideTheWindow() throws {
        let s = try Sandbox(seed: 25)
        let ds = try s.addDataset()
        let missing = try s.addFile(dataset: ds, size: 500, createdate: "2025-01-01 00:00:00", writeBytes: false)
        #expect(try s.dvbackup("run").code == 1)
        #expect(try s.statusRows()[missing.id]?.status == "FAIL_READ")
        // Much later files move the cursor far past the failed one.
        _ = try s.addFile(dataset: ds, size: 10, createdate: "2025-03-01 00:00:00")
        let stillMissing = try s.dvbackup("run")
        #expect(stillMissing.code == 1)
        #expect(try s.statusRows()[missing.id]?.attempts == 2, "the failure was retried")
        // The administrator restores the file; the next incremental run copies it.
        try FileManager.default.createDirectory(atPath: (missing.sourcePath as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(missing.bytes).write(to: URL(fileURLWithPath: missing.sourcePath))
        let fixed = try s.dvbackup("run")
        #expect(fixed.code == 0, "\(fixed.stdout)")
        #expect(fixed.stdout.contains("files planned           1"))
        let row = try #require(try s.statusRows()[missing.id])
        #expect(row.status == "OK")
        #expect(row.lastError == nil)
        #expect(s.backupBytes(missing) == missing.bytes)
    }

    @Test func deferredIngestHoldsTheCursorUntilItIsDone() throws {
        let s = try Sandbox(seed: 26)
        let ds = try s.addDataset()
        let ingesting = try s.addFile(dataset: ds, size: 100, createdate: "2025-01-01 00:00:00", ingestStatus: "B")
        _ = try s.addFile(dataset: ds, size: 10, createdate: "2025-02-01 00:00:00")
        let config = try s.writeConfig(backupLines: ["IncrementalOverlap = 1h"])
        let first = try s.dvbackup("run", config: config)
        #expect(first.code == 0)
        #expect(first.stdout.contains("left for a later run    1"))
        #expect(try s.statusRows()[ingesting.id] == nil)
        // Ingest finishes a day later; the file is still found by an incremental run.
        try s.catalog.query("UPDATE datafile SET ingeststatus = 'A' WHERE id = $1", [String(ingesting.id)])
        let second = try s.dvbackup("run", config: config)
        #expect(second.code == 0)
        #expect(try s.statusRows()[ingesting.id]?.status == "OK")
    }

    @Test func changedCatalogChecksumIsProvenAgain() throws {
        let s = try Sandbox(seed: 27)
        let ds = try s.addDataset()
        let f = try s.addFile(dataset: ds, size: 1000, checksumType: .md5)
        #expect(try s.dvbackup("run").code == 0)
        try s.catalog.query("UPDATE datafile SET checksumtype = 'SHA256', checksumvalue = $2 WHERE id = $1",
                            [String(f.id), Digest.hex(.sha256, of: f.bytes)])
        let rerun = try s.dvbackup("run", "--rerun")
        #expect(rerun.code == 0)
        #expect(rerun.stdout.contains("files planned           1"))
        let row = try #require(try s.statusRows()[f.id])
        #expect(row.checksumType == "SHA256")
        #expect(row.provenChecksum == "SHA256:" + Digest.hex(.sha256, of: f.bytes))
    }
}
