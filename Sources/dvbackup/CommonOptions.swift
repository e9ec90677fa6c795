import ArgumentParser
import DVBackup
import Logging

/// Options every command takes (`@OptionGroup var options: CommonOptions`).
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file (the original run_backup.py's config.ini works; \(ConfigLocation.help)).", valueName: "file"))
    var config: String = ConfigLocation.defaultPath()

    @Option(name: .customLong("log-level"), help: ArgumentHelp("Overrides [Backup] LogLevel.", valueName: "level"))
    var logLevel: LogLevelArgument?

    /// Loads the settings, or prints the configuration error and exits with code 2 (for a
    /// run, `reportingFor`, mailing why when [Notifications] can still be read).
    /// `readsStores`: the command reads the source stores, so their S3 credentials must resolve.
    func loadSettings(reportingFor mode: RunMode? = nil, readsStores: Bool = false) throws -> (Settings, Logger) {
        let settings: Settings
        do {
            settings = try Settings.load(path: config)
            if readsStores { try settings.requireS3Stores() }
        } catch {
            let logger = makeLogger(level: logLevel?.level ?? .info)
            logger.error("configuration error: \(error)")
            if let mode { MorningReport.configurationBroken(path: config, error: error, mode: mode, logger: logger) }
            throw ExitCode(ExitStatus.usage.rawValue)
        }
        let logger = makeLogger(level: logLevel?.level ?? settings.backup.logLevel)
        for w in settings.warnings { logger.warning("\(w)") }
        return (settings, logger)
    }

    func makeLogger(level: Logger.Level) -> Logger {
        Logger(label: "dvbackup") { _ in StderrLogHandler(level: level) }
    }
}
