/// Builds one SFTP packet: `uint32 length`, `byte type`, then the fields; `trailing` bytes
/// of data sent separately after it are counted in its length.
struct SFTPPacketWriter {
    private var bytes: [UInt8]
    private let trailing: Int

    init(type: SFTPPacketType, trailing: Int = 0) {
        bytes = [0, 0, 0, 0, type.rawValue]
        self.trailing = trailing
    }

    mutating func uint64(_ v: UInt64) {
        uint32(UInt32(v >> 32))
        uint32(UInt32(v & 0xffff_ffff))
    }

    /// An SFTP string of raw bytes (a handle).
    mutating func blob(_ b: [UInt8]) {
        uint32(UInt32(b.count))
        bytes += b
    }

    mutating func uint32(_ v: UInt32) {
        bytes += [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }

    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        uint32(UInt32(utf8.count))
        bytes += utf8
    }

    func finish() -> [UInt8] {
        var out = bytes
        let n = UInt32(out.count - 4 + trailing)
        out[0] = UInt8(n >> 24); out[1] = UInt8(n >> 16 & 0xff); out[2] = UInt8(n >> 8 & 0xff); out[3] = UInt8(n & 0xff)
        return out
    }
}

/// Reads the fields of an SFTP packet body.
struct SFTPPacketReader {
    private let bytes: [UInt8]
    private var at = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { at >= bytes.count }

    mutating func uint32() throws(SSHError) -> UInt32 {
        guard at + 4 <= bytes.count else { throw Self.short() }
        defer { at += 4 }
        return UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    mutating func uint64() throws(SSHError) -> UInt64 {
        UInt64(try uint32()) << 32 | UInt64(try uint32())
    }

    mutating func string() throws(SSHError) -> String {
        String(decoding: try blob(), as: UTF8.self)
    }

    mutating func blob() throws(SSHError) -> [UInt8] {
        let n = Int(try uint32())
        guard n <= bytes.count - at else { throw Self.short() }
        defer { at += n }
        return Array(bytes[at..<at + n])
    }

    /// A STATUS packet's code (after its id).
    mutating func status() throws(SSHError) -> SFTPStatus {
        SFTPStatus(rawValue: try uint32())
    }

    private static func short() -> SSHError {
        SSHError(code: 0, message: "the server sent a truncated SFTP packet", connectionLost: true)
    }
}
