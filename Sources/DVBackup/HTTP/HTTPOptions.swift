import Foundation

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

