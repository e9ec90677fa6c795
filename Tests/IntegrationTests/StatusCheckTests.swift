import DVBackup
import Foundation
import Testing

/// `dvbackup status --check` as Nagios or Icinga runs it: one line, exit code 0 OK,
/// 1 WARNING, 2 CRITICAL, 3 UNKNOWN, for a fresh install, a recent good run, a stale run,
/// a run with failures, a run that could not start, lost copies, an unreachable database.
@Suite(.enabled(if: TestPostgres.enabled))
struct StatusCheckTests {
    /// The one line, checked to be one line ending in a newline.
    func check(_ s: Sandbox, _ config: String, _ extra: String...) throws -> (code: Int32, line: String) {
        let r = try s.run(["status", "--check"] + extra + ["--config", config])
        #expect(r.stdout.hasSuffix("\n") && r.stdout.filter { $0 == "\n" }.count == 1, "\(r.stdout)")
        return (r.code, String(r.stdout.dropLast()))
    }

    @Test func freshInstallGoodRunStaleRunAndFailures() throws {
        let s = try Sandbox(seed: 1601)
        let ds = try s.addDataset()
        _ = try s.addFile(dataset: ds, size: 300)
        _ = try s.addFile(dataset: ds, size: 200)
        let config = try s.writeMailConfig(["Email:"])

        // Fresh: no table at all, then the schema but no run.
        let fresh = try check(s, config)
        #expect(fresh.code == 2)
        #expect(fresh.line.hasPrefix("DVBACKUP CRITICAL - no run has finished yet (the backup database has no dvbackup tables"), "\(fresh.line)")
        #expect(try s.dvbackup("init-db", config: config).code == 0)
        let empty = try check(s, config)
        #expect(empty.code == 2 && empty.line == "DVBACKUP CRITICAL - no run has finished yet; 0 failed | failed=0 ok=0 files=0 audit_failed=0 damaged_unproven=0", "\(empty.line)")

        // A good run.
        #expect(try s.dvbackup("run", config: config).code == 0)
        let good = try check(s, config, "--max-age", "36h")
        #expect(good.code == 0, "\(good.line)")
        #expect(good.line.range(of: #"^DVBACKUP OK - last run 1 finished \d+s ago, 0 failed \| age=\d+s;;129600 failed=0 ok=2 files=2 audit_failed=0 damaged_unproven=0$"#,
                                options: .regularExpression) != nil, "\(good.line)")

        // The same run, two hours old, against --max-age 1h.
        let db = try s.backupConnection()
        try db.query("UPDATE dvbackup_run SET finished = now() - interval '2 hours' WHERE id = 1")
        let stale = try check(s, config, "--max-age", "1h")
        #expect(stale.code == 2)
        #expect(stale.line.hasPrefix("DVBACKUP CRITICAL - no run finished within 1h; last run 1 finished 2h ago, 0 failed | age=72"), "\(stale.line)")
        #expect(try check(s, config).code == 0, "within the default 36h")

        // A file that cannot be read: the next run finishes with a failure.
        _ = try s.addFile(dataset: ds, size: 10, writeBytes: false)
        #expect(try s.dvbackup("run", config: config).code == 1)
        let warn = try check(s, config)
        #expect(warn.code == 1)
        #expect(warn.line.range(of: #"^DVBACKUP WARNING - last run 2 finished \d+s ago, 1 failed \| age=\d+s;;129600 failed=1 ok=2 files=3 "#,
                                options: .regularExpression) != nil, "\(warn.line)")

        // A damaged primary that was never copied, and (as the audit records it) a proven copy lost.
        _ = try s.addFile(dataset: ds, size: 20, checksum: String(repeating: "0", count: 32))
        #expect(try s.dvbackup("run", config: config).code == 1)
        let damaged = try check(s, config)
        #expect(damaged.code == 2 && damaged.line.contains("1 damaged primary has no proven copy (FAIL_SOURCE_CHECKSUM)"), "\(damaged.line)")
        try db.query("UPDATE datafilestatus SET status = 'FAIL_SOURCE_CHECKSUM', provenchecksum = 'MD5:0' WHERE status = 'FAIL_SOURCE_CHECKSUM'")
        #expect(try check(s, config).code == 1, "a damaged primary with a proven copy is a failed file")
        try db.query("UPDATE datafilestatus SET status = 'FAIL_AUDIT_CORRUPT' WHERE datafileid = (SELECT min(datafileid) FROM datafilestatus WHERE status = 'OK')")
        let lost = try check(s, config)
        #expect(lost.code == 2 && lost.line.contains("1 proven copy is now missing or corrupt (FAIL_AUDIT)") && lost.line.hasSuffix("audit_failed=1 damaged_unproven=0"), "\(lost.line)")
    }

    @Test func aRunThatCouldNotStartIsCritical() throws {
        let s = try Sandbox(seed: 1602)
        _ = try s.addFile(dataset: try s.addDataset(), size: 100)
        let config = try s.writeMailConfig(["Email:"])
        #expect(try s.dvbackup("run", config: config).code == 0)
        // Another run holds the lock: this one leaves a not-started row.
        let holder = try s.backupConnection()
        #expect(try holder.query("SELECT pg_try_advisory_lock($1::bigint) AS l", [String(StatusStore.lockKey)]).bool(0, "l") == true)
        #expect(try s.dvbackup("run", config: config).code == 3)
        let r = try check(s, config)
        #expect(r.code == 2)
        #expect(r.line.range(of: #"^DVBACKUP CRITICAL - the last run 2 could not start: another dvbackup run holds the lock .*; last run 1 finished \d+s ago, 0 failed \| "#,
                             options: .regularExpression) != nil, "\(r.line)")
        try holder.query("SELECT pg_advisory_unlock_all()")
        #expect(try s.dvbackup("run", config: config).code == 0)
        #expect(try check(s, config).code == 0, "a later good run clears it")
    }

    @Test func anUnreadableDatabaseOrConfigurationIsUnknown() throws {
        let s = try Sandbox(seed: 1603)
        let down = try s.writeConfig(port: 1, name: "down.ini")
        let r = try check(s, down)
        #expect(r.code == 3)
        #expect(r.line.hasPrefix("DVBACKUP UNKNOWN - cannot read backup database \"\(s.backupName)\": ") && !r.line.contains("|"), "\(r.line)")
        let missing = try check(s, s.root + "/no-such.ini")
        #expect(missing.code == 3 && missing.line.hasPrefix("DVBACKUP UNKNOWN - configuration error: "), "\(missing.line)")
        let badAge = try check(s, down, "--max-age", "soon")
        #expect(badAge.code == 3 && badAge.line == "DVBACKUP UNKNOWN - --max-age: 'soon' is not a duration (write it like 36h, 90m or 2d)")
        let without = try s.run(["status", "--max-age", "1h", "--config", down])
        #expect(without.code == 2 && without.stderr.contains("--max-age: only with --check"))
    }
}
