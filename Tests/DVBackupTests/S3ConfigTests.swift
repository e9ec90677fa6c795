import Foundation
import Logging
import Testing
@testable import DVBackup

/// S3 stores: options, the credential chain, URL building (path and virtual-host style),
/// SigV4's URI encoding and canonical query, error answers, and the object key of a file.
@Suite struct S3ConfigTests {
    private func store(_ params: [String: String], id: String = "s3") -> StoreConfig {
        var lines: [String: Int] = [:]
        for (i, k) in params.keys.sorted().enumerated() { lines[k] = 10 + i }
        return StoreConfig(id: id, type: "s3", directory: nil, parameters: params.merging(["type": "s3"]) { a, _ in a },
                           origin: "config.ini:9", parameterLines: lines)
    }

    private let keys = ["access-key": "AKIDEXAMPLE", "secret-key": "wJalrXUtnFEMI/K7MDENG"]

    private func resolve(_ params: [String: String], env: [String: String] = [:], home: String = "/nonexistent") throws(ConfigError) -> S3StoreSettings {
        try S3Configuration.resolve(store(params), path: "config.ini", environment: env, home: home)
    }

    @Test func customEndpointDefaultsToDataversesRegion() throws {
        let s = try resolve(["bucket-name": "dv-files", "custom-endpoint-url": "http://127.0.0.1:5000/",
                             "path-style-access": "true"].merging(keys) { a, _ in a })
        #expect(s.region == "dataverse")
        #expect(s.endpoint == S3Endpoint(scheme: "http", authority: "127.0.0.1:5000", basePath: ""))
        #expect(!s.usesVirtualHost)
        #expect(s.objectURL(key: "10.5072/FK2/ABC/18b3-50eb") == "http://127.0.0.1:5000/dv-files/10.5072/FK2/ABC/18b3-50eb")
        #expect(s.bucketURL == "http://127.0.0.1:5000/dv-files")
        #expect(s.credentialSource == "the store's access-key/secret-key")
    }

    @Test func awsEndpointUsesVirtualHostStyleAndTheRegion() throws {
        let s = try resolve(["bucket-name": "dv-files", "custom-endpoint-region": "eu-west-1"].merging(keys) { a, _ in a })
        #expect(s.endpoint.url == "https://s3.eu-west-1.amazonaws.com")
        #expect(s.usesVirtualHost)
        #expect(s.objectURL(key: "10.5072/FK2/X/a b") == "https://dv-files.s3.eu-west-1.amazonaws.com/10.5072/FK2/X/a%20b")
        #expect(s.bucketURL == "https://dv-files.s3.eu-west-1.amazonaws.com/")
        #expect(s.credentials.curlProvider == "aws:amz:eu-west-1:s3")
    }

    @Test func regionFromTheEnvironmentWithoutACustomEndpoint() throws {
        let s = try resolve(["bucket-name": "b-1"].merging(keys) { a, _ in a }, env: ["AWS_REGION": "us-west-2"])
        #expect(s.region == "us-west-2")
        #expect(s.endpoint.authority == "s3.us-west-2.amazonaws.com")
    }

    @Test func dottedBucketsOverHTTPSFallBackToPathStyle() throws {
        let s = try resolve(["bucket-name": "dv.files.example", "custom-endpoint-url": "https://s3.example.edu"].merging(keys) { a, _ in a })
        #expect(!s.usesVirtualHost)
        #expect(s.objectURL(key: "k") == "https://s3.example.edu/dv.files.example/k")
        let upper = try resolve(["bucket-name": "Legacy_Bucket", "custom-endpoint-url": "http://s3.example.edu"].merging(keys) { a, _ in a })
        #expect(!upper.usesVirtualHost)
        let ip = try resolve(["bucket-name": "dv-files", "custom-endpoint-url": "http://10.1.2.3:9000"].merging(keys) { a, _ in a })
        #expect(!ip.usesVirtualHost)
        #expect(ip.objectURL(key: "k") == "http://10.1.2.3:9000/dv-files/k")
        let plain = try resolve(["bucket-name": "dv.files", "custom-endpoint-url": "http://s3.example.edu:9000/base/"].merging(keys) { a, _ in a })
        #expect(plain.usesVirtualHost)
        #expect(plain.objectURL(key: "k") == "http://dv.files.s3.example.edu:9000/base/k")
    }

