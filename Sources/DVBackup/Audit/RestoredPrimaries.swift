import Logging

/// A restore `--into-store` proves what it writes: the bytes streamed from the copy matched
/// the expected digest, and were written under a temporary name, flushed and renamed into the
/// place Dataverse reads. That is a check of the primary as good as `audit --source`'s, so it
/// is recorded in `sourcefixity` (result `ok`, the reason saying it was restored, when and by
/// which run): `restore --damaged-primaries` no longer picks the file, and `status` no longer
/// counts it damaged. Only files really restored are recorded; a failed restore leaves the
/// row as it was.
struct RestoredPrimaries {
    let db: PostgresConnection
    let runId: Int64
    let logger: Logger

    /// The recorder for run `runId`, or nil where the backup database has no `sourcefixity`
    /// (no audit ever ran there: restore does not create the table).
    static func open(_ db: PostgresConnection, runId: Int64, logger: Logger) -> RestoredPrimaries? {
        do {
            guard try db.query("SELECT to_regclass('sourcefixity') IS NOT NULL AS present").bool(0, "present") == true else {
                logger.debug("no sourcefixity table: the restored primaries are not recorded there")
                return nil
            }
        } catch {
            logger.error("cannot read the backup database (the restored primaries are not recorded in sourcefixity): \(error)")
            return nil
        }
        return RestoredPrimaries(db: db, runId: runId, logger: logger)
    }

    /// Records `result` when it says `item` was restored; anything else is left alone.
    func record(_ item: RestoreItem, _ result: RestoreResult) {
        guard result.kind == .restored else { return }
        let how = item.expected.map { " against the \(item.expectedSource)'s \($0.algorithm.rawValue)" } ?? ""
        do {
            try db.query("""
                INSERT INTO sourcefixity (datafileid, lastchecked, result, reason, lastrunid)
                VALUES ($1::bigint, now(), 'ok',
                        'restored by restore run ' || $2::bigint::text || ' on ' || to_char(now(), 'YYYY-MM-DD HH24:MI:SS')
                        || $3, $2::bigint)
                ON CONFLICT (datafileid) DO UPDATE SET lastchecked = EXCLUDED.lastchecked, result = EXCLUDED.result,
                    reason = EXCLUDED.reason, lastrunid = EXCLUDED.lastrunid
                """, [String(item.file.id), String(runId),
                   ", proven\(how) while streaming, written under a temporary name, flushed and renamed"])
        } catch {
            logger.error("cannot record the restore of datafile \(item.file.id) in sourcefixity (audit --source will check it again): \(error)")
        }
    }
}
