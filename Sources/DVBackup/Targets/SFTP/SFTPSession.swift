import Foundation
import Logging

/// One worker's connection to the SFTP server, re-established with backoff when it drops.
///
/// The session keeps the uploads it began, by identity, until they are settled or aborted:
/// `settle` finds its own uploads there rather than casting what it is handed.
final class SFTPTargetSession: TargetSession {
    let target: SFTPTarget
    private var sftp: SFTPClient?
    /// This connection's own SFTP channel (`SFTPExtensionChannel`: posix-rename, the
    /// pipelined requests of a batch), opened on first use; `extensionsRefused` once it
    /// could not be.
    private var extensions: SFTPExtensionChannel?
    private var extensionsRefused = false
    /// The uploads begun here and not yet settled or aborted.
    private var uploads: [ObjectIdentifier: SFTPUpload] = [:]

    init(target: SFTPTarget) { self.target = target }

    /// Both proofs take a batch at once: one remote command, or pipelined read-backs.
    var settleBatchSize: Int { SFTPTarget.batchSize }
    /// libssh2 cuts each write into pipelined 30,000-byte SFTP requests: 4 MiB keeps about
    /// 140 in flight (the anchor measurements: 32 KiB 117 MB/s, 2 MiB 347 MB/s).
    var preferredChunkSize: Int { 4 << 20 }

    // MARK: connection

    /// The SFTP client of a connection that is up; nil rather than reconnecting.
    var openClient: SFTPClient? { sftp }
    /// dvbackup's own SFTP channel on a connection that is up; nil rather than reconnecting.
    var openChannel: SFTPExtensionChannel? { extensions }

    /// The SFTP client, connecting (again) as `target.reconnect` allows. A stop requested
    /// while waiting to reconnect ends the attempts at once; the file then fails for good
    /// (not a lost connection, so it is not tried again).
    func client() throws(FileFailure) -> SFTPClient {
        if let sftp { return sftp }
        let display = target.connection.display
        var lastError = ""
        var attempt = 1
        while let delay = target.reconnect.delay(before: attempt) {
            if attempt > 1 {
                target.logger.warning("reconnecting to \(display) in \(formatDecimal(delay, places: 0)) s (attempt \(attempt)): \(lastError)")
                guard target.reconnect.wait(delay, stopped: target.stopRequested) else {
                    throw FileFailure(.failWrite, "the run was stopped while waiting to reconnect to \(display): \(lastError)", connectionLost: false)
                }
            }
            do {
                let session = try SSHSession(target.connection)
                let client = try SFTPClient(session: session)
                sftp = client
                if attempt > 1 { target.logger.info("reconnected to \(display)") }
                return client
            } catch let e as HostKeyRejected {
                throw FileFailure(.failWrite, e.message)
            } catch let e as SSHError where !e.connectionLost {
                throw FileFailure(.failWrite, e.message)
            } catch {
                lastError = "\(error)"
            }
            attempt += 1
        }
        throw FileFailure(.failWrite, "cannot reach \(display) after \(target.reconnect.attempts) attempts: \(lastError)")
    }

    /// Turns an SSH error into the file's failure; a lost connection is dropped, to be
    /// re-established for the next file.
    func failure(_ status: BackupStatus, _ error: SSHError) -> FileFailure {
        if error.connectionLost {
            extensions = nil
            extensionsRefused = false
            sftp = nil
        }
        return FileFailure(status, error)
    }

    func remoteSession() throws(FileFailure) -> SSHSession {
        let client = try client()
        return client.session
    }

    /// This connection's own SFTP channel, or nil where it cannot be opened (the batch's
    /// requests then go through libssh2, one at a time).
    func pipelineChannel() throws(FileFailure) -> SFTPExtensionChannel? {
        let session = try remoteSession()
        if extensions == nil, !extensionsRefused {
            extensions = try? SFTPExtensionChannel(session: session)
            extensionsRefused = extensions == nil
        }
        return extensions
    }

    /// The posix-rename channel of this connection, or nil where the target does not publish
    /// with posix-rename (or the channel cannot be opened on this connection).
    func posixRenameChannel() throws(FileFailure) -> SFTPExtensionChannel? {
        guard target.publishesByPosixRename else { return nil }
        return try pipelineChannel()
    }

    // MARK: uploads

    /// A copy the catalog says is small (`smallCopyLimit`) is kept in memory and written with
    /// its batch; any other is opened on the server at once and written as it is sent.
    func beginUpload(_ description: UploadDescription) throws(FileFailure) -> any TargetUpload {
        let path = try PartialCopyPath(root: target.root, relativePath: description.relativePath, datafileId: description.datafileId)
        guard let size = description.expectedSize, size <= Self.smallCopyLimit else {
            return try begin(path)
        }
        return keep(SFTPUpload(session: self, file: nil, path: path, root: target.root))
    }

