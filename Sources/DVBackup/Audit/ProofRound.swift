import Foundation

/// Proves several batches at the same time, each on its own prover (its own connection: an
/// SFTP audit uses the backup's SshConnections, each hashing its batch on the server in one
/// command), and hands the findings back in the batches' order. A round ends when its
/// slowest batch does; the audit records it and checks its budget before the next.
final class ProofRound: @unchecked Sendable {
    // @unchecked: during `run` each prover is used by exactly one thread; `results` is
    // written under `lock`, and read after all the threads have ended.
    private let provers: [any CopyProver]
    private let lock = NSLock()
    private var results: [Result<[CopyFinding], TargetUnavailable>] = []

    init(provers: [any CopyProver]) {
        precondition(!provers.isEmpty)
        self.provers = provers
    }

    /// How many batches one round proves at once.
    var width: Int { provers.count }
    /// How many copies each batch holds.
    var batchSize: Int { provers[0].proofBatchSize }

    /// The batches (at most `width`), proven at once; one result per batch, in order.
    func run(_ batches: [[(copy: CopyReference, expected: ExpectedDigest)]], depth: ProofDepth)
        -> [Result<[CopyFinding], TargetUnavailable>] {
        precondition(batches.count <= provers.count)
        results = Array(repeating: .success([]), count: batches.count)
        if batches.count == 1 {
            prove(0, batches[0], depth)
            return results
        }
        let done = DispatchSemaphore(value: 0)
        for i in batches.indices {
            let batch = batches[i]
            let thread = Thread { [self] in
                prove(i, batch, depth)
                done.signal()
            }
            thread.name = "dvbackup-audit-\(i)"
            thread.start()
        }
        for _ in batches { done.wait() }
        return results
    }

    private func prove(_ i: Int, _ batch: [(copy: CopyReference, expected: ExpectedDigest)], _ depth: ProofDepth) {
        let result: Result<[CopyFinding], TargetUnavailable>
        do throws(TargetUnavailable) {
            result = .success(try provers[i].prove(batch, depth: depth))
        } catch {
            result = .failure(error)
        }
        lock.withLock { results[i] = result }
    }
}
