import Foundation
import Synchronization

/// Where a run stands, counted as it goes: the planner adds files (the plan is streamed, so
/// "planned" grows until the planner is done), the workers name the file they start, the
/// recorder counts each outcome. Read by the progress display.
public final class RunProgress: Sendable {
    struct State {
        var planned: Int64 = 0
        var plannedBytes: Int64 = 0
        var planComplete = false
        var done: Int64 = 0
        var failed: Int64 = 0
        /// Bytes copied and proven (OK outcomes).
        var copied: Int64 = 0
        /// The planned size of the files done, failed or not (for the rate and the time left).
        var doneBytes: Int64 = 0
        var current: String?
    }

    private let state = Mutex(State())
    let startedAt: Double

    public init(startedAt: Double = MonotonicClock.now()) { self.startedAt = startedAt }

    func planned(_ file: CatalogFile) {
        state.withLock {
            $0.planned += 1
            $0.plannedBytes += file.expectedSourceSize ?? 0
        }
    }

    func planFinished() { state.withLock { $0.planComplete = true } }

    func started(_ file: CatalogFile) {
        let name = "datafile \(file.id) \(file.storageIdentifier)"
        state.withLock { $0.current = name }
    }

    func recorded(_ o: FileOutcome) {
        state.withLock {
            $0.done += 1
            if o.status.isOK { $0.copied += o.bytes } else { $0.failed += 1 }
            $0.doneBytes += o.file.expectedSourceSize ?? o.bytes
        }
    }

    /// The figures at `now` (seconds of `MonotonicClock`).
    func figures(now: Double) -> ProgressFigures {
        state.withLock { s in
            ProgressFigures(done: s.done, failed: s.failed, planned: s.planned, planComplete: s.planComplete,
                            copied: s.copied, doneBytes: s.doneBytes, plannedBytes: s.plannedBytes,
                            seconds: max(0, now - startedAt), current: s.current)
        }
    }
}

/// One moment of a run, as the progress line shows it.
public struct ProgressFigures: Sendable, Equatable {
    public var done: Int64
    public var failed: Int64
    public var planned: Int64
    public var planComplete: Bool
    public var copied: Int64
    public var doneBytes: Int64
    public var plannedBytes: Int64
    public var seconds: Double
    public var current: String?

    /// Bytes per second over the run so far.
    public var rate: Double { seconds > 0 ? Double(doneBytes) / seconds : 0 }

    /// Seconds left, when the plan is complete and a rate is known: by bytes when the planned
    /// files have sizes, by files otherwise.
    public var secondsLeft: Double? {
        guard planComplete, seconds > 0, done > 0, done < planned else { return nil }
        if plannedBytes > 0, doneBytes > 0 { return Double(max(0, plannedBytes - doneBytes)) / rate }
        return Double(planned - done) * seconds / Double(done)
    }

    /// `12 of 40 files (1 failed), 1.2 GB copied, 35.0 MB/s, 1m5s left, now datafile 7 file://x`;
    /// while the plan is still being read: `12 of 40 planned so far`.
    public var line: String {
        var parts = [planComplete ? "\(formatCount(done)) of \(formatCount(planned)) files"
                                  : "\(formatCount(done)) of \(formatCount(planned)) planned so far"]
        if failed > 0 { parts[0] += " (\(formatCount(failed)) failed)" }
        parts.append("\(formatBytes(copied)) copied")
        parts.append("\(formatBytes(Int64(rate)))/s")
        if let left = secondsLeft { parts.append("\(DurationParser.format(Int64(left.rounded(.up)))) left") }
        if let current, !(planComplete && done == planned) { parts.append("now \(current)") }
        return parts.joined(separator: ", ")
    }
}
