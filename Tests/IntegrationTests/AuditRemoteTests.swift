import DVBackup
import Foundation
import Testing

/// `dvbackup audit` on SFTP (hashed on the server where the account may run commands, read
/// back where it may not) and on Swift (GET, a large object's segment changed): a copy
/// deleted, one truncated, one with a flipped byte, found with the right status and reason
/// and healed by the next run; a target that cannot be reached is exit 3 and no finding.
@Suite(.enabled(if: TestSSH.enabled), .serialized)
struct AuditSFTPTests {
    func damageFindAndHeal(account: String, serverRoot: String, localRoot: String, seed: UInt64, how: String) throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: seed)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/AUDSFTP")
        let f = try (0..<4).map { i in try s.addFile(dataset: ds, size: 3000 + i, checksumType: i % 2 == 0 ? .md5 : .sha1) }
        let dirs = try s.remoteDirectory(account: account, serverRoot: serverRoot, localRoot: localRoot)
        let config = try s.writeSSHConfig(user: account, backupDirectory: dirs.remote)
        #expect(try s.dvbackup("run", config: config).code == 0)
        try Damage.delete(dirs.local + "/" + f[0].relativePath)
        try Damage.truncate(dirs.local + "/" + f[1].relativePath)
        try Damage.flipByte(dirs.local + "/" + f[2].relativePath)
        let before = try Damage.now(s)

        let audit = try s.dvbackup("audit", "--all", config: config)
        #expect(audit.code == 1, "\(audit.stdout)\n\(audit.stderr)")
        #expect(audit.stderr.contains("copies are proven by \(how)"), "\(audit.stderr)")
        let v = try s.verifications()
        #expect(v[f[0].id]?.status == "FAIL_AUDIT_MISSING")
        #expect(v[f[1].id]?.status == "FAIL_AUDIT_CORRUPT")
        #expect(v[f[1].id]?.lastError?.contains("holds 100 bytes, 3001 were copied") == true, "\(v[f[1].id]?.lastError ?? "")")
        #expect(v[f[2].id]?.status == "FAIL_AUDIT_CORRUPT")
        #expect(v[f[2].id]?.lastError?.contains(Digest.hex(.md5, of: f[2].bytes)) == true, "\(v[f[2].id]?.lastError ?? "")")
        #expect(try s.verifiedSince(before) == [f[3].id])

        let heal = try s.dvbackup("run", config: config)
        #expect(heal.code == 0, "\(heal.stdout)\n\(heal.stderr)")
        for x in f {
            #expect(try s.verifications()[x.id]?.status == "OK")
            #expect(FileManager.default.contents(atPath: dirs.local + "/" + x.relativePath).map { [UInt8]($0) } == x.bytes)
        }
        #expect(try s.dvbackup("audit", "--all", config: config).code == 0)
    }

    @Test func onTheServerThroughTheExecChannel() throws {
        try damageFindAndHeal(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir, seed: 521,
                              how: "the server's checksum command")
    }

    @Test func byReadingBackWhereTheAccountMayNotRunCommands() throws {
        try damageFindAndHeal(account: TestSSH.chrootUser, serverRoot: TestSSH.chrootBackupDir,
                              localRoot: TestSSH.chrootRoot + TestSSH.chrootBackupDir, seed: 522,
                              how: "reading the copy back over SFTP")
    }

    @Test func aServerThatCannotBeReachedIsExit3AndNoFinding() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 523)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/AUDDOWN")
        let f = try s.addFile(dataset: ds, size: 500)
        let dirs = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        #expect(try s.dvbackup("run", config: try s.writeSSHConfig(backupDirectory: dirs.remote)).code == 0)
        let down = try s.writeConfig(backupLines: [
            "StorageType = ssh", "SshHost = 127.0.0.1", "SshPort = 1", "SshUsername = \(TestSSH.user)",
            "BackupDirectory = \(dirs.remote)", "SshPrivateKey = \(TestSSH.key)", "SshKnownHosts = \(TestSSH.knownHosts)",
        ], name: "down.ini")
        let r = try s.dvbackup("audit", "--all", config: down)
        #expect(r.code == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(try s.verifications()[f.id]?.status == "OK")
    }
}

