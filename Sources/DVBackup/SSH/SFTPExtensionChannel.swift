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
/// Every answer is matched to an outstanding request by its id: an answer to no request,
/// or a second answer to one, is a protocol error and the channel is not trusted again.
/// Not `Sendable`, like its transport.
final class SFTPExtensionChannel {
    private let transport: any SFTPTransport
    /// The extensions the server announced in its VERSION packet, with their versions.
    let extensions: [String: String]
    private var nextID: UInt32 = 1
    /// A write broke off between the requests and their answers: the channel is out of
    /// step with the server and is not used again.
    private var broken: SSHError?

    static let posixRename = "posix-rename@openssh.com"
    static let limits = "limits@openssh.com"

    /// A channel of its own on `session`.
    convenience init(session: SSHSession) throws(SSHError) {
        try self.init(transport: SSHChannelTransport(session: session))
    }

    /// Says INIT (version 3) over `transport` and reads the server's VERSION.
    init(transport: any SFTPTransport) throws(SSHError) {
        self.transport = transport
        var hello = SFTPPacketWriter(type: .initialize)
        hello.uint32(3)
        try transport.send(hello.finish(), "cannot start SFTP")
        let (type, body) = try transport.receivePacket()
        guard type == .version else {
            throw SSHError(code: 0, message: "the server answered SFTP INIT with \(type)", connectionLost: false)
        }
        var reader = SFTPPacketReader(body)
        _ = try reader.uint32()
        var found: [String: String] = [:]
        while !reader.atEnd {
            let name = try reader.string()
            found[name] = try reader.string()
        }
        extensions = found
    }

    var offersPosixRename: Bool { extensions[Self.posixRename] != nil }

    /// Renames each `from` over its `to` with posix-rename@openssh.com, the requests sent
    /// back to back; returns, for each, nil or the server's refusal (its words and status).
    /// The answers may come in any order; each must answer one request still waiting.
    func posixRename(_ pairs: [(from: String, to: String)]) throws(SSHError) -> [String?] {
        if let broken { throw broken }
        var ids: [UInt32] = []
        for (from, to) in pairs {
            var p = SFTPPacketWriter(type: .extended)
            let id = takeID()
            ids.append(id)
            p.uint32(id)
            p.string(Self.posixRename)
            p.string(from)
            p.string(to)
            try transport.send(p.finish(), "cannot send an SFTP request")
        }
        var answers: [UInt32: String?] = [:]
        try receiveAnswers(to: ids, "posix-rename") { (id, reader) throws(SSHError) in
            answers[id] = .some(try Self.refusal(&reader))  // kept even when nil: the request is answered
        }
        return ids.map { answers[$0] ?? "no answer from the server" }
    }

    private func takeID() -> UInt32 {
        defer { nextID &+= 1 }
        return nextID
    }

    /// Reads one STATUS answer for each of `ids`, in whatever order they come, handing each
    /// to `answer` with a reader past its id. An answer of another type, or whose id is not
    /// waiting (unknown, or answered already), breaks the channel.
    private func receiveAnswers(to ids: [UInt32], _ request: String,
                                _ answer: (UInt32, inout SFTPPacketReader) throws(SSHError) -> Void) throws(SSHError) {
        var waiting = Set(ids)
        do throws(SSHError) {
            while !waiting.isEmpty {
                let (type, body) = try transport.receivePacket()
                var reader = SFTPPacketReader(body)
                let id = try reader.uint32()
                guard type == .status else { throw Self.unexpected(request, type) }
                guard waiting.remove(id) != nil else {
                    throw SSHError(code: 0, message: "the server answered an SFTP \(request) with id \(id), which no request was waiting for",
                                   connectionLost: true)
                }
                try answer(id, &reader)
            }
        } catch {
            broken = error
            throw error
        }
    }

    /// The largest WRITE request the server accepts, from `limits@openssh.com` (OpenSSH 8.7
    /// and later); nil when the server does not say.
    func maxWriteLength() throws(SSHError) -> Int? {
        guard extensions[Self.limits] != nil else { return nil }
        var (type, reader) = try ask(.extended, "limits", "cannot send an SFTP request") { $0.string(Self.limits) }
        guard type == .extendedReply else { return nil }
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
        var (type, reader) = try ask(.open, "OPEN", "cannot send an SFTP request") { p in
            p.string(path)
            p.uint32(SFTPOpenFlags.write.rawValue)
            p.uint32(0)  // no attributes
        }
        if type == .handle { return try reader.blob() }
        guard type == .status else { throw Self.unexpected("OPEN", type) }
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
            var p = SFTPPacketWriter(type: .write, trailing: n)
            let id = takeID()
            ids.append(id)
            p.uint32(id)
            p.blob(handle)
            p.uint64(offset + UInt64(at))
            p.uint32(UInt32(n))
            try transport.send(p.finish(), "cannot write \(path)")
            try transport.send(UnsafeRawBufferPointer(rebasing: bytes[at..<at + n]), "cannot write \(path)")
            at += n
        }
        var failure: String? = nil
        try receiveAnswers(to: ids, "WRITE") { (_, reader) throws(SSHError) in
            if failure == nil, let refusal = try Self.refusal(&reader) { failure = refusal }
        }
        if let failure { throw SSHError(code: 0, message: "cannot write \(path): \(failure)", connectionLost: false) }
    }

    func close(_ handle: [UInt8], path: String) throws(SSHError) {
        if let broken { throw broken }
        var (type, reader) = try ask(.close, "CLOSE", "cannot close \(path)") { $0.blob(handle) }
        guard type == .status else { throw Self.unexpected("CLOSE", type) }
        if let refusal = try Self.refusal(&reader) {
            throw SSHError(code: 0, message: "cannot close \(path): \(refusal)", connectionLost: false)
        }
    }

    /// Sends one request (its id, then what `fields` adds) and reads the answer to it:
    /// the answer's type, and a reader past its id.
    private func ask(_ type: SFTPPacketType, _ request: String, _ what: String,
                     _ fields: (inout SFTPPacketWriter) -> Void) throws(SSHError) -> (SFTPPacketType, SFTPPacketReader) {
        if let broken { throw broken }
        var p = SFTPPacketWriter(type: type)
        let id = takeID()
        p.uint32(id)
        fields(&p)
        try transport.send(p.finish(), what)
        let (answer, body) = try transport.receivePacket()
        var reader = SFTPPacketReader(body)
        guard try reader.uint32() == id else {
            let error = Self.unexpected(request, answer)
            broken = error
            throw error
        }
        return (answer, reader)
    }

    /// nil for SSH_FX_OK; else the server's words and the status's meaning.
    static func refusal(_ reader: inout SFTPPacketReader) throws(SSHError) -> String? {
        let status = try reader.status()
        guard status != .ok else { return nil }
        let message = (try? reader.string()) ?? ""
        let meaning = status.description
        // OpenSSH's words are often just the status's name ("Failure"): said once.
        return message.isEmpty || meaning.lowercased().hasPrefix(message.lowercased()) ? meaning : "\(message) (\(meaning))"
    }

    private static func unexpected(_ request: String, _ type: SFTPPacketType? = nil) -> SSHError {
        SSHError(code: 0, message: "the server answered an SFTP \(request) out of turn\(type.map { " (\($0))" } ?? "")",
                 connectionLost: true)
    }
}
