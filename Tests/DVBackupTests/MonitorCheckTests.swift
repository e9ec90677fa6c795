import Testing

@testable import DVBackup

/// `status --check`'s verdicts, from the facts the backup database gives.
@Suite struct MonitorCheckTests {
    let check = MonitorCheck(maxAgeSeconds: 36 * 3600)

    func facts(finishedAgo: Int64? = 3 * 3600, lastEnded: MonitorRun? = nil, failed: Int64 = 0, audit: Int64 = 0,
               damaged: Int64 = 0) -> MonitorFacts {
        var f = MonitorFacts()
        f.lastFinished = finishedAgo.map { MonitorRun(runId: 1234, state: "finished", ageSeconds: $0) }
        f.lastEnded = lastEnded ?? f.lastFinished
        f.files = 123_460
        f.ok = 123_460 - failed
        f.failed = failed
        f.auditFailed = audit
        f.damagedUnproven = damaged
        return f
    }

    @Test func aRecentRunWithNoFailureIsOK() {
        let r = check.evaluate(facts())
        #expect(r.state == .ok)
        #expect(r.line == "DVBACKUP OK - last run 1234 finished 3h ago, 0 failed | age=10800s;;129600 failed=0 ok=123460 files=123460 audit_failed=0 damaged_unproven=0")
    }

    @Test func failedFilesWarn() {
        let r = check.evaluate(facts(failed: 4))
        #expect(r.state == .warning)
        #expect(r.line.hasPrefix("DVBACKUP WARNING - last run 1234 finished 3h ago, 4 failed | age=10800s;;129600 failed=4 "))
    }

    @Test func aStaleRunOrNoneIsCritical() {
        let stale = check.evaluate(facts(finishedAgo: 40 * 3600))
        #expect(stale.state == .critical)
        #expect(stale.line.hasPrefix("DVBACKUP CRITICAL - no run finished within 1d12h; last run 1234 finished 1d16h ago, 0 failed | age=144000s;;129600 "))
        let none = check.evaluate(facts(finishedAgo: nil))
        #expect(none.state == .critical)
        #expect(none.line == "DVBACKUP CRITICAL - no run has finished yet; 0 failed | failed=0 ok=123460 files=123460 audit_failed=0 damaged_unproven=0")
    }

    @Test(arguments: [("not-started", "the last run 1235 could not start: lock held"), ("failed", "the last run 1235 failed: lock held"),
                      ("crashed", "the last run 1235 died without finishing")])
    func aLastRunThatDidNotGoThroughIsCritical(state: String, text: String) {
        let r = check.evaluate(facts(lastEnded: MonitorRun(runId: 1235, state: state, ageSeconds: 60, error: "lock held")))
        #expect(r.state == .critical)
        #expect(r.line.hasPrefix("DVBACKUP CRITICAL - \(text); last run 1234 finished 3h ago"), "\(r.line)")
    }

    @Test func anInterruptedLaterRunIsNotCriticalByItself() {
        let r = check.evaluate(facts(lastEnded: MonitorRun(runId: 1235, state: "interrupted", ageSeconds: 60)))
        #expect(r.state == .ok)
    }

    @Test func lostProvenCopiesAndUnprotectedDamageAreCritical() {
        let audit = check.evaluate(facts(failed: 2, audit: 2))
        #expect(audit.state == .critical)
        #expect(audit.line.contains("2 proven copies are now missing or corrupt (FAIL_AUDIT)"))
        let damaged = check.evaluate(facts(failed: 1, damaged: 1))
        #expect(damaged.state == .critical)
        #expect(damaged.line.contains("1 damaged primary has no proven copy (FAIL_SOURCE_CHECKSUM)"))
        #expect(damaged.line.hasSuffix("audit_failed=0 damaged_unproven=1"))
    }

    @Test func primariesLastFoundDamagedWarn() {
        var f = facts()
        f.damagedPrimaries = 2
        let r = check.evaluate(f)
        #expect(r.state == .warning)
        #expect(r.line.hasPrefix("DVBACKUP WARNING - 2 primaries were last found damaged or missing (audit --source); last run 1234 finished 3h ago, 0 failed | "), "\(r.line)")
        f.damagedPrimaries = 0
        #expect(check.evaluate(f).state == .ok)
    }

    @Test func unknownIsOneLineWithoutPerformanceData() {
        let r = MonitorCheck.unknown("cannot read backup database \"b\": connection refused\nis the server | running?")
        #expect(r.state == .unknown && r.state.rawValue == 3)
        #expect(r.line == "DVBACKUP UNKNOWN - cannot read backup database \"b\": connection refused is the server / running?")
    }

    @Test(arguments: [(Int64(45), "45s"), (720, "12m"), (10_800, "3h"), (12_000, "3h20m"), (172_800, "2d"), (190_800, "2d5h")])
    func agesAreShort(seconds: Int64, text: String) {
        #expect(MonitorCheck.age(seconds) == text)
    }
}
