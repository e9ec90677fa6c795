/// One Dataverse store as `[Stores]` describes it, with Dataverse's own option names
/// (`dataverse.files.<id>.type`, `.directory`, …).
public struct StoreConfig: Sendable, Equatable {
    public var id: String
    /// `file`, `s3`, `swift`, `remote`, `globus`, …
    public var type: String
    public var directory: String?
    /// Every `dataverse.files.<id>.<param>` given, by lowercased param, with its line.
    public var parameters: [String: String]
    /// Where the store was described: `config.ini:31`, or `[Repository] FileSystemDirectory`.
    public var origin: String
    /// The line of each parameter, by lowercased param.
    public var parameterLines: [String: Int] = [:]
}

/// The stores of an installation, by id, and the store of bare legacy names.
public struct StoreRegistry: Sendable {
    public private(set) var stores: [String: StoreConfig] = [:]
    /// `dataverse.files.storage-driver-id`, default `file`.
    public private(set) var defaultStoreId = "file"

    public init(stores: [StoreConfig], defaultStoreId: String = "file") {
        for s in stores { self.stores[s.id.lowercased()] = s }
        self.defaultStoreId = defaultStoreId
    }

    init(section: INIFile.Section?, fileSystemDirectory: String?, path: String) throws(ConfigError) {
        let prefix = "dataverse.files."
        var typeLines: [String: Int] = [:]
        var firstLine: [String: Int] = [:]
        var parameters: [String: [String: String]] = [:]
        var parameterLines: [String: [String: Int]] = [:]
        var idSpelling: [String: String] = [:]
        for entry in section?.entries ?? [] {
            let key = entry.key
            guard key.lowercased().hasPrefix(prefix) else {
                throw ConfigError(path: path, line: entry.line, section: section?.name, key: key,
                                  "[Stores] takes Dataverse's store options, named dataverse.files.<id>.<option>")
            }
            let rest = key.dropFirst(prefix.count)
            guard let dot = rest.firstIndex(of: ".") else {
                // Installation-wide options: only the default driver matters here.
                if rest.lowercased() == "storage-driver-id" {
                    guard !entry.value.isEmpty else {
                        throw ConfigError(path: path, line: entry.line, section: section?.name, key: key, "is empty")
                    }
                    defaultStoreId = entry.value
                }
                continue
            }
            let id = String(rest[..<dot])
            let param = String(rest[rest.index(after: dot)...]).lowercased()
            guard !id.isEmpty, !param.isEmpty else {
                throw ConfigError(path: path, line: entry.line, section: section?.name, key: key,
                                  "expected dataverse.files.<id>.<option>")
            }
            // ConfigParser lowercases keys; store ids are matched without regard to case.
            let lid = id.lowercased()
            idSpelling[lid] = idSpelling[lid] ?? id
            firstLine[lid] = firstLine[lid] ?? entry.line
            parameters[lid, default: [:]][param] = entry.value
            parameterLines[lid, default: [:]][param] = entry.line
            if param == "type" { typeLines[lid] = entry.line }
        }

        for (lid, params) in parameters {
            guard let type = params["type"], !type.isEmpty else {
                throw ConfigError(path: path, line: firstLine[lid], section: section?.name,
                                  key: "dataverse.files.\(idSpelling[lid]!).type",
                                  "store '\(idSpelling[lid]!)' has options but no type (file, s3, swift, …)")
            }
            var directory: String? = nil
            if type.lowercased() == "file" {
                guard let d = params["directory"], !d.isEmpty else {
                    throw ConfigError(path: path, line: typeLines[lid], section: section?.name,
                                      key: "dataverse.files.\(idSpelling[lid]!).directory",
                                      "file store '\(idSpelling[lid]!)' needs its directory")
                }
                guard d.hasPrefix("/") else {
                    throw ConfigError(path: path, line: typeLines[lid], section: section?.name,
                                      key: "dataverse.files.\(idSpelling[lid]!).directory",
                                      "must be an absolute path, not '\(d)'")
                }
                directory = d
            }
            stores[lid] = StoreConfig(id: idSpelling[lid]!, type: type.lowercased(), directory: directory,
                                      parameters: params, origin: "\(path):\(firstLine[lid]!)",
                                      parameterLines: parameterLines[lid] ?? [:])
        }

        // [Repository] FileSystemDirectory is the directory of the store `file`.
        if let fsd = fileSystemDirectory {
            if stores["file"] == nil {
                stores["file"] = StoreConfig(id: "file", type: "file", directory: fsd, parameters: [:],
                                             origin: "[Repository] FileSystemDirectory")
            }
        }
    }

    /// The store for a storage identifier's id (`nil` for bare legacy names).
    public func store(for storeId: String?) -> StoreConfig? {
        if let storeId { return stores[storeId.lowercased()] }
        return stores[defaultStoreId.lowercased()]
    }

    public var sortedStores: [StoreConfig] { stores.values.sorted { $0.id < $1.id } }
}
