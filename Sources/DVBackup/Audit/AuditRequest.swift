import Foundation

/// What `dvbackup audit` was asked to do.
public struct AuditRequest: Sendable, Equatable {
    public var side: AuditSide = .copies
    /// `.quick` (`--quick`): existence and size, reported as "present", never as "verified".
    public var depth: ProofDepth = .full
    /// `--all`: every file, whatever the rotation's share.
    public var all = false
    public var maxBytes: Int64?
    public var maxSeconds: Double?
    public var selection = AuditSelection()

    public init() {}
}

/// What one proof found, for the report: the file and the finding.
public struct AuditFindingLine: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A damaged or missing primary whose backup copy is not proven either.
        case noProvenCopy = "NO PROVEN COPY ANYWHERE"
        case corrupt = "FAIL_AUDIT_CORRUPT"
        case missing = "FAIL_AUDIT_MISSING"
        /// A damaged or missing primary whose backup copy is proven: restore it.
        case primaryDamaged = "PRIMARY DAMAGED, RESTORABLE"
        case primaryMissing = "PRIMARY MISSING, RESTORABLE"
        case unreadable = "UNREADABLE"

        /// Most serious first.
        public var rank: Int { Self.allCases.firstIndex(of: self) ?? 99 }
    }

    public var kind: Kind
    public var datafileId: Int64
    public var dataset: String
    public var storageIdentifier: String
    public var reason: String
    /// The command that fixes it, where there is one.
    public var remedy: String?
}

/// What an audit that went through did.
public struct AuditSummary: Sendable {
    public var runId: Int64
    public var side: AuditSide
    public var depth: ProofDepth
    public var state: RunState
    public var seconds: Double = 0
    public var target: String
    /// Proven: copies verified (or found present by `--quick`), primaries that match.
    public var verified: Int64 = 0
    public var present: Int64 = 0
    public var missing: Int64 = 0
    public var corrupt: Int64 = 0
    public var unreadable: Int64 = 0
    /// Not proven: gone from the catalog, a catalog checksum changed since the copy, no
    /// reference digest, no store to read.
    public var skipped: Int64 = 0
    public var bytes: Int64 = 0
    public var before = AuditTotals()
    public var after = AuditTotals()
    public var budget = AuditBudget(floorBytes: 0)
    public var forecast = CycleForecast(kept: true, explanation: "")
    public var cycleSeconds: Int64 = AuditSettings.defaultCycleSeconds
    /// Why the audit stopped before its budget was spent (the target went away…).
    public var error: String?
    /// The findings, most serious first once `sortFindings` ran (at most `maxFindings`).
    public var findings: [AuditFindingLine] = []
    public var findingsNotKept: Int64 = 0
    public static let maxFindings = 10_000

    public var taken: Int64 { verified + present + missing + corrupt + unreadable }
    public var findingCount: Int64 { missing + corrupt + unreadable }

    public init(runId: Int64, side: AuditSide, depth: ProofDepth, state: RunState, target: String) {
        self.runId = runId
        self.side = side
        self.depth = depth
        self.state = state
        self.target = target
    }

    mutating func add(_ line: AuditFindingLine) {
        if findings.count < Self.maxFindings { findings.append(line) } else { findingsNotKept += 1 }
    }

    mutating func sortFindings() {
        findings.sort { ($0.kind.rank, $0.datafileId) < ($1.kind.rank, $1.datafileId) }
    }

    /// 0 nothing found; 1 findings, or the audit was interrupted; 3 the target went away.
    public var exitStatus: ExitStatus {
        if error != nil { return .cannotStart }
        return state == .finished && findingCount == 0 ? .success : .filesFailed
    }
}

/// How an audit ended.
public enum AuditOutcome: Sendable {
    case notRun
    /// Bad arguments (an unknown datafile or dataset): exit 2, nothing recorded.
    case refused(String)
    case couldNotStart(side: AuditSide, reason: String, runId: Int64?)
    case finished(AuditSummary)
}
