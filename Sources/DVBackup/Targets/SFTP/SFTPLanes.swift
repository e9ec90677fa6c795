/// The two kinds of lane (`UploadLane`) of an SFTP upload, each on a connection of its own
/// and used by one lane thread.

/// Writes chunks of a large copy at their offsets with WRITE requests as large as the
/// server accepts (sent by dvbackup on an SFTP channel of its own, see
/// `SFTPExtensionChannel`): far fewer requests, answers and copies than libssh2's
/// 30,000-byte requests, and page-aligned writes on the server.
final class SFTPDirectLane: UploadLane {
    private let channel: SFTPExtensionChannel
    private let handle: [UInt8]
    private let path: String
    /// The size of one WRITE request: a power of two, so that the requests of a chunk stay
    /// aligned to the server's pages.
    let piece: Int

    /// nil where the server does not announce how large a WRITE it accepts (limits@openssh.com)
    /// or accepts less than 64 KiB: libssh2's own writes (`SFTPLane`) are used there.
    init?(session: SSHSession, path: String) {
        guard let channel = try? SFTPExtensionChannel(session: session),
              let limit = try? channel.maxWriteLength(), limit >= 64 << 10,
              let handle = try? channel.openForWriting(path) else { return nil }
        var piece = 64 << 10
        while piece * 2 <= min(limit, 1 << 20) { piece *= 2 }
        self.channel = channel
        self.handle = handle
        self.path = path
        self.piece = piece
    }

    func write(_ chunk: UnsafeRawBufferPointer, at offset: UInt64) throws(FileFailure) {
        try laneStep { () throws(SSHError) in try channel.write(handle, chunk, at: offset, piece: piece, path: path) }
    }

    func close() throws(FileFailure) {
        try laneStep { () throws(SSHError) in try channel.close(handle, path: path) }
    }
}

/// Writes chunks of a large copy at their offsets with libssh2's own WRITE requests.
final class SFTPLane: UploadLane {
    private let file: SFTPFile
    private let sftp: SFTPClient  // keeps the session alive

    init(file: SFTPFile, sftp: SFTPClient) {
        self.file = file
        self.sftp = sftp
    }

    func write(_ chunk: UnsafeRawBufferPointer, at offset: UInt64) throws(FileFailure) {
        file.seek(offset)
        try laneStep { () throws(SSHError) in try file.write(chunk) }
    }

    func close() throws(FileFailure) {
        try laneStep { () throws(SSHError) in try file.close() }
    }
}

/// A lane's SSH error is the copy's write failure.
private func laneStep(_ body: () throws(SSHError) -> Void) throws(FileFailure) {
    do throws(SSHError) {
        try body()
    } catch {
        throw FileFailure(.failWrite, error)
    }
}
