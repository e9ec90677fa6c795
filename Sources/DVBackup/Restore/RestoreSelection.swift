/// Turns what the user asked for into the files to restore, in datafile id order, read from
/// the catalog in batches (a selection of millions of files never sits in memory as rows).
///
/// `--damaged-primaries` are the files whose primary is known damaged or missing and whose
/// copy is proven: those whose last backup status says so (FAIL_SOURCE_CHECKSUM, FAIL_READ)
/// with a `provenchecksum` kept from an earlier OK, and those `audit --source` last found
/// damaged or missing (`sourcefixity`) while their copy is OK or OK_NO_CHECKSUM.
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
        // `sourcefixity` comes with the audit's migration, which restore does not apply.
        let audited = try status.db.query("SELECT to_regclass('sourcefixity') IS NOT NULL AS present").bool(0, "present") == true
        let fromAudit = audited ? """
             OR (s.status IN ('OK', 'OK_NO_CHECKSUM') AND EXISTS (
                    SELECT 1 FROM sourcefixity f WHERE f.datafileid = s.datafileid AND f.result IN ('damaged', 'missing')))
            """ : ""
        let r = try status.db.query("""
            SELECT s.datafileid FROM datafilestatus s
            WHERE s.datafileid IS NOT NULL
              AND ((s.status IN ('FAIL_SOURCE_CHECKSUM', 'FAIL_READ') AND s.provenchecksum IS NOT NULL)\(fromAudit))
            ORDER BY s.datafileid
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
