/// Small copies in batches: a copy the catalog says is at most `smallCopyLimit` bytes is
/// kept in memory while it is sent (at most a batch of them per connection), and the whole
/// batch then goes to the server with pipelined requests on dvbackup's own SFTP channel
/// (`SFTPExtensionChannel`): the directories, one round trip per depth; every OPEN; every
/// WRITE and CLOSE; then the proof (one remote command, or pipelined read-backs) and the
/// publishing renames, each one round trip for the batch rather than one per file. At a
/// network's round-trip time, small files no longer wait on each other.
extension SFTPTargetSession {
    /// Copies up to this size are kept in memory until their batch is settled
    /// (`SFTPTarget.batchSize` of them: 4 MiB per connection at most).
    static let smallCopyLimit = 64 << 10

    /// Writes the copies kept in memory to their temporary names, all at once
    /// (`SFTPExtensionChannel.createFiles`). Where the connection has no channel of
    /// dvbackup's own, each goes through libssh2 instead.
    func writeKept(_ uploads: [SFTPUpload], sync: Bool) -> [Result<Void, FileFailure>] {
        guard !uploads.isEmpty else { return [] }
        let channel: SFTPExtensionChannel
        do throws(FileFailure) {
            guard let c = try pipelineChannel() else {
                return uploads.map { upload in Result { () throws(FileFailure) in try upload.finishWriting(sync: sync) } }
            }
            channel = c
        } catch {
            return uploads.map { _ in .failure(error) }
        }
        let files = uploads.map { upload in
            (path: upload.temporaryPath, directories: upload.directories.filter { !target.directories.contains($0) },
             bytes: upload.takeBuffer())
        }
        do throws(SSHError) {
            let (refusals, created, made) = try channel.createFiles(files, sync: sync)
            for directory in made { target.directories.insert(directory) }
            for (upload, onServer) in zip(uploads, created) { upload.onServer = onServer }
            // Temporaries of the form earlier versions used, for the copies just written: one
            // round trip for the batch, whose answers (mostly "no such file") do not matter.
            let legacy = zip(uploads, created).compactMap { $1 ? $0.legacyTemporaryPath : nil }
            if !legacy.isEmpty { _ = try? channel.remove(legacy) }
            return zip(uploads, refusals).map { upload, refusal in
                guard let refusal else { return .success(()) }
                let failed = FileFailure(.failWrite, refusal)
                return .failure(diagnoseName(failed, finalPath: upload.finalPath, temporaryPath: upload.temporaryPath) ?? failed)
            }
        } catch {
            let lost = failure(.failWrite, error)
            return uploads.map { _ in .failure(lost) }
        }
    }

    /// Reads the copies written from memory back over dvbackup's channel (every OPEN, then
    /// every READ and CLOSE) and hashes them here; nil where there is no such channel.
    func readBackKept(_ items: [(upload: SFTPUpload, algorithm: ChecksumAlgorithm, expected: String)]) -> [Result<String, FileFailure>]? {
        guard !items.isEmpty else { return [] }
        let channel: SFTPExtensionChannel
        do throws(FileFailure) {
            guard let c = try pipelineChannel() else { return nil }
            channel = c
        } catch {
            return items.map { _ in .failure(error) }
        }
        var results: [Result<String, FileFailure>?] = Array(repeating: nil, count: items.count)
        do throws(SSHError) {
            var opened: [(index: Int, handle: [UInt8])] = []
            for (i, handle) in try channel.open(items.map(\.upload.temporaryPath), .read).enumerated() {
                switch handle {
                case .success(let h): opened.append((i, h))
                case .failure(let refusal): results[i] = .failure(FileFailure(.failVerify, "cannot open \(items[i].upload.temporaryPath) to read it back: \(refusal)"))
                }
            }
            let reads = try channel.readWhole(opened.map { (handle: $0.handle, size: items[$0.index].upload.batchedSize ?? 0) })
            for (item, read) in zip(opened, reads) {
                let (upload, algorithm, expected) = items[item.index]
                switch read {
                case .refused(let refusal):
                    results[item.index] = .failure(FileFailure(.failVerify, "cannot read \(upload.temporaryPath) back: \(refusal)"))
                case .hole(let at):
                    results[item.index] = .failure(FileFailure(.failVerify, "reading \(upload.temporaryPath) back, the server answered short at byte \(at) and then sent more: the copy was not proven and not published"))
                case .bytes(let bytes):
                    let actual = Digest.hex(algorithm, of: bytes)
                    results[item.index] = actual == expected
                        ? .success("read back over SFTP, \(algorithm.rawValue) matches")
                        : .failure(FileFailure(.failVerify, "the copy \(upload.temporaryPath) read back has \(algorithm.rawValue) \(actual), the bytes sent had \(expected); the copy was not published"))
                }
            }
        } catch {
            let lost = failure(.failVerify, error)
            return results.map { $0 ?? .failure(lost) }
        }
        return results.map { $0 ?? .failure(FileFailure(.failVerify, "the copy was not read back")) }
    }

    /// Removes the temporary copies that failed copies left on the server, all at once, while
    /// the connection is up (else `abort` removes them, one by one). Best effort: a copy left
    /// behind is overwritten when the file is copied again.
    func removeLeftovers(_ uploads: [SFTPUpload]) {
        let left = uploads.filter { $0.onServer && !$0.published }
        guard !left.isEmpty, let channel = openChannel else { return }
        guard (try? channel.remove(left.map(\.temporaryPath))) != nil else { return }
        for upload in left { upload.onServer = false }
    }
}
