import Foundation

/// An INI file read the way Python's ConfigParser reads it, so that every `config.ini`
/// the original `run_backup.py` accepted reads the same here.
///
/// - `Key: value` and `Key = value` (the first `:` or `=` ends the key); spaces around both
///   are dropped; an empty value is allowed, and `""` is read as empty (Python 2).
/// - Whole-line comments start with `#` or `;` (after optional indentation), and, in
///   Python 2's dialect, a line whose first word is `rem` (from column 0).
/// - Inline comments, Python 2's rule (`RawConfigParser._read` of Python 2.7, which
///   run_backup.py ran under): only the FIRST `;` of a value counts, and only when
///   whitespace stands right before it; the value ends there. So `Password: x ; old` is
///   `x`, `a;b ;c` is kept whole, and `#` is never an inline comment. Each cut is a warning
///   naming the file and line (never the text). Python 3's dialect (the AWS files, read by
///   botocore under Python 3) has no inline comments.
/// - Keys are case-insensitive; section names are matched case-insensitively too.
/// - A line indented deeper than its key continues the value (joined with a newline); the
///   entry records where (`continuationLines`), so that a reader of single-line keys can
///   refuse it without echoing it.
/// - A key given twice in one section: the last one wins, as in Python 2's ConfigParser,
///   and a warning names both lines.
public struct INIFile: Sendable {
    /// Whose ConfigParser the file is read as.
    public enum Dialect: Sendable {
        /// Python 2.7's: `config.ini` (the original run_backup.py).
        case python2
        /// Python 3's defaults: no inline comments, no `rem` lines, `""` kept.
        case python3
    }

    public struct Entry: Sendable, Equatable {
        /// The key as written.
        public let key: String
        public let value: String
        public let line: Int
        /// The indented lines that continued the value (empty for a one-line value).
        public let continuationLines: [Int]

        init(key: String, value: String, line: Int, continuationLines: [Int] = []) {
            self.key = key
            self.value = value
            self.line = line
            self.continuationLines = continuationLines
        }
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

    public init(parsing text: String, path: String, dialect: Dialect = .python2) throws(ConfigError) {
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
            if dialect == .python2, Self.isRemLine(line) { continue }

            // A continuation line: indented deeper than the key it belongs to.
            if let le = lastEntry, indent > lastEntryIndent {
                let old = sections[le.section].entries[le.index]
                let joined = old.value.isEmpty ? stripped : old.value + "\n" + stripped
                sections[le.section].entries[le.index] = Entry(key: old.key, value: joined, line: old.line,
                                                               continuationLines: old.continuationLines + [lineNumber])
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
            // The value as Python's regular expression takes it: leading blanks dropped,
            // trailing ones kept (they matter to the comment rule below).
            let lineDelimiter = line.firstIndex { $0 == "=" || $0 == ":" }!
            let rawValue = line[line.index(after: lineDelimiter)...].drop(while: Self.isPythonSpace)
            let value: String
            if dialect == .python2 {
                let read = Self.python2Value(rawValue)
                value = read.value
                if read.cut {
                    warnings.append("\(path):\(lineNumber): [\(sections[sectionIndex].name)] \(key): the value ends at ' ;' "
                        + "(the rest of the line, \(read.dropped) characters, is a comment, as the original run_backup.py's "
                        + "Python 2 read it); if the ';' belongs to the value, remove the blank before it")
                }
            } else {
                value = rawValue.trimmingWhitespace()
            }
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

    /// Python 2's `str.isspace` on one byte: the ASCII blanks only.
    static func isPythonSpace(_ c: Character) -> Bool {
        c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0B}" || c == "\u{0C}"
    }

    /// Python 2.7's reading of a value (`RawConfigParser._read`):
    /// `if ';' in optval: pos = optval.find(';'); if pos != -1 and optval[pos-1].isspace(): optval = optval[:pos]`,
    /// then `optval.strip()`, then `'""'` becomes `''`. `raw` starts after the blanks that
    /// follow the delimiter and keeps its trailing blanks; at `pos == 0`, `optval[-1]` is
    /// the value's last character, so `;x ` (trailing blank) is cut to nothing, as there.
    /// Returns whether it was cut and how many characters were dropped.
    static func python2Value(_ raw: Substring) -> (value: String, cut: Bool, dropped: Int) {
        var value = raw
        var cut = false
        var dropped = 0
        if let pos = raw.firstIndex(of: ";") {
            let before = pos == raw.startIndex ? raw.last! : raw[raw.index(before: pos)]
            if isPythonSpace(before) {
                value = raw[..<pos]
                cut = true
                dropped = raw[pos...].trimmingWhitespace().count
            }
        }
        var result = String(value.drop(while: isPythonSpace).reversed().drop(while: isPythonSpace).reversed())
        if result == "\"\"" { result = "" }
        return (result, cut, dropped)
    }

    /// Python 2's `line.split(None, 1)[0].lower() == 'rem' and line[0] in "rR"`: a comment.
    static func isRemLine(_ line: Substring) -> Bool {
        guard let first = line.first, first == "r" || first == "R" else { return false }
        return line.prefix { !isPythonSpace($0) }.lowercased() == "rem"
    }

    /// A line shown in an error, cut short so that a secret pasted on a wrong line is not
    /// printed whole.
    private static func preview(_ s: String) -> String {
        s.count > 12 ? String(s.prefix(8)) + "…" : s
    }
}
