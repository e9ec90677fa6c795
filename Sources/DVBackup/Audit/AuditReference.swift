/// What a file is proven against and where its copy lives, from the backup database's row and
/// the catalog. Each proof is checked against the catalog's checksum, never against another
/// copy; a file without one is checked against the digest recorded when its copy was proven.
struct AuditReference {
    let copy: CopyReference
    let expected: ExpectedDigest
    let file: CatalogFile
    let store: any SourceStore
    let object: SourceObject

    /// The reference, or why the file cannot be proven now (it is then skipped, not a finding).
    static func resolve(_ c: AuditCandidate, _ file: CatalogFile?, stores: SourceStores) -> Result<AuditReference, Skip> {
        guard let file else { return .failure(.notInCatalog) }
        let expected: ExpectedDigest
        if let catalog = file.catalogChecksum {
            // A copy made against an older catalog checksum is not this file's copy: the next
            // run copies it again (`RecordedStatus.isCurrentCopy`).
            if let recorded = c.checksumValue, recorded.lowercased() != catalog.hex {
                return .failure(.catalogChanged)
            }
            expected = ExpectedDigest(algorithm: catalog.algorithm, hex: catalog.hex)
        } else if let proven = provenDigest(c.provenChecksum) {
            expected = proven
        } else {
            return .failure(.noReference)
        }
        do throws(FileFailure) {
            let store = try stores.store(for: file)
            let object = try store.locate(file)
            let relative = try PathSafety.datasetRelativePath(authority: file.storageAuthority,
                                                              identifier: file.storageIdentifierPath, name: object.name).get()
            return .success(AuditReference(copy: CopyReference(datafileId: file.id, relativePath: relative, expectedSize: c.fileSize),
                                           expected: expected, file: file, store: store, object: object))
        } catch {
            return .failure(.noLocation(error.reason))
        }
    }

    /// `MD5:abc…` as the status row records a proven digest.
    static func provenDigest(_ text: String?) -> ExpectedDigest? {
        guard let text, let colon = text.firstIndex(of: ":"),
              let algorithm = ChecksumAlgorithm(rawValue: String(text[..<colon])) else { return nil }
        let hex = String(text[text.index(after: colon)...])
        guard !hex.isEmpty, hex.allSatisfy(\.isHexDigit) else { return nil }
        return ExpectedDigest(algorithm: algorithm, hex: hex)
    }

    enum Skip: Error, CustomStringConvertible {
        case notInCatalog, catalogChanged, noReference
        case noLocation(String)

        var description: String {
            switch self {
            case .notInCatalog: "no longer in the catalog (deleted in Dataverse, or harvested)"
            case .catalogChanged: "the catalog's checksum changed since the copy was made; the next run copies it again"
            case .noReference: "no reference digest: the catalog has none and none was recorded when the copy was proven"
            case .noLocation(let why): "cannot tell where it lives: \(why)"
            }
        }
    }
}
