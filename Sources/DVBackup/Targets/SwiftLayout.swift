import Foundation

/// Where copies live in Swift, and how a large one is cut into segments. Pure functions.
///
/// A copy is the object `<authority>/<identifier>/<storage name>` in the configured
/// container. A large copy is a Static Large Object whose segments are in
/// `<container>_segments`, named `<object>/slo/<attempt>/<index>`; a copy being proven before
/// it is copied into place is `<object>/tmp/<attempt>` there. Everything of an object in the
/// segments container is under `<object>/`, so what a crash left behind is found with one
/// listing.
struct SwiftLayout: Sendable, Equatable {
    let container: String
    var segmentContainer: String { container + "_segments" }

    /// `/<container>`, encoded, to append to the storage URL.
    func containerPath(_ name: String) -> String { "/" + URLEncoding.queryComponent(name) }

    /// `/<container>/<object>`, encoded, to append to the storage URL.
    func objectPath(_ object: String) -> String { containerPath(container) + "/" + URLEncoding.path(object) }

    /// `/<container>_segments/<name>`, encoded.
    func segmentPath(_ name: String) -> String { containerPath(segmentContainer) + "/" + URLEncoding.path(name) }

    /// How a manifest or `X-Copy-From` names a segment: `/<container>_segments/<name>`, not
    /// encoded (Swift encodes it itself in a manifest).
    func segmentReference(_ name: String) -> String { "/" + segmentContainer + "/" + name }

    static func segmentName(object: String, attempt: String, index: Int) -> String {
        let digits = String(index)
        return object + "/slo/" + attempt + "/" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    static func temporaryName(object: String, attempt: String) -> String {
        object + "/tmp/" + attempt
    }

    /// The prefix of everything of `object` in the segments container.
    static func leftoverPrefix(_ object: String) -> String { object + "/" }

    /// Whether `name` (in the segments container) is a segment or temporary copy of `object`
    /// (ours, or the swift CLI's `<object>/slo/…`).
    static func isLeftover(_ name: String, of object: String) -> Bool {
        name.hasPrefix(object + "/slo/") || name.hasPrefix(object + "/tmp/")
    }

    /// A new attempt's id: the UTC time and random bits, e.g. `20261121T223549Z-5f3a9c1e`.
    static func newAttemptId() -> String {
        var t = time(nil)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        var buf = [CChar](repeating: 0, count: 32)
        strftime(&buf, buf.count, "%Y%m%dT%H%M%SZ", &tmv)
        let random = (0..<4).map { _ in UInt8.random(in: 0...255) }
        return cString(buf) + "-" + Hex.encode(random)
    }

    /// Object names Swift refuses: longer than its limit, or not UTF-8 text it can store.
    static func objectNameProblem(_ name: String, maxLength: Int) -> String? {
        if name.utf8.count > maxLength {
            return "the object name '\(name)' is \(name.utf8.count) bytes long; the cluster allows \(maxLength)"
        }
        // The longest segment name adds "/slo/<attempt>/<index>".
        if name.utf8.count + 40 > maxLength {
            return "the object name '\(name)' leaves no room for its segment names (the cluster allows \(maxLength) bytes)"
        }
        return nil
    }
}

/// How a copy is cut.
enum SwiftUploadShape: Equatable {
    /// One object, one PUT.
    case single
    /// A Static Large Object of segments of this size (the last may be smaller).
    case segmented(segmentSize: Int64)
}

/// Why a copy cannot be cut into segments the cluster takes.
struct SegmentPlanError: Error, Equatable {
    let reason: String
}

enum SegmentPlanner {
    /// The shape of a copy of `size` bytes: one object up to `segmentSize`, otherwise
    /// segments of `segmentSize`, made larger (in whole MiB) when that would take more than
    /// `maxSegments`. Fails when even `maxObjectSize` segments are not enough.
    static func shape(size: Int64, segmentSize: Int64, maxSegments: Int, maxObjectSize: Int64) -> Result<SwiftUploadShape, SegmentPlanError> {
        if size <= segmentSize { return .success(.single) }
        var s = segmentSize
        if ceilDiv(size, s) > Int64(maxSegments) {
            let mib: Int64 = 1 << 20
            s = ceilDiv(ceilDiv(size, Int64(maxSegments)), mib) * mib
        }
        guard s <= maxObjectSize else {
            return .failure(SegmentPlanError(reason: "\(size) bytes need more than \(maxSegments) segments of at most \(SizeParser.format(maxObjectSize)), the largest Static Large Object this cluster takes"))
        }
        return .success(.segmented(segmentSize: s))
    }

    static func segmentCount(size: Int64, segmentSize: Int64) -> Int64 { max(1, ceilDiv(size, segmentSize)) }

    static func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 { (a + b - 1) / b }
}

/// A Static Large Object's manifest, as it is PUT, and its ETag.
enum SLOManifest {
    struct Segment: Equatable, Sendable {
        /// `/<container>_segments/<name>`, not encoded.
        let path: String
        /// The MD5 of the segment's bytes, in hex.
        let etag: String
        let size: Int64
    }

    /// `[{"etag":…,"path":…,"size_bytes":…},…]`: every segment with its ETag and size, so the
    /// cluster checks each against what it stores (400 on a mismatch).
    static func json(_ segments: [Segment]) -> [UInt8] {
        let list: [[String: Any]] = segments.map { ["path": $0.path, "etag": $0.etag, "size_bytes": NSNumber(value: $0.size)] }
        return Array((try? JSONSerialization.data(withJSONObject: list, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data())
    }

    /// The ETag Swift gives a Static Large Object: the MD5 of its segments' MD5s, in hex,
    /// concatenated in order. Sent with the manifest so the cluster checks it (422).
    static func etag(_ segmentMD5s: [String]) -> String {
        Digest.hex(.md5, of: Array(segmentMD5s.joined().utf8))
    }

    /// The segment paths of a stored manifest (`GET ?multipart-manifest=get`: `[{"name":
    /// "/<container>/<object>", "hash": …, "bytes": …}, …]`), not encoded.
    static func storedSegmentPaths(_ body: [UInt8]) -> [String]? {
        guard let list = try? JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]] else { return nil }
        return list.compactMap { $0["name"] as? String }
    }
}

enum SwiftListing {
    /// The object names of a JSON container listing.
    static func names(_ body: [UInt8]) -> [String]? {
        guard let list = try? JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]] else { return nil }
        return list.compactMap { $0["name"] as? String }
    }
}

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
