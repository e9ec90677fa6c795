/// The backup database's schema, as the numbered scripts in `sql/backupdb/` (embedded in the
/// binary at build time, so cron can run it from anywhere).
public enum Migrations {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
    }

    public static let all: [Migration] = [
        Migration(version: 1, name: "V001__datafilestatus.sql",
                  sql: String(decoding: PackageResources.V001__datafilestatus_sql, as: UTF8.self)),
        Migration(version: 2, name: "V002__datafilestatus_keys_and_details.sql",
                  sql: String(decoding: PackageResources.V002__datafilestatus_keys_and_details_sql, as: UTF8.self)),
        Migration(version: 3, name: "V003__runs.sql",
                  sql: String(decoding: PackageResources.V003__runs_sql, as: UTF8.self)),
        Migration(version: 4, name: "V004__run_reports.sql",
                  sql: String(decoding: PackageResources.V004__run_reports_sql, as: UTF8.self)),
        Migration(version: 5, name: "V005__audit.sql",
                  sql: String(decoding: PackageResources.V005__audit_sql, as: UTF8.self)),
    ]

    static let bookkeeping = """
        CREATE TABLE IF NOT EXISTS dvbackup_schema_migration (
            version integer PRIMARY KEY,
            name text NOT NULL,
            applied timestamp with time zone NOT NULL DEFAULT now())
        """

    /// Versions already applied (empty for a new or an original-script database).
    public static func applied(_ db: PostgresConnection) throws(PostgresError) -> Set<Int> {
        let exists = try db.query("SELECT to_regclass('dvbackup_schema_migration') IS NOT NULL AS present")
        guard try exists.bool(0, "present") == true else { return [] }
        let r = try db.query("SELECT version FROM dvbackup_schema_migration")
        var versions: Set<Int> = []
        for i in 0..<r.rowCount { if let v = try r.int(i, "version") { versions.insert(Int(v)) } }
        return versions
    }

    /// Whether the database has the original script's table.
    public static func hasOriginalTable(_ db: PostgresConnection) throws(PostgresError) -> Bool {
        try db.query("SELECT to_regclass('datafilestatus') IS NOT NULL AS present").bool(0, "present") == true
    }

    /// Applies what is pending, each script with its bookkeeping row in one transaction.
    /// With `insideTransaction` the caller has a transaction open (a dry run that rolls
    /// everything back) and no BEGIN/COMMIT is issued. Returns the names applied.
    @discardableResult
    public static func apply(_ db: PostgresConnection, insideTransaction: Bool = false) throws(PostgresError) -> [String] {
        let done = try applied(db)
        var names: [String] = []
        for m in all where !done.contains(m.version) {
            do {
                if !insideTransaction { try db.execute("BEGIN") }
                try db.execute(bookkeeping)
                try db.execute(m.sql)
                try db.query("INSERT INTO dvbackup_schema_migration (version, name) VALUES ($1, $2)",
                             [String(m.version), m.name])
                if !insideTransaction { try db.execute("COMMIT") }
            } catch {
                if !insideTransaction { _ = try? db.execute("ROLLBACK") }
                throw PostgresError(kind: error.kind, message: error.message, sqlState: error.sqlState,
                                    context: "\(db.label): applying \(m.name)")
            }
            names.append(m.name)
        }
        return names
    }
}
