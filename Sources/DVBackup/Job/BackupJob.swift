import Foundation
import Logging
import Synchronization

/// One run of the nightly job, from settings to summary.
public final class BackupJob {
    public let settings: Settings
    public let mode: RunMode
    public let logger: Logger
    let out: OutputWriter
    /// How the last `run()` ended (for the morning report).
    public internal(set) var outcome: RunOutcome = .notRun

    public init(settings: Settings, mode: RunMode, logger: Logger, output: OutputWriter) {
        self.settings = settings
        self.mode = mode
        self.logger = logger
        out = output
    }

    public static func installSignalHandlers() { StopSignal.install() }

    func makeTarget() -> any BackupTarget {
        if let swift = settings.backup.swift {
            return SwiftTarget(settings: swift, logger: logger)
        }
        if let ssh = settings.backup.ssh {
            return SFTPTarget(connection: ssh.connection(), root: settings.backup.backupDirectory, logger: logger,
                              hashDuringUpload: ssh.hashDuringUpload)
        }
        return LocalTarget(root: settings.backup.backupDirectory)
    }

    /// Connects to the backup (`catalog: false`) or catalog database; failing, the run cannot start.
    func connect(catalog: Bool = false) throws(StartFailure) -> PostgresConnection {
        do {
            return catalog ? try settings.database.connectCatalog() : try settings.database.connectBackup()
        } catch {
            throw StartFailure(error.description)
        }
    }

    // MARK: dry run

    /// Prints the plan; changes nothing (schema upgrades and legacy matching happen in a
    /// transaction that is rolled back).
    public func dryRun() -> ExitStatus {
        do {
            let backup = try connect()
            let catalogDB = try connect(catalog: true)
            let status = StatusStore(connection: backup)
            let catalog = CatalogReader(connection: catalogDB)
            try backup.execute("BEGIN")
            defer { _ = try? backup.execute("ROLLBACK") }
            let pending = try Migrations.apply(backup, insideTransaction: true)
            if !pending.isEmpty {
                logger.info("dry run: the backup database needs schema upgrades (\(pending.joined(separator: ", "))); a real run applies them")
            }
            let adopted = try LegacyAdoption.run(status: status, catalog: catalog, insideTransaction: true)
            if adopted.matched > 0 {
                logger.info("dry run: \(adopted.matched) rows of the original run_backup.py would be matched to catalog files")
            }
            let cursor = try status.incrementalCursor()
            let planner = Planner(catalog: catalog, status: status, mode: mode, startCursor: cursor,
                                  overlapSeconds: settings.backup.incrementalOverlapSeconds)
            describeWindow(planner)
            var bytes: Int64 = 0
            let stores = SourceStores(registry: settings.stores, s3: settings.s3Stores, logger: logger)
            let totals = try planner.plan { file, previous in
                let size = file.expectedSourceSize ?? file.fileSize
                bytes += size ?? 0
                let why = previous.map { $0.status.hasPrefix("FAIL") ? "retry after \($0.status)" : "checksum changed since \($0.status)" } ?? "new"
                var source = ""
                do throws(FileFailure) {
                    let store = try stores.store(for: file)
                    source = try store.locate(file).address
                } catch {
                    source = "cannot be read: \(error.reason)"
                }
                out.line("copy datafile \(file.id) \(file.datasetPID) \(file.storageIdentifier) \(size.map { "\($0) bytes" } ?? "size unknown") \(file.isTabular ? "(tabular: original) " : "")[\(why)] from \(source)")
            }
            out.line("dry run (\(mode.rawValue)): \(formatCount(totals.planned)) files would be copied (\(formatBytes(bytes))), \(formatCount(totals.skipped)) skipped as already OK, \(formatCount(totals.deferred)) left for a later run (ingest in progress); nothing was changed")
            out.flush()
            return .success
        } catch let e as StartFailure {
            logger.error("\(e.message)")
            return .cannotStart
        } catch {
            logger.error("dry run failed: \(error)")
            return .cannotStart
        }
    }

