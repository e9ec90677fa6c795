import Foundation
internal import CCurl
internal import CCurlShim

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

        /// The body's length: the one in memory, or `uploadLength` (otherwise it is chunked).
        func setBodyLength(_ option: CURLoption) {
            if upload == nil {
                set(dv_curl_setopt_off_t(handle, option, curl_off_t(request.body?.count ?? 0)))
            } else if let uploadLength {
                set(dv_curl_setopt_off_t(handle, option, curl_off_t(uploadLength)))
            }
        }
        switch request.method {
        case .get:
            set(dv_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
        case .head:
            set(dv_curl_setopt_long(handle, CURLOPT_NOBODY, 1))
        case .put:
            set(dv_curl_setopt_long(handle, CURLOPT_UPLOAD, 1))
            setBodyLength(CURLOPT_INFILESIZE_LARGE)
        case .post:
            set(dv_curl_setopt_long(handle, CURLOPT_POST, 1))
            setBodyLength(CURLOPT_POSTFIELDSIZE_LARGE)
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
