/// One file ready to be restored: its catalog row and where it goes. Made in order on the
/// planning thread (``RestorePlacement``), restored on a worker thread (``FileRestorer``).
struct RestoreTask: Sendable {
    let item: RestoreItem
    /// The label written to the manifest (`--names labels`), if any.
    let label: String?
    /// The path under the destination directory (`--to`); `nil` for `--into-store`.
    let relative: String?
}

/// What restoring one file did, and whether the target became unusable (the restore stops).
struct RestoreDone: Sendable {
    let result: RestoreResult
    let targetLost: Bool
    /// The path written, relative to the destination directory (for the manifest).
    let writtenRelative: String?

    static func failed(_ item: RestoreItem, _ why: String, as status: BackupStatus, lost: Bool = false) -> RestoreDone {
        RestoreDone(result: item.result(.failed, why, failedAs: status), targetLost: lost, writtenRelative: nil)
    }
}

extension RestoreItem {
    func result(_ kind: RestoreResult.Kind, _ detail: String, bytes: Int64 = 0, failedAs: BackupStatus? = nil) -> RestoreResult {
        RestoreResult(datafileId: file.id, dataset: file.datasetPID, storageName: storageName, kind: kind, detail: detail,
                      bytes: bytes, failedAs: failedAs)
    }
}

/// Decides where each file goes, in datafile id order (label names are made unique in that
/// order), and turns away the files that cannot be restored at all. One thread's.
struct RestorePlacement {
    let destination: RestoreRequest.Destination
    var labelPaths = LabelPaths()

    /// The task for `item`, or why it cannot be restored.
    mutating func place(_ item: RestoreItem, label: FileLabel?) -> Result<RestoreTask, RestoreFailure> {
        let f = item.file
        guard !item.relativePath.isEmpty else {
            return .failure(RestoreFailure(.failed(item, "the catalog's storage identifier '\(f.storageIdentifier)' or dataset path is not a safe path", as: .failRead)))
        }
        guard item.expected != nil else {
            return .failure(RestoreFailure(.failed(item, "the catalog has no checksum for this file and no proven copy is recorded: its copy cannot be proven, so it is not restored", as: .failVerify)))
        }
        guard case .directory(_, let names) = destination else { return .success(RestoreTask(item: item, label: nil, relative: nil)) }
        switch names {
        case .storage:
            return .success(RestoreTask(item: item, label: label?.label, relative: item.relativePath))
        case .labels:
            let name = label.map { l in (f.isTabular ? l.originalFileName.flatMap { $0.isEmpty ? nil : $0 } : nil) ?? l.label }
            let datasetDirectory = "\(f.datasetAuthority)/\(f.datasetIdentifier)"
            if let p = PathSafety.problem(in: datasetDirectory, what: "dataset PID") {
                return .failure(RestoreFailure(.failed(item, p, as: .failWrite)))
            }
            let relative = datasetDirectory + "/" + labelPaths.unique(
                datasetDirectory: datasetDirectory, label: (name?.isEmpty ?? true) ? item.storageName : name!,
                directoryLabel: label?.directoryLabel)
            return .success(RestoreTask(item: item, label: label?.label, relative: relative))
        }
    }
}

/// A file turned away before any byte was read.
struct RestoreFailure: Error {
    let done: RestoreDone
    init(_ done: RestoreDone) { self.done = done }
}

/// Restores one file: streams its copy from the target, hashing it as it streams, into a
/// sink that keeps it under a temporary name, and makes it visible only when its digest (and
/// size) are the ones expected. A copy that fails is not written. One thread's (its reader
/// is one connection). Small copies may be read many at once (`restoreBatch`, where the
/// reader offers a `BatchReader`); each is then checked and written exactly as one read alone.
struct FileRestorer {
    let reader: any TargetReader
    let destination: RestoreRequest.Destination
    let storeWriter: StoreWriter?
    /// Reads small copies many at once on the reader's connection, where the target can.
    let batch: (any BatchReader)?

