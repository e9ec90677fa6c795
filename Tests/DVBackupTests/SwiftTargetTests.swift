import Foundation
import Logging
import Testing
@testable import DVBackup

/// The pure parts of the Swift target: names and their encoding, the cut into segments,
/// the manifest and its ETag, authentication requests and answers, error texts.
@Suite struct SwiftLayoutTests {
    let layout = SwiftLayout(container: "dv backup")

    @Test(arguments: [
        ("10.5072/FK2/ABC/18b39722140-50eb7d3c5ece", "10.5072/FK2/ABC/18b39722140-50eb7d3c5ece"),
        ("10.5072/FK2/A B/name with spaces", "10.5072/FK2/A%20B/name%20with%20spaces"),
        ("a/what?/b#c/100%", "a/what%3F/b%23c/100%25"),
        ("a/plus+semi;eq=amp&/x", "a/plus%2Bsemi%3Beq%3Damp%26/x"),
        ("10.5072/FK2/ÄÖ/données-é", "10.5072/FK2/%C3%84%C3%96/donn%C3%A9es-%C3%A9"),
        ("a/日本/😀", "a/%E6%97%A5%E6%9C%AC/%F0%9F%98%80"),
        ("it's/~tilde_dot.dash-", "it%27s/~tilde_dot.dash-"),
    ])
    func objectNamesAreEncodedSegmentBySegment(name: String, encoded: String) {
        #expect(URLEncoding.path(name) == encoded)
        #expect(layout.objectPath(name) == "/dv%20backup/" + encoded)
    }

    @Test func queryComponentsEncodeSlashesToo() {
        #expect(URLEncoding.queryComponent("10.5072/FK2/a b/") == "10.5072%2FFK2%2Fa%20b%2F")
        #expect(URLEncoding.queryComponent("x&y=z") == "x%26y%3Dz")
    }

    @Test func segmentNamesAndReferences() {
        let name = SwiftLayout.segmentName(object: "10.5072/FK2/A/f", attempt: "20261121T223549Z-5f3a9c1e", index: 7)
        #expect(name == "10.5072/FK2/A/f/slo/20261121T223549Z-5f3a9c1e/00000007")
        #expect(SwiftLayout.segmentName(object: "o", attempt: "a", index: 123_456_789) == "o/slo/a/123456789")
        #expect(layout.segmentContainer == "dv backup_segments")
        #expect(layout.segmentPath(name) == "/dv%20backup_segments/10.5072/FK2/A/f/slo/20261121T223549Z-5f3a9c1e/00000007")
        #expect(layout.segmentReference(name) == "/dv backup_segments/" + name, "manifests name segments unencoded")
        #expect(SwiftLayout.temporaryName(object: "o/x", attempt: "a1") == "o/x/tmp/a1")
    }

    @Test func leftoversAreThisObjectsSegmentsAndTemporaryCopiesOnly() {
        let o = "10.5072/FK2/A/f"
        #expect(SwiftLayout.leftoverPrefix(o) == o + "/")
        #expect(SwiftLayout.isLeftover(o + "/slo/20261121T223549Z-5f3a9c1e/00000000", of: o))
        #expect(SwiftLayout.isLeftover(o + "/slo/1700000000.000000/5242880/1048576/00000000", of: o), "the swift CLI's segments")
        #expect(SwiftLayout.isLeftover(o + "/tmp/20261121T223549Z-5f3a9c1e", of: o))
        #expect(!SwiftLayout.isLeftover(o + "2/slo/a/00000000", of: o), "another object with a longer name")
        #expect(!SwiftLayout.isLeftover(o + "/other", of: o))
    }

    @Test func attemptIdsAreUniqueAndSortable() {
        let a = SwiftLayout.newAttemptId(), b = SwiftLayout.newAttemptId()
        #expect(a != b)
        #expect(a.count == "20261121T223549Z-5f3a9c1e".count)
        #expect(a.wholeMatch(of: /\d{8}T\d{6}Z-[0-9a-f]{8}/) != nil, "\(a)")
    }

