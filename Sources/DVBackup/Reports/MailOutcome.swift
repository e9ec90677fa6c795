/// What became of a report's mail, as `dvbackup_run.mail_status` records it.
public enum MailOutcome: Sendable, Equatable {
    case sent(recipients: [String], reply: String)
    case failed(recipients: [String], reason: String)
    case notSent(reason: String)

    public var status: String {
        switch self {
        case .sent: "sent"
        case .failed: "failed"
        case .notSent: "not-sent"
        }
    }

    public var detail: String? {
        switch self {
        case .sent: nil
        case .failed(_, let reason), .notSent(let reason): reason
        }
    }

    public var recipients: [String] {
        switch self {
        case .sent(let r, _), .failed(let r, _): r
        case .notSent: []
        }
    }
}
