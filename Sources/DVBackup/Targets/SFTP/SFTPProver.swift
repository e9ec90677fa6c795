import Foundation
import Logging

extension SFTPTarget: ProvableTarget {
    /// Connects (the host key checked as for a run) and learns whether the account may run
    /// commands; nothing is written on the server.
    public func makeProver() throws(TargetUnavailable) -> any CopyProver {
        let prover = SFTPProver(target: self)
        try prover.connect()
        return prover
    }
}

/// Proves copies on an SFTP server. Where the account may run commands, the server hashes a
/// batch of copies in one exec (no bytes cross the network), after dropping the copies'
/// cached pages (``dropCaches``) so that the bytes come from its disk; where it
/// may not (a chrooted internal-sftp account), each copy is read back over SFTP and hashed here:
/// small copies a batch at a time on dvbackup's own SFTP channel (every STAT, every OPEN,
/// every READ and CLOSE: three round trips for the batch), larger ones one by one through
/// libssh2. A quick proof STATs the whole batch in one round trip.
final class SFTPProver: CopyProver {
    let target: SFTPTarget
    private var sftp: SFTPClient?
    /// dvbackup's own SFTP channel on the connection, for batches; nil where the server
    /// refuses a second channel (each copy then goes through libssh2).
    private var channel: SFTPExtensionChannel?
    private(set) var mode: SFTPProof = .readBack
    private var channelRefused = false

    init(target: SFTPTarget) { self.target = target }

    /// Copies hashed in one command: large, since each command costs a channel, a shell and
    /// a round trip (an audit runs one such command per connection at a time).
    static let auditBatchSize = 400

    /// Copies read back in one batch: 64 of up to 64 KiB, 4 MiB per connection at most.
    static let readBackBatchSize = 64

    var proofBatchSize: Int { mode == .remoteCommand ? Self.auditBatchSize : channel == nil ? 1 : Self.readBackBatchSize }

    func connect() throws(TargetUnavailable) {
        let (session, client) = try target.connectToRoot()
        sftp = client
        mode = SFTPTarget.detectProof(session)
        channelRefused = false
        // Read-back batches need it from the start (their size depends on it); a quick audit
        // where the server hashes opens it when first needed.
        if mode == .readBack { _ = batchChannel(client) }
        target.logger.info("connected to \(target.connection.display); copies are proven by \(mode.rawValue)")
    }

    func prove(_ copies: [(copy: CopyReference, expected: ExpectedDigest)], depth: ProofDepth)
        throws(TargetUnavailable) -> [CopyFinding] {
        // A connection lost in the middle is re-established once; lost again, the target is down.
        do throws(SSHError) {
            return try proveOnce(copies, depth)
        } catch {
            guard error.connectionLost else { throw TargetUnavailable("cannot use \(target.displayName): \(error)") }
            target.logger.warning("the connection to \(target.connection.display) was lost (\(error)); connecting again")
            sftp = nil
            channel = nil
            try connect()
            do throws(SSHError) { return try proveOnce(copies, depth) } catch {
                throw TargetUnavailable("cannot use \(target.displayName): \(error)")
            }
        }
    }

    private func proveOnce(_ copies: [(copy: CopyReference, expected: ExpectedDigest)], _ depth: ProofDepth)
        throws(SSHError) -> [CopyFinding] {
        guard let sftp else { throw SSHError(code: 0, message: "not connected", connectionLost: true) }
        if depth == .full, mode == .remoteCommand { return try hashOnServer(copies, sftp.session) }
        if copies.count > 1, let channel = batchChannel(sftp) { return try proveInBatch(copies, depth, channel, sftp) }
        return try copies.map { (c) throws(SSHError) in try readBack(c.copy, c.expected, depth, sftp) }
    }

    /// dvbackup's own SFTP channel on this connection, opened once; nil where it cannot be.
    private func batchChannel(_ sftp: SFTPClient) -> SFTPExtensionChannel? {
        if channel == nil, !channelRefused {
            channel = try? SFTPExtensionChannel(session: sftp.session)
            channelRefused = channel == nil
        }
        return channel
    }

    func path(_ copy: CopyReference) -> String { target.root + "/" + copy.relativePath }

    static let marker = "dvbackup-audit"

    /// Drops the cached pages of its arguments, so that the checksum that follows reads the
    /// disk: one python3 for the whole batch where the server has one (os.posix_fadvise), else
    /// one `dd iflag=nocache count=0` per copy (a process per copy costs milliseconds: most of
    /// an audit of small files).
    static let dropCaches = """
        if command -v python3 >/dev/null 2>&1; then
          dvbackup_drop() { python3 -c 'import os, sys
        for p in sys.argv[1:]:
            try:
                fd = os.open(p, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)' "$@"; }
        else
          dvbackup_drop() { for f in "$@"; do dd if="$f" iflag=nocache count=0 2>/dev/null; done; }
        fi

        """

