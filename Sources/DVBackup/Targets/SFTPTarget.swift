import Foundation
import Logging
import Synchronization

/// Paths known to exist on the target, shared by all sessions of a run, so that each
/// directory is checked or created once per run rather than once per file.
final class DirectoryCache: Sendable {
    private let known = Mutex<Set<String>>([])
    func contains(_ path: String) -> Bool { known.withLock { $0.contains(path) } }
    func insert(_ path: String) { _ = known.withLock { $0.insert(path) } }
}

/// How copies are proven on an SFTP server.
public enum SFTPProof: String, Sendable {
    /// The server hashes the copy (md5sum, sha1sum, sha256sum, sha512sum over an exec channel).
    case remoteCommand = "the server's checksum command"
    /// The account allows no commands (a chrooted internal-sftp account, a NAS): the copy is
    /// read back over SFTP and hashed here.
    case readBack = "reading the copy back over SFTP"
}

/// A backup directory on an SFTP server (StorageType `ssh`), through libssh2.
///
/// Layout as the original script wrote it: `<BackupDirectory>/<authority>/<identifier>/<name>`.
/// Each copy is written to `.<name>.dvbackup-partial` beside its final name, flushed
/// (fsync@openssh.com), proven, and only then renamed over the final name.
public final class SFTPTarget: BackupTarget, Sendable {
    public let connection: SSHConnectionConfig
    public let root: String
    let logger: Logger
    let directories = DirectoryCache()
    private let proofMode = Mutex<SFTPProof?>(nil)
    private let posixRenameAllowed = Mutex(false)
    /// Reconnection delays after a lost connection, in seconds.
    let reconnectDelays: [Double]
    /// Copies proven together in one remote command.
    static let batchSize = 64

    public init(connection: SSHConnectionConfig, root: String, logger: Logger, hashDuringUpload: Bool? = nil,
                reconnectDelays: [Double] = [1, 2, 4, 8, 16]) {
        self.connection = connection
        self.hashDuringUpload = hashDuringUpload
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.logger = logger
        self.reconnectDelays = reconnectDelays
    }

    /// Whether the server hashes large copies while they are written, in parallel with the
    /// upload, rather than after it (SshHashDuringUpload, default yes). On a loopback server
    /// the two share the same cores and it still pays (measured on 2 cores: 2 GiB in 10.1-10.9 s
    /// instead of 11.0-11.9 s), because the hash and the flush no longer wait for the last byte.
    var hashWhileWriting: Bool { hashDuringUpload ?? true }
    let hashDuringUpload: Bool?


    public var method: String { "ssh" }
    public var displayName: String { "sftp://\(connection.user)@\(connection.host):\(connection.port)\(root)" }
    public var proof: SFTPProof { proofMode.withLock { $0 } ?? .readBack }
    /// Whether copies are published with posix-rename@openssh.com: the server offered it and
    /// allowed it on a scratch file (checkUsable).
    var publishesByPosixRename: Bool { posixRenameAllowed.withLock { $0 } }

    public func checkUsable() throws(TargetUnavailable) {
        do {
            let session = try SSHSession(connection)
            let sftp = try SFTPClient(session: session)
            guard let attrs = try sftp.stat(root) else {
                throw TargetUnavailable("the backup directory \(root) does not exist on \(connection.display) (dvbackup does not create it)")
            }
            guard attrs.isDirectory else {
                throw TargetUnavailable("the backup directory \(root) on \(connection.display) is not a directory")
            }
            let probe = root + "/.dvbackup-probe-\(getpid())"
            do {
                let f = try sftp.openForWriting(probe)
                try f.close()
            } catch {
                throw TargetUnavailable("the backup directory \(root) on \(connection.display) is not writable: \(error)")
            }
            // Which rename publishes the copies: posix-rename, where the server both offers
            // it and allows it (a server may announce it and refuse it by policy).
            var rename = "published by SFTP rename (the server offers no posix-rename@openssh.com)"
            var leftOver = probe
            var allowed = false
            if let channel = try? SFTPExtensionChannel(session: session), channel.offersPosixRename {
                let renamed = probe + ".renamed"
                switch try? channel.posixRename([(probe, renamed)]).first {
                case .some(.none):
                    leftOver = renamed
                    allowed = true
                    rename = "published by posix-rename@openssh.com (an atomic replace)"
                case .some(.some(let refusal)):
                    rename = "published by SFTP rename (the server refuses posix-rename@openssh.com: \(refusal))"
                case .none:
                    break
                }
            }
            try? sftp.remove(leftOver)
            posixRenameAllowed.withLock { $0 = allowed }
            let mode = Self.detectProof(session)
            proofMode.withLock { $0 = mode }
            logger.info("connected to \(connection.display) (host key \(session.hostKey.typeName) \(session.hostKey.fingerprint), \(session.cipher) with \(session.mac)); copies are proven by \(mode.rawValue) and \(rename)")
            logger.debug("libssh2 \(LibSSH2.version), linked statically; AES-CTR keystream drawn in 8 KiB batches: \(LibSSH2.batchedCipherBytes) bytes so far")
        } catch let e as TargetUnavailable {
            throw e
        } catch let e as HostKeyRejected {
            throw TargetUnavailable(e.message)
        } catch {
            throw TargetUnavailable("cannot use \(displayName): \(error)")
        }
    }

