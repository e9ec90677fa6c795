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

    /// Creates the missing directories below `base` (`relative` is checked to stay inside it).
    init(base: String, relative: String, createDirectories: Bool = true) throws(ReadFailure) {
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
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .destination("cannot create \(temporaryPath): \(errorText(errno))") }
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
        if let e = writeAll(fd, chunk) {
            throw .destination("cannot write \(temporaryPath): \(errorText(e))")
        }
        written += Int64(chunk.count)
        if written - writebackStarted >= Self.writebackStep {
            // A failure here is seen by the fsync in `commit`.
            _ = posix_fadvise(fd, off_t(writebackStarted), off_t(written - writebackStarted), POSIX_FADV_DONTNEED)
            writebackStarted = written
        }
    }

    /// Flushes the file, renames it over the final name, flushes the directory.
    func commit() throws(ReadFailure) {
        guard fsync(fd) == 0 else { throw .destination("cannot flush \(temporaryPath) to disk: \(errorText(errno))") }
        let rc = close(fd)
        fd = -1
        guard rc == 0 else { throw .destination("cannot close \(temporaryPath): \(errorText(errno))") }
        guard rename(temporaryPath, finalPath) == 0 else {
            let e = errno
            unlink(temporaryPath)
            throw .destination("cannot rename \(temporaryPath) to \(finalPath): \(errorText(e))")
        }
        if let e = syncDirectory(directory) {
            throw .destination("cannot flush directory \(directory) after renaming: \(errorText(e))")
        }
    }

    /// Removes the temporary (nothing when committed).
    func abort() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        unlink(temporaryPath)
    }
}
