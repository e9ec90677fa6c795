import Foundation
import Logging
import Synchronization

/// Shows a run's ``RunProgress`` while it goes: on a terminal, a live line on stderr redrawn
/// four times a second (through ``StatusLine``, so that log lines print above it) and cleared
/// at the end; otherwise (cron, systemd) an INFO line every `interval` seconds.
public final class ProgressDisplay: Sendable {
    public enum Mode: Sendable, Equatable {
        /// A live line on the terminal.
        case terminal
        /// A log line every so many seconds.
        case log(interval: Double)
    }

    let progress: RunProgress
    let mode: Mode
    let logger: Logger
    let line: StatusLine
    private let stop = DispatchSemaphore(value: 0)
    private let lastLog: Mutex<Double>
    private let thread = Mutex<WorkerThread?>(nil)

    /// Redraws per second on a terminal.
    static let redrawInterval = 0.25

    public init(progress: RunProgress, mode: Mode, logger: Logger, line: StatusLine = .shared) {
        self.progress = progress
        self.mode = mode
        self.logger = logger
        self.line = line
        lastLog = Mutex(progress.startedAt)
    }

    /// `.terminal` when stderr is a terminal, else log lines every `interval` seconds.
    public static func mode(interval: Int64) -> Mode {
        isatty(2) == 1 ? .terminal : .log(interval: Double(interval))
    }

    /// Starts the thread that draws or logs (on a terminal, the line is drawn at once).
    public func start() {
        if mode == .terminal { tick(now: MonotonicClock.now()) }
        let tick = mode == .terminal ? Self.redrawInterval : 1.0
        let worker = WorkerThread(name: "dvbackup-progress") { [self] in
            while stop.wait(timeout: .now() + tick) == .timedOut {
                self.tick(now: MonotonicClock.now())
            }
        }
        thread.withLock { $0 = worker }
    }

    /// Stops the thread and clears the live line.
    public func finish() {
        stop.signal()
        thread.withLock { $0 }?.join()
        if mode == .terminal { line.clear() }
    }

    /// One step of the thread: redraw, or log when `interval` has passed since the last line.
    func tick(now: Double) {
        switch mode {
        case .terminal:
            line.show(progress.figures(now: now).line)
        case .log(let interval):
            let due = lastLog.withLock { last in
                guard now - last >= interval else { return false }
                last = now
                return true
            }
            guard due else { return }
            logger.info("progress: \(progress.figures(now: now).line)")
        }
    }
}
