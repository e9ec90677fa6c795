import Foundation
import Logging

// The parts of `Settings` that are plain values: the storage type, the databases, SFTP, and [Backup].

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
