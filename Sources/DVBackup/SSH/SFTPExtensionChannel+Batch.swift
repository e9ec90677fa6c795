/// Requests for many small files at once on dvbackup's own SFTP channel: each method sends
/// one kind of request for every file back to back and reads the answers after, one round
/// trip for the lot (`SFTPExtensionChannel.exchange`). A refusal is that file's, with the
/// server's words; only a broken channel (a lost connection, a protocol error) throws.
///
/// Requests that depend on each other are never in one flight, except those on one handle
/// (WRITE, fsync, CLOSE), which a server processes in order: a file is OPENed only once its
/// directory's MKDIR is answered, and a directory only once its parent's is.
extension SFTPExtensionChannel {
    static let fsync = "fsync@openssh.com"

    /// WRITE and READ requests of at most this size: every SFTP server takes 32 KiB
    /// (draft-ietf-secsh-filexfer-02: packets of at least 34,000 bytes).
    static let batchPiece = 32 << 10

    /// Writes small files whole to their paths: the directories they need (`directories`
    /// of each, outermost first; those already made are left out by the caller), then every
    /// OPEN, then every WRITE (and fsync, with `sync`) and CLOSE: one round trip per
    /// directory depth, and two. Returns each file's refusal (nil: written and closed),
    /// whether it was created (even if a write then failed), and the directories that now
    /// exist.
    func createFiles(_ files: [(path: String, directories: [String], bytes: [UInt8])],
                     sync: Bool) throws(SSHError) -> (refusals: [String?], created: [Bool], directories: [String]) {
        var needed: [String] = []
        var seen = Set<String>()
        for directory in files.flatMap(\.directories) where seen.insert(directory).inserted { needed.append(directory) }
        let refused = try makeDirectories(needed)
        var refusals: [String?] = Array(repeating: nil, count: files.count)
        var toOpen: [Int] = []
        for (i, file) in files.enumerated() {
            if let missing = file.directories.first(where: { refused[$0] != nil }) {
                refusals[i] = "cannot create directory \(missing): \(refused[missing]!)"
            } else {
                toOpen.append(i)
            }
        }
        var opened: [(index: Int, handle: [UInt8])] = []
        for (i, handle) in zip(toOpen, try open(toOpen.map { files[$0].path }, [.write, .create, .truncate])) {
            switch handle {
            case .success(let h): opened.append((i, h))
            case .failure(let refusal): refusals[i] = "cannot create \(files[i].path): \(refusal)"
            }
        }
        let written = try writeAndClose(opened.map { (handle: $0.handle, bytes: files[$0.index].bytes, sync: sync) })
        for (item, refusal) in zip(opened, written) {
            refusals[item.index] = refusal.map { "cannot write \(files[item.index].path): \($0)" }
        }
        var created = Array(repeating: false, count: files.count)
        for item in opened { created[item.index] = true }
        return (refusals, created, needed.filter { refused[$0] == nil })
    }

    /// Creates `directories` (each path's parent either exists or is in the list), one round
    /// trip per depth; an existing directory is fine. The deepest ones are STATed in the
    /// first round trip, beside the outermost MKDIRs: where they exist (a tree copied to
    /// before), nothing above them is made. OpenSSH answers MKDIR on an existing directory
    /// with a bare failure: a STAT of those, in one more round trip, tells. Returns the
    /// refusal of each directory that could not be made.
    func makeDirectories(_ directories: [String], mode: UInt32 = 0o755) throws(SSHError) -> [String: String] {
        guard !directories.isEmpty else { return [:] }
        var byDepth: [Int: [String]] = [:]
        for d in directories { byDepth[d.split(separator: "/").count, default: []].append(d) }
        let deepest = directories.filter { d in !directories.contains { $0.hasPrefix(d + "/") } }
        var present = Set<String>()
        var refused: [String: String] = [:]
        for (n, depth) in byDepth.keys.sorted().enumerated() {
            let level = byDepth[depth]!.filter { !present.contains($0) }
            let probes = n == 0 ? deepest : []
            let answers = try exchange(level.map { path in
                SFTPRequest(.mkdir) { p in
                    p.string(path)
                    p.uint32(0x4)  // SSH_FILEXFER_ATTR_PERMISSIONS
                    p.uint32(mode)
                }
            } + probes.map { path in SFTPRequest(.stat) { $0.string(path) } }, "MKDIR")
            for (path, refusal) in zip(level, try statusRefusals(Array(answers.prefix(level.count)), "MKDIR")) {
                if let refusal { refused[path] = refusal }
            }
            for (path, found) in zip(probes, try Self.kinds(Array(answers.dropFirst(level.count)), self)) where found == true {
                present.formUnion(directories.filter { path == $0 || path.hasPrefix($0 + "/") })
            }
        }
        let failed = directories.filter { refused[$0] != nil && !present.contains($0) }
        for path in present { refused[path] = nil }
        for (path, found) in zip(failed, try stat(failed)) where found == true {
            refused[path] = nil
        }
        return refused
    }

