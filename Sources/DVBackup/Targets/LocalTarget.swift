import Foundation

/// A backup directory on a local disk or an NFS mount (StorageType `local`).
///
/// Each copy is written to `.<name>.dvbackup-partial` in its final directory, fsynced,
/// dropped from the page cache and read back to be hashed, and only then renamed over
/// `<name>`; the directory is fsynced after the rename. A crash leaves at most a partial
/// file under the hidden temporary name, which the next copy of the same file overwrites.
public struct LocalTarget: BackupTarget {
    public let root: String
    public var method: String { "local" }
    public var displayName: String { "directory \(root)" }

    public init(root: String) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    public func checkUsable() throws(TargetUnavailable) {
        var st = stat()
        guard stat(root, &st) == 0 else {
            throw TargetUnavailable("backup directory \(root) is not usable: \(errorText(errno)) (dvbackup does not create it: if it is a mount point, is the file system mounted?)")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw TargetUnavailable("backup directory \(root) is not a directory")
        }
        let probe = root + "/.dvbackup-probe-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw TargetUnavailable("backup directory \(root) is not writable: \(errorText(errno))")
        }
        close(fd)
        unlink(probe)
    }

    public func makeSession() throws(TargetUnavailable) -> any TargetSession {
        LocalSession(root: root)
    }
}

final class LocalSession: TargetSession {
    let root: String
    /// Directories known to exist, so each is created or checked once per session.
    private var knownDirectories: Set<String> = []

    init(root: String) { self.root = root }

    func beginUpload(relativePath: String) throws(FileFailure) -> any TargetUpload {
        if let problem = PathSafety.problem(in: relativePath, what: "target path") {
            throw FileFailure(.failWrite, problem)
        }
        let finalPath = root + "/" + relativePath
        let slash = finalPath.lastIndex(of: "/")!
        let directory = String(finalPath[..<slash])
        let name = String(finalPath[finalPath.index(after: slash)...])
        try ensureDirectory(directory)
        return try LocalUpload(directory: directory, name: name)
    }

    private func ensureDirectory(_ directory: String) throws(FileFailure) {
        if knownDirectories.contains(directory) { return }
        // mkdir -p below the root, one component at a time; the root itself must exist.
        let relative = directory.dropFirst(root.count + 1)
        var path = root
        for component in relative.split(separator: "/") {
            path += "/" + component
            if knownDirectories.contains(path) { continue }
            if mkdir(path, 0o755) != 0 {
                let e = errno
                var st = stat()
                guard e == EEXIST, stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                    throw FileFailure(.failWrite, "cannot create directory \(path): \(errorText(e == EEXIST ? ENOTDIR : e))")
                }
            }
            knownDirectories.insert(path)
        }
    }
}

final class LocalUpload: TargetUpload {
    let directory: String
    let name: String
    let finalPath: String
    let temporaryPath: String
    private var fd: Int32
    private var written: Int64 = 0

    var location: String { finalPath }

    init(directory: String, name: String) throws(FileFailure) {
        self.directory = directory
        self.name = name
        finalPath = directory + "/" + name
        temporaryPath = directory + "/." + name + ".dvbackup-partial"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FileFailure(.failWrite, "cannot create \(temporaryPath): \(errorText(errno))")
        }
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    func write(_ chunk: UnsafeRawBufferPointer) throws(FileFailure) {
        var offset = 0
        while offset < chunk.count {
            let n = Foundation.write(fd, chunk.baseAddress! + offset, chunk.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileFailure(.failWrite, "cannot write \(temporaryPath): \(errorText(errno))")
            }
            offset += n
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
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            let rc = fsync(dfd)
            let e = errno
            close(dfd)
            // Some file systems (NFS with some servers) refuse fsync on a directory.
            if rc != 0, e != EINVAL, e != EBADF {
                throw FileFailure(.failWrite, "cannot flush directory \(directory) after renaming \(name): \(errorText(e))")
            }
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
