/// dvbackup's exit codes.
public enum ExitStatus: Int32, Sendable {
    /// Every planned file is OK (or OK_NO_CHECKSUM); also a dry run.
    case success = 0
    /// The run finished with failed files.
    case filesFailed = 1
    /// Bad usage or configuration.
    case usage = 2
    /// The run could not start: database unreachable, lock held, target unusable.
    case cannotStart = 3
}

/// The run cannot start; the message says why (never a secret).
public struct StartFailure: Error, CustomStringConvertible, Sendable {
    public let message: String
    /// The run's row, when it had been written before the run had to stop.
    public let runId: Int64?

    public init(_ message: String, runId: Int64? = nil) {
        self.message = message
        self.runId = runId
    }

    public var description: String { message }
}
