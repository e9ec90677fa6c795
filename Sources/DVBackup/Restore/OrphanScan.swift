import Foundation
import Logging

/// `dvbackup audit --orphans`: what lies on the target that the catalog no longer has (files
/// and datasets deleted in Dataverse: normal, listed, never deleted), and dvbackup's own
/// leftovers (temporaries of interrupted copies, Swift segments no manifest references),
/// with size and age. With `cleanLeftovers`, the leftovers older than `minimumLeftoverAge`
/// are removed, and nothing else ever is.
///
/// Bounded memory for millions of files: the catalog's expected paths and the target's
/// listing go into two temporary tables of the backup database, in batches, and the
/// database joins them; the orphans come back through a cursor, in path order. It takes the
/// run lock (no copy is being written while leftovers are judged) and leaves a run row
/// (mode `orphans`).
public final class OrphanScan {
    public let settings: Settings
    public let logger: Logger
    let out: OutputWriter
    public let cleanLeftovers: Bool
    /// Leftovers younger than this are listed, never removed (default one day).
    public let minimumLeftoverAge: Double
    /// The time ages are measured from (tests pass a later one: Swift's last-modified times
    /// cannot be set back).
    let now: () -> Double

    public private(set) var summary = OrphanSummary()
    /// Why the scan could not start (exit 3), for the report.
    public private(set) var startFailure: String?

    public init(settings: Settings, logger: Logger, output: OutputWriter, cleanLeftovers: Bool,
                minimumLeftoverAge: Double = 86_400, now: @escaping () -> Double = { Date().timeIntervalSince1970 }) {
        self.settings = settings
        self.logger = logger
        out = output
        self.cleanLeftovers = cleanLeftovers
        self.minimumLeftoverAge = minimumLeftoverAge
        self.now = now
    }

    /// 0 whatever is listed; 1 when a leftover could not be removed or the scan stopped;
    /// 3 when it could not start.
    public func run() -> ExitStatus {
        let target = BackupJob(settings: settings, mode: .incremental, logger: logger, output: out).makeTarget()
        guard let readable = target as? any ReadableTarget else {
            logger.error("\(target.displayName) cannot be read back")
            startFailure = "\(target.displayName) cannot be read back"
            return .cannotStart
        }
        let start = RunStart(settings: settings, logger: logger)
        let run: RunStart.Opened
        let scratch: PostgresConnection
        let reader: any TargetReader
        do throws(StartFailure) {
            run = try start.open(modeName: "orphans", target: target, checkTarget: false)
            do throws(StartFailure) {
                scratch = try start.connect()
                do { reader = try readable.makeReader() } catch { throw StartFailure(error.message) }
            } catch {
                try? run.status.finishRun(run.runId, state: .failed, counts: RunCounts(), cursor: nil, error: error.message)
                throw StartFailure(error.message, runId: run.runId)
            }
        } catch {
            logger.error("\(error.message)")
            startFailure = error.message
            summary.runId = error.runId
            return .cannotStart
        }
        summary.runId = run.runId
        summary.target = target.displayName
        var error: String? = nil
        do {
            try scan(catalog: run.catalog, reader: reader, scratch: scratch)
        } catch let e {
            logger.error("the orphan scan stopped: \(e)")
            summary.error = "\(e)"
            error = "\(e)"
        }
        var counts = RunCounts()
        counts.planned = summary.orphans + summary.leftovers
        counts.skipped = summary.orphans
        counts[.ok] = summary.leftoversRemoved
        counts[.failWrite] = summary.removalFailures
        counts.bytes = summary.orphanBytes + summary.leftoverBytes
        let state = RunState.ending(error: error, interrupted: StopSignal.isRequested)
        do { try run.status.finishRun(run.runId, state: state, counts: counts, cursor: nil, error: error) } catch {
            logger.error("cannot record the end of run \(run.runId): \(error)")
        }
        return error == nil && summary.removalFailures == 0 ? .success : .filesFailed
    }

