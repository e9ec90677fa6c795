import Foundation
import Testing

@testable import DVBackup

/// Decodes quoted-printable (the reverse of MIMEEncoding.quotedPrintable, written
/// independently for the tests).
func decodeQuotedPrintable(_ bytes: [UInt8]) -> String {
    var out: [UInt8] = []
    var i = 0
    func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: b - 48
        case 65...70: b - 55
        default: nil
        }
    }
    while i < bytes.count {
        if bytes[i] == UInt8(ascii: "=") {
            if i + 2 < bytes.count, bytes[i + 1] == 13, bytes[i + 2] == 10 { i += 3; continue }  // soft break
            if i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) { out.append(h << 4 | l); i += 3; continue }
        }
        out.append(bytes[i])
        i += 1
    }
    return String(decoding: out, as: UTF8.self)
}

/// Lines of `bytes` split at CRLF; `nil` when a bare CR or LF is found.
func crlfLines(_ bytes: [UInt8]) -> [String]? {
    var lines: [String] = []
    var current: [UInt8] = []
    var i = 0
    while i < bytes.count {
        if bytes[i] == 13 {
            guard i + 1 < bytes.count, bytes[i + 1] == 10 else { return nil }
            lines.append(String(decoding: current, as: UTF8.self))
            current = []
            i += 2
            continue
        }
        if bytes[i] == 10 { return nil }
        current.append(bytes[i])
        i += 1
    }
    if !current.isEmpty { lines.append(String(decoding: current, as: UTF8.self)) }
    return lines
}

/// Undoes RFC 2047 encoded-words (B encoding) and unfolds, as a reader displays a header.
func decodeHeaderValue(_ folded: String) -> String {
    let unfolded = folded.replacingOccurrences(of: "\r\n", with: "")
    let value = String(unfolded[unfolded.index(after: unfolded.firstIndex(of: ":")!)...].dropFirst())
    var out = ""
    var previousWasEncoded = false
    var pendingSpace = ""
    for token in value.split(separator: " ", omittingEmptySubsequences: false) {
        if token.hasPrefix("=?UTF-8?B?"), token.hasSuffix("?=") {
            let b64 = token.dropFirst(10).dropLast(2)
            let text = Data(base64Encoded: String(b64)).map { String(decoding: $0, as: UTF8.self) } ?? "<bad>"
            out += (previousWasEncoded ? "" : pendingSpace) + text
            previousWasEncoded = true
        } else {
            out += pendingSpace + token
            previousWasEncoded = false
        }
        pendingSpace = " "
    }
    return out
}

@Suite struct MIMEEncodingTests {
    @Test func quotedPrintableRoundTripsUTF8AndKeepsLinesShort() {
        let long = String(repeating: "Å", count: 120) + " end"
        let text = "plain line\nwith = sign and trailing space \n.leading dot\n\(long)\n\ttab\r\nlast"
        let encoded = MIMEEncoding.quotedPrintable(text)
        let lines = crlfLines(encoded)
        #expect(lines != nil, "CRLF only")
        for l in lines ?? [] {
            #expect(l.utf8.count <= 76, "QP line of \(l.utf8.count): \(l)")
            #expect(l.utf8.allSatisfy { $0 < 127 && ($0 >= 32 || $0 == 9) }, "7-bit: \(l)")
            #expect(!l.hasPrefix("."), "no line starts with a dot")
            #expect(!(l.hasSuffix(" ") || l.hasSuffix("\t")), "no trailing white space")
        }
        #expect(decodeQuotedPrintable(encoded) == text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n") + "\r\n")
        #expect(String(decoding: encoded, as: UTF8.self).hasPrefix("plain line\r\nwith =3D sign and trailing space=20\r\n=2Eleading dot\r\n=C3=85"))
    }

    @Test func quotedPrintableOfAVeryLongLineUsesSoftBreaks() {
        let text = String(repeating: "abcdefghij", count: 300)
        let encoded = MIMEEncoding.quotedPrintable(text)
        let lines = crlfLines(encoded) ?? []
        #expect(lines.count == 40)
        #expect(lines.dropLast().allSatisfy { $0.hasSuffix("=") && $0.utf8.count <= 76 })
        #expect(decodeQuotedPrintable(encoded) == text + "\r\n")
    }

    @Test func base64LinesAre76CharactersWithCRLF() {
        let bytes = (0..<1000).map { UInt8($0 % 256) }
        let encoded = MIMEEncoding.base64Lines(bytes)
        let lines = crlfLines(encoded) ?? []
        #expect(lines.dropLast().allSatisfy { $0.count == 76 })
        #expect(Data(base64Encoded: lines.joined()) == Data(bytes))
    }

