import DVBackup
import Foundation
import Testing

/// A run's progress as an administrator sees it: on a terminal (a pseudo-terminal made by
/// util-linux's `script`), a live line redrawn with `\r` and cleared at the end; without one,
/// INFO lines every [Backup] ProgressInterval.
@Suite(.enabled(if: TestPostgres.enabled))
struct ProgressRunTests {
    @Test func onATerminalTheLiveLineIsDrawnAndClearedBeforeTheSummary() throws {
        let s = try Sandbox(seed: 1801)
        let ds = try s.addDataset()
        for _ in 0..<3 { _ = try s.addFile(dataset: ds, size: 2000) }
        _ = try s.addFile(dataset: ds, size: 10, writeBytes: false)
        let config = try s.writeMailConfig(["Email:"])
        let typescript = s.root + "/typescript"
        let command = "'\(Sandbox.binary)' run --config '\(config)'"
        let r = try s.run(["-qefc", command, typescript], executable: "/usr/bin/script")
        #expect(r.code == 1, "\(r.stderr)")
        let out = try String(decoding: Data(contentsOf: URL(fileURLWithPath: typescript)), as: UTF8.self)
        // Drawn in place: a carriage return, the figures, erase to the end of the line.
        let draws = out.components(separatedBy: "\r").filter { $0.range(of: #"^\d+ of \d+ (files|planned so far)"#, options: .regularExpression) != nil }
        #expect(!draws.isEmpty, "\(out.debugDescription)")
        #expect(draws.allSatisfy { $0.contains(" copied, ") && $0.contains("/s") && $0.contains("\u{1B}[K") }, "\(draws)")
        // The failed file's log line is printed above the live line, on a line of its own.
        // (when it comes while the line is shown: erased first, and the line drawn again after it).
        let failLine = try #require(out.range(of: #"(^|\n)(\r[^\r\n]*\x1B\[K\r\x1B\[K)?\d{4}/\d\d/\d\d [^\r\n]* \[ERROR\] FAIL_READ datafile [^\r\n]*\r\n"#,
                                                   options: .regularExpression))
        #expect(!out[failLine].contains(" copied, ") || out[failLine.upperBound...].hasPrefix("\r"), "\(out[failLine].debugDescription)")
        // Cleared at the end: after the last draw comes "\r ESC[K", then the summary.
        let lastDraw = try #require(out.range(of: " copied, ", options: .backwards))
        let clear = try #require(out.range(of: "\r\u{1B}[K", range: lastDraw.upperBound..<out.endIndex))
        let summary = try #require(out.range(of: "Run 1 ", range: clear.upperBound..<out.endIndex) ?? out.range(of: "run 1", range: clear.upperBound..<out.endIndex))
        #expect(!out[clear.upperBound..<summary.lowerBound].contains(" copied, "), "nothing is drawn after the clear")
    }

    @Test func withoutATerminalAnInfoLineComesEveryProgressInterval() throws {
        let s = try Sandbox(seed: 1802)
        let ds = try s.addDataset()
        _ = try s.addFile(dataset: ds, size: 500)
        _ = try s.addFile(dataset: ds, size: 700)
        let config = try s.writeMailConfig(["Email:"], backupLines: ["StorageType: local", "BackupDirectory = \(s.backupDir)",
                                                                     "ProgressInterval = 1s"])
        #expect(try s.dvbackup("init-db", config: config).code == 0)
        // Statuses cannot be written while the test holds this lock (reads can): the run stays
        // waiting for 2.5 s with at most one file counted, long enough for two interval lines.
        let db = try s.backupConnection()
        try db.execute("BEGIN")
        try db.execute("LOCK TABLE datafilestatus IN EXCLUSIVE MODE")
        // Used by that thread only from here on.
        nonisolated(unsafe) let holder = db
        let release = Thread {
            usleep(2_500_000)
            _ = try? holder.execute("COMMIT")
        }
        release.start()
        let r = try s.dvbackup("run", config: config)
        #expect(r.code == 0, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n").filter { $0.contains("[INFO] progress: ") }
        #expect(lines.count >= 2, "\(r.stderr)")
        #expect(lines.allSatisfy { $0.range(of: #"\[INFO\] progress: [01] of 2 (files|planned so far), \d+ B copied, \d+ B/s(, \w+ left)?(, now datafile \d+ file://\S+)?$"#,
                                            options: .regularExpression) != nil }, "\(lines)")
        #expect(!r.stderr.contains("\r") && !r.stderr.contains("\u{1B}["), "no terminal codes in a log")
    }
}
