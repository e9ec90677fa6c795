/// An error from libssh2, the socket, or the SSH server.
///
/// `message` is libssh2's or the server's text; it never holds a passphrase or key.
public struct SSHError: Error, CustomStringConvertible, Sendable {
    /// libssh2's error code (`LIBSSH2_ERROR_*`), or 0 for errors of our own.
    public let code: Int32
    /// For SFTP status errors, the server's `SSH_FX_*` code.
    public let sftpStatus: SFTPStatus?
    public let message: String
    /// Whether the connection is gone (socket closed, timeout, protocol failure) and must be
    /// re-established; `false` for an error about one file or one request.
    public let connectionLost: Bool

    public init(code: Int32, sftpStatus: SFTPStatus? = nil, message: String, connectionLost: Bool) {
        self.code = code
        self.sftpStatus = sftpStatus
        self.message = message
        self.connectionLost = connectionLost
    }

    public var description: String { message }
}

extension FileFailure {
    /// A file's failure from an SSH error: its words, and whether the connection is gone.
    init(_ status: BackupStatus, _ error: SSHError) {
        self.init(status, error.message, connectionLost: error.connectionLost)
    }
}

/// The server's host key could not be trusted: the run must not start.
public struct HostKeyRejected: Error, CustomStringConvertible, Sendable {
    public enum Reason: Sendable { case unknown, changed, unreadableKnownHosts }
    public let reason: Reason
    public let message: String
    public var description: String { message }
}