    @Test func objectNamesTooLongForTheClusterAreRefused() {
        #expect(SwiftLayout.objectNameProblem(String(repeating: "a", count: 900), maxLength: 1024) == nil)
        #expect(SwiftLayout.objectNameProblem(String(repeating: "a", count: 1000), maxLength: 1024)?.contains("no room") == true)
        #expect(SwiftLayout.objectNameProblem(String(repeating: "é", count: 600), maxLength: 1024)?.contains("1200 bytes") == true)
    }
}

@Suite struct SegmentPlannerTests {
    let gib: Int64 = 1 << 30
    let mib: Int64 = 1 << 20

    @Test func upToTheSegmentSizeIsOneObject() throws {
        #expect(try SegmentPlanner.shape(size: 0, segmentSize: gib, maxSegments: 1000, maxObjectSize: 5 * gib).get() == .single)
        #expect(try SegmentPlanner.shape(size: gib, segmentSize: gib, maxSegments: 1000, maxObjectSize: 5 * gib).get() == .single)
    }

    @Test func aboveItSegmentsOfTheConfiguredSize() throws {
        #expect(try SegmentPlanner.shape(size: gib + 1, segmentSize: gib, maxSegments: 1000, maxObjectSize: 5 * gib).get()
                == .segmented(segmentSize: gib))
        #expect(SegmentPlanner.segmentCount(size: 5 * mib + 1, segmentSize: mib) == 6)
        #expect(SegmentPlanner.segmentCount(size: 5 * mib, segmentSize: mib) == 5)
    }

    @Test func moreThanTheManifestTakesGrowsTheSegmentsInWholeMiB() throws {
        // 3000 MiB in 1 MiB segments would be 3000 segments; at most 1000: 3 MiB each.
        let shape = try SegmentPlanner.shape(size: 3000 * mib, segmentSize: mib, maxSegments: 1000, maxObjectSize: 5 * gib).get()
        #expect(shape == .segmented(segmentSize: 3 * mib))
        let odd = try SegmentPlanner.shape(size: 3000 * mib + 1, segmentSize: mib, maxSegments: 1000, maxObjectSize: 5 * gib).get()
        #expect(odd == .segmented(segmentSize: 4 * mib))
        if case .segmented(let s) = odd { #expect(SegmentPlanner.segmentCount(size: 3000 * mib + 1, segmentSize: s) <= 1000) }
    }

    @Test func tooLargeForAnySLOIsAFailureThatSaysWhy() {
        let result = SegmentPlanner.shape(size: 5001 * gib, segmentSize: gib, maxSegments: 1000, maxObjectSize: 5 * gib)
        guard case .failure(let e) = result else { Issue.record("expected a failure"); return }
        #expect(e.reason.contains("more than 1000 segments of at most 5 GiB"))
    }

    @Test(arguments: [
        (Int64?.none, true, SwiftUpload.Mode.buffered),
        (Int64(100), true, .direct),
        (Int64(100), false, .buffered),
        (Int64(4 << 20), false, .buffered),
        (Int64(4 << 20) + 1, false, .temporary),
        (Int64(1 << 30), true, .direct),
    ])
    func uploadModes(size: Int64?, md5: Bool, mode: SwiftUpload.Mode) {
        #expect(SwiftUpload.mode(size: size, catalogMD5: md5, shape: .single) == mode)
        #expect(SwiftUpload.mode(size: size.map { $0 + (1 << 30) }, catalogMD5: md5, shape: .segmented(segmentSize: 1 << 30))
                == (size == nil ? .buffered : .segmented))
    }

    @Test func onlyAWellFormedCatalogMD5IsSentAhead() {
        func d(_ c: (ChecksumAlgorithm, String)?) -> UploadDescription {
            UploadDescription(relativePath: "a/b/c", datafileId: 1, expectedSize: 1, catalogChecksum: c.map { (algorithm: $0.0, hex: $0.1) })
        }
        #expect(SwiftUpload.catalogMD5(d((.md5, "d41d8cd98f00b204e9800998ecf8427e"))) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(SwiftUpload.catalogMD5(d((.md5, "D41D8CD98F00B204E9800998ECF8427E"))) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(SwiftUpload.catalogMD5(d((.md5, "d41d8cd98f00b204e9800998ecf8427"))) == nil)
        #expect(SwiftUpload.catalogMD5(d((.md5, "zz1d8cd98f00b204e9800998ecf8427e"))) == nil)
        #expect(SwiftUpload.catalogMD5(d((.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"))) == nil)
        #expect(SwiftUpload.catalogMD5(d(nil)) == nil)
    }

    @Test func etagsAreComparedWithoutQuotes() {
        #expect(SwiftUpload.normalizedETag("\"ABCdef\"") == "abcdef")
        #expect(SwiftUpload.normalizedETag("abcdef") == "abcdef")
        #expect(SwiftUpload.normalizedETag("W/\"abc\"") == "abc")
        #expect(SwiftUpload.normalizedETag("") == nil)
        #expect(SwiftUpload.normalizedETag(nil) == nil)
    }
}

