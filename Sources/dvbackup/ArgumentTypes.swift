import ArgumentParser
import DVBackup
import Logging

/// `--log-level`'s values: swift-log's levels, in any case, with `warn` for `warning` (as
/// `[Backup] LogLevel` reads them).
enum LogLevelArgument: String, CaseIterable, ExpressibleByArgument {
    case trace, debug, info, notice, warning, error, critical

    init?(argument: String) {
        guard let level = LogLevelName.parse(argument) else { return nil }
        self.init(rawValue: level.rawValue)
    }

    var level: Logger.Level { Logger.Level(rawValue: rawValue)! }
}

/// One `--status` value: a status or a comma-separated list of them, in any case. Its words
/// are checked together in `Status.validate()`, which names the first one that is not a status
/// (`--status: 'X' is not a status (use OK, …)`); help lists the statuses.
struct StatusArgument: ExpressibleByArgument {
    let text: String

    init(argument: String) { text = argument }

    static var allValueStrings: [String] { BackupStatus.allCases.map(\.rawValue) }

    /// The statuses the values name (each once, in the order given), or the first word that is not one.
    static func statuses(_ values: [StatusArgument]) -> Result<[BackupStatus], StatusNameError> {
        StatusFilter.parseStatuses(values.map(\.text))
    }
}
