import Foundation
import Logging

/// The opening every run shares (a backup now; an audit or a restore next): the backup
/// database, the run lock, the schema upgrades, the run's row, the catalog and the target
/// checked, the original script's rows adopted. Whatever fails here is a ``StartFailure``:
/// the run could not start (exit code 3), and its row, once written, says `failed`.
struct RunStart {
    let settings: Settings
    let logger: Logger

    /// A run that has started: it holds the lock (on `status`'s connection) and has a row.
    struct Started {
        let status: StatusStore
        let runId: Int64
        /// Where an incremental run starts, read before this run's own row existed (a
        /// database of the original script has none).
        let startCursor: CatalogCursor?
        let catalog: CatalogReader
        /// A connection of its own for the recorder thread.
        let recorderDB: PostgresConnection
    }

    /// Connects to the backup (`catalog: false`) or catalog database; failing, the run
    /// cannot start.
    /// Each session carries the run's name (``RunApplicationName``), so that the session
    /// holding the run lock says which run it is, even before the run's row is written.
    func connect(catalog: Bool = false, modeName: String? = nil) throws(StartFailure) -> PostgresConnection {
        var info = catalog ? settings.database.catalog : settings.database.backup
        if let modeName {
            info.applicationName = RunApplicationName(mode: modeName, pid: Int64(getpid()), host: WallClock.hostname()).text
        }
        do {
            return try PostgresConnection(info, label: catalog ? settings.database.catalogLabel : settings.database.backupLabel)
        } catch {
            throw StartFailure(error.description)
        }
    }

    /// A row opened by the other commands that leave one (restore, orphans, audit): no
    /// incremental cursor, no recorder connection.
    struct Opened {
        let status: StatusStore
        let runId: Int64
        let catalog: CatalogReader
    }

    /// Takes the lock, upgrades the schema, writes the run's row (`mode`, `target`), then
    /// opens the catalog and the recorder's connection and checks that `target` is usable.
    func open(mode: RunMode, target: any BackupTarget) throws(StartFailure) -> Started {
        let status = try lock(modeName: mode.rawValue)
        let startCursor: CatalogCursor?
        do { startCursor = try status.incrementalCursor() } catch {
            throw StartFailure("cannot record the run in the backup database: \(error)")
        }
        let runId = try writeRow(status, modeName: mode.rawValue, method: target.method, target: target.displayName)
        do throws(StartFailure) {
            let catalogDB = try connect(catalog: true, modeName: mode.rawValue)
            let recorderDB = try connect(modeName: mode.rawValue)
            do { try target.checkUsable() } catch { throw StartFailure(error.message) }
            return Started(status: status, runId: runId, startCursor: startCursor,
                           catalog: CatalogReader(connection: catalogDB), recorderDB: recorderDB)
        } catch {
            throw abandon(runId, status: status, reason: error.message, recorded: error.message)
        }
    }

    /// `open(mode:target:)` for the other commands that leave a run row (`restore`,
    /// `orphans`), without what only a backup uses; `checkTarget: false` leaves checking the
    /// target to the caller (a restore only reads it, so a read-only backup must do).
    func open(modeName: String, target: any BackupTarget, checkTarget: Bool = true) throws(StartFailure) -> Opened {
        let status = try lock(modeName: modeName)
        let runId = try writeRow(status, modeName: modeName, method: target.method, target: target.displayName)
        return try openCatalog(status, runId: runId, modeName: modeName) { () throws(StartFailure) in
            guard checkTarget else { return }
            do throws(TargetUnavailable) { try target.checkUsable() } catch { throw StartFailure(error.message) }
        }
    }

    /// The first steps of every command that leaves a run row: the backup database (the
    /// session named after `modeName`), the run lock (`lockedOut` words the refusal from the
    /// holder's description), the schema upgrades. Returns the store holding the lock.
    func lock(modeName: String, lockedOut: ((String) -> String)? = nil) throws(StartFailure) -> StatusStore {
        let backup = try connect(modeName: modeName)
        let status = StatusStore(connection: backup)
        let locked: Bool
        do { locked = try status.tryLock() } catch { throw StartFailure("cannot prepare the backup database: \(error)") }
        guard locked else {
            let holder = status.lockHolderDescription()
            throw StartFailure(lockedOut?(holder)
                ?? "another dvbackup run holds the lock on \(settings.database.backupLabel): \(holder); this run did not start")
        }
        let applied: [String]
        do { applied = try Migrations.apply(backup) } catch { throw StartFailure("cannot prepare the backup database: \(error)") }
        for name in applied { logger.info("backup database upgraded: applied \(name)") }
        return status
    }

    /// Runs left `running` by a process that died are marked so; the run's row is written.
    /// `what` names the run in the error.
    func writeRow(_ status: StatusStore, modeName: String, method: String, target: String, what: String = "run") throws(StartFailure) -> Int64 {
        do {
            try status.markAbandonedRuns()
            return try status.startRun(mode: modeName, method: method, target: target)
        } catch {
            throw StartFailure("cannot record the \(what) in the backup database: \(error)")
        }
    }

    /// Opens the catalog for run `runId` and runs `check`; failing, the row says `failed`.
    func openCatalog(_ status: StatusStore, runId: Int64, modeName: String,
                     check: () throws(StartFailure) -> Void = {}) throws(StartFailure) -> Opened {
        do throws(StartFailure) {
            let catalogDB = try connect(catalog: true, modeName: modeName)
            try check()
            return Opened(status: status, runId: runId, catalog: CatalogReader(connection: catalogDB))
        } catch {
            throw abandon(runId, status: status, reason: error.message, recorded: error.message)
        }
    }

    /// Gives the rows the original `run_backup.py` wrote the datafile ids of their files.
    func adoptLegacyRows(_ run: Started) throws(StartFailure) {
        do {
            let adopted = try LegacyAdoption.run(status: run.status, catalog: run.catalog)
            if adopted.matched > 0 {
                logger.info("matched \(adopted.matched) rows written by the original run_backup.py to catalog files")
            }
        } catch {
            throw abandon(run.runId, status: run.status,
                          reason: "cannot match the original script's rows to the catalog: \(error)", recorded: "\(error)")
        }
    }

    /// Marks run `runId` failed with `recorded` as its error; the failure to throw.
    private func abandon(_ runId: Int64, status: StatusStore, reason: String, recorded: String) -> StartFailure {
        do {
            try status.finishRun(runId, state: .failed, counts: RunCounts(), cursor: nil, error: recorded)
        } catch {
            logger.error("cannot record the end of run \(runId): \(error)")
        }
        return StartFailure(reason, runId: runId)
    }
}
