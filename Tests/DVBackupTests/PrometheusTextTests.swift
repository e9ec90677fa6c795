import Foundation
import Testing

@testable import DVBackup

/// The metrics file's text: HELP and TYPE before each family, samples that read back, and the
/// previous file's other mode kept when the database cannot be read.
@Suite struct PrometheusTextTests {
    @Test func familiesHaveHelpAndTypeAndSamplesReadBack() {
        let samples = [MetricSample("dvbackup_last_run_exit_code", [("mode", "rerun")], 1),
                       MetricSample("dvbackup_files", [("status", "OK")], 12),
                       MetricSample("dvbackup_last_run_exit_code", [("mode", "incremental")], 0),
                       MetricSample("dvbackup_files", [("status", "a\"b\\c")], 1)]
        let text = PrometheusText.render(samples, families: MetricsFile.families)
        #expect(text.hasPrefix("""
            # HELP dvbackup_last_run_exit_code The exit code of the last run of this mode: 0 all OK, 1 failed files or stopped, 3 could not start.
            # TYPE dvbackup_last_run_exit_code gauge
            dvbackup_last_run_exit_code{mode="rerun"} 1
            dvbackup_last_run_exit_code{mode="incremental"} 0
            # HELP dvbackup_files Files in the backup database, by status.
            # TYPE dvbackup_files gauge
            dvbackup_files{status="OK"} 12
            dvbackup_files{status="a\\"b\\\\c"} 1

            """), "\(text)")
        #expect(PrometheusText.parse(text) == [samples[0], samples[2], samples[1], samples[3]])
    }

    @Test func theDatabaseIsTheSourceAndTheCurrentExitCodeWins() {
        let run = ModeRunFacts(mode: "incremental", runId: 7, state: "finished", started: 1000, finished: 1060.5, exitCode: nil,
                               bytes: 5, planned: 3, ok: 2, failed: 1, skipped: 4, deferred: 0, lastSuccess: 900)
        let s = MetricsFile.samples(runs: [run], files: ["OK": 2, "FAIL_AUDIT_MISSING": 1], current: (7, .incremental, .filesFailed))
        let text = PrometheusText.render(s, families: MetricsFile.families)
        for line in ["dvbackup_last_run_start_timestamp_seconds{mode=\"incremental\"} 1000.000",
                     "dvbackup_last_run_end_timestamp_seconds{mode=\"incremental\"} 1060.500",
                     "dvbackup_last_run_duration_seconds{mode=\"incremental\"} 60.500",
                     "dvbackup_last_run_exit_code{mode=\"incremental\"} 1", "dvbackup_last_run_copied_bytes{mode=\"incremental\"} 5",
                     "dvbackup_last_run_files{mode=\"incremental\",result=\"skipped\"} 4",
                     "dvbackup_last_success_timestamp_seconds{mode=\"incremental\"} 900.000",
                     "dvbackup_files{status=\"FAIL_AUDIT_MISSING\"} 1", "dvbackup_files{status=\"FAIL_VERIFY\"} 0",
                     "dvbackup_backup_database_up 1"] {
            #expect(text.contains(line + "\n"), "\(line)")
        }
    }

    @Test func withoutTheDatabaseTheOtherModeIsKept() {
        let previous = [MetricSample("dvbackup_last_run_exit_code", [("mode", "rerun")], 0),
                        MetricSample("dvbackup_last_run_exit_code", [("mode", "incremental")], 0),
                        MetricSample("dvbackup_last_run_files", [("mode", "incremental"), ("result", "ok")], 9),
                        MetricSample("dvbackup_last_success_timestamp_seconds", [("mode", "incremental")], seconds: 50),
                        MetricSample("dvbackup_files", [("status", "OK")], 9), MetricSample("dvbackup_backup_database_up", [], 1)]
        let merged = MetricsFile.merge(previous: previous, mode: .incremental, exit: .cannotStart,
                                       started: Date(timeIntervalSince1970: 100), ended: Date(timeIntervalSince1970: 102))
        let text = PrometheusText.render(merged, families: MetricsFile.families)
        #expect(text.contains("dvbackup_last_run_exit_code{mode=\"rerun\"} 0\ndvbackup_last_run_exit_code{mode=\"incremental\"} 3\n"))
        #expect(!text.contains("result=\"ok\""))
        #expect(text.contains("dvbackup_last_success_timestamp_seconds{mode=\"incremental\"} 50.000\n"))
        #expect(text.contains("dvbackup_last_run_duration_seconds{mode=\"incremental\"} 2.000\n"))
        #expect(text.contains("dvbackup_files{status=\"OK\"} 9\n") && text.hasSuffix("dvbackup_backup_database_up 0\n"))
    }

    @Test func theFileIsReplacedWholeAndNoTemporaryIsLeft() throws {
        var template = Array("/tmp/dvbackup-prom-XXXXXX".utf8CString)
        let dir = String(cString: mkdtemp(&template)!)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try MetricsFile.writeAtomically("a 1\n", to: dir + "/x.prom")
        try MetricsFile.writeAtomically("b 2\n", to: dir + "/x.prom")
        #expect(try String(contentsOfFile: dir + "/x.prom", encoding: .utf8) == "b 2\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["x.prom"])
        #expect(throws: (any Error).self) { try MetricsFile.writeAtomically("c 3\n", to: dir + "/missing/x.prom") }
    }
}
