import Foundation
import Logging

/// `dvbackup restore`: takes the run lock and leaves a run row (mode `restore`) like a backup
/// run, resolves the selection, and restores the files on several threads (a ``RestorePool``
/// of ``FileRestorer``s, one reader of the target each). A dry run takes no lock and writes nothing.
public final class RestoreJob {
    public let settings: Settings
    public let request: RestoreRequest
    public let logger: Logger
    let out: OutputWriter
    public private(set) var outcome: RestoreOutcome = .notRun

    public init(settings: Settings, request: RestoreRequest, logger: Logger, output: OutputWriter) {
        self.settings = settings
        self.request = request
        self.logger = logger
        out = output
    }

    var destinationText: String {
        switch request.destination {
        case .directory(let dir, let names): "\(dir)\(names == .labels ? " (named by their labels)" : "")"
        case .intoStore: "the primary stores (only missing or damaged primaries)"
        }
    }

    /// Why the destination directory cannot take the files, or `nil`.
    static func destinationProblem(_ dir: String) -> String? {
        var st = stat()
        guard stat(dir, &st) == 0 else { return "the destination \(dir) does not exist: \(errorText(errno))" }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return "the destination \(dir) is not a directory" }
        // Tried, not asked: access(2) says yes to root on file systems that refuse writes.
        let probe = dir + "/.dvbackup-probe-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return "the destination \(dir) is not writable: \(errorText(errno))" }
        close(fd)
        unlink(probe)
        return nil
    }

    private func fail(_ reason: String, _ exit: ExitStatus, runId: Int64? = nil) -> ExitStatus {
        logger.error("\(reason)")
        outcome = .couldNotStart(reason: reason, runId: runId, exit: exit)
        return exit
    }

    public func run() -> ExitStatus {
        let started = MonotonicClock.now()
        if case .directory(let dir, _) = request.destination, let problem = Self.destinationProblem(dir) {
            return fail(problem + "; nothing was restored", .usage)
        }
        let target = BackupJob(settings: settings, mode: .incremental, logger: logger, output: out).makeTarget()
        guard let readable = target as? any ReadableTarget else {
            return fail("\(target.displayName) cannot be read back", .cannotStart)
        }
        let start = RunStart(settings: settings, logger: logger)
        let status: StatusStore
        let catalog: CatalogReader
        var runId: Int64? = nil
        do throws(StartFailure) {
            if request.dryRun {
                status = StatusStore(connection: try start.connect())
                catalog = CatalogReader(connection: try start.connect(catalog: true))
            } else {
                let run = try start.open(modeName: "restore", target: target, checkTarget: false)
                status = run.status
                catalog = run.catalog
                runId = run.runId
            }
        } catch {
            return fail(error.message, .cannotStart, runId: error.runId)
        }

        var summary = RestoreSummary(runId: runId, target: target.displayName, destination: destinationText, dryRun: request.dryRun)
        func finish(_ state: RunState, error: String?) -> ExitStatus {
            summary.state = state
            summary.error = error
            summary.seconds = MonotonicClock.now() - started
            if let runId {
                do { try status.finishRun(runId, state: state, counts: summary.counts, cursor: nil, error: error) } catch {
                    logger.error("cannot record the end of run \(runId): \(error)")
                }
            }
            outcome = .finished(summary)
            return summary.exitStatus
        }

        let selection = RestoreSelection(catalog: catalog, status: status, registry: settings.stores)
        let ids: [Int64]
        do {
            ids = try selection.ids(request.selection)
        } catch let problem as RestoreSelection.Problem {
            _ = finish(.failed, error: problem.description)
            return fail(problem.description, .usage, runId: runId)
        } catch {
            _ = finish(.failed, error: "\(error)")
            return fail("cannot read what to restore: \(error)", .cannotStart, runId: runId)
        }
        // One reader (one connection) per worker, as many as the backup uses (no more than there
        // are files); the first must open here, the others open on their own threads.
        let wanted = request.dryRun ? 1 : max(1, min(settings.backup.workers, ids.count))
        let first: FileRestorer
        do { first = try Self.restorer(settings, readable, request.destination, logger) } catch {
            _ = finish(.failed, error: error.message)
            return fail(error.message, .cannotStart, runId: runId)
        }
        let make: @Sendable () -> FileRestorer? = { [settings, destination = request.destination, logger] in
            do throws(TargetUnavailable) { return try Self.restorer(settings, readable, destination, logger) } catch {
                logger.warning("a reader cannot open the target (\(error.message)); restoring with fewer")
                return nil
            }
        }
        logger.info("restore\(runId.map { " (run \($0))" } ?? ""): \(ids.count) file(s) selected, from \(target.displayName) to \(destinationText)\(request.dryRun ? " (dry run)" : ""), \(wanted) reader(s)")

        var manifest: SafeFileWriter? = nil
        if case .directory(let dir, _) = request.destination, !request.dryRun {
            do throws(ReadFailure) {
                let m = try SafeFileWriter(base: dir, relative: RestoreManifest.fileName, createDirectories: false)
                try Self.append(RestoreManifest.line(RestoreManifest.header), to: m)
                manifest = m
            } catch {
                return finish(.failed, error: "cannot write the manifest: \(error)")
            }
        }
        // Results come back in datafile id order, whatever the order they finish in.
        var stopError: String? = nil
        var manifestFailed = false
        let out = self.out
        // A primary restored into its store is proven: `sourcefixity` says so (not for a dry run).
        let restoredPrimaries = request.destination == .intoStore ? runId.flatMap { RestoredPrimaries.open(status.db, runId: $0, logger: logger) } : nil
        let pool = RestorePool(first: first, more: wanted - 1, make: make, dryRun: request.dryRun, logger: logger) { task, done in
            summary.add(done.result)
            if let task { restoredPrimaries?.record(task.item, done.result) }
            out.line(Self.line(done.result))
            if let m = manifest, let task, let written = done.writtenRelative, let e = task.item.expected {
                let item = task.item
                let row = [String(item.file.id), item.file.datasetPID, item.storageName, task.label ?? "",
                           written, e.algorithm.rawValue, e.hex, String(done.result.bytes)]
                do throws(ReadFailure) { try Self.append(RestoreManifest.line(row), to: m) } catch {
                    manifestFailed = true
                    if stopError == nil { stopError = "cannot write the manifest: \(error)" }
                }
            }
            if done.targetLost, stopError == nil { stopError = done.result.detail }
        }
        var placement = RestorePlacement(destination: request.destination)
        let labelsWanted = request.destination == .directory(destinationDirectory ?? "", names: .labels)
        var interrupted = false
        batches: for start in stride(from: 0, to: ids.count, by: RestoreSelection.batchSize) {
            let batch = Array(ids[start..<min(ids.count, start + RestoreSelection.batchSize)])
            let items: [RestoreItem]
            let labels: [Int64: FileLabel]
            do {
                items = try selection.items(batch)
                labels = labelsWanted ? try catalog.labels(ids: batch) : [:]
            } catch {
                stopError = "cannot read the catalog: \(error)"
                break
            }
            for item in items {
                if StopSignal.isRequested { interrupted = true }
                if interrupted || stopError != nil {
                    pool.cancel()
                    break batches
                }
                switch placement.place(item, label: labels[item.file.id]) {
                case .success(let task): pool.submit(task)
                case .failure(let turnedAway): pool.settled(turnedAway.done)
                }
            }
        }
        if stopError != nil { pool.cancel() }
        pool.finish()
        // A stop that came once every file was handed to the workers: the files not begun
        // by then were skipped.
        if StopSignal.isRequested { interrupted = true }
        // The manifest lists every file restored, also when the restore stopped before its end
        // (interrupted, or the target lost): those files are proven and in place.
        if let m = manifest, !manifestFailed {
            do throws(ReadFailure) { try m.commit() } catch {
                if stopError == nil { stopError = "cannot write the manifest: \(error)" }
            }
        }
        if let stopError { return finish(.failed, error: stopError) }
        if interrupted { return finish(.interrupted, error: nil) }
        return finish(.finished, error: nil)
    }

    /// A restorer with a reader of its own (one connection to the target).
    static func restorer(_ settings: Settings, _ readable: any ReadableTarget, _ destination: RestoreRequest.Destination,
                         _ logger: Logger) throws(TargetUnavailable) -> FileRestorer {
        let reader = try readable.makeReader()
        var storeWriter: StoreWriter? = nil
        if destination == .intoStore {
            storeWriter = StoreWriter(stores: SourceStores(registry: settings.stores, s3: settings.s3Stores, logger: logger),
                                      s3: settings.s3Stores)
        }
        return FileRestorer(reader: reader, destination: destination, storeWriter: storeWriter)
    }

    private var destinationDirectory: String? {
        if case .directory(let dir, _) = request.destination { return dir }
        return nil
    }

    private static func append(_ text: String, to writer: SafeFileWriter) throws(ReadFailure) {
        let bytes = Array(text.utf8)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: bytes)
        try writer.write(UnsafeRawBufferPointer(rebasing: buffer[0..<bytes.count]))
    }

    static func line(_ r: RestoreResult) -> String {
        let what = "datafile \(r.datafileId) (\(r.dataset), \(r.storageName))"
        switch r.kind {
        case .restored: return "restored       \(what) -> \(r.detail) (\(formatBytes(r.bytes)))"
        case .intact: return "intact         \(what): \(r.detail)"
        case .wouldRestore: return "would restore  \(what) -> \(r.detail)"
        case .failed: return "FAILED         \(what): \(r.detail)"
        }
    }
}
