import Foundation

/// Writes reports: subject `[dvbackup] <installation> <mode>: <verdict>`, then the counts,
/// then every failed file grouped by status, most serious first.
public struct ReportComposer {
    public var installation: String
    public var maxFailureLines: Int
    /// The CSV attachment stops growing here (a mail server takes some tens of MB at most).
    public var maxCSVBytes = 10_000_000
    public var host = WallClock.hostname()
    /// The configuration file, for the commands the report suggests.
    public var configPath: String
    /// The run's files with no proven copy anywhere (``NoProvenCopySection``): `finished`
    /// names them in the subject and lists them first.
    public var noProvenCopy: NoProvenCopySection?

    public init(installation: String, maxFailureLines: Int, configPath: String) {
        self.installation = installation
        self.maxFailureLines = maxFailureLines
        self.configPath = configPath
    }

    public init(_ settings: Settings) {
        self.init(installation: settings.notifications.installation,
                  maxFailureLines: settings.notifications.maxFailureLines, configPath: Self.absolute(settings.path))
    }

    /// `path` from the root, so that the commands the report suggests work from anywhere.
    public static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// What each failure status means, for the group headings.
    public static func meaning(of status: String) -> String {
        switch BackupStatus(rawValue: status) {
        case .failSourceChecksum?: "the primary copy is damaged: the bytes read differ from the catalog's checksum (nothing was overwritten)"
        case .failAuditCorrupt?: "an audit found the proven copy damaged (its bytes differ from the reference or end early); the next run copies the file again from a primary that still matches the catalog"
        case .failAuditMissing?: "an audit found the proven copy gone from the target; the next run copies the file again from a primary that still matches the catalog"
        case .failVerify?: "the copy could not be proven to hold the bytes sent"
        case .failWrite?: "the copy could not be written"
        case .failRead?: "the source is missing or unreadable, or its store cannot be read"
        default: "not safely replicated"
        }
    }

    /// One OK_NO_CHECKSUM copy whose catalog checksum could not be used, with the reason.
    static func bytesOnlyLine(_ f: FailedFile) -> String {
        "\(f.status) \(f.dataset) datafile \(f.datafileId.map(String.init) ?? "?") \(f.storageIdentifier): proven against the bytes read only: \(oneLine(f.reason))"
    }

    static func exitMeaning(_ e: ExitStatus) -> String {
        switch e {
        case .success: "every planned file is OK"
        case .filesFailed: "the run finished with failed files"
        case .usage: "bad usage or configuration"
        case .cannotStart: "the run could not start"
        }
    }

    func subject(mode: RunMode, verdict: String) -> String {
        "[dvbackup] \(installation) \(mode.rawValue): \(verdict)"
    }

    static func cut(_ s: String, _ n: Int) -> String {
        let one = s.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
        return one.count > n ? String(one.prefix(n - 1)) + "…" : one
    }

    static func row(_ label: String, _ value: String) -> String {
        "  " + label.padding(toLength: 22, withPad: " ", startingAt: 0) + "  " + value
    }

    /// The verdict of a run that went through, for the subject.
    public static func verdict(_ s: RunSummary) -> String {
        let ok = s.counts.succeeded, failed = s.counts.failed
        var v: String
        if failed > 0 {
            v = "\(formatCount(failed)) failed, \(formatCount(ok)) OK"
        } else if ok > 0 {
            v = "all OK, \(formatCount(ok)) copied"
        } else {
            v = "all OK, nothing new to copy"
        }
        if let e = s.error { v = "FAILED (\(cut(e, 60))), " + v }
        else if s.state == .interrupted { v = "interrupted, " + v }
        return v
    }