    /// One script for the batch: for each copy, whether it is there and readable (shell
    /// built-ins only); then, over the whole batch, the cached pages dropped, one `stat` for
    /// the sizes and one checksum command per algorithm.
    static func script(_ paths: [String], _ algorithms: [ChecksumAlgorithm]) -> String {
        let all = paths.map { " " + RemoteCommands.quote($0) }.joined()
        var s = dropCaches + "i=0\nfor f in" + all + "; do\n"
        s += """
              if [ -f "$f" ]; then
                if [ -r "$f" ]; then echo "\(marker) $i ok"; else echo "\(marker) $i unreadable"; fi
              elif [ -e "$f" ]; then echo "\(marker) $i notfile"; else echo "\(marker) $i missing"; fi
              i=$((i+1))
            done
            dvbackup_drop\(all)
            stat -c '\(marker)-size %s %n' --\(all) 2>/dev/null

            """
        for algorithm in Set(algorithms).sorted(by: { $0.rawValue < $1.rawValue }) {
            let group = zip(paths, algorithms).filter { $0.1 == algorithm }.map(\.0)
            s += algorithm.coreutilsCommand + " --" + group.map { " " + RemoteCommands.quote($0) }.joined() + " 2>/dev/null\n"
        }
        return s + "exit 0\n"
    }

    /// `dvbackup-audit <i> <what>` lines by index, with the size of each path from the
    /// `dvbackup-audit-size <size> <path>` lines.
    static func parseStates(_ stdout: String, _ paths: [String]) -> [Int: (state: String, size: Int64?)] {
        var sizes: [String: Int64] = [:]
        var states: [Int: String] = [:]
        for line in stdout.split(separator: "\n") where line.hasPrefix(marker) {
            if line.hasPrefix(marker + "-size ") {
                let rest = line.dropFirst(marker.count + 6)
                guard let space = rest.firstIndex(of: " "), let size = Int64(rest[..<space]) else { continue }
                sizes[String(rest[rest.index(after: space)...])] = size
            } else if line.hasPrefix(marker + " ") {
                let words = line.split(separator: " ")
                guard words.count >= 3, let i = Int(words[1]) else { continue }
                states[i] = String(words[2])
            }
        }
        return states.reduce(into: [:]) { out, e in
            out[e.key] = (e.value, e.key < paths.count ? sizes[paths[e.key]] : nil)
        }
    }

    private func hashOnServer(_ copies: [(copy: CopyReference, expected: ExpectedDigest)], _ session: SSHSession)
        throws(SSHError) -> [CopyFinding] {
        let paths = copies.map { path($0.copy) }
        let r = try session.run(RemoteCommands.scriptRunner, input: Self.script(paths, copies.map(\.expected.algorithm)))
        let states = Self.parseStates(r.stdout, paths)
        // The checksum lines carry the names; the audit's own lines are left out by the parser.
        let digests = RemoteChecksumOutput.parse(r.stdout.split(separator: "\n").filter { !$0.hasPrefix(Self.marker) }
            .joined(separator: "\n"))
        return copies.enumerated().map { i, c in
            let p = paths[i]
            let command = c.expected.algorithm.coreutilsCommand
            guard let state = states[i] else {
                let why = r.stderr.trimmingWhitespace()
                return .unreadable("the server gave no answer for \(p)\(why.isEmpty ? "" : ": \(why)")")
            }
            switch state.state {
            case "missing": return .missing("no copy at \(p)")
            case "notfile": return .corrupt("\(p) is not a regular file")
            case "unreadable": return .unreadable("the account cannot read \(p)")
            default: break
            }
            if let want = c.copy.expectedSize, let size = state.size, size != want {
                let digest = digests[p].map { ", \(command) \($0), the reference is \(c.expected.hex)" } ?? ""
                return .corrupt("the copy \(p) holds \(size) bytes, \(want) were copied\(digest)")
            }
            guard let remote = digests[p] else { return .unreadable("the server's \(command) gave no checksum for \(p)") }
            guard remote == c.expected.hex else {
                return .corrupt("the server's \(command) printed \(remote) for \(p), the reference is \(c.expected.hex)")
            }
            return .verified(how: "hashed on the server by \(command)")
        }
    }

