import Foundation

/// Keeps secrets out of what is logged, stored or mailed: the one place that removes them
/// from a text (a password, a key, the tokens of a run) or from a URL (its query, which may be
/// a signature, and its user info).
public enum Redaction {
    /// The mark that stands for a removed secret.
    public static let mark = "***"

    /// Secrets shorter than this are not searched for: they would match ordinary words.
    public static let minimumLength = 4

    /// `text` with every occurrence of every secret replaced by `***`. Occurrences that
    /// overlap or touch (one secret inside or across another) become one mark, so no part of
    /// either is left; `nil`, empty and very short secrets are ignored.
    public static func redact(_ text: String, secrets: [String?]) -> String {
        let wanted = secrets.compactMap { $0 }.filter { $0.count >= minimumLength }
        guard !wanted.isEmpty else { return text }
        var ranges: [Range<String.Index>] = []
        for secret in wanted {
            var from = text.startIndex
            while from < text.endIndex, let r = text.range(of: secret, range: from..<text.endIndex) {
                ranges.append(r)
                from = text.index(after: r.lowerBound)
            }
        }
        guard !ranges.isEmpty else { return text }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var out = ""
        var cursor = text.startIndex
        var index = 0
        while index < ranges.count {
            var end = ranges[index].upperBound
            let start = ranges[index].lowerBound
            index += 1
            while index < ranges.count, ranges[index].lowerBound <= end {
                end = max(end, ranges[index].upperBound)
                index += 1
            }
            out += text[cursor..<start]
            out += mark
            cursor = end
        }
        out += text[cursor...]
        return out
    }

    /// A URL without its query, fragment and user info, for logs and error messages: a query
    /// may be a signature (presigned URLs, temp URLs), user info a password.
    public static func url(_ url: String) -> String {
        var s = Substring(url)
        if let q = s.firstIndex(where: { $0 == "?" || $0 == "#" }) { s = s[..<q] }
        if let scheme = s.range(of: "://") {
            let rest = s[scheme.upperBound...]
            let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            if let at = rest[..<hostEnd].lastIndex(of: "@") {
                return String(s[..<scheme.upperBound]) + String(rest[rest.index(after: at)...])
            }
        }
        return String(s)
    }
}
