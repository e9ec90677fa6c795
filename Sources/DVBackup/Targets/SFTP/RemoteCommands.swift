import Foundation

/// Every program dvbackup sends over an SSH exec channel, as text, in one place where it can
/// be read and tested (`RemoteCommandsTests`). Each goes through the account's login shell;
/// file names are always quoted with `quote`, so only POSIX sh quoting matters, whatever the
/// names hold (spaces, quotes, `$`, line ends).
enum RemoteCommands {
    /// Quotes a word for a POSIX shell: `'it'\''s'`. Inside single quotes nothing is special
    /// but the single quote itself, which is closed, escaped and reopened.
    static func quote(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    // MARK: may the account run commands?

    /// Whether the account may run commands: a chrooted `ForceCommand internal-sftp` account
    /// answers an exec request with the SFTP server, not with this echo.
    static let execProbe = "echo dvbackup-exec-probe"

    /// Whether `execProbe` answered as a shell would.
    static func answersExecProbe(status: Int32, stdout: String) -> Bool {
        status == 0 && stdout == "dvbackup-exec-probe\n"
    }

    // MARK: scripts on standard input

    /// The command that runs a script sent on its standard input (`proveAndFlush`,
    /// `replace`): any login shell starts it, and the script itself is POSIX sh.
    static let scriptRunner = "sh -s"

    /// What `proveAndFlush` prints when `sync FILE…` failed (coreutils before 8.24 has no
    /// file arguments): the copies are then flushed over SFTP.
    static let flushFailedMarker = "dvbackup-sync-failed"

    /// Flushes `flush` to disk in the background while hashing the files of each group with
    /// its algorithm's coreutils command, one command per algorithm, sorted by algorithm;
    /// waits for both. Prints `<hex>  <name>` lines (`RemoteChecksumOutput`) and, when the
    /// flush failed, `flushFailedMarker`.
    static func proveAndFlush(flush: [String], hash: [ChecksumAlgorithm: [String]]) -> String {
        var script = "( sync -- \(flush.map(quote).joined(separator: " ")) || echo \(flushFailedMarker) ) &\n"
        for (algorithm, paths) in hash.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where !paths.isEmpty {
            script += algorithm.coreutilsCommand + " --" + paths.map { " " + quote($0) }.joined() + "\n"
        }
        return script + "wait\n"
    }

    /// Whether the output of `proveAndFlush` says the flush failed.
    static func flushFailed(_ stdout: String) -> Bool { stdout.contains(flushFailedMarker) }

    /// Moves each `from` over its `to` with `mv -f` (an atomic rename(2) that replaces an
    /// existing file, which SFTP rename refuses to do); prints `failed <i>` for the i-th
    /// move that failed.
    static func replace(_ moves: [(index: Int, from: String, to: String)]) -> String {
        moves.map { "mv -f -- \(quote($0.from)) \(quote($0.to)) || echo \"failed \($0.index)\"\n" }.joined()
    }

    /// Whether the output of `replace` says that move `index` failed.
    static func replaceFailed(_ stdout: String, index: Int) -> Bool { stdout.contains("failed \(index)\n") }

    // MARK: hashing while the copy is written

    /// Hashes the copy at `path` while it is written (`RemoteHashStream`): the program reads
    /// block counts on standard input, one a line, each the number of `blockSize` blocks
    /// completely written so far; for each count larger than the last it pipes the new
    /// blocks with `dd` into one `md5sum`/`sha*sum`, and starts flushing the copy to disk in
    /// the background (`sync -d`, one at a time). It prints the digest once its input ends.
    static func hashWhileWriting(path: String, blockSize: Int, algorithm: ChecksumAlgorithm) -> String {
        let script = """
            f=$1; d=0; s=
            { while read k; do
                if [ "$k" -gt "$d" ]; then
                  dd if="$f" bs=\(blockSize) skip=$d count=$((k - d)) 2>/dev/null || exit 1; d=$k
                  if [ -z "$s" ] || ! kill -0 "$s" 2>/dev/null; then sync -d -- "$f" >/dev/null 2>&1 & s=$!; fi
                fi
              done; } | \(algorithm.coreutilsCommand)
            """
        return "sh -c " + quote(script) + " sh " + quote(path)
    }
}
