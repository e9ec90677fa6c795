import Foundation

/// A digest fed chunk by chunk: `begin(chunk)` starts hashing it, `end()` returns when it is
/// hashed (the caller may then reuse the chunk's memory), `finish()` gives the hex digest.
enum DigestHandle {
    case inline(Digest)
    case parallel(ParallelDigest)

    static func inline(_ algorithm: ChecksumAlgorithm) -> DigestHandle { .inline(Digest(algorithm)) }
    static func parallel(_ algorithm: ChecksumAlgorithm) -> DigestHandle { .parallel(ParallelDigest(algorithm)) }

    func begin(_ chunk: UnsafeRawBufferPointer) {
        switch self {
        case .inline(let d): d.update(chunk)
        case .parallel(let p): p.begin(chunk)
        }
    }

    func end() {
        if case .parallel(let p) = self { p.end() }
    }

    func finish() -> String {
        switch self {
        case .inline(let d): d.finalizeHex()
        case .parallel(let p): p.finish()
        }
    }
}

/// Hashes on its own thread: while the sending thread writes a chunk to the target, this
/// thread hashes the same (read-only) chunk. The chunk must stay valid from `begin` to `end`.
///
/// `@unchecked Sendable`: the chunk pointer and the result cross threads only through the
/// two semaphores, which order every access.
final class ParallelDigest: @unchecked Sendable {
    private let work = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private var chunk: UnsafeRawBufferPointer?
    private var finished = false
    private var result = ""

    init(_ algorithm: ChecksumAlgorithm) {
        let box = self
        _ = WorkerThread(name: "dvbackup-hash") {
            let digest = Digest(algorithm)
            while true {
                box.work.wait()
                if box.finished {
                    box.result = digest.finalizeHex()
                    box.done.signal()
                    return
                }
                digest.update(box.chunk!)
                box.done.signal()
            }
        }
    }

    func begin(_ chunk: UnsafeRawBufferPointer) {
        self.chunk = chunk
        work.signal()
    }

    func end() {
        done.wait()
        chunk = nil
    }

    func finish() -> String {
        finished = true
        work.signal()
        done.wait()
        return result
    }
}