@Suite(.enabled(if: TestSwift.enabled), .serialized)
struct AuditSwiftTests {
    @Test func damagedObjectsAndALargeObjectWithAChangedSegmentAreFoundAndHealed() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 531)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/AUDSWIFT")
        let f = try (0..<4).map { i in try s.addFile(dataset: ds, size: 5000 + i, checksumType: i % 2 == 0 ? .md5 : .sha256) }
        let big = try s.addFile(dataset: ds, size: 3 * (1 << 20) + 1234, checksumType: .sha256)
        let config = try s.writeSwiftConfig(authURL: authURL, container: container, extra: ["SwiftSegmentSize = 1MiB"])
        let run = try s.dvbackup("run", config: config)
        #expect(run.code == 0, "\(run.stdout)\n\(run.stderr)")

        _ = try probe.request(.delete, probe.url(container, f[0].relativePath))
        _ = try probe.request(.put, probe.url(container, f[1].relativePath), body: Array(f[1].bytes.prefix(100)))
        var flipped = f[2].bytes
        flipped[17] ^= 1
        _ = try probe.request(.put, probe.url(container, f[2].relativePath), body: flipped)
        // The second segment of the large object replaced by other bytes of the same size.
        let segments = try probe.manifestSegments(container, big.relativePath)
        let second = String(try #require(segments.dropFirst().first).dropFirst(container.count + "_segments/".count))
        _ = try probe.request(.put, probe.url(container + "_segments", second), body: [UInt8](repeating: 7, count: 1 << 20))
        // --quick trusts what HEAD says: the changed segment goes unseen, and is only "present".
        let quick = try s.dvbackup("audit", "--quick", "--dataset", "doi:10.5072/FK2/AUDSWIFT", config: config)
        #expect(quick.code == 1)
        #expect(try s.verifications()[big.id]?.status == "OK")
        #expect(try s.verifications()[f[1].id]?.status == "FAIL_AUDIT_CORRUPT", "HEAD shows the size")

        let audit = try s.dvbackup("audit", "--all", config: config)
        #expect(audit.code == 1, "\(audit.stdout)\n\(audit.stderr)")
        let v = try s.verifications()
        #expect(v[f[0].id]?.status == "FAIL_AUDIT_MISSING")
        #expect(v[f[2].id]?.status == "FAIL_AUDIT_CORRUPT")
        #expect(v[f[2].id]?.lastError?.contains(Digest.hex(.md5, of: flipped)) == true, "\(v[f[2].id]?.lastError ?? "")")
        #expect(v[big.id]?.status == "FAIL_AUDIT_CORRUPT")
        #expect(v[big.id]?.lastError?.contains("stopped at") == true || v[big.id]?.lastError?.contains("409") == true,
                "where the bytes stopped: \(v[big.id]?.lastError ?? "")")
        #expect(v[f[3].id]?.status == "OK")

        let heal = try s.dvbackup("run", config: config)
        #expect(heal.code == 0, "\(heal.stdout)\n\(heal.stderr)")
        for x in f + [big] {
            #expect(try s.verifications()[x.id]?.status == "OK")
            #expect(try probe.digest(container, x.relativePath, .sha256)?.hex == Digest.hex(.sha256, of: x.bytes))
        }
        #expect(try s.dvbackup("audit", "--all", config: config).code == 0)
    }

    @Test func aClusterThatCannotBeReachedIsExit3() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 532)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/AUDSWDOWN")
        let f = try s.addFile(dataset: ds, size: 500)
        let container = s.swiftContainer
        let probe = try SwiftProbe(authURL: authURL)
        defer { probe.destroy(container) }
        #expect(try s.dvbackup("run", config: try s.writeSwiftConfig(authURL: authURL, container: container)).code == 0)
        let down = try s.writeSwiftConfig(authURL: "http://127.0.0.1:1/auth/v1.0", container: container, name: "down.ini")
        let r = try s.dvbackup("audit", "--all", config: down)
        #expect(r.code == 3, "\(r.stdout)\n\(r.stderr)")
        #expect(try s.verifications()[f.id]?.status == "OK")
    }
}
