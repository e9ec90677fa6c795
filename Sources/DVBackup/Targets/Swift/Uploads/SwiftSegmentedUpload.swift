import Foundation

/// A copy written as a Static Large Object: segments of `segmentSize` go to the segments
/// container on the session's lanes, each proven by its ETag against the MD5 of what was
/// sent; the manifest, listing every segment's ETag and size and carrying the SLO's expected
/// ETag, goes last and makes the copy visible.
final class SwiftSegmentedUpload: SwiftShapedUpload {
    let context: SwiftUploadContext
    let segmentSize: Int64
    private var current: (name: String, put: StreamingPut, bytes: Int64)?
    private var segments: [(name: String, put: StreamingPut)] = []
    private var proven: [SLOManifest.Segment] = []

    init(_ context: SwiftUploadContext, segmentSize: Int64) {
        self.context = context
        self.segmentSize = segmentSize
    }

    deinit {
        if !context.stopped { abort() }
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws(FileFailure) {
        try context.write(chunk) { bytes throws(FileFailure) in try feed(bytes) }
    }

    /// Sends `bytes` into the current segment, starting a new one at each boundary. Not
    /// counted against the catalog size: `write` does that (or the in-memory upload this one
    /// takes over from).
    func feed(_ bytes: UnsafeRawBufferPointer) throws(FileFailure) {
        var offset = 0
        while offset < bytes.count {
            if current == nil { try startSegment() }
            let n = Int(min(Int64(bytes.count - offset), segmentSize - current!.bytes))
            guard current!.put.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])) else {
                throw context.failure(of: current!.put, what: "PUT \(context.url(current!.put.path))")
            }
            current!.bytes += Int64(n)
            offset += n
            if current!.bytes == segmentSize { endSegment() }
        }
    }

    private func startSegment() throws(FileFailure) {
        // A segment that already failed ends the copy now rather than after the last one.
        for s in segments where s.put.isFinished {
            _ = try prove(s)
        }
        let index = segments.count
        let limit = context.target.cluster.maxManifestSegments
        guard index < limit else {
            throw FileFailure(.failWrite, "\(context.object) needs more than \(limit) segments of \(SizeParser.format(segmentSize))")
        }
        let name = SwiftLayout.segmentName(object: context.object, attempt: context.attempt, index: index)
        current = (name, context.streamingPut(lane: index, path: context.layout.segmentPath(name)), 0)
    }

    private func endSegment() {
        guard let c = current else { return }
        c.put.close()
        segments.append((c.name, c.put))
        current = nil
    }

    /// The MD5 of a finished segment, proven by its ETag.
    private func prove(_ s: (name: String, put: StreamingPut)) throws(FileFailure) -> String {
        try context.proveStreamed(s.put.wait(), what: "PUT \(context.url(context.layout.segmentPath(s.name)))",
                                  subject: "segment \(s.name)", otherwise: "the copy was not published")
    }

    func verify(algorithm: ChecksumAlgorithm, expectedHex: String) throws(FileFailure) -> String {
        context.checksum = context.checksum ?? (algorithm, expectedHex)
        if current != nil { endSegment() }
        guard !segments.isEmpty else { throw FileFailure(.failWrite, "\(context.object): no bytes were sent") }
        var list: [SLOManifest.Segment] = []
        var failure: FileFailure? = nil
        for s in segments {
            let outcome = s.put.wait()
            if failure == nil {
                do throws(FileFailure) { _ = try prove(s) } catch { failure = error }
            }
            list.append(SLOManifest.Segment(path: context.layout.segmentReference(s.name), etag: outcome.md5 ?? "", size: outcome.bytes))
        }
        if let failure { throw failure }
        proven = list
        return "SLO: \(list.count) segment ETags = MD5s sent + manifest ETag"
    }

    /// Puts the manifest, with the ETag the proven segments give.
    func publish() throws(FileFailure) {
        let object = context.object
        let etag = SLOManifest.etag(proven.map(\.etag))
        let headers = [SwiftUploadContext.octetStream, ("ETag", etag)] + context.metadata(context.checksum!)
        let body = SLOManifest.json(proven)
        let response = try context.request { () throws(SwiftRequestError) in
            try context.connection.send(.put, context.layout.objectPath(object) + "?multipart-manifest=put", headers: headers, body: body)
        }
        if response.status == 400, response.bodyText.contains("Mismatch") {
            throw FileFailure(.failVerify, "Swift refused the manifest of \(object): its segments differ from what was sent (\(SwiftResponseText.summary(response.body))); an earlier copy is untouched")
        }
        try context.proveVisible(
            response, expected: etag, what: "PUT \(context.location)?multipart-manifest=put",
            refused: "Swift refused the manifest of \(object) (422 Unprocessable Entity): the ETag of the stored segments is not \(etag), the MD5 of the segment MD5s sent; an earlier copy is untouched",
            differs: { stored in "Swift stored the manifest of \(object) with ETag \(stored), the segments sent give \(etag)" })
        context.finishPublication(madeSome: true, keep: Set(proven.map(\.path)))
    }

    /// Stops sending and deletes the segments Swift stored.
    func abort() {
        guard !context.stopped else { return }
        context.stopped = true
        if let c = current {
            c.put.abort()
            current = nil
        }
        context.discard(segments.filter { context.stop($0.put) }.map(\.name))
    }
}