    @Test func asciiSubjectIsFoldedAtSpacesWithinSeventyEightColumns() {
        let subject = "[dvbackup] dataverse.example.edu incremental: 3 failed, 1,204 OK and a great deal more words to fold"
        let header = MIMEEncoding.unstructuredHeader(name: "Subject", value: subject)
        let lines = header.components(separatedBy: "\r\n")
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.utf8.count <= 78 })
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix(" ") })
        #expect(header.replacingOccurrences(of: "\r\n", with: "") == "Subject: " + subject, "unfolding restores it")
        #expect(MIMEEncoding.unstructuredHeader(name: "Subject", value: "short") == "Subject: short")
    }

    @Test(arguments: ["[dvbackup] Universität Zürich incremental: 3 failed, 1,204 OK",
                      "[dvbackup] 東京大学データリポジトリ・研究データ管理システム rerun: could not start: the lock",
                      "[dvbackup] café =?not-a-word?= incremental: all OK, 😀 copied",
                      String(repeating: "é", count: 200)])
    func nonASCIISubjectBecomesEncodedWords(subject: String) {
        let header = MIMEEncoding.unstructuredHeader(name: "Subject", value: subject)
        let lines = header.components(separatedBy: "\r\n")
        for l in lines {
            #expect(l.utf8.count <= 78, "\(l)")
            #expect(l.utf8.allSatisfy { $0 < 128 })
        }
        for word in header.replacingOccurrences(of: "\r\n", with: "").split(separator: " ") where word.hasPrefix("=?") {
            #expect(word.utf8.count <= 75, "an encoded-word is at most 75 characters: \(word)")
        }
        #expect(decodeHeaderValue(header) == subject)
        #expect(header.replacingOccurrences(of: "\r\n", with: "").hasPrefix("Subject: [dvbackup] ") || !subject.hasPrefix("[dvbackup]"),
                "ASCII words stay readable")
    }

    @Test func addressHeaderFoldsAfterCommas() {
        let addresses = (1...8).map { "administrator\($0)@research-data.example.edu" }
        let header = MIMEEncoding.addressHeader(name: "To", addresses: addresses)
        let lines = header.components(separatedBy: "\r\n")
        #expect(lines.count > 1 && lines.allSatisfy { $0.utf8.count <= 78 })
        let values = header.replacingOccurrences(of: "\r\n", with: "").dropFirst(4)
        #expect(values.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } == addresses)
    }

    @Test func dateIsRFC5322AndLocaleFree() {
        let date = Date(timeIntervalSince1970: 1_763_764_529)  // 2025-11-21 22:35:29 UTC
        #expect(MIMEEncoding.rfc5322Date(date, timeZone: TimeZone(secondsFromGMT: 0)!) == "Fri, 21 Nov 2025 22:35:29 +0000")
        #expect(MIMEEncoding.rfc5322Date(date, timeZone: TimeZone(secondsFromGMT: 3600)!) == "Fri, 21 Nov 2025 23:35:29 +0100")
        #expect(MIMEEncoding.rfc5322Date(date, timeZone: TimeZone(secondsFromGMT: -(9 * 3600 + 1800))!) == "Fri, 21 Nov 2025 13:05:29 -0930")
    }
}

@Suite struct MailMessageTests {
    func headers(of bytes: [UInt8]) -> (headers: [String], body: [String]) {
        let lines = crlfLines(bytes) ?? []
        let split = lines.firstIndex(of: "") ?? lines.count
        return (Array(lines[..<split]), Array(lines[(split + 1)...]))
    }

    @Test func plainMessageHasEveryHeaderAndAQuotedPrintableBody() {
        let m = MailMessage(from: "dvbackup@host.example.edu", to: ["a@x.edu", "b@y.edu"], subject: "[dvbackup] site incremental: all OK, 3 copied",
                            text: "line one\nline two: grüße\n", date: Date(timeIntervalSince1970: 1_763_764_529), host: "host.example.edu")
        let raw = m.rendered()
        #expect(crlfLines(raw) != nil, "CRLF only")
        let (h, body) = headers(of: raw)
        #expect(h.contains("From: dvbackup@host.example.edu"))
        #expect(h.contains("To: a@x.edu, b@y.edu"))
        #expect(h.contains("Subject: [dvbackup] site incremental: all OK, 3 copied"))
        #expect(h.contains { $0.hasPrefix("Date: Fri, 2") && $0.contains(" Nov 2025 ") })
        #expect(h.contains { $0.range(of: #"^Message-ID: <dvbackup\.1763764529\.[0-9a-f]{16}@host\.example\.edu>$"#, options: .regularExpression) != nil })
        #expect(h.contains("MIME-Version: 1.0"))
        #expect(h.contains("Content-Type: text/plain; charset=utf-8"))
        #expect(h.contains("Content-Transfer-Encoding: quoted-printable"))
        #expect(h.contains("Auto-Submitted: auto-generated"))
        #expect(body == ["line one", "line two: gr=C3=BC=C3=9Fe"])
        let other = MailMessage(from: "a@b.c", to: ["d@e.f"], subject: "s", text: "t", host: "host.example.edu")
        #expect(other.messageID != m.messageID, "each message has its own Message-ID")
    }

