import Foundation

/// The morning report kept with its run in `dvbackup_run` (migration V004), and what became
/// of its mail.
public struct ReportStore {
    public let db: PostgresConnection

    public init(connection: PostgresConnection) { db = connection }

    /// Whether the database has the report columns (V004 applied).
    public func hasReportColumns() throws(PostgresError) -> Bool {
        try Migrations.applied(db).contains(4)
    }

    /// ``hasReportColumns()``, `false` when the database cannot say.
    public func isAvailable() -> Bool {
        (try? hasReportColumns()) == true
    }

    /// Stores `report` on run `runId`.
    public func save(_ report: RunReport, runId: Int64) throws(PostgresError) {
        try db.query("""
            UPDATE dvbackup_run SET exit_code = $2::integer, report_subject = $3, report = $4, report_csv = $5
            WHERE id = $1::bigint
            """, [String(runId), String(report.exitStatus.rawValue), report.subject, report.text,
                  report.csv.map { String(decoding: $0, as: UTF8.self) }])
    }

    /// A row for a run that could not start (another run holds the lock, say), with its
    /// report. Returns its id.
    public func saveNotStarted(_ report: RunReport, mode: RunMode, reason: String) throws(PostgresError) -> Int64 {
        let r = try db.query("""
            INSERT INTO dvbackup_run (mode, state, finished, host, pid, error, exit_code, report_subject, report, report_csv)
            VALUES ($1, $9, now(), $2, $3::integer, $4, $5::integer, $6, $7, $8) RETURNING id
            """, [mode.rawValue, WallClock.hostname(), String(getpid()), reason, String(report.exitStatus.rawValue),
                  report.subject, report.text, report.csv.map { String(decoding: $0, as: UTF8.self) },
                  RunState.notStarted.rawValue])
        return try r.int(0, "id") ?? 0
    }

    /// Records what became of the mail of run `runId`.
    public func recordMail(_ outcome: MailOutcome, runId: Int64) throws(PostgresError) {
        try db.query("""
            UPDATE dvbackup_run SET mail_status = $2, mail_error = $3, mail_recipients = $4,
                mailed_at = CASE WHEN $2 = 'sent' THEN now() ELSE mailed_at END
            WHERE id = $1::bigint
            """, [String(runId), outcome.status, outcome.detail, outcome.recipients.joined(separator: ", ")])
    }

    /// The stored report of run `runId`, or of the latest run; `nil` when there is no such run.
    public func load(runId: Int64?) throws(PostgresError) -> StoredReport? {
        let select = """
            SELECT id, mode, state, to_char(started, 'YYYY-MM-DD HH24:MI:SS TZH:TZM') AS started,
                   to_char(finished, 'YYYY-MM-DD HH24:MI:SS TZH:TZM') AS finished, exit_code, report_subject, report,
                   report_csv, mail_status, mail_error, mail_recipients,
                   to_char(mailed_at, 'YYYY-MM-DD HH24:MI:SS TZH:TZM') AS mailed_at, error
            FROM dvbackup_run
            """
        let r: PostgresResult
        if let runId {
            r = try db.query(select + " WHERE id = $1::bigint", [String(runId)])
        } else {
            r = try db.query(select + " ORDER BY id DESC LIMIT 1")
        }
        guard r.rowCount == 1 else { return nil }
        return StoredReport(
            runId: try r.int(0, "id") ?? 0, mode: try r.string(0, "mode") ?? "", state: try r.string(0, "state") ?? "",
            started: try r.string(0, "started") ?? "", finished: try r.string(0, "finished"),
            exitCode: try r.int(0, "exit_code").map { Int32($0) },
            subject: try r.string(0, "report_subject"), text: try r.string(0, "report"), csv: try r.string(0, "report_csv"),
            mailStatus: try r.string(0, "mail_status"), mailError: try r.string(0, "mail_error"),
            mailRecipients: try r.string(0, "mail_recipients"), mailedAt: try r.string(0, "mailed_at"),
            error: try r.string(0, "error"))
    }
}
