import Foundation
import Synchronization
import Testing

@testable import DVBackup

/// A lane that writes into a shared in-memory file at the offsets it is given, optionally
/// failing at its n-th write.
final class MemoryLane: UploadLane, @unchecked Sendable {
    let file: Mutex<[UInt8]>
    let failAt: Int?
    private var writes = 0
    private(set) var closed = false

    init(size: Int, failAt: Int? = nil) {
        self.file = Mutex([UInt8](repeating: 0, count: size))
        self.failAt = failAt
    }

    func write(_ chunk: UnsafeRawBufferPointer, at offset: UInt64) throws(FileFailure) {
        writes += 1
        if let failAt, writes == failAt { throw FileFailure(.failWrite, "lane lost its connection", connectionLost: true) }
        file.withLock { bytes in
            for (i, b) in chunk.enumerated() { bytes[Int(offset) + i] = b }
        }
    }

    func close() throws(FileFailure) { closed = true }
}

@Suite struct LaneWriterTests {
    @Test(arguments: [1, 3, 4])
    func chunksLandAtTheirOffsetsWhateverTheLane(laneCount: Int) throws {
        let size = 10 * 4096 + 123
        let source = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let lanes = (0..<laneCount).map { _ in MemoryLane(size: size) }
        let writer = LaneWriter(lanes: lanes, chunkSize: 4096)
        var offset = 0
        try source.withUnsafeBytes { raw in
            while offset < size {
                let n = min(4096, size - offset)
                try writer.write(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)]))
                offset += n
            }
        }
        try writer.finish()
        // Each lane saw only its own chunks; together they hold the whole file.
        var assembled = [UInt8](repeating: 0, count: size)
        for lane in lanes {
            #expect(lane.closed)
            let bytes = lane.file.withLock { $0 }
            for i in 0..<size where bytes[i] != 0 { assembled[i] = bytes[i] }
        }
        let zeroPositions = source.indices.filter { source[$0] == 0 }
        for i in zeroPositions { assembled[i] = 0 }
        #expect(assembled == source)
    }

    @Test func aFailingLaneStopsTheCopyWithItsError() throws {
        let size = 64 * 1024
        let source = [UInt8](repeating: 9, count: size)
        let lanes = [MemoryLane(size: size), MemoryLane(size: size, failAt: 2)]
        let writer = LaneWriter(lanes: lanes, chunkSize: 1024)
        var thrown: FileFailure? = nil
        source.withUnsafeBytes { raw in
            var offset = 0
            while offset < size {
                do throws(FileFailure) {
                    try writer.write(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + 1024)]))
                } catch {
                    thrown = error
                    break
                }
                offset += 1024
            }
        }
        do throws(FileFailure) {
            try writer.finish()
        } catch {
            thrown = thrown ?? error
        }
        let failure = try #require(thrown)
        #expect(failure.status == .failWrite)
        #expect(failure.reason == "lane lost its connection")
        #expect(failure.connectionLost, "a lost connection is worth another try of the whole file")
        #expect(lanes.allSatisfy { $0.closed })
    }
}

@Suite struct WrittenPrefixTests {
    /// Lane threads finish chunks in any order; the prefix they complete must still be
    /// reported in strictly increasing order, ending at the whole copy, even when a report
    /// takes time (a slow report must not let a smaller one overtake a larger one).
    @Test func reportsAreStrictlyIncreasingUnderManyThreads() {
        let total: UInt64 = 4000
        let threads = 8
        let reports = Mutex<[UInt64]>([])
        let prefix = WrittenPrefix { blocks in
            // Every few reports are slow, as a report that sends a message over SSH can be.
            if blocks % 5 == 0 { usleep(200) }
            reports.withLock { $0.append(blocks) }
        }
        let workers = (0..<threads).map { t in
            WorkerThread(name: "prefix-\(t)") {
                // Thread t writes chunks t, t + threads, t + 2 × threads, …
                for index in stride(from: UInt64(t), to: total, by: threads) { prefix.written(index) }
            }
        }
        workers.forEach { $0.join() }
        let seen = reports.withLock { $0 }
        #expect(seen.last == total)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 < $1 }, "reports out of order: \(seen.count) reports")
    }
}

@Suite struct BlockAnnouncerTests {
    /// The lanes' progress sink of the SFTP target is called from every lane thread: the
    /// counts it passes to the server's hashing program must still be strictly increasing,
    /// one at least every `step` blocks, ending at the whole copy.
    @Test func countsStayInOrderUnderConcurrentReports() {
        let blockSize = 1 << 20
        let total: UInt64 = 3000
        let announcer = BlockAnnouncer(blockSize: blockSize, expectedBytes: Int64(total) * Int64(blockSize))
        let received = Mutex<[UInt64]>([])
        let reader = WorkerThread(name: "announcements") {
            while let n = announcer.announcements.take() {
                if n % 3 == 0 { usleep(100) }  // a slow link to the server
                received.withLock { $0.append(n) }
            }
        }
        let threads = 6
        let reporters = (0..<threads).map { t in
            WorkerThread(name: "reporter-\(t)") {
                for blocks in stride(from: UInt64(t + 1), through: total, by: threads) { announcer.written(blocks: blocks) }
            }
        }
        reporters.forEach { $0.join() }
        announcer.finish()
        reader.join()
        let counts = received.withLock { $0 }
        #expect(counts.last == total)
        #expect(zip(counts, counts.dropFirst()).allSatisfy { $0 < $1 }, "out of order: \(counts)")
        #expect(counts.count >= Int(total / announcer.step), "a count at least every \(announcer.step) blocks")
    }
}
