import Foundation

/// Why the server refused a write.
extension SFTPUpload: DiagnosingUpload {
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

    /// How the SFTP statuses that can mean a full disk read in dvbackup's errors.
    static let refusalsForRoom = [SFTPStatus.failure, .noSpaceOnFilesystem, .quotaExceeded].map(\.description)

    /// Free space below this, after a refused write, is reported as a full disk.
    static let nearlyFull: UInt64 = 16 << 20
}
