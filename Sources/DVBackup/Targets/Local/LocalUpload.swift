import Foundation

/// A copy being written to a local directory: written to its partial name, fsynced, read
/// back from the storage and hashed, then renamed over the final name.
final class LocalUpload: TargetUpload {
    let directory: String
    let name: String
    let finalPath: String
    let temporaryPath: String
    private var fd: Int32
    private var written: Int64 = 0

    var location: String { finalPath }

    init(_ path: PartialCopyPath) throws(FileFailure) {
        directory = path.directory
        name = path.name
        finalPath = path.finalPath
        temporaryPath = path.temporaryPath
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FileFailure(.failWrite, "cannot create \(temporaryPath): \(errorText(errno))")
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws(FileFailure) {
        if let e = writeAll(fd, chunk) {
            throw FileFailure(.failWrite, "cannot write \(temporaryPath): \(errorText(e))")
        }
        written += Int64(chunk.count)
    }

    func verify(algorithm: ChecksumAlgorithm, expectedHex: String) throws(FileFailure) -> String {
        guard fsync(fd) == 0 else {
            throw FileFailure(.failWrite, "cannot flush \(temporaryPath) to disk: \(errorText(errno))")
        }
        guard close(fd) == 0 else {
            fd = -1
            throw FileFailure(.failWrite, "cannot close \(temporaryPath): \(errorText(errno))")
        }
        fd = -1
        // Read the copy back from the storage, not from the page cache where possible.
        let rfd = open(temporaryPath, O_RDONLY | O_CLOEXEC)
        guard rfd >= 0 else {
            throw FileFailure(.failVerify, "cannot reopen \(temporaryPath) to verify it: \(errorText(errno))")
        }
        defer { close(rfd) }
        _ = posix_fadvise(rfd, 0, 0, POSIX_FADV_DONTNEED)
        let digest = Digest(algorithm)
        var total: Int64 = 0
        if let e = readToEnd(rfd, { chunk in
            digest.update(chunk)
            total += Int64(chunk.count)
        }) {
            throw FileFailure(.failVerify, "cannot read back \(temporaryPath): \(errorText(e))")
        }
        let actual = digest.finalizeHex()
        guard total == written else {
            throw FileFailure(.failVerify, "the copy \(temporaryPath) holds \(total) bytes, \(written) were written")
        }
        guard actual == expectedHex else {
            throw FileFailure(.failVerify, "the copy read back has \(algorithm.rawValue) \(actual), the bytes sent had \(expectedHex)")
        }
        return "read back, \(algorithm.rawValue) matches"
    }

    func publish() throws(FileFailure) {
        guard rename(temporaryPath, finalPath) == 0 else {
            throw FileFailure(.failWrite, "cannot rename \(temporaryPath) to \(name): \(errorText(errno))")
        }
        if let e = syncDirectory(directory) {
            throw FileFailure(.failWrite, "cannot flush directory \(directory) after renaming \(name): \(errorText(e))")
        }
    }

    func abort() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        unlink(temporaryPath)
    }
}
