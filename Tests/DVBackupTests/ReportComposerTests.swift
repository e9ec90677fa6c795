import Foundation
import Testing

@testable import DVBackup

@Suite struct ReportComposerTests {
    func summary(ok: Int64 = 1204, failures: [BackupStatus: Int64] = [:], state: String = "finished", error: String? = nil) -> RunSummary {
        var c = RunCounts()
        c[.ok] = ok
        for (s, n) in failures { c[s] = n }
        c.planned = ok + failures.values.reduce(0, +)
        c.bytes = 3_100_000_000
        return RunSummary(runId: 12, mode: .incremental, state: RunState(rawValue: state)!, counts: c, seconds: 2474, target: "directory /mnt/backup", error: error)
    }

    func failed(_ status: BackupStatus, _ id: Int64, reason: String = "gone") -> FailedFile {
        FailedFile(datafileId: id, datasetPID: "doi:10.5072/FK2/X\(id)", datasetIdentifier: "10.5072/FK2/X\(id)",
                   storageIdentifier: "file://f\(id)", status: status.rawValue, reason: reason, attempts: 1,
                   lastAttempt: "2025-06-01 10:00:00", location: nil)
    }

    /// Pages of failed files as StatusStore.failures(ofRun:) hands them out.
    func pages(_ files: [FailedFile], size: Int = 2) -> ((([FailedFile]) throws -> Void) throws -> Void) {
        { body in
            var i = 0
            while i < files.count {
                try body(Array(files[i..<min(i + size, files.count)]))
                i += size
            }
        }
    }

    @Test(arguments: [
        ([BackupStatus: Int64](), "finished", nil as String?, "[dvbackup] dataverse.example.edu incremental: all OK, 1,204 copied"),
        ([.failRead: 2, .failSourceChecksum: 1], "finished", nil, "[dvbackup] dataverse.example.edu incremental: 3 failed, 1,204 OK"),
        ([.failRead: 1], "interrupted", nil, "[dvbackup] dataverse.example.edu incremental: interrupted, 1 failed, 1,204 OK"),
        ([:], "failed", "reading the catalog failed: connection lost", "[dvbackup] dataverse.example.edu incremental: FAILED (reading the catalog failed: connection lost), all OK, 1,204 copied"),
    ])
    func subjectSaysInstallationModeAndVerdict(failures: [BackupStatus: Int64], state: String, error: String?, expected: String) {
        let c = ReportComposer(installation: "dataverse.example.edu", maxFailureLines: 100, configPath: "/etc/dvbackup/config.ini")
        let r = c.finished(summary(failures: failures, state: state, error: error), exit: .filesFailed, failures: pages([]))
        #expect(r.subject == expected)
    }

