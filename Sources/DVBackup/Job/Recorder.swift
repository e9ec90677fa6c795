import Foundation
import Logging
import Synchronization

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

/// The recorder: one thread that takes each file's outcome from the workers, counts it (also
/// in `progress`, which the ``ProgressDisplay`` shows), logs it and writes its status row
/// (committed in batches). A status that cannot be written stops the run.
struct Recorder: Sendable {
    let runId: Int64
    let method: String
    let logger: Logger
    var progress: RunProgress? = nil
    /// What the thread counted, and the error that stopped it.
    let state = RecorderState()

    /// Starts the thread; it owns `connection` from then on and ends when `results` is
    /// closed and drained.
    func start(connection: PostgresConnection, results: BlockingQueue<FileOutcome>) -> WorkerThread {
        WorkerThread(name: "dvbackup-recorder") { [connection = SendableBox(connection)] in
            record(results, into: StatusRecorder(connection: connection.value, runId: runId, method: method))
        }
    }

    func record(_ results: BlockingQueue<FileOutcome>, into statuses: StatusRecorder) {
        while let outcome = results.take() {
            state.count(outcome)
            progress?.recorded(outcome)
            Self.log(outcome, logger)
            do {
                try statuses.record(outcome)
            } catch {
                state.fail("cannot record the status of datafile \(outcome.file.id): \(error)")
                logger.error("cannot record the status of datafile \(outcome.file.id): \(error); stopping the run")
                StopSignal.request()
                while results.take() != nil {}
                return
            }
        }
        do { try statuses.flush() } catch {
            state.fail("cannot record statuses: \(error)")
            logger.error("cannot record statuses: \(error)")
        }
    }

    static func log(_ o: FileOutcome, _ logger: Logger) {
        let f = o.file
        if let caveat = o.caveat {
            logger.warning("\(o.status.rawValue) datafile \(f.id) \(f.datasetPID) \(f.storageIdentifier): \(caveat); the copy is proven against the bytes read only")
        } else if o.status.isOK {
            logger.debug("\(o.status.rawValue) datafile \(f.id) \(f.datasetPID) \(f.storageIdentifier) \(o.bytes) bytes → \(o.location ?? "?"): \(o.detail)")
        } else {
            logger.error("\(o.status.rawValue) datafile \(f.id) \(f.datasetPID) \(f.storageIdentifier): \(o.detail)")
        }
    }
}
