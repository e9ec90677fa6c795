import Foundation
internal import CCurl
internal import CCurlShim

/// Response header fields, in the order received, looked up without regard to case
/// (Swift sends `Etag`, S3 `ETag`).
public struct HTTPHeaders: Sendable, Equatable {
    public private(set) var fields: [(name: String, value: String)] = []

    public init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }

    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    mutating func append(_ name: String, _ value: String) { fields.append((name, value)) }

    public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

/// AWS Signature Version 4, computed by libcurl (`CURLOPT_AWS_SIGV4`). The key and the
/// secret reach libcurl separately, so a key may contain `:` (Swift s3api's `account:user`).
public struct SigV4Credentials: Sendable, Equatable {
    public var accessKey: String
    public var secretKey: String
    public var sessionToken: String?
    public var region: String
    public var service: String

    public init(accessKey: String, secretKey: String, sessionToken: String? = nil, region: String, service: String = "s3") {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
        self.region = region
        self.service = service
    }

    /// What CURLOPT_AWS_SIGV4 takes: `aws:amz:<region>:<service>`.
    var curlProvider: String { "aws:amz:\(region):\(service)" }
}

/// The methods dvbackup sends.
public enum HTTPMethod: String, Sendable, Equatable {
    case get = "GET"
    case head = "HEAD"
    case put = "PUT"
    case post = "POST"
    case delete = "DELETE"
}

/// One HTTP request. The URL must already be in its final, encoded form (S3 signs it as
/// written).
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    public var url: String
    public var headers: [(name: String, value: String)]
    /// A small request body held in memory (a manifest, a form); larger bodies are streamed
    /// through `perform(_:upload:…)`.
    public var body: [UInt8]?
    public var sigV4: SigV4Credentials?

    public init(method: HTTPMethod = .get, url: String, headers: [(name: String, value: String)] = [],
                body: [UInt8]? = nil, sigV4: SigV4Credentials? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.sigV4 = sigV4
    }

    /// The URL without its query and user info, for logs and error messages: a query may be
    /// a signature (presigned URLs, temp URLs).
    public var displayURL: String { Redaction.url(url) }

    public static func redacted(_ url: String) -> String { Redaction.url(url) }
}

/// A response: the status, the headers of the final response, and the body when it was
/// collected (always for error statuses, up to a limit).
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Bytes of the body sent to the streaming sink.
    public var streamedBytes: Int64

    public var isSuccess: Bool { (200..<300).contains(status) }
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A request that did not produce a response: the connection failed, was cut, timed out,
/// or a callback gave up.
public enum HTTPError: Error, CustomStringConvertible {
    /// libcurl's error (`code` is a CURLcode), with its detailed text.
    case transport(code: Int, message: String, url: String)
    /// The body source or sink threw; the transfer was stopped.
    case aborted(any Error)

    public var description: String {
        switch self {
        case .transport(_, let message, let url): "\(url): \(message)"
        case .aborted(let error): "\(error)"
        }
    }

    /// A failure another attempt may cure: the connection, not the request, went wrong.
    public var isTransient: Bool {
        guard case .transport(let code, _, _) = self else { return false }
        return HTTPError.transientCodes.contains(code)
    }

    static let transientCodes: Set<Int> = [
        Int(CURLE_COULDNT_CONNECT.rawValue), Int(CURLE_OPERATION_TIMEDOUT.rawValue),
        Int(CURLE_SEND_ERROR.rawValue), Int(CURLE_RECV_ERROR.rawValue),
        Int(CURLE_PARTIAL_FILE.rawValue), Int(CURLE_GOT_NOTHING.rawValue),
        Int(CURLE_HTTP2.rawValue), Int(CURLE_HTTP2_STREAM.rawValue),
        Int(CURLE_SSL_CONNECT_ERROR.rawValue), Int(CURLE_COULDNT_RESOLVE_HOST.rawValue),
    ]
}

/// Settings shared by every request of one client.
public struct HTTPOptions: Sendable, Equatable {
    /// A PEM bundle of CAs to trust instead of the system's (a private CA).
    public var caFile: String?
    /// Certificates are verified unless this is set, which only a configuration that says
    /// so in so many words does.
    public var insecureSkipVerify = false
    public var connectTimeoutSeconds = 30
    /// A transfer slower than 1 byte/s for this long is cut (a stalled connection).
    public var stallTimeoutSeconds = 120
    /// Protocols allowed, as CURLOPT_PROTOCOLS_STR takes them.
    public var protocols = "http,https"
    /// How long an upload waits for the server's `100 Continue` before sending the body
    /// anyway (libcurl's default is 1 s). Waiting lets a server refuse a request (401, 413)
    /// before any of its body is sent, so the body can be sent again elsewhere.
    public var expectContinueTimeoutMilliseconds = 1000
    /// libcurl's upload buffer per handle (CURLOPT_UPLOAD_BUFFERSIZE).
    public var uploadBufferSize = 2 * 1024 * 1024

