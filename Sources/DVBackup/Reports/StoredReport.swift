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
