import DVBackup
import Foundation
import Testing

/// The morning report, end to end: real runs of the built binary, a real SMTP server (the
/// aiosmtpd sink), the saved messages parsed and checked, the rows in the backup database.
@Suite(.enabled(if: TestSMTP.enabled))
struct MailTests {
    static let from = "dvbackup@dataverse.example.edu"

    /// A catalog with one good file, one missing (FAIL_READ) and one damaged (FAIL_SOURCE_CHECKSUM).
    func world(seed: UInt64) throws -> (Sandbox, ok: TestFile, missing: TestFile, damaged: TestFile) {
        try TestSMTP.requireServer()
        let s = try Sandbox(seed: seed)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/MAIL\(seed)")
        let ok = try s.addFile(dataset: ds, size: 2000)
        let missing = try s.addFile(dataset: ds, size: 10, writeBytes: false)
        let damaged = try s.addFile(dataset: ds, size: 300, checksum: String(repeating: "0", count: 32))
        return (s, ok, missing, damaged)
    }

    /// A [Notifications] section. With `ca` (the default) the test CA is trusted, so that a
    /// listener that offers STARTTLS (SmtpStartTLS optional) is verified rather than refused.
    func notifications(_ url: String, to: [String], extra: [String] = [], ca: Bool = true) -> [String] {
        let trust = ca && FileManager.default.isReadableFile(atPath: TestSMTP.caFile) && !extra.contains { $0.hasPrefix("SmtpCAFile") }
        return ["Email: " + to.joined(separator: ", "), "SmtpUrl: \(url)", "SmtpFrom: \(Self.from)",
                "Installation: dataverse.example.edu"] + (trust ? ["SmtpCAFile: \(TestSMTP.caFile)"] : []) + extra
    }

    @Test func plainMailToSeveralRecipientsAfterARunWithFailures() throws {
        let (s, ok, missing, damaged) = try world(seed: 101)
        let to = [TestSMTP.uniqueAddress("plain-a"), TestSMTP.uniqueAddress("plain-b"), TestSMTP.uniqueAddress("plain-c")]
        let config = try s.writeMailConfig(notifications(TestSMTP.plainURL, to: to, extra: ["SmtpStartTLS: off"]))
        let result = try s.dvbackup("run", config: config)
        #expect(result.code == 1, "the exit code tells the backup's outcome: \(result.stderr)")
        #expect(result.stderr.contains("report mailed to \(to.joined(separator: ", "))"))

        let mail = try TestSMTP.message(to: to[0])
        mail.expectWellFormed(from: Self.from, to: to)
        #expect(mail.headers["subject"] == "[dvbackup] dataverse.example.edu incremental: 2 failed, 1 OK")
        #expect(mail.headers["auto-submitted"] == "auto-generated")
        #expect(mail.contentType == "text/plain")
        #expect(mail.textTransferEncoding == "quoted-printable")
        #expect(mail.attachments.isEmpty)
        #expect(mail.envelope.hostName == WallClock.hostname(), "the EHLO name is this host's")
        #expect(try TestSMTP.messages(to: to[1]).count == 1, "one message for all recipients")

        let lines = mail.textLines
        #expect(lines.first?.hasPrefix("dvbackup incremental run 1 on dataverse.example.edu: 2 failed, 1 OK") == true)
        for expected in ["  files planned           3", "  OK                      1", "  FAIL_SOURCE_CHECKSUM    1",
                         "  FAIL_READ               1", "  FAIL_WRITE              0",
                         "  exit code               1 (the run finished with failed files)"] {
            #expect(lines.contains(expected), "the body has '\(expected)'")
        }
        #expect(lines.contains { $0.hasPrefix("  bytes copied            2.0 kB (2,000 bytes)") })
        #expect(lines.contains { $0.hasPrefix("  duration ") } && lines.contains { $0.hasPrefix("  rate ") })
        let pid = "doi:10.5072/FK2/MAIL101"
        let sourceLine = try #require(lines.firstIndex { $0.hasPrefix("  FAIL_SOURCE_CHECKSUM \(pid) datafile \(damaged.id) \(damaged.storageIdentifier): ") })
        let readLine = try #require(lines.firstIndex { $0.hasPrefix("  FAIL_READ \(pid) datafile \(missing.id) \(missing.storageIdentifier): ") })
        #expect(lines[readLine].contains("No such file or directory"))
        let sourceHeading = try #require(lines.firstIndex { $0.hasPrefix("FAIL_SOURCE_CHECKSUM (1): the primary copy is damaged") })
        let readHeading = try #require(lines.firstIndex { $0.hasPrefix("FAIL_READ (1): ") })
        #expect(sourceHeading < sourceLine && sourceLine < readHeading && readHeading < readLine,
                "grouped by status, the most serious first")
        #expect(!mail.text.contains(TestPostgres.password))

