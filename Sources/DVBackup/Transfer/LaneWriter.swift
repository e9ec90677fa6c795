import Foundation
import Synchronization

/// Writes one large copy through several lanes (connections) at once. The caller's thread
/// reads the source once, hashes it and hands each chunk, copied into a pooled buffer, to a
/// lane thread that writes it at its offset. Memory: `2 × lanes` buffers of the chunk size.
final class LaneWriter {
    /// A pooled buffer. `@unchecked Sendable`: a buffer belongs to one thread at a time,
    /// handed over through the queues.
    struct Buffer: @unchecked Sendable {
        let memory: UnsafeMutableRawBufferPointer
    }

    struct Chunk: Sendable {
        let buffer: Buffer
        let count: Int
        let offset: UInt64
        let index: UInt64
    }

    private let pool: BlockingQueue<Buffer>
    private let queues: [BlockingQueue<Chunk>]
    private var threads: [WorkerThread] = []
    private let failure = FirstFailure()
    private let buffers: [Buffer]
    private var offset: UInt64 = 0
    private var next = 0
    private var chunks: UInt64 = 0

    private let prefix: WrittenPrefix

    /// `onPrefix(blocks)` is called as the copy's first `blocks` chunks are all written.
    init(lanes: [any UploadLane], chunkSize: Int, onPrefix: @escaping @Sendable (UInt64) -> Void = { _ in }) {
        prefix = WrittenPrefix(onPrefix)
        let prefix = self.prefix
        let count = lanes.count * 2
        buffers = (0..<count).map { _ in Buffer(memory: .allocate(byteCount: chunkSize, alignment: 4096)) }
        pool = BlockingQueue(capacity: count)
        for b in buffers { pool.put(b) }
        queues = lanes.map { _ in BlockingQueue<Chunk>(capacity: 2) }
        for (i, lane) in lanes.enumerated() {
            let queue = queues[i]
            let pool = self.pool
            let failure = self.failure
            let box = SendableBox(lane)  // handed to its thread, which alone uses it from now on
            threads.append(WorkerThread(name: "dvbackup-lane-\(i)") {
                let lane = box.value
                var failed = false
                while let chunk = queue.take() {
                    if !failed {
                        do throws(FileFailure) {
                            try lane.write(UnsafeRawBufferPointer(rebasing: chunk.buffer.memory[0..<chunk.count]), at: chunk.offset)
                            prefix.written(chunk.index)
                        } catch {
                            failed = true
                            failure.record(error)
                        }
                    }
                    pool.put(chunk.buffer)
                }
                do throws(FileFailure) { try lane.close() } catch { failure.record(error) }
            })
        }
    }

    deinit {
        for b in buffers { b.memory.deallocate() }
    }

    /// Hands a chunk to the next lane; throws the first lane's failure.
    func write(_ chunk: UnsafeRawBufferPointer) throws(FileFailure) {
        if let f = failure.value { throw f }
        guard let buffer = pool.take() else { throw FileFailure(.failWrite, "the lanes were closed") }
        buffer.memory.copyMemory(from: chunk)
        queues[next].put(Chunk(buffer: buffer, count: chunk.count, offset: offset, index: chunks))
        next = (next + 1) % queues.count
        offset += UInt64(chunk.count)
        chunks += 1
    }

    /// Waits until every chunk is written and the lanes are closed.
    func finish() throws(FileFailure) {
        queues.forEach { $0.close() }
        threads.forEach { $0.join() }
        if let f = failure.value { throw f }
    }
}

/// The first failure recorded by any of several threads.
final class FirstFailure: Sendable {
    private let state = Mutex<FileFailure?>(nil)
    func record(_ f: FileFailure) { state.withLock { $0 = $0 ?? f } }
    var value: FileFailure? { state.withLock { $0 } }
}

/// The longest run of chunks 0, 1, 2, … that are all written, reported as it grows, from
/// whichever lane thread completes it.
///
/// Reports are strictly increasing (`LaneProgress` promises it): each is delivered under a
/// lock of its own, and a run that a faster thread has already outgrown is not reported.
/// The lock of the written chunks is not held while reporting, so that lanes keep
/// recording while a report is slow.
final class WrittenPrefix: Sendable {
    private let state = Mutex<(frontier: UInt64, done: Set<UInt64>)>((0, []))
    /// The largest run reported so far.
    private let reported = Mutex<UInt64>(0)
    private let report: @Sendable (UInt64) -> Void

    init(_ report: @escaping @Sendable (UInt64) -> Void) { self.report = report }

    func written(_ index: UInt64) {
        let advanced: UInt64? = state.withLock { s in
            s.done.insert(index)
            let before = s.frontier
            while s.done.remove(s.frontier) != nil { s.frontier += 1 }
            return s.frontier > before ? s.frontier : nil
        }
        guard let advanced else { return }
        reported.withLock { last in
            guard advanced > last else { return }
            last = advanced
            report(advanced)
        }
    }
}
