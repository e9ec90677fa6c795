import Foundation

/// What became of one file.
public struct FileOutcome: Sendable {
    public let file: CatalogFile
    public let status: BackupStatus
    /// The reason of a failure; for OK, how the copy was proven.
    public let detail: String
    public let bytes: Int64
    /// Where the copy lives (or would have lived).
    public let location: String?
    /// `<ALGORITHM>:<hex>` of the bytes read and proven on the target.
    public let provenChecksum: String?
    public let seconds: Double
    /// The failure came from a lost connection to the target: worth another try.
    public let connectionLost: Bool

    /// Why an OK_NO_CHECKSUM copy was proven against the bytes read only although the
    /// catalog has a checksum (an algorithm dvbackup does not know, a malformed value).
    public var caveat: String? { status == .okNoChecksum ? file.catalogChecksumState.problem : nil }
}

/// Copies files in two steps. `send` reads a file once from its store, hashing it while
/// writing it to the target, and checks the digest against the catalog; `settle` has the
/// target prove the copies and publish them under their final names (one by one, or in
/// batches where the target proves many copies in one round trip).
public struct Transfer: Sendable {
    public let stores: SourceStores

    public init(stores: SourceStores) { self.stores = stores }

    /// Files at least this large are hashed on a second thread.
    static let parallelHashThreshold: Int64 = 16 << 20
    /// Files at least this large are sent through several connections, where the target
    /// offers them (libssh2 1.10 encrypts on one thread per connection).
    static let lanesThreshold: Int64 = 256 << 20
    /// Lanes follow the cores that encrypt them (measured on 2 cores: 2 lanes 11.6-12.0 s
    /// for 2 GiB, 3 lanes 12.2 s, 1 lane 13.5 s).
    static let laneCount = max(2, min(4, ProcessInfo.processInfo.activeProcessorCount))
    static let laneChunkSize = 2 << 20

    /// A file whose bytes are on the target, under a temporary name.
    public struct Sent {
        let file: CatalogFile
        let copy: WrittenCopy
        let location: String
        let hasCatalogChecksum: Bool
        let started: Double
    }

    public enum SendResult {
        case sent(Sent)
        case done(FileOutcome)
    }

    public func send(_ file: CatalogFile, to session: any TargetSession) -> SendResult {
        let start = MonotonicClock.now()
        var bytes: Int64 = 0
        var location: String? = nil
        do throws(FileFailure) {
            let store = try stores.store(for: file)
            let object = try store.locate(file)
            let relative = try PathSafety.datasetRelativePath(authority: file.storageAuthority,
                                                              identifier: file.storageIdentifierPath,
                                                              name: object.name).get()
            let catalog = file.catalogChecksum
            // With no usable catalog checksum the copy is still proven, against SHA-256 of
            // the bytes read.
            let algorithm = catalog?.algorithm ?? .sha256
            let upload = try session.beginUpload(UploadDescription(relativePath: relative, datafileId: file.id,
                                                                   expectedSize: file.expectedSourceSize,
                                                                   catalogChecksum: catalog))
            location = upload.location
            do throws(FileFailure) {
                let size = file.expectedSourceSize ?? file.fileSize ?? 0
                // Very large files go through several connections at once where the target
                // offers them: this thread reads and hashes, the lanes send.
                let actual: String
                if size >= Self.lanesThreshold, let laned = upload as? any LaneUpload,
                   case let lanes = laned.openLanes(Self.laneCount, algorithm: algorithm, blockSize: Self.laneChunkSize, expectedBytes: size),
                   !lanes.writers.isEmpty {
                    actual = try Self.sendThroughLanes(lanes, store, object, algorithm, &bytes)
                    laned.lanesFinished()
                } else {
                    actual = try Self.sendThroughSession(upload, store, object, algorithm, size: size,
                                                         chunkSize: session.preferredChunkSize, &bytes)
                }
                if let catalog, catalog.hex != actual {
                    throw FileFailure(.failSourceChecksum, "the source \(object.address) has \(algorithm.rawValue) \(actual), the catalog records \(catalog.hex): the primary copy differs from what was deposited; nothing was written under the final name")
                }
                if let expected = file.expectedSourceSize, expected != bytes {
                    throw FileFailure(.failSourceChecksum, "the source \(object.address) has \(bytes) bytes, the catalog records \(expected); nothing was written under the final name")
                }
                return .sent(Sent(file: file, copy: WrittenCopy(upload: upload, algorithm: algorithm, expectedHex: actual, bytes: bytes),
                                  location: upload.location, hasCatalogChecksum: catalog != nil, started: start))
            } catch {
                let failure = upload.diagnosed(error)
                upload.abort()
                throw failure
            }
        } catch {
            return .done(Self.failed(file, error, bytes: bytes, location: location, since: start))
        }
    }

