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
        // Through RunStart, as every command that leaves a run row; its sessions named like a
        // run's, so that a run or audit refused the lock names this one.
        let start = RunStart(settings: settings, logger: logger)
        let label = settings.database.backupLabel
        let status: StatusStore
        do {
            status = try start.lock(modeName: side.rawValue) { holder in
                "another dvbackup run or audit holds the lock on \(label): \(holder); this \(side.rawValue) did not start"
            }
        } catch { throw .cannotStart(error) }
        let store = AuditStore(db: status.db, side: side)
        // Bad arguments stop the audit before its row is written.
        do {
            let files = try store.unknownDatafiles(selection.datafiles)
            if !files.isEmpty {
                throw Failure.refused("--datafile: \(files.map(String.init).joined(separator: ", ")): no such datafile in \(label) (it was never backed up, or the id is wrong; `dvbackup status --dataset PID` lists a dataset's files)")
            }
            let datasets = try store.unknownDatasets(selection.datasets)
            if !datasets.isEmpty {
                throw Failure.refused("--dataset: \(datasets.joined(separator: ", ")): \(label) knows no file of this dataset (check the PID, e.g. doi:10.5072/FK2/ABCDEF)")
            }
        } catch let f as Failure {
            throw f
        } catch {
            throw .cannotStart(StartFailure("cannot read the backup database: \(error)"))
        }
        do {
            let runId = try start.writeRow(status, modeName: side.rawValue, method: method, target: target, what: side.rawValue)
            let opened = try start.openCatalog(status, runId: runId, modeName: side.rawValue)
            return Opened(status: status, store: store, runId: runId, catalog: opened.catalog)
        } catch { throw .cannotStart(error) }
    }

    /// The audit's counts in the runs table (copies: ok = verified or present; primaries:
    /// fail_source_checksum = damaged, fail_read = missing or unreadable).
    static func counts(_ s: AuditSummary?) -> RunCounts {
        var c = RunCounts()
        let copies = s?.side != .sources
        c.planned = s?.taken ?? 0
        c.skipped = s?.skipped ?? 0
        c[.ok] = (s?.verified ?? 0) + (s?.present ?? 0)
        c[.failAuditMissing] = copies ? s?.missing ?? 0 : 0
        c[.failAuditCorrupt] = copies ? s?.corrupt ?? 0 : 0
        c[.failSourceChecksum] = copies ? 0 : s?.corrupt ?? 0
        c[.failRead] = copies ? s?.unreadable ?? 0 : (s?.missing ?? 0) + (s?.unreadable ?? 0)
        c.bytes = s?.bytes ?? 0
        return c
    }

    /// Closes the audit's row (``StatusStore/finishRun``), with ``counts(_:)``.
    func finish(_ status: StatusStore, runId: Int64, summary s: AuditSummary?, error: String?) {
        do {
            try status.finishRun(runId, state: s?.state ?? .failed, counts: Self.counts(s), cursor: nil, error: error ?? s?.error)
        } catch {
            logger.error("cannot record the end of \(runId): \(error)")
        }
    }
}