    /// Whether the account may run commands: a chrooted `ForceCommand internal-sftp`
    /// account answers an exec request with the SFTP server, not with our echo.
    static func detectProof(_ session: SSHSession) -> SFTPProof {
        guard let r = try? session.run("echo dvbackup-exec-probe"), r.status == 0,
              r.stdout == "dvbackup-exec-probe\n" else { return .readBack }
        return .remoteCommand
    }

    public func makeSession() throws(TargetUnavailable) -> any TargetSession {
        SFTPTargetSession(target: self)
    }
}

/// One worker's connection to the SFTP server, re-established with backoff when it drops.
final class SFTPTargetSession: TargetSession {
    let target: SFTPTarget
    private var ssh: SSHSession?
    private var sftp: SFTPClient?
    /// This connection's channel for posix-rename, opened on first use.
    private var extensions: SFTPExtensionChannel?

    init(target: SFTPTarget) { self.target = target }

    var settleBatchSize: Int { target.proof == .remoteCommand ? SFTPTarget.batchSize : 1 }
    /// libssh2 cuts each write into pipelined 30,000-byte SFTP requests: 4 MiB keeps about
    /// 140 in flight (the anchor measurements: 32 KiB 117 MB/s, 2 MiB 347 MB/s).
    var preferredChunkSize: Int { 4 << 20 }

    // MARK: connection

    /// The SFTP client of a connection that is up; nil rather than reconnecting.
    var openClient: SFTPClient? { sftp }

    func client() throws(FileFailure) -> SFTPClient {
        if let sftp { return sftp }
        var lastError = ""
        for (attempt, delay) in ([0] + target.reconnectDelays).enumerated() {
            if delay > 0 {
                target.logger.warning("reconnecting to \(target.connection.display) in \(formatDecimal(delay, places: 0)) s (attempt \(attempt + 1)): \(lastError)")
                usleep(UInt32(delay * 1_000_000))
            }
            do {
                let session = try SSHSession(target.connection)
                let client = try SFTPClient(session: session)
                ssh = session
                sftp = client
                if attempt > 0 { target.logger.info("reconnected to \(target.connection.display)") }
                return client
            } catch let e as HostKeyRejected {
                throw FileFailure(.failWrite, e.message)
            } catch let e as SSHError where !e.connectionLost {
                throw FileFailure(.failWrite, e.message)
            } catch {
                lastError = "\(error)"
            }
        }
        throw FileFailure(.failWrite, "cannot reach \(target.connection.display) after \(target.reconnectDelays.count + 1) attempts: \(lastError)")
    }

    /// Turns an SSH error into the file's failure; a lost connection is dropped, to be
    /// re-established for the next file.
    func failure(_ status: BackupStatus, _ error: SSHError) -> FileFailure {
        if error.connectionLost {
            extensions = nil
            sftp = nil
            ssh = nil
        }
        return FileFailure(status, error)
    }

    func remoteSession() throws(FileFailure) -> SSHSession {
        _ = try client()
        return ssh!
    }

