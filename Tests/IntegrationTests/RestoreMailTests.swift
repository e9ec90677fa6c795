import DVBackup
import Foundation
import Testing

/// The orphan scan's report, like a run's: stored with its run row and mailed through
/// [Notifications] (the SMTP sink the mail tests read).
@Suite(.enabled(if: TestSMTP.enabled), .serialized)
struct RestoreMailTests {
    @Test func theOrphanScanReportIsStoredAndMailed() throws {
        try TestSMTP.requireServer()
        let s = try Sandbox(seed: 1321)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/ORPHMAIL")
        let kept = try s.addFile(dataset: ds, size: 100)
        let deleted = try s.addFile(dataset: ds, size: 200)
        let to = TestSMTP.uniqueAddress("orphans")
        let config = try s.writeMailConfig(["Email: \(to)", "SmtpUrl: \(TestSMTP.plainURL)", "SmtpStartTLS: off",
                                            "SmtpFrom: dvbackup@dataverse.example.edu", "Installation: dataverse.example.edu"])
        #expect(try s.dvbackup("run", config: config).code == 0)
        try s.deleteFromCatalog(file: deleted)
        let leftover = s.backupDir + "/10.5072/FK2/ORPHMAIL/.dvbackup-\(kept.id).partial"
        try Data(count: 60).write(to: URL(fileURLWithPath: leftover))

        let scan = try s.dvbackup("audit", "--orphans", config: config)
        #expect(scan.code == 0, "\(scan.stdout)\n\(scan.stderr)")
        #expect(scan.stderr.contains("report mailed to \(to)"), "\(scan.stderr)")

        let run = try #require(try s.runRows().last)
        let mails = try TestSMTP.messages(to: to)
        #expect(mails.count == 2, "the backup run's report and the orphan scan's")
        let mail = try #require(mails.first { $0.headers["subject"]?.contains("orphans") == true })
        #expect(mail.headers["subject"] == "dvbackup orphans on \(WallClock.hostname()): 1 orphan, 1 leftover")
        let lines = mail.textLines
        #expect(lines.first == "Orphans and leftovers (run \(run.id)) on directory \(s.backupDir):", "\(lines)")
        #expect(lines.contains { $0.hasPrefix("  orphan    \(deleted.relativePath)  200 B  ") && $0.hasSuffix("file deleted in Dataverse") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("  leftover  10.5072/FK2/ORPHMAIL/.dvbackup-\(kept.id).partial  60 B  ") }, "\(lines)")
        // Stored with its run row, as the mail was sent.
        #expect(run.subject == mail.headers["subject"])
        #expect(run.report == mail.text.replacingOccurrences(of: "\r\n", with: "\n"))
        #expect(run.mailStatus == "sent" && run.mailRecipients == to && run.exitCode == 0)
        #expect(!mail.text.contains(TestPostgres.password))
    }
}
