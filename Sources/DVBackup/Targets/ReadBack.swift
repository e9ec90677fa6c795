import Foundation

/// The second direction of travel: reading copies back, for the audit (prove a copy again
/// in place: `ProvableTarget`), and for restore and orphans (stream a copy out, list what
/// lies under the backup root: `ReadableTarget`). Every target implements both beside
/// writing, each conformance in a file of its own (`<Target>Prover.swift`,
/// `<Target>Reader.swift`); each prover or reader is one thread's connection, like a
/// `TargetSession`.
///
/// Errors are split by what they mean to the caller:
/// - the target cannot be used at all (down, refused credentials): `TargetUnavailable`; an
///   audit then stops with exit 3 and changes no status;
/// - one copy is missing, damaged or unreadable: a `CopyFinding` (prove) or a
///   `ReadFailure` (read) for that copy only.
public protocol ProvableTarget: BackupTarget {
    func makeProver() throws(TargetUnavailable) -> any CopyProver
}

public protocol ReadableTarget: BackupTarget {
    func makeReader() throws(TargetUnavailable) -> any TargetReader
}

/// A copy as the backup database and the catalog describe it.
public struct CopyReference: Sendable, Equatable {
    public let datafileId: Int64
    /// `<authority>/<identifier>/<name>`, as the copy was written.
    public let relativePath: String
    /// The size the copy must have, when it is known (catalog or backup database).
    public let expectedSize: Int64?

    public init(datafileId: Int64, relativePath: String, expectedSize: Int64?) {
        self.datafileId = datafileId
        self.relativePath = relativePath
        self.expectedSize = expectedSize
    }
}

/// The digest a copy must have: the catalog's, or for a file without one the digest
/// recorded when its copy was proven.
public struct ExpectedDigest: Sendable, Equatable {
    public let algorithm: ChecksumAlgorithm
    public let hex: String

    public init(algorithm: ChecksumAlgorithm, hex: String) {
        self.algorithm = algorithm
        self.hex = hex.lowercased()
    }
}

/// How deep a proof goes.
public enum ProofDepth: Sendable, Equatable {
    /// Every byte read (or hashed where it lies) and compared with the expected digest.
    case full
    /// Existence and size (and, where the target keeps them, recorded digests such as
    /// Swift's ETag and X-Object-Meta-Dv-Checksum-*): reported as "present", never as
    /// "verified".
    case quick
}

/// What a proof of one copy in place found.
public enum CopyFinding: Sendable, Equatable {
    /// The bytes were read and have the expected digest; `how` says how, for the log.
    case verified(how: String)
    /// A quick proof found the copy with the right size (and metadata); bytes not read.
    case present(how: String)
    /// No copy under its name.
    case missing(String)
    /// The copy's bytes differ from the expected digest, have the wrong size, or end
    /// early; the reason gives both digests or where the bytes stopped.
    case corrupt(String)
    /// The copy exists but could not be read (permission denied…): neither proven nor
    /// shown to be damaged.
    case unreadable(String)
}

/// A copy could not be read out (restore).
public enum ReadFailure: Error, Sendable, Equatable, CustomStringConvertible {
    case missing(String)
    case unreadable(String)
    /// The bytes stopped early or the connection broke after some were delivered.
    case cut(String)
    /// The receiver of the bytes failed (a full destination disk…).
    case destination(String)
    /// The target cannot be used at all.
    case unavailable(String)

    public var description: String {
        switch self {
        case .missing(let s), .unreadable(let s), .cut(let s), .destination(let s), .unavailable(let s): s
        }
    }
}

/// One thing under the backup root.
public struct TargetEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A file (object) where a copy of a data file may live.
        case copy
        /// dvbackup's own leftover: a temporary of an interrupted copy, a Swift segment no
        /// manifest references. `why` says which.
        case leftover(why: String)
    }

    /// Relative to the backup root (`<authority>/<identifier>/<name>` for copies).
    public let relativePath: String
    public let size: Int64
    /// Seconds since the epoch, when the target tells.
    public let modified: Double?
    public let kind: Kind

    public init(relativePath: String, size: Int64, modified: Double?, kind: Kind) {
        self.relativePath = relativePath
        self.size = size
        self.modified = modified
        self.kind = kind
    }
}

/// One thread's proving connection to the target (audit). Not shared between threads.
public protocol CopyProver: AnyObject {
    /// How many copies `prove` should be given at once to use its round trips well (SFTP
    /// hashes a batch on the server in one exec).
    var proofBatchSize: Int { get }

    /// Proves each copy in place against its expected digest, without trusting caches
    /// (local: the page cache; Swift: the ETag alone, for `.full`). Returns one finding per
    /// copy, in order. Throws only when the target cannot be used at all.
    func prove(_ copies: [(copy: CopyReference, expected: ExpectedDigest)], depth: ProofDepth)
        throws(TargetUnavailable) -> [CopyFinding]
}

/// One thread's reading connection to the target (restore, orphans). Not shared between
/// threads.
public protocol TargetReader: AnyObject {
    /// Streams the copy's bytes to `sink`, in order, in chunks of a bounded size.
    func read(_ copy: CopyReference, into sink: (UnsafeRawBufferPointer) throws(ReadFailure) -> Void)
        throws(ReadFailure)

    /// Visits everything under the backup root (streamed, never loaded whole).
    func list(_ visit: (TargetEntry) throws(ReadFailure) -> Void) throws(ReadFailure)

    /// Removes one of dvbackup's own leftovers; refuses anything `list` did not call a
    /// leftover. Never removes a copy of a data file.
    func removeLeftover(_ entry: TargetEntry) throws(ReadFailure)
}

/// A capability a reader may add (asked for with `as?`, as `LaneUpload` is for uploads):
/// reading many small copies at once on its connection, in a few round trips for the lot
/// (SFTP: pipelined requests on dvbackup's own channel). Local and Swift readers do not
/// offer it; their copies are read one by one through `read`.
protocol BatchReadable: TargetReader {
    /// A batch reader on this reader's connection, or nil where it cannot be had (the
    /// server offers no second SFTP channel): the copies then go through `read`.
    func makeBatchReader() -> (any BatchReader)?
}

/// Reads small copies whole, many at once. One thread's, like its reader.
protocol BatchReader: AnyObject {
    /// Copies whose expected size is at most this are worth batching; others go through
    /// `TargetReader.read`.
    var sizeLimit: Int64 { get }
    /// How many copies one call should be given (memory: `batchSize × sizeLimit`).
    var batchSize: Int { get }
    /// The round trips to the target so far (for the debug log and the tests).
    var roundTrips: Int { get }
    /// Reads each copy whole (its expected size and one byte more, so that a longer copy
    /// shows it). One result per copy, in order: its bytes, or what kept this copy from
    /// being read, or nil where this copy must be read through `read` after all. A lost
    /// connection is `.unavailable` for every copy not yet read.
    func readWhole(_ copies: [CopyReference]) -> [Result<[UInt8], ReadFailure>?]
}
