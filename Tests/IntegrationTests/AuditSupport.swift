import DVBackup
import Foundation
import Testing

/// What the audit tests read in the backup database and do to copies.
extension Sandbox {
    struct Verification {
        let status: String
        let lastError: String?
        let lastVerified: String?
        let method: String?
        let result: String?
        let lastPresent: String?
    }

    func verifications() throws -> [Int64: Verification] {
        let r = try backupConnection().query("""
            SELECT datafileid, status, lasterror, lastverified::text AS v, lastverifymethod, lastverifyresult,
                   lastpresent::text AS p
            FROM datafilestatus WHERE datafileid IS NOT NULL
            """)
        var out: [Int64: Verification] = [:]
        for i in 0..<r.rowCount {
            out[try r.int(i, "datafileid")!] = Verification(
                status: try r.string(i, "status") ?? "", lastError: try r.string(i, "lasterror"),
                lastVerified: try r.string(i, "v"), method: try r.string(i, "lastverifymethod"),
                result: try r.string(i, "lastverifyresult"), lastPresent: try r.string(i, "p"))
        }
        return out
    }

    /// Sets each file's last verification, oldest first in the order given (`nil`: never).
    func setLastVerified(_ files: [TestFile], never: Bool = false) throws {
        let db = try backupConnection()
        for (i, f) in files.enumerated() {
            try db.query("UPDATE datafilestatus SET lastverified = $2::timestamptz WHERE datafileid = $1",
                         [String(f.id), never ? nil : String(format: "2020-01-%02d 12:00:00+00", i + 1)])
        }
    }

    /// The ids whose copy was verified after `since` (by this test's audits).
    func verifiedSince(_ since: String) throws -> Set<Int64> {
        let r = try backupConnection().query("SELECT datafileid FROM datafilestatus WHERE lastverified > $1::timestamptz", [since])
        return Set((0..<r.rowCount).compactMap { r.int($0, 0) })
    }

    func sourceFixity() throws -> [Int64: (result: String, reason: String?)] {
        let r = try backupConnection().query("SELECT datafileid, result, reason FROM sourcefixity")
        var out: [Int64: (String, String?)] = [:]
        for i in 0..<r.rowCount { out[try r.int(i, "datafileid")!] = (try r.string(i, "result") ?? "", try r.string(i, "reason")) }
        return out
    }
}

/// Damage done to a file on disk, as rot or an operator would.
enum Damage {
    static func flipByte(_ path: String, at offset: Int = 17) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[offset] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func truncate(_ path: String, to size: Int = 100) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        try Data(bytes.prefix(size)).write(to: URL(fileURLWithPath: path))
    }

    static func delete(_ path: String) throws { try FileManager.default.removeItem(atPath: path) }

    /// The database's clock, to compare with `lastverified`.
    static func now(_ s: Sandbox) throws -> String { try s.backupConnection().query("SELECT now()::text").string(0, 0)! }
}
