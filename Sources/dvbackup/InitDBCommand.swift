import ArgumentParser
import DVBackup
import Logging

extension DVBackupCommand {
    struct InitDB: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init-db",
            abstract: "Create the backup database schema, or upgrade a table made by the original backupdb.sql in place.")

        @OptionGroup var options: CommonOptions

        func run() throws {
            let (settings, logger) = try options.loadSettings()
            try exiting(logger: logger) {
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
                        let rows = try db.query("SELECT count(*) AS n FROM datafilestatus").int(0, "n") ?? 0
                        print("upgraded the original datafilestatus table in place, keeping its \(rows) rows")
                    }
                    for name in applied { print("applied \(name)") }
                    print("\(settings.database.backupLabel) is at schema version \(Migrations.all.count)")
                }
            }
        }
    }
}