    /// The posix-rename channel of this connection, or nil where the target does not publish
    /// with posix-rename (or the channel cannot be opened on this connection).
    func posixRenameChannel() throws(FileFailure) -> SFTPExtensionChannel? {
        guard target.publishesByPosixRename else { return nil }
        let session = try remoteSession()
        if extensions == nil { extensions = try? SFTPExtensionChannel(session: session) }
        return extensions
    }

    // MARK: uploads

    func beginUpload(relativePath: String) throws(FileFailure) -> any TargetUpload {
        if let problem = PathSafety.problem(in: relativePath, what: "target path") {
            throw FileFailure(.failWrite, problem)
        }
        let sftp = try client()
        let finalPath = target.root + "/" + relativePath
        let slash = finalPath.lastIndex(of: "/")!
        let directory = String(finalPath[..<slash])
        let name = String(finalPath[finalPath.index(after: slash)...])
        do throws(SSHError) {
            var path = target.root
            for component in directory.dropFirst(target.root.count + 1).split(separator: "/") {
                path += "/" + component
                if target.directories.contains(path) { continue }
                try sftp.makeDirectory(path)
                target.directories.insert(path)
            }
            let temporary = directory + "/." + name + ".dvbackup-partial"
            let file = try sftp.openForWriting(temporary)
            return SFTPUpload(session: self, file: file, finalPath: finalPath, temporaryPath: temporary)
        } catch {
            throw failure(.failWrite, error)
        }
    }

    // MARK: proof and publication

    func settle(_ copies: [WrittenCopy]) -> [Result<String, FileFailure>] {
        let uploads = copies.map { $0.upload as! SFTPUpload }
        // 1. Close every copy. Where commands are allowed, the server flushes the copies to
        // its disk while it hashes them (step 2); otherwise each is flushed over SFTP now.
        let flushNow = target.proof == .readBack
        var results: [Result<String, FileFailure>?] = uploads.map { upload in
            do throws(FileFailure) {
                try upload.finishWriting(sync: flushNow)
                return nil
            } catch {
                return .failure(error)
            }
        }
        // 2. Prove the copies that were written.
        let written = results.indices.filter { results[$0] == nil }
        let proofs = prove(written.map { (uploads[$0], copies[$0].algorithm, copies[$0].expectedHex) })
        for (i, proof) in zip(written, proofs) { results[i] = proof }
        // 3. Publish the proven ones.
        let proven = results.indices.filter {
            if case .success = results[$0]! { return true }
            return false
        }
        let published = publish(proven.map { uploads[$0] })
        for (i, p) in zip(proven, published) {
            if case .failure(let e) = p { results[i] = .failure(e) }
        }
        return results.map { $0! }
    }