    /// STAT of each path: nil where it is missing (or cannot be looked at), else whether it
    /// is a directory (true) or something else (false).
    func stat(_ paths: [String]) throws(SSHError) -> [Bool?] {
        try Self.kinds(try exchange(paths.map { path in SFTPRequest(.stat) { $0.string(path) } }, "STAT"), self)
    }

    /// What STAT answers say: nil (missing), true (a directory), false (something else).
    private static func kinds(_ answers: [SFTPAnswer], _ channel: SFTPExtensionChannel) throws(SSHError) -> [Bool?] {
        var result: [Bool?] = []
        for var answer in answers {
            switch answer.type {
            case .attributes: result.append(try permissions(&answer.reader).map { $0 & 0o170000 == 0o040000 } ?? false)
            case .status: result.append(nil)
            default: throw channel.outOfTurn("STAT", answer.type)
            }
        }
        return result
    }

    /// The permissions of an ATTRS answer (after its id), nil where the server left them out.
    static func permissions(_ reader: inout SFTPPacketReader) throws(SSHError) -> UInt32? {
        let flags = try reader.uint32()
        if flags & 0x1 != 0 { _ = try reader.uint64() }  // size
        if flags & 0x2 != 0 { _ = try reader.uint64() }  // uid, gid
        return flags & 0x4 != 0 ? try reader.uint32() : nil
    }

    /// OPENs each path with `flags` (new files 0644); returns each handle, or the refusal.
    func open(_ paths: [String], _ flags: SFTPOpenFlags) throws(SSHError) -> [Result<[UInt8], SFTPRefusal>] {
        let answers = try exchange(paths.map { path in
            SFTPRequest(.open) { p in
                p.string(path)
                p.uint32(flags.rawValue)
                p.uint32(0x4)  // SSH_FILEXFER_ATTR_PERMISSIONS
                p.uint32(0o644)
            }
        }, "OPEN")
        var result: [Result<[UInt8], SFTPRefusal>] = []
        for var answer in answers {
            switch answer.type {
            case .handle: result.append(.success(try answer.reader.blob()))
            case .status: result.append(.failure(SFTPRefusal(try Self.refusal(&answer.reader) ?? "no handle")))
            default: throw outOfTurn("OPEN", answer.type)
            }
        }
        return result
    }

    /// Writes each file's bytes through its open handle (WRITE requests of `batchPiece`),
    /// flushes it to the server's disk where `sync` is set and the server offers
    /// fsync@openssh.com, and CLOSEs it: all in one round trip. Returns each file's first
    /// refusal, nil where all went well.
    func writeAndClose(_ files: [(handle: [UInt8], bytes: [UInt8], sync: Bool)]) throws(SSHError) -> [String?] {
        var requests: [SFTPRequest] = []
        var owner: [Int] = []  // the file of each request
        let canSync = extensions[Self.fsync] != nil
        for (i, file) in files.enumerated() {
            var at = 0
            repeat {
                let n = min(Self.batchPiece, file.bytes.count - at)
                let offset = UInt64(at)
                requests.append(SFTPRequest(.write, data: file.bytes[at..<at + n]) { p in
                    p.blob(file.handle)
                    p.uint64(offset)
                    p.uint32(UInt32(n))
                })
                owner.append(i)
                at += n
            } while at < file.bytes.count
            if file.sync && canSync {
                requests.append(SFTPRequest(.extended) { p in
                    p.string(Self.fsync)
                    p.blob(file.handle)
                })
                owner.append(i)
            }
            requests.append(SFTPRequest(.close) { $0.blob(file.handle) })
            owner.append(i)
        }
        var refusals: [String?] = Array(repeating: nil, count: files.count)
        for (i, refusal) in zip(owner, try statusRefusals(try exchange(requests, "WRITE"), "WRITE")) where refusals[i] == nil {
            refusals[i] = refusal
        }
        return refusals
    }

    /// RENAMEs each `from` to its `to` with plain SFTP rename (which refuses to replace an
    /// existing file); returns each refusal, nil where it was renamed.
    func rename(_ pairs: [(from: String, to: String)]) throws(SSHError) -> [String?] {
        try statusRefusals(try exchange(pairs.map { pair in
            SFTPRequest(.rename) { p in
                p.string(pair.from)
                p.string(pair.to)
            }
        }, "RENAME"), "RENAME")
    }

    /// REMOVEs each path; returns each refusal.
    func remove(_ paths: [String]) throws(SSHError) -> [String?] {
        try statusRefusals(try exchange(paths.map { path in SFTPRequest(.remove) { $0.string(path) } }, "REMOVE"), "REMOVE")
    }
}

/// A request the server refused: its words and the status's meaning.
struct SFTPRefusal: Error, Equatable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
