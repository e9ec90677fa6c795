import Foundation

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
            return HTTPRequest(method: .get, url: c.authURL, headers: [("X-Auth-User", user), ("X-Auth-Key", c.key)])
        case .v2:
            return HTTPRequest(method: .post, url: tokensURL(c.authURL, version: .v2),
                               headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                               body: v2Body(c))
        case .v3:
            return HTTPRequest(method: .post, url: tokensURL(c.authURL, version: .v3),
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
