import Logging

extension SFTPReader: BatchReadable {
    /// A batch reader on a second SFTP channel of this reader's session; nil where the
    /// server refuses one (the copies then go through `read`, one by one).
    func makeBatchReader() -> (any BatchReader)? {
        guard let channel = try? SFTPExtensionChannel(session: sftp.session) else { return nil }
        return SFTPBatchReader(root: root, display: display, channel: channel)
    }
}

/// Reads small copies for restore many at once on dvbackup's own SFTP channel: every OPEN,
/// then every READ with every CLOSE, two round trips for the batch
/// (`SFTPExtensionChannel.openToRead`, `readWhole`) instead of several per copy. At most
/// `batchSize × (sizeLimit + 1)` bytes are held at once.
final class SFTPBatchReader: BatchReader {
    let root: String
    let display: String
    let channel: SFTPExtensionChannel
    var sizeLimit: Int64 { Int64(SFTPExtensionChannel.smallReadLimit) }
    /// 32 copies of up to 64 KiB: 2 MiB per connection, like the reader's own buffer.
    var batchSize: Int { 32 }
    /// Copies read so far, and the channel's round trips for them (the debug log).
    private(set) var copiesRead = 0

    init(root: String, display: String, channel: SFTPExtensionChannel) {
        self.root = root
        self.display = display
        self.channel = channel
    }

    var roundTrips: Int { channel.roundTrips }

    func readWhole(_ copies: [CopyReference]) -> [Result<[UInt8], ReadFailure>?] {
        var results: [Result<[UInt8], ReadFailure>?] = Array(repeating: nil, count: copies.count)
        var wanted: [Int] = []
        for (i, copy) in copies.enumerated() {
            if let problem = PathSafety.problem(in: copy.relativePath, what: "copy path") {
                results[i] = .failure(.unreadable(problem))
            } else {
                wanted.append(i)
            }
        }
        let paths = copies.map { root + "/" + $0.relativePath }
        do throws(SSHError) {
            var opened: [(index: Int, handle: [UInt8])] = []
            for (i, handle) in zip(wanted, try channel.openToRead(wanted.map { paths[$0] })) {
                switch handle {
                case .success(let h): opened.append((i, h))
                case .failure(let refusal):
                    let why = "cannot open \(paths[i]): \(refusal)"
                    results[i] = .failure(refusal.status.meansMissing ? .missing(why) : .unreadable(why))
                }
            }
            let reads = try channel.readWhole(opened.map { (handle: $0.handle, size: Int(max(0, copies[$0.index].expectedSize ?? 0))) })
            for (item, read) in zip(opened, reads) {
                switch read {
                case .bytes(let bytes): results[item.index] = .success(bytes)
                case .refused(let refusal): results[item.index] = .failure(.unreadable("cannot read \(paths[item.index]): \(refusal)"))
                case .hole:
                    break  // left nil: read through `read`, which follows the server's short answers
                }
            }
        } catch {
            let lost = ReadFailure.unavailable("the connection to \(display) was lost: \(error.message)")
            return results.map { $0 ?? .failure(lost) }
        }
        copiesRead += copies.count
        return results
    }
}
