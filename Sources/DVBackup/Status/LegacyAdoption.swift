/// Gives rows written by the original `run_backup.py` (keyed by storage identifier, no
/// datafile id) the datafile id of the catalog file they describe, so that files it
/// recorded as OK are not copied again.
///
/// A row matches a file of the dataset `datasetidentifier` (`authority/identifier` of its
/// PID) whose storage name (the part after `://` and after the last `:`) is the row's.
public enum LegacyAdoption {
    public struct Result: Sendable, Equatable {
        public var matched = 0
        public var unmatched = 0
    }

    public static func run(status: StatusStore, catalog: CatalogReader, insideTransaction: Bool = false) throws -> Result {
        var result = Result()
        var lastId: Int64 = 0
        while true {
            let r = try status.db.query("""
                SELECT id, datasetidentifier, storageidentifier FROM datafilestatus
                WHERE datafileid IS NULL AND id > $1::bigint ORDER BY id LIMIT 1000
                """, [String(lastId)])
            if r.rowCount == 0 { break }
            var rows: [(id: Int64, dataset: String, name: String)] = []
            var keys: Set<String> = []
            for i in 0..<r.rowCount {
                let id = try r.int(i, "id") ?? 0
                lastId = max(lastId, id)
                let dataset = try r.string(i, "datasetidentifier") ?? ""
                let name = StorageIdentifier(parsing: try r.string(i, "storageidentifier") ?? "").objectName(lastColonSegment: true)
                rows.append((id, dataset, name))
                keys.insert(dataset)
            }
            // "10.5072/FK2/ABCDEF": the authority is the part before the first '/'.
            let split: [(authority: String, identifier: String)] = keys.compactMap { key in
                guard let slash = key.firstIndex(of: "/") else { return nil }
                return (String(key[..<slash]), String(key[key.index(after: slash)...]))
            }
            var byKey: [String: (id: Int64, pid: String)] = [:]
            for f in try catalog.filesOfDatasets(split) {
                let name = StorageIdentifier(parsing: f.storageIdentifier).objectName(lastColonSegment: true)
                byKey["\(f.authority)/\(f.identifier)\u{0}\(name)"] = (f.id, "\(f.protocol_):\(f.authority)/\(f.identifier)")
            }
            if !insideTransaction { try status.db.execute("BEGIN") }
            for row in rows {
                if let match = byKey["\(row.dataset)\u{0}\(row.name)"] {
                    let u = try status.db.query("""
                        UPDATE datafilestatus SET datafileid = $2::bigint, datasetpid = $3
                        WHERE id = $1::bigint AND NOT EXISTS (SELECT 1 FROM datafilestatus WHERE datafileid = $2::bigint)
                        """, [String(row.id), String(match.id), match.pid])
                    if u.affectedRows == 1 { result.matched += 1 } else { result.unmatched += 1 }
                } else {
                    result.unmatched += 1
                }
            }
            if !insideTransaction { try status.db.execute("COMMIT") }
        }
        return result
    }
}
