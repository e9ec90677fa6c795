import Foundation
import Testing

@testable import DVBackup

@Suite struct NotificationSettingsTests {
    func load(_ lines: String, env: [String: String] = [:], lenient: Bool = false) throws(ConfigError) -> NotificationSettings {
        let ini = try INIFile(parsing: "[Notifications]\n" + lines + "\n", path: "/etc/dvbackup/config.ini")
        return try NotificationSettings(section: ini.section("Notifications"), path: "/etc/dvbackup/config.ini",
                                        lenient: lenient, environment: env)
    }

    func error(_ lines: String, env: [String: String] = [:]) -> ConfigError? {
        do { _ = try load(lines, env: env); return nil } catch { return error }
    }

    @Test func defaults() throws {
        let n = try load("Email: a@x.edu")
        #expect(n.recipients == ["a@x.edu"])
        #expect(n.smtpURL == "smtp://localhost:25")
        #expect(n.startTLS == .optional)
        #expect(n.user == nil && n.password == nil)
        #expect(n.from == "dvbackup@" + WallClock.hostname())
        #expect(n.installation == WallClock.hostname())
        #expect(n.verifyCertificates)
        #expect(n.mailOn == .always)
        #expect(n.maxFailureLines == 100)
        #expect(n.timeoutSeconds == 60)
        #expect(NotificationSettings().recipients.isEmpty)
    }

    @Test func everyKey() throws {
        let ca = TempDirectory()
        defer { ca.remove() }
        let caFile = try ca.write("ca.pem", text: "-----BEGIN CERTIFICATE-----\n")
        let n = try load("""
            Email: a@x.edu,b@y.edu
            SmtpUrl: SMTPS://mail.example.edu
            SmtpStartTLS: Required
            SmtpUser: backup
            SmtpPasswordEnv: DVB_PW
            SmtpFrom: dvbackup@dataverse.example.edu
            SmtpCAFile: \(caFile)
            SmtpTimeout: 2m
            MailOn: FAILURE
            Installation: Dataverse of Zürich
            MaxFailureLines: 0
            """, env: ["DVB_PW": "pw from env"])
        #expect(n.recipients == ["a@x.edu", "b@y.edu"])
        #expect(n.smtpURL == "smtps://mail.example.edu:465")
        #expect(n.implicitTLS)
        #expect(n.startTLS == .required)
        #expect(n.user == "backup" && n.password == "pw from env" && n.passwordEnv == "DVB_PW")
        #expect(n.from == "dvbackup@dataverse.example.edu")
        #expect(n.caFile == caFile)
        #expect(n.timeoutSeconds == 120)
        #expect(n.mailOn == .failure)
        #expect(n.installation == "Dataverse of Zürich")
        #expect(n.maxFailureLines == 0)
        #expect(SMTPConfig(n).curlURL.hasPrefix("smtps://mail.example.edu:465/"))
    }

    @Test(arguments: [
        ("Email: a@x.edu, not an address", 3, "Email", "'not an address' is not a mail address"),
        ("SmtpUrl: http://mail.example.edu", 3, "SmtpUrl", "is not an SMTP URL"),
        ("SmtpUrl: smtp://user:pw@mail.example.edu", 3, "SmtpUrl", "must not hold a user or password"),
        ("SmtpUrl: smtp://mail.example.edu:99999", 3, "SmtpUrl", "is not an SMTP URL"),
        ("SmtpUrl: smtp://mail.example.edu/ehlo", 3, "SmtpUrl", "must not have a path"),
        ("SmtpStartTLS: maybe", 3, "SmtpStartTLS", "'maybe' is not required, optional or off"),
        ("SmtpTLSVerify: no", 3, "SmtpTLSVerify", "to turn that off write SmtpTLSVerify = insecure-no-verification"),
        ("SmtpTLSVerify: false", 3, "SmtpTLSVerify", "is not accepted"),
        ("MailOn: never", 3, "MailOn", "'never' is not always or failure"),
        ("MaxFailureLines: lots", 3, "MaxFailureLines", "is not a whole number"),
        ("SmtpFrom: dvbackup", 3, "SmtpFrom", "is not a mail address"),
        ("SmtpCAFile: relative/ca.pem", 3, "SmtpCAFile", "must be an absolute path"),
        ("SmtpCAFile: /no/such/ca.pem", 3, "SmtpCAFile", "cannot read /no/such/ca.pem"),
        ("SmtpTimeout: 10x", 3, "SmtpTimeout", "bad duration"),
        ("SmtpPassword: pw", 3, "SmtpPassword", "a password needs SmtpUser too"),
        ("SmtpUser: u\nSmtpPasswordEnv: DVB_NOT_SET", 4, "SmtpPasswordEnv", "the environment variable DVB_NOT_SET is not set"),
        ("SmtpUser: u\nSmtpPassword: pw\nSmtpPasswordEnv: X", 5, "SmtpPasswordEnv", "not both"),
    ])
    func mistakesNameFileLineAndKey(lines: String, line: Int, key: String, message: String) {
        // Line 1 is [Notifications], line 2 Email, `lines` from line 3.
        let e = error("Email: a@x.edu\n" + lines)
        #expect(e?.line == line, "\(String(describing: e))")
        #expect(e?.key == key)
        #expect(e?.section == "Notifications")
        #expect(e?.description.contains(message) == true, "\(String(describing: e))")
        #expect(e?.description.hasPrefix("/etc/dvbackup/config.ini:\(line): [Notifications] \(key): ") == true)
    }

