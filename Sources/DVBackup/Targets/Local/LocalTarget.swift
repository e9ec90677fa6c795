import Foundation

/// A backup directory on a local disk or an NFS mount (StorageType `local`).
///
/// Each copy is written to `.<datafile id>.dvbackup-partial` in its final directory, fsynced,
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
        switch Self.directoryError(root) {
        case 0: break
        case ENOTDIR: throw TargetUnavailable("backup directory \(root) is not a directory")
        case let e: throw TargetUnavailable("backup directory \(root) is not usable: \(errorText(e)) (dvbackup does not create it: if it is a mount point, is the file system mounted?)")
        }
        let probe = root + "/.dvbackup-probe-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw TargetUnavailable("backup directory \(root) is not writable: \(errorText(errno))")
        }
        close(fd)
        unlink(probe)
    }

    /// 0 when `path` is a directory (symbolic links followed), else the errno that says why
    /// not (ENOTDIR: something else is there). Opened rather than stat'ed: `struct stat` is
    /// ambiguous to the compiler beside libssh2's headers.
    static func directoryError(_ path: String) -> Int32 {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        close(fd)
        return 0
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
        try begin(PartialCopyPath(root: root, relativePath: relativePath))
    }

    func beginUpload(_ description: UploadDescription) throws(FileFailure) -> any TargetUpload {
        try begin(PartialCopyPath(root: root, relativePath: description.relativePath, datafileId: description.datafileId))
    }

    private func begin(_ path: PartialCopyPath) throws(FileFailure) -> any TargetUpload {
        try ensureDirectory(path)
        let upload = try LocalUpload(path)
        // A partial copy of this file an earlier version left under its old temporary name.
        if let legacy = path.legacyTemporaryPath { unlink(legacy) }
        return upload
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
                guard e == EEXIST, LocalTarget.directoryError(path) == 0 else {
                    throw FileFailure(.failWrite, "cannot create directory \(path): \(errorText(e == EEXIST ? ENOTDIR : e))")
                }
            }
            knownDirectories.insert(path)
        }
    }
}
