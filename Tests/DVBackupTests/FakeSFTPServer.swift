@testable import DVBackup

/// An SFTP version 3 server in memory, behind the transport seam of `SFTPExtensionChannel`:
/// it answers every request it receives as OpenSSH's sftp-server would (MKDIR on an existing
/// directory is a bare failure, RENAME does not replace), holds its answers until the client
/// reads, and can answer each flight in reverse order. It counts the flights: how many
/// times the client waited for answers after sending.
final class FakeSFTPServer: SFTPTransport {
    var directories: Set<String> = ["/"]
    var files: [String: [UInt8]] = [:]
    /// Requests on these paths are refused with this status and these words.
    var refusals: [String: (SFTPStatus, String)] = [:]
    /// Answer each flight last request first.
    var reverseAnswers = false
    private(set) var flights = 0
    private(set) var requests: [SFTPPacketType] = []

    private var inbox: [UInt8] = []
    private var held: [[UInt8]] = []
    private var outbox: [UInt8] = []
    private var handles: [String: String] = [:]  // handle → path
    private var nextHandle = 0

    init(directories: [String] = []) {
        for d in directories { self.directories.insert(d) }
    }

    func send(_ bytes: UnsafeRawBufferPointer, _ what: String) throws(SSHError) {
        inbox += bytes
        while inbox.count >= 4 {
            let n = Int(inbox[0]) << 24 | Int(inbox[1]) << 16 | Int(inbox[2]) << 8 | Int(inbox[3])
            guard inbox.count >= 4 + n else { break }
            let packet = Array(inbox[4..<4 + n])
            inbox.removeFirst(4 + n)
            held.append(try answer(SFTPPacketType(rawValue: packet[0]), SFTPPacketReader(Array(packet.dropFirst()))))
        }
    }

    func read(_ count: Int) throws(SSHError) -> [UInt8] {
        if outbox.isEmpty, !held.isEmpty {
            if held.count > 1 || requests.last != .initialize { flights += 1 }
            outbox = (reverseAnswers ? held.reversed() : held).flatMap { $0 }
            held = []
        }
        guard outbox.count >= count else { throw SSHError(code: 0, message: "the SFTP channel closed", connectionLost: true) }
        defer { outbox.removeFirst(count) }
        return Array(outbox.prefix(count))
    }

    private func parent(_ path: String) -> String {
        let p = path.split(separator: "/").dropLast().joined(separator: "/")
        return "/" + p
    }

    private func status(_ id: UInt32, _ s: SFTPStatus, _ words: String = "") -> [UInt8] {
        var p = SFTPPacketWriter(type: .status)
        p.uint32(id)
        p.uint32(s.rawValue)
        p.string(words.isEmpty && s != .ok ? (s == .failure ? "Failure" : "\(s)") : words)
        p.string("")
        return p.finish()
    }

    private func answer(_ type: SFTPPacketType, _ body: SFTPPacketReader) throws(SSHError) -> [UInt8] {
        requests.append(type)
        var r = body
        if type == .initialize {
            var v = SFTPPacketWriter(type: .version)
            v.uint32(3)
            for name in [SFTPExtensionChannel.posixRename, SFTPExtensionChannel.fsync] {
                v.string(name)
                v.string("1")
            }
            return v.finish()
        }
        let id = try r.uint32()
        switch type {
        case .mkdir, .open, .stat, .remove, .rename:
            let path = try r.string()
            if let (s, words) = refusals[path] { return status(id, s, words) }
            switch type {
            case .mkdir:
                if directories.contains(path) || files[path] != nil { return status(id, .failure) }
                guard directories.contains(parent(path)) else { return status(id, .noSuchFile) }
                directories.insert(path)
                return status(id, .ok)
            case .open:
                let flags = SFTPOpenFlags(rawValue: try r.uint32())
                if flags.contains(.create) {
                    guard directories.contains(parent(path)) else { return status(id, .noSuchFile) }
                    files[path] = []
                } else if files[path] == nil {
                    return status(id, .noSuchFile)
                }
                nextHandle += 1
                handles[String(nextHandle)] = path
                var h = SFTPPacketWriter(type: .handle)
                h.uint32(id)
                h.string(String(nextHandle))
                return h.finish()
            case .stat:
                guard directories.contains(path) || files[path] != nil else { return status(id, .noSuchFile) }
                var a = SFTPPacketWriter(type: .attributes)
                a.uint32(id)
                a.uint32(0x4)
                a.uint32(directories.contains(path) ? 0o040755 : 0o100644)
                return a.finish()
            case .remove:
                return files.removeValue(forKey: path) == nil ? status(id, .noSuchFile) : status(id, .ok)
            default:  // rename
                let to = try r.string()
                guard let bytes = files[path] else { return status(id, .noSuchFile) }
                if files[to] != nil { return status(id, .failure) }
                files[to] = bytes
                files[path] = nil
                return status(id, .ok)
            }
        case .write, .read, .close:
            guard let path = handles[try r.string()] else { return status(id, .failure, "invalid handle") }
            if type == .close {
                handles = handles.filter { $0.value != path }
                return status(id, .ok)
            }
            let offset = Int(try r.uint64())
            if type == .write {
                let data = try r.blob()
                var f = files[path] ?? []
                if f.count < offset + data.count { f += Array(repeating: 0, count: offset + data.count - f.count) }
                f.replaceSubrange(offset..<offset + data.count, with: data)
                files[path] = f
                return status(id, .ok)
            }
            let f = files[path] ?? []
            let n = Int(try r.uint32())
            guard offset < f.count else { return status(id, .eof) }
            var d = SFTPPacketWriter(type: .data)
            d.uint32(id)
            d.blob(Array(f[offset..<min(f.count, offset + n)]))
            return d.finish()
        case .extended:
            let name = try r.string()
            if name == SFTPExtensionChannel.fsync { return status(id, .ok) }
            return status(id, .opUnsupported)
        default:
            return status(id, .opUnsupported)
        }
    }
}
