internal import CLibSSH2
import Foundation

/// An SFTP channel on an `SSHSession` (`LIBSSH2_SFTP`), shut down in `deinit`. Not
/// `Sendable`, like its session, which it keeps alive.
public final class SFTPClient {
    let session: SSHSession
    let handle: OpaquePointer

    public init(session: SSHSession) throws(SSHError) {
        self.session = session
        guard let sftp = libssh2_sftp_init(session.handle) else {
            throw session.lastError(libssh2_session_last_errno(session.handle), "cannot start SFTP on \(session.config.display)")
        }
        handle = sftp
    }

    deinit { libssh2_sftp_shutdown(handle) }

    /// The error of the last call: an SFTP status with its meaning, or the session's error.
    func error(_ rc: Int, _ what: String) -> SSHError {
        if Int32(rc) == LIBSSH2_ERROR_SFTP_PROTOCOL {
            let status = SFTPStatus(rawValue: UInt32(truncatingIfNeeded: libssh2_sftp_last_error(handle)))
            return SSHError(code: LIBSSH2_ERROR_SFTP_PROTOCOL, sftpStatus: status,
                            message: "\(what): \(status)", connectionLost: false)
        }
        return session.lastError(Int32(rc), what)
    }

    public struct Attributes: Sendable {
        public var isDirectory: Bool
        public var isRegularFile: Bool
        public var size: UInt64
    }

    /// The free space and inodes of the file system holding `path`, and the longest name it
    /// allows (OpenSSH's statvfs@openssh.com); nil where the server does not offer it.
    public func fileSystem(_ path: String) throws(SSHError)
        -> (availableBytes: UInt64, totalBytes: UInt64, availableInodes: UInt64, totalInodes: UInt64, nameMax: UInt64)? {
        var st = LIBSSH2_SFTP_STATVFS()
        let rc = libssh2_sftp_statvfs(handle, path, path.utf8.count, &st)
        if rc != 0 {
            let e = error(Int(rc), "cannot read the file system of \(path)")
            if e.sftpStatus == .opUnsupported { return nil }
            throw e
        }
        let unit = st.f_frsize > 0 ? st.f_frsize : st.f_bsize
        return (st.f_bavail.multipliedReportingOverflow(by: unit).partialValue,
                st.f_blocks.multipliedReportingOverflow(by: unit).partialValue, st.f_favail, st.f_files, st.f_namemax)
    }

    /// `stat`; `nil` when the path does not exist.
    public func stat(_ path: String) throws(SSHError) -> Attributes? {
        var attrs = LIBSSH2_SFTP_ATTRIBUTES()
        let rc = libssh2_sftp_stat_ex(handle, path, UInt32(path.utf8.count), LIBSSH2_SFTP_STAT, &attrs)
        if rc != 0 {
            let e = error(Int(rc), "cannot stat \(path)")
            if e.sftpStatus?.meansMissing == true { return nil }
            throw e
        }
        let mode = attrs.permissions & UInt(LIBSSH2_SFTP_S_IFMT)
        return Attributes(isDirectory: mode == UInt(LIBSSH2_SFTP_S_IFDIR), isRegularFile: mode == UInt(LIBSSH2_SFTP_S_IFREG),
                          size: attrs.filesize)
    }

    /// Creates a directory; an existing directory is fine.
    public func makeDirectory(_ path: String, mode: Int = 0o755) throws(SSHError) {
        let rc = libssh2_sftp_mkdir_ex(handle, path, UInt32(path.utf8.count), mode)
        if rc == 0 { return }
        let e = error(Int(rc), "cannot create directory \(path)")
        if e.connectionLost { throw e }
        // OpenSSH answers a generic failure for an existing directory: look.
        if let a = try stat(path), a.isDirectory { return }
        throw e
    }

    public func rename(_ from: String, to: String) throws(SSHError) {
        let flags = LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE
        let rc = libssh2_sftp_rename_ex(handle, from, UInt32(from.utf8.count), to, UInt32(to.utf8.count), Int(flags))
        if rc != 0 { throw error(Int(rc), "cannot rename \(from) to \(to)") }
    }

    public func remove(_ path: String) throws(SSHError) {
        let rc = libssh2_sftp_unlink_ex(handle, path, UInt32(path.utf8.count))
        if rc != 0 { throw error(Int(rc), "cannot remove \(path)") }
    }

