import Foundation
import Logging

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
