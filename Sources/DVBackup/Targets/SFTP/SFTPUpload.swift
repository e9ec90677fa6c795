import Foundation

/// A copy being written to the SFTP server, through its session's connection or, for a
/// large copy, through lanes (`SFTPUpload+Lanes.swift`). A small copy is kept in memory
/// until its batch is settled and then written with the batch's pipelined requests
/// (`SFTPBatch.swift`). Used by the sending thread only.
final class SFTPUpload: TargetUpload {
    unowned let session: SFTPTargetSession
    private var file: SFTPFile?
    /// The bytes of a small copy not yet on the server; nil once it went there (or for a
    /// copy written as it is sent).
    private(set) var buffer: [UInt8]?
    /// The directories the copy needs below the root, outermost first (full paths).
    let directories: [String]
    let finalPath: String
    let temporaryPath: String
    var published = false
    /// The temporary copy may exist on the server: `abort` removes it.
    var onServer: Bool
    /// The size of a copy written from memory with its batch (its read-back is pipelined).
    var batchedSize: Int?

    /// With lanes: the server's digest of the copy, computed while the lanes wrote it.
    var stream: RemoteHashStream?
    var streamedDigest: Result<String, FileFailure>?
    /// With lanes, for the log: when they started, how many, and how they write.
    var lanesStarted = 0.0
    var laneCount = 0
    var laneRequests = ""

    /// The temporary name an earlier version may have left for this copy (removed when the
    /// copy is written: the crash-cleanup rule).
    let legacyTemporaryPath: String?

    /// A copy written through `file` as it is sent, or (`file` nil) kept in memory.
    init(session: SFTPTargetSession, file: SFTPFile?, path: PartialCopyPath, root: String) {
        self.session = session
        self.file = file
        buffer = file == nil ? [] : nil
        onServer = file != nil
        finalPath = path.finalPath
        temporaryPath = path.temporaryPath
        legacyTemporaryPath = path.legacyTemporaryPath
        directories = Self.directories(of: path, root: root)
    }

    /// The directories `path` needs below `root`, outermost first (full paths).
    static func directories(of path: PartialCopyPath, root: String) -> [String] {
        var d = root
        return path.directoriesBelowRoot.map { d += "/" + $0; return d }
    }

    var location: String { finalPath }

    func write(_ chunk: UnsafeRawBufferPointer) throws(FileFailure) {
        if buffer != nil {
            if buffer!.count + chunk.count <= SFTPTargetSession.smallCopyLimit {
                buffer!.append(contentsOf: chunk)
                return
            }
            try sendBuffer()  // larger than announced: written as it is sent from here on
        }
        guard let file else { throw FileFailure(.failWrite, "\(temporaryPath) is closed") }
        do throws(SSHError) {
            try file.write(chunk)
        } catch {
            throw session.failure(.failWrite, error)
        }
    }

    /// Opens the copy on the server (libssh2's requests, one at a time) and writes what is
    /// kept in memory.
    private func sendBuffer() throws(FileFailure) {
        guard let kept = buffer else { return }
        let opened = try session.openOnServer(temporaryPath, directories: directories)
        buffer = nil
        file = opened
        onServer = true
        var failed: SSHError?
        kept.withUnsafeBytes { raw in
            do throws(SSHError) { try opened.write(raw) } catch { failed = error }
        }
        if let failed { throw session.failure(.failWrite, failed) }
    }

    /// The bytes kept in memory, handed over to be written with the batch: the copy is on
    /// the server (and closed) once the batch's requests are answered.
    func takeBuffer() -> [UInt8] {
        defer { buffer = nil }
        batchedSize = buffer?.count
        onServer = true
        return buffer ?? []
    }

    /// Closes the copy, first flushing it to the server's disk (where the server offers
    /// fsync@openssh.com) when `sync` is set. A copy still in memory is written first.
    func finishWriting(sync: Bool = true) throws(FileFailure) {
        try sendBuffer()
        guard let file else { return }
        self.file = nil
        do throws(SSHError) {
            if sync { try file.sync() }
            try file.close()
        } catch {
            throw session.failure(.failWrite, error)
        }
    }

    func verify(algorithm: ChecksumAlgorithm, expectedHex: String) throws(FileFailure) -> String {
        try finishWriting(sync: session.target.proof == .readBack)
        return try session.prove([(self, algorithm, expectedHex)])[0].get()
    }

    func publish() throws(FileFailure) {
        try session.publish([self])[0].get()
    }

    func abort() {
        session.release(self)
        file = nil
        if let stream { _ = stream.finish() }
        stream = nil
        buffer = nil
        guard !published, onServer else { return }
        // Best effort: a copy left behind is overwritten when the file is copied again.
        if let sftp = try? session.client() {
            try? sftp.remove(temporaryPath)
        }
    }
}
