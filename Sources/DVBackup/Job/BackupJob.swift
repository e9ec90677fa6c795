import Foundation
import Logging

/// One run of the nightly job: ``RunStart`` (lock, schema, run row), the ``Planner`` and the
/// ``Runner`` (workers and recorder), then the run's row closed by ``RunState``'s rules.
/// The job prints the plan of a dry run; what a run did is its ``outcome``, which the
/// reports are made from.
public final class BackupJob {
    public let settings: Settings
    public let mode: RunMode
    public let logger: Logger
    let out: OutputWriter
    /// How the last `run()` ended (for the reports).
    public private(set) var outcome: RunOutcome = .notRun

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

    /// Runs the backup; sets ``outcome``. Exit code 0 when every planned file is OK, 1 when
    /// files failed or the run was stopped, 3 when it could not start.
    public func run() -> ExitStatus {
        let started = MonotonicClock.now()
        let target = makeTarget()
        let start = RunStart(settings: settings, logger: logger)
        let run: RunStart.Started
        do throws(StartFailure) {
            run = try start.open(mode: mode, target: target)
            logger.info("run \(run.runId) (\(mode.rawValue)) started: backing up to \(target.displayName) with \(settings.backup.workers) workers")
            try start.adoptLegacyRows(run)
        } catch {
            logger.error("\(error.message)")
            outcome = .couldNotStart(mode: mode, reason: error.message, runId: error.runId)
            return .cannotStart
        }

        let planner = Planner(catalog: run.catalog, status: run.status, mode: mode, startCursor: run.startCursor,
                              overlapSeconds: settings.backup.incrementalOverlapSeconds)
        describeWindow(planner)
        let result = Runner(settings: settings, logger: logger).run(run, planner: planner, target: target)

        let state = RunState.ending(error: result.error, interrupted: StopSignal.isRequested)
        do {
            try run.status.finishRun(run.runId, state: state, counts: result.counts,
                                     cursor: state.cursorToRecord(reached: result.totals.cursor), error: result.error)
        } catch {
            logger.error("cannot record the end of run \(run.runId): \(error)")
        }
        outcome = .finished(RunSummary(runId: run.runId, mode: mode, state: state, counts: result.counts,
                                       seconds: MonotonicClock.now() - started, target: target.displayName,
                                       error: result.error))
        return state.exitStatus(failedFiles: result.counts.failed)
    }
}
