import Foundation

/// Where an S3 store's requests go: the scheme, host (with port) and base path of
/// `.custom-endpoint-url`, or AWS's regional endpoint.
public struct S3Endpoint: Sendable, Equatable {
    public var scheme: String
    /// `host` or `host:port`
    public var authority: String
    /// A path prefix of the endpoint URL, without a trailing `/` (usually empty).
    public var basePath: String

    /// Parses `.custom-endpoint-url`: `http://127.0.0.1:5000`, `https://s3.example.edu/`,
    /// or a bare host (HTTPS, as the AWS SDK takes it). Returns the problem otherwise.
    public static func parse(_ text: String) -> Result<S3Endpoint, S3ConfigProblem> {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        var scheme = "https"
        if let r = rest.range(of: "://") {
            scheme = rest[..<r.lowerBound].lowercased()
            rest = rest[r.upperBound...]
        }
        guard scheme == "http" || scheme == "https" else {
            return .failure(S3ConfigProblem("must be an http:// or https:// URL, not '\(HTTPRequest.redacted(text))'"))
        }
        if rest.contains("?") || rest.contains("#") || rest.contains("@") {
            return .failure(S3ConfigProblem("must be a plain endpoint URL (no user, query or fragment), not '\(HTTPRequest.redacted(text))'"))
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        guard !authority.isEmpty, !authority.contains(" ") else {
            return .failure(S3ConfigProblem("has no host: '\(HTTPRequest.redacted(text))'"))
        }
        var path = String(rest[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        return .success(S3Endpoint(scheme: scheme, authority: authority, basePath: path))
    }

    /// AWS's endpoint for `region`.
    public static func aws(region: String) -> S3Endpoint {
        S3Endpoint(scheme: "https", authority: "s3.\(region).amazonaws.com", basePath: "")
    }

    public var url: String { "\(scheme)://\(authority)\(basePath)" }

    /// Whether the host is an IP address (or localhost), which cannot take a bucket as a
    /// subdomain: such endpoints are addressed path-style, as the AWS SDKs do.
    public var hostIsAddress: Bool {
        if authority.hasPrefix("[") { return true }
        let host = authority.split(separator: ":").first.map(String.init) ?? authority
        if host.lowercased() == "localhost" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}

/// Why an S3 store's options cannot be used (turned into a `ConfigError` with its key).
public struct S3ConfigProblem: Error, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// An S3 store of `[Stores]`, with Dataverse's option names, and the credentials found for it.
public struct S3StoreSettings: Sendable, Equatable {
    public var storeId: String
    public var bucket: String
    public var endpoint: S3Endpoint
    public var region: String
    public var pathStyle: Bool
    public var credentials: SigV4Credentials
    /// Where the credentials came from, for check-config and logs (never the secret).
    public var credentialSource: String
    /// A PEM bundle to trust (AWS_CA_BUNDLE), as AWS tools take it.
    public var caFile: String?

    /// Virtual-host style needs a bucket name that is a valid DNS label sequence (and, over
    /// HTTPS, one without dots, or the certificate `*.host` cannot match); otherwise the
    /// path style is used, as the AWS SDKs do.
    public var usesVirtualHost: Bool {
        guard !pathStyle, !endpoint.hostIsAddress else { return false }
        return S3StoreSettings.isDNSCompatible(bucket) && !(endpoint.scheme == "https" && bucket.contains("."))
    }

    static func isDNSCompatible(_ bucket: String) -> Bool {
        guard (3...63).contains(bucket.count) else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard bucket.allSatisfy({ allowed.contains($0) }) else { return false }
        guard let f = bucket.first, let l = bucket.last, f != "-", f != ".", l != "-", l != "." else { return false }
        return !bucket.contains("..")
    }

    /// The URL of the bucket (for a HEAD), ending without a slash for path style.
    public var bucketURL: String {
        if usesVirtualHost { return "\(endpoint.scheme)://\(bucket).\(endpoint.authority)\(endpoint.basePath)/" }
        return "\(endpoint.url)/\(S3URI.encode(bucket, keepSlash: false))"
    }

    /// The URL of an object, its key encoded as SigV4 signs it (curl signs the path as
    /// written), with the query in canonical order.
    public func objectURL(key: String, query: [(String, String)] = []) -> String {
        let path = S3URI.encode(key, keepSlash: true)
        let base = usesVirtualHost
            ? "\(endpoint.scheme)://\(bucket).\(endpoint.authority)\(endpoint.basePath)/\(path)"
            : "\(endpoint.url)/\(S3URI.encode(bucket, keepSlash: false))/\(path)"
        let q = S3URI.canonicalQuery(query)
        return q.isEmpty ? base : base + "?" + q
    }

    /// `s3://bucket/key`, for messages.
    public func displayName(key: String) -> String { "s3://\(bucket)/\(key)" }
}

/// AWS's URI encoding (SigV4): only `A-Za-z0-9-_.~` stay as they are, everything else is
/// %XX of its UTF-8 bytes, in upper-case hex; `/` stays in object keys. That is RFC 3986's
/// unreserved set, so `URLEncoding` does it.
public enum S3URI {
    public static func encode(_ text: String, keepSlash: Bool) -> String {
        keepSlash ? URLEncoding.path(text) : URLEncoding.queryComponent(text)
    }

    /// The query in the form SigV4 signs: names and values encoded, sorted by name (then
    /// value). curl 7.88 signs the query exactly as written, so it must be written this way.
    public static func canonicalQuery(_ items: [(String, String)]) -> String {
        items.map { (encode($0.0, keepSlash: false), encode($0.1, keepSlash: false)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }
}

/// Reads each S3 store's options and finds its credentials: the store's own keys, then the
/// AWS environment variables, then the shared credentials file (AWS_SHARED_CREDENTIALS_FILE
/// or ~/.aws/credentials, profile from the store's `.profile`, AWS_PROFILE, or `default`).
public enum S3Configuration {
    public static func resolve(_ store: StoreConfig, path: String, environment: [String: String],
                               home: String) throws(ConfigError) -> S3StoreSettings {
        let id = store.id
        func key(_ param: String) -> String { "dataverse.files.\(id).\(param)" }
        func line(_ param: String) -> Int? { store.parameterLines[param] ?? store.parameterLines["type"] }
        func fail(_ param: String, _ message: String) -> ConfigError {
            ConfigError(path: path, line: line(param), section: "Stores", key: key(param), message)
        }
        func value(_ param: String) -> String? {
            guard let v = store.parameters[param]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }

        guard let bucket = value("bucket-name") else {
            throw fail("bucket-name", "S3 store '\(id)' needs its bucket-name")
        }
        var endpoint: S3Endpoint
        var region: String
        if let url = value("custom-endpoint-url") {
            switch S3Endpoint.parse(url) {
            case .success(let e): endpoint = e
            case .failure(let p): throw fail("custom-endpoint-url", p.message)
            }
            // Dataverse's default for custom endpoints.
            region = value("custom-endpoint-region") ?? "dataverse"
        } else {
            region = value("custom-endpoint-region") ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
            endpoint = .aws(region: region)
        }
        var pathStyle = false
        if let ps = value("path-style-access") {
            switch ps.lowercased() {
            case "true", "yes", "1", "on": pathStyle = true
            case "false", "no", "0", "off": pathStyle = false
            default: throw fail("path-style-access", "must be true or false, not '\(ps)'")
            }
        }

        // Credentials, in the order AWS tools users expect.
        let credentials: SigV4Credentials
        let source: String
        let storeKey = value("access-key"), storeSecret = value("secret-key")
        if storeKey != nil || storeSecret != nil {
            guard let storeKey else { throw fail("access-key", "S3 store '\(id)' has a secret-key but no access-key") }
            guard let storeSecret else { throw fail("secret-key", "S3 store '\(id)' has an access-key but no secret-key") }
            credentials = SigV4Credentials(accessKey: storeKey, secretKey: storeSecret, region: region)
            source = "the store's access-key/secret-key"
        } else if let envKey = environment["AWS_ACCESS_KEY_ID"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let envSecret = environment["AWS_SECRET_ACCESS_KEY"], !envSecret.isEmpty else {
                throw ConfigError(path: path, line: line("type"), section: "Stores", key: key("type"),
                                  "S3 store '\(id)': AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
            }
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            credentials = SigV4Credentials(accessKey: envKey, secretKey: envSecret, sessionToken: token, region: region)
            source = "the environment (AWS_ACCESS_KEY_ID)"
        } else {
            let file = environment["AWS_SHARED_CREDENTIALS_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.aws/credentials"
            let profile = value("profile") ?? environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
            let profileOrigin = value("profile") != nil ? "its profile" : environment["AWS_PROFILE"] != nil ? "AWS_PROFILE" : "the default profile"
            guard let text = try? Settings.readTextFile(file) else {
                throw fail(value("profile") != nil ? "profile" : "type",
                           "no credentials for S3 store '\(id)': it has no access-key/secret-key, AWS_ACCESS_KEY_ID is not set, and the shared credentials file \(file) cannot be read")
            }
            let ini: INIFile
            do { ini = try INIFile(parsing: text, path: file, dialect: .python3) } catch {
                throw fail("type", "no credentials for S3 store '\(id)': \(error)")
            }
            guard let section = ini.sections.first(where: { $0.name == profile }) else {
                throw fail(value("profile") != nil ? "profile" : "type",
                           "no credentials for S3 store '\(id)': profile '\(profile)' (\(profileOrigin)) is not in \(file)")
            }
            guard let k = section.entry("aws_access_key_id")?.value, !k.isEmpty,
                  let s = section.entry("aws_secret_access_key")?.value, !s.isEmpty else {
                throw ConfigError(path: file, line: section.line, section: profile, key: nil,
                                  "profile '\(profile)' (for S3 store '\(id)') needs aws_access_key_id and aws_secret_access_key")
            }
            let token = section.entry("aws_session_token")?.value
            credentials = SigV4Credentials(accessKey: k, secretKey: s, sessionToken: token?.isEmpty == false ? token : nil, region: region)
            source = "\(file) [\(profile)]"
        }
        let ca = environment["AWS_CA_BUNDLE"].flatMap { $0.isEmpty ? nil : $0 }
        return S3StoreSettings(storeId: id, bucket: bucket, endpoint: endpoint, region: region, pathStyle: pathStyle,
                               credentials: credentials, credentialSource: source, caFile: ca)
    }
}
