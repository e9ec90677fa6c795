import Foundation
import Logging

/// The MD5 of the bytes a lane hands to libcurl. `@unchecked Sendable`: fed and finalized on
/// the lane's thread only, read after the lane signalled the end of the transfer.
final class MD5Tap: @unchecked Sendable {
    let digest = Digest(.md5)
}

/// A PUT whose body the caller writes while a lane sends it (a bounded pipe between them:
/// memory does not grow with the body). With `hashing`, the lane computes the MD5 of exactly
/// what it hands to libcurl.
///
/// `@unchecked Sendable`: `outcome` is written once by the lane's thread before it signals
/// `done`, and read only after waiting for `done` (under `lock`).
final class StreamingPut: @unchecked Sendable {
    struct Outcome {
        let result: Result<HTTPResponse, SwiftRequestError>
        /// The MD5 of the bytes sent, when hashing.
        let md5: String?
        let bytes: Int64
    }

    let pipe: BodyPipe
    /// The encoded path, appended to the storage URL.
    let path: String
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var outcome: Outcome?
    private var waited: Outcome?

    init(lane: SwiftLane, path: String, headers: [(name: String, value: String)], hashing: Bool) {
        let tap = hashing ? MD5Tap() : nil
        var observe: (@Sendable (UnsafeRawBufferPointer) -> Void)? = nil
        if let tap { observe = { bytes in tap.digest.update(bytes) } }
        pipe = BodyPipe(bufferSize: 1 << 20, bufferCount: 4, tap: observe)
        self.path = path
        let pipe = self.pipe
        lane.submit { [self] connection, problem in
            let result: Result<HTTPResponse, SwiftRequestError>
            if let connection {
                result = Result { () throws(SwiftRequestError) -> HTTPResponse in
                    try connection.send("PUT", path, headers: headers, pipe: pipe)
                }
            } else {
                result = .failure(SwiftRequestError(message: problem ?? "no connection to Swift", connectionLost: false, authFailure: nil))
            }
            pipe.readerFinished()
            let md5 = tap?.digest.finalizeHex()
            lock.lock()
            outcome = Outcome(result: result, md5: md5, bytes: pipe.consumed)
            lock.unlock()
            done.signal()
        }
    }

    /// Adds bytes to the body; `false` when the transfer already ended (see `wait`).
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool { pipe.write(bytes) }

    /// Ends the body; the lane finishes the request in the background.
    func close() { pipe.close() }

    /// Whether the lane has finished the request.
    var isFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return outcome != nil
    }

    /// Waits for the lane to finish the request.
    func wait() -> Outcome {
        lock.lock()
        if let waited {
            lock.unlock()
            return waited
        }
        lock.unlock()
        done.wait()
        lock.lock()
        defer { lock.unlock() }
        waited = outcome
        return outcome!
    }

    /// Abandons the body (Swift discards an object whose body was cut) and waits for the lane.
    @discardableResult
    func abort() -> Outcome {
        pipe.abort()
        return wait()
    }
}

/// One copy being written to Swift, in the shape its size and catalog checksum call for:
///
/// - `direct`: the catalog has an MD5 and the file fits in one object: one PUT under the
///   final name with the MD5 as `ETag`, so Swift itself refuses bytes that differ (422).
/// - `buffered`: no MD5 in advance and a small (or unknown) size: the bytes are held in
///   memory and sent in one PUT with their MD5 as `ETag` once the source is proven; an
///   unknown size that outgrows the buffer becomes `segmented`.
/// - `temporary`: no MD5 in advance, one object: streamed to `<object>/tmp/<attempt>` in the
///   segments container, its ETag compared with the MD5 of what was sent, then copied into
///   place by the cluster, which checks the copy against that ETag.
/// - `segmented`: a Static Large Object; each segment's ETag is compared with the MD5 of what
///   was sent; the manifest goes last.
///
/// `verify` finishes sending and proves; `publish` makes the copy visible (direct and
/// buffered copies are visible as soon as Swift accepted them, which it does only for bytes
/// that match their ETag) and removes what earlier attempts left under the object's prefix.
final class SwiftUpload: TargetUpload {
    enum Mode: Equatable { case direct, buffered, temporary, segmented }

