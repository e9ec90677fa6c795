import Foundation
/// An error from libpq or from the PostgreSQL server.
///
/// `message` is libpq's or the server's text (it names the host, database and user, never
/// the password); `sqlState` is the server's five-character code when there is one
/// (`55P03`, `42P01`, …).
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The connection could not be made (server down, wrong password, no such database).
        case connection
        /// A statement failed.
        case query
    }

    public let kind: Kind
    public let message: String
    public let sqlState: String?
    /// What we were doing, e.g. `backup database "backupdb"` or `applying V002__….sql`.
    public let context: String

    public init(kind: Kind, message: String, sqlState: String? = nil, context: String) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.context = context
    }

    public var description: String {
        let text = message.trimmingWhitespace().replacingOccurrences(of: "\n", with: "; ")
        if let sqlState { return "\(context): \(text) (SQLSTATE \(sqlState))" }
        return "\(context): \(text)"
    }
}
