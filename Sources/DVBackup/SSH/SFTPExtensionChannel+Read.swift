/// Reading many small files at once on dvbackup's own SFTP channel, for the audit's
/// read-back and for restore: a STAT of every path (size and type), an OPEN for reading of
/// every file, then every READ of every file with its CLOSE, each one round trip for the
/// lot (`SFTPExtensionChannel.exchange`). A refusal is that file's, with the server's words
/// and status; only a broken channel (a lost connection, a protocol error) throws.
///
/// Memory: the answers of one flight are held until the flight is read, so a caller gives
/// files of at most `smallReadLimit` bytes, a bounded number at a time.
extension SFTPExtensionChannel {
    /// Files up to this size (the size expected) are read in batches; larger ones stream
    /// through libssh2 (or the read lanes) as before.
    static let smallReadLimit = 64 << 10

    /// STAT (or, with `link`, LSTAT) of each path, one round trip: what lies there.
    func inspect(_ paths: [String], link: Bool = false) throws(SSHError) -> [SFTPPathState] {
        let what = link ? "LSTAT" : "STAT"
        let answers = try exchange(paths.map { path in SFTPRequest(link ? .lstat : .stat) { $0.string(path) } }, what)
        var states: [SFTPPathState] = []
        for var answer in answers {
            switch answer.type {
            case .attributes:
                states.append(try Self.attributes(&answer.reader))
            case .status:
                let refusal = try Self.readRefusal(&answer.reader)
                states.append(refusal.status.meansMissing ? .missing(refusal) : .refused(refusal))
            default:
                throw outOfTurn(what, answer.type)
            }
        }
        return states
    }

    /// An ATTRS answer (after its id): the size and the kind of file, where the server says.
    static func attributes(_ reader: inout SFTPPacketReader) throws(SSHError) -> SFTPPathState {
        let flags = try reader.uint32()
        let size = flags & 0x1 != 0 ? try reader.uint64() : nil
        if flags & 0x2 != 0 { _ = try reader.uint64() }  // uid, gid
        guard flags & 0x4 != 0 else { return .found(size: size, kind: .unknown) }
        let kind: SFTPPathState.Kind = switch try reader.uint32() & 0o170000 {
            case 0o100000: .regular
            case 0o040000: .directory
            default: .other
        }
        return .found(size: size, kind: kind)
    }

    /// OPENs each path for reading, one round trip; returns each handle, or the refusal with
    /// its status (a file gone since its STAT is `meansMissing`).
    func openToRead(_ paths: [String]) throws(SSHError) -> [Result<[UInt8], SFTPReadRefusal>] {
        let answers = try exchange(paths.map { path in
            SFTPRequest(.open) { p in
                p.string(path)
                p.uint32(SFTPOpenFlags.read.rawValue)
                p.uint32(0)  // no attributes
            }
        }, "OPEN")
        var result: [Result<[UInt8], SFTPReadRefusal>] = []
        for var answer in answers {
            switch answer.type {
            case .handle: result.append(.success(try answer.reader.blob()))
            case .status: result.append(.failure(try Self.readRefusal(&answer.reader)))
            default: throw outOfTurn("OPEN", answer.type)
            }
        }
        return result
    }

    /// Reads each open file whole and CLOSEs it, in one round trip: READs of `batchPiece`
    /// at offsets 0, 32 KiB, … covering `size` bytes and one more, so that a file longer
    /// than expected shows it (its bytes then number `size + 1`). A short answer or EOF
    /// ends the file there: a file shorter than expected comes back with fewer bytes. A
    /// file whose READs are refused, or whose answers leave a hole (a short answer followed
    /// by more data, which no regular file on OpenSSH gives), comes back as such: the caller
    /// reads it another way. A refused CLOSE after a full read does not spoil the bytes.
    func readWhole(_ files: [(handle: [UInt8], size: Int)]) throws(SSHError) -> [SFTPWholeRead] {
        var requests: [SFTPRequest] = []
        var owner: [(file: Int, length: Int)] = []  // length -1: the CLOSE
        for (i, file) in files.enumerated() {
            var at = 0
            while at <= file.size {  // the last READ reaches `size + 1`
                let n = min(Self.batchPiece, file.size + 1 - at)
                let offset = UInt64(at)
                requests.append(SFTPRequest(.read) { p in
                    p.blob(file.handle)
                    p.uint64(offset)
                    p.uint32(UInt32(n))
                })
                owner.append((i, n))
                at += n
            }
            requests.append(SFTPRequest(.close) { $0.blob(file.handle) })
            owner.append((i, -1))
        }
        var bytes: [[UInt8]] = Array(repeating: [], count: files.count)
        var ended = Array(repeating: false, count: files.count)
        var results: [SFTPWholeRead?] = Array(repeating: nil, count: files.count)
        // Answers come back in the order of the requests (`exchange`): each file's pieces in order.
        for ((i, length), var answer) in zip(owner, try exchange(requests, "READ")) {
            switch answer.type {
            case .data where length >= 0:
                let piece = try answer.reader.blob()
                guard results[i] == nil, !piece.isEmpty else { continue }
                if ended[i] {
                    results[i] = .hole(at: bytes[i].count)
                    continue
                }
                bytes[i] += piece
                if piece.count < length { ended[i] = true }
            case .status:
                let refusal = try Self.readRefusal(&answer.reader)
                if refusal.status == .eof, length >= 0 {
                    ended[i] = true
                } else if refusal.status != .ok, results[i] == nil, length >= 0 {
                    results[i] = .refused(refusal)
                }
            default:
                throw outOfTurn(length >= 0 ? "READ" : "CLOSE", answer.type)
            }
        }
        return results.enumerated().map { i, r in r ?? .bytes(bytes[i]) }
    }

    /// A STATUS answer (after its id) as a refusal: its status and the server's words.
    static func readRefusal(_ reader: inout SFTPPacketReader) throws(SSHError) -> SFTPReadRefusal {
        let status = try reader.status()
        return SFTPReadRefusal(status: status, words: words(status, (try? reader.string()) ?? ""))
    }
}

/// What STAT or LSTAT found at a path.
enum SFTPPathState: Equatable {
    /// Nothing there (no such file or path).
    case missing(SFTPReadRefusal)
    /// The server would not say (permission denied…).
    case refused(SFTPReadRefusal)
    /// Something, with its size where the server gave it.
    case found(size: UInt64?, kind: Kind)

    enum Kind: Equatable { case regular, directory, other, unknown }
}

/// A request the server refused: its status, and its words with the status's meaning.
struct SFTPReadRefusal: Error, Equatable, CustomStringConvertible {
    let status: SFTPStatus
    let words: String
    var description: String { words }
}

/// One file read whole by `readWhole`.
enum SFTPWholeRead: Equatable {
    /// Every byte up to the end of the file (or `size + 1` bytes: the file is longer).
    case bytes([UInt8])
    /// A READ was refused (not EOF): the file could not be read.
    case refused(SFTPReadRefusal)
    /// A short answer was followed by more data at `at`: the bytes have a hole.
    case hole(at: Int)
}
