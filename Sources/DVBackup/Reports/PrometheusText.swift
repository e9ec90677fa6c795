import Foundation

/// One sample of Prometheus's text exposition format: `name{label="value",…} value`.
public struct MetricSample: Sendable, Equatable {
    public var name: String
    public var labels: [(String, String)]
    public var value: String

    public init(_ name: String, _ labels: [(String, String)] = [], _ value: String) {
        self.name = name
        self.labels = labels
        self.value = value
    }

    public init(_ name: String, _ labels: [(String, String)] = [], _ value: Int64) {
        self.init(name, labels, String(value))
    }

    /// A Unix time or a duration in seconds, to the millisecond.
    public init(_ name: String, _ labels: [(String, String)] = [], seconds: Double) {
        self.init(name, labels, String(format: "%.3f", seconds))
    }

    public func label(_ key: String) -> String? { labels.first { $0.0 == key }?.1 }

    public static func == (a: MetricSample, b: MetricSample) -> Bool {
        a.name == b.name && a.value == b.value && a.labels.map { $0.0 + "=" + $0.1 } == b.labels.map { $0.0 + "=" + $0.1 }
    }

    var line: String {
        let l = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        return name + l + " " + value
    }

    static func escape(_ v: String) -> String {
        v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// Prometheus's text exposition format (version 0.0.4), as node-exporter's textfile
/// collector reads it: each family's `# HELP` and `# TYPE` lines, then its samples.
public enum PrometheusText {
    /// Renders `samples` family by family, in the order of `families` (name, help); a sample
    /// of a family not listed is left out.
    public static func render(_ samples: [MetricSample], families: [(name: String, help: String)]) -> String {
        var out = ""
        for family in families {
            let mine = samples.filter { $0.name == family.name }
            guard !mine.isEmpty else { continue }
            out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) gauge\n"
            for s in mine { out += s.line + "\n" }
        }
        return out
    }

    /// The samples of a text file (comments and lines it cannot read are skipped).
    public static func parse(_ text: String) -> [MetricSample] {
        var out: [MetricSample] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#"), let space = line.lastIndex(of: " ") else { continue }
            let value = String(line[line.index(after: space)...])
            var head = Substring(line[..<space]).trimmingCharacters(in: .whitespaces)[...]
            var labels: [(String, String)] = []
            if let brace = head.firstIndex(of: "{") {
                guard head.hasSuffix("}") else { continue }
                guard let parsed = parseLabels(head[head.index(after: brace)..<head.index(before: head.endIndex)]) else { continue }
                labels = parsed
                head = head[..<brace]
            }
            out.append(MetricSample(String(head), labels, value))
        }
        return out
    }

    /// `a="x",b="y\"z"` → pairs; `nil` when it is not that.
    static func parseLabels(_ s: Substring) -> [(String, String)]? {
        var out: [(String, String)] = []
        var i = s.startIndex
        while i < s.endIndex {
            guard let eq = s[i...].firstIndex(of: "="), s.index(after: eq) < s.endIndex, s[s.index(after: eq)] == "\"" else { return nil }
            let key = s[i..<eq].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
            var j = s.index(eq, offsetBy: 2)
            var value = ""
            while j < s.endIndex, s[j] != "\"" {
                if s[j] == "\\", s.index(after: j) < s.endIndex {
                    j = s.index(after: j)
                    value.append(s[j] == "n" ? "\n" : s[j])
                } else {
                    value.append(s[j])
                }
                j = s.index(after: j)
            }
            guard j < s.endIndex else { return nil }
            out.append((key, value))
            i = s.index(after: j)
        }
        return out
    }
}