    @Test func secretValuesAreNotInErrors() {
        let e = error("Email: a@x.edu\nSmtpPassword: hunter2-secret\nSmtpPasswordEnv: ENVNAME")
        #expect(e != nil)
        #expect(!(e?.description.contains("hunter2-secret") ?? true))
    }

    @Test func insecureNeedsTheWholePhrase() throws {
        #expect(try load("SmtpTLSVerify: insecure-no-verification").verifyCertificates == false)
        #expect(try load("SmtpTLSVerify: yes").verifyCertificates)
    }

    @Test func lenientReadingKeepsEmailAndUrlAndDefaultsTheRest() throws {
        let n = try load("Email: a@x.edu\nSmtpUrl: smtp://mx:2525\nSmtpStartTLS: maybe\nMailOn: never", lenient: true)
        #expect(n.recipients == ["a@x.edu"] && n.smtpURL == "smtp://mx:2525")
        #expect(n.startTLS == .optional && n.mailOn == .always)
        #expect(throws: ConfigError.self) { try load("Email: not an address", lenient: true) }
    }

    @Test func checkConfigShowsTheSectionWithoutThePassword() throws {
        let n = try load("Email: a@x.edu\nSmtpUser: u\nSmtpPassword: hunter2-secret\nSmtpTLSVerify: insecure-no-verification")
        let dir = TempDirectory()
        defer { dir.remove() }
        let path = dir.join("out")
        let fd = open(path, O_WRONLY | O_CREAT, 0o600)
        let out = OutputWriter(fd: fd)
        n.render(into: out)
        out.flush()
        close(fd)
        let text = String(decoding: dir.read("out") ?? [], as: UTF8.self)
        #expect(text.contains("  SmtpPassword = ***"))
        #expect(!text.contains("hunter2-secret"))
        #expect(text.contains("SmtpTLSVerify = insecure-no-verification (certificates are NOT verified)"))
        #expect(text.contains("  MaxFailureLines = 100"))
    }

    @Test(arguments: ["a@x.edu", "first.last+tag@sub.example.org"])
    func validAddresses(_ a: String) { #expect(MailAddress.isValid(a)) }

    @Test(arguments: ["", "plain", "@x.edu", "a@", "a b@x.edu", "a@x..edu", "<a@x.edu>", "a@x.edu\r\nBcc: evil@x.edu"])
    func invalidAddresses(_ a: String) { #expect(!MailAddress.isValid(a)) }
}

@Suite struct StatusFilterTests {
    static let now = Date(timeIntervalSince1970: 1_763_764_529)  // 2025-11-21 22:35:29 UTC

    @Test(arguments: [
        ("2025-06-01", "2025-06-01 00:00:00"),
        ("2025-06-01 14:30", "2025-06-01 14:30:00"),
        ("2025-06-01T14:30:15", "2025-06-01 14:30:15"),
        ("2025-06-01T14:30:15.123Z", "2025-06-01 14:30:15+00"),
        ("2025-06-01T14:30:15+02:00", "2025-06-01 14:30:15+02:00"),
        ("2024-02-29", "2024-02-29 00:00:00"),
        ("24h", "2025-11-20 22:35:29+00"),
        ("7d", "2025-11-14 22:35:29+00"),
    ])
    func sinceDates(text: String, timestamp: String) {
        #expect(SinceDate.parse(text, now: Self.now)?.timestamp == timestamp)
    }

    @Test(arguments: ["", "yesterday", "2025-02-29", "2025-13-01", "2025-06-31", "2025-06-01 24:00", "2025-06-01 10:60",
                      "06/01/2025", "2025-6-1", "2025-06-01T10:00+25:00", "0"])
    func badSinceDates(text: String) {
        #expect(SinceDate.parse(text, now: Self.now) == nil)
    }

    @Test func statusNamesAreCheckedRepeatableAndCommaSeparated() throws {
        let ok = try StatusFilter.parseStatuses(["fail_read,OK", "FAIL_READ", " OK_NO_CHECKSUM "]).get()
        #expect(ok == [.failRead, .ok, .okNoChecksum])
        guard case .failure(let e) = StatusFilter.parseStatuses(["OK,FAILED"]) else {
            Issue.record("FAILED is not a status")
            return
        }
        #expect(e.name == "FAILED")
        #expect(e.description.contains("FAIL_SOURCE_CHECKSUM"))
    }

    @Test func sqlBindsEveryValue() {
        let f = StatusFilter(statuses: [.failRead, .ok], since: SinceDate.parse("2025-06-01", now: Self.now),
                             dataset: "doi:10.5072/FK2/ABC'; DROP TABLE x")
        let (sql, params) = f.sql(onlyFailures: true)
        #expect(sql == "status NOT IN ('OK', 'OK_NO_CHECKSUM') AND status = ANY($1::text[]) AND lastbackuptime >= ($2::timestamptz)::timestamp AND (datasetpid = $3 OR datasetidentifier = $4)")
        #expect(params == ["{\"FAIL_READ\",\"OK\"}", "2025-06-01 00:00:00", "doi:10.5072/FK2/ABC'; DROP TABLE x", "10.5072/FK2/ABC'; DROP TABLE x"])
        #expect(StatusFilter().sql(onlyFailures: false).0 == "true")
        #expect(StatusFilter(dataset: "10.5072/FK2/ABC").datasetIdentifier == "10.5072/FK2/ABC")
        #expect(StatusFilter(dataset: "hdl:1902.1/555").datasetIdentifier == "1902.1/555")
    }
}
