import Foundation

/// The identity API a Swift installation authenticates with.
public enum SwiftAuthVersion: Int, Sendable, CaseIterable {
    /// `GET <auth URL>` with X-Auth-User / X-Auth-Key (tempauth, swauth, most v1 proxies).
    case v1 = 1
    /// Keystone v2.0 `POST /v2.0/tokens` (gone from current Keystone; kept for old clouds).
    case v2 = 2
    /// Keystone v3 `POST /v3/auth/tokens`, password method, project-scoped.
    case v3 = 3

    /// `1`, `1.0`, `v1`, `2`, `2.0`, `3`, `v3`…
    public init?(text: String) {
        var t = text.trimmingWhitespace().lowercased()
        if t.hasPrefix("v") { t.removeFirst() }
        if t.hasSuffix(".0") { t.removeLast(2) }
        guard let n = Int(t), let v = SwiftAuthVersion(rawValue: n) else { return nil }
        self = v
    }

    /// The version an auth URL's path names: `…/v3` 3, `…/v2.0` 2, otherwise `nil`.
    public static func named(in url: String) -> SwiftAuthVersion? {
        let path = HTTPRequest.redacted(url).lowercased()
        let segments = path.split(separator: "/")
        if segments.contains(where: { $0 == "v3" }) { return .v3 }
        if segments.contains(where: { $0 == "v2.0" || $0 == "v2" }) { return .v2 }
        if segments.contains(where: { $0 == "v1.0" || $0 == "v1" || $0 == "auth" }) { return .v1 }
        return nil
    }
}

/// The Swift keys of `[Backup]` (StorageType `swift`), with the OpenStack environment
/// variables of an `openrc.sh` (and the swift CLI's `ST_*` for auth v1) standing in for the
/// keys the file leaves out.
public struct SwiftSettings: Sendable, Equatable {
    public var authURL: String
    public var authVersion: SwiftAuthVersion
    public var user: String
    /// The password or key. Never printed.
    public var key: String
    /// The project (tenant) the token is scoped to (v2, v3). With auth v1 and a user without
    /// `account:` it is put in front of the user (`tenant:user`).
    public var tenant: String?
    /// A storage URL (`https://swift.example.edu/v1/AUTH_account`) used instead of the one the
    /// auth service returns.
    public var endpoint: String?
    /// The container of every copy; large files' segments go to `<container>_segments`.
    public var container: String
    /// The region whose object-store endpoint is used (v2, v3); `nil`: the first one.
    public var region: String?
    public var userDomain: String
    public var projectDomain: String
    /// Files larger than this are Static Large Objects of segments this size.
    public var segmentSize: Int64
    /// Seconds to wait before each new attempt after a 5xx or a cut connection.
    public var retryDelays: [Double]
    /// Where each value came from, by key (`SwiftKey` → `OS_PASSWORD`, `line 31`, …).
    public var origins: [String: String]

    /// The retry policy of every Swift request and authentication: `retryDelays`, each wait
    /// drawn from ±25 % of its value so that workers that failed together do not retry
    /// together.
    public var retry: RetryPolicy { RetryPolicy(delays: retryDelays, jitter: 0.75...1.25) }

    public static let defaultSegmentSize: Int64 = 1 << 30
    public static let minSegmentSize: Int64 = 1 << 20
    /// Swift's default max_file_size (5 GiB + 2 bytes, which no segment needs).
    public static let maxSegmentSize: Int64 = 5 << 30
    public static let defaultRetryDelays: [Double] = [1, 2, 4, 8]
    public static let defaultDomain = "Default"

    /// The keys this struct reads, for the list of known keys.
    public static let keys = ["SwiftAuthUrl", "SwiftAuthVersion", "SwiftUser", "SwiftKey", "SwiftTenant", "SwiftEndPoint",
                              "SwiftContainer", "SwiftRegion", "SwiftUserDomain", "SwiftProjectDomain",
                              "SwiftSegmentSize", "SwiftRetryDelays"]

    /// The container that holds the segments of large objects (the swift CLI's convention).
    public var segmentContainer: String { container + "_segments" }

