/// The target could not be used at all: the run cannot start (exit code 3).
public struct TargetUnavailable: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A second storage system that receives the copies (one per StorageType).
///
/// Shared by all workers; each worker opens its own session (a connection, for remote
/// targets) with `makeSession`.
public protocol BackupTarget: Sendable {
    /// What `datafilestatus.lastbackupmethod` records: `local`, `ssh`, `swift`.
    var method: String { get }
    /// A description for logs and reports, without secrets.
    var displayName: String { get }
    /// Checks, before any file is read, that the target can take copies.
    func checkUsable() throws(TargetUnavailable)
    func makeSession() throws(TargetUnavailable) -> any TargetSession
}

/// What a target may know of a copy before its bytes arrive (Swift sends the catalog MD5
/// ahead as the ETag, writes the checksum and the datafile id as object metadata, and picks
/// one object or segments by the size).
public struct UploadDescription: Sendable {
    /// `<authority>/<identifier>/<name>`
    public let relativePath: String
    public let datafileId: Int64
    /// The size the catalog records, when it does.
    public let expectedSize: Int64?
    /// The catalog's checksum, when it has a usable one.
    public let catalogChecksum: (algorithm: ChecksumAlgorithm, hex: String)?

    public init(relativePath: String, datafileId: Int64, expectedSize: Int64?,
                catalogChecksum: (algorithm: ChecksumAlgorithm, hex: String)?) {
        self.relativePath = relativePath
        self.datafileId = datafileId
        self.expectedSize = expectedSize
        self.catalogChecksum = catalogChecksum
    }
}

/// One worker's connection to the target. Not shared between threads.
public protocol TargetSession: AnyObject {
    /// Starts writing the copy at `relativePath` (`<authority>/<identifier>/<name>`).
    /// Nothing is visible under the final name until it is settled.
    func beginUpload(relativePath: String) throws(FileFailure) -> any TargetUpload
    /// Starts writing the copy `description` describes; targets that need no more than the
    /// path leave this to `beginUpload(relativePath:)`.
    func beginUpload(_ description: UploadDescription) throws(FileFailure) -> any TargetUpload
    /// How many written copies may wait to be proven together (1: each at once).
    var settleBatchSize: Int { get }
    /// The size of the chunks to hand to `write` (larger chunks keep more requests in
    /// flight on network targets).
    var preferredChunkSize: Int { get }
    /// Proves each written copy (its bytes must have the digest `expectedHex`) and
    /// publishes the proven ones under their final names. Returns, in order, how each was
    /// proven or why it was not; a copy that failed is not published.
    func settle(_ copies: [WrittenCopy]) -> [Result<String, FileFailure>]
}

/// A copy whose bytes have all been sent, waiting to be proven.
public struct WrittenCopy {
    public let upload: any TargetUpload
    public let algorithm: ChecksumAlgorithm
    public let expectedHex: String
    public let bytes: Int64
}

extension TargetSession {
    public func beginUpload(_ description: UploadDescription) throws(FileFailure) -> any TargetUpload {
        try beginUpload(relativePath: description.relativePath)
    }

    public var settleBatchSize: Int { 1 }
    public var preferredChunkSize: Int { FileStore.chunkSize }

    /// One copy at a time: `verify`, then `publish`.
    public func settle(_ copies: [WrittenCopy]) -> [Result<String, FileFailure>] {
        copies.map { copy in
            Result { () throws(FileFailure) -> String in
                let proof = try copy.upload.verify(algorithm: copy.algorithm, expectedHex: copy.expectedHex)
                try copy.upload.publish()
                return proof
            }
        }
    }
}

/// A copy being written: what every target does. Capabilities only some targets have are
/// protocols of their own (`LaneUpload`, `DiagnosingUpload` in LaneUpload.swift), asked for
/// with `as?`.
public protocol TargetUpload: AnyObject {
    /// Where the copy will live once published (a path or URL, without secrets).
    var location: String { get }
    func write(_ chunk: UnsafeRawBufferPointer) throws(FileFailure)
    /// Makes the bytes durable and proves that the copy holds bytes whose `algorithm`
    /// digest is `expectedHex` (the digest computed while sending). Returns how it was
    /// proven, for the log.
    func verify(algorithm: ChecksumAlgorithm, expectedHex: String) throws(FileFailure) -> String
    /// Makes the proven copy visible under its final name, replacing an older copy.
    func publish() throws(FileFailure)
    /// Removes whatever was written; the final name keeps what it had.
    func abort()
}
