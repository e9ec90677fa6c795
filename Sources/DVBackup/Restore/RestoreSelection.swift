/// Turns what the user asked for into the files to restore, in datafile id order, read from
/// the catalog in batches (a selection of millions of files never sits in memory as rows).
///
/// `--damaged-primaries` are, for now, the files whose last backup status says the primary
/// is damaged or missing (FAIL_SOURCE_CHECKSUM, FAIL_READ) and that have a proven copy (a
/// `provenchecksum` kept from an earlier OK). When the audit of the primaries records
/// primary fixity in a table of its own, `damagedPrimaryIds` is the query to extend.
struct RestoreSelection {
    let catalog: CatalogReader
    let status: StatusStore
    let registry: StoreRegistry
    static let batchSize = 500

    /// The selection is not usable as given (exit code 2).
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    /// The datafile ids selected, ascending. Unknown ids and PIDs are a `Problem`.
    func ids(_ selection: RestoreRequest.Selection) throws -> [Int64] {
        switch selection {
        case .datafiles(let requested):
            let ids = Array(Set(requested)).sorted()
            var found: Set<Int64> = []
            for start in stride(from: 0, to: ids.count, by: Self.batchSize) {
                let batch = Array(ids[start..<min(ids.count, start + Self.batchSize)])
                for f in try catalog.files(ids: batch) { found.insert(f.id) }
            }
            let unknown = ids.filter { !found.contains($0) }
            if !unknown.isEmpty {
                let list = unknown.prefix(20).map(String.init).joined(separator: ", ") + (unknown.count > 20 ? ", …" : "")
                throw Problem(description: "no datafile with id \(list) in the catalog (or it belongs to a harvested dataset): nothing was restored")
            }
            return ids
        case .dataset(let pid):
            guard let files = try catalog.files(ofDataset: pid) else {
                throw Problem(description: "no dataset \(pid) in the catalog: nothing was restored")
            }
            return files.map(\.id).sorted()
        case .damagedPrimaries:
            return try damagedPrimaryIds()
        }
    }

    /// Files whose primary is known damaged or missing and whose copy was proven.
    func damagedPrimaryIds() throws(PostgresError) -> [Int64] {
        let r = try status.db.query("""
            SELECT datafileid FROM datafilestatus
            WHERE status IN ('FAIL_SOURCE_CHECKSUM', 'FAIL_READ') AND provenchecksum IS NOT NULL AND datafileid IS NOT NULL
            ORDER BY datafileid
            """)
        var ids: [Int64] = []
        for i in 0..<r.rowCount { if let id = try r.int(i, "datafileid") { ids.append(id) } }
        return ids
    }

    /// The items of a batch of ids (files no longer in the catalog are left out).
    func items(_ ids: [Int64]) throws -> [RestoreItem] {
        let files = try catalog.files(ids: ids).sorted { $0.id < $1.id }
        let r = try status.db.query("""
            SELECT datafileid, provenchecksum, filesize FROM datafilestatus WHERE datafileid = ANY($1::bigint[])
            """, [PostgresConnection.arrayLiteral(ids)])
        var proven: [Int64: (digest: ExpectedDigest?, size: Int64?)] = [:]
        for i in 0..<r.rowCount {
            guard let id = try r.int(i, "datafileid") else { continue }
            proven[id] = (Self.parseProven(try r.string(i, "provenchecksum")), try r.int(i, "filesize"))
        }
        return files.map { f in
            let name = Self.storageName(f, registry)
            let relative = (try? PathSafety.datasetRelativePath(authority: f.storageAuthority, identifier: f.storageIdentifierPath,
                                                                 name: name).get()) ?? ""
            let recorded = proven[f.id]
            let expected: ExpectedDigest?
            let source: String
            if let c = f.catalogChecksum {
                expected = ExpectedDigest(algorithm: c.algorithm, hex: c.hex)
                source = "catalog"
            } else {
                expected = recorded?.digest
                source = "proven copy"
            }
            return RestoreItem(file: f, relativePath: relative, storageName: name, expected: expected, expectedSource: source,
                               expectedSize: f.expectedSourceSize ?? recorded?.size)
        }
    }

    /// `ALG:hex`, as `datafilestatus.provenchecksum` holds it.
    static func parseProven(_ text: String?) -> ExpectedDigest? {
        guard let text, let colon = text.firstIndex(of: ":"),
              let algorithm = ChecksumAlgorithm(catalogName: String(text[..<colon])) else { return nil }
        let hex = String(text[text.index(after: colon)...])
        return hex.count == algorithm.hexLength ? ExpectedDigest(algorithm: algorithm, hex: hex) : nil
    }

    /// The storage name the copy was written under: for an S3 store the part of the
    /// identifier after its last `:`, otherwise all of it after `://` (as `locate` does).
    static func storageName(_ file: CatalogFile, _ registry: StoreRegistry) -> String {
        let sid = StorageIdentifier(parsing: file.storageIdentifier)
        let type = registry.store(for: sid.storeId)?.type
        return sid.objectName(lastColonSegment: type.map { $0 == "s3" } ?? sid.rest.contains(":"))
    }
}