    /// Hashes the copies on the server, one command per algorithm for the whole batch, or
    /// reads them back where the account allows no commands.
    func prove(_ items: [(upload: SFTPUpload, algorithm: ChecksumAlgorithm, expected: String)]) -> [Result<String, FileFailure>] {
        guard !items.isEmpty else { return [] }
        if target.proof == .readBack {
            return items.map { readBack($0.upload, $0.algorithm, $0.expected) }
        }
        // Copies the server already hashed while they were written need only the flush.
        let hashHere = items.indices.filter { items[$0].upload.streamedDigest == nil }
        // One exec for the batch: the script goes to `sh -s` on standard input, so any
        // login shell runs it and only POSIX sh quoting matters. `sync FILE…` (coreutils
        // 8.24 and later) flushes the copies to disk in parallel with the hashing; where it
        // fails, they are flushed over SFTP afterwards.
        let quoted = items.map { shellQuote($0.upload.temporaryPath) }.joined(separator: " ")
        var script = "( sync -- \(quoted) || echo dvbackup-sync-failed ) &\n"
        let groups = Dictionary(grouping: hashHere, by: { items[$0].algorithm })
        for (algorithm, indices) in groups.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where !indices.isEmpty {
            script += algorithm.coreutilsCommand + " --"
            for i in indices { script += " " + shellQuote(items[i].upload.temporaryPath) }
            script += "\n"
        }
        script += "wait\n"
        let output: (stdout: String, stderr: String, status: Int32)
        do throws(FileFailure) {
            let started = MonotonicClock.now()
            output = try runRemote(script)
            target.logger.debug("the server hashed and flushed \(items.count) cop\(items.count == 1 ? "y" : "ies") in \(formatDecimal(MonotonicClock.now() - started, places: 2)) s")
            if output.stdout.contains("dvbackup-sync-failed") {
                let sftp = try client()
                for item in items {
                    do throws(SSHError) {
                        _ = try sftp.syncFile(item.upload.temporaryPath)
                    } catch {
                        throw failure(.failWrite, error)
                    }
                }
            }
        } catch {
            return items.map { _ in .failure(error) }
        }
        let digests = RemoteChecksumOutput.parse(output.stdout)
        let complaint = output.stderr.trimmingWhitespace()
        return items.map { item in
            let command = item.algorithm.coreutilsCommand
            if let streamed = item.upload.streamedDigest {
                switch streamed {
                case .failure(let e):
                    return .failure(e)
                case .success(let remote) where remote != item.expected:
                    return .failure(FileFailure(.failVerify, "the server's \(command) printed \(remote) for the copy \(item.upload.temporaryPath) as it was written, the bytes sent had \(item.expected); the copy was not published"))
                case .success:
                    return .success("proven on the server by \(command), which hashed the copy as it was written")
                }
            }
            guard let remote = digests[item.upload.temporaryPath] else {
                let why = complaint.isEmpty ? "" : ": \(complaint)"
                return .failure(FileFailure(.failVerify, "the server's \(command) gave no checksum for \(item.upload.temporaryPath)\(why)"))
            }
            guard remote == item.expected else {
                return .failure(FileFailure(.failVerify, "the server's \(command) printed \(remote) for the copy \(item.upload.temporaryPath), the bytes sent had \(item.expected); the copy was not published"))
            }
            return .success("proven on the server by \(command)")
        }
    }

    func runRemote(_ script: String) throws(FileFailure) -> (stdout: String, stderr: String, status: Int32) {
        let session = try remoteSession()
        do throws(SSHError) {
            return try session.run("sh -s", input: script)
        } catch {
            throw failure(.failVerify, error)
        }
    }

    func readBack(_ upload: SFTPUpload, _ algorithm: ChecksumAlgorithm, _ expected: String) -> Result<String, FileFailure> {
        do throws(FileFailure) {
            let sftp = try client()
            do throws(SSHError) {
                let file = try sftp.openForReading(upload.temporaryPath)
                let digest = Digest(algorithm)
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
                defer { buffer.deallocate() }
                while true {
                    let n = try file.read(into: buffer)
                    if n == 0 { break }
                    digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                }
                try file.close()
                let actual = digest.finalizeHex()
                guard actual == expected else {
                    return .failure(FileFailure(.failVerify, "the copy \(upload.temporaryPath) read back has \(algorithm.rawValue) \(actual), the bytes sent had \(expected); the copy was not published"))
                }
                return .success("read back over SFTP, \(algorithm.rawValue) matches")
            } catch {
                throw failure(.failVerify, error)
            }
        } catch {
            return .failure(error)
        }
    }

    /// Renames proven copies over their final names: with posix-rename@openssh.com where
    /// the server offers it (rename(2) on the server: atomic, replacing an older copy; the
    /// whole batch in one round trip). Otherwise with SFTP rename, which refuses to replace
    /// an existing file, so a copy that replaces an older one is moved with `mv -f` (an
    /// atomic rename(2)) where commands are allowed, or after removing the old copy.
    func publish(_ uploads: [SFTPUpload]) -> [Result<Void, FileFailure>] {
        guard !uploads.isEmpty else { return [] }
        do throws(FileFailure) {
            if let channel = try posixRenameChannel() {
                let refusals: [String?]
                do throws(SSHError) {
                    refusals = try channel.posixRename(uploads.map { ($0.temporaryPath, $0.finalPath) })
                } catch {
                    throw failure(.failWrite, error)
                }
                return zip(uploads, refusals).map { upload, refusal in
                    if let refusal {
                        return .failure(FileFailure(.failWrite, "cannot rename \(upload.temporaryPath) over \(upload.finalPath): \(refusal)"))
                    }
                    upload.published = true
                    return .success(())
                }
            }
        } catch {
            return uploads.map { _ in .failure(error) }
        }
        return publishWithoutPosixRename(uploads)
    }

