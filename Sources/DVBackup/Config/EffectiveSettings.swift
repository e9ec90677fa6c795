import Logging

/// The settings as a run will use them, for `check-config`. Secrets are shown as `***`.
public struct EffectiveSettings {
    let settings: Settings

    public init(_ settings: Settings) { self.settings = settings }

    public func render(into out: OutputWriter) {
        let s = settings
        out.line("configuration file: \(s.path)")
        out.line("[Database]")
        out.line("  Host = \(s.database.host)")
        out.line("  Port = \(s.database.port)")
        out.line("  Database = \(s.database.database)")
        out.line("  Username = \(s.database.username)")
        out.line("  Password = \(s.database.password == nil ? "(not set: libpq's PGPASSWORD or ~/.pgpass)" : "***")")
        out.line("  BackupDatabase = \(s.database.backupDatabase)")
        out.line("[Repository]")
        out.line("  FileSystemDirectory = \(s.fileSystemDirectory ?? "(not set)")")
        out.line("[Backup]")
        out.line("  StorageType = \(s.backup.storageType.rawValue)")
        out.line("  BackupDirectory = \(s.backup.backupDirectory)")
        if let ssh = s.backup.ssh {
            out.line("  SshHost = \(ssh.host)")
            out.line("  SshPort = \(ssh.port)")
            out.line("  SshUsername = \(ssh.username)")
            out.line("  SshPrivateKey = \(ssh.privateKey ?? "(not set: ssh-agent, then \(ssh.privateKeyCandidates.joined(separator: ", ")))")")
            out.line("  SshPrivateKeyPassphraseEnv = \(ssh.passphraseEnv.map { "\($0) (its value: ***)" } ?? "(not set: the key has no passphrase)")")
            out.line("  SshKnownHosts = \(ssh.knownHosts)")
            out.line("  SshConnections = \(ssh.connections)")
            out.line("  SshHashDuringUpload = \(ssh.hashDuringUpload.map { $0 ? "yes" : "no" } ?? "auto (\(SFTPTarget.isLoopback(ssh.host) ? "no: the server is this machine" : "yes"))")")
        }
        out.line("  IncrementalOverlap = \(DurationParser.format(s.backup.incrementalOverlapSeconds)) (\(s.backup.incrementalOverlapSeconds) s)")
        out.line("  LogLevel = \(s.backup.logLevel.rawValue)")
        out.line("  Workers = \(s.backup.workers)")
        out.line("[Stores] (bare legacy storage names use store '\(s.stores.defaultStoreId)')")
        if s.stores.stores.isEmpty { out.line("  (no store configured)") }
        for store in s.stores.sortedStores {
            var line = "  \(store.id): type \(store.type)"
            if let d = store.directory { line += ", directory \(d)" }
            if store.type != "file" && store.type != "s3" { line += " (this version cannot read \(store.type) stores: their files will be FAIL_READ)" }
            if let s3 = s.s3Stores[store.id.lowercased()] {
                line += ", bucket \(s3.bucket) at \(s3.endpoint.url), region \(s3.region), \(s3.usesVirtualHost ? "virtual-host style" : "path style"), credentials from \(s3.credentialSource)"
                if let ca = s3.caFile { line += ", CA bundle \(ca) (AWS_CA_BUNDLE)" }
            }
            line += "  [from \(store.origin)]"
            out.line(line)
            for (k, v) in store.parameters.sorted(by: { $0.key < $1.key }) where k != "type" && k != "directory" {
                out.line("    \(k) = \(Self.isSecret(k) ? "***" : v)")
            }
        }
        s.notifications.render(into: out)
        out.line("configuration OK")
    }

    static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        return k.contains("secret") || k.contains("password") || k.contains("key") && !k.contains("keystone") || k.contains("token")
    }
}