    public init(caFile: String? = nil) { self.caFile = caFile }
}

/// Calls libcurl once at start-up, before any thread exists.
enum LibCurl {
    static let initialized: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    /// `libcurl/7.88.1 OpenSSL/3.0.22 …`
    static var version: String { String(cString: curl_version()) }
}

/// One libcurl easy handle: requests made through it reuse its connections.
///
/// Not `Sendable`: libcurl forbids using one handle from two threads at once. Each worker
/// owns its own client.
public final class HTTPClient {
    private let handle: UnsafeMutableRawPointer
    public let options: HTTPOptions
    /// The body collected from a response that is not streamed, or from an error response.
    public var collectLimit = 1 << 20

    public init(options: HTTPOptions = HTTPOptions()) throws(HTTPError) {
        precondition(LibCurl.initialized, "curl_global_init failed")
        guard let h = curl_easy_init() else {
            throw .transport(code: Int(CURLE_FAILED_INIT.rawValue), message: "curl_easy_init failed", url: "")
        }
        handle = h
        self.options = options
    }

    deinit { curl_easy_cleanup(handle) }

    /// The headers of the response being received (inside a `download` closure: those of the
    /// response whose body this is).
    public var responseHeaders: HTTPHeaders { current?.headers ?? HTTPHeaders() }
    private var current: TransferContext?

    /// The status of the response being received (inside a `download` closure: the status
    /// of the response whose body this is).
    public var responseStatus: Int {
        var status = 0
        _ = dv_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return status
    }

    /// Sends `request`. With `upload`, the request body is pulled from it (it fills the
    /// buffer and returns the count, 0 at the end); `uploadLength` sets Content-Length
    /// (otherwise the body is chunked). With `download`, a successful (2xx) response's body
    /// is pushed to it as it arrives and is not collected; other bodies are collected.
    public func perform(_ request: HTTPRequest,
                        upload: ((UnsafeMutableRawBufferPointer) throws -> Int)? = nil,
                        uploadLength: Int64? = nil,
                        download: ((UnsafeRawBufferPointer) throws -> Void)? = nil) throws(HTTPError) -> HTTPResponse {
        let context = TransferContext(handle: handle, collectLimit: collectLimit)
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        curl_easy_reset(handle)
        var failed: CURLcode = CURLE_OK
        func set(_ code: CURLcode) { if failed == CURLE_OK && code != CURLE_OK { failed = code } }

        set(dv_curl_setopt_string(handle, CURLOPT_URL, request.url))
        set(dv_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        set(dv_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, options.protocols))
        set(dv_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        set(dv_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, options.connectTimeoutSeconds))
        set(dv_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1))
        set(dv_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, options.stallTimeoutSeconds))
        set(dv_curl_setopt_long(handle, CURLOPT_TCP_NODELAY, 1))
        set(dv_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1))
        set(dv_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, options.insecureSkipVerify ? 0 : 1))
        set(dv_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, options.insecureSkipVerify ? 0 : 2))
        if let ca = options.caFile { set(dv_curl_setopt_string(handle, CURLOPT_CAINFO, ca)) }
        set(dv_curl_setopt_long(handle, CURLOPT_BUFFERSIZE, 256 * 1024))
        set(dv_curl_setopt_long(handle, CURLOPT_UPLOAD_BUFFERSIZE, options.uploadBufferSize))
        set(dv_curl_setopt_long(handle, CURLOPT_EXPECT_100_TIMEOUT_MS, options.expectContinueTimeoutMilliseconds))

        for (name, value) in request.headers {
            // "Name;" sends a header with an empty value; "Name:" removes one of curl's.
            let line = value.isEmpty ? "\(name);" : "\(name): \(value)"
            headerList = curl_slist_append(headerList, line)
        }
        if let sig = request.sigV4 {
            set(dv_curl_setopt_string(handle, CURLOPT_AWS_SIGV4, sig.curlProvider))
            set(dv_curl_setopt_string(handle, CURLOPT_USERNAME, sig.accessKey))
            set(dv_curl_setopt_string(handle, CURLOPT_PASSWORD, sig.secretKey))
            if let token = sig.sessionToken {
                headerList = curl_slist_append(headerList, "x-amz-security-token: \(token)")
            }
        }

        switch request.method {
        case .get:
            set(dv_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
        case .head:
            set(dv_curl_setopt_long(handle, CURLOPT_NOBODY, 1))
        case .put:
            set(dv_curl_setopt_long(handle, CURLOPT_UPLOAD, 1))
            if upload == nil {
                set(dv_curl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body?.count ?? 0)))
            } else if let uploadLength {
                set(dv_curl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(uploadLength)))
            }
        case .post:
            set(dv_curl_setopt_long(handle, CURLOPT_POST, 1))
            if upload == nil {
                set(dv_curl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body?.count ?? 0)))
            } else if let uploadLength {
                set(dv_curl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(uploadLength)))
            }
        case .delete:
            set(dv_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method.rawValue))
            if request.body != nil || upload != nil {
                set(dv_curl_setopt_long(handle, CURLOPT_UPLOAD, 1))
                if upload == nil {
                    set(dv_curl_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body?.count ?? 0)))
                }
            }
        }
        if headerList != nil { set(dv_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)) }

        let opaque = Unmanaged.passUnretained(context).toOpaque()
        set(dv_curl_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, curlHeaderCallback))
        set(dv_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, opaque))
        set(dv_curl_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, curlWriteCallback))
        set(dv_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, opaque))
        if upload != nil || request.body != nil {
            set(dv_curl_setopt_read_function(handle, CURLOPT_READFUNCTION, curlReadCallback))
            set(dv_curl_setopt_pointer(handle, CURLOPT_READDATA, opaque))
        }
        guard failed == CURLE_OK else {
            throw .transport(code: Int(failed.rawValue), message: "cannot set up the request: \(String(cString: curl_easy_strerror(failed)))",
                             url: request.displayURL)
        }

        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { buffer in
            _ = dv_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            defer { _ = dv_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, nil) }
            let fixed = request.body ?? []
            return fixed.withUnsafeBytes { fixedBytes in
                var offset = 0
                let fixedSource: (UnsafeMutableRawBufferPointer) throws -> Int = { out in
                    let n = min(out.count, fixedBytes.count - offset)
                    if n > 0 {
                        out.baseAddress!.copyMemory(from: fixedBytes.baseAddress! + offset, byteCount: n)
                        offset += n
                    }
                    return n
                }
                let source = upload ?? fixedSource
                let noSink: (UnsafeRawBufferPointer) throws -> Void = { _ in }
                return withoutActuallyEscaping(source) { source in
                    withoutActuallyEscaping(download ?? noSink) { sink in
                        context.source = source
                        context.sink = download == nil ? nil : sink
                        current = context
                        defer { context.source = nil; context.sink = nil; current = nil }
                        return withExtendedLifetime(context) { curl_easy_perform(handle) }
                    }
                }
            }
        }
        if let error = context.error { throw .aborted(error) }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            throw .transport(code: Int(code.rawValue), message: text, url: request.displayURL)
        }
        var status = 0
        _ = dv_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: context.headers, body: context.collected,
                            streamedBytes: context.streamed)
    }
}

