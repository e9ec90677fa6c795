import DVBackup
import Foundation
import Testing

/// Audits and backup runs never work at the same time against one backup database: the one
/// that finds the lock held stops with exit 3, and its message names the holder's mode and
/// run id. The holder here is this test's own session, which takes the lock and writes its
/// row as `dvbackup audit` and `dvbackup run` do (`StatusStore.tryLock`, `startRun`).
@Suite(.enabled(if: TestPostgres.enabled))
struct AuditLockTests {
    /// Holds the lock, as a run or an audit of `mode` does, until `release`.
    final class Holder {
        let status: StatusStore
        let runId: Int64

        init(_ s: Sandbox, mode: String) throws {
            status = StatusStore(connection: try s.backupConnection())
            // Named as a run's sessions are (`dvbackup run <mode> pid <pid> on host <host>`),
            // so that the holder is found by its session as well as by its row.
            try status.db.query("SELECT set_config('application_name', $1, false)",
                                [String("dvbackup run \(mode) pid \(getpid()) on host \(WallClock.hostname())".prefix(63))])
            guard try status.tryLock() else { throw TestFailure("the lock is already held") }
            runId = try status.startRun(mode: mode, method: "test", target: s.backupDir)
        }

        func release() throws {
            try status.db.query("UPDATE dvbackup_run SET state = 'finished', finished = now() WHERE id = $1::bigint", [String(runId)])
            try status.db.query("SELECT pg_advisory_unlock($1::bigint)", [String(StatusStore.lockKey)])
        }
    }

    func world(seed: UInt64, mail: [String]? = nil) throws -> (Sandbox, String) {
        let s = try Sandbox(seed: seed)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/LOCK\(seed)")
        _ = try s.addFile(dataset: ds, size: 500)
        let config = try mail.map { try s.writeMailConfig($0) } ?? s.writeConfig()
        let r = try s.dvbackup("run", config: config)
        #expect(r.code == 0, "\(r.stderr)")
        return (s, config)
    }

    @Test func aRunBlockedByAnAuditNamesTheAudit() throws {
        let (s, config) = try world(seed: 561)
        let audit = try Holder(s, mode: AuditSide.copies.rawValue)
        let run = try s.dvbackup("run", config: config)
        #expect(run.code == 3, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("holds the lock") && run.stderr.contains("run \(audit.runId) (audit), started"), "\(run.stderr)")
        try audit.release()
        #expect(try s.dvbackup("run", config: config).code == 0, "once the audit has ended, runs go on")
    }

    @Test func anAuditBlockedByARunNamesTheRun() throws {
        let (s, config) = try world(seed: 562)
        let run = try Holder(s, mode: "incremental")
        for (args, side) in [(["audit", "--all"], "audit"), (["audit", "--source", "--all"], "audit-source")] {
            let r = try s.run(args + ["--config", config])
            #expect(r.code == 3, "\(r.stdout)\n\(r.stderr)")
            #expect(r.stderr.contains("holds the lock") && r.stderr.contains("run \(run.runId) (incremental), started"), "\(r.stderr)")
            #expect(r.stderr.contains("this \(side) did not start"), "\(r.stderr)")
        }
        let audits = try s.backupConnection().query("SELECT count(*) FROM dvbackup_run WHERE mode LIKE 'audit%'")
        #expect(audits.int(0, 0) == 0, "a blocked audit leaves no row")
        try run.release()
        #expect(try s.dvbackup("audit", "--all", config: config).code == 0)
    }

    @Test func anAuditThatCannotStartIsMailedInItsOwnWords() throws {
        try TestSMTP.requireServer()
        let to = [TestSMTP.uniqueAddress("audit-not-started")]
        let (s, config) = try world(seed: 563, mail: MailTests().notifications(TestSMTP.plainURL, to: to, extra: ["SmtpStartTLS: off"]))
        // The run's own report went to the same address: the audit's is the second.
        #expect(try TestSMTP.message(to: to[0]).headers["subject"]?.contains("incremental") == true)
        let run = try Holder(s, mode: "incremental")
        defer { try? run.release() }
        let r = try s.dvbackup("audit", "--source", config: config)
        #expect(r.code == 3, "\(r.stderr)")
        var mails: [ReceivedMail] = []
        for _ in 0..<100 {
            mails = try TestSMTP.messages(to: to[0])
            if mails.count >= 2 { break }
            usleep(100_000)
        }
        let mail = try #require(mails.first { $0.headers["subject"]?.contains("audit-source") == true }, "\(mails.map { $0.headers["subject"] ?? "" })")
        #expect(mail.headers["subject"]?.hasPrefix("[dvbackup] dataverse.example.edu audit-source: could not start: another dvbackup run or audit holds the lock") == true,
                "\(mail.headers["subject"] ?? "")")
        let lines = mail.textLines
        #expect(lines.first == "dvbackup audit-source on dataverse.example.edu could not start.", "\(lines)")
        #expect(lines.contains { $0.hasPrefix("  why") && $0.contains("run \(run.runId) (incremental)") }, "\(lines)")
        #expect(lines.contains("  exit code               3 (the audit could not start)"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("No primary was checked and nothing was recorded") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("A backup run or another audit was working on the backup database") }, "\(lines)")
        #expect(!mail.text.contains("copied") && !mail.text.contains("incremental run"), "no wording of a backup run: \(mail.text)")
    }
}
