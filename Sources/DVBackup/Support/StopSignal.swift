import Foundation
import Synchronization

/// SIGINT and SIGTERM: stop planning, let the files in flight finish, record the run as
/// interrupted. Every wait between retries ends at once when a stop is requested.
public enum StopSignal {
    static let flag = Atomic<Bool>(false)

    /// A stop was requested (by a signal, or by a part of the run that cannot go on).
    public static var isRequested: Bool { flag.load(ordering: .relaxed) }

    public static func request() { flag.store(true, ordering: .relaxed) }

    public static func install() {
        signal(SIGINT) { _ in StopSignal.flag.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in StopSignal.flag.store(true, ordering: .relaxed) }
    }

    /// Sleeps `seconds`, waking every 20 ms to look for a stop. Returns false, at once, when
    /// a stop was requested before or during the wait. `stopped`: where to look (tests pass
    /// their own flag).
    @discardableResult
    public static func sleep(_ seconds: Double, stopped: () -> Bool = { StopSignal.isRequested }) -> Bool {
        let end = MonotonicClock.now() + max(0, seconds)
        while !stopped() {
            let left = end - MonotonicClock.now()
            if left <= 0 { return true }
            usleep(useconds_t(min(left, 0.02) * 1_000_000))
        }
        return false
    }
}
