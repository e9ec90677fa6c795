import Logging
import Synchronization

/// The worker threads of a restore: each owns one reader of the target (one connection) and
/// restores the tasks it takes, as the backup's workers copy files (`[Backup] Workers`, or
/// `SshConnections` over SFTP). Results are handed back to the planning thread in the order
/// the tasks were given (the output, the report and the manifest read like a one-file-at-a-time
/// restore), and at most `window` tasks are ever between the two: memory stays bounded
/// whatever the number of files.
///
/// Where the readers read small copies many at once (`BatchReader`), consecutive small
/// tasks are given to a worker as one group, read in a few round trips for the group, then
/// each checked and written on its own (`FileRestorer.restoreBatch`).
final class RestorePool {
    /// A task with its place in the order.
    private struct Numbered: Sendable {
        let seq: Int
        let task: RestoreTask
    }

    /// A finished task; `done` is nil for one skipped after `cancel`.
    private struct Finished: Sendable {
        let seq: Int
        let task: RestoreTask?
        let done: RestoreDone?
    }

    /// Moves non-Sendable per-thread state (a reader, its restorer) to the thread that will
    /// be its only user.
    private struct Handover: @unchecked Sendable {
        let restorer: FileRestorer
    }

    private final class Cancelled: Sendable {
        let flag = Atomic<Bool>(false)
    }

    /// Groups of tasks: one task, or consecutive small ones read as a batch.
    private let jobs: BlockingQueue<[Numbered]>
    private let results: BlockingQueue<Finished>
    private let cancelled = Cancelled()
    private var threads: [WorkerThread] = []
    private let window: Int
    private var given = 0
    private var handed = 0
    private var waiting: [Int: Finished] = [:]
    /// Small tasks gathered for the next group, and its size and the size limit of its tasks
    /// (nil: no batches).
    private var pending: [Numbered] = []
    private let groupSize: Int
    private let batchLimit: Int64?
    /// Called on the planning thread, in order, for every task settled (not for skipped
    /// ones); the task is nil for a file turned away before it became one.
    private let handle: (RestoreTask?, RestoreDone) -> Void

    /// `1 + more` threads: the first restores with `first`, each other one with what `make`
    /// opens on that thread (connections are opened side by side; a thread whose `make`
    /// fails takes no task). `handle` receives the results in order.
    init(first: FileRestorer, more: Int, make: @escaping @Sendable () -> FileRestorer?, dryRun: Bool, logger: Logger,
         handle: @escaping (RestoreTask?, RestoreDone) -> Void) {
        batchLimit = dryRun ? nil : first.batch?.sizeLimit
        groupSize = batchLimit == nil ? 1 : max(1, first.batch?.batchSize ?? 1)
        // Two groups per worker in flight: one being read, one waiting.
        window = (1 + max(0, more)) * max(4, 2 * groupSize)
        jobs = BlockingQueue(capacity: window)
        results = BlockingQueue(capacity: window)
        self.handle = handle
        let jobs = self.jobs, results = self.results, cancelled = self.cancelled
        let handover = Handover(restorer: first)
        for n in 0...max(0, more) {
            threads.append(WorkerThread(name: "dvbackup-restore-\(n + 1)") {
                guard let restorer = n == 0 ? handover.restorer : make() else { return }
                while let group = jobs.take() {
                    // After a stop (SIGINT/SIGTERM) no new file is begun: those in hand finish.
                    if cancelled.flag.load(ordering: .relaxed) || StopSignal.isRequested {
                        for job in group { results.put(Finished(seq: job.seq, task: nil, done: nil)) }
                        continue
                    }
                    guard group.count > 1, let batch = restorer.batch else {
                        for job in group {
                            results.put(Finished(seq: job.seq, task: job.task, done: restorer.restore(job.task, dryRun: dryRun)))
                        }
                        continue
                    }
                    let trips = batch.roundTrips
                    let done = restorer.restoreBatch(group.map(\.task), dryRun: dryRun)
                    logger.debug("read \(group.count) copies in one batch in \(batch.roundTrips - trips) round trips")
                    for (job, d) in zip(group, done) { results.put(Finished(seq: job.seq, task: job.task, done: d)) }
                }
            })
        }
    }

    /// Gives a task to the workers; first hands back results while `window` tasks are out.
    func submit(_ task: RestoreTask) {
        collect(whileOutstandingAtLeast: window)
        let job = Numbered(seq: given, task: task)
        given += 1
        if let batchLimit, let size = task.item.expectedSize, size <= batchLimit {
            pending.append(job)
            if pending.count >= groupSize { flush() }
        } else {
            flush()
            jobs.put([job])
        }
    }

    /// Gives the gathered small tasks to the workers as one group.
    private func flush() {
        guard !pending.isEmpty else { return }
        jobs.put(pending)
        pending = []
    }

    /// A file settled without a worker (turned away before reading): handed back in its place.
    func settled(_ done: RestoreDone) {
        waiting[given] = Finished(seq: given, task: nil, done: done)
        given += 1
        handInOrder()
    }

    /// Tasks not yet started are skipped (not handed back); those running finish.
    func cancel() { cancelled.flag.store(true, ordering: .relaxed) }

    var isCancelled: Bool { cancelled.flag.load(ordering: .relaxed) }

    /// Waits for every task, hands back the rest, and ends the threads.
    func finish() {
        flush()
        jobs.close()
        collect(whileOutstandingAtLeast: 1)
        threads.forEach { $0.join() }
        threads = []
    }

    private func collect(whileOutstandingAtLeast limit: Int) {
        handInOrder()
        while given - handed >= limit {
            // Gathered tasks finish only once given: they are given as a (smaller) group only
            // when the workers hold nothing else to wait for. Giving them at every wait would
            // cut the groups down to a task or two once the window is full.
            if given - handed - pending.count - waiting.count <= 0 { flush() }
            guard let r = results.take() else { return }
            waiting[r.seq] = r
            handInOrder()
        }
    }

    private func handInOrder() {
        while let r = waiting.removeValue(forKey: handed) {
            handed += 1
            if let done = r.done { handle(r.task, done) }
        }
    }

    deinit {
        // Never left running: a pool is finished on every path.
        if !threads.isEmpty {
            cancel()
            flush()
            jobs.close()
            while given - handed > 0, let r = results.take() { _ = r; handed += 1 }
            threads.forEach { $0.join() }
        }
    }
}
