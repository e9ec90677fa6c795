internal import CLibSSH2
import Foundation

/// A second SFTP channel on a session, spoken directly (SFTP version 3, draft-ietf-secsh-
/// filexfer-02), for the OpenSSH extensions that libssh2 1.10 does not send: above all
/// `posix-rename@openssh.com`, a rename(2) on the server that replaces an existing file
/// atomically (plain SFTP rename refuses to). Many renames go out back to back and their
/// answers are read afterwards, one round trip for a whole batch.
///
/// Not `Sendable`, like its session, which it keeps alive.
final class SFTPExtensionChannel {
    let session: SSHSession
    private let channel: OpaquePointer
    /// The extensions the server announced in its VERSION packet, with their versions.
    let extensions: [String: String]
    private var nextID: UInt32 = 1

    static let fxpInit: UInt8 = 1, fxpVersion: UInt8 = 2, fxpStatus: UInt8 = 101, fxpExtended: UInt8 = 200
    static let posixRename = "posix-rename@openssh.com"

    init(session: SSHSession) throws(SSHError) {
        self.session = session
        guard let channel = dv_ssh2_channel_open_session(session.handle) else {
            throw session.lastError(libssh2_session_last_errno(session.handle), "cannot open an SSH channel")
        }
        self.channel = channel
        let rc = libssh2_channel_process_startup(channel, "subsystem", 9, "sftp", 4)
        guard rc == 0 else {
            libssh2_channel_free(channel)
            throw session.lastError(rc, "the server refused the SFTP subsystem")
        }
        var hello = SFTPPacketWriter(type: Self.fxpInit)
        hello.uint32(3)
        do throws(SSHError) {
            try session.write(hello.finish(), to: channel, "cannot start SFTP")
            let (type, body) = try Self.receive(on: channel, session)
            guard type == Self.fxpVersion else {
                throw SSHError(code: 0, message: "the server answered SFTP INIT with packet type \(type)", connectionLost: false)
            }
            var reader = SFTPPacketReader(body)
            _ = try reader.uint32()
            var found: [String: String] = [:]
            while !reader.atEnd {
                let name = try reader.string()
                found[name] = try reader.string()
            }
            extensions = found
        } catch {
            libssh2_channel_free(channel)
            throw error
        }
    }

    deinit {
        _ = libssh2_channel_close(channel)
        libssh2_channel_free(channel)
    }

    var offersPosixRename: Bool { extensions[Self.posixRename] != nil }

    /// Renames each `from` over its `to` with posix-rename@openssh.com, the requests sent
    /// back to back; returns, for each, nil or the server's refusal (its words and status).
    func posixRename(_ pairs: [(from: String, to: String)]) throws(SSHError) -> [String?] {
        var ids: [UInt32] = []
        for (from, to) in pairs {
            var p = SFTPPacketWriter(type: Self.fxpExtended)
            let id = nextID
            nextID &+= 1
            ids.append(id)
            p.uint32(id)
            p.string(Self.posixRename)
            p.string(from)
            p.string(to)
            try session.write(p.finish(), to: channel, "cannot send an SFTP request")
        }
        var answers: [UInt32: String?] = [:]
        while answers.count < ids.count {
            let (type, body) = try Self.receive(on: channel, session)
            var reader = SFTPPacketReader(body)
            let id = try reader.uint32()
            guard type == Self.fxpStatus else {
                throw SSHError(code: 0, message: "the server answered posix-rename with SFTP packet type \(type)", connectionLost: true)
            }
            let code = try reader.uint32()
            let message = (try? reader.string()) ?? ""
            let refusal: String? = code == 0 ? nil
                : message.isEmpty ? SFTPClient.statusText(UInt(code)) : "\(message) (\(SFTPClient.statusText(UInt(code))))"
            answers[id] = .some(refusal)  // kept even when nil: the request is answered
        }
        return ids.map { answers[$0] ?? "no answer from the server" }
    }

    // MARK: packets

    private static func receive(on channel: OpaquePointer, _ session: SSHSession) throws(SSHError) -> (UInt8, [UInt8]) {
        let header = try read(5, on: channel, session)
        let length = Int(UInt32(header[0]) << 24 | UInt32(header[1]) << 16 | UInt32(header[2]) << 8 | UInt32(header[3]))
        guard length >= 1, length <= 256 * 1024 else {
            throw SSHError(code: 0, message: "the server sent an SFTP packet of \(length) bytes", connectionLost: true)
        }
        return (header[4], try read(length - 1, on: channel, session))
    }

    private static func read(_ count: Int, on channel: OpaquePointer, _ session: SSHSession) throws(SSHError) -> [UInt8] {
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

/// Builds one SFTP packet: `uint32 length`, `byte type`, then the fields.
struct SFTPPacketWriter {
    private var bytes: [UInt8]

    init(type: UInt8) { bytes = [0, 0, 0, 0, type] }

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
        let n = UInt32(out.count - 4)
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

    mutating func string() throws(SSHError) -> String {
        let n = Int(try uint32())
        guard n <= bytes.count - at else { throw Self.short() }
        defer { at += n }
        return String(decoding: bytes[at..<at + n], as: UTF8.self)
    }

    private static func short() -> SSHError {
        SSHError(code: 0, message: "the server sent a truncated SFTP packet", connectionLost: true)
    }
}
