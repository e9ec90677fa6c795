import Foundation

/// A copy whose catalog checksum is an MD5 and that fits in one object: streamed in one PUT
/// under its final name with that MD5 as its `ETag`, so Swift itself refuses bytes that
/// differ (422) and an earlier copy stays untouched.
final class SwiftETagAheadUpload: SwiftShapedUpload {
    let context: SwiftUploadContext
    private let catalogMD5: String
    private let put: StreamingPut

    init(_ context: SwiftUploadContext, catalogMD5: String, checksum: (algorithm: ChecksumAlgorithm, hex: String)) {
        self.context = context
        self.catalogMD5 = catalogMD5
        context.checksum = checksum
        put = context.streamingPut(lane: 0, path: context.layout.objectPath(context.object),
                                   headers: [SwiftUploadContext.octetStream, ("ETag", catalogMD5)] + context.metadata(checksum),
                                   hashing: false)
    }

    deinit {
        if !context.stopped { abort() }
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws(FileFailure) {
        try context.write(chunk, into: put)
    }

    func verify(algorithm: ChecksumAlgorithm, expectedHex: String) throws(FileFailure) -> String {
        put.close()
        let outcome = put.wait()
        let md5 = catalogMD5
        let object = context.object
        let response = try context.answer(outcome)
        try context.proveVisible(
            response, expected: md5, what: "PUT \(context.location)", bodySent: outcome.bytes > 0,
            refused: "Swift refused \(object) (422 Unprocessable Entity): the MD5 of the bytes it received differs from \(md5), the catalog MD5 sent as its ETag; nothing was stored, an earlier copy is untouched",
            differs: { etag in "Swift stored \(object) with ETag \(etag), the MD5 of the bytes sent is \(expectedHex) (catalog \(md5))" },
            alsoRequires: expectedHex == md5)
        return "Swift ETag = MD5 sent (the catalog MD5, checked by Swift on arrival)"
    }

    func publish() throws(FileFailure) {
        context.finishPublication(madeSome: false)
    }

    /// Abandons the PUT: Swift stores nothing under the final name from a cut body.
    func abort() {
        guard !context.stopped else { return }
        context.stopped = true
        context.stop(put)
    }
}
