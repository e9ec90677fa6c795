import Foundation
import Testing
@testable import DVBackup

/// Issue 15, point 3: a value continued on an indented line (an indented `Password:` under
/// `Username:`) is an error naming the file, line and key, without the value.
@Suite struct SettingsMultiLineTests {
    @Test func indentedPasswordUnderUsernameIsRefusedWithoutEchoingIt() throws {
        let text = minimalConfig(database: "Host = db\nDatabase = dvndb\nUsername = dvnapp\n    Password = hunter2-secret\nBackupDatabase = backupdb")
        let e = try #require(configError(text))
        #expect(e.path == configPath)
        #expect(e.line == lineNumber(of: "hunter2-secret", in: text))
        #expect(e.section == "Database")
        #expect(e.key == "Username")
        #expect(e.description.hasPrefix("/etc/dvbackup/config.ini:5: [Database] Username: line 5 is indented"))
        #expect(!e.description.contains("hunter2"))
        #expect(!e.description.contains("dvnapp"))
    }

    /// Every key dvbackup reads takes one line, in every section it reads.
    @Test(arguments: [
        minimalConfig(backup: "StorageType = local\nBackupDirectory = /backup\n\tmore"),
        minimalConfig(extra: "[Notifications]\nEmail = a@example.edu\n  b@example.edu\n"),
        minimalConfig(extra: "[Repository]\nFileSystemDirectory = /data\n  /more\n"),
        minimalConfig(extra: "[Stores]\ndataverse.files.s3.type = s3\n  x\n"),
    ])
    func anyContinuedValueIsRefused(text: String) throws {
        let e = try #require(configError(text))
        #expect(e.line == text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.first == " " || $0.first == "\t" }.map { $0 + 1 })
        #expect(e.message.contains("takes one line"))
    }

    /// A section dvbackup ignores may hold what it likes (it is only warned about).
    @Test func anIgnoredSectionMayContinueValues() throws {
        let s = try settings(minimalConfig(extra: "[Other]\nList = a\n  b\n"))
        #expect(s.warnings.contains { $0.contains("[Other] is not a section dvbackup knows") })
    }
}

/// A configuration holding a secret that every user can read is warned about, naming the
/// file and its mode (never the secret).
@Suite struct WorldReadableConfigTests {
    private func load(_ text: String, mode: Int) throws -> [String] {
        let dir = TempDirectory()
        defer { dir.remove() }
        let file = try dir.write("config.ini", text: text)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
        return try Settings.load(path: file).warnings.filter { $0.contains("every user") }
    }

    @Test func passwordInA0644FileIsWarnedAbout() throws {
        let text = minimalConfig(database: "Host = db\nDatabase = dvndb\nUsername = dvnapp\nPassword = pw-1234\nBackupDatabase = backupdb")
        let w = try load(text, mode: 0o644)
        #expect(w.count == 1)
        let line = try #require(w.first)
        #expect(line.contains("config.ini holds a secret ([Database] Password, line 5)"))
        #expect(line.contains("(mode 0644)"))
        #expect(!line.contains("pw-1234"))
        #expect(try load(text, mode: 0o640).isEmpty)
        #expect(try load(text, mode: 0o600).isEmpty)
    }

    @Test func noSecretNoWarning() throws {
        #expect(try load(minimalConfig(), mode: 0o644).isEmpty)
        // An empty Password is no secret (libpq then reads ~/.pgpass).
        #expect(try load(minimalConfig(database: "Host = db\nDatabase = dvndb\nUsername = u\nPassword =\nBackupDatabase = b"), mode: 0o644).isEmpty)
    }

    @Test func otherSecretsCount() throws {
        let mail = minimalConfig(extra: "[Notifications]\nEmail = a@example.edu\nSmtpUser = u\nSmtpPassword = mailpw\n")
        #expect(try load(mail, mode: 0o604).first?.contains("[Notifications] SmtpPassword") == true)
        let s3 = minimalConfig(extra: "[Stores]\ndataverse.files.s3.type = s3\ndataverse.files.s3.secret-key = abc\n")
        let ini = try INIFile(parsing: s3, path: configPath)
        #expect(ConfigFileChecks.worldReadableSecretWarning(ini, mode: 0o644)?.contains("dataverse.files.s3.secret-key") == true)
    }

    @Test(arguments: [("Password", true), ("SwiftKey", true), ("SmtpPassword", true),
                      ("dataverse.files.s3.secret-key", true), ("dataverse.files.s3.access-key", true),
                      ("SshPrivateKey", false), ("SshPrivateKeyPassphraseEnv", false), ("SmtpPasswordEnv", false),
                      ("Username", false), ("SwiftUser", false)])
    func whichKeysAreSecrets(key: String, secret: Bool) {
        #expect(ConfigFileChecks.isSecretKey(key) == secret)
    }
}
