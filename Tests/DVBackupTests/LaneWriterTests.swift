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
