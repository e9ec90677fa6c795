import Foundation

/// A copy of one object whose MD5 is not known in advance and that is too large to hold in
/// memory: streamed to `<object>/tmp/<attempt>` in the segments container, its ETag compared
/// with the MD5 of what was sent, then copied into place by the cluster, which checks the
/// copy against that ETag.
final class SwiftStagedUpload: SwiftShapedUpload {
    let context: SwiftUploadContext
    private let name: String
    private let put: StreamingPut
    /// The MD5 the staged object's ETag was proven to equal.
    private var provenMD5: String?

    init(_ context: SwiftUploadContext) {
        self.context = context
        name = SwiftLayout.temporaryName(object: context.object, attempt: context.attempt)
        put = context.streamingPut(lane: 0, path: context.layout.segmentPath(name))
    }

    deinit {
        if !context.stopped { abort() }
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws(FileFailure) {
        try context.write(chunk, into: put)
    }

    func verify(algorithm: ChecksumAlgorithm, expectedHex: String) throws(FileFailure) -> String {
        context.checksum = context.checksum ?? (algorithm, expectedHex)
        put.close()
        provenMD5 = try context.proveStreamed(put.wait(), what: "PUT \(context.url(put.path))", subject: context.object,
                                              otherwise: "the copy was not put in place")
        return "Swift ETag = MD5 sent, copied into place by the cluster against that ETag"
    }

    /// Has the cluster copy the staged object into place, with the ETag it must have.
    func publish() throws(FileFailure) {
        let md5 = provenMD5!
        let layout = context.layout
        let object = context.object
        let source = layout.containerPath(layout.segmentContainer) + "/" + URLEncoding.path(name)
        let headers = [("X-Copy-From", source), ("X-Fresh-Metadata", "true"), SwiftUploadContext.octetStream,
                       ("ETag", md5)] + context.metadata(context.checksum!)
        let response = try context.request { () throws(SwiftRequestError) in
            try context.connection.send(.put, layout.objectPath(object), headers: headers, body: [])
        }
        try context.proveVisible(
            response, expected: md5, what: "PUT \(context.location) (copy from \(layout.segmentContainer)/\(name))",
            refused: "Swift refused to copy \(object) into place (422 Unprocessable Entity): the copy's MD5 differs from \(md5); an earlier copy is untouched",
            differs: { etag in "Swift copied \(object) into place with ETag \(etag), the MD5 of the bytes sent is \(md5)" })
        context.deleteSegment(name)
        context.finishPublication(madeSome: true)
    }

    /// Stops sending and deletes the staged object if Swift stored it.
    func abort() {
        guard !context.stopped else { return }
        context.stopped = true
        context.discard(context.stop(put) ? [name] : [])
    }
}
