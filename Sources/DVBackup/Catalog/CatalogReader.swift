/// A position in the catalog's `(createdate, id)` order.
public struct CatalogCursor: Sendable, Equatable, CustomStringConvertible {
    /// As PostgreSQL prints a `timestamp` (microseconds kept, never converted).
    public var createdate: String
    public var id: Int64

    public init(createdate: String, id: Int64) {
        self.createdate = createdate
        self.id = id
    }

    public var description: String { "(\(createdate), \(id))" }
}

/// The lower bound of an incremental run's window: files after `(cursor.createdate −
/// overlap, id)` are re-read. With no overlap the bound is the cursor itself, so ties on
/// `createdate` are resolved by id; with an overlap every file of the window is re-read
/// and the id does not matter.
public struct WindowBound: Sendable, Equatable {
    public var createdate: String
    public var overlapSeconds: Int64
    public var id: Int64

    public init(cursor: CatalogCursor, overlapSeconds: Int64) {
        createdate = cursor.createdate
        self.overlapSeconds = overlapSeconds
        id = overlapSeconds == 0 ? cursor.id : 0
    }

    /// Parameters for `($n::timestamp - ($n+1 || ' seconds')::interval, $n+2::bigint)`.
    var parameters: [String?] { [createdate, String(overlapSeconds), String(id)] }

    static func sql(timestamp: String, seconds: String, id: String) -> String {
        "(\(timestamp)::timestamp - (\(seconds) || ' seconds')::interval, \(id)::bigint)"
    }
}

/// Reads datafiles from the Dataverse catalog (6.x schema, see dataverse-facts.md).
///
/// The dataset's PID comes from the dataset's own `dvobject` row; the storage directory
/// from its storage-designating alternative identifier when it has one; harvested datasets
/// are left out; a tabular file is flagged so that its `.orig` is read.
public final class CatalogReader {
    let connection: PostgresConnection
    public static let batchSize = 1000

    public init(connection: PostgresConnection) { self.connection = connection }

    static let selectList = """
        SELECT f.id, o.createdate::text AS createdate, ds.protocol, ds.authority, ds.identifier,
               ap.authority AS storage_authority, ap.identifier AS storage_identifier, o.storageidentifier,
               f.checksumtype, f.checksumvalue, f.filesize, f.ingeststatus, dt.present AS tabular,
               dt.originalfilesize
        FROM datafile f
        JOIN dvobject o ON o.id = f.id
        JOIN dataset d ON d.id = o.owner_id
        JOIN dvobject ds ON ds.id = d.id
        LEFT JOIN LATERAL (
            SELECT a.authority, a.identifier FROM alternativepersistentidentifier a
            WHERE a.dvobject_id = d.id AND a.storagelocationdesignator
            ORDER BY a.id LIMIT 1) ap ON true
        LEFT JOIN LATERAL (
            SELECT true AS present, t.originalfilesize FROM datatable t
            WHERE t.datafile_id = f.id ORDER BY t.id LIMIT 1) dt ON true
        WHERE d.harvestingclient_id IS NULL
        """

    static func file(from r: PostgresResult, row i: Int) throws(PostgresError) -> CatalogFile {
        let authority = try r.string(i, "authority") ?? ""
        let identifier = try r.string(i, "identifier") ?? ""
        let altAuthority = try r.string(i, "storage_authority")
        let altIdentifier = try r.string(i, "storage_identifier")
        let useAlt = altAuthority != nil && altIdentifier != nil
        return CatalogFile(
            id: try r.int(i, "id") ?? 0,
            createdate: try r.string(i, "createdate") ?? "",
            datasetProtocol: try r.string(i, "protocol") ?? "",
            datasetAuthority: authority,
            datasetIdentifier: identifier,
            storageAuthority: useAlt ? altAuthority! : authority,
            storageIdentifierPath: useAlt ? altIdentifier! : identifier,
            storageIdentifier: try r.string(i, "storageidentifier") ?? "",
            checksumType: try r.string(i, "checksumtype"),
            checksumValue: try r.string(i, "checksumvalue"),
            fileSize: try r.int(i, "filesize"),
            ingestStatus: try r.string(i, "ingeststatus")?.trimmingWhitespace(),
            isTabular: try r.bool(i, "tabular") ?? false,
            originalFileSize: try r.int(i, "originalfilesize"))
    }

