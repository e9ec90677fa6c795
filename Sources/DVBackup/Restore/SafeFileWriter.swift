import Foundation

/// Writes one file into a local directory the way a copy is written: under a temporary name
/// beside the final one (`.<name>.dvbackup-restore-<pid>`), then flushed (the file, then the
/// directory, after the rename) and renamed over the final name. Nothing appears under the
/// final name unless `commit` is reached; `abort` removes the temporary.
final class SafeFileWriter {
    let finalPath: String
    let temporaryPath: String
    let directory: String
    private var fd: Int32
    private(set) var written: Int64 = 0
    /// Whether writes go past the page cache (`O_DIRECT`, see `init`).
    private(set) var direct: Bool

    /// The alignment `O_DIRECT` writes keep (address, length and offset).
    static let directAlignment = 4096

    /// Linux's `O_DIRECT` (Glibc's module leaves it out: it needs `_GNU_SOURCE`); 0 where it
    /// is not known, and files are then written through the page cache.
    #if os(Linux) && (arch(x86_64) || arch(i386))
    static let oDirect: Int32 = 0o40000
    #elseif os(Linux) && arch(arm64)
    static let oDirect: Int32 = 0o200000
    #else
    static let oDirect: Int32 = 0
    #endif

    /// Creates the missing directories below `base` (`relative` is checked to stay inside it).
    ///
    /// `direct`: a large file is written past the page cache (`O_DIRECT`) while its chunks are
    /// whole aligned blocks (`OverlappedSink`'s buffers): copying a restore into the page cache
    /// cost about 2 s of system CPU per GiB on the bench's host, against 0.1 s written direct.
    /// Where the file system refuses `O_DIRECT`, or at the first chunk that is not aligned (the
    /// last one), the file goes on through the page cache; `commit` flushes it either way.
    init(base: String, relative: String, createDirectories: Bool = true, direct: Bool = false) throws(ReadFailure) {
        if let problem = PathSafety.problem(in: relative, what: "destination path") { throw .destination(problem) }
        finalPath = base + "/" + relative
        let slash = finalPath.lastIndex(of: "/")!
        directory = String(finalPath[..<slash])
        let name = finalPath[finalPath.index(after: slash)...]
        temporaryPath = directory + "/." + name + ".dvbackup-restore-\(getpid())"
        if createDirectories {
            var path = base
            for component in relative.split(separator: "/").dropLast() {
                path += "/" + component
                if mkdir(path, 0o755) != 0, errno != EEXIST {
                    throw .destination("cannot create directory \(path): \(errorText(errno))")
                }
            }
        }
        let flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
        fd = direct && Self.oDirect != 0 ? open(temporaryPath, flags | Self.oDirect, 0o644) : -1
        self.direct = fd >= 0
        if fd < 0 { fd = open(temporaryPath, flags, 0o644) }
        guard fd >= 0 else { throw .destination("cannot create \(temporaryPath): \(errorText(errno))") }
    }

    /// Goes on through the page cache.
    private func leaveDirect() {
        direct = false
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~Self.oDirect) }
    }

    /// Writes `chunk` past the page cache where it is aligned; returns how many of its bytes
    /// went (the rest goes through the page cache, where the file then stays: a chunk that is
    /// not aligned, a file system that refuses the write, a short write).
    private func writeDirect(_ chunk: UnsafeRawBufferPointer) throws(ReadFailure) -> Int {
        guard direct else { return 0 }
        let a = Self.directAlignment
        guard chunk.count % a == 0, Int(bitPattern: chunk.baseAddress) % a == 0, written % Int64(a) == 0 else {
            leaveDirect()
            return 0
        }
        var n: Int
        repeat { n = Foundation.write(fd, chunk.baseAddress!, chunk.count) } while n < 0 && errno == EINTR
        if n == chunk.count { return n }
        let e = errno
        leaveDirect()
        if n < 0, e != EINVAL { throw .destination("cannot write \(temporaryPath): \(errorText(e))") }
        return max(0, n)
    }

    deinit { abort() }

    /// Bytes whose write-back to disk was started (see `write`).
    private var writebackStarted: Int64 = 0
    static let writebackStep: Int64 = 8 << 20

    /// Writes `chunk`; every `writebackStep` bytes, the disk write of what came before is
    /// started without waiting (`POSIX_FADV_DONTNEED` starts the write-back of the range's
    /// dirty pages, and lets go of those already on disk), so that the flush in `commit` finds
    /// little left to do instead of a whole large file (0.4-0.5 s per GiB on the bench's disk).
    func write(_ chunk: UnsafeRawBufferPointer) throws(ReadFailure) {
        let done = try writeDirect(chunk)
        if done < chunk.count, let e = writeAll(fd, UnsafeRawBufferPointer(rebasing: chunk[done...])) {
            throw .destination("cannot write \(temporaryPath): \(errorText(e))")
        }
        written += Int64(chunk.count)
        if !direct, written - writebackStarted >= Self.writebackStep {
            // A failure here is seen by the fsync in `commit`.
            _ = posix_fadvise(fd, off_t(writebackStarted), off_t(written - writebackStarted), POSIX_FADV_DONTNEED)
            writebackStarted = written
        }
    }

    /// Flushes the file, renames it over the final name, flushes the directory.
    func commit() throws(ReadFailure) {
        try flushAndRename()
        if let e = syncDirectory(directory) {
            throw .destination("cannot flush directory \(directory) after renaming: \(errorText(e))")
        }
    }

    /// Flushes the file to disk, closes it and renames it over the final name (the directory
    /// is flushed by the caller).
    private func flushAndRename() throws(ReadFailure) {
        guard fsync(fd) == 0 else { throw .destination("cannot flush \(temporaryPath) to disk: \(errorText(errno))") }
        let rc = close(fd)
        fd = -1
        guard rc == 0 else {
            unlink(temporaryPath)
            throw .destination("cannot close \(temporaryPath): \(errorText(errno))")
        }
        guard rename(temporaryPath, finalPath) == 0 else {
            let e = errno
            unlink(temporaryPath)
            throw .destination("cannot rename \(temporaryPath) to \(finalPath): \(errorText(e))")
        }
    }

    /// Commits several files as `commit` commits one, with the same guarantee for each
    /// (flushed before it is renamed, its directory flushed after), but together: the disk
    /// write of every file is started first, then each is flushed and renamed, then each
    /// directory is flushed once. A flush costs a journal commit; for many small files, one
    /// at a time, those commits are most of a restore's time. Returns each file's failure
    /// (nil: committed); a file that failed is removed, the others are not affected.
    static func commitAll(_ writers: [SafeFileWriter]) -> [ReadFailure?] {
        for w in writers where w.fd >= 0 { _ = posix_fadvise(w.fd, 0, 0, POSIX_FADV_DONTNEED) }
        var failures: [ReadFailure?] = writers.map { (w) -> ReadFailure? in
            do throws(ReadFailure) { try w.flushAndRename() } catch { return error }
            return nil
        }
        // Each directory once: its error number, 0 where it was flushed.
        var flushed: [String: Int32] = [:]
        for (i, w) in writers.enumerated() where failures[i] == nil {
            let e = flushed[w.directory] ?? (syncDirectory(w.directory) ?? 0)
            flushed[w.directory] = e
            if e != 0 { failures[i] = .destination("cannot flush directory \(w.directory) after renaming: \(errorText(e))") }
        }
        return failures
    }

    /// Removes the temporary (nothing when committed).
    func abort() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        unlink(temporaryPath)
    }
}
