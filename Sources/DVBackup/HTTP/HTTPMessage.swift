import Foundation

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

