import Foundation
import Logging

/// A Dataverse S3 store (`dataverse.files.<id>.type = s3`): objects are read with SigV4-signed
/// GETs through libcurl and streamed into the copy as they arrive.
///
/// The object key is `<authority>/<identifier>/<name>` of the owning dataset, the name being
/// the part of the storage identifier after its last `:` (Dataverse's S3AccessIO); the bucket
/// is the store's own `bucket-name`, whatever the identifier says. A tabular file's original
/// is `<key>.orig`.
///
/// A body cut in the middle is resumed where it stopped (a Range request bound to the
/// object's ETag with If-Match), so the bytes reach the sink once, in order, and the digest
/// computed on them stays valid. 5xx answers, throttling and cut connections are retried
/// with exponential backoff and jitter.
public final class S3Store: SourceStore, Sendable {
    public let config: StoreConfig
    public let settings: S3StoreSettings
    private let pool: HTTPClientPool
    private let logger: Logger
    private let retry: RetryPolicy

    /// SHA-256 of the empty payload: what GET and HEAD sign as `x-amz-content-sha256`
    /// (curl 7.88 does not send the header itself).
    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(config: StoreConfig, settings: S3StoreSettings, logger: Logger, retry: RetryPolicy = S3Store.retryPolicy) {
        self.config = config
        self.settings = settings
        self.logger = logger
        self.retry = retry
        var options = HTTPOptions(caFile: settings.caFile)
        // Plain HTTP only where the configured endpoint says http://.
        options.protocols = settings.endpoint.scheme == "http" ? "http" : "https"
        options.connectTimeoutSeconds = 20
        options.stallTimeoutSeconds = 60
        pool = HTTPClientPool(options: options)
    }

    /// Five attempts; waits of 0.25, 0.5, 1 and 2 s, each drawn from its upper half.
    public static let retryPolicy = RetryPolicy.exponential(attempts: 5, baseSeconds: 0.25, capSeconds: 8)

    /// Waits before attempt `n`; a stop (SIGINT/SIGTERM) ends the wait and the read.
    private func pause(before n: Int, _ what: String) throws(FileFailure) {
        if !retry.wait(retry.delay(before: n) ?? 0) {
            throw FileFailure(.failRead, "\(what): the run was stopped while waiting to try again; the next run reads it again")
        }
    }

    public func locate(_ file: CatalogFile) throws(FileFailure) -> SourceObject {
        let name = StorageIdentifier(parsing: file.storageIdentifier).objectName(lastColonSegment: true)
        let key = try PathSafety.datasetRelativePath(authority: file.storageAuthority,
                                                     identifier: file.storageIdentifierPath, name: name).get()
        return SourceObject(storeId: config.id, address: key + (file.isTabular ? ".orig" : ""), name: name)
    }

    public func stream(_ object: SourceObject, chunkSize: Int,
                       into sink: (UnsafeRawBufferPointer) throws(FileFailure) -> Void) throws(FileFailure) {
        let what = settings.displayName(key: object.address)
        let url = settings.objectURL(key: object.address)
        var delivered: Int64 = 0
        var etag: String? = nil
        var total: Int64? = nil
        var attempt = 0
        while true {
            attempt += 1
            var headers: [(name: String, value: String)] = [("x-amz-content-sha256", Self.emptyPayloadHash)]
            if delivered > 0 {
                headers.append(("Range", "bytes=\(delivered)-"))
                if let etag { headers.append(("If-Match", etag)) }
            }
            let resumingAt = delivered
            // Bytes a server that ignores Range sends again from the start: skipped.
            var skip: Int64 = 0
            var decided = false
            let request = HTTPRequest(url: url, headers: headers, sigV4: settings.credentials)
            // `perform` takes its body closure as an optional (so escaping) parameter, but
            // calls it only while it runs.
            let outcome: Result<HTTPResponse, HTTPError> = withoutActuallyEscaping(sink) { sink in pool.withClient { client in
                Result { () throws(HTTPError) -> HTTPResponse in
                    try client.perform(request, download: { bytes in
                        if !decided {
                            decided = true
                            skip = resumingAt > 0 && client.responseStatus == 200 ? resumingAt : 0
                            // The object's version, known from the first byte: a resumed read
                            // must be of the same one (If-Match).
                            if etag == nil { etag = client.responseHeaders["ETag"] }
                        }
                        var chunk = bytes
                        if skip > 0 {
                            let n = Int(min(skip, Int64(chunk.count)))
                            skip -= Int64(n)
                            chunk = UnsafeRawBufferPointer(rebasing: chunk[n...])
                            if chunk.isEmpty { return }
                        }
                        try sink(chunk)
                        delivered += Int64(chunk.count)
                    })
                }
            } }
            switch outcome {
            case .success(let response) where response.isSuccess:
                if etag == nil { etag = response.headers["ETag"] }
                if total == nil {
                    total = Self.totalLength(response, resumedAt: resumingAt)
                }
                if let total, delivered != total {
                    // The server closed a response early without an error: resume.
                    if attempt < retry.attempts {
                        logger.warning("\(what): the response ended after \(delivered) of \(total) bytes; resuming (attempt \(attempt + 1) of \(retry.attempts))")
                        try pause(before: attempt + 1, what)
                        continue
                    }
                    throw FileFailure(.failRead, "\(what): the response ended after \(delivered) of \(total) bytes, \(retry.attempts) times")
                }
                return
            case .success(let response):
                let error = S3ErrorResponse(response)
                let retriable = response.status >= 500 || response.status == 429 || error.code == "SlowDown"
                    || error.code == "RequestTimeout"
                if response.status == 412, delivered > 0 {
                    throw FileFailure(.failRead, "\(what) changed while it was being read (its ETag is no longer \(etag ?? "?")); it will be read again by the next run")
                }
                if retriable && attempt < retry.attempts {
                    logger.warning("\(what): \(error.summary); retrying (attempt \(attempt + 1) of \(retry.attempts))")
                    try pause(before: attempt + 1, what)
                    continue
                }
                let tries = retriable ? " (after \(attempt) attempts)" : ""
                throw FileFailure(.failRead, "\(what): \(error.summary)\(tries)")
            case .failure(.aborted(let underlying)):
                if let failure = underlying as? FileFailure { throw failure }
                throw FileFailure(.failRead, "\(what): \(underlying)")
            case .failure(let error):
                if error.isTransient && attempt < retry.attempts {
                    let resume = delivered > 0 ? "; resuming at byte \(delivered)" : "; retrying"
                    logger.warning("\(what): \(Self.transportText(error))\(resume) (attempt \(attempt + 1) of \(retry.attempts))")
                    try pause(before: attempt + 1, what)
                    continue
                }
                let tries = error.isTransient ? " (after \(attempt) attempts)" : ""
                throw FileFailure(.failRead, "\(what): \(Self.transportText(error))\(tries)")
            }
        }
    }

