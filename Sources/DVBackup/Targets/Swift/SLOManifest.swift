import Foundation

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
