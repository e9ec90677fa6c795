/// What the audit writes to the backup database, one transaction per batch of proofs.
extension AuditStore {
    /// A copy's finding: verified → `lastverified`; present (`--quick`) → `lastpresent` only
    /// (not a verification); missing or corrupt → FAIL_AUDIT_MISSING / FAIL_AUDIT_CORRUPT with
    /// the reason (the next run copies the file again); unreadable → noted, status kept.
    func recordCopies(_ batch: [(datafileId: Int64, finding: CopyFinding)], runId: Int64) throws(PostgresError) {
        guard !batch.isEmpty else { return }
        // The copies found right are many: one statement per method (per batch), not per copy.
        var verified: [String: [Int64]] = [:]
        var present: [Int64] = []
        for (id, finding) in batch {
            if case .verified(let how) = finding { verified["audit: " + how, default: []].append(id) }
            if case .present = finding { present.append(id) }
        }
        try db.execute("BEGIN")
        do throws(PostgresError) {
            for (method, ids) in verified.sorted(by: { $0.key < $1.key }) {
                try db.query("""
                    UPDATE datafilestatus SET lastverified = now(), lastverifymethod = $2, lastverifyresult = 'verified'
                    WHERE datafileid = ANY($1::bigint[])
                    """, [PostgresConnection.arrayLiteral(ids), method])
            }
            if !present.isEmpty {
                try db.query("UPDATE datafilestatus SET lastpresent = now() WHERE datafileid = ANY($1::bigint[])",
                             [PostgresConnection.arrayLiteral(present)])
            }
            for (id, finding) in batch {
                switch finding {
                case .verified, .present:
                    continue
                case .missing(let why), .corrupt(let why):
                    let missing: Bool = if case .missing = finding { true } else { false }
                    try db.query("""
                        UPDATE datafilestatus SET status = $2, lasterror = $3, lastverifyresult = $4, attempts = 1,
                            lastrunid = $5::bigint
                        WHERE datafileid = $1::bigint AND status IN ('OK', 'OK_NO_CHECKSUM')
                        """, [String(id), (missing ? BackupStatus.failAuditMissing : .failAuditCorrupt).rawValue, why,
                              missing ? "missing" : "corrupt", String(runId)])
                case .unreadable:
                    try db.query("UPDATE datafilestatus SET lastverifyresult = 'unreadable' WHERE datafileid = $1::bigint",
                                 [String(id)])
                }
            }
            try db.execute("COMMIT")
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
    }

    /// A primary's check: `sourcefixity` (never the backup's status).
    func recordSources(_ batch: [(datafileId: Int64, result: String, reason: String?)], runId: Int64) throws(PostgresError) {
        guard !batch.isEmpty else { return }
        try db.execute("BEGIN")
        do throws(PostgresError) {
            // The primaries found right in one statement; the findings one by one.
            let ok = batch.filter { $0.result == "ok" && $0.reason == nil }.map(\.datafileId)
            if !ok.isEmpty {
                try db.query("""
                    INSERT INTO sourcefixity (datafileid, lastchecked, result, reason, lastrunid)
                    SELECT id, now(), 'ok', NULL, $2::bigint FROM unnest($1::bigint[]) AS id
                    ON CONFLICT (datafileid) DO UPDATE SET lastchecked = now(), result = EXCLUDED.result,
                        reason = EXCLUDED.reason, lastrunid = EXCLUDED.lastrunid
                    """, [PostgresConnection.arrayLiteral(ok), String(runId)])
            }
            for (id, result, reason) in batch where !(result == "ok" && reason == nil) {
                try db.query("""
                    INSERT INTO sourcefixity (datafileid, lastchecked, result, reason, lastrunid)
                    VALUES ($1::bigint, now(), $2, $3, $4::bigint)
                    ON CONFLICT (datafileid) DO UPDATE SET lastchecked = now(), result = EXCLUDED.result,
                        reason = EXCLUDED.reason, lastrunid = EXCLUDED.lastrunid
                    """, [String(id), result, reason, String(runId)])
            }
            try db.execute("COMMIT")
        } catch {
            _ = try? db.execute("ROLLBACK")
            throw error
        }
    }
}
