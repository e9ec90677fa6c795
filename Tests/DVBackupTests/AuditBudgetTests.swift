import Testing

@testable import DVBackup

/// The rotation's arithmetic: each audit's floor (its share of the cycle plus what is
/// overdue), the caps, and the verdict on the cycle.
@Suite struct AuditBudgetTests {
    let day = 86_400.0

    @Test func theFloorIsTheShareOfOneIntervalPlusWhatIsOverdue() {
        // 90 GB, nothing overdue, nightly audits over 90 days: 1 GB a night.
        #expect(AuditBudget.floor(totalBytes: 90_000_000_000, overdueBytes: 0, cycleSeconds: 90 * 86_400, intervalSeconds: day)
                == 1_000_000_000)
        // 10 GB overdue: all of it, plus the share of the other 80 GB.
        #expect(AuditBudget.floor(totalBytes: 90_000_000_000, overdueBytes: 10_000_000_000, cycleSeconds: 90 * 86_400,
                                  intervalSeconds: day) == 10_000_000_000 + 888_888_889)
        // An interval longer than the cycle asks for everything, never more.
        #expect(AuditBudget.floor(totalBytes: 500, overdueBytes: 0, cycleSeconds: 86_400, intervalSeconds: 10 * day) == 500)
        // A tiny backup still moves: the share is rounded up.
        #expect(AuditBudget.floor(totalBytes: 10, overdueBytes: 0, cycleSeconds: 90 * 86_400, intervalSeconds: day) == 1)
        #expect(AuditBudget.floor(totalBytes: 0, overdueBytes: 0, cycleSeconds: 90 * 86_400, intervalSeconds: day) == 0)
    }

    @Test func theIntervalIsTheTimeSinceThePreviousAuditWithinBounds() {
        #expect(AuditBudget.interval(sincePrevious: nil, cycleSeconds: 90 * 86_400) == day)
        #expect(AuditBudget.interval(sincePrevious: 60, cycleSeconds: 90 * 86_400) == 3600)
        #expect(AuditBudget.interval(sincePrevious: 200 * day, cycleSeconds: 90 * 86_400) == 90 * day)
        #expect(AuditBudget.interval(sincePrevious: 2 * day, cycleSeconds: 90 * 86_400) == 2 * day)
    }

    @Test func withoutACapTheAuditStopsOnceTheFloorIsReached() {
        let b = AuditBudget(floorBytes: 1000)
        #expect(b.takes(size: 600, doneBytes: 0, elapsed: 0))
        #expect(b.takes(size: 600, doneBytes: 600, elapsed: 0), "whole files: the last may pass the floor")
        #expect(!b.takes(size: 1, doneBytes: 1200, elapsed: 0))
    }

    @Test func capsAreNeverPassedAndSpentWhenGiven() {
        let bytes = AuditBudget(floorBytes: 10, maxBytes: 2000)
        #expect(bytes.takes(size: 1000, doneBytes: 1000, elapsed: 0), "a cap is spent beyond the floor")
        #expect(!bytes.takes(size: 1001, doneBytes: 1000, elapsed: 0), "and never passed")
        let time = AuditBudget(floorBytes: 10, maxSeconds: 60)
        #expect(time.takes(size: 1 << 40, doneBytes: 1 << 40, elapsed: 59))
        #expect(!time.takes(size: 1, doneBytes: 0, elapsed: 60))
        let all = AuditBudget(floorBytes: 0, all: true)
        #expect(all.takes(size: 1 << 40, doneBytes: 1 << 50, elapsed: 1e9))
    }

    @Test func theCycleIsKeptWhenNothingIsOverdueAndTheCapsAllowTheShare() {
        let kept = CycleForecast.evaluate(totalBytes: 90_000, verifiedBytes: 1000, seconds: 10, intervalSeconds: day,
                                          cycleSeconds: 90 * 86_400, overdueAfter: 0, budget: AuditBudget(floorBytes: 1000))
        #expect(kept.kept)
        #expect(kept.explanation.hasPrefix("kept: nothing overdue"))
        let overdue = CycleForecast.evaluate(totalBytes: 90_000, verifiedBytes: 1000, seconds: 10, intervalSeconds: day,
                                             cycleSeconds: 90 * 86_400, overdueAfter: 3, budget: AuditBudget(floorBytes: 1000))
        #expect(!overdue.kept)
        #expect(overdue.explanation.contains("3 copies are still overdue"))
        // 100 bytes/s for at most 5 s an audit: 500 bytes, the cycle needs 1000 a night.
        let slow = CycleForecast.evaluate(totalBytes: 90_000, verifiedBytes: 500, seconds: 5, intervalSeconds: day,
                                          cycleSeconds: 90 * 86_400, overdueAfter: 0,
                                          budget: AuditBudget(floorBytes: 1000, maxSeconds: 5))
        #expect(!slow.kept)
        #expect(slow.explanation.contains("the caps allow \(formatBytes(500)) an audit"), "\(slow.explanation)")
    }
}
