import Foundation

/// A copy whose MD5 is not known in advance and whose size is small or unknown: the bytes are
/// held in memory and sent in one PUT with their MD5 as `ETag` once the source is proven, so
/// Swift refuses bytes that differ (422). An unknown size that outgrows the buffer becomes a
/// Static Large Object: the upload hands its context and bytes to a `SwiftSegmentedUpload`
/// and goes on through it.
final class SwiftInMemoryUpload: SwiftShapedUpload {
    let context: SwiftUploadContext
    private var buffer: [UInt8] = []
    /// The Static Large Object this upload became.
    private(set) var segmented: SwiftSegmentedUpload?

    init(_ context: SwiftUploadContext) {
        self.context = context
    }

    deinit {
        if !context.stopped { abort() }
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws(FileFailure) {
        if let segmented { return try segmented.write(chunk) }
        try context.write(chunk) { bytes throws(FileFailure) in
            if buffer.count + bytes.count > SwiftTarget.inMemoryLimit {
                try becomeSegmented().feed(bytes)
            } else {
                if buffer.isEmpty { buffer.reserveCapacity(Int(context.description.expectedSize ?? Int64(SwiftTarget.inMemoryLimit))) }
                buffer.append(contentsOf: bytes)
            }
        }
    }

    /// An unknown size that outgrew the buffer: a Static Large Object after all, which is
    /// sent what was held.
    private func becomeSegmented() throws(FileFailure) -> SwiftSegmentedUpload {
        guard context.target.cluster.hasSLO else {
            throw FileFailure(.failWrite, "\(context.object) is larger than \(SwiftTarget.inMemoryLimit) bytes, its size is not in the catalog, and the cluster does not offer Static Large Objects (the slo middleware)")
        }
        let slo = SwiftSegmentedUpload(context, segmentSize: context.target.segmentSize)
        segmented = slo
        let held = buffer
        buffer = []
        var failed: FileFailure? = nil
        held.withUnsafeBytes { b in
            do throws(FileFailure) { try slo.feed(b) } catch { failed = error }
        }
        if let failed { throw failed }
        return slo
    }

    func verify(algorithm: ChecksumAlgorithm, expectedHex: String) throws(FileFailure) -> String {
        if let segmented { return try segmented.verify(algorithm: algorithm, expectedHex: expectedHex) }
        context.checksum = context.checksum ?? (algorithm, expectedHex)
        let object = context.object
        let md5 = Digest.hex(.md5, of: buffer)
        let headers = [SwiftUploadContext.octetStream, ("ETag", md5)] + context.metadata((algorithm, expectedHex))
        let body = buffer
        let response = try context.request { () throws(SwiftRequestError) in
            try context.connection.send(.put, context.layout.objectPath(object), headers: headers, body: body)
        }
        buffer = []
        try context.proveVisible(
            response, expected: md5, what: "PUT \(context.location)",
            refused: "Swift refused \(object) (422 Unprocessable Entity): the MD5 of the bytes it received differs from \(md5), the MD5 of the bytes sent; nothing was stored, an earlier copy is untouched",
            differs: { etag in "Swift stored \(object) with ETag \(etag), the MD5 of the bytes sent is \(md5)" })
        return "Swift ETag = MD5 sent (checked by Swift on arrival)"
    }

    func publish() throws(FileFailure) {
        if let segmented { return try segmented.publish() }
        context.finishPublication(madeSome: false)
    }

    func abort() {
        buffer = []
        if let segmented { return segmented.abort() }
        context.stopped = true
    }
}
