import Foundation
import Logging

/// Where backups go. `ssh` and `swift` are the original script's names.
public enum StorageType: String, Sendable, CaseIterable {
    case local
    case ssh
    case swift
}

/// The `[Database]` section: the Dataverse catalog and the backup database, on one server,
/// as the original script had them.
public struct DatabaseSettings: Sendable {
    public var host: String
    public var port: Int
    public var database: String
    public var username: String
    /// `nil` when the file leaves it out: libpq then looks at PGPASSWORD and ~/.pgpass.
    public var password: String?
    public var backupDatabase: String

    public var catalog: PostgresConnectionInfo {
        PostgresConnectionInfo(host: host, port: port, database: database, user: username, password: password)
    }

    public var backup: PostgresConnectionInfo {
        PostgresConnectionInfo(host: host, port: port, database: backupDatabase, user: username, password: password)
    }

    /// `backup database "backupdb"`, as messages name it.
    public var backupLabel: String { "backup database \"\(backupDatabase)\"" }
    /// `catalog database "dvndb"`, as messages name it.
    public var catalogLabel: String { "catalog database \"\(database)\"" }

    public func connectBackup() throws(PostgresError) -> PostgresConnection {
        try PostgresConnection(backup, label: backupLabel)
    }

    public func connectCatalog() throws(PostgresError) -> PostgresConnection {
        try PostgresConnection(catalog, label: catalogLabel)
    }
}

/// The SFTP keys of `[Backup]` (StorageType `ssh`).
public struct SSHSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    /// The configured private key, or `nil` for ~/.ssh/id_ed25519, id_ecdsa, id_rsa.
    public var privateKey: String?
    /// The environment variable that holds the key's passphrase.
    public var passphraseEnv: String?
    public var knownHosts: String
    public var connections: Int
    /// Whether the server hashes very large copies while they are written: `nil` = auto
    /// (yes unless the server is a loopback address, where it shares our CPUs).
    public var hashDuringUpload: Bool?

    /// The key files to try, in order.
    public var privateKeyCandidates: [String] {
        if let privateKey { return [privateKey] }
        return ["id_ed25519", "id_ecdsa", "id_rsa"].map { Settings.homeDirectory + "/.ssh/" + $0 }
    }

    /// The connection, with the passphrase read from the environment now.
    public func connection() -> SSHConnectionConfig {
        SSHConnectionConfig(host: host, port: port, user: username, privateKeys: privateKeyCandidates,
                            passphrase: passphraseEnv.flatMap { ProcessInfo.processInfo.environment[$0] },
                            useAgent: true, knownHostsPath: knownHosts)
    }
}

/// The `[Backup]` section.
public struct BackupSettings: Sendable {
    public var storageType: StorageType
    /// For `local`: a directory (local disk or NFS mount).
    public var backupDirectory: String
    /// How far back an incremental run re-reads the catalog before its cursor.
    public var incrementalOverlapSeconds: Int64
    public var logLevel: Logger.Level
    /// Files copied at the same time (for `ssh`: SshConnections, one connection each).
    public var workers: Int
    /// For StorageType `ssh`.
    public var ssh: SSHSettings?
    /// For StorageType `swift`.
    public var swift: SwiftSettings? = nil
    /// `MetricsFile`: a Prometheus text file written after every run (node-exporter's textfile collector).
    public var metricsFile: String? = nil
    /// `ProgressInterval`: how often a run logs a progress line when stderr is not a terminal.
    public var progressIntervalSeconds: Int64 = 600
}

/// Everything a run needs, read and checked from `config.ini`.
public struct Settings: Sendable {
    public var path: String
    public var database: DatabaseSettings
    public var fileSystemDirectory: String?
    public var backup: BackupSettings
    public var stores: StoreRegistry
    /// The S3 stores of `stores`, with their credentials, by lowercased store id.
    public var s3Stores: [String: S3StoreSettings] = [:]
    /// Why S3 stores could not be resolved (missing credentials, a bad endpoint), in store order.
    public var s3Problems: [ConfigError] = []

    /// Throws the first S3 store problem: for the commands that read the stores.
    public func requireS3Stores() throws(ConfigError) {
        if let first = s3Problems.first { throw first }
    }
    /// `[Notifications]`: the morning report's recipients and mail server.
    public var notifications: NotificationSettings
    /// `[Audit]`: the cycle within which every copy is proven again.
    public var audit = AuditSettings()
    /// Things worth telling that are not errors (duplicate keys, unknown keys).
    public var warnings: [String]

