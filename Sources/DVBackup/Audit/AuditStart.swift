import Foundation
import Logging

/// The opening of an audit, as ``RunStart`` opens a run: the backup database, the run lock
/// (the same lock as backup runs: an audit and a run never work at the same time against one
/// backup database, and the message names the holder), the schema upgrades, the selection
/// checked, the audit's row in the runs table.
struct AuditStart {
    let settings: Settings
    let logger: Logger

    struct Opened {
        let status: StatusStore
        let store: AuditStore
        let runId: Int64
        let catalog: CatalogReader
    }

    enum Failure: Error {
        /// Bad arguments: exit 2, nothing recorded.
        case refused(String)
        /// Exit 3.
        case cannotStart(StartFailure)
    }

    func open(side: AuditSide, selection: AuditSelection, target: String, method: String) throws(Failure) -> Opened {
        func cannot(_ s: String, _ runId: Int64? = nil) -> Failure { .cannotStart(StartFailure(s, runId: runId)) }
        let backup: PostgresConnection
        // Named like a run's connections, so that a run or audit refused the lock names this one.
        do { backup = try RunStart(settings: settings, logger: logger).connect(modeName: side.rawValue) } catch { throw .cannotStart(error) }
        let status = StatusStore(connection: backup)
        let store = AuditStore(db: backup, side: side)
        let locked: Bool
        do { locked = try status.tryLock() } catch { throw cannot("cannot prepare the backup database: \(error)") }
        guard locked else {
            throw cannot("another dvbackup run or audit holds the lock on \(settings.database.backupLabel): \(status.lockHolderDescription()); this \(side.rawValue) did not start")
        }
        do {
            for name in try Migrations.apply(backup) { logger.info("backup database upgraded: applied \(name)") }
        } catch {
            throw cannot("cannot prepare the backup database: \(error)")
        }
        do {
            let files = try store.unknownDatafiles(selection.datafiles)
            if !files.isEmpty {
                throw Failure.refused("--datafile: \(files.map(String.init).joined(separator: ", ")): no such datafile in \(settings.database.backupLabel) (it was never backed up, or the id is wrong; `dvbackup status --dataset PID` lists a dataset's files)")
            }
            let datasets = try store.unknownDatasets(selection.datasets)
            if !datasets.isEmpty {
                throw Failure.refused("--dataset: \(datasets.joined(separator: ", ")): \(settings.database.backupLabel) knows no file of this dataset (check the PID, e.g. doi:10.5072/FK2/ABCDEF)")
            }
        } catch let f as Failure {
            throw f
        } catch {
            throw cannot("cannot read the backup database: \(error)")
        }
        let runId: Int64
        do {
            try status.markAbandonedRuns()
            runId = try status.startRun(mode: side.rawValue, method: method, target: target)
        } catch {
            throw cannot("cannot record the \(side.rawValue) in the backup database: \(error)")
        }
        do {
            let catalog = try settings.database.connectCatalog()
            return Opened(status: status, store: store, runId: runId, catalog: CatalogReader(connection: catalog))
        } catch {
            finish(status.db, runId: runId, summary: nil, error: error.description)
            throw cannot(error.description, runId)
        }
    }

    /// Closes the audit's row: its state and counts (copies: ok = verified or present;
    /// primaries: fail_source_checksum = damaged, fail_read = missing or unreadable).
    func finish(_ db: PostgresConnection, runId: Int64, summary s: AuditSummary?, error: String?) {
        let state = s?.state ?? .failed
        let copies = s?.side != .sources
        let values: [Int64] = [s?.taken ?? 0, s?.skipped ?? 0, (s?.verified ?? 0) + (s?.present ?? 0),
                               copies ? s?.missing ?? 0 : 0, copies ? s?.corrupt ?? 0 : 0,
                               copies ? 0 : s?.corrupt ?? 0, copies ? s?.unreadable ?? 0 : (s?.missing ?? 0) + (s?.unreadable ?? 0),
                               s?.bytes ?? 0]
        do {
            try db.query("""
                UPDATE dvbackup_run SET state = $2, finished = now(), planned = $3, skipped = $4, ok = $5,
                    fail_audit_missing = $6, fail_audit_corrupt = $7, fail_source_checksum = $8, fail_read = $9,
                    bytes = $10, error = $11
                WHERE id = $1
                """, [String(runId), state.rawValue] + values.map { String($0) } + [error ?? s?.error])
        } catch {
            logger.error("cannot record the end of \(runId): \(error)")
        }
    }
}
