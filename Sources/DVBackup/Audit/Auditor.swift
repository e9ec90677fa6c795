import Foundation
import Logging

/// One audit (`dvbackup audit`): ``AuditStart`` (lock, schema, row), then the rotation — the
/// files verified longest ago first, never verified first — taken within the ``AuditBudget``,
/// proven in batches (copies by the target's ``CopyProver``, primaries by streaming the
/// store) and recorded as they are proven; then the row closed. What it did is its
/// ``outcome``, which the report is made from.
public final class Auditor {
    public let settings: Settings
    public let request: AuditRequest
    public let logger: Logger
    public private(set) var outcome: AuditOutcome = .notRun
    /// Makes the target (tests may pass their own).
    var makeTarget: (Settings, Logger) -> any ProvableTarget = Auditor.target
    /// Seconds on a monotonic clock, for `--max-time` (tests may pass their own).
    var clock: () -> Double = { MonotonicClock.now() }
    /// Caps the copies of one batch (tests spread a few copies over several connections).
    var maxBatchSize: Int? = nil
    /// The last copies audit's rounds (tests read how many connections it opened).
    private(set) var rounds: ProofRound?
    /// A batch of copies stops growing at this many bytes, so that a round of batches on
    /// several connections ends at about the same time (and `--max-time` is checked often).
    static let batchBytes: Int64 = 1 << 30

    public init(settings: Settings, request: AuditRequest, logger: Logger) {
        self.settings = settings
        self.request = request
        self.logger = logger
    }

    static func target(_ settings: Settings, _ logger: Logger) -> any ProvableTarget {
        if let swift = settings.backup.swift { return SwiftTarget(settings: swift, logger: logger) }
        if let ssh = settings.backup.ssh {
            return SFTPTarget(connection: ssh.connection(), root: settings.backup.backupDirectory, logger: logger)
        }
        return LocalTarget(root: settings.backup.backupDirectory)
    }

    public func run() -> ExitStatus {
        let started = clock()
        let side = request.side
        let target = makeTarget(settings, logger)
        let start = AuditStart(settings: settings, logger: logger)
        let what = side == .copies ? target.displayName : "the primary stores"
        let opened: AuditStart.Opened
        do throws(AuditStart.Failure) {
            opened = try start.open(side: side, selection: request.selection, target: what, method: side == .copies ? target.method : "stores")
        } catch {
            switch error {
            case .refused(let why):
                logger.error("\(why)")
                outcome = .refused(why)
                return .usage
            case .cannotStart(let f):
                logger.error("\(f.message)")
                outcome = .couldNotStart(side: side, reason: f.message, runId: f.runId)
                return .cannotStart
            }
        }
        var s = AuditSummary(runId: opened.runId, side: side, depth: request.depth, state: .running, target: what)
        s.cycleSeconds = settings.audit.cycleSeconds
        do {
            s.before = try opened.store.totals(request.selection, cycleSeconds: s.cycleSeconds)
            let interval = AuditBudget.interval(sincePrevious: try opened.store.secondsSincePreviousAudit(),
                                                cycleSeconds: s.cycleSeconds)
            s.budget = AuditBudget(floorBytes: AuditBudget.floor(totalBytes: s.before.bytes, overdueBytes: s.before.overdueBytes,
                                                                 cycleSeconds: s.cycleSeconds, intervalSeconds: interval),
                                   maxBytes: request.maxBytes, maxSeconds: request.maxSeconds,
                                   all: request.all || !request.selection.isEmpty)
            logger.info("\(side.rawValue) \(s.runId) started: \(what); \(formatCount(s.before.files)) files (\(formatBytes(s.before.bytes))), \(formatCount(s.before.overdueFiles)) overdue; this audit takes \(describe(s.budget))")
            let prove: ([[AuditReference]]) -> [Result<[CopyFinding], TargetUnavailable>]
            let batchSize: Int, width: Int
            if side == .copies {
                let round = try ProofRound(width: connections, logger: logger) { () throws(TargetUnavailable) in try target.makeProver() }
                rounds = round
                let depth = request.depth
                (batchSize, width) = (min(round.batchSize, maxBatchSize ?? .max), round.width)
                prove = { batches in round.run(batches.map { $0.map { ($0.copy, $0.expected) } }, depth: depth) }
            } else {
                (batchSize, width) = (16, 1)
                prove = { batches in
                    batches.map { refs in
                        Result { () throws(TargetUnavailable) in try refs.map { (r) throws(TargetUnavailable) in try PrimaryProver().prove(r) } }
                    }
                }
            }
            try rotate(opened, &s, batchSize: batchSize, width: width, started: started, prove: prove)
            s.state = StopSignal.isRequested ? .interrupted : .finished
            s.after = try opened.store.totals(request.selection, cycleSeconds: s.cycleSeconds)
            s.seconds = clock() - started
            s.forecast = CycleForecast.evaluate(totalBytes: s.after.bytes, verifiedBytes: s.bytes, seconds: s.seconds,
                                                intervalSeconds: interval, cycleSeconds: s.cycleSeconds,
                                                overdueAfter: s.after.overdueFiles, budget: s.budget)
        } catch let e as TargetUnavailable {
            logger.error("\(e.message); the audit stops, and \(side == .copies ? "the copies" : "the primaries") not yet proven keep their status")
            s.state = .failed
            s.error = e.message
        } catch {
            logger.error("the \(side.rawValue) stopped: \(error)")
            s.state = .failed
            s.error = "\(error)"
        }
        s.seconds = clock() - started
        s.sortFindings()
        start.finish(opened.status, runId: s.runId, summary: s, error: s.error)
        outcome = .finished(s)
        return s.exitStatus
    }

