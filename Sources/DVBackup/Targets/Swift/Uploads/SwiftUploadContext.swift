import Foundation
import Logging

/// What every upload shape of one copy shares: the object's names, the bytes counted against
/// the catalog size, the metadata, the proof of what Swift answered, and the removal of what
/// the attempt stored outside the final name. Each shape (`SwiftUpload.Mode`) holds one; an
/// in-memory upload that outgrows its buffer hands it to the Static Large Object it becomes.
///
/// Not `Sendable`: used by the worker's thread only (the lanes report through `StreamingPut`).
final class SwiftUploadContext {
    unowned let session: SwiftSession
    let description: UploadDescription
    let object: String
    /// This attempt's id, in the names of its segments and temporary copy.
    let attempt: String
    /// The object's URL, as the status database records it.
    let location: String
    /// Bytes taken from the source so far.
    private(set) var written: Int64 = 0
    /// The checksum the copy carries as metadata: the catalog's, or the one proven.
    var checksum: (algorithm: ChecksumAlgorithm, hex: String)?
    /// Swift made the copy visible under its final name (an abort then deletes nothing there).
    private(set) var published = false
    /// Published or aborted: nothing more is sent.
    var stopped = false

    init(session: SwiftSession, description: UploadDescription) {
        self.session = session
        self.description = description
        object = description.relativePath
        attempt = SwiftLayout.newAttemptId()
        location = session.target.objectURL(object)
    }

    var target: SwiftTarget { session.target }
    var layout: SwiftLayout { session.target.layout }
    var connection: SwiftConnection { session.connection }
    var logger: Logger { session.target.logger }

    /// The object metadata that lets an audit prove the copy with a HEAD.
    func metadata(_ c: (algorithm: ChecksumAlgorithm, hex: String)) -> [(name: String, value: String)] {
        [("X-Object-Meta-Dv-Checksum-Type", c.algorithm.rawValue), ("X-Object-Meta-Dv-Checksum-Value", c.hex),
         ("X-Object-Meta-Dv-Datafile-Id", String(description.datafileId))]
    }

    static let octetStream = (name: "Content-Type", value: "application/octet-stream")

    // MARK: writing

    /// Hands `chunk` to `send` and counts it; refuses a source that holds more than the
    /// catalog says before any of its extra bytes is sent.
    func write(_ chunk: UnsafeRawBufferPointer, _ send: (UnsafeRawBufferPointer) throws(FileFailure) -> Void) throws(FileFailure) {
        if let expected = description.expectedSize, written + Int64(chunk.count) > expected {
            throw FileFailure(.failSourceChecksum, "the source holds more than the \(expected) bytes the catalog records; nothing was written under the final name")
        }
        try send(chunk)
        written += Int64(chunk.count)
    }

    /// A streamed PUT of `path` on lane `lane`; with `hashing`, it computes the MD5 of what it
    /// sends.
    func streamingPut(lane: Int, path: String, headers: [(name: String, value: String)] = [octetStream],
                      hashing: Bool = true) -> StreamingPut {
        StreamingPut(lane: session.lane(lane), path: path, headers: headers, hashing: hashing)
    }

    /// `write` for an upload that streams the whole copy through one PUT.
    func write(_ chunk: UnsafeRawBufferPointer, into put: StreamingPut) throws(FileFailure) {
        try write(chunk) { bytes throws(FileFailure) in try send(bytes, into: put) }
    }

    /// Sends `chunk` into `put`; the request's failure when it stopped taking bytes.
    func send(_ chunk: UnsafeRawBufferPointer, into put: StreamingPut) throws(FileFailure) {
        if !put.write(chunk) { throw failure(of: put, what: "PUT \(url(put.path))") }
    }

    /// A request answered without streaming (a body in memory, a copy, a manifest).
    func request(_ body: () throws(SwiftRequestError) -> HTTPResponse) throws(FileFailure) -> HTTPResponse {
        do throws(SwiftRequestError) {
            return try body()
        } catch {
            throw noted(FileFailure(.failWrite, error.message, connectionLost: error.connectionLost))
        }
    }

    // MARK: proof

