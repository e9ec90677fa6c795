import Foundation
import Testing
@testable import DVBackup

/// A large file's bytes are hashed and written on a second thread: every byte arrives once,
/// in order, whatever the size of the pieces the reader hands over; a destination that fails
/// stops the reader at its next piece, with the destination's reason.
@Suite struct OverlappedSinkTests {
    final class Collecting: RestoreSink {
        var bytes: [UInt8] = []
        var failAfter: Int? = nil
        var location: String { "memory" }
        func write(_ chunk: UnsafeRawBufferPointer) throws(ReadFailure) {
            if let limit = failAfter, bytes.count + chunk.count > limit { throw .destination("disk full after \(bytes.count) bytes") }
            bytes += chunk
        }
        func commit() throws(ReadFailure) {}
        func abort() {}
    }

    @Test(arguments: [1, 4096, 65_537, 3 << 20])
    func everyByteIsHashedAndWrittenOnceInOrder(piece: Int) throws {
        let source = (0..<(5 << 20) + 123).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        let sink = Collecting()
        let digest = Digest(.sha256)
        let overlapped = OverlappedSink(digest: digest, sink: sink, bufferSize: 1 << 20, count: 3)
        let all = UnsafeMutableRawBufferPointer.allocate(byteCount: source.count, alignment: 1)
        defer { all.deallocate() }
        all.copyBytes(from: source)
        var offset = 0
        while offset < all.count {
            let n = min(piece == 1 ? 1_000_003 : piece, all.count - offset)
            try overlapped.write(UnsafeRawBufferPointer(rebasing: all[offset..<offset + n]))
            offset += n
        }
        try overlapped.finish()
        #expect(sink.bytes == source)
        let direct = Digest(.sha256)
        direct.update(source)
        #expect(digest.finalizeHex() == direct.finalizeHex())
    }

    @Test func aFailingDestinationStopsTheReaderWithItsReason() throws {
        let sink = Collecting()
        sink.failAfter = 2 << 20
        let overlapped = OverlappedSink(digest: Digest(.md5), sink: sink, bufferSize: 1 << 20, count: 3)
        let piece = [UInt8](repeating: 7, count: 1 << 20)
        var thrown: ReadFailure? = nil
        do throws(ReadFailure) {
            for _ in 0..<100 {
                let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: piece.count, alignment: 1)
                defer { copy.deallocate() }
                copy.copyBytes(from: piece)
                try overlapped.write(UnsafeRawBufferPointer(copy))
            }
            try overlapped.finish()
        } catch {
            thrown = error
        }
        #expect(thrown == .destination("disk full after 2097152 bytes"))
        #expect(sink.bytes.count == 2 << 20, "nothing written after the failure")
    }
}
