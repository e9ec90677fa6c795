import Foundation

/// How a copy is cut: one object, or a Static Large Object of segments the cluster takes.
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