    /// Proves a batch by reading it back on dvbackup's own channel: one STAT of every copy (a
    /// quick proof ends there), then every OPEN and every READ with its CLOSE for the copies
    /// of at most `smallReadLimit` bytes, hashed here; larger ones, and any whose answers
    /// leave a hole, are read one by one through libssh2. Findings as `readBack` gives them.
    private func proveInBatch(_ copies: [(copy: CopyReference, expected: ExpectedDigest)], _ depth: ProofDepth,
                              _ channel: SFTPExtensionChannel, _ sftp: SFTPClient) throws(SSHError) -> [CopyFinding] {
        let trips = channel.roundTrips
        let paths = copies.map { path($0.copy) }
        var findings: [CopyFinding?] = Array(repeating: nil, count: copies.count)
        var small: [(index: Int, size: Int)] = []
        var oneByOne: [Int] = []
        for (i, state) in try channel.inspect(paths).enumerated() {
            let p = paths[i]
            switch state {
            case .missing: findings[i] = .missing("no copy at \(p)")
            case .refused(let refusal): findings[i] = .unreadable("cannot stat \(p): \(refusal)")
            case .found(_, let kind) where kind != .regular: findings[i] = .corrupt("\(p) is not a regular file")
            case .found(nil, _): oneByOne.append(i)
            case .found(let size?, _):
                if let want = copies[i].copy.expectedSize, Int64(size) != want {
                    findings[i] = .corrupt("the copy \(p) holds \(size) bytes, \(want) were copied")
                } else if depth == .quick {
                    findings[i] = .present(how: "SFTP: exists with the size copied (\(size) bytes)")
                } else if size <= UInt64(SFTPExtensionChannel.smallReadLimit) {
                    small.append((i, Int(size)))
                } else {
                    oneByOne.append(i)
                }
            }
        }
        var opened: [(index: Int, handle: [UInt8], size: Int)] = []
        for (item, handle) in zip(small, try channel.openToRead(small.map { paths[$0.index] })) {
            switch handle {
            case .success(let h): opened.append((item.index, h, item.size))
            case .failure(let refusal):
                let p = paths[item.index]
                findings[item.index] = refusal.status.meansMissing ? .missing("no copy at \(p)") : .unreadable("cannot open \(p): \(refusal)")
            }
        }
        for (item, read) in zip(opened, try channel.readWhole(opened.map { (handle: $0.handle, size: $0.size) })) {
            let p = paths[item.index]
            switch read {
            case .refused(let refusal): findings[item.index] = .unreadable("cannot read \(p): \(refusal)")
            case .bytes(let bytes) where bytes.count <= item.size || copies[item.index].copy.expectedSize != nil:
                findings[item.index] = Self.finding(p, bytes, copies[item.index].copy, copies[item.index].expected)
            case .bytes, .hole:  // grew since its STAT with no size to hold it to, or a hole: read it whole
                oneByOne.append(item.index)
            }
        }
        for i in oneByOne { findings[i] = try readBack(copies[i].copy, copies[i].expected, depth, sftp) }
        target.logger.debug("proved \(copies.count) copies (\(opened.count) read back in one batch) in \(channel.roundTrips - trips) round trips on dvbackup's SFTP channel")
        return findings.map { $0! }
    }

    /// What the bytes of a copy read back whole say of it.
    static func finding(_ p: String, _ bytes: [UInt8], _ copy: CopyReference, _ expected: ExpectedDigest) -> CopyFinding {
        if let want = copy.expectedSize, Int64(bytes.count) != want {
            return .corrupt("the bytes of \(p) read over SFTP stopped at \(bytes.count) of \(want)")
        }
        let actual = Digest.hex(expected.algorithm, of: bytes)
        guard actual == expected.hex else {
            return .corrupt("the copy \(p) read back over SFTP has \(expected.algorithm.rawValue) \(actual), the reference is \(expected.hex)")
        }
        return .verified(how: "read back over SFTP, \(expected.algorithm.rawValue) matches")
    }

    func readBack(_ copy: CopyReference, _ expected: ExpectedDigest, _ depth: ProofDepth, _ sftp: SFTPClient)
        throws(SSHError) -> CopyFinding {
        let p = path(copy)
        let attrs: SFTPClient.Attributes?
        do throws(SSHError) { attrs = try sftp.stat(p) } catch {
            if error.connectionLost { throw error }
            return .unreadable(error.message)
        }
        guard let attrs else { return .missing("no copy at \(p)") }
        guard attrs.isRegularFile else { return .corrupt("\(p) is not a regular file") }
        if let want = copy.expectedSize, Int64(attrs.size) != want {
            return .corrupt("the copy \(p) holds \(attrs.size) bytes, \(want) were copied")
        }
        if depth == .quick { return .present(how: "SFTP: exists with the size copied (\(attrs.size) bytes)") }
        let file: SFTPFile
        do throws(SSHError) { file = try sftp.openForReading(p) } catch {
            if error.connectionLost { throw error }
            return error.sftpStatus?.meansMissing == true ? .missing("no copy at \(p)") : .unreadable(error.message)
        }
        let (actual, total) = try file.digest(expected.algorithm)
        try? file.close()
        if let want = copy.expectedSize, total != want {
            return .corrupt("the bytes of \(p) read over SFTP stopped at \(total) of \(want)")
        }
        guard actual == expected.hex else {
            return .corrupt("the copy \(p) read back over SFTP has \(expected.algorithm.rawValue) \(actual), the reference is \(expected.hex)")
        }
        return .verified(how: "read back over SFTP, \(expected.algorithm.rawValue) matches")
    }
}