    /// The report of a run that went through. `failures` pages through the run's failed
    /// files, most serious first (`StatusStore.failures(ofRun:)`); `nil` when they cannot be
    /// read.
    /// `bytesOnly`: the run's OK_NO_CHECKSUM copies whose catalog checksum could not be used
    /// (``StatusStore/provenAgainstBytesOnly(ofRun:limit:)``, up to `maxFailureLines + 1`).
    public func finished(_ s: RunSummary, exit: ExitStatus, finishedAt: Date = Date(), bytesOnly: [FailedFile] = [],
                         failures: ((([FailedFile]) throws -> Void) throws -> Void)?) -> RunReport {
        var lines: [String] = []
        let rate = s.seconds > 0 ? Double(s.counts.bytes) / s.seconds : 0
        let started = finishedAt.addingTimeInterval(-s.seconds)
        // Files with no proven copy anywhere: the most serious lines, first.
        let alarm = noProvenCopy.flatMap { $0.isEmpty ? nil : $0 }
        let verdict = (alarm.map { $0.headline + ", " } ?? "") + Self.verdict(s)
        lines.append("dvbackup \(s.mode.rawValue) run \(s.runId) on \(installation): \(verdict)")
        lines.append("")
        if let alarm { lines += alarm.lines(configPath: configPath) + [""] }
        lines.append(Self.row("started", Self.localTime(started)))
        lines.append(Self.row("finished", Self.localTime(finishedAt) + (s.state == .finished ? "" : " (\(s.state.rawValue))")))
        lines.append(Self.row("target", s.target))
        lines.append(Self.row("files planned", formatCount(s.counts.planned)))
        lines.append(Self.row("skipped (already OK)", formatCount(s.counts.skipped)))
        lines.append(Self.row("left for a later run", formatCount(s.counts.deferred)))
        for status in BackupStatus.allCases.sorted(by: { $0.severity > $1.severity }) {
            lines.append(Self.row(status.rawValue, formatCount(s.counts[status])))
        }
        lines.append(Self.row("bytes copied", "\(formatBytes(s.counts.bytes)) (\(formatCount(s.counts.bytes)) bytes)"))
        lines.append(Self.row("duration", "\(formatDecimal(s.seconds, places: 1)) s" + (s.seconds >= 60 ? " (\(DurationParser.format(Int64(s.seconds))))" : "")))
        lines.append(Self.row("rate", "\(formatBytes(Int64(rate)))/s"))
        lines.append(Self.row("exit code", "\(exit.rawValue) (\(Self.exitMeaning(exit)))"))
        if let e = s.error {
            lines.append("")
            lines.append("The run stopped early: \(e)")
        } else if s.state == .interrupted {
            lines.append("")
            lines.append("The run was interrupted (SIGINT or SIGTERM); the next run carries on.")
        }
        if !bytesOnly.isEmpty {
            lines.append("")
            lines.append("Copied, but not checked against the catalog's checksum: it names an algorithm dvbackup does not support or is malformed, so whether these bytes are the ones deposited is not known (the copy holds the bytes read):")
            for f in bytesOnly.prefix(maxFailureLines) { lines.append("  " + Self.bytesOnlyLine(f)) }
            if bytesOnly.count > maxFailureLines {
                lines.append("  … more: dvbackup status --config \(configPath) --status OK_NO_CHECKSUM --all")
            }
        }
        var csv: [UInt8]? = nil
        let total = s.counts.failed
        if total > 0 {
            lines.append("")
            lines.append("Failed files, most serious first (\(formatCount(total))):")
            var listed = 0
            var all = FailureCSV()
            var csvCut = false
            var group: String? = nil
            let cutList = total > Int64(maxFailureLines)
            do {
                try failures? { page in
                    for f in page {
                        if listed < maxFailureLines {
                            if f.status != group {
                                group = f.status
                                let n = BackupStatus(rawValue: f.status).map { s.counts[$0] } ?? 0
                                lines.append("")
                                lines.append("\(f.status) (\(formatCount(n))): \(Self.meaning(of: f.status))")
                            }
                            lines.append("  \(f.status) \(f.dataset) datafile \(f.datafileId.map(String.init) ?? "?") \(f.storageIdentifier): \(Self.oneLine(f.reason))")
                            listed += 1
                        }
                        if cutList && !csvCut {
                            if all.bytes.count < maxCSVBytes { all.append(f) } else { csvCut = true }
                        }
                    }
                }
                if failures == nil { lines.append("  (the failed files cannot be listed: the backup database could not be read)") }
            } catch {
                lines.append("  (cannot list the failed files: \(error))")
            }
            if cutList {
                lines.append("")
                lines.append("… \(formatCount(total - Int64(listed))) more failed files are not listed here (MaxFailureLines = \(maxFailureLines)).")
                if all.rows > 0 {
                    csv = all.bytes
                    let name = RunReport(subject: "", text: "", runId: s.runId, exitStatus: exit).csvFilename
                    lines.append(csvCut
                                 ? "The attached \(name) lists the first \(formatCount(all.rows)) of them (it stops at \(formatBytes(Int64(maxCSVBytes))))."
                                 : "The attached \(name) lists all \(formatCount(all.rows)).")
                }
                lines.append("All of them: dvbackup status --config \(configPath) --status \(BackupStatus.failures.map(\.rawValue).joined(separator: ",")) --all")
            }
        }
        lines += footer()
        return RunReport(subject: subject(mode: s.mode, verdict: verdict), text: lines.joined(separator: "\n") + "\n",
                         csv: csv, runId: s.runId, exitStatus: exit)
    }

