import Foundation

/// A copy being written to the SFTP server, through its session's connection or, for a
/// large copy, through lanes (`SFTPUpload+Lanes.swift`). Used by the sending thread only.
final class SFTPUpload: TargetUpload {
    unowned let session: SFTPTargetSession
    private var file: SFTPFile?
    let finalPath: String
    let temporaryPath: String
    var published = false

    /// With lanes: the server's digest of the copy, computed while the lanes wrote it.
    var stream: RemoteHashStream?
    var streamedDigest: Result<String, FileFailure>?
    /// With lanes, for the log: when they started, how many, and how they write.
    var lanesStarted = 0.0
    var laneCount = 0
    var laneRequests = ""

    init(session: SFTPTargetSession, file: SFTPFile, finalPath: String, temporaryPath: String) {
        self.session = session
        self.file = file
        self.finalPath = finalPath
        self.temporaryPath = temporaryPath
    }

    var location: String { finalPath }

    func write(_ chunk: UnsafeRawBufferPointer) throws(FileFailure) {
        guard let file else { throw FileFailure(.failWrite, "\(temporaryPath) is closed") }
        do throws(SSHError) {
            try file.write(chunk)
        } catch {
            throw session.failure(.failWrite, error)
        }
    }

    /// Closes the copy, first flushing it to the server's disk (where the server offers
    /// fsync@openssh.com) when `sync` is set.
    func finishWriting(sync: Bool = true) throws(FileFailure) {
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
        guard !published else { return }
        // Best effort: a copy left behind is overwritten when the file is copied again.
        if let sftp = try? session.client() {
            try? sftp.remove(temporaryPath)
        }
    }
}
