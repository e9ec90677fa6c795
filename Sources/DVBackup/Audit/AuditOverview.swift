/// What `dvbackup status` says of the audit: the copies' last verification and the rotation.
public struct AuditOverview: Sendable, Codable, Equatable {
    public var cycle: String
    /// Copies whose status says proven (OK, OK_NO_CHECKSUM), with their bytes, overdue ones…
    public var copies: AuditTotals
    /// By the last proof's finding: verified, missing, corrupt, unreadable, never.
    public var lastResults: [String: Int64]
    /// The primaries by what was last found of them (`audit --source`, or a restore into the
    /// store): ok, damaged, missing, unreadable; nil where no audit --source ever ran.
    public var primaries: [String: Int64]? = nil

    /// Primaries last found damaged or missing.
    public var damagedPrimaries: Int64 { Self.damagedPrimaries(primaries) }

    static func damagedPrimaries(_ results: [String: Int64]?) -> Int64 { (results?["damaged"] ?? 0) + (results?["missing"] ?? 0) }

    static func load(_ db: PostgresConnection, cycleSeconds: Int64) throws(PostgresError) -> AuditOverview {
        let totals = try AuditStore(db: db, side: .copies).totals(AuditSelection(), cycleSeconds: cycleSeconds)
        let r = try db.query("""
            SELECT COALESCE(lastverifyresult, 'never') AS result, count(*) AS n FROM datafilestatus
            WHERE datafileid IS NOT NULL GROUP BY 1
            """)
        var results: [String: Int64] = [:]
        for i in 0..<r.rowCount { results[try r.string(i, "result") ?? "never"] = try r.int(i, "n") ?? 0 }
        var overview = AuditOverview(cycle: DurationParser.format(cycleSeconds), copies: totals, lastResults: results)
        overview.primaries = try primaryResults(db)
        return overview
    }

    /// `sourcefixity`'s rows by result (nil without the table or a row).
    static func primaryResults(_ db: PostgresConnection) throws(PostgresError) -> [String: Int64]? {
        guard try db.query("SELECT to_regclass('sourcefixity') IS NOT NULL AS present").bool(0, "present") == true else { return nil }
        let r = try db.query("SELECT result, count(*) AS n FROM sourcefixity GROUP BY 1")
        var results: [String: Int64] = [:]
        for i in 0..<r.rowCount { results[try r.string(i, "result") ?? "?"] = try r.int(i, "n") ?? 0 }
        return results.isEmpty ? nil : results
    }

    func render(into out: OutputWriter) {
        out.line("Audit (cycle \(cycle)): \(formatCount(copies.overdueFiles)) of \(formatCount(copies.files)) proven copies overdue; oldest verification \(copies.neverVerified > 0 ? "never (\(formatCount(copies.neverVerified)) never verified)" : copies.oldestVerified ?? "none")")
        let order = ["verified", "corrupt", "missing", "unreadable", "never"]
        let parts = (order + lastResults.keys.filter { !order.contains($0) }.sorted()).compactMap { k in
            lastResults[k].map { "\(k) \(formatCount($0))" }
        }
        if !parts.isEmpty { out.line("  last proof: " + parts.joined(separator: ", ")) }
        if let primaries {
            let order = ["damaged", "missing", "unreadable", "ok"]
            let parts = (order + primaries.keys.filter { !order.contains($0) }.sorted()).compactMap { k in
                primaries[k].map { "\(k) \(formatCount($0))" }
            }
            out.line("  primaries (audit --source): " + parts.joined(separator: ", ")
                     + (damagedPrimaries > 0 ? "; `dvbackup restore --damaged-primaries --into-store` restores those with a proven copy" : ""))
        }
    }
}
