import Foundation

/// An INI file read the way Python's `configparser` reads it, so that every `config.ini`
/// the original `run_backup.py` accepted reads the same here.
///
/// - `Key: value` and `Key = value` (the first `:` or `=` ends the key); spaces around both
///   are dropped; an empty value is allowed.
/// - Whole-line comments start with `#` or `;` (after optional indentation); there are no
///   inline comments, so `Password = a;b` is `a;b`.
/// - Keys are case-insensitive; section names are matched case-insensitively too.
/// - A line indented deeper than its key continues the value (joined with a newline).
/// - A key given twice in one section: the last one wins, as in Python 2's ConfigParser,
///   and a warning names both lines.
public struct INIFile: Sendable {
    public struct Entry: Sendable, Equatable {
        /// The key as written.
        public let key: String
        public let value: String
        public let line: Int
    }

    public struct Section: Sendable {
        /// The name as written.
        public let name: String
        public let line: Int
        /// Entries in file order (duplicates resolved: last wins).
        public fileprivate(set) var entries: [Entry] = []

        public func entry(_ key: String) -> Entry? {
            let k = key.lowercased()
            return entries.last { $0.key.lowercased() == k }
        }
    }

    public let path: String
    public private(set) var sections: [Section] = []
    public private(set) var warnings: [String] = []

    public func section(_ name: String) -> Section? {
        let n = name.lowercased()
        return sections.first { $0.name.lowercased() == n }
    }

    public init(parsing text: String, path: String) throws(ConfigError) {
        self.path = path
        var current: Int? = nil  // index into sections
        var lastEntryIndent = 0
        var lastEntry: (section: Int, index: Int)? = nil

        // "\r\n" is one Character in Swift: normalise line ends before splitting.
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        for (offset, rawLine) in lines.enumerated() {
            let lineNumber = offset + 1
            var line = Substring(rawLine)
            if line.last == "\r" { line = line.dropLast() }
            if lineNumber == 1, line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
            let indent = line.prefix { $0 == " " || $0 == "\t" }.count
            let stripped = line.trimmingWhitespace()

            if stripped.isEmpty {
                lastEntry = nil  // a blank line ends a continued value
                continue
            }
            if stripped.hasPrefix("#") || stripped.hasPrefix(";") { continue }

            // A continuation line: indented deeper than the key it belongs to.
            if let le = lastEntry, indent > lastEntryIndent {
                let old = sections[le.section].entries[le.index]
                let joined = old.value.isEmpty ? stripped : old.value + "\n" + stripped
                sections[le.section].entries[le.index] = Entry(key: old.key, value: joined, line: old.line)
                continue
            }

            if stripped.hasPrefix("[") {
                guard stripped.hasSuffix("]"), stripped.count > 2 else {
                    throw ConfigError(path: path, line: lineNumber, "a section header must look like [Name], not '\(Self.preview(stripped))'")
                }
                let name = String(stripped.dropFirst().dropLast()).trimmingWhitespace()
                if let existing = sections.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) {
                    warnings.append("\(path):\(lineNumber): section [\(name)] appears again (first at line \(sections[existing].line)); its keys are merged")
                    current = existing
                } else {
                    sections.append(Section(name: name, line: lineNumber))
                    current = sections.count - 1
                }
                lastEntry = nil
                continue
            }

            guard let sectionIndex = current else {
                throw ConfigError(path: path, line: lineNumber, "a key appears before any [Section] header")
            }
            guard let delimiter = stripped.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw ConfigError(path: path, line: lineNumber, section: sections[sectionIndex].name,
                                  "expected 'Key: value' or 'Key = value', found '\(Self.preview(stripped))'")
            }
            let key = String(stripped[..<delimiter]).trimmingWhitespace()
            let value = String(stripped[stripped.index(after: delimiter)...]).trimmingWhitespace()
            guard !key.isEmpty else {
                throw ConfigError(path: path, line: lineNumber, section: sections[sectionIndex].name,
                                  "a line starts with '\(stripped[delimiter])' and has no key")
            }
            if let previous = sections[sectionIndex].entries.firstIndex(where: { $0.key.lowercased() == key.lowercased() }) {
                let prevLine = sections[sectionIndex].entries[previous].line
                warnings.append("\(path):\(lineNumber): [\(sections[sectionIndex].name)] \(key) is set again (first at line \(prevLine)); the later value is used")
                sections[sectionIndex].entries.remove(at: previous)
            }
            sections[sectionIndex].entries.append(Entry(key: key, value: value, line: lineNumber))
            lastEntry = (sectionIndex, sections[sectionIndex].entries.count - 1)
            lastEntryIndent = indent
        }
    }

    /// A line shown in an error, cut short so that a secret pasted on a wrong line is not
    /// printed whole.
    private static func preview(_ s: String) -> String {
        s.count > 12 ? String(s.prefix(8)) + "…" : s
    }
}
