internal import CLibPQ
import Foundation

/// The parameters of a libpq connection, as keyword/value pairs (`PQconnectdbParams`).
///
/// Keys the caller leaves out fall back to libpq's own sources (PGPASSWORD, ~/.pgpass,
/// PGSSLMODE, service files), as users of psql expect.
public struct PostgresConnectionInfo: Sendable, Equatable {
    public var host: String?
    public var port: Int?
    public var database: String
    public var user: String?
    public var password: String?
    public var applicationName: String = "dvbackup"
    public var connectTimeoutSeconds: Int = 15

    public init(host: String?, port: Int?, database: String, user: String?, password: String?) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
    }

    /// A description safe for logs: no password.
    public var redacted: String {
        var parts = ["database \"\(database)\""]
        if let host { parts.append("host \(host)") }
        if let port { parts.append("port \(port)") }
        if let user { parts.append("user \(user)") }
        return parts.joined(separator: ", ")
    }

    var keywordValues: [(String, String)] {
        var kv: [(String, String)] = [("dbname", database), ("application_name", applicationName),
                                      ("connect_timeout", String(connectTimeoutSeconds))]
        if let host, !host.isEmpty { kv.append(("host", host)) }
        if let port { kv.append(("port", String(port))) }
        if let user, !user.isEmpty { kv.append(("user", user)) }
        if let password { kv.append(("password", password)) }
        return kv
    }
}

/// One libpq connection (`PGconn`), closed in `deinit`.
///
/// Not `Sendable`: libpq forbids using one connection from two threads at once, so each
/// thread that talks to a database opens its own.
public final class PostgresConnection {
    private let handle: OpaquePointer
    /// A short name for messages: `catalog database "dvndb"`.
    public let label: String

    /// Connects; the corresponding C function is `PQconnectdbParams`.
    public init(_ info: PostgresConnectionInfo, label: String) throws(PostgresError) {
        self.label = label
        let pairs = info.keywordValues
        var keys = pairs.map { strdup($0.0) } + [nil]
        var values = pairs.map { strdup($0.1) } + [nil]
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        let conn: OpaquePointer? = keys.withUnsafeMutableBufferPointer { k in
            values.withUnsafeMutableBufferPointer { v in
                k.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: k.count) { kp in
                    v.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: v.count) { vp in
                        PQconnectdbParams(kp, vp, 0)
                    }
                }
            }
        }
        guard let conn else {
            throw PostgresError(kind: .connection, message: "out of memory", context: label)
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(conn))
            PQfinish(conn)
            throw PostgresError(kind: .connection, message: message, context: "cannot connect to \(label) (\(info.redacted))")
        }
        handle = conn
        // Timestamps travel as text in the server's own format, never converted.
        _ = try? execute("SET DateStyle = 'ISO, YMD'; SET client_min_messages = warning")
    }

    deinit { PQfinish(handle) }

    /// Runs one statement with text parameters `$1…$n`; the corresponding C function is
    /// `PQexecParams`. `nil` binds SQL NULL.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws(PostgresError) -> PostgresResult {
        var cParams: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0) } ?? nil }
        defer { cParams.forEach { free($0) } }
        let result: OpaquePointer? = cParams.withUnsafeMutableBufferPointer { buf in
            buf.baseAddress.map { base in
                base.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buf.count) { p in
                    PQexecParams(handle, sql, Int32(buf.count), nil, p, nil, nil, 0)
                }
            } ?? PQexecParams(handle, sql, 0, nil, nil, nil, nil, 0)
        }
        return try check(result, sql: sql)
    }

    /// Runs a script of several statements (no parameters); the corresponding C function is
    /// `PQexec`.
    @discardableResult
    public func execute(_ sql: String) throws(PostgresError) -> PostgresResult {
        try check(PQexec(handle, sql), sql: sql)
    }

    private func check(_ result: OpaquePointer?, sql: String) throws(PostgresError) -> PostgresResult {
        guard let result else {
            throw PostgresError(kind: .query, message: String(cString: PQerrorMessage(handle)), context: label)
        }
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK {
            return PostgresResult(result)
        }
        let message = String(cString: PQresultErrorMessage(result))
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        PQclear(result)
        let kind: PostgresError.Kind = PQstatus(handle) == CONNECTION_OK ? .query : .connection
        throw PostgresError(kind: kind, message: message, sqlState: state, context: label)
    }

    /// Whether the connection is still usable.
    public var isHealthy: Bool { PQstatus(handle) == CONNECTION_OK }

    /// The server's backend process id (for lock messages).
    public var backendPID: Int { Int(PQbackendPID(handle)) }

    /// libpq's version number, e.g. 150020.
    public static var libraryVersion: Int { Int(PQlibVersion()) }
}

extension PostgresConnection {
    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            _ = try? execute("ROLLBACK")
            throw error
        }
    }

    /// A PostgreSQL text array literal for `= ANY($1)` parameters.
    public static func arrayLiteral<S: Sequence>(_ values: S) -> String where S.Element == Int64 {
        "{" + values.map(String.init).joined(separator: ",") + "}"
    }

    /// A PostgreSQL text array literal of strings, each quoted and escaped.
    public static func arrayLiteral(strings values: [String]) -> String {
        "{" + values.map { v in
            "\"" + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }.joined(separator: ",") + "}"
    }
}