    /// Reads and validates `path`. Every mistake is a `ConfigError` naming the file, the line
    /// and the key.
    public static func load(path: String) throws(ConfigError) -> Settings {
        let text: String
        do {
            text = try readTextFile(path)
        } catch {
            throw ConfigError(path: path, "cannot read the configuration file: \(error.localizedDescription)")
        }
        let ini = try INIFile(parsing: text, path: path)
        var settings = try Settings(ini: ini)
        if let mode = ConfigFileChecks.mode(of: path),
           let warning = ConfigFileChecks.worldReadableSecretWarning(ini, mode: mode) {
            settings.warnings.append(warning)
        }
        return settings
    }

    static func readTextFile(_ path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw NSError(domain: "dvbackup", code: 2, userInfo: [NSLocalizedDescriptionKey: "no such file"])
        }
        guard !isDirectory.boolValue else {
            throw NSError(domain: "dvbackup", code: 21, userInfo: [NSLocalizedDescriptionKey: "it is a directory"])
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NSError(domain: "dvbackup", code: 13, userInfo: [NSLocalizedDescriptionKey: "permission denied or unreadable"])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw NSError(domain: "dvbackup", code: 84, userInfo: [NSLocalizedDescriptionKey: "it is not UTF-8 text"])
        }
        return text
    }

    /// `environment` supplies the OpenStack variables (OS_*, ST_*) that stand in for Swift
    /// keys the file leaves out, and the AWS credential chain of S3 stores.
    public init(ini: INIFile, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) {
        let reader = SectionReader(ini: ini)
        path = ini.path
        var warnings = ini.warnings
        try ConfigFileChecks.refuseMultiLineValues(ini)

        // [Database]
        let db = try reader.required(section: "Database")
        let portEntry = db.entry("Port")
        database = DatabaseSettings(
            host: try reader.requiredValue(db, "Host"),
            port: try portEntry.map { (e) throws(ConfigError) in
                try reader.integer(e, section: db.name, range: 1...65535)
            } ?? 5432,
            database: try reader.requiredValue(db, "Database"),
            username: try reader.requiredValue(db, "Username"),
            // An empty Password is no password, as libpq treats it: PGPASSWORD or ~/.pgpass.
            password: db.entry("Password").flatMap { $0.value.isEmpty ? nil : $0.value },
            backupDatabase: try reader.requiredValue(db, "BackupDatabase"))
        warnings += reader.unknownKeys(db, known: ["Host", "Port", "Database", "Username", "Password", "BackupDatabase"])

        // [Repository]
        if let repo = ini.section("Repository") {
            if let entry = repo.entry("FileSystemDirectory") {
                guard !entry.value.isEmpty else {
                    throw ConfigError(path: path, line: entry.line, section: repo.name, key: entry.key, "is empty")
                }
                guard entry.value.hasPrefix("/") else {
                    throw ConfigError(path: path, line: entry.line, section: repo.name, key: entry.key,
                                      "must be an absolute path, not '\(entry.value)'")
                }
                fileSystemDirectory = entry.value
            } else {
                fileSystemDirectory = nil
            }
            warnings += reader.unknownKeys(repo, known: ["FileSystemDirectory"])
        } else {
            fileSystemDirectory = nil
        }

        // [Backup]
        let b = try reader.required(section: "Backup")
        let typeEntry = try reader.requiredEntry(b, "StorageType")
        guard let storageType = StorageType(rawValue: typeEntry.value.lowercased()) else {
            throw ConfigError(path: path, line: typeEntry.line, section: b.name, key: typeEntry.key,
                              "unknown StorageType '\(typeEntry.value)' (use one of: local, ssh, swift)")
        }
        // Swift copies go to a container (SwiftContainer); BackupDirectory is not used.
        let backupDirectory = try storageType == .swift ? b.entry("BackupDirectory")?.value ?? ""
            : reader.requiredValue(b, "BackupDirectory", because: "StorageType is \(storageType.rawValue)")
        if storageType != .swift, !backupDirectory.hasPrefix("/") {
            let e = b.entry("BackupDirectory")!
            throw ConfigError(path: path, line: e.line, section: b.name, key: e.key,
                              "must be an absolute path, not '\(backupDirectory)'")
        }
        var overlap: Int64 = 86_400
        if let e = b.entry("IncrementalOverlap") {
            guard let s = DurationParser.seconds(e.value) else {
                throw ConfigError(path: path, line: e.line, section: b.name, key: e.key,
                                  "bad duration '\(e.value)' (write it like 24h, 90m, 2d or 1h30m)")
            }
            overlap = s
        }
        var level = Logger.Level.info
        if let e = b.entry("LogLevel") {
            guard let l = LogLevelName.parse(e.value) else {
                throw ConfigError(path: path, line: e.line, section: b.name, key: e.key,
                                  "unknown log level '\(e.value)' (use debug, info, warning or error)")
            }
            level = l
        }
        var workers = 2
        if let e = b.entry("Workers") {
            workers = try reader.integer(e, section: b.name, range: 1...64)
        }
        var ssh: SSHSettings? = nil
        if storageType == .ssh {
            let because = "StorageType is ssh"
            let s = SSHSettings(
                host: try reader.requiredValue(b, "SshHost", because: because),
                port: try b.entry("SshPort").map { (e) throws(ConfigError) in try reader.integer(e, section: b.name, range: 1...65535) } ?? 22,
                username: try reader.requiredValue(b, "SshUsername", because: because),
                privateKey: try reader.path(b, "SshPrivateKey"),
                passphraseEnv: b.entry("SshPrivateKeyPassphraseEnv")?.value,
                knownHosts: try reader.path(b, "SshKnownHosts") ?? Settings.homeDirectory + "/.ssh/known_hosts",
                connections: try b.entry("SshConnections").map { (e) throws(ConfigError) in try reader.integer(e, section: b.name, range: 1...32) } ?? 4,
                hashDuringUpload: try b.entry("SshHashDuringUpload").map { (e) throws(ConfigError) in
                    switch e.value.lowercased() {
                    case "auto": return nil
                    case "yes", "true", "on", "1": return true
                    case "no", "false", "off", "0": return false
                    default:
                        throw ConfigError(path: ini.path, line: e.line, section: b.name, key: e.key, "'\(e.value)' is not auto, yes or no")
                    }
                } ?? nil)
            if let name = s.passphraseEnv {
                let e = b.entry("SshPrivateKeyPassphraseEnv")!
                guard !name.isEmpty else {
                    throw ConfigError(path: path, line: e.line, section: b.name, key: e.key, "is empty (name an environment variable)")
                }
                guard ProcessInfo.processInfo.environment[name] != nil else {
                    throw ConfigError(path: path, line: e.line, section: b.name, key: e.key,
                                      "the environment variable \(name) is not set (it must hold the passphrase of the private key)")
                }
            }
            workers = s.connections
            ssh = s
        }
        let swift = try storageType == .swift ? SwiftSettings.parse(b, reader: reader, environment: environment) : nil
        backup = BackupSettings(storageType: storageType, backupDirectory: backupDirectory,
                                incrementalOverlapSeconds: overlap, logLevel: level, workers: workers, ssh: ssh,
                                swift: swift)
        backup.metricsFile = try reader.path(b, "MetricsFile")
        if let e = b.entry("ProgressInterval") {
            guard let s = DurationParser.seconds(e.value), s > 0 else {
                throw ConfigError(path: path, line: e.line, section: b.name, key: e.key,
                                  "bad duration '\(e.value)' (write it like 10m, 30s or 1h)")
            }
            backup.progressIntervalSeconds = s
        }
        // The original keys of the other storage types are accepted (an existing config.ini
        // has them) and ignored while StorageType does not select them.
        let originalBackupKeys = ["StorageType", "SshHost", "SshPort", "SshUsername", "BackupDirectory",
                                  "SwiftAuthUrl", "SwiftAuthVersion", "SwiftUser", "SwiftKey", "SwiftTenant",
                                  "SwiftEndPoint"]
        warnings += reader.unknownKeys(b, known: originalBackupKeys + ["IncrementalOverlap", "LogLevel", "Workers",
                                                                  "SshPrivateKey", "SshPrivateKeyPassphraseEnv",
                                                                  "SshKnownHosts", "SshConnections", "SshHashDuringUpload",
                                                                  "MetricsFile", "ProgressInterval"]
                                                   + SwiftSettings.keys)

        // [Stores]
        stores = try StoreRegistry(section: ini.section("Stores"), fileSystemDirectory: fileSystemDirectory, path: path)
        // An S3 store's credentials depend on who runs the command (its environment, its
        // ~/.aws): a problem there stops the commands that read the stores (run, check-config,
        // through requireS3Stores), not `status` or `report` run from another account.
        for store in stores.sortedStores where store.type == "s3" {
            do {
                s3Stores[store.id.lowercased()] = try S3Configuration.resolve(
                    store, path: path, environment: environment, home: environment["HOME"] ?? Settings.homeDirectory)
            } catch {
                s3Problems.append(error)
            }
        }

        // [Notifications]
        notifications = try NotificationSettings(section: ini.section("Notifications"), path: path, environment: environment)
        if let n = ini.section("Notifications") {
            warnings += reader.unknownKeys(n, known: NotificationSettings.keys)
        }
        // [Audit]
        audit = try AuditSettings(section: ini.section("Audit"), path: path)
        if let a = ini.section("Audit") { warnings += reader.unknownKeys(a, known: AuditSettings.keys) }
        let knownSections = ConfigFileChecks.knownSections.map { $0.lowercased() }
        for section in ini.sections where !knownSections.contains(section.name.lowercased()) {
            warnings.append("\(path):\(section.line): [\(section.name)] is not a section dvbackup knows; it is ignored")
        }
        self.warnings = warnings
    }
}

