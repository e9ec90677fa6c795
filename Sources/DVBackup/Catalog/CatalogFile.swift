/// One datafile as the Dataverse catalog describes it, with what is needed to find, copy
/// and prove it.
public struct CatalogFile: Sendable, Equatable {
    /// `datafile.id` (= `dvobject.id`): the key of the backup status.
    public var id: Int64
    /// `dvobject.createdate` as PostgreSQL prints it (microseconds kept, no time zone).
    public var createdate: String
    /// The owning dataset's PID parts, from the dataset's own `dvobject` row.
    public var datasetProtocol: String
    public var datasetAuthority: String
    public var datasetIdentifier: String
    /// Where the dataset's files are stored: its PID, or the storage-designating alternative
    /// identifier when there is one.
    public var storageAuthority: String
    public var storageIdentifierPath: String
    /// `dvobject.storageidentifier`, exactly as in the catalog.
    public var storageIdentifier: String
    /// `datafile.checksumtype` and `checksumvalue` as stored.
    public var checksumType: String?
    public var checksumValue: String?
    /// `datafile.filesize` (for a tabular file, the `.tab` size).
    public var fileSize: Int64?
    /// `datafile.ingeststatus`: A none/done, B scheduled, C in progress, D error.
    public var ingestStatus: String?
    /// Whether a `datatable` row exists: the catalog checksum is then of `<name>.orig`.
    public var isTabular: Bool
    /// `datatable.originalfilesize`, the size of `<name>.orig` (NULL, -1 or 0 on old files).
    public var originalFileSize: Int64?

    public init(id: Int64, createdate: String, datasetProtocol: String, datasetAuthority: String,
                datasetIdentifier: String, storageAuthority: String, storageIdentifierPath: String,
                storageIdentifier: String, checksumType: String?, checksumValue: String?, fileSize: Int64?,
                ingestStatus: String?, isTabular: Bool, originalFileSize: Int64?) {
        self.id = id
        self.createdate = createdate
        self.datasetProtocol = datasetProtocol
        self.datasetAuthority = datasetAuthority
        self.datasetIdentifier = datasetIdentifier
        self.storageAuthority = storageAuthority
        self.storageIdentifierPath = storageIdentifierPath
        self.storageIdentifier = storageIdentifier
        self.checksumType = checksumType
        self.checksumValue = checksumValue
        self.fileSize = fileSize
        self.ingestStatus = ingestStatus
        self.isTabular = isTabular
        self.originalFileSize = originalFileSize
    }

    /// `authority/identifier`, the original `datafilestatus.datasetidentifier`.
    public var datasetIdentifierColumn: String { "\(datasetAuthority)/\(datasetIdentifier)" }

    /// The PID as Dataverse prints it: `doi:10.5072/FK2/ABCDEF`, `hdl:1902.1/10001`.
    public var datasetPID: String { "\(datasetProtocol):\(datasetAuthority)/\(datasetIdentifier)" }

    /// Ingest scheduled or running: the bytes and the checksum are about to change.
    public var ingestInProgress: Bool { ingestStatus == "B" || ingestStatus == "C" }

    /// What the catalog's checksum is good for, judged before the bytes are read.
    public var catalogChecksumState: CatalogChecksumState {
        CatalogChecksumState(type: checksumType, value: checksumValue)
    }

    /// The checksum the copy is proven against, or `nil` when the catalog has none usable
    /// ('', 'Unknown', 'unknown', NULL, an algorithm we do not know, or a malformed value).
    public var catalogChecksum: (algorithm: ChecksumAlgorithm, hex: String)? {
        if case .usable(let algorithm, let hex) = catalogChecksumState { return (algorithm, hex) }
        return nil
    }

    /// The size the bytes read must have, when the catalog knows it.
    public var expectedSourceSize: Int64? {
        if isTabular {
            guard let s = originalFileSize, s > 0 else { return nil }
            return s
        }
        return fileSize
    }
}
