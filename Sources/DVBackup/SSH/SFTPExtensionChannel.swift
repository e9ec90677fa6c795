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

    /// How many times this channel waited for the server's answers: one round trip each,
    /// however many requests were in flight. Tests and the debug log read it.
    private(set) var roundTrips = 0

    /// Sends `requests` back to back, then reads one answer to each, in whatever order the
    /// server sends them: one round trip for the lot. Returns the answers in the order of
    /// the requests. An answer whose id no request is waiting for (unknown, or answered
    /// already), a packet cut short, or a send or read that breaks off, breaks the channel.
    /// `request` names the requests in errors (`posix-rename`, `OPEN`), `what` a send that
    /// fails (by default "cannot send an SFTP <request> request").
    func exchange(_ requests: [SFTPRequest], _ request: String, what: String? = nil) throws(SSHError) -> [SFTPAnswer] {
        if let broken { throw broken }
        guard !requests.isEmpty else { return [] }
        let first = nextID
        let what = what ?? "cannot send an SFTP \(request) request"
        do throws(SSHError) {
            for request in requests {
                var p = SFTPPacketWriter(type: request.type, trailing: request.data.count)
                p.uint32(takeID())
                request.fields(&p)
                try transport.send(p.finish(), what)
                if !request.data.isEmpty {
                    var failure: SSHError?
                    request.data.withUnsafeBytes { raw in
                        do throws(SSHError) { try transport.send(raw, what) } catch { failure = error }
                    }
                    if let failure { throw failure }
                }
            }
            var answers: [SFTPAnswer?] = Array(repeating: nil, count: requests.count)
            try receiveAnswers(to: (0..<UInt32(requests.count)).map { first &+ $0 }, request) { id, type, reader in
                answers[Int(id &- first)] = SFTPAnswer(type: type, reader: reader)
            }
            return answers.map { $0! }
        } catch {
            broken = error
            throw error
        }
    }

    /// Renames each `from` over its `to` with posix-rename@openssh.com, the requests sent
    /// back to back; returns, for each, nil or the server's refusal (its words and status).
    /// The answers may come in any order; each must answer one request still waiting.
    func posixRename(_ pairs: [(from: String, to: String)]) throws(SSHError) -> [String?] {
        let answers = try exchange(pairs.map { pair in
            SFTPRequest(.extended) { p in
                p.string(Self.posixRename)
                p.string(pair.from)
                p.string(pair.to)
            }
        }, "posix-rename")
        return try statusRefusals(answers, "posix-rename")
    }

    /// For answers that must all be STATUS: nil (OK) or the refusal of each. An answer of
    /// another type breaks the channel.
    func statusRefusals(_ answers: [SFTPAnswer], _ request: String) throws(SSHError) -> [String?] {
        var refusals: [String?] = []
        for var answer in answers {
            guard answer.type == .status else { throw outOfTurn(request, answer.type) }
            refusals.append(try Self.refusal(&answer.reader))
        }
        return refusals
    }

    /// The channel is out of step with the server (an answer of the wrong type): it is not
    /// used again.
    func outOfTurn(_ request: String, _ type: SFTPPacketType) -> SSHError {
        let error = Self.unexpected(request, type)
        broken = error
        return error
    }

    private func takeID() -> UInt32 {
        defer { nextID &+= 1 }
        return nextID
    }

    /// Reads one answer for each of `ids`, in whatever order they come, handing each to
    /// `answer` with its type and a reader past its id. An answer whose id is not waiting
    /// (unknown, or answered already) breaks the channel.
    private func receiveAnswers(to ids: [UInt32], _ request: String,
                                _ answer: (UInt32, SFTPPacketType, SFTPPacketReader) throws(SSHError) -> Void) throws(SSHError) {
        var waiting = Set(ids)
        roundTrips += 1
        do throws(SSHError) {
            while !waiting.isEmpty {
                let (type, body) = try transport.receivePacket()
                var reader = SFTPPacketReader(body)
                let id = try reader.uint32()
                guard waiting.remove(id) != nil else {
                    throw SSHError(code: 0, message: "the server answered an SFTP \(request) with id \(id), which no request was waiting for",
                                   connectionLost: true)
                }
                try answer(id, type, reader)
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
        try receiveAnswers(to: ids, "WRITE") { (_, type, reader) throws(SSHError) in
            guard type == .status else { throw Self.unexpected("WRITE", type) }
            var reader = reader
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
    /// the answer's type, and a reader past its id (`exchange` with a flight of one).
    private func ask(_ type: SFTPPacketType, _ request: String, _ what: String,
                     _ fields: @escaping (inout SFTPPacketWriter) -> Void) throws(SSHError) -> (SFTPPacketType, SFTPPacketReader) {
        let answer = try exchange([SFTPRequest(type, fields)], request, what: what)[0]
        return (answer.type, answer.reader)
    }

    /// nil for SSH_FX_OK; else the server's words and the status's meaning.
    static func refusal(_ reader: inout SFTPPacketReader) throws(SSHError) -> String? {
        let status = try reader.status()
        guard status != .ok else { return nil }
        return words(status, (try? reader.string()) ?? "")
    }

    /// The server's words for a refusal with the status's meaning. OpenSSH's words are often
    /// just the status's name ("Failure"): said once.
    static func words(_ status: SFTPStatus, _ message: String) -> String {
        let meaning = status.description
        return message.isEmpty || meaning.lowercased().hasPrefix(message.lowercased()) ? meaning : "\(message) (\(meaning))"
    }

    static func unexpected(_ request: String, _ type: SFTPPacketType? = nil) -> SSHError {
        SSHError(code: 0, message: "the server answered an SFTP \(request) out of turn\(type.map { " (\($0))" } ?? "")",
                 connectionLost: true)
    }
}

/// One request of a pipelined flight (`SFTPExtensionChannel.exchange`): its type, the
/// fields after its id, and for a WRITE the data that follow them.
struct SFTPRequest {
    let type: SFTPPacketType
    let fields: (inout SFTPPacketWriter) -> Void
    let data: ArraySlice<UInt8>

    init(_ type: SFTPPacketType, data: ArraySlice<UInt8> = [], _ fields: @escaping (inout SFTPPacketWriter) -> Void) {
        self.type = type
        self.data = data
        self.fields = fields
    }
}

/// The server's answer to one request: its type, and a reader past its id.
struct SFTPAnswer {
    let type: SFTPPacketType
    var reader: SFTPPacketReader
}
