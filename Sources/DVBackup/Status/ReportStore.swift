import Foundation

/// The morning report kept with its run in `dvbackup_run` (migration V004), and what became
/// of its mail.
public struct ReportStore {
    public let db: PostgresConnection

    public init(connection: PostgresConnection) { db = connection }

    /// Whether the database has the report columns (V004 applied).
    public func isAvailable() -> Bool {
        (try? Migrations.applied(db).contains(4)) == true
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
            VALUES ($1, 'not-started', now(), $2, $3::integer, $4, $5::integer, $6, $7, $8) RETURNING id
            """, [mode.rawValue, WallClock.hostname(), String(getpid()), reason, String(report.exitStatus.rawValue),
                  report.subject, report.text, report.csv.map { String(decoding: $0, as: UTF8.self) }])
        return r.int(0, 0) ?? 0
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
            SELECT id, mode, state, to_char(started, 'YYYY-MM-DD HH24:MI:SS TZH:TZM'),
                   to_char(finished, 'YYYY-MM-DD HH24:MI:SS TZH:TZM'), exit_code, report_subject, report, report_csv,
                   mail_status, mail_error, mail_recipients, to_char(mailed_at, 'YYYY-MM-DD HH24:MI:SS TZH:TZM'), error
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
            runId: r.int(0, 0) ?? 0, mode: r.string(0, 1) ?? "", state: r.string(0, 2) ?? "",
            started: r.string(0, 3) ?? "", finished: r.string(0, 4), exitCode: r.int(0, 5).map { Int32($0) },
            subject: r.string(0, 6), text: r.string(0, 7), csv: r.string(0, 8),
            mailStatus: r.string(0, 9), mailError: r.string(0, 10), mailRecipients: r.string(0, 11),
            mailedAt: r.string(0, 12), error: r.string(0, 13))
    }
}

/// A run's report as the backup database keeps it.
public struct StoredReport: Sendable, Equatable {
    public var runId: Int64
    public var mode: String
    public var state: String
    public var started: String
    public var finished: String?
    public var exitCode: Int32?
    public var subject: String?
    public var text: String?
    public var csv: String?
    public var mailStatus: String?
    public var mailError: String?
    public var mailRecipients: String?
    public var mailedAt: String?
    public var error: String?

    /// The report as it can be mailed again.
    public var report: RunReport? {
        guard let subject, let text else { return nil }
        return RunReport(subject: subject, text: text, csv: csv.map { Array($0.utf8) }, runId: runId,
                         exitStatus: ExitStatus(rawValue: exitCode ?? 0) ?? .success)
    }

    /// `sent 2025-11-21 02:41:18 +01:00 to a@x.edu`, `failed: …`, `not sent: …`.
    public var mailDescription: String {
        switch mailStatus {
        case "sent"?: "sent \(mailedAt ?? "") to \(mailRecipients ?? "")"
        case "failed"?: "not delivered: \(mailError ?? "?")" + (mailedAt.map { " (an earlier attempt was sent \($0))" } ?? "")
        case "not-sent"?: "not sent: \(mailError ?? "?")"
        case let s?: s
        case nil: "(no mail recorded)"
        }
    }
}
