import Foundation
import Logging
import Testing
@testable import DVBackup

/// The config.ini shipped with the original run_backup.py (scripts/backup/run_backup in the
/// Dataverse repository), with StorageType switched to `local`.
let originalConfigINI = """
    [Database]
    ; Dataverse database access configuration
    ; Note that this section is REQUIRED! -
    ; you must be able to access the database in order to run the backup module.

    Host: localhost
    Port: 5432
    Database: dvndb
    Username: dvnapp
    Password: xxxxxx
    BackupDatabase: backupdb

    [Repository]
    ; configuration for files stored on the filesystem
    ; (the filesystem needs to be accessible by the system running the backup module)

    FileSystemDirectory: /usr/local/glassfish4/glassfish/domains/domain1/files

    [Backup]
    ; ssh configuration:

    StorageType: local
    SshHost: backup.dataverse.edu
    ; ssh port is optional, defaults to 22
    SshPort: 22
    SshUsername: backup
    ; the directory on the remote server where the files will be copied to:
    BackupDirectory: /dataverse_backup

    ; Swift configuration:

    ;StorageType: swift
    SwiftAuthUrl: https://something.dataverse.edu/swift/v2.0/tokens
    SwiftAuthVersion: 2
    SwiftUser: xxx
    SwiftKey: yyy
    ; Note that the 'tenant' setting is only needed for Auth v.1 and 2.
    SwiftTenant: zzz
    SwiftEndPoint: https://something.dataverse.edu/swift/v1

    [Notifications]
    Email: somebody@dataverse.edu

    """

/// A minimal valid file; `extra` is appended (more sections), `replacing` edits lines.
func minimalConfig(database: String = "Host = db\nDatabase = dvndb\nUsername = dvnapp\nBackupDatabase = backupdb",
                   backup: String = "StorageType = local\nBackupDirectory = /backup",
                   extra: String = "") -> String {
    "[Database]\n\(database)\n\n[Backup]\n\(backup)\n\(extra)"
}

let configPath = "/etc/dvbackup/config.ini"

func settings(_ text: String) throws -> Settings {
    try Settings(ini: INIFile(parsing: text, path: configPath))
}

/// The ConfigError that reading `text` throws (nil when it loads).
func configError(_ text: String) -> ConfigError? {
    do {
        _ = try settings(text)
        return nil
    } catch let e as ConfigError {
        return e
    } catch {
        Issue.record("unexpected error type \(error)")
        return nil
    }
}

/// The line number (1-based) of the first line of `text` that contains `needle`.
func lineNumber(of needle: String, in text: String) -> Int? {
    text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(needle) }.map { $0 + 1 }
}

@Suite struct SettingsTests {
    // MARK: the original shape

    @Test func originalConfigLoadsWithLocalStorage() throws {
        let s = try settings(originalConfigINI)
        #expect(s.path == configPath)
        #expect(s.database.host == "localhost")
        #expect(s.database.port == 5432)
        #expect(s.database.database == "dvndb")
        #expect(s.database.username == "dvnapp")
        #expect(s.database.password == "xxxxxx")
        #expect(s.database.backupDatabase == "backupdb")
        #expect(s.fileSystemDirectory == "/usr/local/glassfish4/glassfish/domains/domain1/files")
        #expect(s.backup.storageType == .local)
        #expect(s.backup.backupDirectory == "/dataverse_backup")
        #expect(s.backup.incrementalOverlapSeconds == 86_400)
        #expect(s.backup.logLevel == .info)
        #expect(s.backup.workers == 2)
        #expect(s.notificationEmails == ["somebody@dataverse.edu"])
        // The Ssh*/Swift* keys of the original are known: no warnings.
        #expect(s.warnings.isEmpty, "\(s.warnings)")
        // FileSystemDirectory is the store `file`, used by bare legacy names.
        let file = try #require(s.stores.store(for: nil))
        #expect(file.id == "file")
        #expect(file.type == "file")
        #expect(file.directory == "/usr/local/glassfish4/glassfish/domains/domain1/files")
        #expect(s.stores.store(for: "file")?.directory == file.directory)
        #expect(s.stores.stores.count == 1)
    }

