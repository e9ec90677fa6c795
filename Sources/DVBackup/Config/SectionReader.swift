import Foundation
import Logging

/// Reads values out of an `INIFile` with errors that name the place.
struct SectionReader {
    let ini: INIFile
    var path: String { ini.path }

    func required(section name: String) throws(ConfigError) -> INIFile.Section {
        guard let s = ini.section(name) else {
            throw ConfigError(path: path, section: name, "the section is missing")
        }
        return s
    }

    func requiredEntry(_ s: INIFile.Section, _ key: String, because: String? = nil) throws(ConfigError) -> INIFile.Entry {
        guard let e = s.entry(key) else {
            let why = because.map { " (required because \($0))" } ?? ""
            throw ConfigError(path: path, line: s.line, section: s.name, key: key, "the key is missing\(why)")
        }
        return e
    }

    func requiredValue(_ s: INIFile.Section, _ key: String, because: String? = nil) throws(ConfigError) -> String {
        let e = try requiredEntry(s, key, because: because)
        guard !e.value.isEmpty else {
            throw ConfigError(path: path, line: e.line, section: s.name, key: e.key, "is empty")
        }
        return e.value
    }

    func integer(_ e: INIFile.Entry, section: String, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let v = Int(e.value), range.contains(v) else {
            throw ConfigError(path: path, line: e.line, section: section, key: e.key,
                              "'\(e.value)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return v
    }

    /// An optional path: `~/` is the user's home; it must be absolute.
    func path(_ s: INIFile.Section, _ key: String) throws(ConfigError) -> String? {
        guard let e = s.entry(key) else { return nil }
        var value = e.value
        if value.hasPrefix("~/") { value = Settings.homeDirectory + value.dropFirst() }
        guard value.hasPrefix("/") else {
            throw ConfigError(path: path, line: e.line, section: s.name, key: e.key, "must be an absolute path, not '\(e.value)'")
        }
        return value
    }

    func unknownKeys(_ s: INIFile.Section, known: [String]) -> [String] {
        let k = Set(known.map { $0.lowercased() })
        return s.entries.filter { !k.contains($0.key.lowercased()) }.map {
            "\(path):\($0.line): [\(s.name)] \($0.key) is not a key dvbackup knows; it is ignored"
        }
    }
}

/// `LogLevel` and `--log-level` values, as swift-log names its levels (and `warn`).
public enum LogLevelName {
    public static func parse(_ text: String) -> Logger.Level? {
        switch text.trimmingWhitespace().lowercased() {
        case "trace": .trace
        case "debug": .debug
        case "info": .info
        case "notice": .notice
        case "warn", "warning": .warning
        case "error": .error
        case "critical": .critical
        default: nil
        }
    }
}
