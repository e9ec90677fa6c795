import Foundation

/// The files with no proven copy anywhere: an audit found the backup copy bad and the primary
/// then failed its checksum (or could not be read), so the run overwrote nothing and the
/// file's reason begins with `NO PROVEN COPY ANYWHERE`. They are the most serious lines dvbackup
/// reports, in a section of their own at the top of the run's summary, of its mail and of
/// `dvbackup status`.
public struct NoProvenCopySection: Sendable, Codable, Equatable {
    public static let prefix = "NO PROVEN COPY ANYWHERE"
    /// The first files, by dataset and datafile id.
    public var files: [FailedFile]
    public var total: Int64

    public init(files: [FailedFile], total: Int64) {
        self.files = files
        self.total = total
    }

    public var isEmpty: Bool { total == 0 }

    /// Those a run left in this state (`runId`), or every file in it now (`nil`).
    public static func load(_ status: StatusStore, runId: Int64? = nil, limit: Int) throws(PostgresError) -> NoProvenCopySection {
        var whereSQL = "lasterror LIKE '\(prefix)%'"
        var params: [String?] = []
        if let runId {
            whereSQL += " AND lastrunid = $1::bigint"
            params.append(String(runId))
        }
        let files = try status.failedFiles(whereSQL: whereSQL, params, limit: max(0, limit))
        let total = try status.db.query("""
            SELECT count(*) AS n FROM datafilestatus WHERE status NOT IN ('OK', 'OK_NO_CHECKSUM') AND \(whereSQL)
            """, params).int(0, "n") ?? Int64(files.count)
        return NoProvenCopySection(files: files, total: total)
    }

    /// For a subject: `NO PROVEN COPY ANYWHERE for 2 files`.
    public var headline: String { "\(Self.prefix) for \(formatCount(total)) file\(total == 1 ? "" : "s")" }

    /// The section: its heading, what it means and what to do, one line per file.
    public func lines(configPath: String) -> [String] {
        guard !isEmpty else { return [] }
        var lines = [
            "\(Self.prefix) (\(formatCount(total))): the backup copy was found damaged or missing by an audit and the",
            "primary fails its checksum too. Nothing was overwritten, and dvbackup cannot restore these files:",
            "look for another copy (the depositor, an older backup) before anything else.",
        ]
        for f in files {
            lines.append("  \(f.status) \(f.dataset) datafile \(f.datafileId.map(String.init) ?? "?") \(f.storageIdentifier): \(ReportComposer.oneLine(f.reason))")
        }
        if total > Int64(files.count) {
            lines.append("  … \(formatCount(total - Int64(files.count))) more: dvbackup status --config \(configPath) --all")
        }
        return lines
    }
}
