import Foundation
import Logging

/// A token and the account's storage URL, as an auth service hands them out.
struct SwiftToken: Sendable {
    let value: String
    /// The account's URL (`https://swift.example.edu/v1/AUTH_account`), without a trailing `/`.
    let storageURL: String
    /// When the token expires, as the service says it (for the log).
    let expires: String?
    /// Counts the authentications of the run: a request that failed with token 3 renews it
    /// only if no other session already did.
    var generation = 0
}

/// Why the auth service gave no token. Never holds the key, the password or a token.
struct SwiftAuthFailure: Error, CustomStringConvertible, Sendable {
    enum Kind: Sendable {
        /// The service could not be reached (connection refused, DNS, TLS, timeout).
        case unreachable
        /// It answered 401 or 403: the credentials are wrong or not allowed.
        case refused
        /// Another status, or an answer without what a token needs.
        case failed
    }
    let kind: Kind
    let message: String
    /// Another attempt may succeed (unreachable, or a 5xx from the service).
    var retryable = false
    var description: String { message }
}

/// The part of the Swift settings that authentication needs.
struct SwiftCredentials: Sendable {
    let authURL: String
    let version: SwiftAuthVersion
    let user: String
    let key: String
    let tenant: String?
    let userDomain: String
    let projectDomain: String
    let region: String?
    /// A storage URL that replaces the one the service returns.
    let endpoint: String?

    init(_ s: SwiftSettings) {
        authURL = s.authURL
        version = s.authVersion
        user = s.user
        key = s.key
        tenant = s.tenant
        userDomain = s.userDomain
        projectDomain = s.projectDomain
        region = s.region
        endpoint = s.endpoint
    }

    init(authURL: String, version: SwiftAuthVersion, user: String, key: String, tenant: String? = nil,
         userDomain: String = SwiftSettings.defaultDomain, projectDomain: String = SwiftSettings.defaultDomain,
         region: String? = nil, endpoint: String? = nil) {
        self.authURL = authURL
        self.version = version
        self.user = user
        self.key = key
        self.tenant = tenant
        self.userDomain = userDomain
        self.projectDomain = projectDomain
        self.region = region
        self.endpoint = endpoint
    }

    /// The auth URL as messages show it (no query, no user info).
    var displayAuthURL: String { HTTPRequest.redacted(authURL) }
}

/// Authentication against the three identity APIs Swift installations use. The requests and
/// the parsing of the answers are pure, so they are tested without a server.
enum SwiftAuth {
    static func authenticate(_ c: SwiftCredentials, client: HTTPClient) throws(SwiftAuthFailure) -> SwiftToken {
        let request = self.request(for: c)
        let response: HTTPResponse
        do {
            response = try client.perform(request)
        } catch {
            var detail = "\(error)"
            if case .transport(_, let message, _) = error { detail = message }
            throw SwiftAuthFailure(kind: .unreachable, message: "cannot reach the Swift auth service at \(request.displayURL): \(detail)",
                                   retryable: error.isTransient)
        }
        return try parse(response, for: c, url: request.displayURL).get()
    }

    /// The request that asks for a token.
    static func request(for c: SwiftCredentials) -> HTTPRequest {
        switch c.version {
        case .v1:
            // tempauth and swauth users are `account:user`; a tenant given apart is put in front.
            let user = (c.tenant != nil && !c.user.contains(":")) ? "\(c.tenant!):\(c.user)" : c.user
            return HTTPRequest(method: "GET", url: c.authURL, headers: [("X-Auth-User", user), ("X-Auth-Key", c.key)])
        case .v2:
            return HTTPRequest(method: "POST", url: tokensURL(c.authURL, version: .v2),
                               headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                               body: v2Body(c))
        case .v3:
            return HTTPRequest(method: "POST", url: tokensURL(c.authURL, version: .v3),
                               headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                               body: v3Body(c))
        }
    }

    /// `…/v3` → `…/v3/auth/tokens`; an unversioned root gets `/v3/auth/tokens`; a URL that
    /// already ends with the tokens path is kept.
    static func tokensURL(_ authURL: String, version: SwiftAuthVersion) -> String {
        var base = authURL
        while base.hasSuffix("/") { base.removeLast() }
        let lower = base.lowercased()
        switch version {
        case .v1:
            return authURL
        case .v2:
            if lower.hasSuffix("/tokens") { return base }
            if lower.hasSuffix("/v2.0") || lower.hasSuffix("/v2") { return base + "/tokens" }
            return base + "/v2.0/tokens"
        case .v3:
            if lower.hasSuffix("/auth/tokens") { return base }
            if lower.hasSuffix("/v3") { return base + "/auth/tokens" }
            return base + "/v3/auth/tokens"
        }
    }

    /// Keystone's default domain has the id `default` (and the name `Default`): that exact
    /// spelling is sent as an id, any other value as a name.
    static func domainReference(_ domain: String) -> [String: String] {
        domain == "default" ? ["id": "default"] : ["name": domain]
    }