    private func scan(catalog: CatalogReader, reader: any TargetReader, scratch db: PostgresConnection) throws {
        try db.execute("""
            CREATE TEMP TABLE dvb_expected (path text NOT NULL, dir text NOT NULL);
            CREATE TEMP TABLE dvb_listed (path text NOT NULL, dir text NOT NULL, size bigint, modified float8)
            """)
        // 1. What the catalog expects on the target.
        let registry = settings.stores
        try catalog.stream(after: nil) { files in
            var paths: [String] = [], dirs: [String] = []
            for f in files {
                let dir = "\(f.storageAuthority)/\(f.storageIdentifierPath)"
                guard case .success(let p) = PathSafety.datasetRelativePath(
                    authority: f.storageAuthority, identifier: f.storageIdentifierPath,
                    name: RestoreSelection.storageName(f, registry)) else { continue }
                paths.append(p)
                dirs.append(dir)
            }
            try db.query("INSERT INTO dvb_expected SELECT * FROM unnest($1::text[], $2::text[])",
                         [PostgresConnection.arrayLiteral(strings: paths), PostgresConnection.arrayLiteral(strings: dirs)])
        }
        try db.execute("CREATE INDEX ON dvb_expected (path); CREATE INDEX ON dvb_expected (dir); ANALYZE dvb_expected")

        // 2. What the target holds: leftovers judged at once, copies into the table.
        var pending: [TargetEntry] = []
        func flush() throws(PostgresError) {
            guard !pending.isEmpty else { return }
            try db.query("""
                INSERT INTO dvb_listed SELECT p, d, s, NULLIF(m, '')::float8 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS u(p, d, s, m)
                """, [PostgresConnection.arrayLiteral(strings: pending.map(\.relativePath)),
                      PostgresConnection.arrayLiteral(strings: pending.map { e in
                          e.relativePath.lastIndex(of: "/").map { String(e.relativePath[..<$0]) } ?? "" }),
                      PostgresConnection.arrayLiteral(pending.map(\.size)),
                      PostgresConnection.arrayLiteral(strings: pending.map { $0.modified.map { String($0) } ?? "" })])
            pending.removeAll(keepingCapacity: true)
        }
        var listingError: (any Error)? = nil
        do throws(ReadFailure) {
            try reader.list { (entry) throws(ReadFailure) in
                if case .leftover(let why) = entry.kind {
                    try leftover(entry, why: why, reader: reader)
                    return
                }
                pending.append(entry)
                if pending.count >= 1000 {
                    do { try flush() } catch { listingError = error; throw .unavailable("\(error)") }
                }
            }
        } catch {
            throw listingError ?? error
        }
        try flush()

        // 3. The orphans, in path order, through a cursor.
        try db.execute("CREATE INDEX ON dvb_listed (path)")
        try db.execute("BEGIN")
        defer { _ = try? db.execute("COMMIT") }
        try db.execute("""
            DECLARE dvb_orphans NO SCROLL CURSOR FOR
            SELECT l.path, l.size, l.modified, EXISTS (SELECT 1 FROM dvb_expected d WHERE d.dir = l.dir) AS dataset_known
            FROM dvb_listed l WHERE NOT EXISTS (SELECT 1 FROM dvb_expected e WHERE e.path = l.path)
            ORDER BY l.path
            """)
        while true {
            let r = try db.query("FETCH FORWARD 1000 FROM dvb_orphans")
            for i in 0..<r.rowCount {
                let path = try r.string(i, "path") ?? ""
                let size = try r.int(i, "size") ?? 0
                let modified = try r.double(i, "modified")
                let why = try r.bool(i, "dataset_known") == true ? "file deleted in Dataverse" : "dataset no longer in the catalog"
                summary.orphans += 1
                summary.orphanBytes += size
                let entry = OrphanEntry(kind: .orphan, path: path, size: size, age: age(modified), reason: why)
                summary.keep(entry)
                out.line(entry.line)
            }
            if r.rowCount < 1000 { break }
        }
        out.flush()
    }

    private func leftover(_ entry: TargetEntry, why: String, reader: any TargetReader) throws(ReadFailure) {
        summary.leftovers += 1
        summary.leftoverBytes += entry.size
        let old = entry.modified.map { now() - $0 >= minimumLeftoverAge } ?? false
        var action = ""
        if cleanLeftovers {
            if old {
                do throws(ReadFailure) {
                    try reader.removeLeftover(entry)
                    summary.leftoversRemoved += 1
                    action = "  removed"
                } catch {
                    if case .unavailable = error { throw error }
                    summary.removalFailures += 1
                    action = "  NOT removed: \(error)"
                }
            } else {
                action = "  kept (less than \(DurationParser.format(Int64(minimumLeftoverAge))) old)"
            }
        }
        let listed = OrphanEntry(kind: .leftover, path: entry.relativePath, size: entry.size, age: age(entry.modified),
                                 reason: why + action)
        summary.keep(listed)
        out.line(listed.line)
    }

    func age(_ modified: Double?) -> String {
        guard let modified else { return "age unknown" }
        let seconds = max(0, now() - modified)
        if seconds >= 86_400 { return "\(Int(seconds / 86_400)) d old" }
        if seconds >= 3600 { return "\(Int(seconds / 3600)) h old" }
        return "\(Int(seconds / 60)) min old"
    }
}

/// One line of the listing: an orphan or a leftover.
public struct OrphanEntry: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case orphan, leftover
    }

    public var kind: Kind
    public var path: String
    public var size: Int64
    /// `3 d old`, `age unknown`.
    public var age: String
    /// Why it is listed, and for a leftover what `--clean-leftovers` did with it.
    public var reason: String

    /// As printed: `orphan    <path>  <size>  <age>  <reason>`.
    public var line: String {
        "\(kind == .orphan ? "orphan  " : "leftover")  \(path)  \(formatBytes(size))  \(age)  \(reason)"
    }
}

/// What an orphan scan found.
public struct OrphanSummary: Sendable, Equatable {
    public var runId: Int64?
    public var target = ""
    public var orphans: Int64 = 0
    public var orphanBytes: Int64 = 0
    public var leftovers: Int64 = 0
    public var leftoverBytes: Int64 = 0
    public var leftoversRemoved: Int64 = 0
    public var removalFailures: Int64 = 0
    public var error: String?
    /// The first `keptLimit` lines listed, in the order listed (for the report).
    public var listed: [OrphanEntry] = []

    static let keptLimit = 1000

    mutating func keep(_ entry: OrphanEntry) {
        if listed.count < Self.keptLimit { listed.append(entry) }
    }

    public var text: String {
        var lines = ["Orphans and leftovers\(runId.map { " (run \($0))" } ?? "") on \(target):",
                     "  copies the catalog no longer has  \(orphans) (\(formatBytes(orphanBytes))): listed, never deleted",
                     "  dvbackup's own leftovers          \(leftovers) (\(formatBytes(leftoverBytes)))"]
        if leftoversRemoved > 0 || removalFailures > 0 {
            lines.append("  leftovers removed                 \(leftoversRemoved)\(removalFailures > 0 ? ", \(removalFailures) could not be removed" : "")")
        }
        if let error { lines.append("  stopped: \(error)") }
        return lines.joined(separator: "\n")
    }
}
