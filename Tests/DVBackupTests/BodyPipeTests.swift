import Foundation
import Synchronization
import Testing
@testable import DVBackup

/// The bounded pipe between a thread that writes a request body and libcurl's read callback.
@Suite struct BodyPipeTests {
    /// Reads the pipe to its end on another thread, in reads of `readSize`.
    final class Reader: @unchecked Sendable {
        var bytes: [UInt8] = []
        var error: (any Error)?
        let done = DispatchSemaphore(value: 0)

        init(_ pipe: BodyPipe, readSize: Int, delayMicroseconds: UInt32 = 0) {
            _ = WorkerThread(name: "reader") { [self] in
                let out = UnsafeMutableRawBufferPointer.allocate(byteCount: readSize, alignment: 1)
                defer { out.deallocate() }
                do {
                    while true {
                        let n = try pipe.read(into: out)
                        if n == 0 { break }
                        bytes.append(contentsOf: out[0..<n])
                        if delayMicroseconds > 0 { usleep(delayMicroseconds) }
                    }
                } catch {
                    self.error = error
                }
                pipe.readerFinished()
                done.signal()
            }
        }
    }

    @Test func everyByteArrivesInOrderAndTheTapSeesWhatWasRead() throws {
        let tapped = Mutex<[UInt8]>([])
        let pipe = BodyPipe(bufferSize: 1000, bufferCount: 3) { b in tapped.withLock { $0.append(contentsOf: b) } }
        let data = sampleBytes(123_457)
        let reader = Reader(pipe, readSize: 777)
        var offset = 0
        while offset < data.count {
            let n = min(4_321, data.count - offset)
            #expect(data.withUnsafeBytes { pipe.write(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + n)])) })
            offset += n
        }
        pipe.close()
        reader.done.wait()
        #expect(reader.error == nil)
        #expect(reader.bytes == data)
        #expect(tapped.withLock { $0 } == data)
        #expect(pipe.consumed == Int64(data.count))
        #expect(pipe.written == Int64(data.count))
        #expect(pipe.allocatedBuffers == 0, "a finished pipe holds no buffers")
    }

    @Test func aSlowReaderHoldsTheWriterAtTheBufferLimit() {
        let pipe = BodyPipe(bufferSize: 4096, bufferCount: 2)
        let reader = Reader(pipe, readSize: 4096, delayMicroseconds: 2000)
        let data = sampleBytes(4096 * 40)
        var peak = 0
        for start in stride(from: 0, to: data.count, by: 4096) {
            _ = data.withUnsafeBytes { pipe.write(UnsafeRawBufferPointer(rebasing: $0[start..<(start + 4096)])) }
            peak = max(peak, pipe.allocatedBuffers)
        }
        pipe.close()
        reader.done.wait()
        #expect(peak <= 2, "never more than bufferCount buffers")
        #expect(reader.bytes == data)
    }

    @Test func abortMakesTheReaderThrowAndTheWriterStop() {
        let pipe = BodyPipe(bufferSize: 1024, bufferCount: 2)
        let reader = Reader(pipe, readSize: 512, delayMicroseconds: 1000)
        let chunk = sampleBytes(1024)
        _ = chunk.withUnsafeBytes { pipe.write($0) }
        pipe.abort()
        reader.done.wait()
        #expect(reader.error is BodyPipe.Aborted)
        #expect(!chunk.withUnsafeBytes { pipe.write($0) }, "nothing more is taken")
    }

    @Test func aTransferThatEndedEarlyReleasesAWaitingWriter() {
        let pipe = BodyPipe(bufferSize: 1024, bufferCount: 1)
        let chunk = sampleBytes(1024)
        #expect(chunk.withUnsafeBytes { pipe.write($0) })
        // The writer now waits for a free buffer; the transfer ends without reading (a 401
        // before the body): the write returns false instead of waiting forever.
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Bool?>(nil)
        _ = WorkerThread(name: "writer") {
            let ok = chunk.withUnsafeBytes { pipe.write($0) }
            result.withLock { $0 = ok }
            done.signal()
        }
        #expect(pipe.waitForBlockedWriter(timeout: 10), "the second write waits for the only buffer")
        pipe.readerFinished()
        #expect(done.wait(timeout: .now() + 10) == .success, "the waiting writer is released")
        #expect(result.withLock { $0 } == false)
        #expect(pipe.consumed == 0, "nothing was taken: the body may be sent again")
        #expect(pipe.allocatedBuffers == 0)
    }

    @Test func anEmptyBodyEndsAtOnce() throws {
        let pipe = BodyPipe()
        pipe.close()
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 16, alignment: 1)
        defer { out.deallocate() }
        #expect(try pipe.read(into: out) == 0)
    }
}
