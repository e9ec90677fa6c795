/// What became of one file.
public struct FileOutcome: Sendable {
    public let file: CatalogFile
    public let status: BackupStatus
    /// The reason of a failure; for OK, how the copy was proven.
    public let detail: String
    public let bytes: Int64
    /// Where the copy lives (or would have lived).
    public let location: String?
    /// `<ALGORITHM>:<hex>` of the bytes read and proven on the target.
    public let provenChecksum: String?
    public let seconds: Double
}

/// Copies one file: reads it once from its store, hashes it while writing it to the
/// target, checks the digest against the catalog, has the target prove the copy, and only
/// then publishes it under its final name.
public struct Transfer: Sendable {
    public let stores: SourceStores

    public init(stores: SourceStores) { self.stores = stores }

    public func copy(_ file: CatalogFile, to session: any TargetSession) -> FileOutcome {
        let start = MonotonicClock.now()
        var bytes: Int64 = 0
        var location: String? = nil
        do throws(FileFailure) {
            let store = try stores.store(for: file)
            let object = try store.locate(file)
            let relative = try PathSafety.datasetRelativePath(authority: file.storageAuthority,
                                                              identifier: file.storageIdentifierPath,
                                                              name: object.name).get()
            let catalog = file.catalogChecksum
            // With no usable catalog checksum the copy is still proven, against SHA-256 of
            // the bytes read.
            let algorithm = catalog?.algorithm ?? .sha256
            let upload = try session.beginUpload(relativePath: relative)
            location = upload.location
            do throws(FileFailure) {
                let digest = Digest(algorithm)
                try store.stream(object) { (chunk) throws(FileFailure) in
                    digest.update(chunk)
                    try upload.write(chunk)
                    bytes += Int64(chunk.count)
                }
                let actual = digest.finalizeHex()
                if let catalog, catalog.hex != actual {
                    throw FileFailure(.failSourceChecksum, "the source \(object.address) has \(algorithm.rawValue) \(actual), the catalog records \(catalog.hex): the primary copy differs from what was deposited; nothing was written under the final name")
                }
                if let expected = file.expectedSourceSize, expected != bytes {
                    throw FileFailure(.failSourceChecksum, "the source \(object.address) has \(bytes) bytes, the catalog records \(expected); nothing was written under the final name")
                }
                let proof = try upload.verify(algorithm: algorithm, expectedHex: actual)
                try upload.publish()
                let status: BackupStatus = catalog == nil ? .okNoChecksum : .ok
                let detail = catalog == nil
                    ? "no usable checksum in the catalog (type '\(file.checksumType ?? "")', value '\(file.checksumValue ?? "")'); copy \(proof)"
                    : "copy \(proof)"
                return FileOutcome(file: file, status: status, detail: detail, bytes: bytes, location: location,
                                   provenChecksum: "\(algorithm.rawValue):\(actual)",
                                   seconds: MonotonicClock.now() - start)
            } catch {
                upload.abort()
                throw error
            }
        } catch {
            return FileOutcome(file: file, status: error.status, detail: error.reason, bytes: bytes,
                               location: location, provenChecksum: nil, seconds: MonotonicClock.now() - start)
        }
    }
}
