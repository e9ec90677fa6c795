import Foundation
import Logging

/// One thread's connection to the cluster. Every request carries the run's token; a 401 renews
/// it once and the request is sent again; a 5xx, a 429/498 or a cut connection is retried
/// after the access's delays, as long as the request's body can be sent again (a streamed
/// body can only before any of it was taken). Not `Sendable`: one thread uses it.
final class SwiftConnection {
    let access: SwiftAccess
    let client: HTTPClient

    init(access: SwiftAccess) throws(SwiftRequestError) {
        self.access = access
        do {
            client = try HTTPClient(options: access.httpOptions)
        } catch {
            throw SwiftRequestError(message: "cannot start libcurl: \(error)", connectionLost: false, authFailure: nil)
        }
    }

    var logger: Logger { access.logger }

    func token() throws(SwiftRequestError) -> SwiftToken {
        do {
            return try access.auth.current(client: client)
        } catch {
            throw SwiftRequestError(message: error.message, connectionLost: error.kind == .unreachable, authFailure: error)
        }
    }

    /// Statuses worth another attempt: the cluster is busy or a backend failed.
    static func isRetryable(_ status: Int) -> Bool {
        status == 500 || status == 502 || status == 503 || status == 504 || status == 429 || status == 498 || status == 408
    }

    /// Sends `method` to `path` (already percent-encoded, appended to the storage URL; `""` is
    /// the account), with a small `body` or a streamed one from `pipe`. Returns the final
    /// answer, whatever its status, once renewal and retries are spent; throws when there is
    /// none.
    func send(_ method: HTTPMethod, _ path: String, headers: [(name: String, value: String)] = [],
              body: [UInt8]? = nil, pipe: BodyPipe? = nil) throws(SwiftRequestError) -> HTTPResponse {
        var attempt = 1
        var renewed = false
        var current = try token()
        while true {
            var request = HTTPRequest(method: method, url: current.storageURL + path,
                                      headers: [("X-Auth-Token", current.value)] + headers, body: body)
            if pipe != nil {
                // Ask before sending the body: a refusal then costs none of it.
                request.headers.append(("Expect", "100-continue"))
            }
            let resendable = { pipe.map { $0.consumed == 0 } ?? true }
            let what = "\(method.rawValue) \(request.displayURL)"
            let response: HTTPResponse
            do {
                if let pipe {
                    response = try client.perform(request, upload: { out in try pipe.read(into: out) })
                } else {
                    response = try client.perform(request)
                }
            } catch {
                if case .aborted = error {
                    throw SwiftRequestError(message: "\(what): \(error)", connectionLost: false, authFailure: nil)
                }
                var detail = "\(error)"
                if case .transport(_, let message, _) = error { detail = message }
                let text = access.auth.redact(detail)
                if error.isTransient, resendable(), let wait = access.retry.delay(before: attempt + 1) {
                    logger.warning("Swift: \(what): \(text); trying again in \(formatDecimal(wait, places: 1)) s (attempt \(attempt + 1) of \(access.retry.attempts))")
                    try waitBeforeAttempt(wait, what: "\(what): \(text)")
                    attempt += 1
                    continue
                }
                let sent = pipe.map { $0.consumed > 0 } ?? false
                throw SwiftRequestError(message: "\(what): \(text)\(attempt > 1 ? " (after \(attempt) attempts)" : "")",
                                        connectionLost: error.isTransient || sent, authFailure: nil)
            }
            if response.status == 401 {
                guard !renewed else {
                    throw SwiftRequestError(message: "\(what): \(SwiftResponseText.statusLine(401)) again after the token was renewed: the user '\(access.auth.credentials.user)' may no longer use this account",
                                            connectionLost: false, authFailure: nil)
                }
                renewed = true
                logger.info("Swift: the token was refused (401 on \(what)), it has probably expired; authenticating again at \(access.auth.credentials.displayAuthURL)")
                do {
                    current = try access.auth.renew(after: current, client: client)
                } catch {
                    throw SwiftRequestError(message: "\(what): 401 Unauthorized, and renewing the token failed: \(error.message)",
                                            connectionLost: false, authFailure: error)
                }
                guard resendable() else {
                    // Part of the body is gone: the whole file is sent again.
                    throw SwiftRequestError(message: "\(what): 401 Unauthorized after part of the body was sent; the token was renewed",
                                            connectionLost: true, authFailure: nil)
                }
                continue
            }
            if Self.isRetryable(response.status), resendable(), let wait = access.retry.delay(before: attempt + 1) {
                let status = SwiftResponseText.statusLine(response.status)
                logger.warning("Swift: \(what) answered \(status); trying again in \(formatDecimal(wait, places: 1)) s (attempt \(attempt + 1) of \(access.retry.attempts))")
                try waitBeforeAttempt(wait, what: "\(what): \(status)")
                attempt += 1
                continue
            }
            return response
        }
    }

    /// Waits before the next attempt; a stop (SIGINT, SIGTERM) ends the wait and the request
    /// at once, with no further attempt.
    private func waitBeforeAttempt(_ seconds: Double, what: String) throws(SwiftRequestError) {
        guard access.retry.wait(seconds, stopped: access.stopped) else {
            throw SwiftRequestError(message: "\(what); \(SwiftAccess.stoppedWhileWaiting)", connectionLost: false, authFailure: nil)
        }
    }

    /// The reason a request failed, for a message: the status, what it means for this
    /// request, and Swift's own text, without secrets.
    func explain(_ response: HTTPResponse, _ what: String) -> String {
        let text = SwiftResponseText.summary(response.body, redacting: [access.auth.credentials.key])
        var s = "\(what): \(SwiftResponseText.statusLine(response.status))"
        if let hint = Self.hint(response.status) { s += " (\(hint))" }
        if !text.isEmpty { s += ": " + access.auth.redact(text) }
        return s
    }

    static func hint(_ status: Int) -> String? {
        switch status {
        case 403: "the user may not do this in this account or container"
        case 404: "no such account, container or object"
        case 413: "larger than the cluster accepts, or the account's quota is used up"
        case 422: "the MD5 of the bytes Swift received differs from the ETag sent with them"
        case 507: "the cluster is out of space"
        default: nil
        }
    }
}
