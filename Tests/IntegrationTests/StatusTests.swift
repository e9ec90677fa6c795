import DVBackup
import Foundation
import Testing

/// `dvbackup status` with its filters: one dataset's files, some statuses, a date; the runs
/// with their verdicts; the same as JSON; bad values named with exit code 2.
@Suite(.enabled(if: TestPostgres.enabled))
struct StatusTests {
    /// Two datasets: A has two good files, one missing and one damaged; B one good file.
    func world() throws -> (Sandbox, config: String, a: [TestFile], b: TestFile) {
        let s = try Sandbox(seed: 201)
        let dsA = try s.addDataset(authority: "10.5072", identifier: "FK2/STATA")
        let dsB = try s.addDataset(protocol_: "hdl", authority: "1902.1", identifier: "555")
        let a = [try s.addFile(dataset: dsA, size: 100), try s.addFile(dataset: dsA, size: 10, checksum: ""),
                 try s.addFile(dataset: dsA, size: 10, writeBytes: false),
                 try s.addFile(dataset: dsA, size: 20, checksum: String(repeating: "0", count: 32))]
        let b = try s.addFile(dataset: dsB, size: 50)
        let config = try s.writeMailConfig(["Email:"])
        #expect(try s.dvbackup("run", config: config).code == 1)
        return (s, config, a, b)
    }

    @Test func oneDatasetShowsWhichFilesAreSafelyReplicated() throws {
        let (s, config, a, b) = try world()
        let r = try s.dvbackup("status", "--dataset", "doi:10.5072/FK2/STATA", config: config)
        #expect(r.code == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("Dataset doi:10.5072/FK2/STATA: 4 files in the backup database, 2 safely replicated (OK, OK_NO_CHECKSUM), 2 not"))
        let notSafe = try #require(lines.firstIndex(of: "  Not safely replicated:"))
        let safe = try #require(lines.firstIndex(of: "  Safely replicated:"))
        #expect(notSafe < safe)
        let damaged = try #require(lines.firstIndex { $0.hasPrefix("  FAIL_SOURCE_CHECKSUM doi:10.5072/FK2/STATA datafile \(a[3].id) \(a[3].storageIdentifier) (1 attempt, last ") })
        let missing = try #require(lines.firstIndex { $0.hasPrefix("  FAIL_READ doi:10.5072/FK2/STATA datafile \(a[2].id) \(a[2].storageIdentifier) (1 attempt, last ") })
        #expect(notSafe < damaged && damaged < missing && missing < safe)
        #expect(lines[missing].contains("No such file or directory"))
        let okLine = try #require(lines.firstIndex { $0.hasPrefix("  OK doi:10.5072/FK2/STATA datafile \(a[0].id) \(a[0].storageIdentifier) (copied ") })
        #expect(okLine > safe && lines[okLine].contains(s.backupDir + "/" + a[0].relativePath))
        #expect(lines.contains { $0.hasPrefix("  OK_NO_CHECKSUM doi:10.5072/FK2/STATA datafile \(a[1].id) ") })
        #expect(!r.stdout.contains("datafile \(b.id) "), "only that dataset")
        // authority/identifier works too, and an unknown dataset says so.
        let bare = try s.dvbackup("status", "--dataset", "10.5072/FK2/STATA", config: config)
        #expect(bare.stdout.contains("Dataset 10.5072/FK2/STATA: 4 files"))
        let unknown = try s.dvbackup("status", "--dataset", "doi:10.5072/FK2/NOPE", config: config)
        #expect(unknown.code == 0 && unknown.stdout.contains("knows no file of this dataset"))
    }

