/// What a restore needs of the catalog beyond what a backup reads: the files of one dataset
/// by its PID, and the names users know files by (`filemetadata.label`, `.directorylabel`).
public struct FileLabel: Sendable, Equatable {
    /// `filemetadata.label` in the dataset's latest version holding the file.
    public var label: String
    /// `filemetadata.directorylabel` (a `/`-separated folder path), when set.
    public var directoryLabel: String?
    /// `datatable.originalfilename` of a tabular file: the restored bytes are the original's.
    public var originalFileName: String?

    public init(label: String, directoryLabel: String?, originalFileName: String?) {
        self.label = label
        self.directoryLabel = directoryLabel
        self.originalFileName = originalFileName
    }
}

/// A dataset PID as users type it: `doi:10.5072/FK2/ABCDEF`, `hdl:1902.1/10001`, or without
/// the protocol (`10.5072/FK2/ABCDEF`).
public struct DatasetPID: Sendable, Equatable, CustomStringConvertible {
    public var protocol_: String?
    public var authority: String
    public var identifier: String

    /// `nil` when the text has no `authority/identifier`.
    public init?(parsing text: String) {
        var rest = Substring(text.trimmingWhitespace())
        for prefix in ["https://doi.org/", "http://doi.org/", "https://hdl.handle.net/", "http://hdl.handle.net/"] where rest.hasPrefix(prefix) {
            protocol_ = prefix.contains("doi") ? "doi" : "hdl"
            rest = rest.dropFirst(prefix.count)
        }
        if protocol_ == nil, let colon = rest.firstIndex(of: ":"), !rest[..<colon].contains("/") {
            protocol_ = rest[..<colon].lowercased()
            rest = rest[rest.index(after: colon)...]
        }
        guard let slash = rest.firstIndex(of: "/"), slash != rest.startIndex, rest.index(after: slash) != rest.endIndex else { return nil }
        authority = String(rest[..<slash])
        identifier = String(rest[rest.index(after: slash)...])
    }

    public var description: String { (protocol_.map { $0 + ":" } ?? "") + authority + "/" + identifier }
}

extension CatalogReader {
    /// The files of the dataset `pid` (not harvested), by id; `nil` when the catalog has no
    /// such dataset. Identifiers are matched without regard to case, as Dataverse does.
    public func files(ofDataset pid: DatasetPID) throws(PostgresError) -> [CatalogFile]? {
        let found = try connection.query("""
            SELECT id FROM dvobject WHERE dtype = 'Dataset' AND authority = $1 AND upper(identifier) = upper($2)
              AND ($3::text IS NULL OR protocol = $3)
            ORDER BY id LIMIT 1
            """, [pid.authority, pid.identifier, pid.protocol_])
        guard found.rowCount == 1, let datasetId = try found.int(0, "id") else { return nil }
        let r = try connection.query(Self.selectList + "\n  AND d.id = $1::bigint\nORDER BY f.id", [String(datasetId)])
        return try (0..<r.rowCount).map { i throws(PostgresError) in try Self.file(from: r, row: i) }
    }

    /// The labels of these files from the latest version of their dataset that holds them
    /// (a draft before the released versions, the highest version first).
    public func labels(ids: [Int64]) throws(PostgresError) -> [Int64: FileLabel] {
        guard !ids.isEmpty else { return [:] }
        let r = try connection.query("""
            SELECT DISTINCT ON (fm.datafile_id) fm.datafile_id, fm.label, fm.directorylabel,
                   (SELECT t.originalfilename FROM datatable t WHERE t.datafile_id = fm.datafile_id ORDER BY t.id LIMIT 1)
                       AS originalfilename
            FROM filemetadata fm
            JOIN datasetversion v ON v.id = fm.datasetversion_id
            WHERE fm.datafile_id = ANY($1::bigint[])
            ORDER BY fm.datafile_id, (v.versionstate = 'DRAFT') DESC, v.versionnumber DESC NULLS LAST,
                     v.minorversionnumber DESC NULLS LAST, v.id DESC
            """, [PostgresConnection.arrayLiteral(ids)])
        var out: [Int64: FileLabel] = [:]
        for i in 0..<r.rowCount {
            guard let id = try r.int(i, "datafile_id") else { continue }
            out[id] = FileLabel(label: try r.string(i, "label") ?? "", directoryLabel: try r.string(i, "directorylabel"),
                                originalFileName: try r.string(i, "originalfilename"))
        }
        return out
    }
}
