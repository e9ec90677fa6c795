import Foundation
import Logging

/// Proves several batches at the same time, each on its own prover (its own connection: an
/// SFTP audit uses the backup's SshConnections, each hashing its batch on the server in one
/// command), and hands the findings back in the batches' order. A round ends when its
/// slowest batch does; the audit records it and checks its budget before the next.
///
/// The first prover is made up front (a target that is down stops the audit before anything
/// is taken); the others when a round first needs them, so that a small audit opens one
/// connection. One that cannot be made (the server's MaxSessions, MaxStartups) leaves the
/// audit with fewer, with a warning.
final class ProofRound: @unchecked Sendable {
    // @unchecked: during `run` each prover is used by exactly one thread; `results` is
    // written under `lock`, and read after all the threads have ended.
    private var provers: [any CopyProver]
    private let makeProver: () throws(TargetUnavailable) -> any CopyProver
    private let logger: Logger
    /// How many batches one round proves at once.
    private(set) var width: Int
    private let lock = NSLock()
    private var results: [Result<[CopyFinding], TargetUnavailable>] = []

    init(width: Int, logger: Logger, makeProver: @escaping () throws(TargetUnavailable) -> any CopyProver) throws(TargetUnavailable) {
        provers = [try makeProver()]
        self.makeProver = makeProver
        self.logger = logger
        self.width = max(1, width)
    }

    /// How many copies each batch holds.
    var batchSize: Int { provers[0].proofBatchSize }

    /// The connections opened so far.
    var connections: Int { provers.count }

    /// The batches (at most `width`), proven at once; one result per batch, in order.
    func run(_ batches: [[(copy: CopyReference, expected: ExpectedDigest)]], depth: ProofDepth)
        -> [Result<[CopyFinding], TargetUnavailable>] {
        while provers.count < min(batches.count, width) {
            do throws(TargetUnavailable) { provers.append(try makeProver()) } catch {
                logger.warning("the audit goes on with \(provers.count) of \(width) connections: \(error.message)")
                width = provers.count
            }
        }
        results = Array(repeating: .success([]), count: batches.count)
        // More batches than provers (a connection refused): in turns.
        for start in stride(from: 0, to: batches.count, by: provers.count) {
            let turn = Array(start..<min(batches.count, start + provers.count))
            if turn.count == 1 {
                prove(turn[0], prover: 0, batches[turn[0]], depth)
                continue
            }
            let done = DispatchSemaphore(value: 0)
            for (p, i) in turn.enumerated() {
                let batch = batches[i]
                let thread = Thread { [self] in
                    prove(i, prover: p, batch, depth)
                    done.signal()
                }
                thread.name = "dvbackup-audit-\(p)"
                thread.start()
            }
            for _ in turn { done.wait() }
        }
        return results
    }

    private func prove(_ i: Int, prover: Int, _ batch: [(copy: CopyReference, expected: ExpectedDigest)], _ depth: ProofDepth) {
        let result: Result<[CopyFinding], TargetUnavailable>
        do throws(TargetUnavailable) {
            result = .success(try provers[prover].prove(batch, depth: depth))
        } catch {
            result = .failure(error)
        }
        lock.withLock { results[i] = result }
    }
}
