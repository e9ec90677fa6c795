import Foundation
import Synchronization
import Testing

@testable import DVBackup

/// What the lanes of one read share: the copy's bytes, how many chunks the sink has been
/// handed, and what the lanes saw.
final class ReadLaneSharedState: Sendable {
    let source: [UInt8]
    let chunkSize: Int
    let delivered = Atomic<Int>(0)
    let mostAhead = Atomic<Int>(0)
    let busy = Atomic<Int>(0)
    let fetches = Atomic<Int>(0)

    init(source: [UInt8], chunkSize: Int) {
        self.source = source
        self.chunkSize = chunkSize
    }
}

/// A lane over an in-memory copy, slow by a random few hundred microseconds per chunk,
/// optionally failing at its n-th fetch.
final class MemoryReadLane: ReadLane, @unchecked Sendable {
    let shared: ReadLaneSharedState
    let failAt: Int?
    private var fetches = 0

    init(_ shared: ReadLaneSharedState, failAt: Int? = nil) {
        self.shared = shared
        self.failAt = failAt
    }

    func fetch(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(ReadFailure) -> Int {
        shared.busy.add(1, ordering: .sequentiallyConsistent)
        defer { shared.busy.subtract(1, ordering: .sequentiallyConsistent) }
        shared.fetches.add(1, ordering: .sequentiallyConsistent)
        fetches += 1
        let ahead = Int(offset) / shared.chunkSize - shared.delivered.load(ordering: .sequentiallyConsistent)
        shared.mostAhead.store(max(shared.mostAhead.load(ordering: .sequentiallyConsistent), ahead), ordering: .sequentiallyConsistent)
        usleep(UInt32.random(in: 50...400))
        if let failAt, fetches == failAt { throw .cut("lane lost its connection at \(offset)") }
        let start = min(Int(offset), shared.source.count)
        let n = min(buffer.count, shared.source.count - start)
        shared.source.withUnsafeBytes { raw in
            buffer.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: n)
        }
        return n
    }
}