    unowned let session: SwiftSession
    let description: UploadDescription
    let object: String
    let attempt: String
    let location: String
    private(set) var mode: Mode
    private var written: Int64 = 0
    private var buffer: [UInt8] = []
    /// The PUT of `direct` and `temporary`.
    private var put: StreamingPut?
    private var segmentSize: Int64 = 0
    private var current: (name: String, put: StreamingPut, bytes: Int64)?
    private var segments: [(name: String, put: StreamingPut)] = []
    private var proven: [SLOManifest.Segment] = []
    /// For `temporary`: the MD5 its ETag was proven to equal.
    private var temporaryMD5: String?
    private var checksum: (algorithm: ChecksumAlgorithm, hex: String)?
    private var published = false
    private var stopped = false

    private var target: SwiftTarget { session.target }
    private var layout: SwiftLayout { session.target.layout }
    private var connection: SwiftConnection { session.connection }

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

    init(session: SwiftSession, description: UploadDescription) throws(FileFailure) {
        self.session = session
        self.description = description
        object = description.relativePath
        attempt = SwiftLayout.newAttemptId()
        let target = session.target
        location = target.objectURL(object)
        let cluster = target.cluster
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
        if case .segmented(let s) = shape { segmentSize = s }
        let md5 = Self.catalogMD5(description)
        mode = Self.mode(size: description.expectedSize, catalogMD5: md5 != nil, shape: shape)
        if mode == .segmented, !cluster.hasSLO {
            throw FileFailure(.failWrite, "\(object) is larger than SwiftSegmentSize and the cluster does not offer Static Large Objects (the slo middleware)")
        }
        switch mode {
        case .direct:
            checksum = description.catalogChecksum
            put = StreamingPut(lane: session.lane(0), path: layout.objectPath(object),
                               headers: [("Content-Type", "application/octet-stream"), ("ETag", md5!)] + metadata(description.catalogChecksum!),
                               hashing: false)
        case .temporary:
            put = StreamingPut(lane: session.lane(0), path: layout.segmentPath(SwiftLayout.temporaryName(object: object, attempt: attempt)),
                               headers: [("Content-Type", "application/octet-stream")], hashing: true)
        case .buffered, .segmented:
            break
        }
    }

    deinit {
        if !stopped { abort() }
    }

    /// The object metadata that lets an audit prove the copy with a HEAD.
    func metadata(_ c: (algorithm: ChecksumAlgorithm, hex: String)) -> [(name: String, value: String)] {
        [("X-Object-Meta-Dv-Checksum-Type", c.algorithm.rawValue), ("X-Object-Meta-Dv-Checksum-Value", c.hex),
         ("X-Object-Meta-Dv-Datafile-Id", String(description.datafileId))]
    }

    // MARK: writing

    func write(_ chunk: UnsafeRawBufferPointer) throws(FileFailure) {
        if let expected = description.expectedSize, written + Int64(chunk.count) > expected {
            throw FileFailure(.failSourceChecksum, "the source holds more than the \(expected) bytes the catalog records; nothing was written under the final name")
        }
        switch mode {
        case .direct, .temporary:
            if !put!.write(chunk) { throw failure(of: put!, what: "PUT \(url(put!.path))") }
        case .buffered:
            if buffer.count + chunk.count > SwiftTarget.inMemoryLimit {
                // An unknown size that outgrew the buffer: a Static Large Object after all.
                guard target.cluster.hasSLO else {
                    throw FileFailure(.failWrite, "\(object) is larger than \(SwiftTarget.inMemoryLimit) bytes, its size is not in the catalog, and the cluster does not offer Static Large Objects (the slo middleware)")
                }
                mode = .segmented
                segmentSize = target.segmentSize
                let held = buffer
                buffer = []
                var failed: FileFailure? = nil
                held.withUnsafeBytes { b in
                    do throws(FileFailure) { try feedSegments(b) } catch { failed = error }
                }
                if let failed { throw failed }
                try feedSegments(chunk)
            } else {
                if buffer.isEmpty { buffer.reserveCapacity(Int(description.expectedSize ?? Int64(SwiftTarget.inMemoryLimit))) }
                buffer.append(contentsOf: chunk)
            }
        case .segmented:
            try feedSegments(chunk)
        }
        written += Int64(chunk.count)
    }

