import Foundation

/// Where restored bytes go: written under a temporary name (or spooled), then made visible
/// at once by `commit`; `abort` leaves nothing behind.
protocol RestoreSink: AnyObject {
    /// Where the file is written, for the report.
    var location: String { get }
    func write(_ chunk: UnsafeRawBufferPointer) throws(ReadFailure)
    func commit() throws(ReadFailure)
    func abort()
}

extension SafeFileWriter: RestoreSink {
    var location: String { finalPath }
}

/// What a primary holds now, compared with the digest it must have.
enum PrimaryState: Equatable {
    case missing
    case matches
    case differs(String)
    /// The primary could not be checked (store not configured, permission denied…): it is
    /// not overwritten.
    case unusable(String)
}

/// Writes restored files back into Dataverse's own stores, at the exact place Dataverse
/// reads them (`<name>.orig` for a tabular file, whose catalog checksum is the original's):
/// file stores through a temporary name and a rename, S3 stores with one PUT of bytes
/// spooled (and proven) first, signed with their SHA-256.
struct StoreWriter {
    let stores: SourceStores
    let s3: [String: S3StoreSettings]

    /// The store `file` lives in and where in it.
    private func locate(_ file: CatalogFile) throws(FileFailure) -> (any SourceStore, SourceObject) {
        let store = try stores.store(for: file)
        return (store, try store.locate(file))
    }

    /// Reads the primary now and compares it with `expected` (and `expectedSize`).
    func check(_ file: CatalogFile, expected: ExpectedDigest, expectedSize: Int64?) -> PrimaryState {
        let store: any SourceStore
        let object: SourceObject
        do throws(FileFailure) {
            (store, object) = try locate(file)
        } catch {
            return .unusable(error.reason)
        }
        if store is FileStore {
            var st = stat()
            if stat(object.address, &st) != 0 {
                return errno == ENOENT || errno == ENOTDIR ? .missing : .unusable("cannot look at \(object.address): \(errorText(errno))")
            }
        }
        let digest = Digest(expected.algorithm)
        var bytes: Int64 = 0
        do throws(FileFailure) {
            try store.stream(object, chunkSize: FileStore.chunkSize) { chunk in
                digest.update(chunk)
                bytes += Int64(chunk.count)
            }
        } catch {
            if store is S3Store, error.reason.contains("HTTP 404") { return .missing }
            return .unusable(error.reason)
        }
        let actual = digest.finalizeHex()
        if actual != expected.hex {
            return .differs("the primary \(object.address) has \(expected.algorithm.rawValue) \(actual), it must have \(expected.hex)")
        }
        if let expectedSize, expectedSize != bytes {
            return .differs("the primary \(object.address) has \(bytes) bytes, it must have \(expectedSize)")
        }
        return .matches
    }

    /// A sink that writes `file` back where Dataverse reads it.
    func begin(_ file: CatalogFile) throws(ReadFailure) -> any RestoreSink {
        let store: any SourceStore
        let object: SourceObject
        do throws(FileFailure) {
            (store, object) = try locate(file)
        } catch {
            throw .destination(error.reason)
        }
        if store is FileStore {
            var base = store.config.directory ?? "/"
            while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
            let relative = String(object.address.dropFirst(base.count + (base == "/" ? 0 : 1)))
            return try SafeFileWriter(base: base, relative: relative)
        }
        guard let settings = s3[store.config.id.lowercased()] else {
            throw .destination("store '\(store.config.id)' is of type \(store.config.type), which dvbackup cannot write to")
        }
        return try S3PutSink(settings: settings, key: object.address)
    }
}

/// Spools the bytes to an unlinked temporary file (so a crash leaves nothing), hashing them
/// with SHA-256, and on `commit` PUTs them in one request with that hash as
/// `x-amz-content-sha256` (libcurl 7.88 signs the header's value; the server checks the
/// bytes against it). S3 makes an object visible only when its PUT is complete.
final class S3PutSink: RestoreSink {
    let settings: S3StoreSettings
    let key: String
    private var fd: Int32
    private let sha256 = Digest(.sha256)
    private var written: Int64 = 0

    var location: String { settings.displayName(key: key) }

    init(settings: S3StoreSettings, key: String) throws(ReadFailure) {
        self.settings = settings
        self.key = key
        let dir = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((dir + "/dvbackup-restore-XXXXXX").utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw .destination("cannot create a spool file in \(dir): \(errorText(errno))") }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
    }

    deinit { abort() }

    func write(_ chunk: UnsafeRawBufferPointer) throws(ReadFailure) {
        if let e = writeAll(fd, chunk) {
            throw .destination("cannot spool \(location) to the temporary directory: \(errorText(e))")
        }
        sha256.update(chunk)
        written += Int64(chunk.count)
    }

    func commit() throws(ReadFailure) {
        let hash = sha256.finalizeHex()
        var options = HTTPOptions(caFile: settings.caFile)
        options.protocols = settings.endpoint.scheme == "http" ? "http" : "https"
        let client: HTTPClient
        do { client = try HTTPClient(options: options) } catch { throw .destination("\(location): \(error)") }
        let request = HTTPRequest(method: .put, url: settings.objectURL(key: key),
                                  headers: [("x-amz-content-sha256", hash), ("Content-Type", "application/octet-stream")],
                                  sigV4: settings.credentials)
        var last = ""
        // Three attempts, 0.5 s and 1 s apart; a stop (SIGINT/SIGTERM) ends the wait.
        let retry = RetryPolicy(delays: [0.5, 1])
        var attempt = 0
        while let wait = retry.delay(before: attempt + 1), attempt == 0 || retry.wait(wait) {
            attempt += 1
            lseek(fd, 0, SEEK_SET)
            let fd = self.fd
            do {
                let r = try client.perform(request, upload: { out in
                    while true {
                        let n = read(fd, out.baseAddress, out.count)
                        if n < 0, errno == EINTR { continue }
                        if n < 0 { throw ReadFailure.destination("cannot read the spool file: \(errorText(errno))") }
                        return n
                    }
                }, uploadLength: written)
                if r.isSuccess { abort(); return }
                last = S3ErrorResponse(r).summary
                if r.status < 500 && r.status != 429 { break }
            } catch {
                last = S3Store.transportText(error)
            }
        }
        abort()
        throw .destination("PUT \(location): \(last)")
    }

    func abort() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }
}
