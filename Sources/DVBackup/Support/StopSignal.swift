import Foundation
import Synchronization

/// SIGINT and SIGTERM: stop planning, let the files in flight finish, record the run as
/// interrupted. Every wait between retries ends at once when a stop is requested.
public enum StopSignal {
    static let flag = Atomic<Bool>(false)

    /// A stop was requested (by a signal, or by a part of the run that cannot go on).
    public static var isRequested: Bool { flag.load(ordering: .relaxed) }

    public static func request() { flag.store(true, ordering: .relaxed) }

    /// Installs the handlers and unblocks both signals on the calling thread (call it on the
    /// main thread before the workers start: they inherit its mask). A parent may have
    /// started dvbackup with them blocked (a program that spawns it from a thread that blocks
    /// signals): the signals would then stay pending and a run would never stop.
    public static func install() {
        signal(SIGINT) { _ in StopSignal.flag.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in StopSignal.flag.store(true, ordering: .relaxed) }
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
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