    @Test func bodyGivesCountsAndFailuresGroupedMostSeriousFirst() {
        let c = ReportComposer(installation: "site", maxFailureLines: 100, configPath: "/etc/dvbackup/config.ini")
        let files = [failed(.failSourceChecksum, 5, reason: "MD5 differs"), failed(.failRead, 1, reason: "line one\nline two"), failed(.failRead, 2)]
        let r = c.finished(summary(failures: [.failSourceChecksum: 1, .failRead: 2]), exit: .filesFailed, failures: pages(files))
        let lines = r.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "dvbackup incremental run 12 on site: 3 failed, 1,204 OK")
        #expect(lines.contains("  OK                      1,204"))
        #expect(lines.contains("  FAIL_READ               2"))
        #expect(lines.contains("  bytes copied            3.1 GB (3,100,000,000 bytes)"))
        #expect(lines.contains("  duration                2474.0 s (41m14s)"))
        #expect(lines.contains("  rate                    1.3 MB/s"))
        #expect(lines.contains("  exit code               1 (the run finished with failed files)"))
        let h1 = lines.firstIndex { $0.hasPrefix("FAIL_SOURCE_CHECKSUM (1): the primary copy is damaged") }!
        let f5 = lines.firstIndex(of: "  FAIL_SOURCE_CHECKSUM doi:10.5072/FK2/X5 datafile 5 file://f5: MD5 differs")!
        let h2 = lines.firstIndex { $0.hasPrefix("FAIL_READ (2): ") }!
        let f1 = lines.firstIndex(of: "  FAIL_READ doi:10.5072/FK2/X1 datafile 1 file://f1: line one / line two")!
        #expect(h1 < f5 && f5 < h2 && h2 < f1)
        #expect(r.csv == nil, "a short list is not attached")
        #expect(!r.text.contains("not listed"))
    }

    @Test func aLongListIsCutWithTheTotalAndAttachedWhole() throws {
        let c = ReportComposer(installation: "site", maxFailureLines: 3, configPath: "/etc/dvbackup/config.ini")
        let files = (1...10).map { failed(.failRead, Int64($0), reason: "cannot open /a,\"b\"") }
        let r = c.finished(summary(failures: [.failRead: 10]), exit: .filesFailed, failures: pages(files, size: 4))
        let listed = r.text.split(separator: "\n").filter { $0.hasPrefix("  FAIL_READ doi:") }
        #expect(listed.count == 3)
        #expect(r.text.contains("… 7 more failed files are not listed here (MaxFailureLines = 3)."))
        #expect(r.text.contains("The attached dvbackup-failures-run-12.csv lists all 10."))
        let csv = String(decoding: try #require(r.csv), as: UTF8.self)
        #expect(csv.components(separatedBy: "\r\n").count == 12, "header, 10 records, and the empty end")
        #expect(csv.contains("FAIL_READ,doi:10.5072/FK2/X10,10,file://f10,\"cannot open /a,\"\"b\"\"\",1,"))
        let message = r.message(from: "a@b.c", to: ["d@e.f"])
        #expect(message.attachments.first?.filename == "dvbackup-failures-run-12.csv")
    }

    @Test func theAttachmentStopsAtItsSizeLimitAndSaysSo() throws {
        var c = ReportComposer(installation: "site", maxFailureLines: 1, configPath: "/c.ini")
        c.maxCSVBytes = 300
        let files = (1...20).map { failed(.failWrite, Int64($0)) }
        let r = c.finished(summary(failures: [.failWrite: 20]), exit: .filesFailed, failures: pages(files))
        let rows = try #require(r.csv).split(separator: 10).count - 1
        #expect(rows < 20)
        #expect(r.text.contains("lists the first \(rows) of them (it stops at 300 B)"))
    }

    @Test func anUnreadableFailureListIsSaidNotHidden() {
        let c = ReportComposer(installation: "site", maxFailureLines: 10, configPath: "/c.ini")
        let r = c.finished(summary(failures: [.failRead: 1]), exit: .filesFailed, failures: nil)
        #expect(r.text.contains("the failed files cannot be listed"))
        struct Boom: Error, CustomStringConvertible { var description: String { "connection lost" } }
        let r2 = c.finished(summary(failures: [.failRead: 1]), exit: .filesFailed, failures: { _ in throw Boom() })
        #expect(r2.text.contains("(cannot list the failed files: connection lost)"))
    }

    @Test func aRunThatCouldNotStartSaysWhy() {
        let c = ReportComposer(installation: "Universität", maxFailureLines: 10, configPath: "/c.ini")
        let reason = "another dvbackup run holds the lock on backup database \"backupdb\": run 11 (incremental), started 2025-06-01"
        let r = c.couldNotStart(mode: .rerun, reason: reason, runId: nil)
        #expect(r.subject.hasPrefix("[dvbackup] Universität rerun: could not start: another dvbackup run holds the lock"))
        #expect(r.subject.count <= 160 && r.subject.hasSuffix("…"))
        #expect(r.text.contains("  why                     " + reason))
        #expect(r.text.contains("  exit code               3 (the run could not start)"))
        #expect(r.text.contains("Nothing was copied"))
        #expect(r.exitStatus == .cannotStart)
    }

    @Test func secretsAreRedacted() {
        #expect(Redaction.redact("login failed for s3cret-pw here", secrets: ["s3cret-pw", nil, "ab"]) == "login failed for *** here")
        #expect(Redaction.redact("ab stays", secrets: ["ab"]) == "ab stays", "too short to redact safely")
    }

    /// Issue 15: copies the catalog's checksum could not prove are listed with the reason,
    /// at most MaxFailureLines of them.
    @Test func copiesProvenAgainstTheBytesReadOnlyAreListed() {
        let c = ReportComposer(installation: "u", maxFailureLines: 2, configPath: "/etc/dvbackup/config.ini")
        let files = (1...3).map { failed(.okNoChecksum, Int64($0), reason: "catalog algorithm SHA3-256 is not supported") }
        let r = c.finished(summary(), exit: .success, bytesOnly: files, failures: pages([]))
        #expect(r.text.contains("  OK_NO_CHECKSUM doi:10.5072/FK2/X1 datafile 1 file://f1: proven against the bytes read only: catalog algorithm SHA3-256 is not supported"))
        #expect(r.text.contains("datafile 2 file://f2: proven against the bytes read only"))
        #expect(!r.text.contains("datafile 3 "))
        #expect(r.text.contains("--status OK_NO_CHECKSUM --all"))
        #expect(!c.finished(summary(), exit: .success, failures: pages([])).text.contains("proven against the bytes read only"))
    }
}
