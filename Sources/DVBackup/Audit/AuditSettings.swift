/// `[Audit]`: how often every copy must be proven again.
public struct AuditSettings: Sendable, Equatable {
    /// `[Audit] Cycle`: every copy is re-verified within this many seconds (default 90d).
    public var cycleSeconds: Int64

    public static let defaultCycleSeconds: Int64 = 90 * 86_400
    public static let keys = ["Cycle"]

    public init(cycleSeconds: Int64 = AuditSettings.defaultCycleSeconds) {
        self.cycleSeconds = cycleSeconds
    }

    /// Reads `[Audit]` (absent: the defaults).
    init(section: INIFile.Section?, path: String) throws(ConfigError) {
        self.init()
        guard let s = section, let e = s.entry("Cycle") else { return }
        guard let seconds = DurationParser.seconds(e.value), seconds >= 86_400 else {
            throw ConfigError(path: path, line: e.line, section: s.name, key: e.key,
                              "'\(e.value)' is not a duration of a day or more (write 90d, 12w, 30d)")
        }
        cycleSeconds = seconds
    }
}
