import Foundation

/// How a copy is written to Swift: the shape its size and catalog checksum call for, one type
/// per shape, all built on a `SwiftUploadContext`:
///
/// - `direct` (`SwiftETagAheadUpload`): the catalog has an MD5 and the file fits in one
///   object: one PUT under the final name with the MD5 as `ETag`, so Swift itself refuses
///   bytes that differ (422).
/// - `buffered` (`SwiftInMemoryUpload`): no MD5 in advance and a small (or unknown) size:
///   the bytes are held in memory and sent in one PUT with their MD5 as `ETag` once the source
///   is proven; an unknown size that outgrows the buffer becomes `segmented`.
/// - `temporary` (`SwiftStagedUpload`): no MD5 in advance, one object: streamed to
///   `<object>/tmp/<attempt>` in the segments container, its ETag compared with the MD5 of
///   what was sent, then copied into place by the cluster, which checks the copy against that
///   ETag.
/// - `segmented` (`SwiftSegmentedUpload`): a Static Large Object; each segment's ETag is
///   compared with the MD5 of what was sent; the manifest goes last.
///
/// `verify` finishes sending and proves; `publish` makes the copy visible (direct and
/// buffered copies are visible as soon as Swift accepted them, which it does only for bytes
/// that match their ETag) and removes what earlier attempts left under the object's prefix.
enum SwiftUpload {
    enum Mode: Equatable { case direct, buffered, temporary, segmented }

    /// The upload for `description`, in its shape.
    static func begin(session: SwiftSession, description: UploadDescription) throws(FileFailure) -> any TargetUpload {
        let target = session.target
        let cluster = target.cluster
        let object = description.relativePath
        if let problem = SwiftLayout.objectNameProblem(object, maxLength: cluster.maxObjectNameLength) {
            throw FileFailure(.failWrite, problem)
        }
        var shape = SwiftUploadShape.segmented(segmentSize: target.segmentSize)
        if let size = description.expectedSize {
            switch SegmentPlanner.shape(size: size, segmentSize: target.segmentSize, maxSegments: cluster.maxManifestSegments,
                                        maxObjectSize: min(cluster.maxFileSize, SwiftSettings.maxSegmentSize)) {
            case .success(let s): shape = s
            case .failure(let e): throw FileFailure(.failWrite, "\(object): \(e.reason)")
            }
        }
        let md5 = catalogMD5(description)
        let mode = mode(size: description.expectedSize, catalogMD5: md5 != nil, shape: shape)
        if mode == .segmented, !cluster.hasSLO {
            throw FileFailure(.failWrite, "\(object) is larger than SwiftSegmentSize and the cluster does not offer Static Large Objects (the slo middleware)")
        }
        let context = SwiftUploadContext(session: session, description: description)
        switch mode {
        case .direct: return SwiftETagAheadUpload(context, catalogMD5: md5!, checksum: description.catalogChecksum!)
        case .buffered: return SwiftInMemoryUpload(context)
        case .temporary: return SwiftStagedUpload(context)
        case .segmented:
            guard case .segmented(let segmentSize) = shape else { preconditionFailure("a segmented mode has a segmented shape") }
            return SwiftSegmentedUpload(context, segmentSize: segmentSize)
        }
    }

    /// The catalog MD5 when it is one (and well formed): then it is sent ahead as the ETag.
    static func catalogMD5(_ d: UploadDescription) -> String? {
        guard let c = d.catalogChecksum, c.algorithm == .md5, c.hex.count == 32, c.hex.allSatisfy(\.isHexDigit) else { return nil }
        return c.hex.lowercased()
    }

    /// The mode for a copy of `size` bytes (nil: unknown).
    static func mode(size: Int64?, catalogMD5: Bool, shape: SwiftUploadShape) -> Mode {
        guard let size else { return .buffered }
        if case .segmented = shape { return .segmented }
        if catalogMD5 { return .direct }
        return size <= Int64(SwiftTarget.inMemoryLimit) ? .buffered : .temporary
    }

    /// `"abc…"` and `abc…` both give `abc…` (an SLO's ETag is quoted).
    static func normalizedETag(_ value: String?) -> String? {
        guard var v = value?.trimmingWhitespace(), !v.isEmpty else { return nil }
        if v.hasPrefix("W/") { v.removeFirst(2) }
        if v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
        return v.lowercased()
    }
}
