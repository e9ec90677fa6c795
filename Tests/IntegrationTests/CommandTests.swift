import DVBackup
import Foundation
import Testing

/// Dry run, lock, status and exit codes, as the command shows them against a database (the
/// usage and configuration errors, which need no server, are in CLITests/UsageTests.swift).
@Suite(.enabled(if: TestPostgres.enabled))
struct CommandTests {
    @Test func dryRunPrintsThePlanAndChangesNothing() throws {
        let s = try Sandbox(seed: 41)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/DRY")
        let a = try s.addFile(dataset: ds, size: 100)
        let b = try s.addFile(dataset: ds, size: 200, tabular: true)
        let missing = try s.addFile(dataset: ds, size: 10, writeBytes: false)
        let result = try s.dvbackup("run", "--dry-run")
        #expect(result.code == 0, "\(result.stderr)")
        for f in [a, b, missing] {
            #expect(result.stdout.contains(f.storageIdentifier), "the plan names \(f.storageIdentifier)")
        }
        #expect(result.stdout.contains("\(b.sourcePath)"), "a tabular file is read from its .orig")
        #expect(result.stdout.contains("3 files would be copied"))
        #expect(s.backupTree().isEmpty)
        let db = try s.backupConnection()
        #expect(try db.query("SELECT to_regclass('datafilestatus') IS NULL AND to_regclass('dvbackup_run') IS NULL").bool(0, 0) == true,
                "a dry run leaves an empty backup database empty")
        // After a real run, a dry run shows only what is left, and still changes nothing.
        #expect(try s.dvbackup("run").code == 1)
        let before = try db.query("SELECT count(*), max(lastbackuptime)::text FROM datafilestatus")
        let dry2 = try s.dvbackup("run", "--dry-run", "--rerun")
        #expect(dry2.code == 0)
        #expect(dry2.stdout.contains("1 files would be copied"))
        #expect(dry2.stdout.contains("retry after FAIL_READ"))
        let after = try db.query("SELECT count(*), max(lastbackuptime)::text FROM datafilestatus")
        #expect(before.string(0, 0) == after.string(0, 0) && before.string(0, 1) == after.string(0, 1))
        #expect(try db.query("SELECT count(*) FROM dvbackup_run").int(0, 0) == 1)
    }

    @Test func secondRunCannotStartWhileTheLockIsHeld() throws {
        let s = try Sandbox(seed: 42)
        let ds = try s.addDataset()
        let f = try s.addFile(dataset: ds, size: 10)
        #expect(try s.dvbackup("init-db").code == 0)
        let holder = try s.backupConnection()
        #expect(try holder.query("SELECT pg_try_advisory_lock($1::bigint)", [String(StatusStore.lockKey)]).bool(0, 0) == true)
        let blocked = try s.dvbackup("run")
        #expect(blocked.code == 3)
        #expect(blocked.stderr.contains("another dvbackup run holds the lock"))
        #expect(s.backupBytes(f) == nil)
        try holder.query("SELECT pg_advisory_unlock($1::bigint)", [String(StatusStore.lockKey)])
        #expect(try s.dvbackup("run").code == 0)
        #expect(s.backupBytes(f) == f.bytes)
    }

    @Test func runThatCannotStartExitsThree() throws {
        let s = try Sandbox(seed: 43)
        let ds = try s.addDataset()
        _ = try s.addFile(dataset: ds, size: 10)
        // Database unreachable.
        let closedPort = try s.writeConfig(port: 1, name: "closed.ini")
        let unreachable = try s.dvbackup("run", config: closedPort)
        #expect(unreachable.code == 3)
        #expect(unreachable.stderr.contains("cannot connect to backup database"))
        // Wrong password: said, never printed.
        let wrong = try s.writeConfig(password: "not-the-password-xyz", name: "wrong.ini")
        let refused = try s.dvbackup("run", config: wrong)
        #expect(refused.code == 3)
        #expect(refused.stderr.contains("password authentication failed"))
        #expect(!refused.stderr.contains("not-the-password-xyz") && !refused.stdout.contains("not-the-password-xyz"))
        // Backup directory missing (an unmounted NFS share, say).
        try FileManager.default.removeItem(atPath: s.backupDir)
        let noTarget = try s.dvbackup("run")
        #expect(noTarget.code == 3)
        #expect(noTarget.stderr.contains("backup directory \(s.backupDir) is not usable"))
        #expect(!FileManager.default.fileExists(atPath: s.backupDir), "dvbackup does not create the backup directory itself")
    }

    @Test func checkConfigHidesSecrets() throws {
        let s = try Sandbox(seed: 45)
        let config = try s.writeConfig(stores: [
            "dataverse.files.s3.type = s3",
            "dataverse.files.s3.bucket-name = dv-bucket",
            "dataverse.files.s3.custom-endpoint-url = http://127.0.0.1:9",
            "dataverse.files.s3.access-key = AKIAEXAMPLE",
            "dataverse.files.s3.secret-key = very-secret-key-value",
        ])
        let r = try s.run(["check-config", "--config", config])
        // The settings are printed, then the S3 bucket cannot be reached (nothing on port 9).
        #expect(r.code == 3, "\(r.stderr)")
        #expect(r.stdout.contains("S3 store s3: bucket dv-bucket cannot be reached"), "\(r.stdout)")
        #expect(r.stdout.contains("Password = ***"))
        #expect(!r.stdout.contains(TestPostgres.password))
        #expect(!r.stdout.contains("very-secret-key-value"))
        #expect(r.stdout.contains("secret-key = ***"))
        #expect(r.stdout.contains("file: type file, directory \(s.storeDir)"))
        #expect(r.stdout.contains("IncrementalOverlap = 1d"))
    }

    @Test func statusShowsTotalsRunsAndFailures() throws {
        let s = try Sandbox(seed: 46)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/STAT")
        _ = try s.addFile(dataset: ds, size: 10)
        _ = try s.addFile(dataset: ds, size: 10, checksum: "")
        let missing = try s.addFile(dataset: ds, size: 10, writeBytes: false)
        #expect(try s.dvbackup("run").code == 1)
        let text = try s.dvbackup("status")
        #expect(text.code == 0, "\(text.stderr)")
        #expect(text.stdout.contains("OK                      1"))
        #expect(text.stdout.contains("OK_NO_CHECKSUM          1"))
        #expect(text.stdout.contains("FAIL_READ               1"))
        #expect(text.stdout.contains("run 1"))
        #expect(text.stdout.contains("FAIL_READ doi:10.5072/FK2/STAT datafile \(missing.id) \(missing.storageIdentifier)"))

        let json = try s.dvbackup("status", "--json")
        #expect(json.code == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let counts = try #require(object["counts"] as? [String: Int])
        #expect(counts["OK"] == 1 && counts["OK_NO_CHECKSUM"] == 1 && counts["FAIL_READ"] == 1 && counts["FAIL_WRITE"] == 0)
        let runs = try #require(object["runs"] as? [[String: Any]])
        #expect(runs.count == 1 && runs[0]["state"] as? String == "finished" && runs[0]["mode"] as? String == "incremental")
        let failures = try #require(object["failures"] as? [[String: Any]])
        #expect(failures.count == 1 && failures[0]["datafileId"] as? Int == Int(missing.id))
        #expect(failures[0]["status"] as? String == "FAIL_READ")
    }

    @Test func statusOnAnEmptyDatabaseSaysWhatToDo() throws {
        let s = try Sandbox(seed: 47)
        let r = try s.dvbackup("status")
        #expect(r.code == 3)
        #expect(r.stderr.contains("init-db"))
        #expect(try s.dvbackup("init-db").code == 0)
        let empty = try s.dvbackup("status")
        #expect(empty.code == 0)
        #expect(empty.stdout.contains("(none yet)"))
    }
}