    /// Checks that the bucket can be reached with the store's credentials (a HEAD on it).
    /// Returns `nil` when it can, otherwise why not.
    public func probeBucket() -> String? {
        let request = HTTPRequest(method: .head, url: settings.bucketURL,
                                  headers: [("x-amz-content-sha256", Self.emptyPayloadHash)], sigV4: settings.credentials)
        let outcome: Result<HTTPResponse, HTTPError> = pool.withClient { client in
            Result { () throws(HTTPError) -> HTTPResponse in try client.perform(request) }
        }
        switch outcome {
        case .success(let r) where r.isSuccess:
            return nil
        case .success(let r):
            var why = S3ErrorResponse(r).summary
            switch r.status {
            case 301: why += r.headers["x-amz-bucket-region"].map { ": the bucket is in region \($0), not \(settings.region) (set custom-endpoint-region)" } ?? ": wrong region or endpoint"
            case 403: why += ": the credentials (\(settings.credentialSource)) are refused or lack access to the bucket"
            case 404: why += ": there is no such bucket at this endpoint"
            default: break
            }
            return why
        case .failure(let e):
            return Self.transportText(e)
        }
    }

    static func transportText(_ error: HTTPError) -> String {
        switch error {
        case .transport(_, let message, _): message
        case .aborted(let e): "\(e)"
        }
    }

    /// The whole object's length: Content-Length of a 200, or the total of a 206's
    /// Content-Range.
    static func totalLength(_ response: HTTPResponse, resumedAt: Int64) -> Int64? {
        if response.status == 206, let range = response.headers["Content-Range"],
           let slash = range.lastIndex(of: "/"), let total = Int64(range[range.index(after: slash)...]) {
            return total
        }
        if response.status == 200, let length = response.headers["Content-Length"].flatMap({ Int64($0) }) {
            return length
        }
        return nil
    }
}

/// An S3 error answer: the HTTP status and the `<Code>`/`<Message>` of its XML body. Nothing
/// else of the body is kept: a SignatureDoesNotMatch body holds the string to sign and the
/// signature.
public struct S3ErrorResponse: Sendable, Equatable {
    public let status: Int
    public let code: String?
    public let message: String?

    public init(_ response: HTTPResponse) {
        self.init(status: response.status, body: response.bodyText, headerCode: response.headers["x-amz-error-code"])
    }

    public init(status: Int, body: String, headerCode: String? = nil) {
        self.status = status
        code = Self.element("Code", in: body) ?? headerCode
        message = Self.element("Message", in: body).map { String($0.prefix(300)) }
    }

    public var summary: String {
        var s = "HTTP \(status)"
        if let code { s += " \(code)" }
        if let message, !message.isEmpty { s += ": \(message)" }
        if code == nil && message == nil, let reason = Self.reasons[status] { s += " \(reason)" }
        return s
    }

    static let reasons = [301: "Moved Permanently", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
                          412: "Precondition Failed", 429: "Too Many Requests", 500: "Internal Server Error",
                          502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"]

    static func element(_ name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"),
              let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex) else { return nil }
        return String(xml[open.upperBound..<close.lowerBound])
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Idle libcurl handles shared by the workers: each handle is used by one thread at a time
/// (checked out under the lock, returned after), and keeps its connections for the next
/// request.
final class HTTPClientPool: @unchecked Sendable {
    // @unchecked: `idle` is touched only under `lock`, and a checked-out HTTPClient belongs to
    // the one thread that took it until it is returned.
    private let lock = NSLock()
    private var idle: [HTTPClient] = []
    let options: HTTPOptions

    init(options: HTTPOptions) { self.options = options }

    func withClient<T>(_ body: (HTTPClient) -> Result<T, HTTPError>) -> Result<T, HTTPError> {
        lock.lock()
        let reused = idle.popLast()
        lock.unlock()
        let client: HTTPClient
        if let reused {
            client = reused
        } else {
            do { client = try HTTPClient(options: options) } catch { return .failure(error) }
        }
        let result = body(client)
        lock.lock()
        idle.append(client)
        lock.unlock()
        return result
    }
}
