/// The status of one datafile in the backup database (`datafilestatus.status`).
public enum BackupStatus: String, Sendable, CaseIterable, Codable, Comparable {
    case ok = "OK"
    case okNoChecksum = "OK_NO_CHECKSUM"
    /// The source bytes differ from the catalog checksum: the primary copy is damaged.
    case failSourceChecksum = "FAIL_SOURCE_CHECKSUM"
    /// An audit read back a copy that had been proven and found its bytes different from the
    /// reference digest, or ending early: the backup lost a proven copy. The next run copies
    /// the file again from a primary that still matches the catalog.
    case failAuditCorrupt = "FAIL_AUDIT_CORRUPT"
    /// An audit found no copy under the name a proven copy was written to.
    case failAuditMissing = "FAIL_AUDIT_MISSING"
    /// The copy on the target could not be proven to hold the bytes that were sent.
    case failVerify = "FAIL_VERIFY"
    case failWrite = "FAIL_WRITE"
    /// The source could not be read (missing, unreadable, unconfigured store, unsafe path).
    case failRead = "FAIL_READ"

    public var isOK: Bool { self == .ok || self == .okNoChecksum }

    /// Set by an audit, not by a run.
    public var isAuditFinding: Bool { self == .failAuditCorrupt || self == .failAuditMissing }

    /// Most serious first: the order reports list failures in.
    public var severity: Int {
        switch self {
        case .failSourceChecksum: 0
        case .failAuditCorrupt: 1
        case .failAuditMissing: 2
        case .failVerify: 3
        case .failWrite: 4
        case .failRead: 5
        case .okNoChecksum: 6
        case .ok: 7
        }
    }

    public static func < (a: BackupStatus, b: BackupStatus) -> Bool { a.severity < b.severity }

    public static var failures: [BackupStatus] { allCases.filter { !$0.isOK }.sorted() }
}

/// Why one file did not get an OK: the status to record and a reason an administrator can
/// act on (paths, the server's error text, the digests; never a secret).
public struct FileFailure: Error, Sendable, CustomStringConvertible {
    public let status: BackupStatus
    public let reason: String
    /// The connection to the target was lost: the file may succeed once it is re-established.
    public let connectionLost: Bool

    public init(_ status: BackupStatus, _ reason: String, connectionLost: Bool = false) {
        precondition(!status.isOK)
        self.status = status
        self.reason = reason
        self.connectionLost = connectionLost
    }

    public var description: String { "\(status.rawValue): \(reason)" }
}