/// What the C callbacks of one transfer reach through their user pointer.
private final class TransferContext {
    let handle: UnsafeMutableRawPointer
    let collectLimit: Int
    var headers = HTTPHeaders()
    var collected: [UInt8] = []
    var streamed: Int64 = 0
    var sink: ((UnsafeRawBufferPointer) throws -> Void)?
    var source: ((UnsafeMutableRawBufferPointer) throws -> Int)?
    var error: (any Error)?
    /// Whether the body goes to `sink` (decided at its first byte, from the status).
    var bodyToSink: Bool?

    init(handle: UnsafeMutableRawPointer, collectLimit: Int) {
        self.handle = handle
        self.collectLimit = collectLimit
    }
}

private func curlHeaderCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                                _ user: UnsafeMutableRawPointer?) -> Int {
    let n = size * count
    guard let data, let user else { return n }
    let context = Unmanaged<TransferContext>.fromOpaque(user).takeUnretainedValue()
    let line = String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
    if line.hasPrefix("HTTP/") {
        // A new response (after 100 Continue, or an interim one): only the last counts.
        context.headers = HTTPHeaders()
    } else if let colon = line.firstIndex(of: ":") {
        context.headers.append(String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                               String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
    }
    return n
}

private func curlWriteCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                               _ user: UnsafeMutableRawPointer?) -> Int {
    let n = size * count
    guard let user else { return 0 }
    let context = Unmanaged<TransferContext>.fromOpaque(user).takeUnretainedValue()
    guard n > 0, let data else { return n }
    if context.bodyToSink == nil {
        var status = 0
        _ = dv_curl_getinfo_long(context.handle, CURLINFO_RESPONSE_CODE, &status)
        context.bodyToSink = context.sink != nil && (200..<300).contains(status)
    }
    let bytes = UnsafeRawBufferPointer(start: data, count: n)
    if context.bodyToSink == true, let sink = context.sink {
        do {
            try sink(bytes)
            context.streamed += Int64(n)
        } catch {
            context.error = error
            return 0
        }
    } else if context.collected.count < context.collectLimit {
        context.collected.append(contentsOf: bytes.prefix(context.collectLimit - context.collected.count))
    }
    return n
}

private func curlReadCallback(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                              _ user: UnsafeMutableRawPointer?) -> Int {
    guard let buffer, let user else { return Int(CURL_READFUNC_ABORT) }
    let context = Unmanaged<TransferContext>.fromOpaque(user).takeUnretainedValue()
    guard let source = context.source else { return 0 }
    do {
        return try source(UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
    } catch {
        context.error = error
        return Int(CURL_READFUNC_ABORT)
    }
}
