import Foundation
import Testing
@testable import DVBackup

/// `check-config` output: everything a run will use, never a secret.
@Suite struct EffectiveSettingsTests {
    private let secretConfig = minimalConfig(
        database: "Host = db.example.edu\nPort = 5433\nDatabase = dvndb\nUsername = dvnapp\nPassword = Hunter2-Db-Pass\nBackupDatabase = backupdb",
        backup: "StorageType = local\nBackupDirectory = /backup\nIncrementalOverlap = 90m\nSwiftKey = SwiftKeyValue42",
        extra: """
            [Repository]
            FileSystemDirectory = /srv/files
            [Stores]
            dataverse.files.s3.type = s3
            dataverse.files.s3.bucket-name = dv-bucket-name
            dataverse.files.s3.access-key = AccessKeyValue42
            dataverse.files.s3.secret-key = SecretKeyValue42
            dataverse.files.s3.globus-token = TokenValue42
            dataverse.files.s3.keystone-url = https://keystone.example.edu
            dataverse.files.remote.type = remote
            dataverse.files.remote.password = RemotePassValue42
            [Notifications]
            Email = a@x.edu, b@y.edu

            """)

    private func render(_ text: String) throws -> String {
        let s = try settings(text)
        return try captureOutput { EffectiveSettings(s).render(into: $0) }
    }

    @Test func neverPrintsSecrets() throws {
        let out = try render(secretConfig)
        for secret in ["Hunter2-Db-Pass", "SwiftKeyValue42", "AccessKeyValue42", "SecretKeyValue42",
                       "TokenValue42", "RemotePassValue42"] {
            #expect(!out.contains(secret), "\(secret) is printed")
        }
        #expect(out.contains("Password = ***"))
        #expect(out.contains("access-key = ***"))
        #expect(out.contains("secret-key = ***"))
        #expect(out.contains("globus-token = ***"))
        #expect(out.contains("password = ***"))
    }

    @Test func printsTheNonSecretSettings() throws {
        let out = try render(secretConfig)
        #expect(out.hasPrefix("configuration file: \(configPath)\n"))
        #expect(out.contains("Host = db.example.edu"))
        #expect(out.contains("Port = 5433"))
        #expect(out.contains("BackupDatabase = backupdb"))
        #expect(out.contains("FileSystemDirectory = /srv/files"))
        #expect(out.contains("BackupDirectory = /backup"))
        #expect(out.contains("IncrementalOverlap = 1h30m (5400 s)"))
        #expect(out.contains("bucket-name = dv-bucket-name"))
        #expect(out.contains("keystone-url = https://keystone.example.edu"))
        #expect(out.contains("Email = a@x.edu, b@y.edu"))
        #expect(out.contains("file: type file, directory /srv/files"))
        #expect(out.contains("s3: type s3, bucket dv-bucket-name at https://s3."))
        #expect(out.contains("credentials from the store's access-key/secret-key"))
        #expect(out.hasSuffix("configuration OK\n"))
    }

    @Test func absentPasswordIsSaidToComeFromLibpq() throws {
        let out = try render(minimalConfig())
        #expect(out.contains("Password = (not set"))
        #expect(!out.contains("Password = ***"))
        #expect(out.contains("(no store configured)"))
        #expect(out.contains("Email = (none)"))
    }

    @Test(arguments: [
        ("secret-key", true), ("access-key", true), ("password", true), ("auth-token", true),
        ("SECRET", true), ("keystone-url", false), ("bucket-name", false), ("label", false),
        ("custom-endpoint-url", false),
    ])
    func secretLookingKeys(key: String, secret: Bool) {
        #expect(EffectiveSettings.isSecret(key) == secret)
    }

    @Test func renderingThroughAPipe() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let s = try settings(secretConfig)
        do {
            let out = OutputWriter(fd: fds[1])
            EffectiveSettings(s).render(into: out)
            out.flush()
        }
        close(fds[1])
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("configuration OK"))
        #expect(!text.contains("Hunter2-Db-Pass"))
    }
}
