/// Where a file-system target (local, SFTP) writes a copy and then publishes it:
/// `<root>/<authority>/<identifier>/<name>`, written first to `.<datafile id>.dvbackup-partial`
/// beside it. That temporary name is at most 37 bytes, so it fits wherever the final name
/// does (a storage name may take all 255 bytes ext4 allows). A crash leaves at most that
/// hidden partial copy, which the next copy of the same file overwrites; a temporary of the
/// form earlier versions used (`.<name>.dvbackup-partial`) is removed when its file is copied
/// again (`legacyTemporaryPath`).
struct PartialCopyPath {
    let directory: String
    let name: String
    let finalPath: String
    let temporaryPath: String
    /// The temporary name earlier versions gave this copy, when it differs from
    /// `temporaryPath` and could exist (it fits in a name).
    let legacyTemporaryPath: String?
    /// The directories to create below the root, outermost first (`authority`, `identifier`).
    let directoriesBelowRoot: [Substring]

    /// The longest name most file systems allow (NAME_MAX).
    static let nameMax = 255

    /// Refuses a relative path that could leave the root (PathSafety). Without a datafile id
    /// (`nil` or 0: a copy that is no catalog file's) the temporary name is `.<name>.dvbackup-partial`.
    init(root: String, relativePath: String, datafileId: Int64? = nil) throws(FileFailure) {
        if let problem = PathSafety.problem(in: relativePath, what: "target path") {
            throw FileFailure(.failWrite, problem)
        }
        finalPath = root + "/" + relativePath
        let slash = finalPath.lastIndex(of: "/") ?? finalPath.startIndex  // there is one: after the root
        directory = String(finalPath[..<slash])
        name = String(finalPath[finalPath.index(after: slash)...])
        let legacy = directory + "/" + Self.legacyTemporaryName(name)
        if let datafileId, datafileId > 0 {
            temporaryPath = directory + "/.\(datafileId).dvbackup-partial"
            legacyTemporaryPath = Self.legacyTemporaryName(name).utf8.count <= Self.nameMax ? legacy : nil
        } else {
            temporaryPath = legacy
            legacyTemporaryPath = nil
        }
        directoriesBelowRoot = directory.dropFirst(root.count + 1).split(separator: "/")
    }

    /// `.<name>.dvbackup-partial`, the temporary name of versions before issue 15.
    static func legacyTemporaryName(_ name: String) -> String { "." + name + ".dvbackup-partial" }
}