@Suite struct ReadLanesTests {
    static func source(_ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) } }

    /// Reads through `lanes` with a sink that keeps the bytes and counts the chunks handed.
    static func read(_ lanes: [MemoryReadLane], _ shared: ReadLaneSharedState, total: Int64, buffers: Int,
                     sinkFailsAt: Int? = nil) -> (bytes: [UInt8], result: Result<Int64, ReadFailure>) {
        var out: [UInt8] = []
        var calls = 0
        let result = Result { () throws(ReadFailure) -> Int64 in
            try ReadLanes(chunkSize: shared.chunkSize, buffers: buffers).read(lanes, total: total) { (chunk) throws(ReadFailure) in
                calls += 1
                if let sinkFailsAt, calls == sinkFailsAt { throw .destination("the disk is full") }
                out += chunk
                shared.delivered.add(1, ordering: .sequentiallyConsistent)
            }
        }
        return (out, result)
    }

    @Test(arguments: [1, 2, 3, 4])
    func bytesArriveInOrderAndTheLanesStayWithinTheWindow(laneCount: Int) throws {
        let size = 37 * 1000 + 123
        let shared = ReadLaneSharedState(source: Self.source(size), chunkSize: 1000)
        let lanes = (0..<laneCount).map { _ in MemoryReadLane(shared) }
        let buffers = 2 * laneCount
        // One byte more than the copy: the last chunk comes back short, where the copy ends.
        let (bytes, result) = Self.read(lanes, shared, total: Int64(size) + 1, buffers: buffers)
        #expect(try result.get() == Int64(size))
        #expect(bytes == shared.source)
        #expect(shared.mostAhead.load(ordering: .sequentiallyConsistent) < buffers,
                "a lane fetched a chunk more than \(buffers) chunks ahead of delivery")
        #expect(shared.busy.load(ordering: .sequentiallyConsistent) == 0)
    }

    @Test func aLongerCopyIsReadOnlyAsFarAsAsked() throws {
        let shared = ReadLaneSharedState(source: Self.source(10_000), chunkSize: 1000)
        let (bytes, result) = Self.read([MemoryReadLane(shared), MemoryReadLane(shared)], shared, total: 5001, buffers: 4)
        #expect(try result.get() == 5001)
        #expect(bytes == Array(shared.source[0..<5001]))
    }

    @Test func aShorterCopyEndsWhereItEnds() throws {
        let shared = ReadLaneSharedState(source: Self.source(4321), chunkSize: 1000)
        let (bytes, result) = Self.read([MemoryReadLane(shared), MemoryReadLane(shared)], shared, total: 20_001, buffers: 4)
        #expect(try result.get() == 4321)
        #expect(bytes == shared.source)
        // The lanes were stopped: at most the window's chunks were fetched, not all 21.
        #expect(shared.fetches.load(ordering: .sequentiallyConsistent) <= 5 + 4)
    }

    @Test func aLostLaneStopsTheReadWithItsFailureAndEveryLaneEnds() throws {
        let shared = ReadLaneSharedState(source: Self.source(50_000), chunkSize: 1000)
        let lanes = [MemoryReadLane(shared), MemoryReadLane(shared, failAt: 3), MemoryReadLane(shared)]
        let (bytes, result) = Self.read(lanes, shared, total: 50_001, buffers: 6)
        guard case .failure(.cut(let why)) = result else { Issue.record("expected .cut, got \(result)"); return }
        #expect(why.hasPrefix("lane lost its connection"))
        #expect(bytes.count < 50_000)
        #expect(shared.busy.load(ordering: .sequentiallyConsistent) == 0, "a lane still fetching after the read ended")
        let fetched = shared.fetches.load(ordering: .sequentiallyConsistent)
        usleep(20_000)
        #expect(shared.fetches.load(ordering: .sequentiallyConsistent) == fetched, "a lane fetched after the read ended")
    }

    @Test func aFailingSinkStopsTheLanes() throws {
        let shared = ReadLaneSharedState(source: Self.source(50_000), chunkSize: 1000)
        let (bytes, result) = Self.read([MemoryReadLane(shared), MemoryReadLane(shared)], shared, total: 50_001, buffers: 4,
                                        sinkFailsAt: 3)
        #expect(result == .failure(.destination("the disk is full")))
        #expect(bytes == Array(shared.source[0..<2000]))
        #expect(shared.fetches.load(ordering: .sequentiallyConsistent) <= 2 + 4 + 1)
        #expect(shared.busy.load(ordering: .sequentiallyConsistent) == 0)
    }

    @Test func theWindowHandsOutChunksInOrderAndWaitsForAFreeBuffer() throws {
        let window = ReadWindow(total: 2500, chunkSize: 1000, buffers: 2)
        let a = try #require(window.claim())
        let b = try #require(window.claim())
        #expect((a.index, a.offset, a.length) == (0, 0, 1000))
        #expect((b.index, b.offset, b.length) == (1, 1000, 1000))
        #expect(a.buffer != b.buffer)
        // A third claim waits until the first chunk is delivered and its buffer is free.
        let third = Mutex<ReadWindow.Job?>(nil)
        let claimer = WorkerThread(name: "test-claim") {
            let job = window.claim()
            third.withLock { $0 = job }
        }
        window.fill(b, count: 1000)
        usleep(50_000)
        #expect(third.withLock { $0 } == nil, "a chunk was claimed with no buffer free")
        window.fill(a, count: 1000)
        let first = try #require(try window.nextReady())
        #expect(first.0 == a)
        window.release(a)
        claimer.join()
        let c = try #require(third.withLock { $0 })
        #expect((c.index, c.offset, c.length, c.buffer) == (2, 2000, 500, a.buffer))
        #expect(try window.nextReady()?.0 == b)
        window.release(b)
        #expect(window.claim() == nil, "every chunk is claimed")
        window.fill(c, count: 500)
        #expect(try window.nextReady()?.1 == 500)
        window.release(c)
        #expect(try window.nextReady() == nil)
    }

    @Test func eachReadStaysWithinTheChunkItFetches() {
        // libssh2 keeps four times the asked size in flight: never past what the chunk lacks.
        for lacking in [1, 3, 4, 5, 30_000, 1 << 20, 2 << 20, 9 << 20, 64 << 20] {
            let want = SFTPReadLane.requestSize(lacking: lacking)
            #expect(want >= 1 && want <= SFTPReader.bufferSize)
            #expect(lacking < 4 || want * 4 <= lacking, "\(lacking): \(want)")
        }
    }
}
