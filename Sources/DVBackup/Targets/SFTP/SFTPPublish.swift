/// Publishing proven copies under their final names.
extension SFTPTargetSession {
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

    private func publishWithoutPosixRename(_ uploads: [SFTPUpload]) -> [Result<Void, FileFailure>] {
        var results: [Result<Void, FileFailure>?] = Array(repeating: nil, count: uploads.count)
        var replace: [Int] = []
        do throws(FileFailure) {
            if let channel = try pipelineChannel() {
                try renameAll(uploads, channel, &results, &replace)
                if !replace.isEmpty { replaceExisting(replace, uploads, &results) }
                return results.map { $0 ?? .failure(FileFailure(.failWrite, "the copy was not published")) }
            }
        } catch {
            return uploads.map { _ in .failure(error) }
        }
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
        return results.map { $0 ?? .failure(FileFailure(.failWrite, "the copy was not published")) }
    }

    /// SFTP RENAME of every copy at once; a refused one whose final name exists (SFTP rename
    /// does not replace) goes to `replace`: STAT of those, at once too.
    private func renameAll(_ uploads: [SFTPUpload], _ channel: SFTPExtensionChannel,
                           _ results: inout [Result<Void, FileFailure>?], _ replace: inout [Int]) throws(FileFailure) {
        do throws(SSHError) {
            let refusals = try channel.rename(uploads.map { ($0.temporaryPath, $0.finalPath) })
            let refused = refusals.indices.filter { refusals[$0] != nil }
            let found = try channel.stat(refused.map { uploads[$0].finalPath })
            for (i, refusal) in refusals.enumerated() where refusal == nil {
                uploads[i].published = true
                results[i] = .success(())
            }
            for (i, existing) in zip(refused, found) {
                if existing != nil {
                    replace.append(i)
                } else {
                    results[i] = .failure(FileFailure(.failWrite, "cannot rename \(uploads[i].temporaryPath) to \(uploads[i].finalPath): \(refusals[i]!)"))
                }
            }
        } catch {
            throw failure(.failWrite, error)
        }
    }

    /// Replaces older copies: with `mv -f` on the server where commands are allowed, else
    /// by removing the older copy and renaming over SFTP.
    private func replaceExisting(_ replace: [Int], _ uploads: [SFTPUpload], _ results: inout [Result<Void, FileFailure>?]) {
        if target.proof == .remoteCommand {
            let script = RemoteCommands.replace(replace.map { ($0, uploads[$0].temporaryPath, uploads[$0].finalPath) })
            do throws(FileFailure) {
                let r = try runRemote(script)
                for i in replace {
                    if RemoteCommands.replaceFailed(r.stdout, index: i) {
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
