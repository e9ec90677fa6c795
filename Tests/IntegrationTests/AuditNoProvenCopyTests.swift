import DVBackup
import Foundation
import Testing

/// A file whose copy an audit found bad and whose primary then fails its checksum has no
/// proven copy anywhere: the most serious line dvbackup reports, in a section of its own at
/// the top of the run's printed summary, of its mail, and of `dvbackup status`.
@Suite(.enabled(if: TestSMTP.enabled))
struct AuditNoProvenCopyTests {
    @Test func noProvenCopyIsTheFirstSectionOfTheSummaryTheMailAndStatus() throws {
        try TestSMTP.requireServer()
        let s = try Sandbox(seed: 571)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/NOPROOF")
        let f = try (0..<2).map { _ in try s.addFile(dataset: ds, size: 1000) }
        let quiet = try s.writeConfig()
        #expect(try s.dvbackup("run", config: quiet).code == 0)
        // f[0]: its copy rots, then its primary; a new file whose primary is missing fails
        // the ordinary way (FAIL_READ), below the section.
        try Damage.flipByte(s.backupDir + "/" + f[0].relativePath, at: 5)
        try Damage.flipByte(f[0].sourcePath, at: 9)
        let gone = try s.addFile(dataset: ds, size: 10, writeBytes: false)
        #expect(try s.dvbackup("audit", "--all", config: quiet).code == 1)

        let to = [TestSMTP.uniqueAddress("no-proven-copy")]
        let config = try s.writeMailConfig(MailTests().notifications(TestSMTP.plainURL, to: to, extra: ["SmtpStartTLS: off"]))
        let run = try s.dvbackup("run", config: config)
        #expect(run.code == 1, "\(run.stdout)\n\(run.stderr)")
        let pid = "doi:10.5072/FK2/NOPROOF"
        let fileLine = "  FAIL_SOURCE_CHECKSUM \(pid) datafile \(f[0].id) \(f[0].storageIdentifier): NO PROVEN COPY ANYWHERE"

        // The printed summary: the section first, before the run's verdict and counts.
        let printed = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let heading = try #require(printed.firstIndex { $0.hasPrefix("NO PROVEN COPY ANYWHERE (1): ") }, "\(run.stdout)")
        #expect(heading == 0, "\(run.stdout)")
        #expect(printed.firstIndex { $0.hasPrefix("dvbackup incremental run ") }.map { $0 > heading } == true, "\(run.stdout)")
        #expect(printed[heading + 3].hasPrefix(fileLine), "\(run.stdout)")
        let planned = try #require(printed.firstIndex { $0.hasPrefix("  files planned") })
        let failedList = try #require(printed.firstIndex { $0.hasPrefix("Failed files") })
        #expect(heading < planned && planned < failedList)
        #expect(!printed[heading..<planned].contains { $0.contains("datafile \(gone.id)") }, "an ordinary failure is not in the section")
        #expect(printed[failedList...].contains { $0.hasPrefix("  FAIL_READ \(pid) datafile \(gone.id)") })

        // The mail: in the subject, and the first section of the text.
        let mail = try TestSMTP.message(to: to[0])
        #expect(mail.headers["subject"] == "[dvbackup] dataverse.example.edu incremental: NO PROVEN COPY ANYWHERE for 1 file, 2 failed, 0 OK",
                "\(mail.headers["subject"] ?? "")")
        let lines = mail.textLines
        #expect(lines.first?.hasSuffix(": NO PROVEN COPY ANYWHERE for 1 file, 2 failed, 0 OK") == true, "\(lines)")
        let mailHeading = try #require(lines.firstIndex { $0.hasPrefix("NO PROVEN COPY ANYWHERE (1): ") }, "\(mail.text)")
        let started = try #require(lines.firstIndex { $0.hasPrefix("  started") })
        #expect(mailHeading == 2 && mailHeading < started, "\(mail.text)")
        #expect(lines[mailHeading...started].contains { $0.hasPrefix(fileLine) }, "\(mail.text)")
        #expect(!lines[mailHeading...started].contains { $0.contains("datafile \(gone.id)") })

        // status: the section before everything else.
        let status = try s.dvbackup("status", config: quiet)
        #expect(status.code == 0)
        let statusLines = status.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(statusLines.first?.hasPrefix("NO PROVEN COPY ANYWHERE (1): ") == true, "\(status.stdout)")
        #expect(statusLines[3].hasPrefix(fileLine), "\(status.stdout)")
        let json = try s.dvbackup("status", "--json", config: quiet)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let section = try #require(object["noProvenCopy"] as? [String: Any], "\(json.stdout)")
        #expect(section["total"] as? Int == 1)
        #expect((section["files"] as? [[String: Any]])?.first?["datafileId"] as? Int == Int(f[0].id))
    }
}
