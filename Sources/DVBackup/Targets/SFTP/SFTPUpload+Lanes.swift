import Foundation
import Logging
import Synchronization

/// A large copy written through several connections at once.
extension SFTPUpload: LaneUpload {
    /// Extra SSH sessions, each with its own handle on the temporary file, opened at the
    /// same time. A lane that cannot be opened is left out; with none, the copy is written
    /// through `write`. Where the account may run commands, one more session hashes the copy
    /// on the server while it is written: the lanes' progress goes to it.
    func openLanes(_ count: Int, algorithm: ChecksumAlgorithm, blockSize: Int, expectedBytes: Int64) -> UploadLanes {
        lanesStarted = MonotonicClock.now()
        let connection = session.target.connection
        let path = temporaryPath
        // Each lane is opened on a thread of its own and handed back to this one.
        let opened = Mutex<[Int: SendableBox<any UploadLane>]>([:])
        let openers = (0..<count).map { i in
            WorkerThread(name: "dvbackup-lane-open-\(i)") {
                guard let lane = Self.openLane(connection, path) else { return }
                opened.withLock { $0[i] = SendableBox(lane) }
            }
        }
        for t in openers { t.join() }
        let lanes = opened.withLock { o in o.keys.sorted().compactMap { o[$0]?.value } }
        laneCount = lanes.count
        laneRequests = (lanes.first as? SFTPDirectLane).map { "WRITE requests of \($0.piece >> 10) KiB" } ?? "libssh2's WRITE requests"
        if !lanes.isEmpty, session.target.proof == .remoteCommand, session.target.hashWhileWriting {
            stream = RemoteHashStream(connection: connection, path: path,
                                      algorithm: algorithm, blockSize: blockSize, expectedBytes: expectedBytes)
        }
        return UploadLanes(writers: lanes, progress: stream)
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

    func lanesFinished() {
        session.target.logger.debug("\(temporaryPath) written through \(laneCount) connections (\(laneRequests)) in \(formatDecimal(MonotonicClock.now() - lanesStarted, places: 2)) s (AES-CTR keystream batched for \(LibSSH2.batchedCipherBytes) bytes so far)")
        guard let stream else { return }
        streamedDigest = stream.finish()
        self.stream = nil
    }
}
