import Foundation

/// One connection that fetches chunks of a large copy at their offsets for `ReadLanes`.
/// Used by one lane thread only.
protocol ReadLane: AnyObject {
    /// Fills `buffer` with the copy's bytes from `offset`; returns how many it holds, fewer
    /// than asked only where the copy ends. A lost connection is `.cut`.
    func fetch(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(ReadFailure) -> Int
}

/// Reads one large copy through several lanes (connections) at once and delivers its bytes
/// in order on the calling thread, as one stream (the `TargetReader.read` contract).
///
/// The copy is cut into chunks; each lane thread claims the next chunk not yet claimed,
/// fetches it into a free buffer of a fixed pool and hands it back; the caller delivers the
/// chunks in their order and gives each buffer back to the pool. The pool is the window:
/// no lane is ever more than `buffers` chunks ahead of delivery, and memory is the pool
/// whatever the copy's size. A chunk shorter than asked is where the copy ends. The first
/// failure, of a lane or of the sink, stops every lane; every lane thread is joined before
/// `read` returns or throws.
struct ReadLanes {
    let chunkSize: Int
    let buffers: Int

    /// Reads `total` bytes (or up to where the copy ends) through `lanes` into `sink`;
    /// returns the bytes delivered.
    func read(_ lanes: [any ReadLane], total: Int64,
              into sink: (UnsafeRawBufferPointer) throws(ReadFailure) -> Void) throws(ReadFailure) -> Int64 {
        let memory = (0..<buffers).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096) }
        defer { for m in memory { m.deallocate() } }
        let pool = SendableBox(memory)
        let window = ReadWindow(total: total, chunkSize: chunkSize, buffers: buffers)
        let threads = lanes.enumerated().map { i, lane in
            let box = SendableBox(lane)  // handed to its thread, which alone uses it from now on
            return WorkerThread(name: "dvbackup-read-lane-\(i)") {
                let lane = box.value
                while let job = window.claim() {
                    let buffer = UnsafeMutableRawBufferPointer(rebasing: pool.value[job.buffer][0..<job.length])
                    do throws(ReadFailure) {
                        window.fill(job, count: try lane.fetch(into: buffer, at: job.offset))
                    } catch {
                        window.fail(error)
                        return
                    }
                }
            }
        }
        defer {
            window.stop()
            for t in threads { t.join() }
        }
        var delivered: Int64 = 0
        while let (job, count) = try window.nextReady() {
            try sink(UnsafeRawBufferPointer(rebasing: memory[job.buffer][0..<count]))
            delivered += Int64(count)
            window.release(job)
            if count < job.length { break }  // the copy ends here
        }
        return delivered
    }
}

/// The schedule of `ReadLanes`, without threads or memory of its own: which chunk a lane
/// fetches next, into which buffer of the pool, and which chunk is delivered next.
/// `@unchecked Sendable`: every field is read and written with `condition` locked.
final class ReadWindow: @unchecked Sendable {
    struct Job: Sendable, Equatable {
        let index: Int
        let offset: UInt64
        let length: Int
        /// Which buffer of the pool the chunk goes to.
        let buffer: Int
    }

    private let condition = NSCondition()
    private let total: Int64
    private let chunkSize: Int
    private let chunks: Int
    private var freeBuffers: [Int]
    private var claimed = 0
    private var delivering = 0
    private var filled: [Int: (Job, Int)] = [:]
    private var failure: ReadFailure?
    private var stopped = false
    /// The most chunks ever claimed and not yet delivered (tests read it).
    private(set) var mostAhead = 0

    init(total: Int64, chunkSize: Int, buffers: Int) {
        precondition(chunkSize > 0 && buffers > 0)
        self.total = max(0, total)
        self.chunkSize = chunkSize
        chunks = Int((self.total + Int64(chunkSize) - 1) / Int64(chunkSize))
        freeBuffers = Array((0..<buffers).reversed())
    }

    /// A lane's next chunk, with a buffer of its own; waits while every buffer is taken.
    /// nil once every chunk is claimed, or the read stopped.
    func claim() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while !stopped, claimed < chunks, freeBuffers.isEmpty { condition.wait() }
        guard !stopped, claimed < chunks else { return nil }
        let offset = Int64(claimed) * Int64(chunkSize)
        let job = Job(index: claimed, offset: UInt64(offset), length: Int(min(Int64(chunkSize), total - offset)),
                      buffer: freeBuffers.removeLast())
        claimed += 1
        mostAhead = max(mostAhead, claimed - delivering)
        return job
    }

    /// A lane fetched `count` bytes of `job`.
    func fill(_ job: Job, count: Int) {
        condition.lock()
        filled[job.index] = (job, count)
        condition.broadcast()
        condition.unlock()
    }

    /// A lane failed: the read stops, and the first failure is what it throws.
    func fail(_ f: ReadFailure) {
        condition.lock()
        if failure == nil { failure = f }
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next chunk in order and how many bytes it holds, once fetched; nil past the last.
    /// Throws a lane's failure.
    func nextReady() throws(ReadFailure) -> (Job, Int)? {
        condition.lock()
        defer { condition.unlock() }
        while failure == nil, !stopped, delivering < chunks, filled[delivering] == nil { condition.wait() }
        if let failure { throw failure }
        guard !stopped, delivering < chunks, let ready = filled.removeValue(forKey: delivering) else { return nil }
        return ready
    }

    /// `job` was delivered: its buffer goes back to the pool.
    func release(_ job: Job) {
        condition.lock()
        delivering = job.index + 1
        freeBuffers.append(job.buffer)
        condition.broadcast()
        condition.unlock()
    }

    /// No more chunks are claimed; lanes waiting for a buffer return.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }
}
