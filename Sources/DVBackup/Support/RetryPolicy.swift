import Foundation

/// How often, and how patiently, a failed attempt is tried again: the one backoff of S3
/// requests, Swift requests and SFTP reconnections.
///
/// `delays[k]` is the wait before attempt `k + 2`; each wait is drawn from
/// `delays[k] × jitter` so that workers that failed together do not retry together. A wait
/// ends at once on SIGINT or SIGTERM (`StopSignal`), and the caller then gives up.
public struct RetryPolicy: Sendable, Equatable {
    public var delays: [Double]
    public var jitter: ClosedRange<Double>

    public init(delays: [Double], jitter: ClosedRange<Double> = 1...1) {
        self.delays = delays
        self.jitter = jitter
    }

    /// `attempts` in all; the waits double from `baseSeconds` up to `capSeconds`, each drawn
    /// from its upper half ("equal jitter").
    public static func exponential(attempts: Int, baseSeconds: Double, capSeconds: Double) -> RetryPolicy {
        let waits = (0..<max(0, attempts - 1)).map { min(capSeconds, baseSeconds * pow(2, Double($0))) }
        return RetryPolicy(delays: waits, jitter: 0.5...1)
    }

    /// No second attempt.
    public static let never = RetryPolicy(delays: [])

    /// Attempts in all, the first included.
    public var attempts: Int { delays.count + 1 }

    /// The wait before attempt `attempt` (counted from 1): 0 for the first, nil when no
    /// attempt that late is allowed.
    public func delay(before attempt: Int) -> Double? {
        if attempt <= 1 { return attempt == 1 ? 0 : nil }
        guard attempt - 2 < delays.count else { return nil }
        return delays[attempt - 2] * Double.random(in: jitter)
    }

    /// Waits `seconds` (a value from `delay(before:)`); false when a stop was requested, in
    /// which case the caller must not try again.
    public func wait(_ seconds: Double, stopped: () -> Bool = { StopSignal.isRequested }) -> Bool {
        StopSignal.sleep(seconds, stopped: stopped)
    }
}