    func describe(_ b: AuditBudget) -> String {
        if b.all && !b.hasCap { return "every file selected" }
        var caps: [String] = []
        if let m = b.maxBytes { caps.append("--max-bytes \(SizeParser.format(m))") }
        if let t = b.maxSeconds { caps.append("--max-time \(DurationParser.format(Int64(t)))") }
        if caps.isEmpty { return "at least \(formatBytes(b.floorBytes)) (its share of the cycle, with what is overdue)" }
        return "up to " + caps.joined(separator: " and ") + " (the cycle needs \(formatBytes(b.floorBytes)))"
    }

    /// The connections a copies audit proves on at once: an SFTP target's SshConnections,
    /// otherwise one.
    var connections: Int { settings.backup.ssh != nil ? max(1, settings.backup.workers) : 1 }

    /// Walks the rotation until the budget is spent or the files end: batches of copies,
    /// `width` of them proven at once (a round), each round recorded before the next.
    private func rotate(_ o: AuditStart.Opened, _ s: inout AuditSummary, batchSize: Int, width: Int, started: Double,
                        prove: ([[AuditReference]]) -> [Result<[CopyFinding], TargetUnavailable>]) throws {
        let stores = SourceStores(registry: settings.stores, s3: settings.s3Stores, logger: logger)
        try o.store.openRotation(request.selection)
        defer { o.store.closeRotation() }
        var planned: Int64 = 0
        var batches: [[(AuditCandidate, AuditReference)]] = []
        var batch: [(AuditCandidate, AuditReference)] = []
        var batchBytes: Int64 = 0
        func close() {
            if !batch.isEmpty { batches.append(batch) }
            (batch, batchBytes) = ([], 0)
        }
        func flush(_ s: inout AuditSummary) throws {
            close()
            guard !batches.isEmpty else { return }
            let results = prove(batches.map { $0.map(\.1) })
            var unavailable: TargetUnavailable? = nil
            // The batches proven are recorded, even when another one found the target gone.
            for (b, result) in zip(batches, results) {
                switch result {
                case .success(let findings): try record(zip(b, findings).map { ($0.0, $0.1, $1) }, o, &s)
                case .failure(let e): unavailable = unavailable ?? e
                }
            }
            batches = []
            if let unavailable { throw unavailable }
        }
        pages: while !StopSignal.isRequested {
            let page = try o.store.nextPage(500)
            if page.isEmpty { break }
            let files = Dictionary(try o.catalog.files(ids: page.map(\.datafileId)).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for c in page {
                let size = c.fileSize ?? 0
                guard !StopSignal.isRequested,
                      s.budget.takes(size: size, doneBytes: planned, elapsed: clock() - started) else { break pages }
                switch AuditReference.resolve(c, files[c.datafileId], stores: stores) {
                case .failure(let skip):
                    s.skipped += 1
                    logger.info("datafile \(c.datafileId) not audited: \(skip)")
                case .success(let ref):
                    planned += size
                    batch.append((c, ref))
                    batchBytes += size
                    if batch.count >= batchSize || batchBytes >= Self.batchBytes {
                        close()
                        if batches.count >= width { try flush(&s) }
                    }
                }
            }
        }
        try flush(&s)
    }

    private func record(_ proofs: [(AuditCandidate, AuditReference, CopyFinding)], _ o: AuditStart.Opened,
                        _ s: inout AuditSummary) throws {
        for (c, ref, finding) in proofs {
            let f = ref.file
            var line = AuditFindingLine(kind: .unreadable, datafileId: f.id, dataset: f.datasetPID,
                                        storageIdentifier: f.storageIdentifier, reason: "", remedy: nil)
            let copyProven = BackupStatus(rawValue: c.status)?.isOK ?? false
            let restore = "dvbackup restore --config \(ReportComposer.absolute(settings.path)) --datafile \(f.id) --into-store"
            switch finding {
            case .verified:
                s.verified += 1
                s.bytes += c.fileSize ?? 0
                continue
            case .present:
                s.present += 1
                s.bytes += c.fileSize ?? 0
                continue
            case .missing(let why):
                s.missing += 1
                line.reason = why
                if o.store.side == .copies { line.kind = .missing } else {
                    line.kind = copyProven ? .primaryMissing : .noProvenCopy
                    line.remedy = copyProven ? restore : nil
                }
            case .corrupt(let why):
                s.corrupt += 1
                line.reason = why
                if o.store.side == .copies { line.kind = .corrupt } else {
                    line.kind = copyProven ? .primaryDamaged : .noProvenCopy
                    line.remedy = copyProven ? restore : nil
                }
            case .unreadable(let why):
                s.unreadable += 1
                line.reason = why
            }
            logger.error("\(line.kind.rawValue) datafile \(f.id) \(f.datasetPID) \(f.storageIdentifier): \(line.reason)")
            s.add(line)
        }
        if o.store.side == .copies {
            try o.store.recordCopies(proofs.map { ($0.0.datafileId, $0.2) }, runId: s.runId)
        } else {
            try o.store.recordSources(proofs.map { p in
                switch p.2 {
                case .verified, .present: (p.0.datafileId, "ok", nil)
                case .missing(let why): (p.0.datafileId, "missing", why)
                case .corrupt(let why): (p.0.datafileId, "damaged", why)
                case .unreadable(let why): (p.0.datafileId, "unreadable", why)
                }
            }, runId: s.runId)
        }
    }
}
