import Foundation
import Logging

extension BackupJob {
    /// Prints the plan; changes nothing (schema upgrades and legacy matching happen in a
    /// transaction that is rolled back).
    public func dryRun() -> ExitStatus {
        do {
            let start = RunStart(settings: settings, logger: logger)
            let backup = try start.connect()
            let catalogDB = try start.connect(catalog: true)
            let status = StatusStore(connection: backup)
            let catalog = CatalogReader(connection: catalogDB)
            try backup.execute("BEGIN")
            defer { _ = try? backup.execute("ROLLBACK") }
            let pending = try Migrations.apply(backup, insideTransaction: true)
            if !pending.isEmpty {
                logger.info("dry run: the backup database needs schema upgrades (\(pending.joined(separator: ", "))); a real run applies them")
            }
            let adopted = try LegacyAdoption.run(status: status, catalog: catalog, insideTransaction: true)
            if adopted.matched > 0 {
                logger.info("dry run: \(adopted.matched) rows of the original run_backup.py would be matched to catalog files")
            }
            let cursor = try status.incrementalCursor()
            let planner = Planner(catalog: catalog, status: status, mode: mode, startCursor: cursor,
                                  overlapSeconds: settings.backup.incrementalOverlapSeconds)
            describeWindow(planner)
            var bytes: Int64 = 0
            let stores = SourceStores(registry: settings.stores, s3: settings.s3Stores, logger: logger)
            let totals = try planner.plan { file, previous in
                let size = file.expectedSourceSize ?? file.fileSize
                bytes += size ?? 0
                let why = previous.map { $0.status.hasPrefix("FAIL") ? "retry after \($0.status)" : "checksum changed since \($0.status)" } ?? "new"
                var source = ""
                do throws(FileFailure) {
                    let store = try stores.store(for: file)
                    source = try store.locate(file).address
                } catch {
                    source = "cannot be read: \(error.reason)"
                }
                out.line("copy datafile \(file.id) \(file.datasetPID) \(file.storageIdentifier) \(size.map { "\($0) bytes" } ?? "size unknown") \(file.isTabular ? "(tabular: original) " : "")[\(why)] from \(source)")
            }
            out.line("dry run (\(mode.rawValue)): \(formatCount(totals.planned)) files would be copied (\(formatBytes(bytes))), \(formatCount(totals.skipped)) skipped as already OK, \(formatCount(totals.deferred)) left for a later run (ingest in progress); nothing was changed")
            out.flush()
            return .success
        } catch let e as StartFailure {
            logger.error("\(e.message)")
            return .cannotStart
        } catch {
            logger.error("dry run failed: \(error)")
            return .cannotStart
        }
    }
}