@Suite struct SLOManifestTests {
    @Test func theManifestListsEverySegmentWithItsETagAndSize() throws {
        let json = SLOManifest.json([
            .init(path: "/c_segments/a b/slo/x/00000000", etag: "0123456789abcdef0123456789abcdef", size: 1_048_576),
            .init(path: "/c_segments/a b/slo/x/00000001", etag: "fedcba9876543210fedcba9876543210", size: 17),
        ])
        #expect(String(decoding: json, as: UTF8.self) == #"[{"etag":"0123456789abcdef0123456789abcdef","path":"/c_segments/a b/slo/x/00000000","size_bytes":1048576},{"etag":"fedcba9876543210fedcba9876543210","path":"/c_segments/a b/slo/x/00000001","size_bytes":17}]"#)
    }

    @Test func namesWithQuotesAndUnicodeStayValidJSON() throws {
        let json = SLOManifest.json([.init(path: "/c_segments/\"q\"\\/é/00000000", etag: "e", size: 1)])
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [[String: Any]])
        #expect(parsed[0]["path"] as? String == "/c_segments/\"q\"\\/é/00000000")
    }

    @Test func theSLOETagIsTheMD5OfTheSegmentMD5s() {
        // What Swift reported for a 5 MiB upload in 1 MiB segments is md5 of the hex strings
        // concatenated; here with known inputs.
        let parts = [Digest.hex(.md5, of: Array("a".utf8)), Digest.hex(.md5, of: Array("b".utf8))]
        #expect(SLOManifest.etag(parts) == Digest.hex(.md5, of: Array((parts[0] + parts[1]).utf8)))
        #expect(SLOManifest.etag(["0cc175b9c0f1b6a831c399e269772661"]) == Digest.hex(.md5, of: Array("0cc175b9c0f1b6a831c399e269772661".utf8)))
    }

    @Test func aStoredManifestsSegmentsAndAListingsNames() {
        let stored = #"[{"name": "/c_segments/o/slo/a/00000000", "hash": "h", "bytes": 1}, {"name": "/c_segments/o/slo/a/00000001", "hash": "h", "bytes": 1}]"#
        #expect(SLOManifest.storedSegmentPaths(Array(stored.utf8)) == ["/c_segments/o/slo/a/00000000", "/c_segments/o/slo/a/00000001"])
        #expect(SLOManifest.storedSegmentPaths(Array("not json".utf8)) == nil)
        let listing = #"[{"name": "o/slo/a/00000000", "bytes": 5, "hash": "x"}, {"subdir": "o/x/"}]"#
        #expect(SwiftListing.names(Array(listing.utf8)) == ["o/slo/a/00000000"])
        #expect(SwiftListing.names(Array("[]".utf8)) == [])
    }

    @Test func clusterInfo() throws {
        let body = #"{"swift": {"version": "2.30.1", "max_file_size": 5368709122, "max_object_name_length": 1024}, "slo": {"max_manifest_segments": 1000, "max_manifest_size": 8388608, "min_segment_size": 1}}"#
        let info = try #require(SwiftClusterInfo.parse(Array(body.utf8)))
        #expect(info.maxFileSize == 5_368_709_122)
        #expect(info.maxManifestSegments == 1000)
        #expect(info.hasSLO)
        #expect(info.reported)
        let noSLO = try #require(SwiftClusterInfo.parse(Array(#"{"swift": {"max_file_size": 1000}}"#.utf8)))
        #expect(!noSLO.hasSLO)
        #expect(SwiftClusterInfo.parse(Array("<html>".utf8)) == nil)
        #expect(SwiftClusterInfo.infoURL(storageURL: "http://127.0.0.1:8080/v1/AUTH_test") == "http://127.0.0.1:8080/info")
        #expect(SwiftClusterInfo.infoURL(storageURL: "https://h.example.edu/swift/v1/AUTH_x") == "https://h.example.edu/swift/info")
        #expect(SwiftClusterInfo.infoURL(storageURL: "https://h.example.edu") == "https://h.example.edu/info")
    }
}

