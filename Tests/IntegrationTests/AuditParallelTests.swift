@testable import DVBackup
import Foundation
import Logging
import Testing

/// An SFTP audit on several connections (SshConnections), each hashing its batch on the
/// server: batches capped at two copies here, so that nine copies make rounds of three
/// batches at once; every finding lands on its own file, whatever connection proved it.
@Suite(.enabled(if: TestSSH.enabled), .serialized)
struct AuditParallelTests {
    @Test func batchesProvenAtOnceOnSeveralConnectionsKeepTheirFindings() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 591)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/AUDPAR")
        let f = try (0..<9).map { i in try s.addFile(dataset: ds, size: 2000 + i, checksumType: i % 3 == 0 ? .sha1 : .md5) }
        let dirs = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        let config = try s.writeSSHConfig(backupDirectory: dirs.remote, connections: 3)
        #expect(try s.dvbackup("run", config: config).code == 0)
        try s.setLastVerified(f)
        try Damage.delete(dirs.local + "/" + f[1].relativePath)
        try Damage.flipByte(dirs.local + "/" + f[4].relativePath)
        try Damage.truncate(dirs.local + "/" + f[7].relativePath)
        let before = try Damage.now(s)

        let settings = try Settings.load(path: config)
        var request = AuditRequest()
        request.all = true
        let auditor = Auditor(settings: settings, request: request, logger: Logger(label: "audit-test"))
        auditor.maxBatchSize = 2
        #expect(auditor.run() == DVBackup.ExitStatus.filesFailed)
        guard case .finished(let summary) = auditor.outcome else { Issue.record("the audit did not finish"); return }
        #expect(summary.verified == 6 && summary.missing == 1 && summary.corrupt == 2 && summary.unreadable == 0)
        #expect(auditor.rounds?.connections == 3, "one connection per SshConnections")

        let v = try s.verifications()
        #expect(v[f[1].id]?.status == "FAIL_AUDIT_MISSING")
        #expect(v[f[4].id]?.status == "FAIL_AUDIT_CORRUPT")
        #expect(v[f[4].id]?.lastError?.contains(Digest.hex(.md5, of: f[4].bytes)) == true, "\(v[f[4].id]?.lastError ?? "")")
        #expect(v[f[7].id]?.status == "FAIL_AUDIT_CORRUPT")
        #expect(v[f[7].id]?.lastError?.contains("holds 100 bytes, 2007 were copied") == true, "\(v[f[7].id]?.lastError ?? "")")
        #expect(try s.verifiedSince(before) == Set([0, 2, 3, 5, 6, 8].map { f[$0].id }))
        // One copy due: one connection is enough.
        var one = AuditRequest()
        one.selection = AuditSelection(datafiles: [f[0].id])
        let narrow = Auditor(settings: settings, request: one, logger: Logger(label: "audit-test"))
        #expect(narrow.run() == DVBackup.ExitStatus.success)
        #expect(narrow.rounds?.connections == 1)
        for i in [0, 2, 3, 5, 6, 8] { #expect(v[f[i].id]?.method == "audit: hashed on the server by \(i % 3 == 0 ? "sha1sum" : "md5sum")") }
    }
}