    /// Proves a PUT that makes the copy visible under its final name. Swift stores such an
    /// object only if what it received matches the ETag sent (`refused`: what its 422 means);
    /// the ETag it answers must then be `expected` (`differs`: the message, given that ETag).
    func proveVisible(_ response: HTTPResponse, expected: String, what: String, bodySent: Bool = false,
                      refused: String, differs: (String) -> String, alsoRequires: Bool = true) throws(FileFailure) {
        if response.status == 422 { throw FileFailure(.failVerify, refused) }
        guard response.status == 201 else { throw writeFailure(response, what, bodySent: bodySent) }
        published = true
        let etag = SwiftUpload.normalizedETag(response.headers["Etag"])
        guard etag == expected, alsoRequires else { throw FileFailure(.failVerify, differs(etag ?? "(none)")) }
    }

    /// Proves a streamed PUT outside the final name (a segment, a temporary copy): its ETag
    /// must be the MD5 of the bytes sent. Returns that MD5.
    func proveStreamed(_ outcome: StreamingPut.Outcome, what: String, subject: String, otherwise: String) throws(FileFailure) -> String {
        let response = try answer(outcome)
        guard response.status == 201 else { throw writeFailure(response, what, bodySent: outcome.bytes > 0) }
        let etag = SwiftUpload.normalizedETag(response.headers["Etag"])
        guard let md5 = outcome.md5, etag == md5 else {
            throw FileFailure(.failVerify, "Swift's ETag for \(subject) is \(etag ?? "(none)"), the MD5 of the bytes sent is \(outcome.md5 ?? "?"); \(otherwise)")
        }
        return md5
    }

    // MARK: the end

    /// The copy is visible: counts the success and removes what earlier attempts left under
    /// the object's prefix, keeping `keep`. Files under the smallest segment size never had
    /// segments or temporary copies, unless this upload made some (`madeSome`).
    func finishPublication(madeSome: Bool, keep: Set<String> = []) {
        stopped = true
        session.note(nil)
        if madeSome || written >= SwiftSettings.minSegmentSize {
            removeLeftovers(keep: keep)
        }
    }

    /// Ends `put`: waits for a finished one, abandons one still sending. Whether it stored
    /// its object.
    @discardableResult
    func stop(_ put: StreamingPut) -> Bool {
        let outcome = put.isFinished ? put.wait() : put.abort()
        if case .success(let r) = outcome.result { return r.isSuccess }
        return false
    }

    /// Deletes the objects this attempt stored in the segments container, unless the copy
    /// was published (then there is nothing of the attempt to remove).
    func discard(_ stored: [String]) {
        guard !published else { return }
        for name in stored { deleteSegment(name) }
        if !stored.isEmpty {
            logger.debug("Swift: deleted \(stored.count) segment(s) of the failed upload of \(object)")
        }
    }

    // MARK: failures

    /// The response of a finished PUT, or the failure of the request.
    func answer(_ outcome: StreamingPut.Outcome) throws(FileFailure) -> HTTPResponse {
        switch outcome.result {
        case .success(let r): return r
        case .failure(let e): throw noted(FileFailure(.failWrite, e.message, connectionLost: e.connectionLost))
        }
    }

    /// The failure of a PUT that stopped taking bytes.
    func failure(of put: StreamingPut, what: String) -> FileFailure {
        let outcome = put.wait()
        switch outcome.result {
        case .failure(let e):
            return noted(FileFailure(.failWrite, e.message, connectionLost: e.connectionLost))
        case .success(let r):
            if r.status == 422 { return FileFailure(.failVerify, connection.explain(r, what)) }
            return writeFailure(r, what, bodySent: outcome.bytes > 0)
        }
    }

    /// A request Swift refused. A server error after a streamed body was taken could not be
    /// retried in place: the file is sent again (`connectionLost`); one the request itself
    /// already retried through the delays is final.
    func writeFailure(_ r: HTTPResponse, _ what: String, bodySent: Bool = false) -> FileFailure {
        noted(FileFailure(.failWrite, connection.explain(r, what), connectionLost: bodySent && SwiftConnection.isRetryable(r.status)))
    }

    /// The URL of an encoded path, without secrets.
    func url(_ path: String) -> String {
        Redaction.url((target.access.auth.storageURL ?? "") + path)
    }

    func noted(_ f: FileFailure) -> FileFailure {
        session.note(f)
        return f
    }
}

/// An upload in one of the shapes of `SwiftUpload.Mode`, built on its context.
protocol SwiftShapedUpload: TargetUpload {
    var context: SwiftUploadContext { get }
}

extension SwiftShapedUpload {
    var location: String { context.location }
}
