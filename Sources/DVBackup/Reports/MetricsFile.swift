import Foundation
import Logging

/// After a run: the run's metrics in Prometheus text format, written atomically to `[Backup]
/// MetricsFile` (or `--metrics-file`) for node-exporter's textfile collector. The backup
/// database is the source (the last run of each mode, each mode's last success, the files by
/// status), so the other mode's values stay as they were; when it cannot be read, the values
/// of the previous file are kept and this run's own replace those of its mode. Nothing here
/// changes what was recorded or the run's exit code.
public struct MetricsFile {
    public let path: String
    public let settings: Settings
    public let logger: Logger

    public init(path: String, settings: Settings, logger: Logger) {
        self.path = path
        self.settings = settings
        self.logger = logger
    }

    static let families: [(name: String, help: String)] = [
        ("dvbackup_last_run_start_timestamp_seconds", "When the last run of this mode started (Unix time)."),
        ("dvbackup_last_run_end_timestamp_seconds", "When the last run of this mode ended (Unix time)."),
        ("dvbackup_last_run_exit_code", "The exit code of the last run of this mode: 0 all OK, 1 failed files or stopped, 3 could not start."),
        ("dvbackup_last_run_duration_seconds", "How long the last run of this mode took."),
        ("dvbackup_last_run_copied_bytes", "Bytes copied and proven by the last run of this mode."),
        ("dvbackup_last_run_files", "Files of the last run of this mode, by result (planned, ok, failed, skipped, deferred)."),
        ("dvbackup_last_success_timestamp_seconds", "When the last run of this mode that ended with exit code 0 ended (Unix time)."),
        ("dvbackup_files", "Files in the backup database, by status."),
        ("dvbackup_backup_database_up", "Whether the backup database could be read when this file was written (1) or not (0)."),
    ]

    /// Writes the file for a run of `mode` that started at `started` and ended with `exit`.
    public func write(_ outcome: RunOutcome, mode: RunMode, exit: ExitStatus, started: Date, now: Date = Date()) {
        let runId: Int64?
        switch outcome {
        case .notRun: return
        case .finished(let s): runId = s.runId
        case .couldNotStart(_, _, let id): runId = id
        }
        var samples: [MetricSample]
        do {
            let store = StatusStore(connection: try settings.database.connectBackup())
            samples = try Self.samples(runs: store.lastRunsByMode(), files: store.countsByStatus(StatusFilter()),
                                       current: (runId, mode, exit))
        } catch {
            logger.warning("metrics file \(path): \(settings.database.backupLabel) cannot be read (\(error)); keeping the other values of the previous file")
            let previous = (try? String(contentsOfFile: path, encoding: .utf8)).map(PrometheusText.parse) ?? []
            samples = Self.merge(previous: previous, mode: mode, exit: exit, started: started, ended: now)
        }
        do {
            try Self.writeAtomically(PrometheusText.render(samples, families: Self.families), to: path)
            logger.debug("metrics written to \(path)")
        } catch {
            logger.error("cannot write the metrics file \(path): \(error)")
        }
    }

    /// The samples from the backup database; the current run's `exit` wins over its row's.
    static func samples(runs: [ModeRunFacts], files: [String: Int64], current: (runId: Int64?, mode: RunMode, exit: ExitStatus)) -> [MetricSample] {
        var out: [MetricSample] = []
        for r in runs {
            let mode = [("mode", r.mode)]
            var exit = r.exitCode ?? (r.state == RunState.notStarted.rawValue ? 3 : r.state == RunState.finished.rawValue && r.failed == 0 ? 0 : 1)
            if r.runId == current.runId || (current.runId == nil && r.mode == current.mode.rawValue && r.exitCode == nil) {
                exit = Int64(current.exit.rawValue)
            }
            out.append(MetricSample("dvbackup_last_run_start_timestamp_seconds", mode, seconds: r.started))
            if let end = r.finished {
                out.append(MetricSample("dvbackup_last_run_end_timestamp_seconds", mode, seconds: end))
                out.append(MetricSample("dvbackup_last_run_duration_seconds", mode, seconds: max(0, end - r.started)))
            }
            out.append(MetricSample("dvbackup_last_run_exit_code", mode, exit))
            out.append(MetricSample("dvbackup_last_run_copied_bytes", mode, r.bytes))
            for (result, n) in [("planned", r.planned), ("ok", r.ok), ("failed", r.failed), ("skipped", r.skipped), ("deferred", r.deferred)] {
                out.append(MetricSample("dvbackup_last_run_files", mode + [("result", result)], n))
            }
            if let success = r.lastSuccess { out.append(MetricSample("dvbackup_last_success_timestamp_seconds", mode, seconds: success)) }
        }
        let statuses = Set(BackupStatus.allCases.map(\.rawValue)).union(files.keys)
        for status in statuses.sorted() {
            out.append(MetricSample("dvbackup_files", [("status", status)], files[status] ?? 0))
        }
        out.append(MetricSample("dvbackup_backup_database_up", [], 1))
        return out
    }

    /// The previous file's samples with this run's (which could not read the database: it
    /// could not start) in place of its mode's last run.
    static func merge(previous: [MetricSample], mode: RunMode, exit: ExitStatus, started: Date, ended: Date) -> [MetricSample] {
        let mine = [("mode", mode.rawValue)]
        var out = previous.filter {
            !($0.name.hasPrefix("dvbackup_last_run_") && $0.label("mode") == mode.rawValue) && $0.name != "dvbackup_backup_database_up"
        }
        out += [
            MetricSample("dvbackup_last_run_start_timestamp_seconds", mine, seconds: started.timeIntervalSince1970),
            MetricSample("dvbackup_last_run_end_timestamp_seconds", mine, seconds: ended.timeIntervalSince1970),
            MetricSample("dvbackup_last_run_duration_seconds", mine, seconds: max(0, ended.timeIntervalSince(started))),
            MetricSample("dvbackup_last_run_exit_code", mine, Int64(exit.rawValue)),
            MetricSample("dvbackup_last_run_copied_bytes", mine, 0),
            MetricSample("dvbackup_backup_database_up", [], 0),
        ]
        return out
    }

    /// Writes `text` to a temporary file in the same directory (a name node-exporter ignores:
    /// not `*.prom`), flushes it to disk, renames it over `path` and flushes the directory: a
    /// reader sees the old file or the new one, never half of one.
    static func writeAtomically(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let temp = dir + "/." + url.lastPathComponent + ".\(getpid()).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MetricsFileError("cannot create \(temp): \(String(cString: strerror(errno)))") }
        var ok = true
        var err = ""
        Array(text.utf8).withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { ok = false; err = String(cString: strerror(errno)); return }
                offset += n
            }
        }
        if ok && fsync(fd) != 0 { ok = false; err = String(cString: strerror(errno)) }
        close(fd)
        guard ok else { unlink(temp); throw MetricsFileError("cannot write \(temp): \(err)") }
        guard rename(temp, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temp)
            throw MetricsFileError("cannot rename \(temp) to \(path): \(why)")
        }
        _ = syncDirectory(dir)  // best effort: the file is in place
    }
}

struct MetricsFileError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
