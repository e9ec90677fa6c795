import DVBackup
import Foundation
import Testing

/// The SMTP sink `scripts/test.sh` starts (python3-aiosmtpd, several listeners, each
/// accepted message saved as NNNNNN.eml + NNNNNN.json in one mail directory). With
/// DVBACKUP_TEST_REQUIRE_SERVERS=1 a missing server fails the tests; otherwise they skip.
enum TestSMTP {
    static let env = ProcessInfo.processInfo.environment
    /// One or more directories (`:`-separated) where the sinks save messages.
    static let mailDirs = (env["DVBACKUP_TEST_SMTP_MAIL_DIR"] ?? "").split(separator: ":").map(String.init)
    static let plainURL = env["DVBACKUP_TEST_SMTP_PLAIN_URL"] ?? "smtp://127.0.0.1:2525"
    static let startTLSURL = env["DVBACKUP_TEST_SMTP_STARTTLS_URL"] ?? "smtp://127.0.0.1:2587"
    static let smtpsURL = env["DVBACKUP_TEST_SMTP_SMTPS_URL"] ?? "smtps://127.0.0.1:2465"
    static let authURL = env["DVBACKUP_TEST_SMTP_AUTH_URL"] ?? "smtp://127.0.0.1:2526"
    static let authUser = env["DVBACKUP_TEST_SMTP_AUTH_USER"] ?? "dvbmail"
    static let authPassword = env["DVBACKUP_TEST_SMTP_AUTH_PASSWORD"] ?? ""
    static let refuseURL = env["DVBACKUP_TEST_SMTP_REFUSE_URL"] ?? "smtp://127.0.0.1:2528"
    static let downURL = env["DVBACKUP_TEST_SMTP_DOWN_URL"] ?? "smtp://127.0.0.1:2529"
    static let caFile = env["DVBACKUP_TEST_SMTP_CA_FILE"] ?? ""

    static var enabled: Bool { (!mailDirs.isEmpty || TestPostgres.required) && TestPostgres.enabled }

    static func requireServer() throws {
        guard !mailDirs.isEmpty else {
            throw TestFailure("the SMTP sink is required (DVBACKUP_TEST_REQUIRE_SERVERS=1) but DVBACKUP_TEST_SMTP_MAIL_DIR is not set: run the tests with scripts/test.sh")
        }
    }

    /// A recipient no other test uses.
    static func uniqueAddress(_ tag: String) -> String {
        "\(tag)-\(UUID().uuidString.prefix(8).lowercased())@example.edu"
    }

    /// The message the sink saved for `recipient` (waits up to `timeout` seconds: files
    /// appear by rename once complete).
    static func message(to recipient: String, timeout: Double = 10) throws -> ReceivedMail {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let m = try find(recipient) { return m }
            if Date() > deadline { throw TestFailure("no message to \(recipient) in \(mailDirs.joined(separator: ":")) after \(timeout) s") }
            usleep(100_000)
        }
    }

    /// Every message saved for `recipient` so far.
    static func messages(to recipient: String) throws -> [ReceivedMail] {
        try envelopes().filter { $0.rcptTos.contains(recipient) }.map { try ReceivedMail(envelope: $0) }
    }

    static func find(_ recipient: String) throws -> ReceivedMail? {
        try envelopes().first { $0.rcptTos.contains(recipient) }.map { try ReceivedMail(envelope: $0) }
    }

    struct Envelope {
        let path: String
        let mailFrom: String
        let rcptTos: [String]
        let authUser: String?
        let tls: Bool
        let hostName: String?
    }

    static func envelopes() throws -> [Envelope] {
        var out: [Envelope] = []
        for dir in mailDirs {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            for name in names.sorted() where name.hasSuffix(".json") {
                let path = dir + "/" + name
                guard let data = FileManager.default.contents(atPath: path),
                      let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
                let eml = String(path.dropLast(5)) + ".eml"
                guard FileManager.default.fileExists(atPath: eml) else { continue }
                out.append(Envelope(path: eml, mailFrom: o["mail_from"] as? String ?? "",
                                    rcptTos: o["rcpt_tos"] as? [String] ?? [], authUser: o["auth_user"] as? String,
                                    tls: o["tls"] as? Bool ?? false, hostName: o["host_name"] as? String))
            }
        }
        return out
    }
}

