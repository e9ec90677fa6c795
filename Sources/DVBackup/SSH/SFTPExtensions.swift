internal import CLibSSH2
import Foundation

/// A second SFTP channel on a session, spoken directly (SFTP version 3, draft-ietf-secsh-
/// filexfer-02), for what libssh2 1.10 cannot do:
/// - the OpenSSH extension `posix-rename@openssh.com`, a rename(2) on the server that
///   replaces an existing file atomically (plain SFTP rename refuses to). Many renames go
///   out back to back and their answers are read afterwards, one round trip for a batch;
/// - WRITE requests as large as the server accepts (`limits@openssh.com`): libssh2 1.10
///   cuts every write into requests of 30,000 bytes, each copied once more into a packet
///   of its own and answered on its own, and each an unaligned write(2) on the server.
///
/// Not `Sendable`, like its session, which it keeps alive.
final class SFTPExtensionChannel {
    let session: SSHSession
    private let channel: OpaquePointer
    /// The extensions the server announced in its VERSION packet, with their versions.
    let extensions: [String: String]
    private var nextID: UInt32 = 1
    /// A write broke off between the requests and their answers: the channel is out of
    /// step with the server and is not used again.
    private var broken: SSHError?

    static let fxpInit: UInt8 = 1, fxpVersion: UInt8 = 2, fxpOpen: UInt8 = 3, fxpClose: UInt8 = 4, fxpWrite: UInt8 = 6
    static let fxpStatus: UInt8 = 101, fxpHandle: UInt8 = 102, fxpExtended: UInt8 = 200, fxpExtendedReply: UInt8 = 201
    static let posixRename = "posix-rename@openssh.com"
    static let limits = "limits@openssh.com"

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
            let id = takeID()
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
            answers[id] = .some(try Self.refusal(&reader))  // kept even when nil: the request is answered
        }
        return ids.map { answers[$0] ?? "no answer from the server" }
    }

    private func takeID() -> UInt32 {
        defer { nextID &+= 1 }
        return nextID
    }

    /// The largest WRITE request the server accepts, from `limits@openssh.com` (OpenSSH 8.7
    /// and later); nil when the server does not say.
    func maxWriteLength() throws(SSHError) -> Int? {
        guard extensions[Self.limits] != nil else { return nil }
        var (type, reader) = try ask(Self.fxpExtended, "limits", "cannot send an SFTP request") { $0.string(Self.limits) }
        guard type == Self.fxpExtendedReply else { return nil }
        return try Self.writeLimit(&reader)
    }

    /// From a limits@openssh.com reply (after its id): max-write-length, kept 1 KiB under
    /// max-packet-length so that a WRITE request's header fits too; nil for 0 ("no limit
    /// known").
    static func writeLimit(_ reader: inout SFTPPacketReader) throws(SSHError) -> Int? {
        let packet = try reader.uint64()  // max-packet-length
        _ = try reader.uint64()  // max-read-length
        var write = try reader.uint64()
        if packet > 0 { write = min(write, packet > 1024 ? packet - 1024 : 0) }
        return write > 0 ? Int(clamping: write) : nil
    }

    /// Opens an existing file for writing in place (no truncation), for one of several
    /// writers of a file; returns the server's handle.
    func openForWriting(_ path: String) throws(SSHError) -> [UInt8] {
        var (type, reader) = try ask(Self.fxpOpen, "OPEN", "cannot send an SFTP request") { p in
            p.string(path)
            p.uint32(0x02)  // SSH_FXF_WRITE
            p.uint32(0)     // no attributes
        }
        if type == Self.fxpHandle { return try reader.blob() }
        guard type == Self.fxpStatus else { throw Self.unexpected("OPEN", type) }
        throw SSHError(code: 0, message: "cannot open \(path): \(try Self.refusal(&reader) ?? "no handle")", connectionLost: false)
    }

    /// Writes `bytes` at `offset` in WRITE requests of at most `piece` bytes, all sent
    /// before their answers are read; returns once the server has answered every one.
    /// The data go to the channel straight from `bytes`.
    func write(_ handle: [UInt8], _ bytes: UnsafeRawBufferPointer, at offset: UInt64, piece: Int, path: String) throws(SSHError) {
        if let broken { throw broken }
        do throws(SSHError) {
            try sendWrites(handle, bytes, at: offset, piece: piece, path: path)
        } catch where error.connectionLost || error.code != 0 {
            // Not the server's refusal: a send or a read broke off midway.
            broken = error
            throw error
        }
    }

    private func sendWrites(_ handle: [UInt8], _ bytes: UnsafeRawBufferPointer, at offset: UInt64, piece: Int, path: String) throws(SSHError) {
        var ids: [UInt32] = []
        ids.reserveCapacity(bytes.count / piece + 1)
        var at = 0
        while at < bytes.count {
            let n = min(piece, bytes.count - at)
            var p = SFTPPacketWriter(type: Self.fxpWrite, trailing: n)
            let id = takeID()
            ids.append(id)
            p.uint32(id)
            p.blob(handle)
            p.uint64(offset + UInt64(at))
            p.uint32(UInt32(n))
            try session.write(p.finish(), to: channel, "cannot write \(path)")
            try session.write(UnsafeRawBufferPointer(rebasing: bytes[at..<at + n]), to: channel, "cannot write \(path)")
            at += n
        }
        var failure: String? = nil
        var waiting = Set(ids)
        while !waiting.isEmpty {
            let (type, body) = try Self.receive(on: channel, session)
            var reader = SFTPPacketReader(body)
            guard type == Self.fxpStatus, waiting.remove(try reader.uint32()) != nil else { throw Self.unexpected("WRITE", type) }
            if failure == nil, let refusal = try Self.refusal(&reader) { failure = refusal }
        }
        if let failure { throw SSHError(code: 0, message: "cannot write \(path): \(failure)", connectionLost: false) }
    }

    func close(_ handle: [UInt8], path: String) throws(SSHError) {
        if let broken { throw broken }
        var (type, reader) = try ask(Self.fxpClose, "CLOSE", "cannot close \(path)") { $0.blob(handle) }
        guard type == Self.fxpStatus else { throw Self.unexpected("CLOSE", type) }
        if let refusal = try Self.refusal(&reader) {
            throw SSHError(code: 0, message: "cannot close \(path): \(refusal)", connectionLost: false)
        }
    }

    /// Sends one request (its id, then what `fields` adds) and reads the answer to it:
    /// the answer's type, and a reader past its id.
    private func ask(_ type: UInt8, _ request: String, _ what: String,
                     _ fields: (inout SFTPPacketWriter) -> Void) throws(SSHError) -> (UInt8, SFTPPacketReader) {
        var p = SFTPPacketWriter(type: type)
        let id = takeID()
        p.uint32(id)
        fields(&p)
        try session.write(p.finish(), to: channel, what)
        let (answer, body) = try Self.receive(on: channel, session)
        var reader = SFTPPacketReader(body)
        guard try reader.uint32() == id else { throw Self.unexpected(request, answer) }
        return (answer, reader)
    }

    /// nil for SSH_FX_OK; else the server's words and the status's meaning.
    private static func refusal(_ reader: inout SFTPPacketReader) throws(SSHError) -> String? {
        let code = try reader.uint32()
        guard code != 0 else { return nil }
        let message = (try? reader.string()) ?? ""
        let meaning = SFTPClient.statusText(UInt(code))
        // OpenSSH's words are often just the status's name ("Failure"): said once.
        return message.isEmpty || meaning.lowercased().hasPrefix(message.lowercased()) ? meaning : "\(message) (\(meaning))"
    }

    private static func unexpected(_ request: String, _ type: UInt8? = nil) -> SSHError {
        SSHError(code: 0, message: "the server answered an SFTP \(request) out of turn\(type.map { " (packet type \($0))" } ?? "")",
                 connectionLost: true)
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

/// Builds one SFTP packet: `uint32 length`, `byte type`, then the fields; `trailing` bytes
/// of data sent separately after it are counted in its length.
struct SFTPPacketWriter {
    private var bytes: [UInt8]
    private let trailing: Int

    init(type: UInt8, trailing: Int = 0) {
        bytes = [0, 0, 0, 0, type]
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

    private static func short() -> SSHError {
        SSHError(code: 0, message: "the server sent a truncated SFTP packet", connectionLost: true)
    }
}
