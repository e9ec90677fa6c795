import Foundation

/// A monitoring plugin's verdict, as Nagios and Icinga read it from the exit code.
public enum MonitorState: Int32, Sendable {
    case ok = 0
    case warning = 1
    case critical = 2
    case unknown = 3

    public var label: String {
        switch self {
        case .ok: "OK"
        case .warning: "WARNING"
        case .critical: "CRITICAL"
        case .unknown: "UNKNOWN"
        }
    }
}

/// A run as the check sees it: its row, how it ended, how long ago.
public struct MonitorRun: Sendable, Equatable {
    public var runId: Int64
    public var state: String
    /// Seconds since it ended (since it started, for a row with no end).
    public var ageSeconds: Int64
    public var error: String?

    public init(runId: Int64, state: String, ageSeconds: Int64, error: String? = nil) {
        self.runId = runId
        self.state = state
        self.ageSeconds = ageSeconds
        self.error = error
    }
}

/// What the backup database says, for the check (``StatusStore/monitorFacts()``).
public struct MonitorFacts: Sendable, Equatable {
    /// The run with state `finished` (every planned file recorded) that ended last. An
    /// interrupted, failed or crashed run is not a finished one.
    public var lastFinished: MonitorRun?
    /// The run that ended last, whatever its state (a run still running aside).
    public var lastEnded: MonitorRun?
    public var files: Int64 = 0
    /// OK or OK_NO_CHECKSUM.
    public var ok: Int64 = 0
    /// Every other status: files not (or no longer) safely replicated.
    public var failed: Int64 = 0
    /// FAIL_AUDIT_*: a copy that had been proven is now known missing or corrupt.
    public var auditFailed: Int64 = 0
    /// FAIL_SOURCE_CHECKSUM with no proven copy: a damaged primary nothing can restore.
    public var damagedUnproven: Int64 = 0
    /// Primaries `audit --source` last found damaged or missing (`sourcefixity`; a restore into
    /// the store records the ones it restored as ok).
    public var damagedPrimaries: Int64 = 0
    /// Why there are no runs at all, when the schema is not there yet.
    public var noSchema = false

    public init() {}
}

/// `dvbackup status --check`: one line of text with performance data after `|`, and the
/// monitoring-plugin exit code. CRITICAL when no run finished within `maxAgeSeconds` (or
/// none ever did), when the last run could not start (or failed, or died), when a proven copy
/// is now missing or corrupt, or a damaged primary has no proven copy; WARNING when the last
/// finished run is recent but files are not safely replicated, or primaries were last found
/// damaged or missing; OK otherwise.
public struct MonitorCheck: Sendable {
    public var maxAgeSeconds: Int64

    public init(maxAgeSeconds: Int64) { self.maxAgeSeconds = maxAgeSeconds }

    public struct Result: Sendable, Equatable {
        public var state: MonitorState
        public var line: String
    }

    public func evaluate(_ f: MonitorFacts) -> Result {
        var critical: [String] = []
        if let last = f.lastFinished {
            if last.ageSeconds > maxAgeSeconds {
                critical.append("no run finished within \(DurationParser.format(maxAgeSeconds))")
            }
        } else {
            critical.append(f.noSchema ? "no run has finished yet (the backup database has no dvbackup tables: run dvbackup init-db or a first run)"
                                       : "no run has finished yet")
        }
        if let ended = f.lastEnded, ended.runId > (f.lastFinished?.runId ?? 0) {
            let why = ended.error.map { ": \($0)" } ?? ""
            switch ended.state {
            case RunState.notStarted.rawValue: critical.append("the last run \(ended.runId) could not start\(why)")
            case RunState.failed.rawValue: critical.append("the last run \(ended.runId) failed\(why)")
            case RunState.crashed.rawValue: critical.append("the last run \(ended.runId) died without finishing")
            default: break
            }
        }
        if f.auditFailed > 0 {
            critical.append("\(f.auditFailed) proven \(f.auditFailed == 1 ? "copy is" : "copies are") now missing or corrupt (FAIL_AUDIT)")
        }
        if f.damagedUnproven > 0 {
            critical.append("\(f.damagedUnproven) damaged \(f.damagedUnproven == 1 ? "primary has" : "primaries have") no proven copy (FAIL_SOURCE_CHECKSUM)")
        }
        let state: MonitorState = !critical.isEmpty ? .critical : f.failed > 0 || f.damagedPrimaries > 0 ? .warning : .ok
        let summary = f.lastFinished.map { "last run \($0.runId) finished \(Self.age($0.ageSeconds)) ago, \(f.failed) failed" }
            ?? "\(f.failed) failed"
        let primaries = f.damagedPrimaries > 0
            ? ["\(f.damagedPrimaries) \(f.damagedPrimaries == 1 ? "primary was" : "primaries were") last found damaged or missing (audit --source)"] : []
        let text = (critical + primaries + [summary]).joined(separator: "; ")
        var perf: [String] = []
        if let last = f.lastFinished { perf.append("age=\(last.ageSeconds)s;;\(maxAgeSeconds)") }
        perf += ["failed=\(f.failed)", "ok=\(f.ok)", "files=\(f.files)", "audit_failed=\(f.auditFailed)",
                 "damaged_unproven=\(f.damagedUnproven)"]
        return Result(state: state, line: Self.line(state, text) + " | " + perf.joined(separator: " "))
    }

    /// The verdict when the configuration or the backup database cannot be read.
    public static func unknown(_ why: String) -> Result {
        Result(state: .unknown, line: line(.unknown, why))
    }

    /// `DVBACKUP OK - text`, on one line, with no `|` (which would start the performance data).
    static func line(_ state: MonitorState, _ text: String) -> String {
        let clean = text.map { $0 == "|" ? "/" : $0.isNewline ? " " : $0 }
        return "DVBACKUP \(state.label) - " + String(clean)
    }

    /// `45s`, `12m`, `3h`, `3h20m`, `2d`, `2d5h`: how long ago, to a useful precision.
    public static func age(_ seconds: Int64) -> String {
        let s = max(0, seconds)
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" }
        if s < 86_400 { return "\(s / 3600)h" + (s % 3600 / 60 > 0 ? "\(s % 3600 / 60)m" : "") }
        return "\(s / 86_400)d" + (s % 86_400 / 3600 > 0 ? "\(s % 86_400 / 3600)h" : "")
    }
}
