/// The SFTP values of draft-ietf-secsh-filexfer as types (swift-system's habit): status
/// codes, open flags and packet types, instead of bare integers.

/// An SFTP status code (`SSH_FX_*`), as a server reports it in a STATUS packet or libssh2
/// through `libssh2_sftp_last_error`. A struct rather than an enum, so that a code this
/// list does not name is still a value.
public struct SFTPStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `SSH_FX_OK`
    public static let ok = SFTPStatus(rawValue: 0)
    /// `SSH_FX_EOF`
    public static let eof = SFTPStatus(rawValue: 1)
    /// `SSH_FX_NO_SUCH_FILE`
    public static let noSuchFile = SFTPStatus(rawValue: 2)
    /// `SSH_FX_PERMISSION_DENIED`
    public static let permissionDenied = SFTPStatus(rawValue: 3)
    /// `SSH_FX_FAILURE`: OpenSSH's answer to most refusals, a full disk among them.
    public static let failure = SFTPStatus(rawValue: 4)
    /// `SSH_FX_BAD_MESSAGE`
    public static let badMessage = SFTPStatus(rawValue: 5)
    /// `SSH_FX_NO_CONNECTION`
    public static let noConnection = SFTPStatus(rawValue: 6)
    /// `SSH_FX_CONNECTION_LOST`
    public static let connectionLost = SFTPStatus(rawValue: 7)
    /// `SSH_FX_OP_UNSUPPORTED`
    public static let opUnsupported = SFTPStatus(rawValue: 8)
    /// `SSH_FX_INVALID_HANDLE` (version 4 and later)
    public static let invalidHandle = SFTPStatus(rawValue: 9)
    /// `SSH_FX_NO_SUCH_PATH`
    public static let noSuchPath = SFTPStatus(rawValue: 10)
    /// `SSH_FX_FILE_ALREADY_EXISTS`
    public static let fileAlreadyExists = SFTPStatus(rawValue: 11)
    /// `SSH_FX_WRITE_PROTECT`
    public static let writeProtect = SFTPStatus(rawValue: 12)
    /// `SSH_FX_NO_MEDIA`
    public static let noMedia = SFTPStatus(rawValue: 13)
    /// `SSH_FX_NO_SPACE_ON_FILESYSTEM` (version 5 and later)
    public static let noSpaceOnFilesystem = SFTPStatus(rawValue: 14)
    /// `SSH_FX_QUOTA_EXCEEDED` (version 5 and later)
    public static let quotaExceeded = SFTPStatus(rawValue: 15)

    /// The path does not exist (the v3 and the later spelling).
    public var meansMissing: Bool { self == .noSuchFile || self == .noSuchPath }

    /// What the status means, in dvbackup's words.
    public var description: String {
        switch self {
        case .eof: "end of file"
        case .noSuchFile: "no such file or directory"
        case .permissionDenied: "permission denied"
        case .failure: "failure (the server gave no reason)"
        case .badMessage: "bad message"
        case .noConnection: "no connection"
        case .connectionLost: "connection lost"
        case .opUnsupported: "operation not supported by the server"
        case .invalidHandle: "invalid handle"
        case .noSuchPath: "no such path"
        case .fileAlreadyExists: "file already exists"
        case .writeProtect: "write protected"
        case .noMedia: "no media"
        case .noSpaceOnFilesystem: "no space left on the file system"
        case .quotaExceeded: "quota exceeded"
        default: "SFTP status \(rawValue)"
        }
    }
}

/// The `pflags` of an SFTP OPEN request (`SSH_FXF_*`); libssh2's `LIBSSH2_FXF_*` have the
/// same values.
public struct SFTPOpenFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `SSH_FXF_READ`
    public static let read = SFTPOpenFlags(rawValue: 0x01)
    /// `SSH_FXF_WRITE`
    public static let write = SFTPOpenFlags(rawValue: 0x02)
    /// `SSH_FXF_APPEND`
    public static let append = SFTPOpenFlags(rawValue: 0x04)
    /// `SSH_FXF_CREAT`
    public static let create = SFTPOpenFlags(rawValue: 0x08)
    /// `SSH_FXF_TRUNC`
    public static let truncate = SFTPOpenFlags(rawValue: 0x10)
    /// `SSH_FXF_EXCL`
    public static let exclusive = SFTPOpenFlags(rawValue: 0x20)
}

/// The type byte of an SFTP packet (`SSH_FXP_*`). A struct, so that a type a server sends
/// and this list does not name can still be reported.
public struct SFTPPacketType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let initialize = SFTPPacketType(rawValue: 1)
    public static let version = SFTPPacketType(rawValue: 2)
    public static let open = SFTPPacketType(rawValue: 3)
    public static let close = SFTPPacketType(rawValue: 4)
    public static let read = SFTPPacketType(rawValue: 5)
    public static let write = SFTPPacketType(rawValue: 6)
    public static let lstat = SFTPPacketType(rawValue: 7)
    public static let remove = SFTPPacketType(rawValue: 13)
    public static let mkdir = SFTPPacketType(rawValue: 14)
    public static let stat = SFTPPacketType(rawValue: 17)
    public static let rename = SFTPPacketType(rawValue: 18)
    public static let status = SFTPPacketType(rawValue: 101)
    public static let handle = SFTPPacketType(rawValue: 102)
    public static let data = SFTPPacketType(rawValue: 103)
    public static let name = SFTPPacketType(rawValue: 104)
    public static let attributes = SFTPPacketType(rawValue: 105)
    public static let extended = SFTPPacketType(rawValue: 200)
    public static let extendedReply = SFTPPacketType(rawValue: 201)

    public var description: String { "packet type \(rawValue)" }
}
