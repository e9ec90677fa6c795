import ArgumentParser
import DVBackup
import Foundation
import Logging

/// Options every command takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file (the original run_backup.py's config.ini works; \(ConfigLocation.help)).", valueName: "file"))
    var config: String = ConfigLocation.defaultPath()

    @Option(name: .customLong("log-level"), help: ArgumentHelp("debug, info, warning or error (overrides [Backup] LogLevel).", valueName: "level"))
    var logLevel: String?

    func validate() throws {
        if let logLevel, LogLevelName.parse(logLevel) == nil {
            throw ValidationError("unknown log level '\(logLevel)' (use debug, info, warning or error)")
        }
    }

    /// Loads the settings, or prints the configuration error and exits with code 2 (for a
    /// run, `reportingFor`, mailing why when [Notifications] can still be read).
    /// `readsStores`: the command reads the source stores, so their S3 credentials must resolve.
    func loadSettings(reportingFor mode: RunMode? = nil, readsStores: Bool = false) throws -> (Settings, Logger) {
        let settings: Settings
        do {
            settings = try Settings.load(path: config)
            if readsStores { try settings.requireS3Stores() }
        } catch {
            let logger = makeLogger(level: logLevel.flatMap(LogLevelName.parse) ?? .info)
            logger.error("configuration error: \(error)")
            if let mode { MorningReport.configurationBroken(path: config, error: error, mode: mode, logger: logger) }
            throw ExitCode(ExitStatus.usage.rawValue)
        }
        let logger = makeLogger(level: logLevel.flatMap(LogLevelName.parse) ?? settings.backup.logLevel)
        for w in settings.warnings { logger.warning("\(w)") }
        return (settings, logger)
    }

    func makeLogger(level: Logger.Level) -> Logger {
        Logger(label: "dvbackup") { _ in StderrLogHandler(level: level) }
    }
}

// The entry point is the call at the end of this file (other files hold subcommands, so
// this one is top-level code and cannot use @main).
struct DVBackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dvbackup",
        abstract: "Replicates a Dataverse installation's data files to a second storage system and proves every copy.",
        discussion: """
            Exit codes: 0 every planned file is OK; 1 the run finished with failed files; \
            2 bad usage or configuration; 3 the run could not start.
            """,
        version: "dvbackup 0.1.0",
        subcommands: [Run.self, Status.self, Report.self, InitDB.self, CheckConfig.self],
        defaultSubcommand: Run.self)

    /// Parses, runs, and maps every usage error to exit code 2.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                self.exit(withError: error)
            }
            let message = fullMessage(for: error)
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(ExitStatus.usage.rawValue)
        }
    }
}

extension DVBackupCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Back up the files created since the last run (the default command).")

        @OptionGroup var options: CommonOptions

        @Flag(name: .long, help: "Full reconciliation: read the whole catalog and copy every file not yet OK.")
        var rerun = false

        @Flag(name: .customLong("dry-run"), help: "Print what would be copied; change nothing.")
        var dryRun = false

        func run() throws {
            let mode: RunMode = rerun ? .rerun : .incremental
            let (settings, logger) = try options.loadSettings(reportingFor: dryRun ? nil : mode, readsStores: true)
            BackupJob.installSignalHandlers()
            let job = BackupJob(settings: settings, mode: mode, logger: logger, output: OutputWriter())
            let status = dryRun ? job.dryRun() : job.run()
            // The morning report (not for a dry run): stored and mailed; never changes the exit code.
            if !dryRun { MorningReport(settings: settings, logger: logger).deliver(job: job, exit: status) }
            throw ExitCode(status.rawValue)
        }
    }

    struct InitDB: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init-db",
            abstract: "Create the backup database schema, or upgrade a table made by the original backupdb.sql in place.")

        @OptionGroup var options: CommonOptions

        func run() throws {
            let (settings, logger) = try options.loadSettings()
            do {
                let db = try settings.database.connectBackup()
                let store = StatusStore(connection: db)
                guard try store.tryLock() else {
                    logger.error("a dvbackup run holds the lock on \(settings.database.backupLabel); try again when it has finished")
                    throw ExitCode(ExitStatus.cannotStart.rawValue)
                }
                let hadOriginal = try Migrations.hasOriginalTable(db) && (try Migrations.applied(db)).isEmpty
                let applied = try Migrations.apply(db)
                if applied.isEmpty {
                    print("\(settings.database.backupLabel) is up to date (schema version \(Migrations.all.count))")
                } else {
                    if hadOriginal {
                        let rows = try db.query("SELECT count(*) FROM datafilestatus").int(0, 0) ?? 0
                        print("upgraded the original datafilestatus table in place, keeping its \(rows) rows")
                    }
                    for name in applied { print("applied \(name)") }
                    print("\(settings.database.backupLabel) is at schema version \(Migrations.all.count)")
                }
            } catch let e as ExitCode {
                throw e
            } catch {
                logger.error("\(error)")
                throw ExitCode(ExitStatus.cannotStart.rawValue)
            }
        }
    }

    struct CheckConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config",
            abstract: "Validate the configuration and print the effective settings (secrets shown as ***).")

        @OptionGroup var options: CommonOptions

        func run() throws {
            let (settings, logger) = try options.loadSettings(readsStores: true)
            let out = OutputWriter()
            EffectiveSettings(settings).render(into: out)
            // Each S3 store's bucket, reached with its credentials; nothing is copied.
            var unreachable = 0
            for store in settings.stores.sortedStores {
                guard let s3 = settings.s3Stores[store.id.lowercased()] else { continue }
                let reader = S3Store(config: store, settings: s3, logger: logger)
                if let why = reader.probeBucket() {
                    unreachable += 1
                    out.line("S3 store \(store.id): bucket \(s3.bucket) cannot be reached: \(why)")
                } else {
                    out.line("S3 store \(store.id): bucket \(s3.bucket) reachable with its credentials")
                }
            }
            out.flush()
            if unreachable > 0 { throw ExitCode(ExitStatus.cannotStart.rawValue) }
        }
    }
}

DVBackupCommand.main()