    /// Reads the Swift keys of `section`; `environment` supplies what the file leaves out.
    static func parse(_ section: INIFile.Section, reader: SectionReader,
                      environment: [String: String]) throws(ConfigError) -> SwiftSettings {
        let path = reader.path
        var origins: [String: String] = [:]
        func fileValue(_ key: String) -> INIFile.Entry? {
            guard let e = section.entry(key), !e.value.isEmpty else { return nil }
            return e
        }
        func env(_ name: String) -> String? {
            guard let v = environment[name]?.trimmingWhitespace(), !v.isEmpty else { return nil }
            return v
        }
        func fail(_ key: String, _ message: String) -> ConfigError {
            if let e = section.entry(key) {
                return ConfigError(path: path, line: e.line, section: section.name, key: e.key, message)
            }
            return ConfigError(path: path, line: section.line, section: section.name, key: key, message)
        }

        // 1. The auth version decides which environment variables apply.
        let version: SwiftAuthVersion
        if let e = fileValue("SwiftAuthVersion") {
            guard let v = SwiftAuthVersion(text: e.value) else {
                throw fail("SwiftAuthVersion", "'\(e.value)' is not an auth version dvbackup knows (use 1, 2 or 3)")
            }
            version = v
            origins["SwiftAuthVersion"] = "line \(e.line)"
        } else if let e = fileValue("SwiftAuthUrl") {
            version = SwiftAuthVersion.named(in: e.value) ?? .v1
            origins["SwiftAuthVersion"] = "not set: \(version.rawValue), from the path of SwiftAuthUrl"
        } else if env("ST_AUTH") != nil {
            version = .v1
            origins["SwiftAuthVersion"] = "not set: 1, because ST_AUTH is set"
        } else if let url = env("OS_AUTH_URL") {
            if let t = env("OS_IDENTITY_API_VERSION") ?? env("OS_AUTH_VERSION"), let v = SwiftAuthVersion(text: t), v != .v1 {
                version = v
                origins["SwiftAuthVersion"] = "not set: \(v.rawValue), from OS_IDENTITY_API_VERSION"
            } else {
                version = SwiftAuthVersion.named(in: url) == .v2 ? .v2 : .v3
                origins["SwiftAuthVersion"] = "not set: \(version.rawValue), because OS_AUTH_URL is set"
            }
        } else {
            throw fail("SwiftAuthUrl", "the key is missing (required because StorageType is swift), and neither OS_AUTH_URL (Keystone) nor ST_AUTH (auth v1) is set in the environment")
        }

        let names = SwiftEnvironment.names(for: version)
        /// The file's value, else the first environment variable that is set.
        func value(_ key: String) -> String? {
            if let e = fileValue(key) {
                origins[key] = "line \(e.line)"
                return e.value
            }
            for name in names[key] ?? [] {
                if let v = env(name) {
                    origins[key] = name
                    return v
                }
            }
            return nil
        }
        func required(_ key: String, because: String = "StorageType is swift") throws(ConfigError) -> String {
            if let v = value(key) { return v }
            let alternatives = names[key] ?? []
            let envText = alternatives.isEmpty ? "" : ", and \(alternatives.joined(separator: " / ")) is not set in the environment"
            throw fail(key, "the key is missing (required because \(because))\(envText)")
        }

        let authURL = try required("SwiftAuthUrl")
        guard Self.isHTTPURL(authURL) else {
            throw fail("SwiftAuthUrl", "'\(HTTPRequest.redacted(authURL))' is not an http:// or https:// URL")
        }
        let user = try required("SwiftUser")
        let key = try required("SwiftKey")
        let tenant: String?
        if version == .v1 {
            tenant = value("SwiftTenant")
        } else {
            tenant = try required("SwiftTenant", because: "SwiftAuthVersion is \(version.rawValue): the token is scoped to a project")
        }
        var endpoint: String? = nil
        if let e = fileValue("SwiftEndPoint") {
            guard Self.isHTTPURL(e.value) else {
                throw fail("SwiftEndPoint", "'\(HTTPRequest.redacted(e.value))' is not an http:// or https:// URL")
            }
            endpoint = e.value.hasSuffix("/") ? String(e.value.dropLast()) : e.value
            origins["SwiftEndPoint"] = "line \(e.line)"
        }
        guard let c = fileValue("SwiftContainer") else {
            throw fail("SwiftContainer", "the key is missing (required because StorageType is swift): name the container that receives the copies, e.g. dataverse-backup")
        }
        if let problem = Self.containerProblem(c.value) { throw fail("SwiftContainer", problem) }
        origins["SwiftContainer"] = "line \(c.line)"

        var segmentSize = Self.defaultSegmentSize
        if let e = fileValue("SwiftSegmentSize") {
            guard let n = SizeParser.bytes(e.value) else {
                throw fail("SwiftSegmentSize", "'\(e.value)' is not a size (write it in bytes or with a unit: 1048576, 512MiB, 1GiB)")
            }
            guard n >= Self.minSegmentSize, n <= Self.maxSegmentSize else {
                throw fail("SwiftSegmentSize", "\(e.value) is outside 1 MiB to 5 GiB (Swift refuses objects above 5 GiB; smaller segments than 1 MiB cost a request each)")
            }
            segmentSize = n
            origins["SwiftSegmentSize"] = "line \(e.line)"
        }
        var retryDelays = Self.defaultRetryDelays
        if let e = fileValue("SwiftRetryDelays") {
            guard let d = Self.parseDelays(e.value) else {
                throw fail("SwiftRetryDelays", "'\(e.value)' is not a list of 1 to 10 waits in seconds, each at most 600 (e.g. 1 2 4 8)")
            }
            retryDelays = d
            origins["SwiftRetryDelays"] = "line \(e.line)"
        }
        let region = version == .v1 ? fileValue("SwiftRegion")?.value : value("SwiftRegion")
        return SwiftSettings(authURL: authURL, authVersion: version, user: user, key: key, tenant: tenant,
                             endpoint: endpoint, container: c.value, region: region,
                             userDomain: value("SwiftUserDomain") ?? Self.defaultDomain,
                             projectDomain: value("SwiftProjectDomain") ?? Self.defaultDomain,
                             segmentSize: segmentSize, retryDelays: retryDelays, origins: origins)
    }

