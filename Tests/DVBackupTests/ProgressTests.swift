import Foundation
import Logging
import Synchronization
import Testing

@testable import DVBackup

/// The progress line's figures and words, the interval lines of a run without a terminal, and
/// the live line that log lines print above.
@Suite struct ProgressTests {
    func outcome(_ id: Int64, _ status: BackupStatus, size: Int64) -> FileOutcome {
        FileOutcome(file: CatalogFile.sample(id: id, storageIdentifier: "file://f\(id)", fileSize: size), status: status,
                    detail: "", bytes: status.isOK ? size : 0, location: nil, provenChecksum: nil, seconds: 0, connectionLost: false)
    }

    @Test func whileThePlanStreamsPlannedIsSoFarThenTheTotalGivesTimeLeft() {
        let p = RunProgress(startedAt: 100)
        for id in 1...4 { p.planned(CatalogFile.sample(id: Int64(id), fileSize: 1_000_000)) }
        p.started(CatalogFile.sample(id: 1, storageIdentifier: "file://f1"))
        p.recorded(outcome(1, .ok, size: 1_000_000))
        p.started(CatalogFile.sample(id: 2, storageIdentifier: "file://f2"))
        #expect(p.figures(now: 102).line == "1 of 4 planned so far, 1.0 MB copied, 500.0 kB/s, now datafile 2 file://f2")
        p.recorded(outcome(2, .failRead, size: 1_000_000))
        p.planFinished()
        let f = p.figures(now: 104)
        #expect(f.secondsLeft == 4)
        #expect(f.line == "2 of 4 files (1 failed), 1.0 MB copied, 500.0 kB/s, 4s left, now datafile 2 file://f2")
        p.recorded(outcome(3, .ok, size: 1_000_000))
        p.recorded(outcome(4, .ok, size: 1_000_000))
        #expect(p.figures(now: 108).line == "4 of 4 files (1 failed), 3.0 MB copied, 500.0 kB/s")
    }

    @Test func withoutSizesTheTimeLeftComesFromTheFileRate() {
        let f = ProgressFigures(done: 10, failed: 0, planned: 40, planComplete: true, copied: 0, doneBytes: 0, plannedBytes: 0,
                                seconds: 20, current: nil)
        #expect(f.secondsLeft == 60)
        #expect(f.line == "10 of 40 files, 0 B copied, 0 B/s, 1m left")
    }

    /// Logs into an array (tests never bootstrap the logging system).
    final class Captured: @unchecked Sendable {
        let lines = Mutex<[String]>([])
        var logger: Logger {
            Logger(label: "test") { _ in Handler(sink: self) }
        }
        struct Handler: LogHandler {
            let sink: Captured
            var logLevel: Logger.Level = .info
            var metadata: Logger.Metadata = [:]
            subscript(metadataKey key: String) -> Logger.Metadata.Value? { get { nil } set {} }
            func log(event: LogEvent) { sink.lines.withLock { $0.append("\(event.level) \(event.message)") } }
        }
    }

    @Test func withoutATerminalAnInfoLineComesEveryInterval() {
        let log = Captured()
        let p = RunProgress(startedAt: 0)
        p.planned(CatalogFile.sample(id: 1, fileSize: 10))
        let display = ProgressDisplay(progress: p, mode: .log(interval: 600), logger: log.logger)
        display.tick(now: 300)
        #expect(log.lines.withLock { $0 }.isEmpty)
        display.tick(now: 600)
        display.tick(now: 900)
        p.recorded(outcome(1, .ok, size: 10))
        display.tick(now: 1201)
        #expect(log.lines.withLock { $0 } == ["info progress: 0 of 1 planned so far, 0 B copied, 0 B/s",
                                              "info progress: 1 of 1 planned so far, 10 B copied, 0 B/s"])
    }

    @Test func logLinesPrintAboveTheLiveLineWhichIsClearedAtTheEnd() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let line = StatusLine(fd: fds[1])
        line.writeAbove("before\n")
        line.show("3 of 9 files")
        line.writeAbove("2026/01/01 00:00:00.000000 [ERROR] FAIL_READ datafile 7\n")
        line.show("4 of 9 files")
        line.clear()
        line.clear()
        close(fds[1])
        let out = String(decoding: FileHandle(fileDescriptor: fds[0], closeOnDealloc: true).readDataToEndOfFile(), as: UTF8.self)
        #expect(out == "before\n\r3 of 9 files\u{1B}[K\r\u{1B}[K2026/01/01 00:00:00.000000 [ERROR] FAIL_READ datafile 7\n\r3 of 9 files\u{1B}[K"
                + "\r4 of 9 files\u{1B}[K\r\u{1B}[K")
        #expect(StatusLine.fit(String(repeating: "x", count: 100), columns: 40) == String(repeating: "x", count: 38) + "…")
    }
}
