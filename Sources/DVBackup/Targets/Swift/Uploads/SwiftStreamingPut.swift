import Foundation

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
                    try connection.send(.put, path, headers: headers, pipe: pipe)
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

