internal import CLibSSH2
import Foundation

/// The bytes under an SFTP channel that dvbackup speaks itself: whole writes out, exact
/// reads in. A protocol so that tests can script the server's packets
/// (`SFTPExtensionChannel(transport:)`); the real one is `SSHChannelTransport`.
protocol SFTPTransport: AnyObject {
    /// Sends all of `bytes`; `what` names the request in an error.
    func send(_ bytes: UnsafeRawBufferPointer, _ what: String) throws(SSHError)
    /// Reads exactly `count` bytes; throws when the channel ends first.
    func read(_ count: Int) throws(SSHError) -> [UInt8]
}

extension SFTPTransport {
    func send(_ bytes: [UInt8], _ what: String) throws(SSHError) {
        var failure: SSHError?
        bytes.withUnsafeBytes { raw in
            do throws(SSHError) { try send(raw, what) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// One SFTP packet: `uint32 length`, `byte type`, then `length - 1` bytes of body.
    func receivePacket() throws(SSHError) -> (type: SFTPPacketType, body: [UInt8]) {
        let header = try read(5)
        let length = Int(UInt32(header[0]) << 24 | UInt32(header[1]) << 16 | UInt32(header[2]) << 8 | UInt32(header[3]))
        guard length >= 1, length <= 256 * 1024 else {
            throw SSHError(code: 0, message: "the server sent an SFTP packet of \(length) bytes", connectionLost: true)
        }
        return (SFTPPacketType(rawValue: header[4]), try read(length - 1))
    }
}

/// An SFTP subsystem on its own channel of an SSH session, which it keeps alive. Not
/// `Sendable`, like its session.
final class SSHChannelTransport: SFTPTransport {
    let session: SSHSession
    private let channel: OpaquePointer

    /// Opens a channel on `session` and starts the `sftp` subsystem on it.
    init(session: SSHSession) throws(SSHError) {
        self.session = session
        guard let channel = dv_ssh2_channel_open_session(session.handle) else {
            throw session.lastError(libssh2_session_last_errno(session.handle), "cannot open an SSH channel")
        }
        let rc = libssh2_channel_process_startup(channel, "subsystem", 9, "sftp", 4)
        guard rc == 0 else {
            libssh2_channel_free(channel)
            throw session.lastError(rc, "the server refused the SFTP subsystem")
        }
        self.channel = channel
    }

    deinit {
        _ = libssh2_channel_close(channel)
        libssh2_channel_free(channel)
    }

    func send(_ bytes: UnsafeRawBufferPointer, _ what: String) throws(SSHError) {
        try session.write(bytes, to: channel, what)
    }

    func read(_ count: Int) throws(SSHError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = bytes.withUnsafeMutableBytes { raw in
                libssh2_channel_read_ex(channel, 0, raw.baseAddress!.assumingMemoryBound(to: CChar.self) + got, count - got)
            }
            if n < 0 { throw session.lastError(Int32(n), "cannot read an SFTP answer") }
            if n == 0 {
                throw SSHError(code: 0, message: "the SFTP channel closed", connectionLost: true)
            }
            got += n
        }
        return bytes
    }
}
