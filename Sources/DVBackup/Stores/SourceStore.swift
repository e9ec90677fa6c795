import Logging
/// Where one file's bytes are to be read from, resolved from the catalog.
public struct SourceObject: Sendable, Equatable {
    /// The store that holds it.
    public let storeId: String
    /// The store-specific address: a path for file stores, a key for S3.
    public let address: String
    /// The object's name, as the copy on the target is named.
    public let name: String
}

/// A place Dataverse keeps its files (one per store *type*).
///
/// `locate` is pure: it turns a catalog row into an address and refuses anything that
/// would leave the store. `stream` reads the bytes once, in order, handing each chunk to
/// `sink`; memory does not grow with the file.
public protocol SourceStore: Sendable {
    var config: StoreConfig { get }
    func locate(_ file: CatalogFile) throws(FileFailure) -> SourceObject
    /// Reads the object in chunks of at most `chunkSize` bytes.
    func stream(_ object: SourceObject, chunkSize: Int, into sink: (UnsafeRawBufferPointer) throws(FileFailure) -> Void) throws(FileFailure)
}

/// Picks the store of each file and reports unconfigured or unreadable store types as the
/// file's FAIL_READ.
public struct SourceStores: Sendable {
    public let registry: StoreRegistry
    private let readers: [String: any SourceStore]

    /// `s3` holds the S3 stores' settings (`Settings.s3Stores`), by lowercased store id.
    public init(registry: StoreRegistry, s3: [String: S3StoreSettings] = [:], logger: Logger = Logger(label: "dvbackup")) {
        self.registry = registry
        var readers: [String: any SourceStore] = [:]
        for (key, config) in registry.stores {
            switch config.type {
            case "file":
                readers[key] = FileStore(config: config)
            case "s3":
                if let settings = s3[key] { readers[key] = S3Store(config: config, settings: settings, logger: logger) }
            default:
                break
            }
        }
        self.readers = readers
    }

    /// The store that reads `file`, or the FAIL_READ that explains why none can.
    public func store(for file: CatalogFile) throws(FileFailure) -> any SourceStore {
        let sid = StorageIdentifier(parsing: file.storageIdentifier)
        guard let config = registry.store(for: sid.storeId) else {
            let id = sid.storeId ?? registry.defaultStoreId
            if sid.storeId == nil {
                throw FileFailure(.failRead, "storage identifier '\(file.storageIdentifier)' has no store prefix and the default store '\(id)' is not configured (set [Repository] FileSystemDirectory or dataverse.files.\(id).type/.directory in [Stores])")
            }
            throw FileFailure(.failRead, "store '\(id)' is not configured: add dataverse.files.\(id).type (and its options) to [Stores]")
        }
        guard let reader = readers[config.id.lowercased()] else {
            throw FileFailure(.failRead, "store '\(config.id)' is of type \(config.type), which this version of dvbackup cannot read")
        }
        return reader
    }
}