    /// Opens for writing: created and truncated, or (`truncate: false`) an existing file
    /// written in place, for several writers of one file.
    public func openForWriting(_ path: String, mode: Int = 0o644, truncate: Bool = true) throws(SSHError) -> SFTPFile {
        try open(path, truncate ? [.write, .create, .truncate] : .write, mode: mode, "cannot create \(path)")
    }

    /// Flushes an existing file to the server's disk (fsync@openssh.com); `false` when the
    /// server does not offer it.
    public func syncFile(_ path: String) throws(SSHError) -> Bool {
        let file = try open(path, .write, mode: 0, "cannot open \(path) to flush it")
        let synced = try file.sync()
        try file.close()
        return synced
    }

    public func openForReading(_ path: String) throws(SSHError) -> SFTPFile {
        try open(path, .read, mode: 0, "cannot open \(path)")
    }

    /// `libssh2_sftp_open_ex` with typed flags; `what` begins the error.
    private func open(_ path: String, _ flags: SFTPOpenFlags, mode: Int, _ what: String) throws(SSHError) -> SFTPFile {
        guard let h = libssh2_sftp_open_ex(handle, path, UInt32(path.utf8.count), UInt(flags.rawValue), mode, LIBSSH2_SFTP_OPENFILE) else {
            throw error(Int(libssh2_session_last_errno(session.handle)), what)
        }
        return SFTPFile(client: self, handle: h, path: path)
    }
}

/// An open remote file (`LIBSSH2_SFTP_HANDLE`), closed in `deinit` if not closed before.
public final class SFTPFile {
    let client: SFTPClient
    private var handle: OpaquePointer?
    public let path: String

    init(client: SFTPClient, handle: OpaquePointer, path: String) {
        self.client = client
        self.handle = handle
        self.path = path
    }

    deinit {
        if let handle { libssh2_sftp_close_handle(handle) }
    }

    /// Writes all of `bytes`. libssh2 splits a large buffer into pipelined SFTP write
    /// requests, so large chunks keep many requests in flight.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SSHError) {
        guard let handle else { throw SSHError(code: 0, message: "\(path) is closed", connectionLost: false) }
        var offset = 0
        while offset < bytes.count {
            let n = libssh2_sftp_write(handle, bytes.baseAddress!.assumingMemoryBound(to: CChar.self) + offset, bytes.count - offset)
            if n < 0 { throw client.error(n, "cannot write \(path)") }
            offset += n
        }
    }

    /// Moves the offset of the next write or read.
    public func seek(_ offset: UInt64) {
        if let handle { libssh2_sftp_seek64(handle, offset) }
    }

    /// Reads up to `buffer.count` bytes; 0 at the end of the file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SSHError) -> Int {
        guard let handle else { throw SSHError(code: 0, message: "\(path) is closed", connectionLost: false) }
        let n = libssh2_sftp_read(handle, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count)
        if n < 0 { throw client.error(n, "cannot read \(path)") }
        return n
    }

    /// Asks the server to flush the file to its disk (OpenSSH's fsync@openssh.com).
    /// Returns `false` when the server does not offer it.
    @discardableResult
    public func sync() throws(SSHError) -> Bool {
        guard let handle else { return false }
        let rc = libssh2_sftp_fsync(handle)
        if rc == 0 { return true }
        let e = client.error(Int(rc), "cannot flush \(path) to the server's disk")
        if e.sftpStatus == .opUnsupported { return false }
        throw e
    }

    public func close() throws(SSHError) {
        guard let h = handle else { return }
        handle = nil
        let rc = libssh2_sftp_close_handle(h)
        if rc != 0 { throw client.error(Int(rc), "cannot close \(path)") }
    }
}

extension SFTPFile {
    /// Reads the file from where it stands to its end and hashes it: the digest and how
    /// many bytes were read. One 1 MiB buffer per call.
    func digest(_ algorithm: ChecksumAlgorithm) throws(SSHError) -> (hex: String, bytes: Int64) {
        let digest = Digest(algorithm)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let n = try read(into: buffer)
            if n == 0 { break }
            digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            total += Int64(n)
        }
        return (digest.finalizeHex(), total)
    }
}