    func beginUpload(relativePath: String) throws(FileFailure) -> any TargetUpload {
        try begin(PartialCopyPath(root: target.root, relativePath: relativePath))
    }

    /// Opens the copy on the server at once; a temporary of the form earlier versions used is
    /// removed (the crash-cleanup rule).
    private func begin(_ path: PartialCopyPath) throws(FileFailure) -> any TargetUpload {
        let file = try openOnServer(path.temporaryPath, directories: SFTPUpload.directories(of: path, root: target.root))
        if let legacy = path.legacyTemporaryPath, let sftp = openClient { try? sftp.remove(legacy) }
        return keep(SFTPUpload(session: self, file: file, path: path, root: target.root))
    }

    private func keep(_ upload: SFTPUpload) -> SFTPUpload {
        uploads[ObjectIdentifier(upload)] = upload
        return upload
    }

    /// Creates the directories a copy needs (each once per run) and opens the copy for
    /// writing, with libssh2's requests, one round trip each.
    func openOnServer(_ temporaryPath: String, directories: [String]) throws(FileFailure) -> SFTPFile {
        let sftp = try client()
        do throws(SSHError) {
            for directory in directories where !target.directories.contains(directory) {
                try sftp.makeDirectory(directory)
                target.directories.insert(directory)
            }
            return try sftp.openForWriting(temporaryPath)
        } catch {
            let failed = failure(.failWrite, error)
            throw diagnoseName(failed, finalPath: temporaryPath, temporaryPath: temporaryPath) ?? failed
        }
    }

    /// The upload is settled or aborted: the session lets go of it.
    func release(_ upload: SFTPUpload) { uploads[ObjectIdentifier(upload)] = nil }

    // MARK: settling

    /// Writes the batch's copies (those kept in memory with pipelined requests, see
    /// SFTPBatch.swift), proves them, publishes the proven ones, and removes the temporary
    /// copies of those that failed. Each copy's failure is its own; a lost connection fails
    /// the copies not yet published, to be tried again.
    func settle(_ copies: [WrittenCopy]) -> [Result<String, FileFailure>] {
        let tripsBefore = (extensions, extensions?.roundTrips ?? 0)
        var results: [Result<String, FileFailure>?] = Array(repeating: nil, count: copies.count)
        var entries: [(index: Int, upload: SFTPUpload)] = []
        for (i, copy) in copies.enumerated() {
            guard let upload = uploads[ObjectIdentifier(copy.upload)] else {
                results[i] = .failure(FileFailure(.failWrite, "\(copy.upload.location) was not begun on this SFTP connection"))
                continue
            }
            release(upload)
            entries.append((i, upload))
        }
        // 1. Write the copies kept in memory, all at once, and close the others. Where
        // commands are allowed, the server flushes the copies to its disk while it hashes
        // them (step 2); otherwise each is flushed over SFTP now.
        let flushNow = target.proof == .readBack
        let kept = entries.filter { $0.upload.buffer != nil }
        var written: [(index: Int, upload: SFTPUpload)] = []
        for (item, outcome) in zip(kept, writeKept(kept.map(\.upload), sync: flushNow)) {
            if case .failure(let e) = outcome { results[item.index] = .failure(e) } else { written.append(item) }
        }
        let keptIndices = Set(kept.map(\.index))
        for item in entries where !keptIndices.contains(item.index) {
            do throws(FileFailure) {
                try item.upload.finishWriting(sync: flushNow)
                written.append(item)
            } catch {
                results[item.index] = .failure(error)
            }
        }
        // 2. Prove the copies that were written.
        let proofs = prove(written.map { ($0.upload, copies[$0.index].algorithm, copies[$0.index].expectedHex) })
        var proven: [(index: Int, upload: SFTPUpload)] = []
        for (item, proof) in zip(written, proofs) {
            results[item.index] = proof
            if case .success = proof { proven.append(item) }
        }
        // 3. Publish the proven ones.
        for (item, published) in zip(proven, publish(proven.map(\.upload))) {
            if case .failure(let e) = published { results[item.index] = .failure(e) }
        }
        let outcomes = results.map { $0 ?? .failure(FileFailure(.failVerify, "the copy was neither proven nor refused")) }
        // 4. Remove what the failed copies left on the server.
        removeLeftovers(entries.filter { (try? outcomes[$0.index].get()) == nil }.map(\.upload))
        let trips = (extensions?.roundTrips ?? 0) - (tripsBefore.0 === extensions ? tripsBefore.1 : 0)
        target.logger.debug("settled \(copies.count) cop\(copies.count == 1 ? "y" : "ies") (\(kept.count) written from memory) in \(trips) round trips on dvbackup's SFTP channel")
        return outcomes
    }
}