    static func v3Body(_ c: SwiftCredentials) -> [UInt8] {
        var auth: [String: Any] = [
            "identity": [
                "methods": ["password"],
                "password": ["user": ["name": c.user, "domain": domainReference(c.userDomain), "password": c.key] as [String: Any]],
            ] as [String: Any],
        ]
        if let tenant = c.tenant {
            auth["scope"] = ["project": ["name": tenant, "domain": domainReference(c.projectDomain)] as [String: Any]]
        }
        return json(["auth": auth])
    }

    static func v2Body(_ c: SwiftCredentials) -> [UInt8] {
        var auth: [String: Any] = ["passwordCredentials": ["username": c.user, "password": c.key]]
        if let tenant = c.tenant { auth["tenantName"] = tenant }
        return json(["auth": auth])
    }

    private static func json(_ object: [String: Any]) -> [UInt8] {
        // Only strings, arrays and dictionaries: serialization cannot fail.
        Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// Reads the token and the storage URL out of the service's answer.
    static func parse(_ r: HTTPResponse, for c: SwiftCredentials, url: String) -> Result<SwiftToken, SwiftAuthFailure> {
        guard r.isSuccess else {
            let text = SwiftResponseText.summary(r.body, redacting: [c.key])
            let status = SwiftResponseText.statusLine(r.status)
            if r.status == 401 || r.status == 403 {
                return .failure(SwiftAuthFailure(kind: .refused, message: "the Swift auth service at \(url) refused the credentials of user '\(c.user)' (\(status)\(text.isEmpty ? "" : ": " + text)); check SwiftUser and SwiftKey\(c.version == .v1 ? "" : ", SwiftTenant and the domains")"))
            }
            return .failure(SwiftAuthFailure(kind: .failed, message: "the Swift auth service at \(url) answered \(status)\(text.isEmpty ? "" : ": " + text)",
                                             retryable: SwiftConnection.isRetryable(r.status)))
        }
        switch c.version {
        case .v1:
            guard let token = r.headers["X-Auth-Token"] ?? r.headers["X-Storage-Token"], !token.isEmpty else {
                return .failure(SwiftAuthFailure(kind: .failed, message: "the Swift auth service at \(url) answered \(r.status) without an X-Auth-Token header (is SwiftAuthVersion right?)"))
            }
            guard let storage = c.endpoint ?? r.headers["X-Storage-Url"], !storage.isEmpty else {
                return .failure(SwiftAuthFailure(kind: .failed, message: "the Swift auth service at \(url) answered without an X-Storage-Url header; set SwiftEndPoint to the account's storage URL"))
            }
            return .success(SwiftToken(value: token, storageURL: trimmed(storage),
                                       expires: r.headers["X-Auth-Token-Expires"].map { "in \($0) s" }))
        case .v3:
            guard let token = r.headers["X-Subject-Token"], !token.isEmpty else {
                return .failure(SwiftAuthFailure(kind: .failed, message: "Keystone at \(url) answered \(r.status) without an X-Subject-Token header"))
            }
            guard let body = try? JSONDecoder().decode(V3Response.self, from: Data(r.body)) else {
                return .failure(SwiftAuthFailure(kind: .failed, message: "Keystone at \(url) answered with a body that is not a v3 token"))
            }
            let endpoints = (body.token.catalog ?? []).filter { $0.type == "object-store" }.flatMap(\.endpoints)
                .map { CatalogEndpoint(interface: $0.interface, region: $0.region_id ?? $0.region, url: $0.url) }
            return storageURL(c, endpoints, url: url).map {
                SwiftToken(value: token, storageURL: $0, expires: body.token.expires_at)
            }
        case .v2:
            guard let body = try? JSONDecoder().decode(V2Response.self, from: Data(r.body)) else {
                return .failure(SwiftAuthFailure(kind: .failed, message: "Keystone at \(url) answered with a body that is not a v2.0 token"))
            }
            let endpoints = (body.access.serviceCatalog ?? []).filter { $0.type == "object-store" }.flatMap(\.endpoints)
                .compactMap { e in e.publicURL.map { CatalogEndpoint(interface: "public", region: e.region, url: $0) } }
            return storageURL(c, endpoints, url: url).map {
                SwiftToken(value: body.access.token.id, storageURL: $0, expires: body.access.token.expires)
            }
        }
    }

    struct CatalogEndpoint: Equatable {
        let interface: String
        let region: String?
        let url: String
    }

    /// SwiftEndPoint when set, otherwise the public object-store endpoint of SwiftRegion (or
    /// the first public one when no region is set).
    static func storageURL(_ c: SwiftCredentials, _ endpoints: [CatalogEndpoint], url: String) -> Result<String, SwiftAuthFailure> {
        if let e = c.endpoint { return .success(trimmed(e)) }
        let publics = endpoints.filter { $0.interface == "public" }
        if let region = c.region {
            guard let e = publics.first(where: { $0.region == region }) else {
                let regions = Set(publics.compactMap(\.region)).sorted()
                return .failure(SwiftAuthFailure(kind: .failed, message: "the catalog of \(url) has no public object-store endpoint in region '\(region)' (SwiftRegion)\(regions.isEmpty ? "" : "; its regions: " + regions.joined(separator: ", "))"))
            }
            return .success(trimmed(e.url))
        }
        guard let e = publics.first else {
            return .failure(SwiftAuthFailure(kind: .failed, message: "the catalog of \(url) has no public object-store (Swift) endpoint for this project; set SwiftEndPoint to the account's storage URL"))
        }
        return .success(trimmed(e.url))
    }

    private static func trimmed(_ url: String) -> String {
        var u = url
        while u.hasSuffix("/") { u.removeLast() }
        return u
    }

    // Keystone's answers, as far as they are read.
    struct V3Response: Decodable {
        struct Token: Decodable {
            let expires_at: String?
            let catalog: [Service]?
        }
        struct Service: Decodable {
            let type: String
            let endpoints: [Endpoint]
        }
        struct Endpoint: Decodable {
            let interface: String
            let region: String?
            let region_id: String?
            let url: String
        }
        let token: Token
    }

    struct V2Response: Decodable {
        struct Access: Decodable {
            let token: Token
            let serviceCatalog: [Service]?
        }
        struct Token: Decodable {
            let id: String
            let expires: String?
        }
        struct Service: Decodable {
            let type: String
            let endpoints: [Endpoint]
        }
        struct Endpoint: Decodable {
            let publicURL: String?
            let region: String?
        }
        let access: Access
    }
}

/// The run's token, shared by every session. A session that gets a 401 renews it, once:
/// sessions that fail with the same token at the same time wait for one authentication.
///
/// `@unchecked Sendable`: `token` and `issued` are read and written with `lock` held, and
/// authentication happens with it held too, so there is one at a time.
final class SwiftAuthState: @unchecked Sendable {
    let credentials: SwiftCredentials
    let retryDelays: [Double]
    let logger: Logger
    private let lock = NSLock()
    private var token: SwiftToken?
    private var generation = 0
    /// Tokens handed out during the run, to be kept out of every message.
    private var issued: [String] = []

