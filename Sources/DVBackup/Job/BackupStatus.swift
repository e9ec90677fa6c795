/// The status of one datafile in the backup database (`datafilestatus.status`).
public enum BackupStatus: String, Sendable, CaseIterable, Codable, Comparable {
    case ok = "OK"
    case okNoChecksum = "OK_NO_CHECKSUM"
    /// The source bytes differ from the catalog checksum: the primary copy is damaged.
    case failSourceChecksum = "FAIL_SOURCE_CHECKSUM"
    /// The copy on the target could not be proven to hold the bytes that were sent.
    case failVerify = "FAIL_VERIFY"
    case failWrite = "FAIL_WRITE"
    /// The source could not be read (missing, unreadable, unconfigured store, unsafe path).
    case failRead = "FAIL_READ"

    public var isOK: Bool { self == .ok || self == .okNoChecksum }

    /// Most serious first: the order reports list failures in.
    public var severity: Int {
        switch self {
        case .failSourceChecksum: 0
        case .failVerify: 1
        case .failWrite: 2
        case .failRead: 3
        case .okNoChecksum: 4
        case .ok: 5
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