    func publishWithoutPosixRename(_ uploads: [SFTPUpload]) -> [Result<Void, FileFailure>] {
        var results: [Result<Void, FileFailure>?] = Array(repeating: nil, count: uploads.count)
        var replace: [Int] = []
        for (i, upload) in uploads.enumerated() {
            do throws(FileFailure) {
                let sftp = try client()
                do throws(SSHError) {
                    try sftp.rename(upload.temporaryPath, to: upload.finalPath)
                    upload.published = true
                    results[i] = .success(())
                } catch {
                    if error.connectionLost { throw failure(.failWrite, error) }
                    if (try? sftp.stat(upload.finalPath)) != nil {
                        replace.append(i)
                    } else {
                        throw failure(.failWrite, error)
                    }
                }
            } catch {
                results[i] = .failure(error)
            }
        }
        if !replace.isEmpty { replaceExisting(replace, uploads, &results) }
        return results.map { $0! }
    }

    private func replaceExisting(_ replace: [Int], _ uploads: [SFTPUpload], _ results: inout [Result<Void, FileFailure>?]) {
        if target.proof == .remoteCommand {
            var script = ""
            for i in replace {
                script += "mv -f -- \(shellQuote(uploads[i].temporaryPath)) \(shellQuote(uploads[i].finalPath)) || echo \"failed \(i)\"\n"
            }
            do throws(FileFailure) {
                let r = try runRemote(script)
                for i in replace {
                    if r.stdout.contains("failed \(i)\n") {
                        results[i] = .failure(FileFailure(.failWrite, "cannot replace \(uploads[i].finalPath): \(r.stderr.trimmingWhitespace())"))
                    } else {
                        uploads[i].published = true
                        results[i] = .success(())
                    }
                }
            } catch {
                for i in replace { results[i] = .failure(error) }
            }
            return
        }
        for i in replace {
            do throws(FileFailure) {
                let sftp = try client()
                do throws(SSHError) {
                    try sftp.remove(uploads[i].finalPath)
                    try sftp.rename(uploads[i].temporaryPath, to: uploads[i].finalPath)
                    uploads[i].published = true
                    results[i] = .success(())
                } catch {
                    throw failure(.failWrite, error)
                }
            } catch {
                results[i] = .failure(error)
            }
        }
    }
}

/// A copy being written to the SFTP server.
final class SFTPUpload: TargetUpload {
    unowned let session: SFTPTargetSession
    private var file: SFTPFile?
    let finalPath: String
    let temporaryPath: String
    var published = false

    init(session: SFTPTargetSession, file: SFTPFile, finalPath: String, temporaryPath: String) {
        self.session = session
        self.file = file
        self.finalPath = finalPath
        self.temporaryPath = temporaryPath
    }

    var location: String { finalPath }

    func write(_ chunk: UnsafeRawBufferPointer) throws(FileFailure) {
        guard let file else { throw FileFailure(.failWrite, "\(temporaryPath) is closed") }
        do throws(SSHError) {
            try file.write(chunk)
        } catch {
            throw session.failure(.failWrite, error)
        }
    }

    /// Closes the copy, first flushing it to the server's disk (where the server offers
    /// fsync@openssh.com) when `sync` is set.
    func finishWriting(sync: Bool = true) throws(FileFailure) {
        guard let file else { return }
        self.file = nil
        do throws(SSHError) {
            if sync { try file.sync() }
            try file.close()
        } catch {
            throw session.failure(.failWrite, error)
        }
    }

    func verify(algorithm: ChecksumAlgorithm, expectedHex: String) throws(FileFailure) -> String {
        try finishWriting(sync: session.target.proof == .readBack)
        return try session.prove([(self, algorithm, expectedHex)])[0].get()
    }

    func publish() throws(FileFailure) {
        try session.publish([self])[0].get()
    }

    /// The server's digest of the copy, computed while the lanes wrote it.
    private var stream: RemoteHashStream?
    var streamedDigest: Result<String, FileFailure>?