    func describeWindow(_ planner: Planner) {
        switch (planner.mode, planner.startCursor) {
        case (.rerun, _):
            logger.info("full reconciliation (--rerun): reading the whole catalog")
        case (.incremental, nil):
            logger.info("incremental run with no cursor yet: reading the whole catalog")
        case (.incremental, let c?):
            logger.info("incremental run: files after \(c.createdate) (id \(c.id)) less the overlap of \(DurationParser.format(planner.overlapSeconds)), and every earlier failure")
        }
    }

    // MARK: run

    public func run() -> ExitStatus {
        let started = MonotonicClock.now()
        let target = makeTarget()
        let backup: PostgresConnection
        let status: StatusStore
        do {
            backup = try connect()
            status = StatusStore(connection: backup)
            guard try status.tryLock() else {
                let holder = status.lockHolderDescription().map { ": \($0)" } ?? ""
                throw StartFailure("another dvbackup run holds the lock on \(settings.database.backupLabel)\(holder); this run did not start")
            }
            let applied = try Migrations.apply(backup)
            for name in applied { logger.info("backup database upgraded: applied \(name)") }
        } catch let e as StartFailure {
            logger.error("\(e.message)")
            return couldNotStart(e.message)
        } catch {
            logger.error("cannot prepare the backup database: \(error)")
            return couldNotStart("cannot prepare the backup database: \(error)")
        }

        let runId: Int64
        let startCursor: CatalogCursor?
        do {
            try status.markAbandonedRuns()
            // Before this run's own row exists: a database of the original script has none.
            startCursor = try status.incrementalCursor()
            runId = try status.startRun(mode: mode.rawValue, method: target.method, target: target.displayName)
        } catch {
            logger.error("cannot record the run in the backup database: \(error)")
            return couldNotStart("cannot record the run in the backup database: \(error)")
        }
        let catalogDB: PostgresConnection
        let recorderDB: PostgresConnection
        do {
            catalogDB = try connect(catalog: true)
            recorderDB = try connect()
            do { try target.checkUsable() } catch { throw StartFailure(error.message) }
        } catch let e as StartFailure {
            logger.error("\(e.message)")
            try? status.finishRun(runId, state: "failed", counts: RunCounts(), cursor: nil, error: e.message)
            return couldNotStart(e.message, runId: runId)
        } catch {
            return couldNotStart("\(error)", runId: runId)
        }
        let catalog = CatalogReader(connection: catalogDB)
        logger.info("run \(runId) (\(mode.rawValue)) started: backing up to \(target.displayName) with \(settings.backup.workers) workers")

        do {
            let adopted = try LegacyAdoption.run(status: status, catalog: catalog)
            if adopted.matched > 0 {
                logger.info("matched \(adopted.matched) rows written by the original run_backup.py to catalog files")
            }
        } catch {
            logger.error("cannot match the original script's rows to the catalog: \(error)")
            try? status.finishRun(runId, state: "failed", counts: RunCounts(), cursor: nil, error: "\(error)")
            return couldNotStart("cannot match the original script's rows to the catalog: \(error)", runId: runId)
        }

        // Workers copy; the recorder writes statuses; this thread plans.
        let jobs = BlockingQueue<CatalogFile>(capacity: settings.backup.workers * 4)
        let results = BlockingQueue<FileOutcome>(capacity: 256)
        let transfer = Transfer(stores: SourceStores(registry: settings.stores, s3: settings.s3Stores, logger: logger))
        let logger = self.logger
        var workers: [WorkerThread] = []
        for n in 1...settings.backup.workers {
            workers.append(WorkerThread(name: "dvbackup-worker-\(n)") {
                let session: any TargetSession
                do {
                    session = try target.makeSession()
                } catch {
                    logger.error("worker \(n) cannot open the target: \(error)")
                    StopSignal.request()
                    while jobs.take() != nil {}
                    return
                }
                CopyWorker(transfer: transfer, session: session, logger: logger).run(jobs: jobs, results: results)
            })
        }
        let recorderBox = RecorderState()
        let recorderThread = WorkerThread(name: "dvbackup-recorder") { [recorderDB = SendableBox(recorderDB)] in
            let recorder = StatusRecorder(connection: recorderDB.value, runId: runId, method: target.method)
            var lastProgress = MonotonicClock.now()
            while let outcome = results.take() {
                recorderBox.count(outcome)
                Self.log(outcome, logger)
                do {
                    try recorder.record(outcome)
                } catch {
                    recorderBox.fail("cannot record the status of datafile \(outcome.file.id): \(error)")
                    logger.error("cannot record the status of datafile \(outcome.file.id): \(error); stopping the run")
                    StopSignal.request()
                    while results.take() != nil {}
                    return
                }
                let now = MonotonicClock.now()
                if now - lastProgress >= 60 {
                    lastProgress = now
                    let c = recorderBox.snapshot()
                    logger.info("progress: \(formatCount(c.succeeded + c.failed)) files done (\(formatCount(c.failed)) failed), \(formatBytes(c.bytes))")
                }
            }
            do { try recorder.flush() } catch {
                recorderBox.fail("cannot record statuses: \(error)")
                logger.error("cannot record statuses: \(error)")
            }
        }

        let planner = Planner(catalog: catalog, status: status, mode: mode,
                              startCursor: startCursor,
                              overlapSeconds: settings.backup.incrementalOverlapSeconds)
        describeWindow(planner)
        var totals = PlanTotals()
        var planError: String? = nil
        do {
            totals = try planner.plan { file, _ in
                if StopSignal.isRequested { throw Interrupted() }
                jobs.put(file)
            }
        } catch is Interrupted {
            planError = nil
        } catch {
            planError = "reading the catalog failed: \(error)"
            logger.error("\(planError!)")
        }
        jobs.close()
        workers.forEach { $0.join() }
        results.close()
        recorderThread.join()

        var counts = recorderBox.snapshot()
        counts.planned = totals.planned
        counts.skipped = totals.skipped
        counts.deferred = totals.deferred
        let interrupted = StopSignal.isRequested
        let recordError = recorderBox.error
        let error = [planError, recordError].compactMap { $0 }.first
        let state = error != nil ? "failed" : interrupted ? "interrupted" : "finished"
        // The cursor moves only when every planned file has been recorded.
        let cursor = state == "finished" ? totals.cursor : nil
        do {
            try status.finishRun(runId, state: state, counts: counts, cursor: cursor, error: error)
        } catch {
            logger.error("cannot record the end of run \(runId): \(error)")
        }
        let elapsed = MonotonicClock.now() - started
        let summary = RunSummary(runId: runId, mode: mode, state: state, counts: counts, seconds: elapsed,
                                 target: target.displayName, error: error)
        summary.render(into: out) { body in try status.failures(ofRun: runId, body) }
        out.flush()
        outcome = .finished(summary)
        if error != nil || interrupted { return .filesFailed }
        return counts.failed > 0 ? .filesFailed : .success
    }

    static func log(_ o: FileOutcome, _ logger: Logger) {
        let f = o.file
        if o.status.isOK {
            logger.debug("\(o.status.rawValue) datafile \(f.id) \(f.datasetPID) \(f.storageIdentifier) \(o.bytes) bytes → \(o.location ?? "?"): \(o.detail)")
        } else {
            logger.error("\(o.status.rawValue) datafile \(f.id) \(f.datasetPID) \(f.storageIdentifier): \(o.detail)")
        }
    }
}

struct Interrupted: Error {}

/// Hands a non-Sendable value to exactly one other thread, which then owns it.
struct SendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Counts kept by the recorder thread and read by the main thread after joining it.
final class RecorderState: Sendable {
    private let state = Mutex<(counts: RunCounts, error: String?)>((RunCounts(), nil))

    func count(_ o: FileOutcome) {
        state.withLock {
            $0.counts[o.status] += 1
            if o.status.isOK { $0.counts.bytes += o.bytes }
        }
    }

    func fail(_ message: String) { state.withLock { $0.error = $0.error ?? message } }
    func snapshot() -> RunCounts { state.withLock { $0.counts } }
    var error: String? { state.withLock { $0.error } }
}