@Suite struct SwiftAuthTests {
    let v3 = SwiftCredentials(authURL: "https://keystone.example.edu:5000/v3", version: .v3, user: "backup", key: "S3cret-pw",
                              tenant: "dataverse", userDomain: "Default", projectDomain: "default", region: "RegionTwo")

    func response(_ status: Int, _ headers: [(String, String)] = [], _ body: String = "") -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders(headers.map { (name: $0.0, value: $0.1) }), body: Array(body.utf8), streamedBytes: 0)
    }

    @Test func v1SendsTheUserAndKeyAsHeaders() {
        let c = SwiftCredentials(authURL: "http://h:8080/auth/v1.0", version: .v1, user: "tester", key: "k", tenant: "test")
        let r = SwiftAuth.request(for: c)
        #expect(r.method == .get)
        #expect(r.url == "http://h:8080/auth/v1.0")
        #expect(r.headers.contains { $0.name == "X-Auth-User" && $0.value == "test:tester" }, "tenant:user")
        let plain = SwiftAuth.request(for: SwiftCredentials(authURL: "http://h/auth/v1.0", version: .v1, user: "a:b", key: "k", tenant: "t"))
        #expect(plain.headers.contains { $0.name == "X-Auth-User" && $0.value == "a:b" }, "an account: part is kept")
    }

    @Test func v3AsksForAProjectScopedToken() throws {
        let r = SwiftAuth.request(for: v3)
        #expect(r.method == .post)
        #expect(r.url == "https://keystone.example.edu:5000/v3/auth/tokens")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(r.body ?? [])) as? [String: Any])
        let auth = try #require(body["auth"] as? [String: Any])
        let identity = try #require(auth["identity"] as? [String: Any])
        #expect(identity["methods"] as? [String] == ["password"])
        let user = try #require((identity["password"] as? [String: Any])?["user"] as? [String: Any])
        #expect(user["name"] as? String == "backup")
        #expect(user["password"] as? String == "S3cret-pw")
        #expect(user["domain"] as? [String: String] == ["name": "Default"])
        let project = try #require((auth["scope"] as? [String: Any])?["project"] as? [String: Any])
        #expect(project["name"] as? String == "dataverse")
        #expect(project["domain"] as? [String: String] == ["id": "default"], "the default domain's id")
    }

    @Test(arguments: [
        ("https://k/v3", SwiftAuthVersion.v3, "https://k/v3/auth/tokens"),
        ("https://k/v3/", .v3, "https://k/v3/auth/tokens"),
        ("https://k:5000", .v3, "https://k:5000/v3/auth/tokens"),
        ("https://k/v3/auth/tokens", .v3, "https://k/v3/auth/tokens"),
        ("https://k/v2.0", .v2, "https://k/v2.0/tokens"),
        ("https://k/v2.0/tokens", .v2, "https://k/v2.0/tokens"),
        ("https://k", .v2, "https://k/v2.0/tokens"),
    ])
    func tokenURLs(url: String, version: SwiftAuthVersion, expected: String) {
        #expect(SwiftAuth.tokensURL(url, version: version) == expected)
    }

    static let catalog = """
        {"token": {"expires_at": "2026-11-22T10:00:00.000000Z", "catalog": [
          {"type": "identity", "endpoints": [{"interface": "public", "region_id": "RegionOne", "url": "https://k/v3"}]},
          {"type": "object-store", "endpoints": [
            {"interface": "internal", "region_id": "RegionOne", "url": "http://10.0.0.1/v1/AUTH_p"},
            {"interface": "public", "region_id": "RegionOne", "region": "RegionOne", "url": "https://one.example.edu/v1/AUTH_p"},
            {"interface": "public", "region_id": "RegionTwo", "region": "RegionTwo", "url": "https://two.example.edu/v1/AUTH_p/"}]}]}}
        """

    @Test func v3TakesThePublicEndpointOfTheRegion() throws {
        let t = try SwiftAuth.parse(response(201, [("X-Subject-Token", "gAAAAtoken")], Self.catalog), for: v3, url: "u").get()
        #expect(t.value == "gAAAAtoken")
        #expect(t.storageURL == "https://two.example.edu/v1/AUTH_p")
        #expect(t.expires == "2026-11-22T10:00:00.000000Z")
        let noRegion = SwiftCredentials(authURL: v3.authURL, version: .v3, user: "u", key: "k", tenant: "t")
        #expect(try SwiftAuth.parse(response(201, [("X-Subject-Token", "t")], Self.catalog), for: noRegion, url: "u").get().storageURL
                == "https://one.example.edu/v1/AUTH_p", "the first public one")
        let override = SwiftCredentials(authURL: v3.authURL, version: .v3, user: "u", key: "k", tenant: "t", region: "Nowhere",
                                        endpoint: "https://elsewhere.example.edu/v1/AUTH_q")
        #expect(try SwiftAuth.parse(response(201, [("X-Subject-Token", "t")], Self.catalog), for: override, url: "u").get().storageURL
                == "https://elsewhere.example.edu/v1/AUTH_q", "SwiftEndPoint wins")
    }

    @Test func aRegionWithoutSwiftListsTheRegionsThereAre() {
        let c = SwiftCredentials(authURL: "https://k/v3", version: .v3, user: "u", key: "k", tenant: "t", region: "RegionNine")
        guard case .failure(let e) = SwiftAuth.parse(response(201, [("X-Subject-Token", "t")], Self.catalog), for: c, url: "https://k/v3") else {
            Issue.record("expected a failure"); return
        }
        #expect(e.message.contains("no public object-store endpoint in region 'RegionNine' (SwiftRegion); its regions: RegionOne, RegionTwo"))
    }

    @Test func aCatalogWithoutSwiftSaysToSetTheEndpoint() {
        let c = SwiftCredentials(authURL: "https://k/v3", version: .v3, user: "u", key: "k", tenant: "t")
        let body = #"{"token": {"catalog": []}}"#
        guard case .failure(let e) = SwiftAuth.parse(response(201, [("X-Subject-Token", "t")], body), for: c, url: "https://k/v3") else {
            Issue.record("expected a failure"); return
        }
        #expect(e.message.contains("set SwiftEndPoint"))
    }

    @Test func v1AnswerAndItsEndpointOverride() throws {
        let c = SwiftCredentials(authURL: "http://h/auth/v1.0", version: .v1, user: "a:b", key: "k")
        let r = response(200, [("X-Auth-Token", "AUTH_tk1"), ("X-Storage-Url", "http://h/v1/AUTH_a"), ("X-Auth-Token-Expires", "86399")])
        let t = try SwiftAuth.parse(r, for: c, url: "u").get()
        #expect(t.value == "AUTH_tk1")
        #expect(t.storageURL == "http://h/v1/AUTH_a")
        #expect(t.expires == "in 86399 s")
        let missing = SwiftAuth.parse(response(200), for: c, url: "u")
        guard case .failure(let e) = missing else { Issue.record("expected a failure"); return }
        #expect(e.message.contains("without an X-Auth-Token header"))
    }

    @Test func v2AnswerIsRead() throws {
        let c = SwiftCredentials(authURL: "https://k/v2.0", version: .v2, user: "u", key: "k", tenant: "t")
        let body = """
            {"access": {"token": {"id": "v2token", "expires": "2026-11-22T10:00:00Z"}, "serviceCatalog": [
              {"type": "object-store", "endpoints": [{"region": "R1", "publicURL": "https://s/v1/AUTH_t", "internalURL": "http://i"}]}]}}
            """
        let t = try SwiftAuth.parse(response(200, [], body), for: c, url: "u").get()
        #expect(t.value == "v2token")
        #expect(t.storageURL == "https://s/v1/AUTH_t")
        let request = SwiftAuth.request(for: c)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(request.body ?? [])) as? [String: Any])
        let auth = try #require(json["auth"] as? [String: Any])
        #expect(auth["tenantName"] as? String == "t")
        #expect((auth["passwordCredentials"] as? [String: String])?["username"] == "u")
    }

    @Test func refusedCredentialsAreNamedWithoutTheKey() {
        let body = #"{"error": {"code": 401, "message": "The request you have made requires authentication. S3cret-pw", "title": "Unauthorized"}}"#
        guard case .failure(let e) = SwiftAuth.parse(response(401, [], body), for: v3, url: "https://keystone.example.edu:5000/v3/auth/tokens") else {
            Issue.record("expected a failure"); return
        }
        #expect(e.kind == .refused)
        #expect(e.message.contains("refused the credentials of user 'backup' (401 Unauthorized: The request you have made requires authentication. ***)"), "\(e.message)")
        #expect(!e.message.contains("S3cret-pw"))
        guard case .failure(let busy) = SwiftAuth.parse(response(503, [], "busy"), for: v3, url: "u") else { return }
        #expect(busy.retryable)
    }

    @Test func theKeyAndTheTokensAreRedactedFromMessages() {
        let state = SwiftAuthState(credentials: v3, retry: .never, logger: Logger(label: "test"))
        #expect(state.redact("token S3cret-pw here") == "token *** here")
        #expect(state.storageURL == nil, "no token before the first authentication")
    }

    @Test func aStopDuringTheWaitBeforeAnotherAttemptEndsTheAuthenticationAtOnce() throws {
        // Nothing listens on port 9: a transient failure, to be tried again in 30 s.
        let v1 = SwiftCredentials(authURL: "http://127.0.0.1:9/auth/v1.0", version: .v1, user: "test:tester", key: "testing")
        let state = SwiftAuthState(credentials: v1, retry: RetryPolicy(delays: [30, 30]), logger: Logger(label: "test"), stopped: { true })
        let client = try HTTPClient()
        let start = MonotonicClock.now()
        #expect {
            _ = try state.current(client: client)
        } throws: { error in
            let failure = error as? SwiftAuthFailure
            return failure?.message.hasSuffix("the run was stopped while waiting to try again") == true
                && failure?.retryable == false && failure?.kind != .unreachable
        }
        #expect(MonotonicClock.now() - start < 10, "no 30 s wait, no second attempt")
    }
}