    /// Sends the source through the upload's own connection, hashing it on the way (large
    /// files on a second thread, so that the digest costs no sending time); returns its digest.
    private static func sendThroughSession(_ upload: any TargetUpload, _ store: any SourceStore, _ object: SourceObject,
                                           _ algorithm: ChecksumAlgorithm, size: Int64, chunkSize: Int,
                                           _ bytes: inout Int64) throws(FileFailure) -> String {
        let digest = size >= parallelHashThreshold ? DigestHandle.parallel(algorithm) : DigestHandle.inline(algorithm)
        do throws(FileFailure) {
            try store.stream(object, chunkSize: chunkSize) { (chunk) throws(FileFailure) in
                digest.begin(chunk)
                defer { digest.end() }
                try upload.write(chunk)
                bytes += Int64(chunk.count)
            }
        } catch {
            _ = digest.finish()  // ends the hashing thread
            throw error
        }
        return digest.finish()
    }

    /// Sends the source through `lanes`: this thread reads and hashes, the lane threads
    /// write and tell the lanes' `progress` how far the copy is complete. The upload itself
    /// stays on this thread. Returns the digest.
    private static func sendThroughLanes(_ lanes: UploadLanes, _ store: any SourceStore, _ object: SourceObject,
                                         _ algorithm: ChecksumAlgorithm, _ bytes: inout Int64) throws(FileFailure) -> String {
        let digest = Digest(algorithm)
        let progress = lanes.progress
        let writer = LaneWriter(lanes: lanes.writers, chunkSize: laneChunkSize) { blocks in
            progress?.writtenPrefix(blocks: blocks)
        }
        do throws(FileFailure) {
            try store.stream(object, chunkSize: laneChunkSize) { (chunk) throws(FileFailure) in
                try writer.write(chunk)
                digest.update(chunk)
                bytes += Int64(chunk.count)
            }
        } catch {
            try? writer.finish()
            throw error
        }
        try writer.finish()
        return digest.finalizeHex()
    }

    /// Proves and publishes sent files; returns their outcomes in order.
    public func settle(_ sent: [Sent], on session: any TargetSession) -> [FileOutcome] {
        guard !sent.isEmpty else { return [] }
        let results = session.settle(sent.map(\.copy))
        return zip(sent, results).map { s, result in
            switch result {
            case .success(let proof):
                let f = s.file
                let detail = s.hasCatalogChecksum
                    ? "copy \(proof)"
                    : f.catalogChecksumState.problem.map { "\($0); copy \(proof) against the bytes read only" }
                        ?? "no usable checksum in the catalog (type '\(f.checksumType ?? "")', value '\(f.checksumValue ?? "")'); copy \(proof)"
                return FileOutcome(file: f, status: s.hasCatalogChecksum ? .ok : .okNoChecksum, detail: detail,
                                   bytes: s.copy.bytes, location: s.location,
                                   provenChecksum: "\(s.copy.algorithm.rawValue):\(s.copy.expectedHex)",
                                   seconds: MonotonicClock.now() - s.started, connectionLost: false)
            case .failure(let error):
                let failure = s.copy.upload.diagnosed(error)
                s.copy.upload.abort()
                return Self.failed(s.file, failure, bytes: s.copy.bytes, location: s.location, since: s.started)
            }
        }
    }

    /// Sends and settles one file.
    public func copy(_ file: CatalogFile, to session: any TargetSession) -> FileOutcome {
        switch send(file, to: session) {
        case .done(let outcome): outcome
        case .sent(let s): settle([s], on: session)[0]
        }
    }

    static func failed(_ file: CatalogFile, _ error: FileFailure, bytes: Int64, location: String?, since start: Double) -> FileOutcome {
        FileOutcome(file: file, status: error.status, detail: error.reason, bytes: bytes, location: location,
                    provenChecksum: nil, seconds: MonotonicClock.now() - start, connectionLost: error.connectionLost)
    }
}