    @Test func uriEncodingFollowsSigV4() {
        #expect(S3URI.encode("10.5072/FK2/A B+c~d_e.f-g", keepSlash: true) == "10.5072/FK2/A%20B%2Bc~d_e.f-g")
        #expect(S3URI.encode("a/b", keepSlash: false) == "a%2Fb")
        #expect(S3URI.encode("é?#%", keepSlash: true) == "%C3%A9%3F%23%25")
        #expect(S3URI.canonicalQuery([("prefix", "dir/"), ("list-type", "2"), ("a", "x y")]) == "a=x%20y&list-type=2&prefix=dir%2F")
    }

    @Test func badOptionsNameTheKeyAndLine() {
        #expect(throws: ConfigError.self) { try resolve(["custom-endpoint-url": "http://h"].merging(keys) { a, _ in a }) }
        do {
            _ = try resolve(["bucket-name": "b", "custom-endpoint-url": "ftp://h"].merging(keys) { a, _ in a })
            Issue.record("expected an error")
        } catch {
            #expect(error.key == "dataverse.files.s3.custom-endpoint-url")
            #expect(error.line != nil)
            #expect(error.message.contains("http:// or https://"))
        }
        do {
            _ = try resolve(["bucket-name": "b", "path-style-access": "maybe"].merging(keys) { a, _ in a })
            Issue.record("expected an error")
        } catch {
            #expect(error.key == "dataverse.files.s3.path-style-access")
        }
        do {
            _ = try resolve(["bucket-name": "b", "access-key": "AK"])
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("has an access-key but no secret-key"))
        }
    }

    @Test func credentialChainOrder() throws {
        let env = ["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "ENVSECRET", "AWS_SESSION_TOKEN": "TOKEN"]
        // The store's own keys win over the environment.
        let own = try resolve(["bucket-name": "b"].merging(keys) { a, _ in a }, env: env)
        #expect(own.credentials.accessKey == "AKIDEXAMPLE")
        // Then the environment, with its session token.
        let fromEnv = try resolve(["bucket-name": "b"], env: env)
        #expect(fromEnv.credentials.accessKey == "ENVKEY")
        #expect(fromEnv.credentials.sessionToken == "TOKEN")
        // Then the shared file, with the store's profile before AWS_PROFILE.
        let dir = TempDirectory()
        defer { dir.remove() }
        let file = try dir.write("credentials", text: "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n[p1]\naws_access_key_id = P1\naws_secret_access_key = P1S\n[p2]\naws_access_key_id = P2\naws_secret_access_key = P2S\n")
        let shared = ["AWS_SHARED_CREDENTIALS_FILE": file]
        #expect(try resolve(["bucket-name": "b"], env: shared).credentials.accessKey == "D")
        #expect(try resolve(["bucket-name": "b"], env: shared.merging(["AWS_PROFILE": "p2"]) { a, _ in a }).credentials.accessKey == "P2")
        #expect(try resolve(["bucket-name": "b", "profile": "p1"], env: shared.merging(["AWS_PROFILE": "p2"]) { a, _ in a }).credentials.accessKey == "P1")
        // ~/.aws/credentials under HOME.
        try dir.write(".aws/credentials", text: "[default]\naws_access_key_id = HOMEKEY\naws_secret_access_key = HS\n")
        #expect(try resolve(["bucket-name": "b"], home: dir.path).credentials.accessKey == "HOMEKEY")
    }

    @Test func noCredentialsIsAConfigErrorNamingTheStore() {
        do {
            _ = try S3Configuration.resolve(store(["bucket-name": "b"], id: "s3direct"), path: "config.ini", environment: [:], home: "/nonexistent")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("no credentials for S3 store 's3direct'"))
            #expect(error.path == "config.ini")
        }
        do {
            _ = try resolve(["bucket-name": "b"], env: ["AWS_ACCESS_KEY_ID": "K"])
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("AWS_SECRET_ACCESS_KEY is not"))
        }
    }

    @Test func caBundleFromTheEnvironment() throws {
        let s = try resolve(["bucket-name": "b"].merging(keys) { a, _ in a }, env: ["AWS_CA_BUNDLE": "/etc/ssl/private-ca.pem"])
        #expect(s.caFile == "/etc/ssl/private-ca.pem")
    }

    @Test func errorAnswersKeepOnlyCodeAndMessage() {
        let body = """
            <?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><StringToSign>AWS4-HMAC-SHA256 secret-ish</StringToSign><SignatureProvided>abcdef0123</SignatureProvided></Error>
            """
        let e = S3ErrorResponse(status: 403, body: body)
        #expect(e.code == "SignatureDoesNotMatch")
        #expect(e.summary.hasPrefix("HTTP 403 SignatureDoesNotMatch: The request signature"))
        #expect(!e.summary.contains("abcdef0123"))
        #expect(!e.summary.contains("StringToSign"))
        #expect(S3ErrorResponse(status: 503, body: "").summary == "HTTP 503 Service Unavailable")
        #expect(S3ErrorResponse(status: 404, body: "", headerCode: "NoSuchKey").summary == "HTTP 404 NoSuchKey")
    }

    @Test func backoffGrowsAndIsCapped() {
        let p = RetryPolicy.exponential(attempts: 6, baseSeconds: 0.5, capSeconds: 3)
        for _ in 0..<50 {
            #expect((0.25...0.5).contains(p.delay(before: 2)!))
            #expect((0.5...1.0).contains(p.delay(before: 3)!))
            #expect((1.5...3.0).contains(p.delay(before: 6)!))
        }
        #expect(p.delay(before: 7) == nil)
        #expect(S3Store.retryPolicy.attempts == 5)
    }

    @Test func objectKeyOfAFile() throws {
        let settings = try resolve(["bucket-name": "b"].merging(keys) { a, _ in a })
        let s3 = S3Store(config: store(["bucket-name": "b"]), settings: settings, logger: Logger(label: "test"))
        let f = CatalogFile.sample(storageIdentifier: "s3://other-bucket:18b39722140-50eb7d3c5ece", checksumValue: "")
        let object = try s3.locate(f)
        #expect(object.address == "\(f.storageAuthority)/\(f.storageIdentifierPath)/18b39722140-50eb7d3c5ece")
        #expect(object.name == "18b39722140-50eb7d3c5ece")
        let tab = CatalogFile.sample(storageIdentifier: "s3://b:18b3-tab", checksumValue: "", isTabular: true)
        #expect(try s3.locate(tab).address.hasSuffix("/18b3-tab.orig"))
    }
}

/// How `SmtpStartTLS` turns into libcurl's TLS use, per server and AUTH.
@Suite struct SMTPTLSPolicyTests {
    @Test func optionalSkipsTheLocalMTAAndRequiresTLSForPasswordsElsewhere() {
        #expect(SMTPConfig(url: "smtp://localhost:25").tlsUse == .none)
        #expect(SMTPConfig(url: "smtp://127.0.0.1:2525").tlsUse == .none)
        #expect(SMTPConfig(url: "smtp://[::1]:25").tlsUse == .none)
        #expect(SMTPConfig(url: "smtp://mail.example.edu:25").tlsUse == .ifOffered)
        #expect(SMTPConfig(url: "smtp://mail.example.edu:587", user: "u", password: "p").tlsUse == .required)
        #expect(SMTPConfig(url: "smtp://localhost:587", user: "u", password: "p").tlsUse == .ifOffered)
        #expect(SMTPConfig(url: "smtp://localhost:25", startTLS: .required).tlsUse == .required)
        #expect(SMTPConfig(url: "smtp://mail.example.edu:25", startTLS: .off).tlsUse == .none)
        #expect(SMTPConfig(url: "smtps://mail.example.edu:465", startTLS: .off).tlsUse == .implicit)
    }
}
