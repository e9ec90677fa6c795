import ArgumentParser
import DVBackup
import Logging

extension DVBackupCommand {
    /// The process's exit code for an error that ended a command: an `ExitCode` (what a command
    /// throws to end with a code of `ExitStatus`) keeps its value, a request for help or the
    /// version is 0, and any other error (an unknown option, a bad value, a failed validation)
    /// is 2, bad usage.
    static func exitStatus(for error: any Error) -> Int32 {
        if let exit = error as? ExitCode { return exit.rawValue }
        if exitCode(for: error) == .success { return ExitStatus.success.rawValue }
        return ExitStatus.usage.rawValue
    }
}

/// Runs a command's work on the backup database or the target. An `ExitCode` the work throws
/// ends the command as it is; any other error is logged (after what `output` holds is printed)
/// and ends the command with `status` (by default 3: the database or target cannot be used).
func exiting<T>(with status: ExitStatus = .cannotStart, logger: Logger, flushing output: OutputWriter? = nil,
                _ work: () throws -> T) throws -> T {
    do {
        return try work()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        output?.flush()
        logger.error("\(error)")
        throw ExitCode(status.rawValue)
    }
}