    /// The report of a run that could not start.
    public func couldNotStart(mode: RunMode, reason: String, runId: Int64?, exit: ExitStatus = .cannotStart,
                              at date: Date = Date()) -> RunReport {
        var lines: [String] = []
        lines.append("dvbackup \(mode.rawValue) run\(runId.map { " \($0)" } ?? "") on \(installation) could not start.")
        lines.append("")
        lines.append(Self.row("why", Self.oneLine(reason)))
        lines.append(Self.row("when", Self.localTime(date)))
        lines.append(Self.row("host", host))
        lines.append(Self.row("exit code", "\(exit.rawValue) (\(Self.exitMeaning(exit)))"))
        lines.append("")
        lines.append("Nothing was copied and no file's status was changed.")
        if let hint = Self.hint(for: reason) { lines.append(hint) }
        lines += footer()
        return RunReport(subject: subject(mode: mode, verdict: "could not start: \(Self.cut(reason, 100))"),
                         text: lines.joined(separator: "\n") + "\n", runId: runId, exitStatus: exit)
    }

    static func hint(for reason: String) -> String? {
        if reason.contains("holds the lock") {
            return "Another run was still going: if it is stuck, see `dvbackup status`; it is not stopped for you."
        }
        if reason.contains("password authentication failed") || reason.contains("cannot connect to") {
            return "Check the [Database] section (or PGPASSWORD / ~/.pgpass) and that the database server is up."
        }
        if reason.contains("configuration") {
            return "`dvbackup check-config --config FILE` shows the problem and the effective settings."
        }
        if reason.contains("not usable") {
            return "Check that the backup target is mounted or reachable and writable."
        }
        return nil
    }

    func footer() -> [String] {
        ["", "-- ", "dvbackup on \(host); `dvbackup status --config \(configPath)` tells more,",
         "`dvbackup report --config \(configPath)` prints this report again."]
    }

    static func oneLine(_ s: String) -> String {
        s.replacingOccurrences(of: "\r\n", with: " / ").replacingOccurrences(of: "\n", with: " / ")
            .replacingOccurrences(of: "\r", with: " / ").replacingOccurrences(of: "\t", with: " ")
    }

    /// `2025-11-21 02:41:17 +0100`
    static func localTime(_ date: Date) -> String {
        let f = CalendarFields(date, timeZone: .current)
        let a = abs(f.offsetSeconds)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d ", f.year, f.month, f.day, f.hour, f.minute, f.second)
            + (f.offsetSeconds < 0 ? "-" : "+") + String(format: "%02d%02d", a / 3600, (a % 3600) / 60)
    }
}
