import Foundation

/// The summary and the mailed report of an audit: the verdict, the counts, the rotation's
/// state (overdue copies, the oldest verification, whether the cycle is kept), then the
/// findings in a section of their own, most serious first.
public struct AuditReport {
    public var composer: ReportComposer

    public init(_ settings: Settings) { composer = ReportComposer(settings) }

    static func noun(_ side: AuditSide) -> String { side == .copies ? "copies" : "primaries" }

    public static func verdict(_ s: AuditSummary) -> String {
        var v: String
        if s.findingCount > 0 {
            v = "\(formatCount(s.findingCount)) finding\(s.findingCount == 1 ? "" : "s"), \(formatCount(s.verified + s.present)) \(s.depth == .quick ? "present" : "verified")"
        } else {
            v = "all \(formatCount(s.verified + s.present)) \(s.depth == .quick ? "present" : "verified")"
        }
        if let e = s.error { v = "STOPPED (\(ReportComposer.cut(e, 60))), " + v }
        else if s.state == .interrupted { v = "interrupted, " + v }
        return v
    }

    /// The lines the command prints and the mail carries, before the findings.
    public static func summaryLines(_ s: AuditSummary) -> [String] {
        let row = ReportComposer.row
        var lines: [String] = []
        lines.append(row("audited", s.side == .copies ? "copies on \(s.target)\(s.depth == .quick ? " (--quick: present, not verified)" : "")" : "the primaries (stores) against the catalog"))
        lines.append(row("taken", "\(formatCount(s.taken)) of \(formatCount(s.before.files)) (\(formatBytes(s.bytes)) proven)"))
        lines.append(row(s.depth == .quick ? "present" : "verified", formatCount(s.verified + s.present)))
        lines.append(row(s.side == .copies ? "FAIL_AUDIT_CORRUPT" : "damaged", formatCount(s.corrupt)))
        lines.append(row(s.side == .copies ? "FAIL_AUDIT_MISSING" : "missing", formatCount(s.missing)))
        lines.append(row("unreadable", formatCount(s.unreadable)))
        lines.append(row("skipped", formatCount(s.skipped)))
        lines.append(row("duration", "\(formatDecimal(s.seconds, places: 1)) s"))
        lines.append(row("overdue", "\(formatCount(s.after.overdueFiles)) \(noun(s.side)) not verified within the cycle of \(DurationParser.format(s.cycleSeconds)) (\(formatCount(s.before.overdueFiles)) before this audit)"))
        lines.append(row("oldest verification", s.after.neverVerified > 0 ? "never (\(formatCount(s.after.neverVerified)) never verified)" : s.after.oldestVerified ?? "none"))
        if s.error == nil, !s.forecast.explanation.isEmpty { lines.append(row("cycle", s.forecast.explanation)) }
        return lines
    }

    static func meaning(_ k: AuditFindingLine.Kind) -> String {
        switch k {
        case .noProvenCopy: "the primary is damaged or missing and no proven backup copy exists: nothing can restore it"
        case .corrupt: "the proven copy is damaged; the next run copies the file again from a primary that matches the catalog"
        case .missing: "the proven copy is gone; the next run copies the file again from a primary that matches the catalog"
        case .primaryDamaged: "the primary differs from the catalog; its backup copy is proven: restore it"
        case .primaryMissing: "the primary is gone; its backup copy is proven: restore it"
        case .unreadable: "could not be read: neither proven nor shown to be damaged"
        }
    }

    public func finished(_ s: AuditSummary, exit: ExitStatus) -> RunReport {
        var lines = ["dvbackup \(s.side.rawValue) \(s.runId) on \(composer.installation): \(Self.verdict(s))", ""]
        lines += Self.summaryLines(s)
        lines.append(ReportComposer.row("exit code", "\(exit.rawValue) (\(exit == .success ? "nothing found" : exit == .cannotStart ? "the target could not be used" : "findings"))"))
        if let e = s.error {
            lines += ["", "The audit stopped: \(e). \(s.side == .copies ? "Copies" : "Primaries") not yet proven keep their status; this is not a finding."]
        }
        if !s.findings.isEmpty {
            lines += ["", "Audit findings, most serious first (\(formatCount(s.findingCount))):"]
            var group: AuditFindingLine.Kind? = nil
            for (i, f) in s.findings.enumerated() where i < composer.maxFailureLines {
                if f.kind != group {
                    group = f.kind
                    lines += ["", "\(f.kind.rawValue): \(Self.meaning(f.kind))"]
                }
                lines.append("  \(f.kind.rawValue) \(f.dataset) datafile \(f.datafileId) \(f.storageIdentifier): \(ReportComposer.oneLine(f.reason))")
                if let r = f.remedy { lines.append("    restore it: \(r)") }
            }
            let more = Int64(max(0, s.findings.count - composer.maxFailureLines)) + s.findingsNotKept
            if more > 0 { lines.append("… \(formatCount(more)) more not listed (MaxFailureLines = \(composer.maxFailureLines)).") }
        }
        lines += composer.footer()
        let subject = "[dvbackup] \(composer.installation) \(s.side.rawValue): \(Self.verdict(s))"
        return RunReport(subject: subject, text: lines.joined(separator: "\n") + "\n", runId: s.runId, exitStatus: exit)
    }

    /// The report of an audit that could not start (the lock held, the database down…): the
    /// reason, and that nothing was proven or recorded, in the audit's own words.
    public func couldNotStart(side: AuditSide, reason: String, runId: Int64?, exit: ExitStatus = .cannotStart,
                              at date: Date = Date()) -> RunReport {
        let row = ReportComposer.row
        var lines = ["dvbackup \(side.rawValue)\(runId.map { " \($0)" } ?? "") on \(composer.installation) could not start.", ""]
        lines.append(row("why", ReportComposer.oneLine(reason)))
        lines.append(row("when", ReportComposer.localTime(date)))
        lines.append(row("host", composer.host))
        lines.append(row("exit code", "\(exit.rawValue) (the audit could not start)"))
        lines.append("")
        lines.append(side == .copies
                     ? "No copy was proven and no file's status was changed: the copies due keep their place in the rotation, and the next audit takes them first."
                     : "No primary was checked and nothing was recorded: the primaries due keep their place in the rotation, and the next audit --source takes them first.")
        if reason.contains("holds the lock") {
            lines.append("A backup run or another audit was working on the backup database (the line above names it): audits and runs never work at the same time. The audit is not retried for you; if the holder is stuck, see `dvbackup status`.")
        } else if let hint = ReportComposer.hint(for: reason) {
            lines.append(hint)
        }
        lines += composer.footer()
        let subject = "[dvbackup] \(composer.installation) \(side.rawValue): could not start: \(ReportComposer.cut(reason, 100))"
        return RunReport(subject: subject, text: lines.joined(separator: "\n") + "\n", runId: runId, exitStatus: exit)
    }
}
