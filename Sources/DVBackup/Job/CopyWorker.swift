import Logging

/// One worker thread's loop: takes files from the plan, sends each, settles them in the
/// batches its target session proves at once, and retries a file whose connection to the
/// target was lost (the session reconnects on the next upload).
struct CopyWorker {
    let transfer: Transfer
    let session: any TargetSession
    let logger: Logger
    /// Attempts per file when the connection is lost, the first included.
    var maxAttempts = 3
    /// Told which file this worker starts (the progress line's current file).
    var progress: RunProgress? = nil

    func run(jobs: BlockingQueue<CatalogFile>, results: BlockingQueue<FileOutcome>) {
        var pending: [Transfer.Sent] = []
        var retry: [CatalogFile] = []
        var attempts: [Int64: Int] = [:]

        func handle(_ outcome: FileOutcome) {
            let n = attempts[outcome.file.id, default: 0] + 1
            attempts[outcome.file.id] = n
            if outcome.connectionLost, n < maxAttempts {
                logger.warning("datafile \(outcome.file.id): \(outcome.detail); trying again (attempt \(n + 1) of \(maxAttempts))")
                retry.append(outcome.file)
                return
            }
            attempts[outcome.file.id] = nil
            results.put(outcome)
        }

        func settlePending() {
            let batch = pending
            pending = []
            for outcome in transfer.settle(batch, on: session) { handle(outcome) }
        }

        while true {
            let next: CatalogFile
            if !retry.isEmpty {
                next = retry.removeFirst()
            } else if let file = jobs.take() {
                next = file
            } else if !pending.isEmpty {
                settlePending()
                continue
            } else {
                break
            }
            progress?.started(next)
            switch transfer.send(next, to: session) {
            case .done(let outcome):
                handle(outcome)
            case .sent(let sent):
                pending.append(sent)
                if pending.count >= session.settleBatchSize { settlePending() }
            }
        }
    }
}
