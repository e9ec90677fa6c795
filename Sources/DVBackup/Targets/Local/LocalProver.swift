import Foundation

extension LocalTarget: ProvableTarget {
    /// The backup directory must exist and be a directory (nothing is written to it).
    public func makeProver() throws(TargetUnavailable) -> any CopyProver {
        try checkRoot(readable: false)
        return LocalProver(root: root)
    }
}

/// Proves copies in a local directory by reading them back from the storage: the file's
/// cached pages are dropped (posix_fadvise DONTNEED) before it is read, so that the bytes
/// come from the disk rather than from memory, and again after, so that an audit does not
/// fill the page cache. (On tmpfs there is no disk: the advice is a no-op there.)
final class LocalProver: CopyProver {
    let root: String
    /// Whether the root was found holding nothing at all (an unmounted mount point).
    private var rootChecked = false

    init(root: String) { self.root = root }

    var proofBatchSize: Int { 1 }

    func prove(_ copies: [(copy: CopyReference, expected: ExpectedDigest)], depth: ProofDepth)
        throws(TargetUnavailable) -> [CopyFinding] {
        var findings: [CopyFinding] = []
        for (copy, expected) in copies {
            let finding = proveOne(copy, expected, depth)
            if case .missing = finding { try checkRootNotEmpty() }
            findings.append(finding)
        }
        return findings
    }

    /// A backup directory with nothing in it is a file system that is not mounted, not a
    /// backup whose every copy vanished: the audit stops rather than reporting them missing.
    private func checkRootNotEmpty() throws(TargetUnavailable) {
        if rootChecked { return }
        guard let d = opendir(root) else {
            throw TargetUnavailable("backup directory \(root) cannot be read: \(errorText(errno))")
        }
        defer { closedir(d) }
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." {
                rootChecked = true
                return
            }
        }
        throw TargetUnavailable("backup directory \(root) is empty: if it is a mount point, is the file system mounted?")
    }

    private func proveOne(_ copy: CopyReference, _ expected: ExpectedDigest, _ depth: ProofDepth) -> CopyFinding {
        if let problem = PathSafety.problem(in: copy.relativePath, what: "copy path") { return .unreadable(problem) }
        let path = root + "/" + copy.relativePath
        var st = stat()
        guard lstat(path, &st) == 0 else {
            let e = errno
            return e == ENOENT || e == ENOTDIR ? .missing("no copy at \(path)") : .unreadable("cannot look at \(path): \(errorText(e))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return .corrupt("\(path) is not a regular file") }
        let size = Int64(st.st_size)
        if let want = copy.expectedSize, want != size {
            return .corrupt("the copy \(path) holds \(size) bytes, \(want) were copied")
        }
        if depth == .quick { return .present(how: "local: exists with the size copied (\(size) bytes)") }

        let rfd = open(path, O_RDONLY | O_CLOEXEC)
        guard rfd >= 0 else { return .unreadable("cannot open \(path): \(errorText(errno))") }
        defer {
            _ = posix_fadvise(rfd, 0, 0, POSIX_FADV_DONTNEED)
            close(rfd)
        }
        _ = posix_fadvise(rfd, 0, 0, POSIX_FADV_DONTNEED)
        _ = posix_fadvise(rfd, 0, 0, POSIX_FADV_SEQUENTIAL)
        let digest = Digest(expected.algorithm)
        var total: Int64 = 0
        if let e = readToEnd(rfd, { chunk in
            digest.update(chunk)
            total += Int64(chunk.count)
        }) {
            // EIO is what a failing disk answers: the copy cannot be trusted.
            if e == EIO { return .corrupt("reading \(path) failed at byte \(total) of \(size): \(errorText(e))") }
            return .unreadable("cannot read \(path): \(errorText(e))")
        }
        let actual = digest.finalizeHex()
        if let want = copy.expectedSize, total != want {
            return .corrupt("the bytes of \(path) stopped at \(total) of \(want)")
        }
        guard actual == expected.hex else {
            return .corrupt("the copy \(path) read back has \(expected.algorithm.rawValue) \(actual), the reference is \(expected.hex)")
        }
        return .verified(how: "read back from the disk, \(expected.algorithm.rawValue) matches")
    }
}
