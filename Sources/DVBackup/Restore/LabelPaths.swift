import Foundation

/// Turns the labels users gave their files into safe, unique relative paths under a
/// dataset's directory: `<directory label>/<label>`.
///
/// Labels are the depositor's text: a segment `..` or `.`, an absolute path, a NUL, a `\`
/// or a control character never reaches the file system as it is (each becomes `_`), empty
/// segments and `.`, `..` folders are dropped, and a segment is cut to 255 bytes. Two files that would get the
/// same path get `name (2).ext`, `name (3).ext`… in the order they are given (by datafile id).
public struct LabelPaths {
    /// Paths taken so far, per dataset directory, compared without regard to case (a
    /// restore may land on a case-insensitive file system).
    private var taken: [String: Set<String>] = [:]

    public init() {}

    /// A safe form of one path segment.
    public static func safeSegment(_ text: String) -> String {
        var s = String(text.unicodeScalars.map { c -> Character in
            if c.value < 0x20 || c.value == 0x7F || c == "/" || c == "\\" { return "_" }
            return Character(c)
        })
        s = s.trimmingWhitespace()
        if s.isEmpty || s == "." || s == ".." { return "_" }
        if s.utf8.count > 255 {
            var cut = ""
            for ch in s where cut.utf8.count + String(ch).utf8.count <= 255 { cut.append(ch) }
            s = cut
        }
        return s
    }

    /// The safe relative path of `label` in the folder `directoryLabel`.
    public static func safePath(label: String, directoryLabel: String?) -> String {
        var segments = (directoryLabel ?? "").split(separator: "/", omittingEmptySubsequences: true)
            .map(String.init).filter { !["", ".", ".."].contains($0.trimmingWhitespace()) }.map(safeSegment)
        segments.append(safeSegment(label))
        return segments.joined(separator: "/")
    }

    /// A path for `label` under `datasetDirectory` that no earlier call returned.
    public mutating func unique(datasetDirectory: String, label: String, directoryLabel: String?) -> String {
        let path = Self.safePath(label: label, directoryLabel: directoryLabel)
        var used = taken[datasetDirectory, default: []]
        var candidate = path
        var n = 2
        while used.contains(candidate.lowercased()) {
            candidate = Self.numbered(path, n)
            n += 1
        }
        used.insert(candidate.lowercased())
        taken[datasetDirectory] = used
        return candidate
    }

    /// `dir/name (n).ext` for `dir/name.ext`.
    static func numbered(_ path: String, _ n: Int) -> String {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        if let dot = name.lastIndex(of: "."), dot != name.startIndex {
            return dir + name[..<dot] + " (\(n))" + name[dot...]
        }
        return dir + name + " (\(n))"
    }
}

/// The manifest a restore to a directory leaves at its top: which datafile each written file
/// is. CSV (RFC 4180, CRLF); a cell that a spreadsheet would run as a formula (beginning with
/// `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`.
public enum RestoreManifest {
    public static let fileName = "dvbackup-restore-manifest.csv"
    public static let header = ["datafile_id", "dataset", "storage_name", "label", "path", "checksum_type", "checksum", "bytes"]

    public static func cell(_ value: String) -> String {
        var v = value
        if let first = v.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { v = "'" + v }
        guard v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return v }
        return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func line(_ fields: [String]) -> String {
        fields.map(cell).joined(separator: ",") + "\r\n"
    }
}