    init(reader: any TargetReader, destination: RestoreRequest.Destination, storeWriter: StoreWriter?) {
        self.reader = reader
        self.destination = destination
        self.storeWriter = storeWriter
        batch = (reader as? any BatchReadable)?.makeBatchReader()
    }

    /// Feeds a copy's bytes, chunk by chunk, to the closure it is given.
    typealias Source = ((UnsafeRawBufferPointer) throws(ReadFailure) -> Void) throws(ReadFailure) -> Void

    /// Whether `task` may go in a batch of `batch`: a copy of known, small size.
    func batchable(_ task: RestoreTask) -> Bool {
        guard let batch, let size = task.item.expectedSize else { return false }
        return size <= batch.sizeLimit
    }

    func restore(_ task: RestoreTask, dryRun: Bool) -> RestoreDone {
        if let done = settledBeforeReading(task, dryRun: dryRun) { return done }
        let item = task.item
        return write(task) { (sink) throws(ReadFailure) in
            try reader.read(CopyReference(datafileId: item.file.id, relativePath: item.relativePath, expectedSize: item.expectedSize),
                            into: sink)
        }
    }

    /// Restores small copies read all at once (`batch`); one result per task, in order. A
    /// copy the batch could not read fails alone; a lost connection fails every copy not
    /// read, each with the target lost.
    func restoreBatch(_ tasks: [RestoreTask], dryRun: Bool) -> [RestoreDone] {
        guard let batch, !dryRun, tasks.count > 1 else { return tasks.map { restore($0, dryRun: dryRun) } }
        var done: [RestoreDone?] = tasks.map { settledBeforeReading($0, dryRun: dryRun) }
        let toRead = tasks.indices.filter { done[$0] == nil }
        let reads = batch.readWhole(toRead.map { i in
            let item = tasks[i].item
            return CopyReference(datafileId: item.file.id, relativePath: item.relativePath, expectedSize: item.expectedSize)
        })
        // Files proven and written under their temporary names, committed together below.
        var proven: [(index: Int, file: SafeFileWriter, bytes: Int64)] = []
        for (i, read) in zip(toRead, reads) {
            guard let read else {
                done[i] = restore(tasks[i], dryRun: dryRun)
                continue
            }
            let filled = fill(tasks[i]) { (sink) throws(ReadFailure) in
                let bytes = try read.get()
                var failure: ReadFailure?
                bytes.withUnsafeBytes { raw in
                    do throws(ReadFailure) { try sink(raw) } catch { failure = error }
                }
                if let failure { throw failure }
            }
            switch filled {
            case .settled(let d): done[i] = d
            case .proven(let sink as SafeFileWriter, let bytes): proven.append((i, sink, bytes))
            case .proven(let sink, let bytes): done[i] = committed(tasks[i], sink, bytes) { () throws(ReadFailure) in try sink.commit() }
            }
        }
        for (p, failure) in zip(proven, SafeFileWriter.commitAll(proven.map(\.file))) {
            done[p.index] = committed(tasks[p.index], p.file, p.bytes) { () throws(ReadFailure) in if let failure { throw failure } }
        }
        return done.map { $0! }
    }

    /// The result of a task settled before any byte is read (a primary that matches, one
    /// that cannot be checked, a dry run); nil for a task whose copy is to be read.
    private func settledBeforeReading(_ task: RestoreTask, dryRun: Bool) -> RestoreDone? {
        let item = task.item
        if destination == .intoStore {
            switch storeWriter!.check(item.file, expected: item.expected!, expectedSize: item.expectedSize) {
            case .matches:
                return RestoreDone(result: item.result(.intact, "the primary matches the catalog; not touched"), targetLost: false,
                                   writtenRelative: nil)
            case .unusable(let why):
                return .failed(item, "the primary cannot be checked, so it is not overwritten: \(why)", as: .failRead)
            case .missing, .differs:
                break
            }
        }
        guard dryRun else { return nil }
        if case .directory(let base, _) = destination {
            return RestoreDone(result: item.result(.wouldRestore, base + "/" + task.relative!), targetLost: false, writtenRelative: nil)
        }
        return RestoreDone(result: item.result(.wouldRestore, "into its store"), targetLost: false, writtenRelative: nil)
    }

