/// How a run chooses its files.
public enum RunMode: String, Sendable {
    /// Files after the cursor (re-reading the overlap window) plus every earlier failure.
    case incremental
    /// The whole catalog: every file not yet OK or OK_NO_CHECKSUM.
    case rerun
}

/// What the planner decided, in totals.
public struct PlanTotals: Sendable, Equatable {
    public var seen: Int64 = 0
    public var planned: Int64 = 0
    /// Already OK or OK_NO_CHECKSUM with the same catalog checksum.
    public var skipped: Int64 = 0
    /// Ingest scheduled or running: left for a later run.
    public var deferred: Int64 = 0
    /// The cursor a finished run may store: the last file in `(createdate, id)` order before
    /// the first deferred one.
    public var cursor: CatalogCursor?
}

/// Streams the catalog and decides, batch by batch, which files to copy. Memory does not
/// grow with the catalog: one batch of files and their statuses at a time.
public final class Planner {
    let catalog: CatalogReader
    let status: StatusStore
    public let mode: RunMode
    public let startCursor: CatalogCursor?
    public let overlapSeconds: Int64

    public init(catalog: CatalogReader, status: StatusStore, mode: RunMode, startCursor: CatalogCursor?, overlapSeconds: Int64) {
        self.catalog = catalog
        self.status = status
        self.mode = mode
        self.startCursor = mode == .incremental ? startCursor : nil
        self.overlapSeconds = overlapSeconds
    }

    /// The window's lower bound; `nil` reads the whole catalog.
    public var window: WindowBound? {
        startCursor.map { WindowBound(cursor: $0, overlapSeconds: overlapSeconds) }
    }

    /// Calls `emit` for each file to copy, with its previous status if any.
    public func plan(_ emit: (CatalogFile, RecordedStatus?) throws -> Void) throws -> PlanTotals {
        var totals = PlanTotals()
        var cursorPinned = false
        totals.cursor = startCursor
        try catalog.stream(after: window) { batch in
            let known = try status.statuses(of: batch.map(\.id))
            for file in batch {
                totals.seen += 1
                if file.ingestInProgress {
                    totals.deferred += 1
                    cursorPinned = true
                    continue
                }
                if !cursorPinned { totals.cursor = CatalogCursor(createdate: file.createdate, id: file.id) }
                let previous = known[file.id]
                if let previous, previous.isCurrentCopy(of: file) {
                    totals.skipped += 1
                    continue
                }
                totals.planned += 1
                try emit(file, previous)
            }
        }
        // Earlier failures outside the window are retried too.
        if let window {
            var after: Int64 = 0
            while true {
                let ids = try status.failedFiles(atOrBefore: window, afterId: after, limit: CatalogReader.batchSize)
                guard let last = ids.last else { break }
                after = last
                let files = try catalog.files(ids: ids, atOrBefore: window)
                let known = try status.statuses(of: files.map(\.id))
                for file in files {
                    totals.seen += 1
                    if file.ingestInProgress {
                        totals.deferred += 1
                        continue
                    }
                    totals.planned += 1
                    try emit(file, known[file.id])
                }
            }
        }
        return totals
    }
}
