import Foundation

/// A request body written by one thread (`write`, `close`) and pulled by libcurl's read
/// callback on another (`read`), through a few fixed-size buffers: the writer waits while
/// they are all full, so a body of any length takes at most `bufferCount × bufferSize` bytes.
///
/// `tap` sees every byte as it is handed to libcurl, in order, on the reading thread (an
/// upload hashes what it actually sends there).
///
/// `@unchecked Sendable`: the queues, flags and counters are accessed with `condition`
/// locked; a buffer is filled by the writer only after taking it from `free`, and read by the
/// reader only after taking it from `full`, so no buffer is touched by two threads at once.
public final class BodyPipe: @unchecked Sendable {
    /// The pipe was aborted: the read callback makes libcurl abandon the transfer.
    public struct Aborted: Error, CustomStringConvertible {
        public var description: String { "the upload was abandoned" }
    }

    private typealias Buffer = UnsafeMutableRawBufferPointer

    private let condition = NSCondition()
    public let bufferSize: Int
    public let bufferCount: Int
    private var allBuffers: [Buffer] = []
    private var free: [Buffer] = []
    private var full: [(buffer: Buffer, count: Int)] = []
    /// The buffer being read (reader only).
    private var current: (buffer: Buffer, count: Int, offset: Int)?
    private var closed = false
    private var aborted = false
    private var readerDone = false
    private var consumedBytes: Int64 = 0
    private var writtenBytes: Int64 = 0
    /// Writers waiting for a free buffer.
    private var blockedWriters = 0
    private let tap: (@Sendable (UnsafeRawBufferPointer) -> Void)?

    public init(bufferSize: Int = 1 << 20, bufferCount: Int = 4, tap: (@Sendable (UnsafeRawBufferPointer) -> Void)? = nil) {
        precondition(bufferSize > 0 && bufferCount > 0)
        self.bufferSize = bufferSize
        self.bufferCount = bufferCount
        self.tap = tap
    }

    deinit {
        for b in allBuffers { Self.unmap(b) }
    }

    /// Buffers are mapped and unmapped directly, so that memory goes back to the system as
    /// soon as an upload ends (malloc would keep 1 MiB blocks of finished uploads in its
    /// arenas, fragmented, and RSS would grow with every segment of a large object).
    private static func map(_ size: Int) -> Buffer {
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            fatalError("cannot map \(size) bytes for an upload buffer: \(errorText(errno))")
        }
        return Buffer(start: p, count: size)
    }

    private static func unmap(_ b: Buffer) {
        munmap(b.baseAddress, b.count)
    }

    // MARK: writer

    /// Copies `bytes` into the pipe, waiting for free buffers. Returns `false` when the
    /// reader will take no more (the transfer ended or the pipe was aborted).
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            condition.lock()
            while free.isEmpty, allBuffers.count >= bufferCount, !aborted, !readerDone {
                blockedWriters += 1
                condition.broadcast()  // for `waitForBlockedWriter`
                condition.wait()
                blockedWriters -= 1
            }
            if aborted || readerDone || closed {
                condition.unlock()
                return false
            }
            let buffer: Buffer
            if let b = free.popLast() {
                buffer = b
            } else {
                buffer = Self.map(bufferSize)
                allBuffers.append(buffer)
            }
            condition.unlock()
            let n = min(bufferSize, bytes.count - offset)
            buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            offset += n
            condition.lock()
            if readerDone {
                // The transfer ended while this buffer was being filled.
                release(buffer)
                condition.unlock()
                return false
            }
            full.append((buffer, n))
            writtenBytes += Int64(n)
            condition.broadcast()
            condition.unlock()
        }
        return true
    }

    /// The body is complete: the reader gets the end once it has read what is queued.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Abandons the body: a waiting or later `read` throws, so libcurl abandons the request
    /// and the server never sees a complete body.
    public func abort() {
        condition.lock()
        aborted = true
        condition.broadcast()
        condition.unlock()
    }

    /// Frees a buffer that is in no queue (with `condition` locked).
    private func release(_ buffer: Buffer) {
        if let i = allBuffers.firstIndex(where: { $0.baseAddress == buffer.baseAddress }) {
            allBuffers.remove(at: i)
        }
        Self.unmap(buffer)
    }

    // MARK: reader

    /// Fills `out` with the next bytes, waiting for the writer; returns 0 at the end of the
    /// body. Throws `Aborted` once the pipe is aborted.
    public func read(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        if current == nil {
            condition.lock()
            while full.isEmpty, !closed, !aborted { condition.wait() }
            if aborted {
                condition.unlock()
                throw Aborted()
            }
            if full.isEmpty {
                condition.unlock()
                return 0
            }
            let next = full.removeFirst()
            condition.unlock()
            current = (next.buffer, next.count, 0)
        }
        guard let c = current else { return 0 }
        let n = min(out.count, c.count - c.offset)
        out.baseAddress!.copyMemory(from: c.buffer.baseAddress! + c.offset, byteCount: n)
        tap?(UnsafeRawBufferPointer(start: c.buffer.baseAddress! + c.offset, count: n))
        condition.lock()
        consumedBytes += Int64(n)
        if c.offset + n == c.count {
            free.append(c.buffer)
            current = nil
            condition.broadcast()
        } else {
            current = (c.buffer, c.count, c.offset + n)
        }
        condition.unlock()
        return n
    }

    /// The transfer that read the pipe has ended: writes fail from now on, and the buffers
    /// are freed (a finished upload keeps no memory while it waits to be looked at).
    public func readerFinished() {
        condition.lock()
        readerDone = true
        for b in free { release(b) }
        for f in full { release(f.buffer) }
        if let c = current { release(c.buffer) }
        free = []
        full = []
        current = nil
        condition.broadcast()
        condition.unlock()
    }

    /// Bytes handed to the transfer so far.
    public var consumed: Int64 {
        condition.lock()
        defer { condition.unlock() }
        return consumedBytes
    }

    /// Bytes accepted from the writer so far.
    public var written: Int64 {
        condition.lock()
        defer { condition.unlock() }
        return writtenBytes
    }

    /// Waits until a writer waits for a free buffer (every buffer is full and unread): the
    /// handshake a test uses before ending the transfer under it. False after `timeout` s.
    func waitForBlockedWriter(timeout: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while blockedWriters == 0 {
            if !condition.wait(until: deadline) { return blockedWriters > 0 }
        }
        return true
    }

    /// Buffers allocated so far (never more than `bufferCount`).
    public var allocatedBuffers: Int {
        condition.lock()
        defer { condition.unlock() }
        return allBuffers.count
    }
}
