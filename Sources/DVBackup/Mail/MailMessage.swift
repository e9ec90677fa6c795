import Foundation

/// A mail as RFC 5322 and MIME want it: CRLF line ends, headers folded at 78 characters,
/// a UTF-8 text body in quoted-printable, attachments in base64.
public struct MailMessage: Sendable {
    public struct Attachment: Sendable {
        public var filename: String
        /// e.g. `text/csv; charset=utf-8`
        public var contentType: String
        public var bytes: [UInt8]

        public init(filename: String, contentType: String, bytes: [UInt8]) {
            self.filename = filename
            self.contentType = contentType
            self.bytes = bytes
        }
    }

    public var from: String
    public var to: [String]
    public var subject: String
    public var date: Date
    public var messageID: String
    public var text: String
    public var attachments: [Attachment]

    /// A new message with a fresh Message-ID `<dvbackup.…@host>`.
    public init(from: String, to: [String], subject: String, text: String, attachments: [Attachment] = [],
                date: Date = Date(), host: String = WallClock.hostname()) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.attachments = attachments
        self.date = date
        let stamp = String(Int64(date.timeIntervalSince1970))
        messageID = "<dvbackup.\(stamp).\(MIMEEncoding.randomHex(16))@\(MIMEEncoding.messageIDDomain(host))>"
    }

    /// The message as it goes into SMTP DATA.
    public func rendered(boundary: String = "dvbackup-" + MIMEEncoding.randomHex(24)) -> [UInt8] {
        var headers = [
            MIMEEncoding.fold("From: " + from),
            MIMEEncoding.addressHeader(name: "To", addresses: to),
            MIMEEncoding.unstructuredHeader(name: "Subject", value: subject),
            "Date: " + MIMEEncoding.rfc5322Date(date),
            "Message-ID: " + messageID,
            "Auto-Submitted: auto-generated",
            "MIME-Version: 1.0",
        ]
        let textPart = [
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
        ]
        var out: [UInt8] = []
        func line(_ s: String) { out += Array(s.utf8) + MIMEEncoding.crlf }
        if attachments.isEmpty {
            headers += textPart
            headers.forEach(line)
            line("")
            out += MIMEEncoding.quotedPrintable(text)
            return out
        }
        headers.append("Content-Type: multipart/mixed; boundary=\"\(boundary)\"")
        headers.forEach(line)
        line("")
        line("This is a MIME message: the report is in the first part, the full list in the attachment.")
        line("")
        line("--" + boundary)
        textPart.forEach(line)
        line("")
        out += MIMEEncoding.quotedPrintable(text)
        for a in attachments {
            line("--" + boundary)
            let name = a.filename.filter { $0.isASCII && $0 != "\"" && $0 != "\\" && !$0.isNewline }
            line(MIMEEncoding.fold("Content-Type: \(a.contentType); name=\"\(name)\""))
            line("Content-Transfer-Encoding: base64")
            line("Content-Disposition: attachment; filename=\"\(name)\"")
            line("")
            out += MIMEEncoding.base64Lines(a.bytes)
        }
        line("--" + boundary + "--")
        return out
    }
}
