import Foundation

/// Why the server refused a write.
extension SFTPUpload: DiagnosingUpload {
    /// A server refusing a write most often has a full disk, and OpenSSH says only
    /// "Failure" then: after a refusal that could mean that (SFTP status failure, no space,
    /// quota), the file system holding the copy is asked how much room is left
    /// (statvfs@openssh.com, on the connection already open) while the partial copy still
    /// takes its space. A "bad message" (what OpenSSH's sftp-server answers for ENAMETOOLONG)
    /// is checked against the longest name the server's file system allows.
    func diagnose(_ failure: FileFailure) -> FileFailure {
        if let named = session.diagnoseName(failure, finalPath: finalPath, temporaryPath: temporaryPath) {
            return named
        }
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

    /// How the SFTP statuses that can mean a full disk read in dvbackup's errors.
    static let refusalsForRoom = [SFTPStatus.failure, .noSpaceOnFilesystem, .quotaExceeded].map(\.description)

    /// Free space below this, after a refused write, is reported as a full disk.
    static let nearlyFull: UInt64 = 16 << 20
}

/// Names the server's file system cannot hold.
extension SFTPTargetSession {
    /// OpenSSH's sftp-server answers ENAMETOOLONG with SSH_FX_BAD_MESSAGE ("bad message").
    /// After such an answer, the names of the copy's path below the root are compared with
    /// the longest name the server's file system allows (statvfs@openssh.com f_namemax, asked
    /// of the backup directory); a name longer than that makes the failure say so.
    func diagnoseName(_ failure: FileFailure, finalPath: String, temporaryPath: String) -> FileFailure? {
        let below = finalPath.hasPrefix(target.root + "/") ? finalPath.dropFirst(target.root.count + 1) : Substring(finalPath)
        return diagnoseName(failure, names: below.split(separator: "/") + [Self.lastName(temporaryPath)])
    }

    private func diagnoseName(_ failure: FileFailure, names: [Substring]) -> FileFailure? {
        guard failure.status == .failWrite, !failure.connectionLost,
              failure.reason.contains(SFTPStatus.badMessage.description),
              let longest = names.max(by: { $0.utf8.count < $1.utf8.count }),
              let sftp = openClient,
              let fs = try? sftp.fileSystem(target.root), fs.nameMax > 0,
              longest.utf8.count > fs.nameMax else { return nil }
        let problem = "name too long: \(longest.utf8.count) bytes, the server's file system allows \(fs.nameMax)"
        let shown = longest.count > 40 ? String(longest.prefix(40)) + "…" : String(longest)
        return FileFailure(.failWrite, failure.reason.replacingOccurrences(of: SFTPStatus.badMessage.description, with: problem)
                           + " ('\(shown)')", connectionLost: false)
    }

    private static func lastName(_ path: String) -> Substring { path.split(separator: "/").last ?? "" }
}