    static func isHTTPURL(_ s: String) -> Bool {
        let l = s.lowercased()
        return (l.hasPrefix("http://") || l.hasPrefix("https://")) && l.count > 8 && !s.contains(" ")
    }

    /// Why `name` cannot be the backup container (Swift's rules, and room for `_segments`).
    static func containerProblem(_ name: String) -> String? {
        if name.contains("/") { return "'\(name)' contains '/', which a container name cannot" }
        if name.utf8.count + "_segments".utf8.count > 256 { return "is longer than 247 bytes (Swift allows 256, and the segments container adds _segments)" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "contains a control character" }
        return nil
    }

    /// `1 2 4 8`, `0.5, 1, 2`: 1 to 10 numbers of seconds from 0 to 600.
    static func parseDelays(_ text: String) -> [Double]? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" })
        guard (1...10).contains(parts.count) else { return nil }
        var out: [Double] = []
        for p in parts {
            var t = Substring(p)
            if t.hasSuffix("s") { t = t.dropLast() }
            guard let d = Double(t), d >= 0, d <= 600, d.isFinite else { return nil }
            out.append(d)
        }
        return out
    }
}

/// The environment variables that stand in for the Swift keys, in the order they are tried:
/// the swift CLI's `ST_*` for auth v1, and an `openrc.sh`'s `OS_*` for Keystone.
public enum SwiftEnvironment {
    public static func names(for version: SwiftAuthVersion) -> [String: [String]] {
        switch version {
        case .v1:
            ["SwiftAuthUrl": ["ST_AUTH"], "SwiftUser": ["ST_USER"], "SwiftKey": ["ST_KEY"]]
        case .v2, .v3:
            ["SwiftAuthUrl": ["OS_AUTH_URL"], "SwiftUser": ["OS_USERNAME"], "SwiftKey": ["OS_PASSWORD"],
             "SwiftTenant": ["OS_PROJECT_NAME", "OS_TENANT_NAME"], "SwiftRegion": ["OS_REGION_NAME"],
             "SwiftUserDomain": ["OS_USER_DOMAIN_NAME"], "SwiftProjectDomain": ["OS_PROJECT_DOMAIN_NAME"]]
        }
    }
}

/// Sizes as administrators write them: `1048576`, `512MiB`, `1GiB`, `1.5 GiB`, `100MB`.
/// Units with `i` are powers of 1024, the others of 1000; `B` alone is bytes.
public enum SizeParser {
    public static func bytes(_ text: String) -> Int64? {
        let s = text.trimmingWhitespace()
        guard !s.isEmpty else { return nil }
        let numberPart = s.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = s.dropFirst(numberPart.count).trimmingWhitespace().lowercased()
        guard !numberPart.isEmpty, numberPart.filter({ $0 == "." }).count <= 1, numberPart != "." else { return nil }
        let factor: Double
        switch unit {
        case "", "b": factor = 1
        case "kib", "k": factor = 1024
        case "mib", "m": factor = 1024 * 1024
        case "gib", "g": factor = 1024 * 1024 * 1024
        case "tib", "t": factor = 1024 * 1024 * 1024 * 1024
        case "kb": factor = 1e3
        case "mb": factor = 1e6
        case "gb": factor = 1e9
        case "tb": factor = 1e12
        default: return nil
        }
        if unit.isEmpty || unit == "b" {
            // Plain bytes must be a whole number.
            guard !numberPart.contains("."), let n = Int64(numberPart) else { return nil }
            return n
        }
        guard let n = Double(numberPart) else { return nil }
        let value = (n * factor).rounded(.down)
        guard value.isFinite, value < 9.2e18 else { return nil }
        return Int64(value)
    }

    /// `1073741824` → `1 GiB`, `1572864` → `1.5 MiB`, `1000` → `1000 bytes`.
    public static func format(_ bytes: Int64) -> String {
        for (unit, size) in [("TiB", Int64(1) << 40), ("GiB", Int64(1) << 30), ("MiB", Int64(1) << 20), ("KiB", Int64(1) << 10)]
        where bytes >= size {
            let v = Double(bytes) / Double(size)
            if bytes % size == 0 { return "\(bytes / size) \(unit)" }
            return formatDecimal(v, places: 2) + " \(unit)"
        }
        return "\(bytes) bytes"
    }
}
