internal import CLibPQ
import Foundation

/// The rows of one statement (`PGresult`), freed in `deinit`. Values are read as text.
///
/// Code reads a value by the column's name, `r.int(i, "datafileid")`: the index of a name
/// is looked up once per result (`PQfnumber`) and kept, so a query can list its columns in
/// any order. A name the result does not have is a ``PostgresError`` naming it and the
/// columns there are. The positional readers (`r.int(0, 0)`) are for quick checks in tests.
public final class PostgresResult {
    private let handle: OpaquePointer
    public let rowCount: Int
    public let columnCount: Int
    /// Column indexes by name, filled as names are asked for.
    private var indexes: [String: Int] = [:]

    init(_ handle: OpaquePointer) {
        self.handle = handle
        rowCount = Int(PQntuples(handle))
        columnCount = Int(PQnfields(handle))
    }

    deinit { PQclear(handle) }

    /// The index of column `name`; the corresponding C function is `PQfnumber` (asked with
    /// the name quoted, so it is matched exactly as the server spelt it).
    public func column(_ name: String) throws(PostgresError) -> Int {
        if let known = indexes[name] { return known }
        let quoted = "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        let index = Int(PQfnumber(handle, quoted))
        guard index >= 0 else {
            let names = (0..<columnCount).map(columnName).joined(separator: ", ")
            throw PostgresError(kind: .query, message: "the result has no column \"\(name)\" (its columns: \(names))",
                                context: "reading a row")
        }
        indexes[name] = index
        return index
    }

    // MARK: by name

    public func isNull(_ row: Int, _ name: String) throws(PostgresError) -> Bool { isNull(row, try column(name)) }
    public func string(_ row: Int, _ name: String) throws(PostgresError) -> String? { string(row, try column(name)) }
    public func int(_ row: Int, _ name: String) throws(PostgresError) -> Int64? { int(row, try column(name)) }
    public func bool(_ row: Int, _ name: String) throws(PostgresError) -> Bool? { bool(row, try column(name)) }
    public func double(_ row: Int, _ name: String) throws(PostgresError) -> Double? { double(row, try column(name)) }

    // MARK: by position

    public func isNull(_ row: Int, _ column: Int) -> Bool {
        PQgetisnull(handle, Int32(row), Int32(column)) == 1
    }

    public func string(_ row: Int, _ column: Int) -> String? {
        if isNull(row, column) { return nil }
        return String(cString: PQgetvalue(handle, Int32(row), Int32(column)))
    }

    public func int(_ row: Int, _ column: Int) -> Int64? {
        string(row, column).flatMap { Int64($0) }
    }

    public func bool(_ row: Int, _ column: Int) -> Bool? {
        string(row, column).map { $0 == "t" }
    }

    public func double(_ row: Int, _ column: Int) -> Double? {
        string(row, column).flatMap { Double($0) }
    }

    /// Rows affected by an INSERT/UPDATE/DELETE.
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    public func columnName(_ column: Int) -> String { String(cString: PQfname(handle, Int32(column))) }
}

extension PostgresResult {
    /// A result made here rather than by a server (for tests): text columns `columns`, rows
    /// of values (`nil` is NULL). The corresponding C functions are `PQmakeEmptyPGresult`,
    /// `PQsetResultAttrs` and `PQsetvalue`.
    convenience init(columns: [String], rows: [[String?]]) {
        let result = PQmakeEmptyPGresult(nil, PGRES_TUPLES_OK)!
        let names = columns.map { strdup($0) }
        defer { names.forEach { free($0) } }
        var attributes = names.map { name in
            PGresAttDesc(name: name, tableid: 0, columnid: 0, format: 0, typid: 25, typlen: -1, atttypmod: -1)
        }
        let set = attributes.withUnsafeMutableBufferPointer { PQsetResultAttrs(result, Int32(columns.count), $0.baseAddress) }
        precondition(set == 1, "PQsetResultAttrs failed")
        for (r, row) in rows.enumerated() {
            for (c, value) in row.enumerated() {
                let ok: Int32
                if let value {
                    var bytes = Array(value.utf8CString)
                    ok = bytes.withUnsafeMutableBufferPointer { PQsetvalue(result, Int32(r), Int32(c), $0.baseAddress, Int32(value.utf8.count)) }
                } else {
                    ok = PQsetvalue(result, Int32(r), Int32(c), nil, -1)
                }
                precondition(ok == 1, "PQsetvalue failed")
            }
        }
        self.init(result)
    }
}