    @Test func statusAndSinceFiltersAndTheRunsVerdicts() throws {
        let (s, config, a, b) = try world()
        let ok = try s.dvbackup("status", "--status", "ok", config: config)
        #expect(ok.code == 0)
        #expect(ok.stdout.contains("Files with status OK (2), most serious first:"))
        #expect(ok.stdout.contains("datafile \(a[0].id) ") && ok.stdout.contains("datafile \(b.id) "))
        #expect(!ok.stdout.contains("datafile \(a[2].id) "))
        let two = try s.dvbackup("status", "--status", "FAIL_READ", "--status", "OK_NO_CHECKSUM,FAIL_READ", config: config)
        #expect(two.stdout.contains("Files with status FAIL_READ, OK_NO_CHECKSUM (2)"))
        let limited = try s.dvbackup("status", "--status", "OK,OK_NO_CHECKSUM", "--limit", "1", config: config)
        #expect(limited.stdout.contains("… and 2 more (--limit N or --all lists more)"))
        let all = try s.dvbackup("status", "--status", "OK,OK_NO_CHECKSUM", "--limit", "1", "--all", config: config)
        #expect(!all.stdout.contains("… and"))
        #expect(all.stdout.contains("datafile \(a[0].id) ") && all.stdout.contains("datafile \(a[1].id) ") && all.stdout.contains("datafile \(b.id) "))

        // --since: a day in the future hides everything; yesterday shows it all.
        let future = try s.dvbackup("status", "--since", "2999-01-01", config: config)
        #expect(future.code == 0)
        #expect(future.stdout.contains("Last runs since 2999-01-01:\n  (none yet)"))
        #expect(future.stdout.contains("No failed files, last attempt since 2999-01-01."))
        let recent = try s.dvbackup("status", "--since", "2d", config: config)
        #expect(recent.stdout.contains("  run 1  "))
        #expect(recent.stdout.contains("FAIL_READ doi:10.5072/FK2/STATA datafile \(a[2].id)"))
        let dated = try s.dvbackup("status", "--since", "2000-02-29T00:00:00+01:00", config: config)
        #expect(dated.code == 0 && dated.stdout.contains("  run 1  "))

        // The run line: counts, duration, exit code, verdict, mail.
        let plain = try s.dvbackup("status", config: config)
        let runLine = try #require(plain.stdout.split(separator: "\n").first { $0.hasPrefix("  run 1  ") })
        #expect(runLine.contains("incremental") && runLine.contains("planned 5, OK 3, failed 2, skipped 0"))
        #expect(runLine.contains(", exit 1  2 failed  [mail not sent]"), "\(runLine)")
        #expect(runLine.range(of: #", \d+\.\d s, exit"#, options: .regularExpression) != nil)

        // JSON: the same, with stable keys.
        let json = try s.dvbackup("status", "--json", "--dataset", "doi:10.5072/FK2/STATA", "--status", "FAIL_READ,OK", config: config)
        #expect(json.code == 0, "\(json.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(Set(o.keys) == ["audit", "counts", "dataset", "failures", "failuresNotListed", "files", "filesNotListed", "filter", "runs", "total"])
        let dataset = try #require(o["dataset"] as? [String: Any])
        #expect(dataset["files"] as? Int == 4 && dataset["safelyReplicated"] as? Int == 2 && dataset["notSafelyReplicated"] as? Int == 2)
        let files = try #require(o["files"] as? [[String: Any]])
        #expect(files.map { $0["datafileId"] as? Int } == [Int(a[2].id), Int(a[0].id)], "FAIL_READ first, then OK")
        let failures = try #require(o["failures"] as? [[String: Any]])
        #expect(failures.map { $0["datafileId"] as? Int } == [Int(a[2].id)])
        let filter = try #require(o["filter"] as? [String: Any])
        #expect(filter["statuses"] as? [String] == ["FAIL_READ", "OK"] && filter["dataset"] as? String == "doi:10.5072/FK2/STATA")
        let runs = try #require(o["runs"] as? [[String: Any]])
        #expect(runs.first?["verdict"] as? String == "2 failed" && runs.first?["exitCode"] as? Int == 1)
        #expect(runs.first?["mailStatus"] as? String == "not-sent")
        #expect((runs.first?["durationSeconds"] as? Double).map { $0 >= 0 } == true)
    }

    @Test func badFilterValuesExitTwoNamingTheOption() throws {
        let s = try Sandbox(seed: 202)
        let config = try s.writeConfig()
        let status = try s.dvbackup("status", "--status", "OK,FAIL_TYPO", config: config)
        #expect(status.code == 2)
        #expect(status.stderr.contains("--status: 'FAIL_TYPO' is not a status"))
        for bad in ["yesterday", "2025-02-30", "2025-13-01", "2025-06-01 25:00", "06/01/2025"] {
            let since = try s.dvbackup("status", "--since", bad, config: config)
            #expect(since.code == 2, "\(bad)")
            #expect(since.stderr.contains("--since: '\(bad)' is not a date"), "\(since.stderr)")
        }
        let report = try s.dvbackup("report", "--run", "x", config: config)
        #expect(report.code == 2)
    }
}
