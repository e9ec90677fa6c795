import Foundation

/// How much one audit takes: pure arithmetic, tested on its own (`AuditBudgetTests`).
///
/// The rotation's promise is `[Audit] Cycle`: every copy re-verified within it. An audit
/// therefore takes at least its share of the bytes, `(total − overdue) × interval / cycle`
/// (the interval being the time since the previous audit, a day when there was none), plus
/// every overdue byte (never verified, or last verified more than a cycle ago), which the
/// rotation takes first. Without a cap that floor is what it does. With `--max-bytes` or
/// `--max-time` it goes on until a cap is reached (the administrator's budget, spent on
/// more coverage), and never past one: a cap below the floor is reported as a cycle not
/// kept. `--all` takes everything (caps still apply when given).
public struct AuditBudget: Sendable, Equatable {
    /// The bytes this audit must verify to keep the cycle.
    public var floorBytes: Int64
    public var maxBytes: Int64?
    public var maxSeconds: Double?
    public var all: Bool

    public init(floorBytes: Int64, maxBytes: Int64? = nil, maxSeconds: Double? = nil, all: Bool = false) {
        self.floorBytes = floorBytes
        self.maxBytes = maxBytes
        self.maxSeconds = maxSeconds
        self.all = all
    }

    /// The share of the bytes due in one interval, plus the overdue ones.
    public static func floor(totalBytes: Int64, overdueBytes: Int64, cycleSeconds: Int64, intervalSeconds: Double) -> Int64 {
        let rest = max(0, totalBytes - overdueBytes)
        guard cycleSeconds > 0 else { return totalBytes }
        let fraction = min(1, max(0, intervalSeconds) / Double(cycleSeconds))
        return min(totalBytes, overdueBytes + Int64((Double(rest) * fraction).rounded(.up)))
    }

    /// The interval an audit covers: the time since the previous one, one day when there
    /// was none, kept between an hour and the cycle.
    public static func interval(sincePrevious seconds: Double?, cycleSeconds: Int64) -> Double {
        min(Double(max(cycleSeconds, 3600)), max(3600, seconds ?? 86_400))
    }

    public var hasCap: Bool { maxBytes != nil || maxSeconds != nil }

    /// Whether the next copy, of `size` bytes, is taken after `doneBytes` in `elapsed` seconds.
    public func takes(size: Int64, doneBytes: Int64, elapsed: Double) -> Bool {
        if let maxSeconds, elapsed >= maxSeconds { return false }
        if let maxBytes, doneBytes + size > maxBytes { return false }
        if all || hasCap { return true }
        return doneBytes < floorBytes
    }
}

/// Whether the cycle is kept, from what this audit measured.
public struct CycleForecast: Sendable, Equatable {
    public var kept: Bool
    /// One sentence for the summary and the report.
    public var explanation: String

    /// - Parameters:
    ///   - totalBytes: every auditable copy.
    ///   - verifiedBytes, seconds: what this audit verified and how long it took.
    ///   - overdueAfter: copies still overdue once it ended.
    public static func evaluate(totalBytes: Int64, verifiedBytes: Int64, seconds: Double, intervalSeconds: Double,
                                cycleSeconds: Int64, overdueAfter: Int64, budget: AuditBudget) -> CycleForecast {
        let needed = Double(totalBytes) * min(1, intervalSeconds / Double(max(1, cycleSeconds)))
        let rate = seconds > 0 ? Double(verifiedBytes) / seconds : 0
        var capacity = Double.infinity
        if let b = budget.maxBytes { capacity = min(capacity, Double(b)) }
        if let t = budget.maxSeconds { capacity = min(capacity, rate * t) }
        let cycle = DurationParser.format(cycleSeconds)
        let rateText = rate > 0 ? "at the measured rate of \(formatBytes(Int64(rate)))/s" : "at the measured rate"
        let pass = rate > 0 ? ", one pass over all \(formatBytes(totalBytes)) takes \(DurationParser.format(Int64((Double(totalBytes) / rate).rounded(.up))))" : ""
        if overdueAfter > 0 {
            return CycleForecast(kept: false, explanation: "not kept: \(formatCount(overdueAfter)) cop\(overdueAfter == 1 ? "y is" : "ies are") still overdue (cycle \(cycle))\(pass.isEmpty ? "" : "; \(rateText)\(pass)")")
        }
        if capacity < needed {
            return CycleForecast(kept: false, explanation: "not kept \(rateText): the caps allow \(formatBytes(Int64(capacity))) an audit, the cycle of \(cycle) needs \(formatBytes(Int64(needed.rounded(.up)))) an audit\(pass)")
        }
        return CycleForecast(kept: true, explanation: "kept: nothing overdue, and \(rateText) each audit can verify the \(formatBytes(Int64(needed.rounded(.up)))) its share of the cycle of \(cycle) needs\(pass)")
    }
}
