import Foundation
import Logging
import Synchronization

/// A large copy read over SFTP through several connections at once (`ReadLanes`).
///
/// libssh2 1.10 decrypts a connection's bytes on the thread that reads them: one connection
/// is one core. A copy of at least `lanesThreshold` bytes, read while no other reader of the
/// same target is reading (a restore of many files already keeps `SshConnections`
/// connections busy; lanes are for the large file read alone), is fetched by the reader's own
/// connection and up to `extraLanes` more, opened side by side; a connection that cannot be
/// opened (or cannot open the copy) is left out, and with none the copy is read as before,
/// through the reader's own connection alone.
extension SFTPReader {
    /// Copies from this size on are read through lanes.
    static let lanesThreshold: Int64 = 64 << 20
    /// Connections opened besides the reader's own: they follow the cores that decrypt them,
    /// three connections at most (each adds about 6 MB to the peak RSS). Measured on 2 busy
    /// cores (AMD EPYC, a 2 GiB copy from a loopback sshd, each against the `rclone copy`
    /// run beside it): 1 connection 1.15 × rclone's time, 2 connections 1.00-1.15, 3 1.09-1.11,
    /// 4 1.04-1.10 (RSS 61 MB): the client and the server already share both cores, so a
    /// second decrypting thread gains little there; it is what a machine with idle cores gains.
    static let extraLanes = max(1, min(3, ProcessInfo.processInfo.activeProcessorCount) - 1)
    /// Each lane fetches chunks of this size; the pool holds `2 × lanes` of them.
    static let laneChunkSize = 2 << 20

    /// Reads `copy` (already opened as `file`) through lanes, if it is large enough and this
    /// reader is alone; nil where it was not (the caller then reads it through `file`).
    func readThroughLanes(_ copy: CopyReference, _ path: String, _ file: SFTPFile, alone: Bool,
                          into sink: (UnsafeRawBufferPointer) throws(ReadFailure) -> Void) throws(ReadFailure) -> Int64? {
        guard alone, let connection, let expected = copy.expectedSize, expected >= Self.lanesThreshold, Self.extraLanes > 0 else {
            return nil
        }
        let started = MonotonicClock.now()
        let extra = Self.openLanes(Self.extraLanes, connection, path, display)
        guard !extra.isEmpty else {
            logger.debug("\(path): no extra connection could be opened; read through one")
            return nil
        }
        let lanes: [any ReadLane] = [SFTPReadLane(file: file, path: path, display: display)] + extra
        let reading = ReadLanes(chunkSize: Self.laneChunkSize, buffers: 2 * lanes.count)
        // One byte more than expected: a longer copy shows.
        let delivered = try reading.read(lanes, total: expected + 1, into: sink)
        if delivered < expected {
            throw .cut("\(path) on \(display) ends after \(delivered) bytes; \(expected) were expected")
        }
        logger.debug("\(path) read through \(lanes.count) connections (\(Self.laneChunkSize >> 20) MiB chunks) in \(formatDecimal(MonotonicClock.now() - started, places: 2)) s")
        return delivered
    }

    /// Up to `count` lanes, each on a new session with the copy open, opened side by side.
    private static func openLanes(_ count: Int, _ connection: SSHConnectionConfig, _ path: String,
                                  _ display: String) -> [SFTPReadLane] {
        let opened = Mutex<[Int: SendableBox<SFTPReadLane>]>([:])
        let openers = (0..<count).map { i in
            WorkerThread(name: "dvbackup-read-lane-open-\(i)") {
                guard let session = try? SSHSession(connection), let sftp = try? SFTPClient(session: session),
                      let file = try? sftp.openForReading(path) else { return }
                let lane = SFTPReadLane(file: file, path: path, display: display)
                opened.withLock { $0[i] = SendableBox(lane) }
            }
        }
        for t in openers { t.join() }
        return opened.withLock { o in o.keys.sorted().compactMap { o[$0]?.value } }
    }
}

/// Fetches chunks of a copy at their offsets with libssh2's pipelined reads, on one handle
/// (which keeps its connection alive).
final class SFTPReadLane: ReadLane {
    private let file: SFTPFile
    private let path: String
    private let display: String

    init(file: SFTPFile, path: String, display: String) {
        self.file = file
        self.path = path
        self.display = display
    }

    /// libssh2 1.10 keeps four times the buffer asked for in flight ahead of what it has
    /// handed back: each read asks for a quarter of what the chunk still lacks, so no request
    /// reaches past the chunk (its bytes would be decrypted for nothing) and the next seek
    /// finds none outstanding.
    static func requestSize(lacking: Int) -> Int {
        min(SFTPReader.bufferSize, max(1, lacking / 4))
    }

    func fetch(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(ReadFailure) -> Int {
        file.seek(offset)
        var got = 0
        while got < buffer.count {
            let want = Self.requestSize(lacking: buffer.count - got)
            let n: Int
            do { n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[got..<got + want])) } catch {
                let at = offset + UInt64(got)
                if error.connectionLost {
                    throw .cut("the connection to \(display) broke at byte \(at) of \(path): \(error.message)")
                }
                throw .unreadable("\(path) cannot be read at byte \(at): \(error.message)")
            }
            if n == 0 { break }
            got += n
        }
        return got
    }
}

/// How many readers of each target (its address and root) are reading a copy right now:
/// lanes are opened only by a reader that reads alone.
enum ReadActivity {
    private static let reading = Mutex<[String: Int]>([:])

    /// Counts a read of `key`'s target (`end` uncounts it); true when it is the only one.
    static func begin(_ key: String) -> Bool {
        reading.withLock { r in
            r[key, default: 0] += 1
            return r[key] == 1
        }
    }

    static func end(_ key: String) {
        reading.withLock { r in
            r[key, default: 1] -= 1
            if r[key] == 0 { r[key] = nil }
        }
    }
}