    /// Opens the sink, feeds it what `source` reads while hashing it, and commits it only
    /// when the digest and the size are the ones expected.
    private func write(_ task: RestoreTask, from source: Source) -> RestoreDone {
        switch fill(task, from: source) {
        case .settled(let done): return done
        case .proven(let sink, let bytes): return committed(task, sink, bytes) { () throws(ReadFailure) in try sink.commit() }
        }
    }

    /// What filling a sink came to: a failure, or a copy proven and written under its
    /// temporary name, waiting for its commit.
    private enum Filled {
        case settled(RestoreDone)
        case proven(any RestoreSink, bytes: Int64)
    }

    /// The result of committing a proven copy with `commit`.
    private func committed(_ task: RestoreTask, _ sink: any RestoreSink, _ bytes: Int64,
                           _ commit: () throws(ReadFailure) -> Void) -> RestoreDone {
        let item = task.item
        do throws(ReadFailure) { try commit() } catch {
            return .failed(item, error.description, as: .failWrite)
        }
        return RestoreDone(result: item.result(.restored, sink.location, bytes: bytes), targetLost: false, writtenRelative: task.relative)
    }

    /// Opens the sink and feeds it what `source` reads while hashing it; the copy is proven
    /// when the digest and the size are the ones expected, else the sink is aborted.
    private func fill(_ task: RestoreTask, from source: Source) -> Filled {
        let item = task.item
        let f = item.file
        let expected = item.expected!
        func failed(_ why: String, as status: BackupStatus, lost: Bool = false) -> Filled {
            .settled(.failed(item, why, as: status, lost: lost))
        }
        let sink: any RestoreSink
        do throws(ReadFailure) {
            if case .directory(let base, _) = destination {
                sink = try SafeFileWriter(base: base, relative: task.relative!,
                                          direct: (item.expectedSize ?? 0) >= OverlappedSink.threshold)
            } else {
                sink = try storeWriter!.begin(f)
            }
        } catch {
            return failed(error.description, as: .failWrite)
        }

        let digest = Digest(expected.algorithm)
        var bytes: Int64 = 0
        // A large file is hashed and written on a second thread while the next bytes arrive.
        let overlapped = (item.expectedSize ?? 0) >= OverlappedSink.threshold ? OverlappedSink(digest: digest, sink: sink) : nil
        do throws(ReadFailure) {
            try source { (chunk) throws(ReadFailure) in
                if let overlapped {
                    try overlapped.write(chunk)
                } else {
                    digest.update(chunk)
                    try sink.write(chunk)
                }
                bytes += Int64(chunk.count)
            }
            try overlapped?.finish()
        } catch {
            try? overlapped?.finish()
            sink.abort()
            switch error {
            case .destination(let why): return failed(why, as: .failWrite)
            case .unavailable(let why): return failed("the target cannot be read: \(why)", as: .failRead, lost: true)
            case .cut(let why): return failed("the copy ends early (damaged on the target?): \(why); nothing was written", as: .failVerify)
            case .missing(let why): return failed("the copy is missing on the target: \(why)", as: .failRead)
            case .unreadable(let why): return failed("the copy cannot be read: \(why)", as: .failRead)
            }
        }
        let actual = digest.finalizeHex()
        guard actual == expected.hex else {
            sink.abort()
            return failed("the copy on the target is damaged: its \(expected.algorithm.rawValue) is \(actual), the \(item.expectedSource) says \(expected.hex); nothing was written", as: .failVerify)
        }
        if let size = item.expectedSize, size != bytes {
            sink.abort()
            return failed("the copy on the target has \(bytes) bytes, \(size) were expected; nothing was written", as: .failVerify)
        }
        return .proven(sink, bytes: bytes)
    }
}
