import Testing
@testable import DVBackup

struct RunStateTests {
    /// The strings `dvbackup_run.state` holds: databases written by earlier versions keep them.
    @Test func rawValuesAreTheStringsTheRunsTableStores() {
        #expect(RunState.allCases.map(\.rawValue) == ["running", "finished", "interrupted", "failed", "crashed", "not-started"])
    }

    @Test(arguments: [
        (nil as String?, false, RunState.finished),
        (nil, true, .interrupted),
        ("reading the catalog failed: connection lost", false, .failed),
        ("cannot record statuses: disk full", true, .failed),
    ])
    func anErrorWinsOverAnInterruption(error: String?, interrupted: Bool, expected: RunState) {
        #expect(RunState.ending(error: error, interrupted: interrupted) == expected)
    }

    @Test func theCursorMovesOnlyWhenEveryPlannedFileWasRecorded() {
        let reached = CatalogCursor(createdate: "2025-06-01 10:00:00.123456", id: 42)
        #expect(RunState.finished.cursorToRecord(reached: reached) == reached)
        #expect(RunState.finished.cursorToRecord(reached: nil) == nil)
        for state in RunState.allCases where state != .finished {
            #expect(state.cursorToRecord(reached: reached) == nil, "\(state) must not move the cursor")
        }
    }

    @Test func exitCodeIsZeroOnlyForAFinishedRunWithoutFailures() {
        #expect(RunState.finished.exitStatus(failedFiles: 0) == .success)
        #expect(RunState.finished.exitStatus(failedFiles: 3) == .filesFailed)
        #expect(RunState.interrupted.exitStatus(failedFiles: 0) == .filesFailed)
        #expect(RunState.failed.exitStatus(failedFiles: 0) == .filesFailed)
    }
}
