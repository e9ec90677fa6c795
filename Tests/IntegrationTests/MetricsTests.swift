import DVBackup
import Foundation
import Testing

/// The metrics file, written after every run and read through a real node-exporter's textfile
/// collector (Debian's prometheus-node-exporter, started here on a free 127.0.0.1 port), and
/// linted by `promtool check metrics` when it is installed.
@Suite(.enabled(if: TestPostgres.enabled))
struct MetricsTests {
    static let nodeExporter = ["/usr/bin/prometheus-node-exporter", "/usr/bin/node_exporter", "/usr/local/bin/node_exporter"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// node-exporter on a free port, reading `directory`; stopped by `stop()`.
    final class NodeExporter {
        let process = Process()
        let port: Int

        init(directory: String, binary: String) throws {
            port = try freeTCPPort()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["--web.listen-address=127.0.0.1:\(port)", "--collector.disable-defaults",
                                 "--collector.textfile", "--collector.textfile.directory=\(directory)"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        func stop() {
            process.terminate()
            process.waitUntilExit()
        }

        /// /metrics, waiting up to 10 s for the server to listen.
        func scrape() throws -> String {
            for _ in 0..<100 {
                let curl = Process()
                curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
                curl.arguments = ["-sf", "http://127.0.0.1:\(port)/metrics"]
                let pipe = Pipe()
                curl.standardOutput = pipe
                try curl.run()
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                curl.waitUntilExit()
                if curl.terminationStatus == 0 { return String(decoding: data, as: UTF8.self) }
                usleep(100_000)
            }
            throw TestFailure("node-exporter did not answer on 127.0.0.1:\(port)")
        }

    }

    /// The value of one sample, as a number.
    func value(_ samples: [MetricSample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { s in s.name == name && labels.allSatisfy { s.label($0.key) == $0.value } }.flatMap { Double($0.value) }
    }

    @Test func theTextfileCollectorReadsEveryRunsMetrics() throws {
        guard let binary = Self.nodeExporter else {
            // CI (DVBACKUP_TEST_REQUIRE_SERVERS=1) must have it: scripts/install-deps.sh installs it.
            if TestPostgres.required { throw TestFailure("prometheus-node-exporter is not installed (scripts/install-deps.sh installs it)") }
            return
        }
        let s = try Sandbox(seed: 1701)
        let ds = try s.addDataset()
        _ = try s.addFile(dataset: ds, size: 3000)
        _ = try s.addFile(dataset: ds, size: 2000)
        let dir = s.root + "/textfile"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let metrics = dir + "/dvbackup.prom"
        let config = try s.writeMailConfig(["Email:"], backupLines: ["MetricsFile = \(metrics)"])
        #expect(try s.dvbackup("run", config: config).code == 0)
        #expect(try s.dvbackup("run", "--rerun", config: config).code == 0)
        _ = try s.addFile(dataset: ds, size: 10, writeBytes: false)
        #expect(try s.dvbackup("run", config: config).code == 1)
        // Nothing but the file itself is left in the directory (the temporary file was renamed).
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["dvbackup.prom"])

        let db = try s.backupConnection()
        let runs = try db.query("SELECT id, extract(epoch FROM started)::float8::text AS s, extract(epoch FROM finished)::float8::text AS f FROM dvbackup_run ORDER BY id")
        func epoch(_ row: Int, _ col: String) throws -> Double { Double(try runs.string(row, col) ?? "") ?? -1 }

        let exporter = try NodeExporter(directory: dir, binary: binary)
        defer { exporter.stop() }
        let scraped = PrometheusText.parse(try exporter.scrape())
        #expect(value(scraped, "node_textfile_scrape_error") == 0)
        let inc = ["mode": "incremental"], rerun = ["mode": "rerun"]
        #expect(value(scraped, "dvbackup_last_run_exit_code", inc) == 1)
        #expect(value(scraped, "dvbackup_last_run_exit_code", rerun) == 0)
        #expect(abs((value(scraped, "dvbackup_last_run_start_timestamp_seconds", inc) ?? 0) - (try epoch(2, "s"))) < 0.01)
        #expect(abs((value(scraped, "dvbackup_last_run_end_timestamp_seconds", inc) ?? 0) - (try epoch(2, "f"))) < 0.01)
        #expect(abs((value(scraped, "dvbackup_last_run_end_timestamp_seconds", rerun) ?? 0) - (try epoch(1, "f"))) < 0.01)
        #expect(abs((value(scraped, "dvbackup_last_success_timestamp_seconds", inc) ?? 0) - (try epoch(0, "f"))) < 0.01,
                "the last incremental run with exit code 0 is run 1")
        #expect((value(scraped, "dvbackup_last_run_duration_seconds", inc) ?? -1) >= 0)
        #expect(value(scraped, "dvbackup_last_run_files", ["mode": "incremental", "result": "failed"]) == 1)
        #expect(value(scraped, "dvbackup_last_run_files", ["mode": "incremental", "result": "planned"]) == 1)
        #expect(value(scraped, "dvbackup_last_run_copied_bytes", inc) == 0)
        #expect(value(scraped, "dvbackup_files", ["status": "OK"]) == 2)
        #expect(value(scraped, "dvbackup_files", ["status": "FAIL_READ"]) == 1)
        #expect(value(scraped, "dvbackup_files", ["status": "FAIL_VERIFY"]) == 0)
        #expect(value(scraped, "dvbackup_backup_database_up") == 1)
        let firstBytes = try #require(value(PrometheusText.parse(try String(contentsOfFile: metrics, encoding: .utf8)),
                                            "dvbackup_last_run_copied_bytes", rerun))
        #expect(firstBytes == 0, "the rerun found everything copied")

        // A run that cannot reach the database: its mode's values are its own (exit code 3),
        // the other mode's and the file counts are kept.
        let down = try s.writeConfig(port: 1, backupLines: ["StorageType: local", "BackupDirectory = \(s.backupDir)",
                                                            "MetricsFile = \(metrics)"], name: "down.ini")
        let before = Date().timeIntervalSince1970
        #expect(try s.dvbackup("run", config: down).code == 3)
        let after = PrometheusText.parse(try exporter.scrape())
        #expect(value(after, "node_textfile_scrape_error") == 0)
        #expect(value(after, "dvbackup_last_run_exit_code", inc) == 3)
        #expect((value(after, "dvbackup_last_run_start_timestamp_seconds", inc) ?? 0) >= before - 1)
        #expect(value(after, "dvbackup_last_run_exit_code", rerun) == 0)
        #expect(abs((value(after, "dvbackup_last_run_end_timestamp_seconds", rerun) ?? 0) - (try epoch(1, "f"))) < 0.01)
        #expect(value(after, "dvbackup_files", ["status": "OK"]) == 2)
        #expect(value(after, "dvbackup_backup_database_up") == 0)
        #expect(value(after, "dvbackup_last_run_files", ["mode": "incremental", "result": "failed"]) == nil,
                "the failed run's counts are not this run's")

        // A dry run writes nothing.
        let mtime = try FileManager.default.attributesOfItem(atPath: metrics)[.modificationDate] as? Date
        #expect(try s.dvbackup("run", "--dry-run", "--metrics-file", dir + "/dry.prom", config: config).code == 0)
        #expect(!FileManager.default.fileExists(atPath: dir + "/dry.prom"))
        #expect(try FileManager.default.attributesOfItem(atPath: metrics)[.modificationDate] as? Date == mtime)

        // promtool's linter, when Debian's prometheus package is installed.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") {
            let lint = Process()
            lint.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
            lint.arguments = ["check", "metrics"]
            lint.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: metrics))
            let out = Pipe()
            lint.standardOutput = out
            lint.standardError = out
            try lint.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            lint.waitUntilExit()
            #expect(lint.terminationStatus == 0 && text.isEmpty, "\(text)")
        }
    }
}
