import Foundation

/// Reads `fd` from its current offset to the end, handing each chunk (at most `chunkSize`
/// bytes, one reused buffer) to `body`; an interrupted read is retried.
///
/// - Returns: `nil` at the end of the file, or the `errno` of a read that failed.
func readToEnd<E: Error>(_ fd: Int32, chunkSize: Int = FileStore.chunkSize,
                         _ body: (UnsafeRawBufferPointer) throws(E) -> Void) throws(E) -> Int32? {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)
    defer { buffer.deallocate() }
    while true {
        let n = read(fd, buffer.baseAddress, buffer.count)
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        if n == 0 { return nil }
        try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }
}

/// Writes all of `chunk` to `fd` at its current offset; an interrupted write is retried.
///
/// - Returns: `nil` when every byte is written, or the `errno` of a write that failed.
func writeAll(_ fd: Int32, _ chunk: UnsafeRawBufferPointer) -> Int32? {
    var offset = 0
    while offset < chunk.count {
        let n = write(fd, chunk.baseAddress! + offset, chunk.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        offset += n
    }
    return nil
}

/// Flushes a directory's entries (after a rename into it). A file system that refuses
/// fsync on a directory (NFS with some servers: EINVAL, EBADF) is no error.
///
/// - Returns: `nil` when flushed (or refused as above, or the directory cannot be opened),
///   or the `errno` of the fsync that failed.
func syncDirectory(_ path: String) -> Int32? {
    let dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard dfd >= 0 else { return nil }
    defer { close(dfd) }
    guard fsync(dfd) != 0 else { return nil }
    let e = errno
    return e == EINVAL || e == EBADF ? nil : e
}

/// `strerror` as a Swift string.
func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