    init(credentials: SwiftCredentials, retryDelays: [Double], logger: Logger) {
        self.credentials = credentials
        self.retryDelays = retryDelays
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
        var attempt = 0
        var t: SwiftToken
        while true {
            do {
                t = try SwiftAuth.authenticate(credentials, client: client)
                break
            } catch {
                guard error.retryable, attempt < retryDelays.count else {
                    throw attempt == 0 ? error
                        : SwiftAuthFailure(kind: error.kind, message: "\(error.message) (after \(attempt + 1) attempts)")
                }
                let wait = retryDelays[attempt] * Double.random(in: 0.75...1.25)
                attempt += 1
                logger.warning("Swift: \(error.message); trying again in \(formatDecimal(wait, places: 1)) s (attempt \(attempt + 1) of \(retryDelays.count + 1))")
                SwiftConnection.sleep(wait)
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
        return SwiftResponseText.redact(text, secrets)
    }
}

/// Swift's and Keystone's answers, shortened for a message.
enum SwiftResponseText {
    static let reasons: [Int: String] = [
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
        408: "Request Timeout", 409: "Conflict", 411: "Length Required", 412: "Precondition Failed",
        413: "Request Entity Too Large", 416: "Requested Range Not Satisfiable", 422: "Unprocessable Entity",
        429: "Too Many Requests", 498: "Rate Limited", 499: "Client Disconnect", 500: "Internal Server Error",
        501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
        507: "Insufficient Storage",
    ]

    /// `503 Service Unavailable`
    static func statusLine(_ status: Int) -> String {
        reasons[status].map { "\(status) \($0)" } ?? "HTTP \(status)"
    }

    /// The useful text of an error body: Keystone's JSON `error.message`, or the text of an
    /// HTML page without its tags, on one line, at most `limit` characters; secrets removed.
    static func summary(_ body: [UInt8], redacting secrets: [String] = [], limit: Int = 300) -> String {
        var text = String(decoding: body.prefix(64 * 1024), as: UTF8.self)
        if let data = text.data(using: .utf8),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let error = object["error"] as? [String: Any], let message = error["message"] as? String {
            text = message
        } else if text.contains("<") {
            var out = ""
            var inTag = false
            for ch in text {
                if ch == "<" { inTag = true; out.append(" "); continue }
                if ch == ">" { inTag = false; continue }
                if !inTag { out.append(ch) }
            }
            text = out
        }
        text = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }).joined(separator: " ")
        text = redact(text, secrets)
        if text.count > limit { text = String(text.prefix(limit)) + "…" }
        return text
    }

    static func redact(_ text: String, _ secrets: [String]) -> String {
        var t = text
        for s in secrets where s.count >= 4 {
            t = t.replacingOccurrences(of: s, with: "***")
        }
        return t
    }
}
