import Foundation

/// What the cluster says of itself (`GET /info`), as far as uploads need it.
struct SwiftClusterInfo: Equatable, Sendable {
    var maxFileSize: Int64 = SwiftSettings.maxSegmentSize + 2
    var maxManifestSegments = 1000
    var maxObjectNameLength = 1024
    var hasSLO = true
    /// Whether the values come from the cluster (false: Swift's defaults, /info unavailable).
    var reported = false

    static func parse(_ body: [UInt8]) -> SwiftClusterInfo? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let swift = object["swift"] as? [String: Any] else { return nil }
        var info = SwiftClusterInfo()
        info.reported = true
        if let n = (swift["max_file_size"] as? NSNumber)?.int64Value { info.maxFileSize = n }
        if let n = (swift["max_object_name_length"] as? NSNumber)?.intValue { info.maxObjectNameLength = n }
        if let slo = object["slo"] as? [String: Any] {
            if let n = (slo["max_manifest_segments"] as? NSNumber)?.intValue { info.maxManifestSegments = n }
        } else {
            info.hasSLO = false
        }
        return info
    }

    /// `https://swift.example.edu/info` for a storage URL `https://swift.example.edu/v1/AUTH_x`
    /// (the part before the version segment).
    static func infoURL(storageURL: String) -> String? {
        guard let scheme = storageURL.range(of: "://") else { return nil }
        let rest = storageURL[scheme.upperBound...]
        let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let base = String(storageURL[..<hostEnd])
        let segments = rest[hostEnd...].split(separator: "/")
        // Keep a path prefix before "/v1" (a cluster behind https://host/swift/v1/AUTH_x).
        guard let v = segments.firstIndex(where: { $0.lowercased().hasPrefix("v1") }) else { return base + "/info" }
        let prefix = segments[..<v].map(String.init)
        return base + (prefix.isEmpty ? "" : "/" + prefix.joined(separator: "/")) + "/info"
    }
}
