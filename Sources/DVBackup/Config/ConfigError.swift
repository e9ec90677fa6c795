/// A mistake in the configuration file: names the file, the line where there is one, the
/// section and the key. Never carries a secret's value.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public let path: String
    public let line: Int?
    public let section: String?
    public let key: String?
    public let message: String

    public init(path: String, line: Int? = nil, section: String? = nil, key: String? = nil, _ message: String) {
        self.path = path
        self.line = line
        self.section = section
        self.key = key
        self.message = message
    }

    public var description: String {
        var where_ = path
        if let line { where_ += ":\(line)" }
        var what = ""
        if let section { what += "[\(section)]" }
        if let key { what += (what.isEmpty ? "" : " ") + key }
        return what.isEmpty ? "\(where_): \(message)" : "\(where_): \(what): \(message)"
    }
}
