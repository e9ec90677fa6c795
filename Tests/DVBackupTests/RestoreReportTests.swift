import Foundation
import Testing
@testable import DVBackup

/// The restore's report as its reader gets it: the counts, where the files went, every file
/// that was not restored with its reason (and the CSV of them), and the subject that says
/// whether to look.
@Suite struct RestoreReportTests {
    func result(_ id: Int64, _ kind: RestoreResult.Kind, _ detail: String, bytes: Int64 = 0, as status: BackupStatus? = nil) -> RestoreResult {
        RestoreResult(datafileId: id, dataset: "doi:10.5072/FK2/ABC", storageName: "18c5f0e2a1b-\(id)", kind: kind, detail: detail,
                      bytes: bytes, failedAs: status)
    }

    func summary(dryRun: Bool = false, _ results: [RestoreResult]) -> RestoreSummary {
        var s = RestoreSummary(runId: 42, target: "SFTP backup@backup.example.edu:/srv/backup", destination: "/srv/restore (named by their labels)",
                               dryRun: dryRun)
        for r in results { s.add(r) }
        s.seconds = 12.34
        return s
    }

    @Test func aRestoreWithFailuresNamesEachFileAndWhy() throws {
        let s = summary([
            result(1, .restored, "/srv/restore/10.5072/FK2/ABC/data.csv", bytes: 2_000),
            result(2, .restored, "/srv/restore/10.5072/FK2/ABC/readme.txt", bytes: 500),
            result(3, .failed, "the copy on the target is damaged: its MD5 is 00ff, the catalog says 11ee; nothing was written", as: .failVerify),
            result(4, .failed, "the copy is missing on the target: no such file", as: .failRead),
        ])
        let report = try #require(RestoreReport.compose(.finished(s), host: "dv1.example.edu"))
        #expect(report.subject == "dvbackup restore on dv1.example.edu: FAILURES: 2 restored, 2 failed")
        #expect(report.exitStatus == .filesFailed && report.runId == 42)
        let lines = report.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "Restore (run 42) from SFTP backup@backup.example.edu:/srv/backup to /srv/restore (named by their labels): finished in 12.3 s")
        #expect(lines.contains("  restored, proven against their checksums  2 (2.5 kB)"))
        #expect(lines.contains("  failed                                    2"))
        #expect(lines.contains("Not restored (nothing was written for these):"))
        #expect(lines.contains("  datafile 3 (doi:10.5072/FK2/ABC, 18c5f0e2a1b-3): the copy on the target is damaged: its MD5 is 00ff, the catalog says 11ee; nothing was written"))
        #expect(lines.contains("  datafile 4 (doi:10.5072/FK2/ABC, 18c5f0e2a1b-4): the copy is missing on the target: no such file"))
        let csv = String(decoding: try #require(report.csv), as: UTF8.self)
        #expect(csv.hasPrefix("datafile_id,dataset,storage_name,reason\r\n") || csv.hasPrefix("datafile_id,dataset,storage_name,reason\n"), "\(csv)")
        #expect(csv.contains("3,doi:10.5072/FK2/ABC,18c5f0e2a1b-3,"))
        // The runs table counts them by what failed.
        #expect(s.counts[.ok] == 2 && s.counts[.failVerify] == 1 && s.counts[.failRead] == 1 && s.counts.bytes == 2_500)
    }

    @Test func aCleanRestoreSaysSoAndCarriesNoAttachment() throws {
        let report = try #require(RestoreReport.compose(.finished(summary([result(1, .restored, "/srv/restore/x", bytes: 10)])),
                                                        host: "dv1"))
        #expect(report.subject == "dvbackup restore on dv1: 1 restored, 0 failed")
        #expect(report.exitStatus == .success)
        #expect(report.csv == nil)
        #expect(!report.text.contains("Not restored"))
    }

    @Test func intoTheStoresIntactPrimariesAreCountedAsLeftUntouched() throws {
        var s = summary([result(1, .restored, "into its store", bytes: 10), result(2, .intact, "the primary matches the catalog; not touched")])
        s.destination = "the primary stores (only missing or damaged primaries)"
        let report = try #require(RestoreReport.compose(.finished(s), host: "dv1"))
        #expect(report.subject == "dvbackup restore on dv1: 1 restored, 0 failed, 1 intact")
        #expect(report.text.contains("to the primary stores (only missing or damaged primaries)"))
        #expect(report.text.contains("  primaries intact, left untouched         1"))
    }

    @Test func aDryRunListsWhatWouldBeRestored() throws {
        let s = summary(dryRun: true, [result(1, .wouldRestore, "/srv/restore/a"), result(2, .wouldRestore, "/srv/restore/b"),
                                       result(3, .failed, "the catalog has no checksum for this file", as: .failVerify)])
        let report = try #require(RestoreReport.compose(.finished(s), host: "dv1"))
        #expect(report.subject == "dvbackup restore on dv1: FAILURES: dry run, 2 would be restored, 1 cannot be")
        #expect(report.text.hasPrefix("Restore dry run (run 42) from SFTP backup@backup.example.edu:/srv/backup to /srv/restore (named by their labels): 2 file(s) would be restored"))
        #expect(report.text.contains("1 cannot be restored"))
    }

    @Test func aRestoreThatCouldNotStartSaysWhy() throws {
        let report = try #require(RestoreReport.compose(.couldNotStart(reason: "the run lock is held by run 7", runId: nil, exit: .cannotStart),
                                                        host: "dv1"))
        #expect(report.subject == "dvbackup restore on dv1: not started")
        #expect(report.text == "The restore did not start: the run lock is held by run 7\n")
        #expect(report.exitStatus == .cannotStart)
        #expect(RestoreReport.compose(.notRun) == nil)
    }

    @Test func theOrphanReportListsWhatWasFoundAndCutsLongLists() throws {
        var s = OrphanSummary()
        s.runId = 9
        s.target = "local directory /backup"
        for i in 1...3 {
            s.orphans += 1
            s.orphanBytes += 100
            s.keep(OrphanEntry(kind: .orphan, path: "10.5072/FK2/GONE/f\(i)", size: 100, age: "3 d old", reason: "dataset no longer in the catalog"))
        }
        s.leftovers = 1
        s.leftoverBytes = 50
        s.keep(OrphanEntry(kind: .leftover, path: "10.5072/FK2/A/.x.dvbackup-partial", size: 50, age: "2 d old", reason: "temporary"))
        let full = OrphanReport.compose(s, startFailure: nil, exit: .success, maxLines: 100, host: "dv1")
        #expect(full.subject == "dvbackup orphans on dv1: 3 orphans, 1 leftover")
        #expect(full.text.contains("  orphan    10.5072/FK2/GONE/f2  100 B  3 d old  dataset no longer in the catalog"))
        #expect(full.text.contains("  leftover  10.5072/FK2/A/.x.dvbackup-partial  50 B  2 d old  temporary"))
        #expect(full.csv == nil && full.exitStatus == .success)
        let cut = OrphanReport.compose(s, startFailure: nil, exit: .success, maxLines: 2, host: "dv1")
        #expect(!cut.text.contains("f3") && cut.text.contains("  … and 2 more (the first 4 are in the attached CSV)"), "\(cut.text)")
        #expect(String(decoding: try #require(cut.csv), as: UTF8.self).contains("orphan,10.5072/FK2/GONE/f3,100,3 d old,dataset no longer in the catalog"))
        s.removalFailures = 1
        #expect(OrphanReport.compose(s, startFailure: nil, exit: .filesFailed, maxLines: 2, host: "dv1").subject.contains("FAILURES: "))
    }
}