    /// Extra SSH sessions, each with its own handle on the temporary file, opened at the
    /// same time. A lane that cannot be opened is left out; with none, the copy is written
    /// through `write`. Where the account may run commands, one more session hashes the copy
    /// on the server while it is written.
    func openLanes(_ count: Int, algorithm: ChecksumAlgorithm, blockSize: Int, expectedBytes: Int64) -> [any UploadLane] {
        lanesStarted = MonotonicClock.now()
        let connection = session.target.connection
        let path = temporaryPath
        let opened = Mutex<[Int: SendableBox<any UploadLane>]>([:])
        let openers = (0..<count).map { i in
            WorkerThread(name: "dvbackup-lane-open-\(i)") {
                guard let lane = Self.openLane(connection, path) else { return }
                opened.withLock { $0[i] = SendableBox(lane) }
            }
        }
        for t in openers { t.join() }
        let lanes = opened.withLock { o in o.keys.sorted().map { o[$0]!.value } }
        laneCount = lanes.count
        laneRequests = (lanes.first as? SFTPDirectLane).map { "WRITE requests of \($0.piece >> 10) KiB" } ?? "libssh2's WRITE requests"
        if !lanes.isEmpty, session.target.proof == .remoteCommand, session.target.hashWhileWriting {
            stream = RemoteHashStream(connection: connection, path: path,
                                      algorithm: algorithm, blockSize: blockSize, expectedBytes: expectedBytes)
        }
        return lanes
    }

    /// One lane on a new session: dvbackup's own large WRITE requests where the server says
    /// how large they may be, else libssh2's.
    private static func openLane(_ connection: SSHConnectionConfig, _ path: String) -> (any UploadLane)? {
        guard let ssh = try? SSHSession(connection) else { return nil }
        if let lane = SFTPDirectLane(session: ssh, path: path) { return lane }
        guard let sftp = try? SFTPClient(session: ssh),
              let file = try? sftp.openForWriting(path, truncate: false) else { return nil }
        return SFTPLane(file: file, sftp: sftp)
    }

    func writtenPrefix(blocks: UInt64) { stream?.written(blocks: blocks) }

    private var lanesStarted = 0.0
    private var laneCount = 0
    private var laneRequests = ""

    func lanesFinished() {
        session.target.logger.debug("\(temporaryPath) written through \(laneCount) connections (\(laneRequests)) in \(formatDecimal(MonotonicClock.now() - lanesStarted, places: 2)) s (AES-CTR keystream batched for \(LibSSH2.batchedCipherBytes) bytes so far)")
        guard let stream else { return }
        streamedDigest = stream.finish()
        self.stream = nil
    }

    /// A server refusing a write most often has a full disk, and OpenSSH says only
    /// "Failure" then: after a refusal that could mean that (SFTP status failure, no space,
    /// quota), the file system holding the copy is asked how much room is left
    /// (statvfs@openssh.com, on the connection already open) while the partial copy still
    /// takes its space.
    func diagnose(_ failure: FileFailure) -> FileFailure {
        guard failure.status == .failWrite, !failure.connectionLost,
              Self.refusalsForRoom.contains(where: { failure.reason.contains($0) }),
              let sftp = session.openClient,
              let fs = try? sftp.fileSystem((temporaryPath as NSString).deletingLastPathComponent) else { return failure }
        let full: String
        if fs.availableBytes < Self.nearlyFull {
            full = "its file system is full: \(formatBytes(Int64(clamping: fs.availableBytes))) free of \(formatBytes(Int64(clamping: fs.totalBytes)))"
        } else if fs.totalInodes > 0, fs.availableInodes == 0 {  // 0 of 0: not counted (btrfs, many network file systems)
            full = "its file system has no free inodes left"
        } else {
            return failure
        }
        return FileFailure(.failWrite, "\(failure.reason); \(full) on the server", connectionLost: false)
    }

    /// How the SFTP statuses failure, no space and quota exceeded read in dvbackup's errors.
    static let refusalsForRoom = [4, 14, 15].map { SFTPClient.statusText(UInt($0)) }

    /// Free space below this, after a refused write, is reported as a full disk.
    static let nearlyFull: UInt64 = 16 << 20

