import Foundation
import Synchronization

/// Hashes a large copy on the server while it is written (`RemoteCommands.hashWhileWriting`,
/// on a session of its own): the server reads each block once the lanes report it
/// completely written and pipes the blocks, in order, into one md5sum/sha*sum, flushing the
/// copy to disk in the background as it goes, so that little is left to hash or flush once
/// the last byte is written.
///
/// The lanes' threads call `writtenPrefix`; the sending thread calls `finish`. Both touch
/// only `Sendable` state: the announcer, the result under a lock, a semaphore.
final class RemoteHashStream: LaneProgress {
    private let announcer: BlockAnnouncer
    private let finished = DispatchSemaphore(value: 0)
    private let result = Mutex<Result<String, FileFailure>>(.failure(FileFailure(.failVerify, "the server's hash was not received")))

    init(connection: SSHConnectionConfig, path: String, algorithm: ChecksumAlgorithm, blockSize: Int, expectedBytes: Int64) {
        announcer = BlockAnnouncer(blockSize: blockSize, expectedBytes: expectedBytes)
        let command = RemoteCommands.hashWhileWriting(path: path, blockSize: blockSize, algorithm: algorithm)
        _ = WorkerThread(name: "dvbackup-remote-hash") { [self] in
            let outcome = Self.run(connection, command, announcer.announcements, algorithm)
            result.withLock { $0 = outcome }
            while announcer.announcements.take() != nil {}
            finished.signal()
        }
    }

    private static func run(_ connection: SSHConnectionConfig, _ command: String, _ announcements: BlockingQueue<UInt64>,
                            _ algorithm: ChecksumAlgorithm) -> Result<String, FileFailure> {
        do {
            let session = try SSHSession(connection)
            let channel = try session.startCommand(command)
            while let blocks = announcements.take() {
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

    func writtenPrefix(blocks: UInt64) { announcer.written(blocks: blocks) }

    /// Waits for the server's digest, once the whole copy has been announced.
    func finish() -> Result<String, FileFailure> {
        announcer.finish()
        finished.wait()
        return result.withLock { $0 }
    }
}

/// Turns reports of the written prefix (from any thread) into the block counts the server's
/// hashing program reads, in strictly increasing order: one every 64 MiB, and every 8 MiB
/// over the copy's last 64 MiB (each count starts one `dd` on the server).
final class BlockAnnouncer: Sendable {
    /// The counts, in the order the server gets them.
    let announcements = BlockingQueue<UInt64>(capacity: 4096)
    /// Counts go out every `step` blocks, every `finalStep` blocks from block `finalStretch` on.
    let step: UInt64
    let finalStep: UInt64
    let finalStretch: UInt64
    /// (blocks reported written, blocks announced)
    private let frontier = Mutex<(written: UInt64, announced: UInt64)>((0, 0))
    /// The server reads at least this much per `dd`.
    static let announceBytes = 64 << 20
    static let finalAnnounceBytes = 8 << 20

    init(blockSize: Int, expectedBytes: Int64) {
        step = UInt64(max(1, Self.announceBytes / blockSize))
        finalStep = UInt64(max(1, Self.finalAnnounceBytes / blockSize))
        let blocks = UInt64(max(0, expectedBytes)) / UInt64(blockSize)
        finalStretch = blocks > step ? blocks - step : 0
    }

    /// The first `blocks` blocks are written. The count is queued under the lock, so that
    /// a larger count can never be overtaken by a smaller one.
    func written(blocks: UInt64) {
        frontier.withLock { f in
            f.written = max(f.written, blocks)
            guard f.written >= f.announced + (f.written >= finalStretch ? finalStep : step) else { return }
            f.announced = f.written
            announcements.put(f.written)
        }
    }

    /// Announces what is written and not yet announced, and ends the announcements.
    func finish() {
        frontier.withLock { f in
            guard f.written > f.announced else { return }
            f.announced = f.written
            announcements.put(f.written)
        }
        announcements.close()
    }
}
