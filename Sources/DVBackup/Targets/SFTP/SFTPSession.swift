import Foundation
import Logging

/// One worker's connection to the SFTP server, re-established with backoff when it drops.
///
/// The session keeps the uploads it began, by identity, until they are settled or aborted:
/// `settle` finds its own uploads there rather than casting what it is handed.
final class SFTPTargetSession: TargetSession {
    let target: SFTPTarget
    private var sftp: SFTPClient?
    /// This connection's channel for posix-rename, opened on first use.
    private var extensions: SFTPExtensionChannel?
    /// The uploads begun here and not yet settled or aborted.
    private var uploads: [ObjectIdentifier: SFTPUpload] = [:]

    init(target: SFTPTarget) { self.target = target }

    var settleBatchSize: Int { target.proof == .remoteCommand ? SFTPTarget.batchSize : 1 }
    /// libssh2 cuts each write into pipelined 30,000-byte SFTP requests: 4 MiB keeps about
    /// 140 in flight (the anchor measurements: 32 KiB 117 MB/s, 2 MiB 347 MB/s).
    var preferredChunkSize: Int { 4 << 20 }

    // MARK: connection

    /// The SFTP client of a connection that is up; nil rather than reconnecting.
    var openClient: SFTPClient? { sftp }

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
            sftp = nil
        }
        return FileFailure(status, error)
    }

    func remoteSession() throws(FileFailure) -> SSHSession {
        let client = try client()
        return client.session
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
        try begin(PartialCopyPath(root: target.root, relativePath: relativePath))
    }

    func beginUpload(_ description: UploadDescription) throws(FileFailure) -> any TargetUpload {
        try begin(PartialCopyPath(root: target.root, relativePath: description.relativePath, datafileId: description.datafileId))
    }

    private func begin(_ path: PartialCopyPath) throws(FileFailure) -> any TargetUpload {
        let sftp = try client()
        do throws(SSHError) {
            var directory = target.root
            for component in path.directoriesBelowRoot {
                directory += "/" + component
                if target.directories.contains(directory) { continue }
                try sftp.makeDirectory(directory)
                target.directories.insert(directory)
            }
            let file = try sftp.openForWriting(path.temporaryPath)
            let upload = SFTPUpload(session: self, file: file, finalPath: path.finalPath, temporaryPath: path.temporaryPath)
            uploads[ObjectIdentifier(upload)] = upload
            removeLegacyTemporary(path, sftp)
            return upload
        } catch {
            throw diagnoseName(failure(.failWrite, error), path)
        }
    }

    /// The upload is settled or aborted: the session lets go of it.
    func release(_ upload: SFTPUpload) { uploads[ObjectIdentifier(upload)] = nil }

    // MARK: settling

    func settle(_ copies: [WrittenCopy]) -> [Result<String, FileFailure>] {
        var results: [Result<String, FileFailure>?] = Array(repeating: nil, count: copies.count)
        // 1. Close every copy. Where commands are allowed, the server flushes the copies to
        // its disk while it hashes them (step 2); otherwise each is flushed over SFTP now.
        let flushNow = target.proof == .readBack
        var written: [(index: Int, upload: SFTPUpload)] = []
        for (i, copy) in copies.enumerated() {
            guard let upload = uploads[ObjectIdentifier(copy.upload)] else {
                results[i] = .failure(FileFailure(.failWrite, "\(copy.upload.location) was not begun on this SFTP connection"))
                continue
            }
            release(upload)
            do throws(FileFailure) {
                try upload.finishWriting(sync: flushNow)
                written.append((i, upload))
            } catch {
                results[i] = .failure(error)
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
        return results.map { $0 ?? .failure(FileFailure(.failVerify, "the copy was neither proven nor refused")) }
    }
}