    func abort() {
        file = nil
        if let stream { _ = stream.finish() }
        stream = nil
        guard !published else { return }
        // Best effort: a copy left behind is overwritten when the file is copied again.
        if let sftp = try? session.client() {
            try? sftp.remove(temporaryPath)
        }
    }
}

/// Hashes a large copy on the server while it is written: a script on its own session
/// reads each block once the client reports it completely written (all lanes' writes up to
/// it acknowledged) and pipes the blocks, in order, into one md5sum/sha*sum. After each
/// stretch it starts flushing the copy to disk in the background (`sync -d`, one at a time),
/// so that the final flush before the rename finds little left to write. Progress goes in
/// stretches of 64 MiB, and of 8 MiB over the copy's last 64 MiB, so that little is left to
/// hash once the last byte is written.
///
/// `@unchecked Sendable`: `result` is written by the stream's thread before it signals
/// `finished` and read only after waiting for it.
final class RemoteHashStream: @unchecked Sendable {
    private let progress = BlockingQueue<UInt64>(capacity: 4096)
    private let finished = DispatchSemaphore(value: 0)
    private var result: Result<String, FileFailure> = .failure(FileFailure(.failVerify, "the server's hash was not received"))
    /// Progress goes to the server every `step` blocks (each message starts one `dd` there),
    /// every `finalStep` blocks from block `finalStretch` on.
    private let step: UInt64
    private let finalStep: UInt64
    private let finalStretch: UInt64
    /// (blocks reported by the lanes, blocks announced to the server)
    private let frontier = Mutex<(written: UInt64, announced: UInt64)>((0, 0))
    /// The server reads at least this much per `dd`.
    static let announceBytes = 64 << 20
    static let finalAnnounceBytes = 8 << 20

    init(connection: SSHConnectionConfig, path: String, algorithm: ChecksumAlgorithm, blockSize: Int, expectedBytes: Int64) {
        step = UInt64(max(1, Self.announceBytes / blockSize))
        finalStep = UInt64(max(1, Self.finalAnnounceBytes / blockSize))
        let blocks = UInt64(max(0, expectedBytes)) / UInt64(blockSize)
        finalStretch = blocks > step ? blocks - step : 0
        let progress = self.progress
        let script = """
            f=$1; d=0; s=
            { while read k; do
                if [ "$k" -gt "$d" ]; then
                  dd if="$f" bs=\(blockSize) skip=$d count=$((k - d)) 2>/dev/null || exit 1; d=$k
                  if [ -z "$s" ] || ! kill -0 "$s" 2>/dev/null; then sync -d -- "$f" >/dev/null 2>&1 & s=$!; fi
                fi
              done; } | \(algorithm.coreutilsCommand)
            """
        let command = "sh -c " + shellQuote(script) + " sh " + shellQuote(path)
        let box = self
        _ = WorkerThread(name: "dvbackup-remote-hash") {
            box.result = Self.run(connection, command, progress, algorithm)
            while progress.take() != nil {}
            box.finished.signal()
        }
    }

    private static func run(_ connection: SSHConnectionConfig, _ command: String, _ progress: BlockingQueue<UInt64>,
                            _ algorithm: ChecksumAlgorithm) -> Result<String, FileFailure> {
        do {
            let session = try SSHSession(connection)
            let channel = try session.startCommand(command)
            while let blocks = progress.take() {
                try channel.send("\(blocks)\n")
            }
            let output = try channel.finish()
            let hex = output.stdout.prefix { $0 != " " }.lowercased()
            guard output.status == 0, hex.count == algorithm.hexLength, hex.allSatisfy(\.isHexDigit) else {
                return .failure(FileFailure(.failVerify, "the server's \(algorithm.coreutilsCommand) gave no checksum while the copy was written: \(output.stderr.trimmingWhitespace())"))
            }
            return .success(hex)
        } catch let e as SSHError {
            return .failure(FileFailure(.failVerify, e))
        } catch {
            return .failure(FileFailure(.failVerify, "\(error)"))
        }
    }

    func written(blocks: UInt64) {
        let announce: UInt64? = frontier.withLock { f in
            f.written = max(f.written, blocks)
            guard f.written >= f.announced + (f.written >= finalStretch ? finalStep : step) else { return nil }
            f.announced = f.written
            return f.written
        }
        if let announce { progress.put(announce) }
    }

