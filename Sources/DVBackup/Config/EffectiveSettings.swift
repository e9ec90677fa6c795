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
        if let swift = s.backup.swift {
            renderSwift(swift, into: out)
        } else {
            out.line("  BackupDirectory = \(s.backup.backupDirectory)")
        }
        if let ssh = s.backup.ssh {
            out.line("  SshHost = \(ssh.host)")
            out.line("  SshPort = \(ssh.port)")
            out.line("  SshUsername = \(ssh.username)")
            out.line("  SshPrivateKey = \(ssh.privateKey ?? "(not set: ssh-agent, then \(ssh.privateKeyCandidates.joined(separator: ", ")))")")
            out.line("  SshPrivateKeyPassphraseEnv = \(ssh.passphraseEnv.map { "\($0) (its value: ***)" } ?? "(not set: the key has no passphrase)")")
            out.line("  SshKnownHosts = \(ssh.knownHosts)")
            out.line("  SshConnections = \(ssh.connections)")
            out.line("  SshHashDuringUpload = \(ssh.hashDuringUpload.map { $0 ? "yes" : "no" } ?? "yes (default)")")
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

    /// The Swift keys with where each value came from (the file's line, an OS_*/ST_*
    /// variable, a default); the key as `***`.
    func renderSwift(_ w: SwiftSettings, into out: OutputWriter) {
        func origin(_ key: String, _ fallback: String = "default") -> String {
            " (\(w.origins[key].map { $0.hasPrefix("line") || $0.hasPrefix("not set") ? $0 : "from \($0)" } ?? fallback))"
        }
        out.line("  SwiftAuthUrl = \(HTTPRequest.redacted(w.authURL))\(origin("SwiftAuthUrl"))")
        out.line("  SwiftAuthVersion = \(w.authVersion.rawValue)\(origin("SwiftAuthVersion"))")
        out.line("  SwiftUser = \(w.user)\(origin("SwiftUser"))")
        out.line("  SwiftKey = ***\(origin("SwiftKey"))")
        if w.authVersion == .v1 {
            out.line("  SwiftTenant = \(w.tenant.map { "\($0) (sent as \($0):\(w.user) unless SwiftUser has an account: part)" } ?? "(not set)")")
        } else {
            out.line("  SwiftTenant = \(w.tenant ?? "(not set)")\(origin("SwiftTenant"))")
            out.line("  SwiftUserDomain = \(w.userDomain)\(origin("SwiftUserDomain"))")
            out.line("  SwiftProjectDomain = \(w.projectDomain)\(origin("SwiftProjectDomain"))")
            out.line("  SwiftRegion = \(w.region.map { "\($0)\(origin("SwiftRegion"))" } ?? "(not set: the first public object-store endpoint)")")
        }
        out.line("  SwiftEndPoint = \(w.endpoint.map { HTTPRequest.redacted($0) } ?? "(not set: the storage URL the auth service returns)")")
        out.line("  SwiftContainer = \(w.container) (segments of large files in \(w.segmentContainer))")
        out.line("  SwiftSegmentSize = \(SizeParser.format(w.segmentSize)) (\(w.segmentSize) bytes)\(origin("SwiftSegmentSize"))")
        out.line("  SwiftRetryDelays = \(w.retryDelays.map { formatDecimal($0, places: $0 == $0.rounded() ? 0 : 2) }.joined(separator: " ")) (seconds)\(origin("SwiftRetryDelays"))")
        out.line("  BackupDirectory = (not used by StorageType swift)")
    }

    static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        return k.contains("secret") || k.contains("password") || k.contains("key") && !k.contains("keystone") || k.contains("token")
    }
}
