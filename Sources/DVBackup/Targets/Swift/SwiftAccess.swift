import Foundation
import Logging

/// What every session of a run shares: the token, the retry policy, the logger.
final class SwiftAccess: Sendable {
    let auth: SwiftAuthState
    /// The waits before each new attempt after a 5xx, a 429/498 or a cut connection.
    let retry: RetryPolicy
    /// Whether a stop was requested: SIGINT or SIGTERM (tests pass their own flag). A wait
    /// between attempts then ends, and so does the request.
    let stopped: @Sendable () -> Bool
    let logger: Logger
    let httpOptions: HTTPOptions

    init(credentials: SwiftCredentials, retry: RetryPolicy, logger: Logger, httpOptions: HTTPOptions = SwiftAccess.defaultOptions,
         stopped: @escaping @Sendable () -> Bool = { StopSignal.isRequested }) {
        auth = SwiftAuthState(credentials: credentials, retry: retry, logger: logger, stopped: stopped)
        self.retry = retry
        self.stopped = stopped
        self.logger = logger
        self.httpOptions = httpOptions
    }

    static var defaultOptions: HTTPOptions {
        var o = HTTPOptions()
        // Swift answers the headers of a PUT (401, 413, 503) before it asks for the body: give
        // a busy proxy time to do so, so that such a body can be sent again.
        o.expectContinueTimeoutMilliseconds = 5000
        return o
    }

    /// Why a request or an authentication gave up during a wait between attempts.
    static let stoppedWhileWaiting = "the run was stopped while waiting to try again"
}

/// A request that got no usable answer: authentication failed, the server stayed
/// unreachable or busy through the retries, or the connection was cut after part of a body
/// was sent (which cannot be sent again from here). Never holds a token or the key.
struct SwiftRequestError: Error, CustomStringConvertible {
    let message: String
    /// Sending the file again may succeed (a cut connection, a server error after the body).
    let connectionLost: Bool
    /// Authentication failed (the run cannot go on with this target).
    let authFailure: SwiftAuthFailure?

    var description: String { message }
}