    @Test func originalConfigLoadsFromAFile() throws {
        try withTempDirectory { dir in
            let path = try dir.write("config.ini", text: originalConfigINI)
            let s = try Settings.load(path: path)
            #expect(s.path == path)
            #expect(s.database.backupDatabase == "backupdb")
            #expect(s.backup.backupDirectory == "/dataverse_backup")
        }
    }

    @Test func originalConfigWithWindowsLineEndsLoads() throws {
        try withTempDirectory { dir in
            let secret = "Pa55-word-42"
            let text = originalConfigINI
                .replacingOccurrences(of: "Password: xxxxxx", with: "Password: \(secret)")
                .replacingOccurrences(of: "\n", with: "\r\n")
            let path = try dir.write("config.ini", text: text)
            try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)  // as installed
            do {
                let s = try Settings.load(path: path)
                #expect(s.database.password == secret)
                #expect(s.backup.backupDirectory == "/dataverse_backup")
                #expect(s.warnings.isEmpty, "\(s.warnings)")
            } catch {
                #expect(!String(describing: error).contains(secret), "the error message prints the password")
                throw error
            }
        }
    }

    @Test func originalConfigWithAByteOrderMarkLoadsFromAFile() throws {
        try withTempDirectory { dir in
            let path = try dir.write("config.ini", [0xEF, 0xBB, 0xBF] + Array(originalConfigINI.utf8))
            try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)  // as installed
            let s = try Settings.load(path: path)
            #expect(s.database.host == "localhost")
            #expect(s.warnings.isEmpty)
        }
    }

    @Test func databaseConnectionInfoUsesBothDatabases() throws {
        let s = try settings(originalConfigINI)
        #expect(s.database.catalog.database == "dvndb")
        #expect(s.database.backup.database == "backupdb")
    }

    // MARK: defaults and values

    @Test func portDefaultsTo5432AndPasswordToNil() throws {
        let s = try settings(minimalConfig())
        #expect(s.database.port == 5432)
        #expect(s.database.password == nil)
        #expect(s.fileSystemDirectory == nil)
        #expect(s.notificationEmails.isEmpty)
        #expect(s.stores.stores.isEmpty)
    }

    @Test func explicitPortAndPassword() throws {
        let s = try settings(minimalConfig(database: "Host = db\nPort = 6543\nDatabase = d\nUsername = u\nPassword = s3cr;t#x\nBackupDatabase = b"))
        #expect(s.database.port == 6543)
        #expect(s.database.password == "s3cr;t#x")
    }

    @Test(arguments: [("24h", Int64(86_400)), ("90m", 5_400), ("0", 0), ("1h30m", 5_400), ("2d", 172_800), ("45s", 45)])
    func incrementalOverlapParsed(text: String, seconds: Int64) throws {
        let s = try settings(minimalConfig(backup: "StorageType = local\nBackupDirectory = /b\nIncrementalOverlap = \(text)"))
        #expect(s.backup.incrementalOverlapSeconds == seconds)
    }

    @Test func logLevelAndWorkers() throws {
        let s = try settings(minimalConfig(backup: "StorageType = LOCAL\nBackupDirectory = /b\nLogLevel = Debug\nWorkers = 8"))
        #expect(s.backup.storageType == .local)
        #expect(s.backup.logLevel == .debug)
        #expect(s.backup.workers == 8)
    }

    @Test func notificationEmailsSplitOnCommas() throws {
        let s = try settings(minimalConfig(extra: "[Notifications]\nEmail = a@x.edu, b@y.edu ,,c@z.edu\n"))
        #expect(s.notificationEmails == ["a@x.edu", "b@y.edu", "c@z.edu"])
    }

    @Test func unknownKeysProduceWarnings() throws {
        let text = minimalConfig(database: "Host = db\nDatabase = d\nUsername = u\nBackupDatabase = b\nHots = typo",
                                 backup: "StorageType = local\nBackupDirectory = /b\nWorker = 3",
                                 extra: "[Repository]\nFileSystemDirectory = /files\nFileSystemDir = /x\n")
        let s = try settings(text)
        #expect(s.warnings.count == 3, "\(s.warnings)")
        let all = s.warnings.joined(separator: "\n")
        for key in ["Hots", "Worker", "FileSystemDir"] {
            #expect(all.contains(key))
        }
        let hotsLine = try #require(lineNumber(of: "Hots", in: text))
        #expect(all.contains("\(configPath):\(hotsLine): [Database] Hots"))
        // The values are not echoed.
        #expect(!all.contains("typo"))
        // Unknown keys are ignored, not applied.
        #expect(s.backup.workers == 2)
    }

    @Test func unknownKeyInNotificationsProducesAWarning() throws {
        // A misspelt Email key means nobody is notified; it should be warned about like
        // unknown keys of the other sections.
        let s = try settings(minimalConfig(extra: "[Notifications]\nEmails = admin@x.edu\n"))
        #expect(s.notificationEmails.isEmpty)
        #expect(s.warnings.contains { $0.contains("Emails") })
    }

    @Test func duplicateKeyWarningReachesSettings() throws {
        let s = try settings(minimalConfig(database: "Host = a\nHost = b\nDatabase = d\nUsername = u\nBackupDatabase = b"))
        #expect(s.database.host == "b")
        #expect(s.warnings.count == 1)
    }

    // MARK: errors

    private func expectError(_ text: String, line: Int?, section: String?, key: String?,
                             mentioning words: [String] = [],
                             sourceLocation: SourceLocation = #_sourceLocation) {
        guard let e = configError(text) else {
            Issue.record("the configuration loaded, an error was expected", sourceLocation: sourceLocation)
            return
        }
        #expect(e.path == configPath, sourceLocation: sourceLocation)
        #expect(e.line == line, "\(e)", sourceLocation: sourceLocation)
        #expect(e.section?.lowercased() == section?.lowercased(), "\(e)", sourceLocation: sourceLocation)
        #expect(e.key?.lowercased() == key?.lowercased(), "\(e)", sourceLocation: sourceLocation)
        let d = e.description
        #expect(d.hasPrefix(configPath + (line.map { ":\($0)" } ?? "") + ": "), "\(d)", sourceLocation: sourceLocation)
        if let section { #expect(d.contains("[\(section)]"), "\(d)", sourceLocation: sourceLocation) }
        if let key { #expect(d.lowercased().contains(key.lowercased()), "\(d)", sourceLocation: sourceLocation) }
        for w in words { #expect(d.contains(w), "\(d)", sourceLocation: sourceLocation) }
    }

    @Test(arguments: ["Database", "Backup"])
    func missingSection(name: String) {
        let text = name == "Database"
            ? "[Backup]\nStorageType = local\nBackupDirectory = /b\n"
            : "[Database]\nHost = db\nDatabase = d\nUsername = u\nBackupDatabase = b\n"
        expectError(text, line: nil, section: name, key: nil, mentioning: ["missing"])
    }

    @Test(arguments: ["Host", "Database", "Username", "BackupDatabase"])
    func missingDatabaseKey(key: String) {
        let lines = ["Host = db", "Database = d", "Username = u", "BackupDatabase = b"].filter { !$0.hasPrefix(key + " ") }
        let text = minimalConfig(database: lines.joined(separator: "\n"))
        // The line is that of the section header.
        expectError(text, line: 1, section: "Database", key: key, mentioning: ["missing"])
    }

    @Test func missingStorageTypeAndBackupDirectory() {
        let noType = minimalConfig(backup: "BackupDirectory = /b")
        expectError(noType, line: lineNumber(of: "[Backup]", in: noType), section: "Backup", key: "StorageType")
        let noDir = minimalConfig(backup: "StorageType = local")
        expectError(noDir, line: lineNumber(of: "[Backup]", in: noDir), section: "Backup", key: "BackupDirectory")
    }

    @Test func emptyValue() {
        let text = minimalConfig(database: "Host =\nDatabase = d\nUsername = u\nBackupDatabase = b")
        expectError(text, line: 2, section: "Database", key: "Host", mentioning: ["empty"])
        let repo = minimalConfig(extra: "[Repository]\nFileSystemDirectory:\n")
        expectError(repo, line: lineNumber(of: "FileSystemDirectory", in: repo), section: "Repository",
                    key: "FileSystemDirectory", mentioning: ["empty"])
    }

    @Test func unknownStorageType() {
        let text = minimalConfig(backup: "StorageType = tape\nBackupDirectory = /b")
        expectError(text, line: lineNumber(of: "StorageType", in: text), section: "Backup", key: "StorageType",
                    mentioning: ["tape"])
    }

    /// The original file's Swift keys are read; SwiftContainer is new and required.
    @Test(arguments: ["swift", "Swift"])
    func originalConfigWithSwiftNeedsAContainer(type: String) {
        let text = originalConfigINI.replacingOccurrences(of: "StorageType: local", with: "StorageType: \(type)")
        let e = configError(text)
        #expect(e?.key == "SwiftContainer")
        #expect(e?.message.contains("the key is missing") == true)
    }

    @Test func originalConfigWithSshLoadsWithItsKeysAndDefaults() throws {
        let text = originalConfigINI.replacingOccurrences(of: "StorageType: local", with: "StorageType: ssh")
        let s = try Settings(ini: INIFile(parsing: text, path: "/etc/dvbackup/config.ini"))
        let ssh = try #require(s.backup.ssh)
        #expect(s.backup.storageType == .ssh)
        #expect(ssh.host == "backup.dataverse.edu")
        #expect(ssh.port == 22)
        #expect(ssh.username == "backup")
        #expect(s.backup.backupDirectory == "/dataverse_backup")
        #expect(ssh.privateKey == nil)
        #expect(ssh.privateKeyCandidates.map { ($0 as NSString).lastPathComponent } == ["id_ed25519", "id_ecdsa", "id_rsa"])
        #expect(ssh.knownHosts.hasSuffix("/.ssh/known_hosts"))
        #expect(ssh.connections == 4)
        #expect(s.backup.workers == 4, "one worker per SSH connection")
        #expect(s.warnings.isEmpty, "\(s.warnings)")
    }

    @Test func sshKeysAreRead() throws {
        let text = minimalConfig(backup: """
            StorageType = ssh
            SshHost = 127.0.0.1
            SshPort = 2222
            SshUsername = dvb
            BackupDirectory = /srv/backup
            SshPrivateKey = /etc/dvbackup/id_ed25519
            SshKnownHosts = /etc/dvbackup/known_hosts
            SshConnections = 8
            """)
        let s = try Settings(ini: INIFile(parsing: text, path: "c.ini"))
        let ssh = try #require(s.backup.ssh)
        #expect(ssh.port == 2222 && ssh.connections == 8)
        #expect(ssh.privateKeyCandidates == ["/etc/dvbackup/id_ed25519"])
        #expect(ssh.knownHosts == "/etc/dvbackup/known_hosts")
        let c = ssh.connection()
        #expect(c.knownHostsName == "[127.0.0.1]:2222")
        #expect(c.display == "dvb@127.0.0.1:2222")
    }

    @Test(arguments: [
        ("StorageType = ssh\nSshUsername = u\nBackupDirectory = /b", "SshHost"),
        ("StorageType = ssh\nSshHost = h\nBackupDirectory = /b", "SshUsername"),
        ("StorageType = ssh\nSshHost = h\nSshUsername = u", "BackupDirectory"),
        ("StorageType = ssh\nSshHost = h\nSshUsername = u\nBackupDirectory = /b\nSshPort = 0", "SshPort"),
        ("StorageType = ssh\nSshHost = h\nSshUsername = u\nBackupDirectory = /b\nSshConnections = 99", "SshConnections"),
        ("StorageType = ssh\nSshHost = h\nSshUsername = u\nBackupDirectory = /b\nSshKnownHosts = known", "SshKnownHosts"),
        ("StorageType = ssh\nSshHost = h\nSshUsername = u\nBackupDirectory = /b\nSshPrivateKeyPassphraseEnv = DVBACKUP_NO_SUCH_VARIABLE_X", "SshPrivateKeyPassphraseEnv"),
    ])
    func sshMistakesNameTheirKey(backup: String, key: String) {
        let text = minimalConfig(backup: backup)
        let line = text.contains(key + " =") ? lineNumber(of: key + " =", in: text) : lineNumber(of: "[Backup]", in: text)
        expectError(text, line: line, section: "Backup", key: key, mentioning: key == "SshPrivateKeyPassphraseEnv" ? ["DVBACKUP_NO_SUCH_VARIABLE_X", "not set"] : [key])
    }

    @Test(arguments: ["backup", "./backup", "~/backup"])
    func relativeBackupDirectory(dir: String) {
        let text = minimalConfig(backup: "StorageType = local\nBackupDirectory = \(dir)")
        expectError(text, line: lineNumber(of: "BackupDirectory", in: text), section: "Backup", key: "BackupDirectory",
                    mentioning: ["absolute", dir])
    }

    @Test(arguments: ["24", "1 day ago", "-1h", "forever"])
    func badDuration(text value: String) {
        let text = minimalConfig(backup: "StorageType = local\nBackupDirectory = /b\nIncrementalOverlap = \(value)")
        expectError(text, line: lineNumber(of: "IncrementalOverlap", in: text), section: "Backup",
                    key: "IncrementalOverlap", mentioning: [value])
    }

    @Test(arguments: ["0", "65", "two", "-1", ""])
    func badWorkers(value: String) {
        let text = minimalConfig(backup: "StorageType = local\nBackupDirectory = /b\nWorkers = \(value)")
        expectError(text, line: lineNumber(of: "Workers", in: text), section: "Backup", key: "Workers")
    }

    @Test(arguments: ["0", "70000", "postgres"])
    func badPort(value: String) {
        let text = minimalConfig(database: "Host = db\nPort = \(value)\nDatabase = d\nUsername = u\nBackupDatabase = b")
        expectError(text, line: 3, section: "Database", key: "Port", mentioning: [value])
    }

    @Test func badLogLevel() {
        let text = minimalConfig(backup: "StorageType = local\nBackupDirectory = /b\nLogLevel = loud")
        expectError(text, line: lineNumber(of: "LogLevel", in: text), section: "Backup", key: "LogLevel",
                    mentioning: ["loud"])
    }

    @Test func badPasswordLineDoesNotLeakTheValue() {
        // A bad Port never echoes the password, which is on another line.
        guard let e = configError(minimalConfig(database: "Host = db\nPort = x\nDatabase = d\nUsername = u\nPassword = hunter2secret\nBackupDatabase = b")) else {
            Issue.record("expected an error")
            return
        }
        #expect(!e.description.contains("hunter2secret"))
    }

    @Test func nonexistentFile() throws {
        try withTempDirectory { dir in
            let path = dir.join("missing.ini")
            let e = try #require(throws: ConfigError.self) { try Settings.load(path: path) }
            #expect(e.path == path)
            #expect(e.description.hasPrefix(path + ": "), "\(e)")
            #expect(e.description.contains("no such file"), "\(e)")
        }
    }

    @Test func directoryGivenAsTheFile() throws {
        try withTempDirectory { dir in
            let e = try #require(throws: ConfigError.self) { try Settings.load(path: dir.path) }
            #expect(e.path == dir.path)
            #expect(e.description.hasPrefix(dir.path + ": "), "\(e)")
            #expect(e.description.contains("directory"), "\(e)")
        }
    }

    @Test func syntaxErrorInAFileNamesFileAndLine() throws {
        try withTempDirectory { dir in
            let path = try dir.write("config.ini", text: "[Database]\nHost = h\n[Backup\n")
            do throws(ConfigError) {
                _ = try Settings.load(path: path)
                Issue.record("expected an error")
            } catch {
                #expect(error.path == path)
                #expect(error.line == 3)
                #expect(error.description.hasPrefix("\(path):3: "))
            }
        }
    }
}
