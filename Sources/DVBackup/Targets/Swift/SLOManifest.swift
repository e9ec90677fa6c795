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

    /// A segment of a stored manifest: `/<container>/<object>` (not encoded) and its size.
    struct StoredSegment: Equatable, Sendable {
        let path: String
        let bytes: Int64

        /// The path to GET it by: `/<container>/<object>`, each part encoded.
        var requestPath: String? {
            let parts = path.dropFirst().split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard path.hasPrefix("/"), parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
            return "/" + URLEncoding.queryComponent(String(parts[0])) + "/" + URLEncoding.path(String(parts[1]))
        }
    }

    /// The segments of a stored manifest in order, when every one is a whole plain object
    /// (as dvbackup writes them); nil for a manifest that cannot be read, or that has a
    /// segment which is itself a manifest (`sub_slo`) or only a range of an object: such a
    /// copy is read as the cluster assembles it.
    static func wholeSegments(_ body: [UInt8]) -> [StoredSegment]? {
        guard let list = try? JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]] else { return nil }
        var segments: [StoredSegment] = []
        for entry in list {
            guard let name = entry["name"] as? String, let bytes = (entry["bytes"] as? NSNumber)?.int64Value, bytes >= 0,
                  entry["range"] == nil, (entry["sub_slo"] as? Bool) != true else { return nil }
            let segment = StoredSegment(path: name, bytes: bytes)
            guard segment.requestPath != nil else { return nil }
            segments.append(segment)
        }
        return segments
    }
}

enum SwiftListing {
    /// The object names of a JSON container listing.
    static func names(_ body: [UInt8]) -> [String]? {
        guard let list = try? JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]] else { return nil }
        return list.compactMap { $0["name"] as? String }
    }
}
