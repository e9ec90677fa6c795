/// Restores one file at a time: streams its copy from the target, hashing it as it streams,
/// into a sink that keeps it under a temporary name, and makes it visible only when its
/// digest (and size) are the ones expected. A copy that fails is not written.
struct FileRestorer {
    let reader: any TargetReader
    let destination: RestoreRequest.Destination
    let storeWriter: StoreWriter?
    var labelPaths = LabelPaths()

    /// What `restore` did, and whether the target became unusable (the restore stops).
    struct Done {
        let result: RestoreResult
        let targetLost: Bool
        /// The path written, relative to the destination directory (for the manifest).
        let writtenRelative: String?
    }

    mutating func restore(_ item: RestoreItem, label: FileLabel?, dryRun: Bool) -> Done {
        let f = item.file
        func result(_ kind: RestoreResult.Kind, _ detail: String, bytes: Int64 = 0, failedAs: BackupStatus? = nil) -> RestoreResult {
            RestoreResult(datafileId: f.id, dataset: f.datasetPID, storageName: item.storageName, kind: kind, detail: detail,
                          bytes: bytes, failedAs: failedAs)
        }
        func failed(_ why: String, as status: BackupStatus, lost: Bool = false) -> Done {
            Done(result: result(.failed, why, failedAs: status), targetLost: lost, writtenRelative: nil)
        }
        guard !item.relativePath.isEmpty else {
            return failed("the catalog's storage identifier '\(f.storageIdentifier)' or dataset path is not a safe path", as: .failRead)
        }
        guard let expected = item.expected else {
            return failed("the catalog has no checksum for this file and no proven copy is recorded: its copy cannot be proven, so it is not restored", as: .failVerify)
        }

        // Where it goes.
        var relative: String? = nil
        switch destination {
        case .directory(_, let names):
            switch names {
            case .storage:
                relative = item.relativePath
            case .labels:
                let name = label.map { l in (f.isTabular ? l.originalFileName.flatMap { $0.isEmpty ? nil : $0 } : nil) ?? l.label }
                let datasetDirectory = "\(f.datasetAuthority)/\(f.datasetIdentifier)"
                if let p = PathSafety.problem(in: datasetDirectory, what: "dataset PID") { return failed(p, as: .failWrite) }
                relative = datasetDirectory + "/" + labelPaths.unique(
                    datasetDirectory: datasetDirectory, label: (name?.isEmpty ?? true) ? item.storageName : name!,
                    directoryLabel: label?.directoryLabel)
            }
        case .intoStore:
            switch storeWriter!.check(f, expected: expected, expectedSize: item.expectedSize) {
            case .matches:
                return Done(result: result(.intact, "the primary matches the catalog; not touched"), targetLost: false, writtenRelative: nil)
            case .unusable(let why):
                return failed("the primary cannot be checked, so it is not overwritten: \(why)", as: .failRead)
            case .missing, .differs:
                break
            }
        }

        let sink: any RestoreSink
        do throws(ReadFailure) {
            if case .directory(let base, _) = destination {
                if dryRun { return Done(result: result(.wouldRestore, base + "/" + relative!), targetLost: false, writtenRelative: nil) }
                sink = try SafeFileWriter(base: base, relative: relative!)
            } else {
                if dryRun { return Done(result: result(.wouldRestore, "into its store"), targetLost: false, writtenRelative: nil) }
                sink = try storeWriter!.begin(f)
            }
        } catch {
            return failed(error.description, as: .failWrite)
        }

        let digest = Digest(expected.algorithm)
        var bytes: Int64 = 0
        do throws(ReadFailure) {
            try reader.read(CopyReference(datafileId: f.id, relativePath: item.relativePath, expectedSize: item.expectedSize)) {
                (chunk) throws(ReadFailure) in
                digest.update(chunk)
                try sink.write(chunk)
                bytes += Int64(chunk.count)
            }
        } catch {
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
        do throws(ReadFailure) { try sink.commit() } catch {
            return failed(error.description, as: .failWrite)
        }
        return Done(result: result(.restored, sink.location, bytes: bytes), targetLost: false, writtenRelative: relative)
    }
}
