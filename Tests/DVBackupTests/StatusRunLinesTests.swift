import Testing
@testable import DVBackup

/// `dvbackup status`'s runs table: every mode shown whole, the columns after it aligned.
@Suite struct StatusRunLinesTests {
    static func run(_ id: Int64, _ mode: String) -> StatusReport.Run {
        StatusReport.Run(id: id, mode: mode, state: "finished", started: "2026-12-05 02:00:00", finished: "2026-12-05 02:01:00",
                         durationSeconds: 60, host: nil, planned: 3, skipped: 0, deferred: 0, counts: ["OK": 3], bytes: 0,
                         error: nil, exitCode: 0, mailStatus: nil, mailError: nil)
    }

    @Test func auditSourceIsNotCut() {
        let lines = StatusReport.runLines([Self.run(3, "audit-source"), Self.run(2, "incremental"), Self.run(1, "restore")])
        #expect(lines.count == 3)
        #expect(lines[0].contains(" audit-source  planned 3"), "\(lines[0])")
        // The next column starts at the same place on every line.
        let starts = lines.map { $0.range(of: "planned")!.lowerBound.utf16Offset(in: $0) }
        #expect(Set(starts).count == 1, "\(lines)")
    }

    @Test func shortModesKeepTheirWidth() {
        let lines = StatusReport.runLines([Self.run(2, "audit"), Self.run(1, "rerun")])
        #expect(lines[0].hasPrefix("  run 2  2026-12-05 02:00:00  audit        planned 3"), "\(lines[0])")
    }
}
