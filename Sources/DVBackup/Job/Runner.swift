import Logging

/// A backup run's threads: this thread plans (reading the catalog) and hands files to
/// `workers` worker threads, which copy them and pass each outcome to the recorder thread.
/// Returns when every planned file has been recorded, or the run was stopped.
struct Runner {
    let settings: Settings
    let logger: Logger

    /// What the threads did.
    struct Result {
        var totals = PlanTotals()
        /// The catalog could not be read to the end.
        var planError: String?
        /// Counted by the recorder (planned, skipped, deferred from `totals`).
        var counts = RunCounts()
        /// A status could not be recorded.
        var recordError: String?

        /// The error that stopped the run, if one did.
        var error: String? { planError ?? recordError }
    }

    func run(_ started: RunStart.Started, planner: Planner, target: any BackupTarget) -> Result {
        let jobs = BlockingQueue<CatalogFile>(capacity: settings.backup.workers * 4)
        let results = BlockingQueue<FileOutcome>(capacity: 256)
        // A live line on a terminal, else a log line every [Backup] ProgressInterval.
        let progress = RunProgress()
        let display = ProgressDisplay(progress: progress, mode: ProgressDisplay.mode(interval: settings.backup.progressIntervalSeconds),
                                      logger: logger)
        display.start()
        let workers = startWorkers(target: target, jobs: jobs, results: results, progress: progress)
        let recorder = Recorder(runId: started.runId, method: target.method, logger: logger, progress: progress)
        let recorderThread = recorder.start(connection: started.recorderDB, results: results)

        var result = Result()
        do {
            result.totals = try planner.plan { file, _ in
                if StopSignal.isRequested { throw Interrupted() }
                progress.planned(file)
                jobs.put(file)
            }
            progress.planFinished()
        } catch is Interrupted {
            result.planError = nil
        } catch {
            result.planError = "reading the catalog failed: \(error)"
            logger.error("reading the catalog failed: \(error)")
        }
        jobs.close()
        workers.forEach { $0.join() }
        results.close()
        recorderThread.join()
        display.finish()

        result.counts = recorder.state.snapshot()
        result.counts.planned = result.totals.planned
        result.counts.skipped = result.totals.skipped
        result.counts.deferred = result.totals.deferred
        result.recordError = recorder.state.error
        return result
    }

    /// One thread per worker, each with its own target session; a worker that cannot open
    /// one stops the run.
    private func startWorkers(target: any BackupTarget, jobs: BlockingQueue<CatalogFile>,
                              results: BlockingQueue<FileOutcome>, progress: RunProgress) -> [WorkerThread] {
        let transfer = Transfer(stores: SourceStores(registry: settings.stores, s3: settings.s3Stores, logger: logger))
        let logger = self.logger
        return (1...settings.backup.workers).map { n in
            WorkerThread(name: "dvbackup-worker-\(n)") {
                let session: any TargetSession
                do {
                    session = try target.makeSession()
                } catch {
                    logger.error("worker \(n) cannot open the target: \(error)")
                    StopSignal.request()
                    while jobs.take() != nil {}
                    return
                }
                CopyWorker(transfer: transfer, session: session, logger: logger, progress: progress).run(jobs: jobs, results: results)
            }
        }
    }
}

/// Thrown from the planner's callback when a stop was requested.
struct Interrupted: Error {}