@Suite struct SwiftResponseTextTests {
    @Test func htmlBecomesOneLineOfText() {
        let html = "<html><h1>Service Unavailable</h1><p>The server is currently\nunavailable.</p></html>"
        #expect(SwiftResponseText.summary(Array(html.utf8)) == "Service Unavailable The server is currently unavailable.")
    }

    @Test func keystoneJSONGivesItsMessage() {
        let json = #"{"error": {"message": "Could not find project: x.", "code": 404}}"#
        #expect(SwiftResponseText.summary(Array(json.utf8)) == "Could not find project: x.")
    }

    @Test func longTextIsCutAndSecretsRemoved() {
        let text = String(repeating: "word ", count: 200) + "AUTH_tk123456"
        let s = SwiftResponseText.summary(Array(text.utf8), redacting: ["AUTH_tk123456"], limit: 50)
        #expect(s.count == 51 && s.hasSuffix("…"))
        #expect(SwiftResponseText.summary(Array("x AUTH_tk123456 y".utf8), redacting: ["AUTH_tk123456"]) == "x *** y")
    }

    @Test func statusLines() {
        #expect(SwiftResponseText.statusLine(422) == "422 Unprocessable Entity")
        #expect(SwiftResponseText.statusLine(413) == "413 Request Entity Too Large")
        #expect(SwiftResponseText.statusLine(599) == "HTTP 599")
        #expect(SwiftConnection.hint(413)?.contains("quota") == true)
        #expect(SwiftConnection.isRetryable(503) && SwiftConnection.isRetryable(500) && SwiftConnection.isRetryable(429))
        #expect(!SwiftConnection.isRetryable(404) && !SwiftConnection.isRetryable(422) && !SwiftConnection.isRetryable(401))
    }
}