        // Stored with the run; the statuses are what the run recorded.
        let run = try #require(try s.runRows().last)
        #expect(run.mailStatus == "sent" && run.mailedAt != nil && run.mailError == nil)
        #expect(run.mailRecipients == to.joined(separator: ", "))
        #expect(run.exitCode == 1)
        #expect(run.subject == mail.headers["subject"])
        #expect(run.report == mail.text.replacingOccurrences(of: "\r\n", with: "\n"))
        let rows = try s.statusRows()
        #expect(rows[ok.id]?.status == "OK" && rows[missing.id]?.status == "FAIL_READ" && rows[damaged.id]?.status == "FAIL_SOURCE_CHECKSUM")

        // `dvbackup report` prints it again.
        let again = try s.dvbackup("report", config: config)
        #expect(again.code == 0, "\(again.stderr)")
        #expect(again.stdout.contains("Subject: [dvbackup] dataverse.example.edu incremental: 2 failed, 1 OK"))
        #expect(again.stdout.contains("mail: sent "))
        #expect(again.stdout.contains(lines[readLine]))
        let byId = try s.dvbackup("report", "--run", String(run.id), config: config)
        #expect(byId.code == 0 && byId.stdout == again.stdout)
        let noSuchRun = try s.dvbackup("report", "--run", "999", config: config)
        #expect(noSuchRun.code == 2)
        #expect(noSuchRun.stderr.contains("there is no run 999"))
    }

    @Test func startTLSWithAPrivateCAAndACertificateThatCannotBeVerified() throws {
        let (s, _, _, _) = try world(seed: 102)
        let to = [TestSMTP.uniqueAddress("starttls")]
        let config = try s.writeMailConfig(notifications(TestSMTP.startTLSURL, to: to,
                                                         extra: ["SmtpStartTLS: required", "SmtpCAFile: \(TestSMTP.caFile)"]))
        let result = try s.dvbackup("run", config: config)
        #expect(result.code == 1)
        let mail = try TestSMTP.message(to: to[0])
        #expect(mail.envelope.tls, "the message went over TLS")
        mail.expectWellFormed(from: Self.from, to: to)
        #expect(mail.headers["subject"] == "[dvbackup] dataverse.example.edu incremental: 2 failed, 1 OK")

        // Without the CA file the certificate is not trusted: nothing is sent, the report is kept.
        let unverified = [TestSMTP.uniqueAddress("starttls-noca")]
        let noCA = try s.writeMailConfig(notifications(TestSMTP.startTLSURL, to: unverified, extra: ["SmtpStartTLS: required"], ca: false),
                                         name: "noca.ini")
        let second = try s.dvbackup("run", config: noCA)
        #expect(second.code == 1, "a mail failure does not change the exit code")
        #expect(second.stderr.contains("cannot mail the report"))
        #expect(second.stderr.contains("TLS certificate of the mail server \(TestSMTP.startTLSURL.dropFirst(7)) could not be verified"), "\(second.stderr)")
        #expect(second.stderr.contains("SmtpCAFile"))
        let run = try #require(try s.runRows().last)
        #expect(run.mailStatus == "failed" && run.mailError?.contains("could not be verified") == true)
        #expect(run.report?.contains("incremental run \(run.id) on dataverse.example.edu: 2 failed, 0 OK") == true, "the report is stored")
        #expect(try TestSMTP.messages(to: unverified[0]).isEmpty)

        // Plain SMTP to a server that requires STARTTLS first: its refusal is the reason.
        let plain = try s.writeMailConfig(notifications(TestSMTP.startTLSURL, to: unverified, extra: ["SmtpStartTLS: off"]),
                                          name: "off.ini")
        let third = try s.dvbackup("run", config: plain)
        #expect(third.code == 1)
        #expect(third.stderr.contains("refused MAIL FROM:<\(Self.from)>: 530"), "\(third.stderr)")
    }

    @Test func smtpsWithAPrivateCA() throws {
        let (s, _, _, _) = try world(seed: 103)
        let to = [TestSMTP.uniqueAddress("smtps")]
        let config = try s.writeMailConfig(notifications(TestSMTP.smtpsURL, to: to, extra: ["SmtpCAFile: \(TestSMTP.caFile)"]))
        let result = try s.dvbackup("run", config: config)
        #expect(result.code == 1)
        #expect(result.stderr.contains("report mailed to \(to[0])"), "\(result.stderr)")
        let mail = try TestSMTP.message(to: to[0])
        #expect(mail.envelope.tls, "implicit TLS")
        mail.expectWellFormed(from: Self.from, to: to)
        #expect(mail.headers["subject"] == "[dvbackup] dataverse.example.edu incremental: 2 failed, 1 OK")
    }

    @Test func authWithThePasswordFromTheEnvironmentAndAWrongPassword() throws {
        let (s, _, _, _) = try world(seed: 104)
        let to = [TestSMTP.uniqueAddress("auth")]
        let config = try s.writeMailConfig(notifications(TestSMTP.authURL, to: to,
                                                         extra: ["SmtpUser: \(TestSMTP.authUser)", "SmtpPasswordEnv: DVB_TEST_SMTP_PW"]))
        let result = try s.dvbackup("run", config: config, environment: ["DVB_TEST_SMTP_PW": TestSMTP.authPassword])
        #expect(result.code == 1)
        let mail = try TestSMTP.message(to: to[0])
        #expect(mail.envelope.authUser == TestSMTP.authUser)
        mail.expectWellFormed(from: Self.from, to: to)

        // check-config shows the variable, never the value.
        let check = try s.dvbackup("check-config", config: config, environment: ["DVB_TEST_SMTP_PW": TestSMTP.authPassword])
        #expect(check.code == 0)
        #expect(check.stdout.contains("SmtpPasswordEnv = DVB_TEST_SMTP_PW (its value: ***)"))
        #expect(!check.stdout.contains(TestSMTP.authPassword))

        // A wrong password: refused, said, and never written anywhere.
        let wrongPassword = "wrong-pw-\(UUID().uuidString.prefix(6))"
        let denied = [TestSMTP.uniqueAddress("auth-denied")]
        let wrong = try s.writeMailConfig(notifications(TestSMTP.authURL, to: denied,
                                                        extra: ["SmtpUser: \(TestSMTP.authUser)", "SmtpPassword: \(wrongPassword)"]),
                                          name: "wrong.ini")
        let second = try s.dvbackup("run", config: wrong)
        #expect(second.code == 1)
        #expect(second.stderr.contains("refused the login of user \(TestSMTP.authUser)"), "\(second.stderr)")
        #expect(second.stderr.contains("535"))
        #expect(!second.stderr.contains(wrongPassword) && !second.stdout.contains(wrongPassword))
        let run = try #require(try s.runRows().last)
        #expect(run.mailStatus == "failed")
        for text in [run.report, run.mailError, run.subject, run.error] {
            #expect(!(text ?? "").contains(wrongPassword))
        }
        #expect(try TestSMTP.messages(to: denied[0]).isEmpty)
    }

    @Test func aRefusingServerLeavesTheReportStoredAndReportSendRetries() throws {
        let (s, ok, missing, _) = try world(seed: 105)
        let to = [TestSMTP.uniqueAddress("refused")]
        let config = try s.writeMailConfig(notifications(TestSMTP.refuseURL, to: to))
        let result = try s.dvbackup("run", config: config)
        #expect(result.code == 1)
        #expect(result.stderr.contains("cannot mail the report to \(to[0])"))
        #expect(result.stderr.contains("refused RCPT TO:<\(to[0])>: 550"), "\(result.stderr)")
        #expect(result.stderr.contains("dvbackup report --config"), "the log says how to retry")
        let run = try #require(try s.runRows().last)
        #expect(run.mailStatus == "failed" && run.mailError?.contains("550") == true && run.mailedAt == nil)
        #expect(run.report?.contains("FAIL_READ doi:10.5072/FK2/MAIL105 datafile \(missing.id)") == true)
        #expect(try s.statusRows()[ok.id]?.status == "OK", "the statuses are recorded as usual")

        let stored = try s.dvbackup("report", config: config)
        #expect(stored.code == 0)
        #expect(stored.stdout.contains("mail: not delivered: the mail server"))

        // Retry through a server that takes it.
        let retryConfig = try s.writeMailConfig(notifications(TestSMTP.plainURL, to: to), name: "retry.ini")
        let retry = try s.dvbackup("report", "--run", String(run.id), "--send", config: retryConfig)
        #expect(retry.code == 0, "\(retry.stderr)")
        #expect(retry.stdout.contains("run \(run.id): report mailed to \(to[0])"))
        let mail = try TestSMTP.message(to: to[0])
        mail.expectWellFormed(from: Self.from, to: to)
        #expect(mail.text.replacingOccurrences(of: "\r\n", with: "\n") == run.report)
        let after = try #require(try s.runRows().last)
        #expect(after.mailStatus == "sent" && after.mailedAt != nil)

        // A retry that fails says so with exit code 1.
        let failing = try s.dvbackup("report", "--send", config: config)
        #expect(failing.code == 1)
        #expect(failing.stderr.contains("550"))
    }

    @Test func aServerThatIsDownIsLoggedAndTheExitCodeIsTheBackups() throws {
        try TestSMTP.requireServer()
        let s = try Sandbox(seed: 106)
        let ds = try s.addDataset()
        let f = try s.addFile(dataset: ds, size: 100)
        let to = [TestSMTP.uniqueAddress("down")]
        let config = try s.writeMailConfig(notifications(TestSMTP.downURL, to: to))
        let result = try s.dvbackup("run", config: config)
        #expect(result.code == 0, "all files OK: exit 0 although the mail failed")
        #expect(s.backupBytes(f) == f.bytes)
        let port = TestSMTP.downURL.split(separator: ":").last.map(String.init) ?? ""
        #expect(result.stderr.contains("cannot connect to the mail server 127.0.0.1:\(port)"), "\(result.stderr)")
        let run = try #require(try s.runRows().last)
        #expect(run.state == "finished" && run.exitCode == 0)
        #expect(run.subject == "[dvbackup] dataverse.example.edu incremental: all OK, 1 copied")
        #expect(run.mailStatus == "failed" && run.mailError?.contains("cannot connect") == true)

        // MailOn = failure: a successful run mails nothing.
        let quiet = [TestSMTP.uniqueAddress("mailon")]
        let onFailure = try s.writeMailConfig(notifications(TestSMTP.plainURL, to: quiet, extra: ["MailOn: failure"]), name: "quiet.ini")
        #expect(try s.dvbackup("run", config: onFailure).code == 0)
        let quietRun = try #require(try s.runRows().last)
        #expect(quietRun.mailStatus == "not-sent" && quietRun.mailError?.contains("MailOn") == true)
        #expect(quietRun.report != nil, "the report is stored all the same")
        // Handshake: a marker sent through the same sink after the run; once it is saved,
        // a mail the run had sent would have been saved before it.
        let marker = "marker \(UUID().uuidString)"
        let message = MailMessage(from: Self.from, to: quiet, subject: marker, text: "after the run\n").rendered()
        _ = try SMTPClient(config: SMTPConfig(url: TestSMTP.plainURL)).send(from: Self.from, to: quiet, message: message)
        #expect(try TestSMTP.message(to: quiet[0]).headers["subject"] == marker)
        #expect(try TestSMTP.messages(to: quiet[0]).map { $0.headers["subject"] } == [marker], "the run mailed nothing")
    }

    @Test func runsThatCannotStartStillMailWhy() throws {
        try TestSMTP.requireServer()
        let s = try Sandbox(seed: 107)
        let ds = try s.addDataset()
        _ = try s.addFile(dataset: ds, size: 100)
        #expect(try s.dvbackup("init-db").code == 0)

        // The lock is held: a 'not-started' row keeps the report.
        let lockTo = [TestSMTP.uniqueAddress("locked")]
        let config = try s.writeMailConfig(notifications(TestSMTP.plainURL, to: lockTo))
        let holder = try s.backupConnection()
        #expect(try holder.query("SELECT pg_try_advisory_lock($1::bigint)", [String(StatusStore.lockKey)]).bool(0, 0) == true)
        let locked = try s.dvbackup("run", config: config)
        #expect(locked.code == 3)
        let lockMail = try TestSMTP.message(to: lockTo[0])
        lockMail.expectWellFormed(from: Self.from, to: lockTo)
        #expect(lockMail.headers["subject"]?.hasPrefix("[dvbackup] dataverse.example.edu incremental: could not start: another dvbackup run holds the lock") == true,
                "\(lockMail.headers["subject"] ?? "")")
        #expect(lockMail.textLines.contains("  exit code               3 (the run could not start)"))
        #expect(lockMail.text.contains("Nothing was copied"))
        let row = try #require(try s.runRows().last)
        #expect(row.state == "not-started" && row.exitCode == 3 && row.mailStatus == "sent")
        #expect(row.error?.contains("holds the lock") == true)
        try holder.query("SELECT pg_advisory_unlock($1::bigint)", [String(StatusStore.lockKey)])
        let status = try s.dvbackup("status", config: config)
        #expect(status.stdout.contains("could not start: another dvbackup run holds the lock"))
        #expect(status.stdout.contains("[mail sent]"))

        // A wrong database password: nothing can be stored, the mail says why, never the password.
        let pwTo = [TestSMTP.uniqueAddress("dbpw")]
        let badPassword = "not-the-db-password-\(UUID().uuidString.prefix(6))"
        let wrong = try s.writeMailConfig(notifications(TestSMTP.plainURL, to: pwTo), password: badPassword, name: "wrongpw.ini")
        let refused = try s.dvbackup("run", config: wrong)
        #expect(refused.code == 3)
        let pwMail = try TestSMTP.message(to: pwTo[0])
        pwMail.expectWellFormed(from: Self.from, to: pwTo)
        #expect(pwMail.headers["subject"]?.contains("could not start: cannot connect to backup database") == true)
        #expect(pwMail.text.contains("password authentication failed"))
        #expect(!pwMail.text.contains(badPassword) && !(pwMail.headers["subject"] ?? "").contains(badPassword))
        #expect(refused.stderr.contains("the report is not stored"))

        // A broken configuration whose [Notifications] can be read: exit 2, and a mail.
        let cfgTo = [TestSMTP.uniqueAddress("badconfig")]
        let broken = try s.writeMailConfig(notifications(TestSMTP.plainURL, to: cfgTo),
                                           backupLines: ["StorageType: tape", "BackupDirectory: /x"], name: "broken.ini")
        let bad = try s.dvbackup("run", config: broken)
        #expect(bad.code == 2)
        let cfgMail = try TestSMTP.message(to: cfgTo[0])
        cfgMail.expectWellFormed(from: Self.from, to: cfgTo)
        #expect(cfgMail.headers["subject"]?.contains("could not start: configuration error: \(broken)") == true)
        #expect(cfgMail.text.contains("unknown StorageType 'tape'"))
        #expect(cfgMail.textLines.contains("  exit code               2 (bad usage or configuration)"))
        #expect(!cfgMail.text.contains(TestPostgres.password))
    }

    @Test func aLongListIsCutAndAttachedAsCSV() throws {
        try TestSMTP.requireServer()
        let s = try Sandbox(seed: 108)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/LONG")
        // A second store whose directory has a comma and quotes: the reasons name it.
        let odd = s.root + "/we,ird \"store\""
        var missing: [TestFile] = []
        for _ in 0..<7 { missing.append(try s.addFile(dataset: ds, size: 10, store: "odd", storeDirectory: odd, writeBytes: false)) }
        let good = try s.addFile(dataset: ds, size: 10)
        let to = [TestSMTP.uniqueAddress("long")]
        let config = try s.writeMailConfig(notifications(TestSMTP.plainURL, to: to, extra: ["MaxFailureLines: 3"]),
                                           stores: ["dataverse.files.file.type = file", "dataverse.files.file.directory = \(s.storeDir)",
                                                    "dataverse.files.odd.type = file", "dataverse.files.odd.directory = \(odd)"])
        let result = try s.dvbackup("run", config: config)
        #expect(result.code == 1, "\(result.stderr)")
        #expect(s.backupBytes(good) == good.bytes)
        let mail = try TestSMTP.message(to: to[0])
        mail.expectWellFormed(from: Self.from, to: to)
        #expect(mail.contentType == "multipart/mixed")
        #expect(mail.headers["subject"] == "[dvbackup] dataverse.example.edu incremental: 7 failed, 1 OK")
        let listed = mail.textLines.filter { $0.hasPrefix("  FAIL_READ doi:10.5072/FK2/LONG datafile ") }
        #expect(listed.count == 3, "MaxFailureLines = 3: \(listed)")
        #expect(mail.textLines.contains("… 4 more failed files are not listed here (MaxFailureLines = 3)."))
        let run = try #require(try s.runRows().last)
        #expect(mail.textLines.contains("The attached dvbackup-failures-run-\(run.id).csv lists all 7."))
        #expect(mail.attachments.count == 1)
        #expect(mail.attachments.first?.filename == "dvbackup-failures-run-\(run.id).csv")
        #expect(mail.attachments.first?.contentType == "text/csv")
        let rows = mail.csvRows
        #expect(rows.first == ["status", "dataset", "datafile_id", "storage_identifier", "reason", "attempts", "last_attempt"])
        #expect(rows.count == 8, "a header and 7 records")
        #expect(Set(rows.dropFirst().map { $0[2] }) == Set(missing.map { String($0.id) }))
        for r in rows.dropFirst() {
            #expect(r.count == 7 && r[0] == "FAIL_READ" && r[1] == "doi:10.5072/FK2/LONG")
            #expect(r[4].contains(odd), "the reason keeps its comma and quotes: \(r[4])")
        }
        #expect(run.csv.map { Array($0.utf8) } == mail.attachments.first.map { Array($0.content.utf8) })
        let csv = try s.dvbackup("report", "--csv", config: config)
        #expect(csv.code == 0 && csv.stdout == run.csv)
    }
}
