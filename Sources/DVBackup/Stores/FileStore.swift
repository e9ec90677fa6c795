import Foundation

/// A Dataverse file store: `<directory>/<authority>/<identifier>/<name>`, a tabular file's
/// original at `<name>.orig`.
public struct FileStore: SourceStore {
    public let config: StoreConfig
    public static let chunkSize = 1 << 20

    public func locate(_ file: CatalogFile) throws(FileFailure) -> SourceObject {
        let name = StorageIdentifier(parsing: file.storageIdentifier).objectName(lastColonSegment: false)
        let relative = try PathSafety.datasetRelativePath(authority: file.storageAuthority,
                                                          identifier: file.storageIdentifierPath, name: name).get()
        let directory = config.directory ?? "/"
        let path = (directory.hasSuffix("/") ? directory : directory + "/") + relative + (file.isTabular ? ".orig" : "")
        return SourceObject(storeId: config.id, address: path, name: name)
    }

    public func stream(_ object: SourceObject, chunkSize: Int = FileStore.chunkSize,
                       into sink: (UnsafeRawBufferPointer) throws(FileFailure) -> Void) throws(FileFailure) {
        let fd = open(object.address, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw FileFailure(.failRead, "cannot open \(object.address): \(errorText(e))")
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            throw FileFailure(.failRead, "\(object.address) is not a regular file")
        }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        if let e = try readToEnd(fd, chunkSize: chunkSize, sink) {
            throw FileFailure(.failRead, "cannot read \(object.address): \(errorText(e))")
        }
    }
}
