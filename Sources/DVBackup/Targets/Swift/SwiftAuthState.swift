import Foundation
import Logging

/// The run's token, shared by every session. A session that gets a 401 renews it, once:
/// sessions that fail with the same token at the same time wait for one authentication.
///
/// `@unchecked Sendable`: `token` and `issued` are read and written with `lock` held, and
/// authentication happens with it held too, so there is one at a time.
final class SwiftAuthState: @unchecked Sendable {
    let credentials: SwiftCredentials
    let retry: RetryPolicy
    /// Whether a stop was requested (a wait between attempts then ends the authentication).
    let stopped: @Sendable () -> Bool
    let logger: Logger
    private let lock = NSLock()
    private var token: SwiftToken?
    private var generation = 0
    /// Tokens handed out during the run, to be kept out of every message.
    private var issued: [String] = []

    init(credentials: SwiftCredentials, retry: RetryPolicy, logger: Logger,
         stopped: @escaping @Sendable () -> Bool = { StopSignal.isRequested }) {
        self.credentials = credentials
        self.retry = retry
        self.stopped = stopped
        self.logger = logger
    }

    /// The current token; authenticates when there is none yet.
    func current(client: HTTPClient) throws(SwiftAuthFailure) -> SwiftToken {
        lock.lock()
        defer { lock.unlock() }
        if let token { return token }
        return try authenticateLocked(client: client)
    }

    /// Replaces `failed` with a new token, unless another session already did.
    func renew(after failed: SwiftToken, client: HTTPClient) throws(SwiftAuthFailure) -> SwiftToken {
        lock.lock()
        defer { lock.unlock() }
        if let token, token.generation != failed.generation { return token }
        token = nil
        return try authenticateLocked(client: client)
    }

    /// The storage URL of the current token, if there is one.
    var storageURL: String? {
        lock.lock()
        defer { lock.unlock() }
        return token?.storageURL
    }

    /// Authenticates, trying again after the delays while the service is unreachable or busy.
    private func authenticateLocked(client: HTTPClient) throws(SwiftAuthFailure) -> SwiftToken {
        var attempt = 1
        var t: SwiftToken
        while true {
            do {
                t = try SwiftAuth.authenticate(credentials, client: client)
                break
            } catch {
                guard error.retryable, let wait = retry.delay(before: attempt + 1) else {
                    throw attempt == 1 ? error
                        : SwiftAuthFailure(kind: error.kind, message: "\(error.message) (after \(attempt) attempts)")
                }
                attempt += 1
                logger.warning("Swift: \(error.message); trying again in \(formatDecimal(wait, places: 1)) s (attempt \(attempt) of \(retry.attempts))")
                guard retry.wait(wait, stopped: stopped) else {
                    // Not `unreachable`: the file is not to be sent again.
                    throw SwiftAuthFailure(kind: .failed, message: "\(error.message); \(SwiftAccess.stoppedWhileWaiting)")
                }
            }
        }
        generation += 1
        t.generation = generation
        token = t
        issued.append(t.value)
        if issued.count > 16 { issued.removeFirst() }
        return t
    }

    /// `text` with the key and every token of the run replaced by `***`.
    func redact(_ text: String) -> String {
        lock.lock()
        let secrets = issued + [credentials.key]
        lock.unlock()
        return Redaction.redact(text, secrets: secrets)
    }
}