    /// Waits for the server's digest, once the whole copy has been announced.
    func finish() -> Result<String, FileFailure> {
        let last: UInt64? = frontier.withLock { f in
            guard f.written > f.announced else { return nil }
            f.announced = f.written
            return f.written
        }
        if let last { progress.put(last) }
        progress.close()
        finished.wait()
        return result
    }
}

/// One extra connection writing chunks of a large copy at their offsets, with WRITE
/// requests as large as the server accepts (sent by dvbackup on an SFTP channel of its own,
/// see `SFTPExtensionChannel`): far fewer requests, answers and copies than libssh2's
/// 30,000-byte requests, and page-aligned writes on the server.
final class SFTPDirectLane: UploadLane {
    private let channel: SFTPExtensionChannel
    private let handle: [UInt8]
    private let path: String
    /// The size of one WRITE request: a power of two, so that the requests of a chunk stay
    /// aligned to the server's pages.
    let piece: Int

    /// nil where the server does not announce how large a WRITE it accepts (limits@openssh.com)
    /// or accepts less than 64 KiB: libssh2's own writes (`SFTPLane`) are used there.
    init?(session: SSHSession, path: String) {
        guard let channel = try? SFTPExtensionChannel(session: session),
              let limit = try? channel.maxWriteLength(), limit >= 64 << 10,
              let handle = try? channel.openForWriting(path) else { return nil }
        var piece = 64 << 10
        while piece * 2 <= min(limit, 1 << 20) { piece *= 2 }
        self.channel = channel
        self.handle = handle
        self.path = path
        self.piece = piece
    }

    func write(_ chunk: UnsafeRawBufferPointer, at offset: UInt64) throws(FileFailure) {
        do throws(SSHError) {
            try channel.write(handle, chunk, at: offset, piece: piece, path: path)
        } catch {
            throw FileFailure(.failWrite, error)
        }
    }

    func close() throws(FileFailure) {
        do throws(SSHError) {
            try channel.close(handle, path: path)
        } catch {
            throw FileFailure(.failWrite, error)
        }
    }
}

/// One extra connection writing chunks of a large copy at their offsets.
final class SFTPLane: UploadLane {
    private let file: SFTPFile
    private let sftp: SFTPClient  // keeps the session alive

    init(file: SFTPFile, sftp: SFTPClient) {
        self.file = file
        self.sftp = sftp
    }

    func write(_ chunk: UnsafeRawBufferPointer, at offset: UInt64) throws(FileFailure) {
        file.seek(offset)
        do throws(SSHError) {
            try file.write(chunk)
        } catch {
            throw FileFailure(.failWrite, error)
        }
    }

    func close() throws(FileFailure) {
        do throws(SSHError) {
            try file.close()
        } catch {
            throw FileFailure(.failWrite, error)
        }
    }
}

/// Parses the output of `md5sum -- a b …` (and sha1sum, sha256sum, sha512sum): one line per
/// file, `<hex>  <name>`, or `\<hex>  <escaped name>` when the name holds a backslash or a
/// line end.
enum RemoteChecksumOutput {
    static func parse(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            var l = Substring(line)
            let escaped = l.hasPrefix("\\")
            if escaped { l = l.dropFirst() }
            guard let space = l.firstIndex(of: " ") else { continue }
            let hex = l[..<space].lowercased()
            guard [32, 40, 64, 128].contains(hex.count), hex.allSatisfy(\.isHexDigit) else { continue }
            var name = l[l.index(after: space)...]
            // "<hex>  name" (text mode) or "<hex> *name" (binary mode).
            if name.hasPrefix(" ") || name.hasPrefix("*") { name = name.dropFirst() }
            result[escaped ? unescape(String(name)) : String(name)] = hex
        }
        return result
    }

    static func unescape(_ s: String) -> String {
        var out = ""
        var it = s.makeIterator()
        while let c = it.next() {
            if c == "\\", let n = it.next() {
                out.append(n == "n" ? "\n" : n == "r" ? "\r" : n)
            } else {
                out.append(c)
            }
        }
        return out
    }
}