extension Settings {
    /// The home directory of the user running dvbackup (for ~/.ssh defaults).
    public static var homeDirectory: String {
        ProcessInfo.processInfo.environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
    }
}

/// Reads values out of an `INIFile` with errors that name the place.
struct SectionReader {
    let ini: INIFile
    var path: String { ini.path }

    func required(section name: String) throws(ConfigError) -> INIFile.Section {
        guard let s = ini.section(name) else {
            throw ConfigError(path: path, section: name, "the section is missing")
        }
        return s
    }

    func requiredEntry(_ s: INIFile.Section, _ key: String, because: String? = nil) throws(ConfigError) -> INIFile.Entry {
        guard let e = s.entry(key) else {
            let why = because.map { " (required because \($0))" } ?? ""
            throw ConfigError(path: path, line: s.line, section: s.name, key: key, "the key is missing\(why)")
        }
        return e
    }

    func requiredValue(_ s: INIFile.Section, _ key: String, because: String? = nil) throws(ConfigError) -> String {
        let e = try requiredEntry(s, key, because: because)
        guard !e.value.isEmpty else {
            throw ConfigError(path: path, line: e.line, section: s.name, key: e.key, "is empty")
        }
        return e.value
    }

    func integer(_ e: INIFile.Entry, section: String, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let v = Int(e.value), range.contains(v) else {
            throw ConfigError(path: path, line: e.line, section: section, key: e.key,
                              "'\(e.value)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return v
    }

    /// An optional path: `~/` is the user's home; it must be absolute.
    func path(_ s: INIFile.Section, _ key: String) throws(ConfigError) -> String? {
        guard let e = s.entry(key) else { return nil }
        var value = e.value
        if value.hasPrefix("~/") { value = Settings.homeDirectory + value.dropFirst() }
        guard value.hasPrefix("/") else {
            throw ConfigError(path: path, line: e.line, section: s.name, key: e.key, "must be an absolute path, not '\(e.value)'")
        }
        return value
    }

    func unknownKeys(_ s: INIFile.Section, known: [String]) -> [String] {
        let k = Set(known.map { $0.lowercased() })
        return s.entries.filter { !k.contains($0.key.lowercased()) }.map {
            "\(path):\($0.line): [\(s.name)] \($0.key) is not a key dvbackup knows; it is ignored"
        }
    }
}

public enum LogLevelName {
    public static func parse(_ text: String) -> Logger.Level? {
        switch text.trimmingWhitespace().lowercased() {
        case "trace": .trace
        case "debug": .debug
        case "info": .info
        case "notice": .notice
        case "warn", "warning": .warning
        case "error": .error
        case "critical": .critical
        default: nil
        }
    }
}
