/// What `dvbackup status` says of the audit: the copies' last verification and the rotation.
public struct AuditOverview: Sendable, Codable, Equatable {
    public var cycle: String
    /// Copies whose status says proven (OK, OK_NO_CHECKSUM), with their bytes, overdue ones…
    public var copies: AuditTotals
    /// By the last proof's finding: verified, missing, corrupt, unreadable, never.
    public var lastResults: [String: Int64]

    static func load(_ db: PostgresConnection, cycleSeconds: Int64) throws(PostgresError) -> AuditOverview {
        let totals = try AuditStore(db: db, side: .copies).totals(AuditSelection(), cycleSeconds: cycleSeconds)
        let r = try db.query("""
            SELECT COALESCE(lastverifyresult, 'never') AS result, count(*) AS n FROM datafilestatus
            WHERE datafileid IS NOT NULL GROUP BY 1
            """)
        var results: [String: Int64] = [:]
        for i in 0..<r.rowCount { results[try r.string(i, "result") ?? "never"] = try r.int(i, "n") ?? 0 }
        return AuditOverview(cycle: DurationParser.format(cycleSeconds), copies: totals, lastResults: results)
    }

    func render(into out: OutputWriter) {
        out.line("Audit (cycle \(cycle)): \(formatCount(copies.overdueFiles)) of \(formatCount(copies.files)) proven copies overdue; oldest verification \(copies.neverVerified > 0 ? "never (\(formatCount(copies.neverVerified)) never verified)" : copies.oldestVerified ?? "none")")
        let order = ["verified", "corrupt", "missing", "unreadable", "never"]
        let parts = (order + lastResults.keys.filter { !order.contains($0) }.sorted()).compactMap { k in
            lastResults[k].map { "\(k) \(formatCount($0))" }
        }
        if !parts.isEmpty { out.line("  last proof: " + parts.joined(separator: ", ")) }
    }
}
