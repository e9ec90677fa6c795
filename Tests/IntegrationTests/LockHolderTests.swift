import DVBackup
import Foundation
import Testing

/// A run that finds the run lock held names the holder: the dvbackup run (its id, mode,
/// start, host, pid), a dvbackup run that has the lock but no run row yet, or a session
/// that is no run at all.
@Suite(.enabled(if: TestPostgres.enabled))
struct LockHolderTests {
    /// A session on the backup database named `application` that takes the run lock.
    func holder(_ s: Sandbox, application: String) throws -> PostgresConnection {
        var info = try TestPostgres.info(database: s.backupName)
        info.applicationName = application
        let c = try PostgresConnection(info, label: "lock holder")
        #expect(try c.query("SELECT pg_try_advisory_lock($1::bigint)", [String(StatusStore.lockKey)]).bool(0, 0) == true)
        return c
    }

    @Test func aSessionThatIsNoRunIsSaidSo() throws {
        let s = try Sandbox(seed: 1551)
        #expect(try s.dvbackup("init-db").code == 0)
        // A run that crashed long ago left its row "running": it is not the holder.
        let db = try s.backupConnection()
        try db.query("INSERT INTO dvbackup_run (mode, state, host, pid) VALUES ('incremental', 'running', 'oldhost', 99999)")
        let h = try holder(s, application: "psql")
        let backendPid = try h.query("SELECT pg_backend_pid()").int(0, 0)!
        let r = try s.dvbackup("run")
        #expect(r.code == 3)
        #expect(r.stderr.contains("held by a session that recorded no run"), "\(r.stderr)")
        #expect(r.stderr.contains("application 'psql'") && r.stderr.contains("backend pid \(backendPid)"), "\(r.stderr)")
        #expect(!r.stderr.contains("oldhost"), "a stale run row is not the holder: \(r.stderr)")
    }

    /// The race of issue 15: the holder has the lock and has not written its run row yet.
    @Test func aRunWhoseRowIsNotWrittenYetIsNamed() throws {
        let s = try Sandbox(seed: 1552)
        #expect(try s.dvbackup("init-db").code == 0)
        let h = try holder(s, application: "dvbackup run rerun pid 4242 on host backup1.example.edu")
        for _ in 0..<6 {
            let r = try s.dvbackup("run")
            #expect(r.code == 3)
            #expect(r.stderr.contains("another dvbackup run holds the lock"), "\(r.stderr)")
            #expect(r.stderr.contains("a rerun run on host backup1.example.edu, pid 4242, that has not recorded its run yet"), "\(r.stderr)")
        }
        _ = h
    }

    /// A real run that is held up (the test locks a table it needs) while it holds the run
    /// lock; returns it running.
    func startBlockedRun(_ s: Sandbox, config: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Sandbox.binary)
        p.arguments = ["run", "--config", config]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "PGPASSWORD")
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Waits until a backend of the backup database holds the run lock.
    func waitForLock(_ db: PostgresConnection) throws -> Bool {
        for _ in 0..<200 {
            let r = try db.query("""
                SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1::bigint::oid
                """, [String(StatusStore.lockKey & 0xFFFF_FFFF)])
            if r.int(0, 0) == 1 { return true }
            usleep(50_000)
        }
        return false
    }

    /// A real run in the window of issue 15 (the lock taken, no run row yet: the test holds
    /// a row it must update first), then, once its row is written, held by the table of statuses.
    @Test func aRealRunIsNamedBeforeAndAfterItWritesItsRow() throws {
        let s = try Sandbox(seed: 1553)
        let ds = try s.addDataset()
        let f = try s.addFile(dataset: ds, size: 10)
        let config = try s.writeConfig()
        #expect(try s.dvbackup("init-db").code == 0)
        let blocker = try s.backupConnection()
        let watcher = try s.backupConnection()
        // A crashed run's row, which the next run marks crashed once it has the lock: the
        // test holds that row, so the run waits with the lock taken and no row of its own.
        try blocker.query("INSERT INTO dvbackup_run (mode, state, host, pid) VALUES ('rerun', 'running', 'oldhost', 99999)")
        try blocker.execute("BEGIN")
        try blocker.execute("SELECT id FROM dvbackup_run WHERE state = 'running' FOR UPDATE")
        let first = try startBlockedRun(s, config: config)
        defer { if first.isRunning { first.terminate() } }
        #expect(try waitForLock(watcher))
        let early = try s.dvbackup("run")
        #expect(early.code == 3)
        #expect(early.stderr.contains("another dvbackup run holds the lock"), "\(early.stderr)")
        #expect(early.stderr.contains("an incremental run on host \(WallClock.hostname()), pid \(first.processIdentifier), that has not recorded its run yet"),
                "\(early.stderr)")
        #expect(!early.stderr.contains("oldhost"), "\(early.stderr)")
        // Now let it write its row, and hold it up at the statuses.
        let statuses = try s.backupConnection()
        try statuses.execute("BEGIN")
        try statuses.execute("LOCK TABLE datafilestatus IN EXCLUSIVE MODE")
        try blocker.execute("COMMIT")
        var runId: Int64? = nil
        for _ in 0..<200 where runId == nil {
            runId = try watcher.query("SELECT id FROM dvbackup_run WHERE state = 'running' AND pid = $1",
                                      [String(first.processIdentifier)]).int(0, 0)
            if runId == nil { usleep(50_000) }
        }
        let id = try #require(runId)
        let late = try s.dvbackup("run")
        #expect(late.code == 3)
        #expect(late.stderr.contains("run \(id) (incremental), started "), "\(late.stderr)")
        #expect(late.stderr.contains("on host \(WallClock.hostname()), pid \(first.processIdentifier)"), "\(late.stderr)")
        try statuses.execute("COMMIT")
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        #expect(s.backupBytes(f) == f.bytes)
    }
}