/// A saved message, parsed by Python's `email` package (an independent, strict reader):
/// headers decoded, body and attachments decoded, and every defect it found.
struct ReceivedMail {
    let envelope: TestSMTP.Envelope
    let raw: [UInt8]
    /// Headers as decoded (RFC 2047 words joined), by lower-cased name.
    let headers: [String: String]
    /// Header lines as received (folded).
    let rawHeaderLines: [String]
    let defects: [String]
    let contentType: String
    let text: String
    let textTransferEncoding: String
    let attachments: [(filename: String, contentType: String, content: String)]
    /// The Date header as seconds since 1970, as Python parsed it.
    let dateEpoch: Double?
    let csvRows: [[String]]

    var textLines: [String] { text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }

    static let parser = #"""
import sys, json, email, csv, io
from email import policy
from email.utils import parsedate_to_datetime
raw = open(sys.argv[1], 'rb').read()
msg = email.message_from_bytes(raw, policy=policy.default)
defects = [repr(d) for d in msg.defects]
for part in msg.walk():
    defects += [repr(d) for d in part.defects if part is not msg]
headers = {}
for k, v in msg.items():
    headers[k.lower()] = str(v)
body = msg.get_body(preferencelist=('plain',))
atts = []
rows = []
for a in msg.iter_attachments():
    content = a.get_content()
    if isinstance(content, bytes):
        content = content.decode('utf-8')
    atts.append({'filename': a.get_filename(), 'content_type': a.get_content_type(), 'content': content})
    if a.get_content_type() == 'text/csv':
        rows = [r for r in csv.reader(io.StringIO(content, newline=''))]
try:
    date = parsedate_to_datetime(headers.get('date', '')).timestamp()
except Exception:
    date = None
head = raw.split(b'\r\n\r\n', 1)[0].decode('ascii', 'replace').split('\r\n')
print(json.dumps({'headers': headers, 'defects': defects, 'content_type': msg.get_content_type(),
                  'text': body.get_content() if body is not None else '',
                  'text_cte': str(body.get('Content-Transfer-Encoding', '')) if body is not None else '',
                  'attachments': atts, 'date': date, 'raw_header_lines': head, 'csv': rows}))
"""#

    init(envelope: TestSMTP.Envelope) throws {
        self.envelope = envelope
        raw = Array(FileManager.default.contents(atPath: envelope.path) ?? Data())
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", Self.parser, envelope.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestFailure("python3 could not parse \(envelope.path)")
        }
        headers = o["headers"] as? [String: String] ?? [:]
        defects = o["defects"] as? [String] ?? []
        contentType = o["content_type"] as? String ?? ""
        text = o["text"] as? String ?? ""
        textTransferEncoding = o["text_cte"] as? String ?? ""
        attachments = (o["attachments"] as? [[String: Any]] ?? []).map {
            ($0["filename"] as? String ?? "", $0["content_type"] as? String ?? "", $0["content"] as? String ?? "")
        }
        dateEpoch = o["date"] as? Double
        rawHeaderLines = o["raw_header_lines"] as? [String] ?? []
        csvRows = o["csv"] as? [[String]] ?? []
    }

    /// The checks every message must pass: CRLF only, no line over 998 octets, header
    /// lines folded at 78, the RFC 5322 and MIME headers present, nothing Python objects to.
    func expectWellFormed(from: String, to: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(defects.isEmpty, "python's email parser found defects: \(defects)", sourceLocation: sourceLocation)
        var i = 0
        var bareLF = false, long = false
        var lineStart = 0
        while i < raw.count {
            if raw[i] == 10 && (i == 0 || raw[i - 1] != 13) { bareLF = true }
            if raw[i] == 13 && (i + 1 >= raw.count || raw[i + 1] != 10) { bareLF = true }
            if raw[i] == 10 { if i - lineStart > 999 { long = true }; lineStart = i + 1 }
            i += 1
        }
        #expect(!bareLF, "every line ends in CRLF", sourceLocation: sourceLocation)
        #expect(!long, "no line is longer than 998 octets", sourceLocation: sourceLocation)
        for line in rawHeaderLines {
            #expect(line.utf8.count <= 78, "header line folded at 78: \(line)", sourceLocation: sourceLocation)
            #expect(line.utf8.allSatisfy { $0 < 128 }, "header lines are ASCII: \(line)", sourceLocation: sourceLocation)
        }
        #expect(headers["from"] == from, sourceLocation: sourceLocation)
        let toList = (headers["to"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(toList == to, "To: \(headers["to"] ?? "")", sourceLocation: sourceLocation)
        #expect(headers["mime-version"] == "1.0", sourceLocation: sourceLocation)
        #expect(headers["message-id"]?.range(of: #"^<[^<>@\s]+@[A-Za-z0-9.-]+>$"#, options: .regularExpression) != nil,
                "Message-ID: \(headers["message-id"] ?? "none")", sourceLocation: sourceLocation)
        #expect(headers["date"]?.range(of: #"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4}$"#, options: .regularExpression) != nil,
                "Date: \(headers["date"] ?? "none")", sourceLocation: sourceLocation)
        if let d = dateEpoch {
            #expect(abs(d - Date().timeIntervalSince1970) < 600, "the Date is now", sourceLocation: sourceLocation)
        } else {
            Issue.record("the Date header does not parse", sourceLocation: sourceLocation)
        }
        #expect(envelope.mailFrom == from, sourceLocation: sourceLocation)
        #expect(Set(envelope.rcptTos) == Set(to), sourceLocation: sourceLocation)
    }
}

extension Sandbox {
    /// A config.ini whose `[Notifications]` section is `lines` (instead of the default one).
    @discardableResult
    func writeMailConfig(_ lines: [String], password: String? = TestPostgres.password, port: Int = TestPostgres.port,
                         backupLines: [String] = [], stores: [String]? = nil, name: String = "mail.ini") throws -> String {
        let path = try writeConfig(password: password, port: port, backupLines: backupLines, stores: stores, name: name)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        guard let r = text.range(of: "[Notifications]\nEmail: admin@example.edu\n") else {
            throw TestFailure("writeConfig's [Notifications] section has changed")
        }
        text.replaceSubrange(r, with: (["[Notifications]"] + lines).joined(separator: "\n") + "\n")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The run rows as the morning report left them.
    struct RunRow {
        let id: Int64
        let state: String
        let exitCode: Int64?
        let subject: String?
        let report: String?
        let csv: String?
        let mailStatus: String?
        let mailError: String?
        let mailRecipients: String?
        let mailedAt: String?
        let error: String?
    }

    func runRows() throws -> [RunRow] {
        let db = try backupConnection()
        let r = try db.query("""
            SELECT id, state, exit_code, report_subject, report, report_csv, mail_status, mail_error, mail_recipients,
                   mailed_at::text AS mailed_at, error
            FROM dvbackup_run ORDER BY id
            """)
        return try (0..<r.rowCount).map { i in
            RunRow(id: try r.int(i, "id") ?? 0, state: try r.string(i, "state") ?? "", exitCode: try r.int(i, "exit_code"),
                   subject: try r.string(i, "report_subject"), report: try r.string(i, "report"), csv: try r.string(i, "report_csv"),
                   mailStatus: try r.string(i, "mail_status"), mailError: try r.string(i, "mail_error"),
                   mailRecipients: try r.string(i, "mail_recipients"), mailedAt: try r.string(i, "mailed_at"),
                   error: try r.string(i, "error"))
        }
    }
}
