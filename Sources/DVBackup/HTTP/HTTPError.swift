import Foundation
internal import CCurl

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
