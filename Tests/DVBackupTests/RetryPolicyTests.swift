import Foundation
import Synchronization
import Testing
@testable import DVBackup

struct RetryPolicyTests {
    @Test func delaysFollowTheListWithinTheJitter() {
        let p = RetryPolicy(delays: [1, 2, 4], jitter: 0.75...1.25)
        #expect(p.attempts == 4)
        #expect(p.delay(before: 1) == 0)
        for _ in 0..<50 {
            #expect((0.75...1.25).contains(p.delay(before: 2)!))
            #expect((1.5...2.5).contains(p.delay(before: 3)!))
            #expect((3.0...5.0).contains(p.delay(before: 4)!))
        }
        #expect(p.delay(before: 5) == nil)
        #expect(p.delay(before: 0) == nil)
        #expect(RetryPolicy.never.attempts == 1)
        #expect(RetryPolicy.never.delay(before: 2) == nil)
    }

    @Test func exponentialDoublesUpToTheCap() {
        let p = RetryPolicy.exponential(attempts: 6, baseSeconds: 1, capSeconds: 5)
        #expect(p.delays == [1, 2, 4, 5, 5])
        #expect(p.jitter == 0.5...1)
        #expect(RetryPolicy.exponential(attempts: 1, baseSeconds: 1, capSeconds: 5).delays.isEmpty)
    }

    @Test func aWaitEndsAtOnceWhenAStopIsRequested() {
        // The process-wide flag is left alone: other suites run beside this one.
        let flag = Atomic<Bool>(false)
        let stopped = { flag.load(ordering: .relaxed) }
        let p = RetryPolicy(delays: [30])
        let t = Thread { usleep(100_000); flag.store(true, ordering: .relaxed) }
        let start = MonotonicClock.now()
        t.start()
        let waited = p.wait(p.delay(before: 2)!, stopped: stopped)
        let elapsed = MonotonicClock.now() - start
        #expect(!waited)
        #expect(elapsed < 5, "a 30 s wait must end when the stop comes, not at its end")
        // A stop already requested: no wait at all.
        #expect(!p.wait(30, stopped: stopped))
    }

    @Test func aWaitWithoutStopRunsItsTime() {
        let start = MonotonicClock.now()
        #expect(RetryPolicy(delays: [0.05]).wait(0.05, stopped: { false }))
        #expect(MonotonicClock.now() - start >= 0.05)
    }
}