    /// Streams the files after `bound` (all files when `nil`) in `(createdate, id)` order,
    /// in batches, through a server-side cursor WITH HOLD: the result is kept by the server
    /// and no transaction stays open on the catalog while the files are copied.
    public func stream(after bound: WindowBound?, _ body: ([CatalogFile]) throws -> Void) throws {
        var sql = Self.selectList
        var params: [String?] = []
        if let bound {
            sql += "\n  AND (o.createdate, o.id) > " + WindowBound.sql(timestamp: "$1", seconds: "$2", id: "$3")
            params = bound.parameters
        }
        sql += "\nORDER BY o.createdate, o.id"
        try connection.execute("BEGIN")
        do {
            try connection.query("DECLARE dvbackup_plan NO SCROLL CURSOR WITH HOLD FOR " + sql, params)
            try connection.execute("COMMIT")
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
        defer { _ = try? connection.execute("CLOSE dvbackup_plan") }
        while true {
            let r = try connection.query("FETCH FORWARD \(Self.batchSize) FROM dvbackup_plan")
            if r.rowCount == 0 { break }
            try body(try (0..<r.rowCount).map { i throws(PostgresError) in try Self.file(from: r, row: i) })
            if r.rowCount < Self.batchSize { break }
        }
    }

    /// The files with these ids that are still in the catalog (and not harvested); with
    /// `bound`, only those at or before it (the ones an incremental window did not read).
    public func files(ids: [Int64], atOrBefore bound: WindowBound? = nil) throws(PostgresError) -> [CatalogFile] {
        guard !ids.isEmpty else { return [] }
        var sql = Self.selectList + "\n  AND f.id = ANY($1::bigint[])"
        var params: [String?] = [PostgresConnection.arrayLiteral(ids)]
        if let bound {
            sql += "\n  AND (o.createdate, o.id) <= " + WindowBound.sql(timestamp: "$2", seconds: "$3", id: "$4")
            params += bound.parameters
        }
        let r = try connection.query(sql + "\nORDER BY o.createdate, o.id", params)
        return try (0..<r.rowCount).map { i throws(PostgresError) in try Self.file(from: r, row: i) }
    }

    /// The files of the datasets `authority/identifier` (PID), for matching rows written by
    /// the original script: `(datafile id, dataset pid, storage identifier)`.
    public func filesOfDatasets(_ keys: [(authority: String, identifier: String)]) throws(PostgresError)
        -> [(id: Int64, authority: String, identifier: String, protocol_: String, storageIdentifier: String)] {
        guard !keys.isEmpty else { return [] }
        let r = try connection.query("""
            SELECT f.id, ds.authority, ds.identifier, ds.protocol, o.storageidentifier
            FROM unnest($1::text[], $2::text[]) AS k(authority, identifier)
            JOIN dvobject ds ON ds.authority = k.authority AND ds.identifier = k.identifier AND ds.dtype = 'Dataset'
            JOIN dvobject o ON o.owner_id = ds.id AND o.dtype = 'DataFile'
            JOIN datafile f ON f.id = o.id
            """, [PostgresConnection.arrayLiteral(strings: keys.map(\.authority)),
                  PostgresConnection.arrayLiteral(strings: keys.map(\.identifier))])
        return try (0..<r.rowCount).map { i throws(PostgresError) in
            (try r.int(i, "id") ?? 0, try r.string(i, "authority") ?? "", try r.string(i, "identifier") ?? "",
             try r.string(i, "protocol") ?? "", try r.string(i, "storageidentifier") ?? "")
        }
    }
}
