import Foundation

extension LocalTarget: ReadableTarget {
    /// A reader of the backup directory; the directory must exist and be readable (it need
    /// not be writable: a backup mounted read-only can be restored from).
    public func makeReader() throws(TargetUnavailable) -> any TargetReader {
        try checkRoot(readable: true)
        return LocalReader(root: root)
    }

    /// The backup directory must exist and be a directory (the prover's and the reader's check;
    /// nothing is written to it); with `readable`, one whose entries can be read.
    func checkRoot(readable: Bool) throws(TargetUnavailable) {
        var st = stat()
        guard stat(root, &st) == 0 else {
            throw TargetUnavailable("backup directory \(root) is not usable: \(errorText(errno)) (if it is a mount point, is the file system mounted?)")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw TargetUnavailable("backup directory \(root) is not a directory") }
        guard !readable || access(root, R_OK | X_OK) == 0 else {
            throw TargetUnavailable("backup directory \(root) is not readable: \(errorText(errno))")
        }
    }
}

/// Reads copies out of a local backup directory with plain reads, and walks it.
final class LocalReader: TargetReader {
    let root: String

    init(root: String) { self.root = root }

    func read(_ copy: CopyReference, into sink: (UnsafeRawBufferPointer) throws(ReadFailure) -> Void) throws(ReadFailure) {
        if let problem = PathSafety.problem(in: copy.relativePath, what: "copy path") { throw .unreadable(problem) }
        let path = root + "/" + copy.relativePath
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT || e == ENOTDIR { throw .missing("no copy at \(path)") }
            throw .unreadable("cannot open \(path): \(errorText(e))")
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG { throw .unreadable("\(path) is not a regular file") }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        if let e = try readToEnd(fd, sink) { throw .unreadable("cannot read \(path): \(errorText(e))") }
    }

    func list(_ visit: (TargetEntry) throws(ReadFailure) -> Void) throws(ReadFailure) {
        // Depth first; memory follows the depth of the tree, not the number of files.
        try walk("", visit)
    }

    private func walk(_ relative: String, _ visit: (TargetEntry) throws(ReadFailure) -> Void) throws(ReadFailure) {
        let directory = relative.isEmpty ? root : root + "/" + relative
        guard let dir = opendir(directory) else {
            throw .unreadable("cannot list \(directory): \(errorText(errno))")
        }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(root + "/" + path, &st) == 0 else { continue }  // gone meanwhile
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                try walk(path, visit)
            case S_IFREG:
                let kind: TargetEntry.Kind = LeftoverNames.why(name).map { .leftover(why: $0) } ?? .copy
                try visit(TargetEntry(relativePath: path, size: Int64(st.st_size),
                                      modified: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9, kind: kind))
            default:
                continue
            }
        }
    }

    func removeLeftover(_ entry: TargetEntry) throws(ReadFailure) {
        guard case .leftover = entry.kind, LeftoverNames.why(LeftoverNames.lastComponent(entry.relativePath)) != nil,
              PathSafety.problem(in: entry.relativePath, what: "leftover path") == nil else {
            throw .destination("refusing to remove \(entry.relativePath): it is not one of dvbackup's leftovers")
        }
        let path = root + "/" + entry.relativePath
        guard unlink(path) == 0 || errno == ENOENT else { throw .destination("cannot remove \(path): \(errorText(errno))") }
    }
}