    @Test func attachmentMakesAMultipartMixedMessage() {
        let csv = Array("status,reason\r\nFAIL_READ,\"a, b\"\r\n".utf8)
        let m = MailMessage(from: "a@b.c", to: ["d@e.f"], subject: "s", text: "body",
                            attachments: [.init(filename: "failures.csv", contentType: "text/csv; charset=utf-8", bytes: csv)])
        let raw = m.rendered(boundary: "BOUNDARY")
        let lines = crlfLines(raw) ?? []
        #expect(lines.contains("Content-Type: multipart/mixed; boundary=\"BOUNDARY\""))
        #expect(lines.filter { $0 == "--BOUNDARY" }.count == 2)
        #expect(lines.last == "--BOUNDARY--")
        #expect(lines.contains("Content-Disposition: attachment; filename=\"failures.csv\""))
        #expect(lines.contains("Content-Type: text/csv; charset=utf-8; name=\"failures.csv\""))
        let b64Start = lines.firstIndex(of: "Content-Disposition: attachment; filename=\"failures.csv\"")! + 2
        let b64 = lines[b64Start..<(lines.count - 1)].joined()
        #expect(Data(base64Encoded: b64).map { [UInt8]($0) } == csv)
    }
}

@Suite struct FailureCSVTests {
    @Test(arguments: [("plain", "plain"), ("a, b", "\"a, b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""),
                      ("two\nlines", "\"two\nlines\""), ("cr\r\nlf", "\"cr\r\nlf\""), ("", "")])
    func fieldsAreQuotedAsRFC4180Says(value: String, expected: String) {
        #expect(FailureCSV.field(value) == expected)
    }

    @Test func recordsEndInCRLFWithAHeader() {
        var csv = FailureCSV()
        csv.append(FailedFile(datafileId: 7, datasetPID: "doi:10.5072/FK2/A", datasetIdentifier: "10.5072/FK2/A",
                              storageIdentifier: "file://x", status: "FAIL_READ", reason: "cannot open /a,b: \"gone\"",
                              attempts: 2, lastAttempt: "2025-06-01 10:00:00", location: nil))
        #expect(csv.rows == 1)
        #expect(String(decoding: csv.bytes, as: UTF8.self) ==
                "status,dataset,datafile_id,storage_identifier,reason,attempts,last_attempt\r\n"
                + "FAIL_READ,doi:10.5072/FK2/A,7,file://x,\"cannot open /a,b: \"\"gone\"\"\",2,2025-06-01 10:00:00\r\n")
    }
}

/// A cell a spreadsheet would run as a formula gets a leading `'` (OWASP's advice), and is
/// then quoted as any other field.
@Suite struct FailureCSVFormulaTests {
    @Test(arguments: [("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\""), ("+1", "'+1"), ("-2+3", "'-2+3"),
                      ("@SUM(A1)", "'@SUM(A1)"), ("\tTAB", "'\tTAB"), ("\rCR", "\"'\rCR\""),
                      ("=cmd|' /C calc'!A0, x", "\"'=cmd|' /C calc'!A0, x\""), ("a=b", "a=b"), ("x-1", "x-1"), ("'quoted", "'quoted")])
    func formulaCellsAreDefused(value: String, expected: String) {
        #expect(FailureCSV.field(value) == expected)
    }

    @Test func aServersReasonCannotBecomeAFormula() {
        var csv = FailureCSV()
        csv.append(FailedFile(datafileId: 9, datasetPID: nil, datasetIdentifier: "10.5072/FK2/B",
                              storageIdentifier: "s3://b:-x", status: "FAIL_WRITE", reason: "=2+5",
                              attempts: 1, lastAttempt: nil, location: nil))
        #expect(String(decoding: csv.bytes, as: UTF8.self).hasSuffix("\r\nFAIL_WRITE,10.5072/FK2/B,9,s3://b:-x,'=2+5,1,\r\n"))
    }
}
