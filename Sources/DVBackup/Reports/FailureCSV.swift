import Foundation

/// The failed files as CSV (RFC 4180): a header row, fields quoted when they hold a comma,
/// a quote or a line end, quotes doubled, CRLF after every record.
///
/// A failure reason carries text from servers, and a spreadsheet runs a cell that begins
/// with `=`, `+`, `-` or `@` (or a tab or CR, which some strip first) as a formula: such a
/// cell gets a leading `'`, as OWASP's "CSV Injection" page recommends, so it reads as text.
public struct FailureCSV: Sendable {
    public static let header = ["status", "dataset", "datafile_id", "storage_identifier", "reason", "attempts", "last_attempt"]
    public private(set) var bytes: [UInt8]
    public private(set) var rows = 0

    public init() {
        bytes = []
        append(fields: Self.header)
    }

    public mutating func append(_ f: FailedFile) {
        append(fields: [f.status, f.dataset, f.datafileId.map(String.init) ?? "", f.storageIdentifier, f.reason,
                        String(f.attempts), f.lastAttempt ?? ""])
        rows += 1
    }

    mutating func append(fields: [String]) {
        bytes += Array(fields.map(Self.field).joined(separator: ",").utf8) + MIMEEncoding.crlf
    }

    /// The characters that make a spreadsheet read a cell as a formula when it begins with one.
    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    /// `value` as one CSV field: defused (a leading `'` before a formula character), then
    /// quoted when it holds a comma, a quote or a line end.
    public static func field(_ value: String) -> String {
        var value = value
        if let first = value.unicodeScalars.first, formulaStarts.contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else {
            return value
        }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
