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

/// One worker's writer of copies into the directory.
final class LocalSession: TargetSession {
    let root: String
    /// Directories known to exist, so each is created or checked once per session.
    private var knownDirectories: Set<String> = []

    init(root: String) { self.root = root }

    func beginUpload(relativePath: String) throws(FileFailure) -> any TargetUpload {
        let path = try PartialCopyPath(root: root, relativePath: relativePath)
        try ensureDirectory(path)
        return try LocalUpload(path)
    }

    private func ensureDirectory(_ copy: PartialCopyPath) throws(FileFailure) {
        if knownDirectories.contains(copy.directory) { return }
        // mkdir -p below the root, one component at a time; the root itself must exist.
        var path = root
        for component in copy.directoriesBelowRoot {
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
