/// Where a file-system target (local, SFTP) writes a copy and then publishes it:
/// `<root>/<authority>/<identifier>/<name>`, written first to `.<name>.dvbackup-partial`
/// beside it. A crash leaves at most that hidden partial copy, which the next copy of the
/// same file overwrites.
struct PartialCopyPath {
    let directory: String
    let name: String
    let finalPath: String
    let temporaryPath: String
    /// The directories to create below the root, outermost first (`authority`, `identifier`).
    let directoriesBelowRoot: [Substring]

    /// Refuses a relative path that could leave the root (PathSafety).
    init(root: String, relativePath: String) throws(FileFailure) {
        if let problem = PathSafety.problem(in: relativePath, what: "target path") {
            throw FileFailure(.failWrite, problem)
        }
        finalPath = root + "/" + relativePath
        let slash = finalPath.lastIndex(of: "/") ?? finalPath.startIndex  // there is one: after the root
        directory = String(finalPath[..<slash])
        name = String(finalPath[finalPath.index(after: slash)...])
        temporaryPath = directory + "/." + name + ".dvbackup-partial"
        directoriesBelowRoot = directory.dropFirst(root.count + 1).split(separator: "/")
    }
}
