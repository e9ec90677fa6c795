/// How a run ended: the value the job hands to the reports.
public enum RunOutcome: Sendable {
    /// `run()` has not been called.
    case notRun
    /// The run stopped before copying anything; `runId` when its row had been written.
    case couldNotStart(mode: RunMode, reason: String, runId: Int64?)
    /// The run went through (all OK, failed files, interrupted, or stopped by an error).
    case finished(RunSummary)
}

/// What a run that went through did: its row, its counts, how it ended.
public struct RunSummary: Sendable {
    public var runId: Int64
    public var mode: RunMode
    public var state: RunState
    public var counts: RunCounts
    public var seconds: Double
    public var target: String
    public var error: String?

    public init(runId: Int64, mode: RunMode, state: RunState, counts: RunCounts, seconds: Double, target: String,
                error: String?) {
        self.runId = runId
        self.mode = mode
        self.state = state
        self.counts = counts
        self.seconds = seconds
        self.target = target
        self.error = error
    }
}
