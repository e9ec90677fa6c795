import Foundation
import Logging

extension SFTPTarget: ReadableTarget {
    /// A reader on a connection of its own; the backup directory must exist (it need not be
    /// writable). Works for accounts that may not run commands (chroot internal-sftp).
    public func makeReader() throws(TargetUnavailable) -> any TargetReader {
        SFTPReader(root: root, sftp: try connectToRoot().sftp, display: connection.display, connection: connection,
                   logger: logger)
    }
}

/// Reads copies over SFTP. libssh2 (1.10) cuts one large `sftp_read` into pipelined READ
/// requests (30,000 bytes each) and sends them all before it waits for the first answer, so
/// a 2 MiB buffer keeps about 70 requests in flight; memory stays that buffer, allocated once
/// per reader. A read never asks for more than the copy's expected size and one byte (which
/// shows whether it is longer): a 4 KiB file costs one READ request, not 70 of which 69
/// come back empty. A large copy read alone goes through several connections
/// (`readThroughLanes`).
final class SFTPReader: TargetReader {
    let root: String
    let sftp: SFTPClient
    let display: String
    /// Where more connections for a large copy are opened (nil: never).
    let connection: SSHConnectionConfig?
    let logger: Logger
    static let bufferSize = 2 << 20
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: SFTPReader.bufferSize, alignment: 16)

    deinit { buffer.deallocate() }

    /// How much to ask for when `remaining` bytes are still expected (nil: unknown).
    static func requestSize(remaining: Int64?) -> Int {
        guard let remaining, remaining >= 0 else { return bufferSize }
        return Int(min(Int64(bufferSize), remaining + 1))
    }

    init(root: String, sftp: SFTPClient, display: String, connection: SSHConnectionConfig? = nil,
         logger: Logger = Logger(label: "dvbackup") { _ in SwiftLogNoOpLogHandler() }) {
        self.root = root
        self.sftp = sftp
        self.display = display
        self.connection = connection
        self.logger = logger
    }

    func failure(_ e: SSHError, missing: Bool = false) -> ReadFailure {
        if e.connectionLost { return .unavailable("the connection to \(display) was lost: \(e.message)") }
        if missing, e.sftpStatus?.meansMissing == true { return .missing(e.message) }
        return .unreadable(e.message)
    }

    func read(_ copy: CopyReference, into sink: (UnsafeRawBufferPointer) throws(ReadFailure) -> Void) throws(ReadFailure) {
        if let problem = PathSafety.problem(in: copy.relativePath, what: "copy path") { throw .unreadable(problem) }
        let path = root + "/" + copy.relativePath
        let file: SFTPFile
        do { file = try sftp.openForReading(path) } catch { throw failure(error, missing: true) }
        defer { try? file.close() }
        let key = display + root
        let alone = ReadActivity.begin(key)
        defer { ReadActivity.end(key) }
        if try readThroughLanes(copy, path, file, alone: alone, into: sink) != nil { return }
        var delivered: Int64 = 0
        while true {
            let n: Int
            let want = Self.requestSize(remaining: copy.expectedSize.map { max(0, $0 - delivered) })
            do { n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want])) } catch {
                if delivered > 0, error.connectionLost {
                    throw .cut("the connection to \(display) broke after \(delivered) bytes of \(path): \(error.message)")
                }
                throw failure(error)
            }
            if n == 0 { return }
            try sink(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            delivered += Int64(n)
        }
    }

    func list(_ visit: (TargetEntry) throws(ReadFailure) -> Void) throws(ReadFailure) {
        try walk("", visit)
    }

    private func walk(_ relative: String, _ visit: (TargetEntry) throws(ReadFailure) -> Void) throws(ReadFailure) {
        let directory = relative.isEmpty ? root : root + "/" + relative
        // Subdirectories are walked after their parent's handle is closed: one open handle at a time.
        var subdirectories: [String] = []
        let problem = try sftp.listDirectory(directory) { (entry) throws(ReadFailure) in
            let path = relative.isEmpty ? entry.name : relative + "/" + entry.name
            if entry.isDirectory {
                subdirectories.append(path)
            } else if entry.isRegularFile {
                let kind: TargetEntry.Kind = LeftoverNames.why(entry.name).map { .leftover(why: $0) } ?? .copy
                try visit(TargetEntry(relativePath: path, size: Int64(entry.size), modified: entry.modified.map { Double($0) },
                                      kind: kind))
            }
        }
        if let problem { throw failure(problem) }
        for sub in subdirectories { try walk(sub, visit) }
    }

    func removeLeftover(_ entry: TargetEntry) throws(ReadFailure) {
        guard case .leftover = entry.kind, LeftoverNames.why(LeftoverNames.lastComponent(entry.relativePath)) != nil,
              PathSafety.problem(in: entry.relativePath, what: "leftover path") == nil else {
            throw .destination("refusing to remove \(entry.relativePath): it is not one of dvbackup's leftovers")
        }
        let path = root + "/" + entry.relativePath
        do { try sftp.remove(path) } catch {
            if error.sftpStatus?.meansMissing == true { return }
            throw failure(error)
        }
    }
}
