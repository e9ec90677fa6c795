/// How a run ended, for the morning report.
public enum RunOutcome: Sendable {
    /// `run()` has not been called.
    case notRun
    /// The run stopped before copying anything; `runId` when its row had been written.
    case couldNotStart(reason: String, runId: Int64?)
    /// The run went through (all OK, failed files, interrupted, or stopped by an error).
    case finished(RunSummary)
}

extension BackupJob {
    /// Records why the run could not start and returns exit code 3.
    func couldNotStart(_ reason: String, runId: Int64? = nil) -> ExitStatus {
        outcome = .couldNotStart(reason: reason, runId: runId)
        return .cannotStart
    }
}
