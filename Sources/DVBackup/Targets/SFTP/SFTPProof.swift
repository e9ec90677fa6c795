import Foundation
import Logging

/// How copies are proven on an SFTP server.
public enum SFTPProof: String, Sendable {
    /// The server hashes the copy (md5sum, sha1sum, sha256sum, sha512sum over an exec channel).
    case remoteCommand = "the server's checksum command"
    /// The account allows no commands (a chrooted internal-sftp account, a NAS): the copy is
    /// read back over SFTP and hashed here.
    case readBack = "reading the copy back over SFTP"
}

extension SFTPTargetSession {
    /// Hashes the copies on the server, one command per algorithm for the whole batch, or
    /// reads them back where the account allows no commands.
    func prove(_ items: [(upload: SFTPUpload, algorithm: ChecksumAlgorithm, expected: String)]) -> [Result<String, FileFailure>] {
        guard !items.isEmpty else { return [] }
        if target.proof == .readBack {
            // Copies written from memory are read back all at once; the others one by one.
            let kept = items.indices.filter { items[$0].upload.batchedSize != nil }
            var results = items.map { $0.upload.batchedSize == nil ? readBack($0.upload, $0.algorithm, $0.expected) : nil }
            let pipelined = readBackKept(kept.map { items[$0] }) ?? kept.map { readBack(items[$0].upload, items[$0].algorithm, items[$0].expected) }
            for (i, result) in zip(kept, pipelined) { results[i] = result }
            return results.map { $0! }
        }
        // Copies the server already hashed while they were written need only the flush.
        let hashHere = items.filter { $0.upload.streamedDigest == nil }
        let script = RemoteCommands.proveAndFlush(flush: items.map(\.upload.temporaryPath),
                                                  hash: Dictionary(grouping: hashHere, by: \.algorithm).mapValues { $0.map(\.upload.temporaryPath) })
        let output: (stdout: String, stderr: String, status: Int32)
        do throws(FileFailure) {
            let started = MonotonicClock.now()
            output = try runRemote(script)
            target.logger.debug("the server hashed and flushed \(items.count) cop\(items.count == 1 ? "y" : "ies") in \(formatDecimal(MonotonicClock.now() - started, places: 2)) s")
            if RemoteCommands.flushFailed(output.stdout) {
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

    /// Runs `script` with `RemoteCommands.scriptRunner`.
    func runRemote(_ script: String) throws(FileFailure) -> (stdout: String, stderr: String, status: Int32) {
        let session = try remoteSession()
        do throws(SSHError) {
            return try session.run(RemoteCommands.scriptRunner, input: script)
        } catch {
            throw failure(.failVerify, error)
        }
    }

    /// Reads the copy back over SFTP and hashes it here.
    func readBack(_ upload: SFTPUpload, _ algorithm: ChecksumAlgorithm, _ expected: String) -> Result<String, FileFailure> {
        do throws(FileFailure) {
            let sftp = try client()
            do throws(SSHError) {
                let file = try sftp.openForReading(upload.temporaryPath)
                let actual = try file.digest(algorithm).hex
                try file.close()
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
}