    /// Sends `bytes` into the current segment, starting a new one at each boundary.
    private func feedSegments(_ bytes: UnsafeRawBufferPointer) throws(FileFailure) {
        var offset = 0
        while offset < bytes.count {
            if current == nil { try startSegment() }
            let n = Int(min(Int64(bytes.count - offset), segmentSize - current!.bytes))
            guard current!.put.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])) else {
                throw failure(of: current!.put, what: "PUT \(url(current!.put.path))")
            }
            current!.bytes += Int64(n)
            offset += n
            if current!.bytes == segmentSize { endSegment() }
        }
    }

    private func startSegment() throws(FileFailure) {
        // A segment that already failed ends the copy now rather than after the last one.
        for s in segments where s.put.isFinished {
            if let f = segmentFailure(s.name, s.put.wait()) { throw f }
        }
        let index = segments.count
        guard index < target.cluster.maxManifestSegments else {
            throw FileFailure(.failWrite, "\(object) needs more than \(target.cluster.maxManifestSegments) segments of \(SizeParser.format(segmentSize))")
        }
        let name = SwiftLayout.segmentName(object: object, attempt: attempt, index: index)
        let put = StreamingPut(lane: session.lane(index), path: layout.segmentPath(name),
                               headers: [("Content-Type", "application/octet-stream")], hashing: true)
        current = (name, put, 0)
    }

    private func endSegment() {
        guard let c = current else { return }
        c.put.close()
        segments.append((c.name, c.put))
        current = nil
    }

    // MARK: proof

    func verify(algorithm: ChecksumAlgorithm, expectedHex: String) throws(FileFailure) -> String {
        checksum = checksum ?? (algorithm, expectedHex)
        switch mode {
        case .direct: return try verifyDirect(expectedHex: expectedHex)
        case .buffered: return try putBuffered(algorithm: algorithm, expectedHex: expectedHex)
        case .temporary: return try verifyTemporary()
        case .segmented: return try verifySegments()
        }
    }

    private func verifyDirect(expectedHex: String) throws(FileFailure) -> String {
        let put = put!
        put.close()
        let outcome = put.wait()
        let md5 = Self.catalogMD5(description)!
        let response = try answer(outcome, what: "PUT \(location)")
        if response.status == 422 {
            throw FileFailure(.failVerify, "Swift refused \(object) (422 Unprocessable Entity): the MD5 of the bytes it received differs from \(md5), the catalog MD5 sent as its ETag; nothing was stored, an earlier copy is untouched")
        }
        guard response.status == 201 else { throw writeFailure(response, "PUT \(location)", bodySent: outcome.bytes > 0) }
        published = true
        let etag = Self.normalizedETag(response.headers["Etag"])
        guard etag == md5, expectedHex == md5 else {
            throw FileFailure(.failVerify, "Swift stored \(object) with ETag \(etag ?? "(none)"), the MD5 of the bytes sent is \(expectedHex) (catalog \(md5))")
        }
        return "Swift ETag = MD5 sent (the catalog MD5, checked by Swift on arrival)"
    }

    private func putBuffered(algorithm: ChecksumAlgorithm, expectedHex: String) throws(FileFailure) -> String {
        let md5 = Digest.hex(.md5, of: buffer)
        let headers = [("Content-Type", "application/octet-stream"), ("ETag", md5)] + metadata((algorithm, expectedHex))
        let response = try request { () throws(SwiftRequestError) in
            try connection.send("PUT", layout.objectPath(object), headers: headers, body: buffer)
        }
        buffer = []
        if response.status == 422 {
            throw FileFailure(.failVerify, "Swift refused \(object) (422 Unprocessable Entity): the MD5 of the bytes it received differs from \(md5), the MD5 of the bytes sent; nothing was stored, an earlier copy is untouched")
        }
        guard response.status == 201 else { throw writeFailure(response, "PUT \(location)") }
        published = true
        let etag = Self.normalizedETag(response.headers["Etag"])
        guard etag == md5 else {
            throw FileFailure(.failVerify, "Swift stored \(object) with ETag \(etag ?? "(none)"), the MD5 of the bytes sent is \(md5)")
        }
        return "Swift ETag = MD5 sent (checked by Swift on arrival)"
    }

    private func verifyTemporary() throws(FileFailure) -> String {
        let put = put!
        put.close()
        let outcome = put.wait()
        let response = try answer(outcome, what: "PUT \(url(put.path))")
        guard response.status == 201 else { throw writeFailure(response, "PUT \(url(put.path))", bodySent: outcome.bytes > 0) }
        let etag = Self.normalizedETag(response.headers["Etag"])
        guard let md5 = outcome.md5, etag == md5 else {
            throw FileFailure(.failVerify, "Swift's ETag for \(object) is \(etag ?? "(none)"), the MD5 of the bytes sent is \(outcome.md5 ?? "?"); the copy was not put in place")
        }
        temporaryMD5 = md5
        return "Swift ETag = MD5 sent, copied into place by the cluster against that ETag"
    }

    private func verifySegments() throws(FileFailure) -> String {
        if current != nil { endSegment() }
        guard !segments.isEmpty else { throw FileFailure(.failWrite, "\(object): no bytes were sent") }
        var list: [SLOManifest.Segment] = []
        var failure: FileFailure? = nil
        for s in segments {
            let outcome = s.put.wait()
            if failure == nil, let f = segmentFailure(s.name, outcome) { failure = f }
            list.append(SLOManifest.Segment(path: layout.segmentReference(s.name), etag: outcome.md5 ?? "", size: outcome.bytes))
        }
        if let failure { throw failure }
        proven = list
        return "SLO: \(list.count) segment ETags = MD5s sent + manifest ETag"
    }

    /// Why a finished segment PUT does not count, or nil when its ETag is the MD5 sent.
    private func segmentFailure(_ name: String, _ outcome: StreamingPut.Outcome) -> FileFailure? {
        let what = "PUT \(url(layout.segmentPath(name)))"
        let response: HTTPResponse
        do throws(FileFailure) { response = try answer(outcome, what: what) } catch { return error }
        guard response.status == 201 else { return writeFailure(response, what, bodySent: outcome.bytes > 0) }
        let etag = Self.normalizedETag(response.headers["Etag"])
        guard let md5 = outcome.md5, etag == md5 else {
            return FileFailure(.failVerify, "Swift's ETag for segment \(name) is \(etag ?? "(none)"), the MD5 of the bytes sent is \(outcome.md5 ?? "?"); the copy was not published")
        }
        return nil
    }

    // MARK: publication

    func publish() throws(FileFailure) {
        switch mode {
        case .direct, .buffered:
            break
        case .temporary:
            try copyTemporaryIntoPlace()
        case .segmented:
            try putManifest()
        }
        stopped = true
        session.note(nil)
        // Files under the smallest segment size never had segments or temporary copies.
        if mode == .segmented || mode == .temporary || written >= SwiftSettings.minSegmentSize {
            removeLeftovers(keep: Set(proven.map(\.path)))
        }
    }

    private func copyTemporaryIntoPlace() throws(FileFailure) {
        let name = SwiftLayout.temporaryName(object: object, attempt: attempt)
        let md5 = temporaryMD5!
        let source = layout.containerPath(layout.segmentContainer) + "/" + URLEncoding.path(name)
        let headers = [("X-Copy-From", source), ("X-Fresh-Metadata", "true"), ("Content-Type", "application/octet-stream"),
                       ("ETag", md5)] + metadata(checksum!)
        let response = try request { () throws(SwiftRequestError) in
            try connection.send("PUT", layout.objectPath(object), headers: headers, body: [])
        }
        if response.status == 422 {
            throw FileFailure(.failVerify, "Swift refused to copy \(object) into place (422 Unprocessable Entity): the copy's MD5 differs from \(md5); an earlier copy is untouched")
        }
        guard response.status == 201 else { throw writeFailure(response, "PUT \(location) (copy from \(layout.segmentContainer)/\(name))") }
        published = true
        let etag = Self.normalizedETag(response.headers["Etag"])
        guard etag == md5 else {
            throw FileFailure(.failVerify, "Swift copied \(object) into place with ETag \(etag ?? "(none)"), the MD5 of the bytes sent is \(md5)")
        }
        deleteSegment(name)
    }

    private func putManifest() throws(FileFailure) {
        let etag = SLOManifest.etag(proven.map(\.etag))
        let headers = [("Content-Type", "application/octet-stream"), ("ETag", etag)] + metadata(checksum!)
        let body = SLOManifest.json(proven)
        let response = try request { () throws(SwiftRequestError) in
            try connection.send("PUT", layout.objectPath(object) + "?multipart-manifest=put", headers: headers, body: body)
        }
        if response.status == 422 {
            throw FileFailure(.failVerify, "Swift refused the manifest of \(object) (422 Unprocessable Entity): the ETag of the stored segments is not \(etag), the MD5 of the segment MD5s sent; an earlier copy is untouched")
        }
        if response.status == 400, response.bodyText.contains("Mismatch") {
            throw FileFailure(.failVerify, "Swift refused the manifest of \(object): its segments differ from what was sent (\(SwiftResponseText.summary(response.body))); an earlier copy is untouched")
        }
        guard response.status == 201 else { throw writeFailure(response, "PUT \(location)?multipart-manifest=put") }
        published = true
        let stored = Self.normalizedETag(response.headers["Etag"])
        guard stored == etag else {
            throw FileFailure(.failVerify, "Swift stored the manifest of \(object) with ETag \(stored ?? "(none)"), the segments sent give \(etag)")
        }
    }

    /// Deletes what earlier attempts left of this object in the segments container (crashed
    /// runs, an older copy's segments), keeping `keep` (the new manifest's segments). A
    /// failure is only logged: the copy is proven either way.
    private func removeLeftovers(keep: Set<String>) {
        let prefix = SwiftLayout.leftoverPrefix(object)
        var marker: String? = nil
        var removed = 0
        while true {
            var query = "?format=json&limit=1000&prefix=" + URLEncoding.queryComponent(prefix)
            if let marker { query += "&marker=" + URLEncoding.queryComponent(marker) }
            guard let r = try? connection.send("GET", layout.containerPath(layout.segmentContainer) + query) else {
                target.logger.warning("Swift: cannot list \(layout.segmentContainer) for leftovers of \(object)")
                return
            }
            if r.status == 404 || r.status == 204 { break }
            guard r.isSuccess, let names = SwiftListing.names(r.body) else {
                target.logger.warning("Swift: cannot list \(layout.segmentContainer) for leftovers of \(object): \(connection.explain(r, "GET"))")
                return
            }
            for name in names where SwiftLayout.isLeftover(name, of: object) && !keep.contains(layout.segmentReference(name)) {
                if deleteSegment(name) { removed += 1 }
            }
            guard names.count == 1000, let last = names.last else { break }
            marker = last
        }
        if removed > 0 {
            target.logger.info("Swift: removed \(removed) leftover segment(s) of \(object) from \(layout.segmentContainer)")
        }
    }

    @discardableResult
    private func deleteSegment(_ name: String) -> Bool {
        guard let r = try? connection.send("DELETE", layout.segmentPath(name)) else { return false }
        if r.isSuccess || r.status == 404 { return r.isSuccess }
        target.logger.warning("Swift: cannot delete \(layout.segmentContainer)/\(name): \(connection.explain(r, "DELETE"))")
        return false
    }

    // MARK: failure

    /// Stops sending and deletes what this attempt stored outside the final name (never the
    /// final name itself: a direct or buffered PUT that Swift refused stored nothing there).
    func abort() {
        guard !stopped else { return }
        stopped = true
        buffer = []
        var stored: [String] = []
        if let put {
            let outcome = put.isFinished ? put.wait() : put.abort()
            if mode == .temporary, case .success(let r) = outcome.result, r.isSuccess {
                stored.append(SwiftLayout.temporaryName(object: object, attempt: attempt))
            }
        }
        if let c = current {
            c.put.abort()
            current = nil
        }
        for s in segments {
            let outcome = s.put.isFinished ? s.put.wait() : s.put.abort()
            if case .success(let r) = outcome.result, r.isSuccess { stored.append(s.name) }
        }
        guard !published else { return }
        for name in stored { deleteSegment(name) }
        if !stored.isEmpty {
            target.logger.debug("Swift: deleted \(stored.count) segment(s) of the failed upload of \(object)")
        }
    }

    // MARK: helpers

    /// The response of a finished PUT, or the failure of the request.
    private func answer(_ outcome: StreamingPut.Outcome, what: String) throws(FileFailure) -> HTTPResponse {
        switch outcome.result {
        case .success(let r): return r
        case .failure(let e): throw noted(FileFailure(.failWrite, e.message, connectionLost: e.connectionLost))
        }
    }

    /// The failure of a PUT that stopped taking bytes.
    private func failure(of put: StreamingPut, what: String) -> FileFailure {
        let outcome = put.wait()
        switch outcome.result {
        case .failure(let e):
            return noted(FileFailure(.failWrite, e.message, connectionLost: e.connectionLost))
        case .success(let r):
            if r.status == 422 { return FileFailure(.failVerify, connection.explain(r, what)) }
            return writeFailure(r, what, bodySent: outcome.bytes > 0)
        }
    }

    private func request(_ body: () throws(SwiftRequestError) -> HTTPResponse) throws(FileFailure) -> HTTPResponse {
        do throws(SwiftRequestError) {
            return try body()
        } catch {
            throw noted(FileFailure(.failWrite, error.message, connectionLost: error.connectionLost))
        }
    }

    /// A request Swift refused. A server error after a streamed body was taken could not be
    /// retried in place: the file is sent again (`connectionLost`); one the request itself
    /// already retried through the delays is final.
    private func writeFailure(_ r: HTTPResponse, _ what: String, bodySent: Bool = false) -> FileFailure {
        noted(FileFailure(.failWrite, connection.explain(r, what), connectionLost: bodySent && SwiftConnection.isRetryable(r.status)))
    }

    /// The URL of an encoded path, without secrets.
    private func url(_ path: String) -> String {
        HTTPRequest.redacted((target.access.auth.storageURL ?? "") + path)
    }

    private func noted(_ f: FileFailure) -> FileFailure {
        session.note(f)
        return f
    }

    /// `"abc…"` and `abc…` both give `abc…` (an SLO's ETag is quoted).
    static func normalizedETag(_ value: String?) -> String? {
        guard var v = value?.trimmingWhitespace(), !v.isEmpty else { return nil }
        if v.hasPrefix("W/") { v.removeFirst(2) }
        if v.count >= 2, v.hasPrefix("\""), v.hasSuffix("\"") { v = String(v.dropFirst().dropLast()) }
        return v.lowercased()
    }
}
