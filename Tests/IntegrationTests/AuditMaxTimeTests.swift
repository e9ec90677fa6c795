@testable import DVBackup
import Foundation
import Logging
import Testing

/// `--max-time` stopping an audit in the middle, deterministically: the audit's clock is a
/// fake one that advances by a second for each copy the target proves, so a cap of 2.5 s
/// takes exactly three copies, whatever the machine's speed. No wall time is asserted.
@Suite(.enabled(if: TestPostgres.enabled))
struct AuditMaxTimeTests {
    final class FakeClock: @unchecked Sendable {
        // @unchecked: `t` is read and written under `lock`.
        private let lock = NSLock()
        private var t = 1000.0
        func now() -> Double { lock.withLock { t } }
        func advance(_ seconds: Double) { lock.withLock { t += seconds } }
    }

    /// A local target whose proofs take a (fake) second per copy.
    struct SlowTarget: ProvableTarget {
        let inner: LocalTarget
        let clock: FakeClock
        var method: String { inner.method }
        var displayName: String { inner.displayName }
        func checkUsable() throws(TargetUnavailable) { try inner.checkUsable() }
        func makeSession() throws(TargetUnavailable) -> any TargetSession { try inner.makeSession() }
        func makeProver() throws(TargetUnavailable) -> any CopyProver { SlowProver(inner: try inner.makeProver(), clock: clock) }
    }

    final class SlowProver: CopyProver {
        let inner: any CopyProver
        let clock: FakeClock
        init(inner: any CopyProver, clock: FakeClock) { (self.inner, self.clock) = (inner, clock) }
        var proofBatchSize: Int { inner.proofBatchSize }
        func prove(_ copies: [(copy: CopyReference, expected: ExpectedDigest)], depth: ProofDepth) throws(TargetUnavailable) -> [CopyFinding] {
            let found = try inner.prove(copies, depth: depth)
            clock.advance(Double(copies.count))
            return found
        }
    }

    func audit(_ settings: Settings, maxSeconds: Double) -> (DVBackup.ExitStatus, AuditSummary?) {
        var request = AuditRequest()
        request.maxSeconds = maxSeconds
        let clock = FakeClock()
        let auditor = Auditor(settings: settings, request: request, logger: Logger(label: "audit-test"))
        auditor.clock = clock.now
        auditor.makeTarget = { s, _ in SlowTarget(inner: LocalTarget(root: s.backup.backupDirectory), clock: clock) }
        let exit = auditor.run()
        guard case .finished(let summary) = auditor.outcome else { return (exit, nil) }
        return (exit, summary)
    }

    @Test func maxTimeStopsTheAuditMidwayAndTheNextAuditContinuesWithTheRest() throws {
        let s = try Sandbox(seed: 581)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/MAXTIME")
        let f = try (0..<9).map { _ in try s.addFile(dataset: ds, size: 700) }
        let config = try s.writeConfig()
        #expect(try s.dvbackup("run", config: config).code == 0)
        try s.setLastVerified(f)
        let settings = try Settings.load(path: config)

        var covered: [Set<Int64>] = []
        for _ in 0..<3 {
            let before = try Damage.now(s)
            let (exit, summary) = audit(settings, maxSeconds: 2.5)
            #expect(exit == DVBackup.ExitStatus.success)
            let sum = try #require(summary)
            #expect(sum.state == DVBackup.RunState.finished && sum.error == nil)
            #expect(sum.verified == 3 && sum.before.files == 9, "stopped early: \(sum.verified) of \(sum.before.files)")
            covered.append(try s.verifiedSince(before))
        }
        // Each audit recorded what it verified, and the next one took the rest, oldest first.
        #expect(covered == [Set(f[0..<3].map(\.id)), Set(f[3..<6].map(\.id)), Set(f[6..<9].map(\.id))])
        let runs = try s.backupConnection().query("SELECT ok FROM dvbackup_run WHERE mode = 'audit' ORDER BY id")
        #expect((0..<runs.rowCount).map { runs.int($0, 0) } == [3, 3, 3], "each audit's row counts what it verified")
    }
}
