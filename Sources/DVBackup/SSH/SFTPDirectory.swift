internal import CLibSSH2
import Foundation

/// Reading directories over SFTP (`libssh2_sftp_open_ex` with `LIBSSH2_SFTP_OPENDIR`,
/// `libssh2_sftp_readdir_ex`): the entries are handed over one by one, never collected.
extension SFTPClient {
    /// One entry of a directory: its name and what `readdir` tells of it.
    public struct DirectoryEntry: Sendable {
        public var name: String
        public var isDirectory: Bool
        public var isRegularFile: Bool
        public var size: UInt64
        /// Seconds since the epoch, when the server sends it.
        public var modified: UInt64?
    }

    /// Visits the entries of the directory `path` (without `.` and `..`).
    public func listDirectory<E: Error>(_ path: String, _ visit: (DirectoryEntry) throws(E) -> Void) throws(E) -> SSHError? {
        guard let dir = libssh2_sftp_open_ex(handle, path, UInt32(path.utf8.count), 0, 0, LIBSSH2_SFTP_OPENDIR) else {
            return error(Int(libssh2_session_last_errno(session.handle)), "cannot list \(path)")
        }
        defer { libssh2_sftp_close_handle(dir) }
        var name = [CChar](repeating: 0, count: 4096)
        while true {
            var attrs = LIBSSH2_SFTP_ATTRIBUTES()
            let n = name.withUnsafeMutableBufferPointer { buffer in
                libssh2_sftp_readdir_ex(dir, buffer.baseAddress, buffer.count, nil, 0, &attrs)
            }
            if n == 0 { return nil }
            if n < 0 { return error(Int(n), "cannot list \(path)") }
            let entryName = String(decoding: name.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if entryName == "." || entryName == ".." { continue }
            let hasPermissions = attrs.flags & UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS) != 0
            let mode = attrs.permissions & UInt(LIBSSH2_SFTP_S_IFMT)
            try visit(DirectoryEntry(
                name: entryName,
                isDirectory: hasPermissions && mode == UInt(LIBSSH2_SFTP_S_IFDIR),
                isRegularFile: hasPermissions && mode == UInt(LIBSSH2_SFTP_S_IFREG),
                size: attrs.filesize,
                modified: attrs.flags & UInt(LIBSSH2_SFTP_ATTR_ACMODTIME) != 0 ? UInt64(attrs.mtime) : nil))
        }
    }
}
