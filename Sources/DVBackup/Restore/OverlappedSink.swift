import Synchronization

/// Hashes and writes a large file's bytes on a thread of its own while the reader fetches the
/// next ones: on a target read as fast as the network allows (SFTP's decryption, curl's
/// receive), the digest and the destination's write no longer wait for it, nor it for them.
/// Bytes are gathered into `count` buffers of `bufferSize` bytes handed back and forth, so
/// memory is those buffers whatever the file's size. A failure of the destination is seen
/// at the next `write` (which then throws it) and at `finish`.
///
/// `@unchecked Sendable`: the digest and the sink are used by the writing thread only between
/// `init` and the end of `finish` (which joins it), by the caller only after.
final class OverlappedSink: @unchecked Sendable {
    /// The digest and the sink, handed to the writing thread (see the type's note).
    private struct Owned: @unchecked Sendable {
        let digest: Digest
        let sink: any RestoreSink
    }

    private struct Chunk: @unchecked Sendable {
        let buffer: UnsafeMutableRawBufferPointer
        var count: Int
    }

    /// Files from this size on are worth a second thread.
    static let threshold: Int64 = 8 << 20

    private let full: BlockingQueue<Chunk>
    private let free: BlockingQueue<Chunk>
    private let buffers: [UnsafeMutableRawBufferPointer]
    private var current: Chunk?
    /// What the writing thread reports; `failure` is set before `failed`, read after it.
    private final class Outcome: @unchecked Sendable {
        let failed = Atomic<Bool>(false)
        var failure: ReadFailure?
    }

    private let outcome = Outcome()
    private var thread: WorkerThread?

    init(digest: Digest, sink: any RestoreSink, bufferSize: Int = 1 << 20, count: Int = 3) {
        full = BlockingQueue(capacity: count)
        free = BlockingQueue(capacity: count)
        buffers = (0..<count).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: SafeFileWriter.directAlignment) }
        for b in buffers { free.put(Chunk(buffer: b, count: 0)) }
        let full = self.full, free = self.free, owned = Owned(digest: digest, sink: sink), outcome = self.outcome
        thread = WorkerThread(name: "dvbackup-restore-write") {
            let digest = owned.digest, sink = owned.sink
            while let chunk = full.take() {
                if !outcome.failed.load(ordering: .acquiring) {
                    let bytes = UnsafeRawBufferPointer(rebasing: chunk.buffer[0..<chunk.count])
                    digest.update(bytes)
                    do throws(ReadFailure) { try sink.write(bytes) } catch {
                        outcome.failure = error
                        outcome.failed.store(true, ordering: .releasing)
                    }
                }
                free.put(Chunk(buffer: chunk.buffer, count: 0))
            }
        }
    }

    deinit {
        full.close()
        thread?.join()
        for b in buffers { b.deallocate() }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(ReadFailure) {
        var offset = 0
        while offset < bytes.count {
            if outcome.failed.load(ordering: .acquiring) { throw outcome.failure ?? .destination("the destination failed") }
            if current == nil { current = free.take() }
            guard var chunk = current else { throw .destination("the writing thread stopped") }
            let n = min(bytes.count - offset, chunk.buffer.count - chunk.count)
            chunk.buffer.baseAddress!.advanced(by: chunk.count).copyMemory(from: bytes.baseAddress!.advanced(by: offset), byteCount: n)
            chunk.count += n
            offset += n
            if chunk.count == chunk.buffer.count {
                full.put(chunk)
                current = nil
            } else {
                current = chunk
            }
        }
    }

    /// Hands over what is left and waits until every byte was hashed and written.
    func finish() throws(ReadFailure) {
        if let chunk = current, chunk.count > 0 { full.put(chunk) }
        current = nil
        full.close()
        thread?.join()
        thread = nil
        if let failure = outcome.failure { throw failure }
    }
}
