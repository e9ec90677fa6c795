import Foundation

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
