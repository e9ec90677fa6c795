/// The state of a run as the runs table records it (`dvbackup_run.state`): the raw values
/// are the strings stored, and must not change.
public enum RunState: String, Sendable, CaseIterable, Codable {
    /// The run holds the lock and is working (its row is written when it starts).
    case running
    /// Every planned file was handed to the workers and recorded.
    case finished
    /// Stopped by SIGINT or SIGTERM; what was recorded stays.
    case interrupted
    /// Stopped by an error of its own (the catalog could not be read, a status could not be
    /// recorded), or it could not go on after its row was written.
    case failed
    /// Found still `running` by a later run that took the lock: it died without finishing.
    case crashed
    /// It could not start (the lock was held, say); the row only keeps its report.
    case notStarted = "not-started"

    /// How a run that went through ended: an error wins over an interruption.
    public static func ending(error: String?, interrupted: Bool) -> RunState {
        if error != nil { return .failed }
        return interrupted ? .interrupted : .finished
    }

    /// The cursor rule: the incremental cursor moves to `reached` only when every planned
    /// file has been recorded, that is when the run `finished`; otherwise the next run
    /// starts where this one did.
    public func cursorToRecord(reached: CatalogCursor?) -> CatalogCursor? {
        self == .finished ? reached : nil
    }

    /// The exit code of a run that went through: 0 only when it finished with no failed file.
    public func exitStatus(failedFiles: Int64) -> ExitStatus {
        self == .finished && failedFiles == 0 ? .success : .filesFailed
    }
}
