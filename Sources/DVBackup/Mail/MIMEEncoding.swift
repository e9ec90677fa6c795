import Foundation

/// The encodings a mail needs (RFC 2045, 2047, 5322), written out in pure Swift so that
/// they can be tested without a server.
public enum MIMEEncoding {
    static let crlf: [UInt8] = [13, 10]
    static let hexDigits = Array("0123456789ABCDEF".utf8)

    // MARK: quoted-printable (RFC 2045 6.7)

    /// Quoted-printable of UTF-8 text: line ends become CRLF, encoded lines are at most 76
    /// characters (soft breaks `=`), so no line of the message comes near SMTP's 998 limit.
    public static func quotedPrintable(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        let lines = normalizedLines(text)
        for (n, line) in lines.enumerated() {
            var column = 0
            let bytes = Array(line.utf8)
            for (i, b) in bytes.enumerated() {
                let isLast = i == bytes.count - 1
                var piece: [UInt8]
                let printable = (b >= 33 && b <= 126 && b != UInt8(ascii: "=")) || ((b == 32 || b == 9) && !isLast)
                // A leading "." is safe (curl dot-stuffs) but encode it: some relays are fussy.
                if printable && !(column == 0 && b == UInt8(ascii: ".")) {
                    piece = [b]
                } else {
                    piece = [UInt8(ascii: "="), hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]]
                }
                // Room for the piece plus a soft break "=" within 76 columns.
                if column + piece.count > 75 {
                    out += [UInt8(ascii: "=")] + crlf
                    column = 0
                    if piece == [UInt8(ascii: ".")] { piece = Array("=2E".utf8) }
                }
                out += piece
                column += piece.count
            }
            if n < lines.count - 1 || !line.isEmpty { out += crlf }
        }
        return out
    }

    /// The text's lines, split on CRLF, CR or LF.
    static func normalizedLines(_ text: String) -> [Substring] {
        let unified = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var lines = unified.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    // MARK: base64 (RFC 2045 6.8)

    /// Base64 in lines of 76 characters, each ending in CRLF.
    public static func base64Lines(_ bytes: [UInt8]) -> [UInt8] {
        let encoded = Array(Data(bytes).base64EncodedString().utf8)
        var out: [UInt8] = []
        out.reserveCapacity(encoded.count + encoded.count / 76 * 2 + 2)
        var i = 0
        while i < encoded.count {
            let end = min(i + 76, encoded.count)
            out += encoded[i..<end]
            out += crlf
            i = end
        }
        return out
    }

    // MARK: headers (RFC 5322 2.2.3, RFC 2047)

    /// Whether `text` can go into a header as it is.
    static func isPlainASCII(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 >= 32 && $0 < 127 }
    }

    /// An unstructured header (`Subject`): words as they are when ASCII; runs of words with
    /// other characters as RFC 2047 encoded-words (`=?UTF-8?B?…?=`, each at most 75
    /// characters, never splitting a character); folded so that no line exceeds 78
    /// characters.
    public static func unstructuredHeader(name: String, value: String) -> String {
        let clean = value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if isPlainASCII(clean) && !clean.contains("=?") {
            return fold(name + ": " + clean)
        }
        // Tokens separated by spaces; consecutive words that need encoding become one run,
        // spaces included (white space between two encoded-words is not displayed).
        var tokens: [(text: String, encoded: Bool)] = []
        for word in clean.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            let needs = !isPlainASCII(word) || word.contains("=?")
            if needs, let last = tokens.last, last.encoded {
                tokens[tokens.count - 1].text += " " + word
            } else {
                tokens.append((word, needs))
            }
        }
        // An encoded-word of at most 75 characters holds 45 bytes of UTF-8 (60 of base64).
        var pieces: [String] = []
        for t in tokens {
            guard t.encoded else { pieces.append(t.text); continue }
            var chunk: [UInt8] = []
            var words: [String] = []
            for ch in t.text {
                let bytes = Array(String(ch).utf8)
                if chunk.count + bytes.count > 45 {
                    words.append(encodedWord(chunk))
                    chunk = []
                }
                chunk += bytes
            }
            if !chunk.isEmpty { words.append(encodedWord(chunk)) }
            pieces.append(words.joined(separator: " "))
        }
        return fold(name + ": " + pieces.joined(separator: " "))
    }

    static func encodedWord(_ bytes: [UInt8]) -> String {
        "=?UTF-8?B?" + Data(bytes).base64EncodedString() + "?="
    }

    /// An address list header (`To`): addresses separated by ", ", folded after a comma.
    public static func addressHeader(name: String, addresses: [String]) -> String {
        var lines: [String] = []
        var current = name + ":"
        for (i, a) in addresses.enumerated() {
            let piece = a + (i < addresses.count - 1 ? "," : "")
            if current.utf8.count + 1 + piece.utf8.count > 78, current != name + ":" {
                lines.append(current)
                current = ""
            }
            current += " " + piece
        }
        lines.append(current)
        return lines.joined(separator: "\r\n")
    }

    /// Folds a header line at spaces so that each line is at most 78 characters where the
    /// words allow it (a single word longer than that stays whole: RFC 5322 allows 998).
    public static func fold(_ line: String) -> String {
        guard line.utf8.count > 78 else { return line }
        var lines: [String] = []
        var current = ""
        for word in line.split(separator: " ", omittingEmptySubsequences: false) {
            if current.isEmpty && lines.isEmpty {
                current = String(word)
            } else if current.utf8.count + 1 + word.utf8.count > 78, !current.trimmingWhitespace().isEmpty {
                lines.append(current)
                current = " " + word
            } else {
                current += " " + word
            }
        }
        lines.append(current)
        return lines.joined(separator: "\r\n")
    }

    // MARK: date (RFC 5322 3.3)

    /// `Fri, 21 Nov 2025 22:35:29 +0100`, in local time, independent of the locale.
    public static func rfc5322Date(_ date: Date, timeZone: TimeZone = .current) -> String {
        let f = CalendarFields(date, timeZone: timeZone)
        let offset = f.offsetSeconds
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let sign = offset < 0 ? "-" : "+"
        let a = abs(offset)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
        let zone = sign + two(a / 3600) + two((a % 3600) / 60)
        return "\(days[f.weekday - 1]), \(two(f.day)) \(months[f.month - 1]) \(f.year) "
            + "\(two(f.hour)):\(two(f.minute)):\(two(f.second)) \(zone)"
    }

    /// A token for Message-IDs and boundaries: `count` random hex digits.
    public static func randomHex(_ count: Int) -> String {
        var g = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in "0123456789abcdef".randomElement(using: &g)! })
    }

    /// A host name usable after the `@` of a Message-ID.
    static func messageIDDomain(_ host: String) -> String {
        let allowed = host.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }
        return allowed.isEmpty ? "localhost" : allowed
    }
}

/// A date's calendar fields in a time zone (Gregorian, locale-free), from Foundation.
struct CalendarFields {
    let year, month, day, hour, minute, second: Int
    /// 1 = Sunday.
    let weekday: Int
    let offsetSeconds: Int

    init(_ date: Date, timeZone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let whole = Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: whole)
        year = c.year ?? 1970
        month = c.month ?? 1
        day = c.day ?? 1
        hour = c.hour ?? 0
        minute = c.minute ?? 0
        second = c.second ?? 0
        weekday = c.weekday ?? 1
        offsetSeconds = timeZone.secondsFromGMT(for: whole)
    }
}
