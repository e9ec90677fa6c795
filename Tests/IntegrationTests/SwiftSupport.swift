import DVBackup
import Foundation
import Testing

/// The OpenStack Swift (tempauth) and Keystone the integration tests use, from the
/// environment the test script sets. With DVBACKUP_TEST_REQUIRE_SERVERS=1 a missing server
/// fails the tests; otherwise they are skipped.
///
///   DVBACKUP_TEST_SWIFT_AUTH_URL               http://127.0.0.1:8080/auth/v1.0
///   DVBACKUP_TEST_SWIFT_USER / _KEY            test:tester / testing
///   DVBACKUP_TEST_SWIFT_SHORT_TOKEN_AUTH_URL   a tempauth proxy of the same cluster whose
///                                              tokens live 3 seconds
///   DVBACKUP_TEST_KEYSTONE_AUTH_URL            http://127.0.0.1:5001/v3
///   DVBACKUP_TEST_KEYSTONE_USER / _PASSWORD / _PROJECT / _USER_DOMAIN / _PROJECT_DOMAIN / _REGION
enum TestSwift {
    static let env = ProcessInfo.processInfo.environment
    static let authURL = env["DVBACKUP_TEST_SWIFT_AUTH_URL"]
    static let user = env["DVBACKUP_TEST_SWIFT_USER"] ?? "test:tester"
    static let key = env["DVBACKUP_TEST_SWIFT_KEY"] ?? "testing"
    static let shortTokenAuthURL = env["DVBACKUP_TEST_SWIFT_SHORT_TOKEN_AUTH_URL"]
    static let keystoneAuthURL = env["DVBACKUP_TEST_KEYSTONE_AUTH_URL"]
    static let keystoneUser = env["DVBACKUP_TEST_KEYSTONE_USER"] ?? "swiftuser"
    static let keystonePassword = env["DVBACKUP_TEST_KEYSTONE_PASSWORD"] ?? "swiftpw"
    static let keystoneProject = env["DVBACKUP_TEST_KEYSTONE_PROJECT"] ?? "backup"
    static let keystoneUserDomain = env["DVBACKUP_TEST_KEYSTONE_USER_DOMAIN"] ?? "Default"
    static let keystoneProjectDomain = env["DVBACKUP_TEST_KEYSTONE_PROJECT_DOMAIN"] ?? "Default"
    static let keystoneRegion = env["DVBACKUP_TEST_KEYSTONE_REGION"].flatMap { $0.isEmpty ? nil : $0 }

    static var enabled: Bool { (authURL != nil || TestPostgres.required) && TestPostgres.enabled }
    static var keystoneEnabled: Bool { (keystoneAuthURL != nil || TestPostgres.required) && TestPostgres.enabled }

    static func requireServer() throws -> String {
        guard let authURL else {
            throw TestFailure("Swift is required (DVBACKUP_TEST_REQUIRE_SERVERS=1) but DVBACKUP_TEST_SWIFT_AUTH_URL is not set: run the tests with scripts/test.sh")
        }
        return authURL
    }

    static func requireShortTokenServer() throws -> String {
        guard let url = shortTokenAuthURL else {
            throw TestFailure("the short-token Swift proxy is required but DVBACKUP_TEST_SWIFT_SHORT_TOKEN_AUTH_URL is not set")
        }
        return url
    }

    static func requireKeystone() throws -> String {
        guard let url = keystoneAuthURL else {
            throw TestFailure("Keystone is required (DVBACKUP_TEST_REQUIRE_SERVERS=1) but DVBACKUP_TEST_KEYSTONE_AUTH_URL is not set")
        }
        return url
    }
}

/// The test's own view of the cluster, through the same libcurl wrapper but none of the
/// target's code: what an administrator would check with curl or the swift CLI.
final class SwiftProbe {
    let token: String
    let storageURL: String
    private let client: HTTPClient

    /// Auth v1 (tempauth).
    init(authURL: String, user: String = TestSwift.user, key: String = TestSwift.key) throws {
        client = try HTTPClient()
        let r = try client.perform(HTTPRequest(url: authURL, headers: [("X-Auth-User", user), ("X-Auth-Key", key)]))
        guard r.isSuccess, let t = r.headers["X-Auth-Token"], let s = r.headers["X-Storage-Url"] else {
            throw TestFailure("test auth at \(authURL) failed: \(r.status)")
        }
        token = t
        storageURL = s
    }

    /// Keystone v3, password, project scope.
    init(keystone url: String) throws {
        client = try HTTPClient()
        let domain: (String) -> [String: String] = { $0 == "default" ? ["id": $0] : ["name": $0] }
        let body: [String: Any] = ["auth": [
            "identity": ["methods": ["password"], "password": ["user": ["name": TestSwift.keystoneUser, "domain": domain(TestSwift.keystoneUserDomain), "password": TestSwift.keystonePassword]]],
            "scope": ["project": ["name": TestSwift.keystoneProject, "domain": domain(TestSwift.keystoneProjectDomain)]],
        ]]
        let data = try JSONSerialization.data(withJSONObject: body)
        let r = try client.perform(HTTPRequest(method: .post, url: url + "/auth/tokens",
                                               headers: [("Content-Type", "application/json")], body: Array(data)))
        guard r.status == 201, let t = r.headers["X-Subject-Token"],
              let json = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any],
              let tok = json["token"] as? [String: Any], let catalog = tok["catalog"] as? [[String: Any]],
              let store = catalog.first(where: { $0["type"] as? String == "object-store" }),
              let eps = store["endpoints"] as? [[String: Any]],
              let pub = eps.first(where: { $0["interface"] as? String == "public" }), let u = pub["url"] as? String else {
            throw TestFailure("test keystone auth failed: \(r.status)")
        }
        token = t
        storageURL = u
    }

    static func encode(_ s: String, keepSlash: Bool = true) -> String {
        var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        if keepSlash { allowed.insert("/") }
        return s.addingPercentEncoding(withAllowedCharacters: allowed)!
    }

    func url(_ container: String, _ object: String? = nil) -> String {
        storageURL + "/" + Self.encode(container) + (object.map { "/" + Self.encode($0) } ?? "")
    }

    func request(_ method: HTTPMethod, _ url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil) throws -> HTTPResponse {
        try client.perform(HTTPRequest(method: method, url: url, headers: [("X-Auth-Token", token)] + headers, body: body))
    }

    func head(_ container: String, _ object: String) throws -> HTTPResponse {
        try request(.head, url(container, object))
    }

    /// The object's bytes (small objects).
    func get(_ container: String, _ object: String) throws -> [UInt8]? {
        var bytes: [UInt8] = []
        let r = try client.perform(HTTPRequest(url: url(container, object), headers: [("X-Auth-Token", token)]),
                                   download: { bytes.append(contentsOf: $0) })
        return r.status == 200 ? bytes : nil
    }

    /// The digest of the object's bytes, streamed (large objects), and their count.
    func digest(_ container: String, _ object: String, _ algorithm: ChecksumAlgorithm) throws -> (hex: String, bytes: Int64)? {
        let d = Digest(algorithm)
        let r = try client.perform(HTTPRequest(url: url(container, object), headers: [("X-Auth-Token", token)]),
                                   download: { d.update($0) })
        guard r.status == 200 else { return nil }
        return (d.finalizeHex(), r.streamedBytes)
    }

    /// Object names in `container` (all of them, or under `prefix`).
    func list(_ container: String, prefix: String = "") throws -> [String] {
        var names: [String] = []
        var marker = ""
        while true {
            let r = try request(.get, url(container) + "?format=json&prefix=\(Self.encode(prefix, keepSlash: false))&marker=\(Self.encode(marker, keepSlash: false))")
            if r.status == 404 || r.status == 204 { return names }
            guard r.status == 200, let list = try JSONSerialization.jsonObject(with: Data(r.body)) as? [[String: Any]] else {
                throw TestFailure("listing \(container) failed: \(r.status)")
            }
            let page = list.compactMap { $0["name"] as? String }
            names += page
            guard page.count == 10_000 || page.count == 1000, let last = page.last else { return names }
            marker = last
        }
    }

    /// The segment names (`<container>/<name>`) a stored SLO manifest lists.
    func manifestSegments(_ container: String, _ object: String) throws -> [String] {
        let r = try request(.get, url(container, object) + "?multipart-manifest=get")
        guard r.status == 200, let list = try JSONSerialization.jsonObject(with: Data(r.body)) as? [[String: Any]] else { return [] }
        return list.compactMap { ($0["name"] as? String).map { String($0.dropFirst()) } }
    }

    /// Deletes the container and its segments container with everything in them.
    func destroy(_ container: String) {
        for c in [container, container + "_segments"] {
            for name in (try? list(c)) ?? [] {
                _ = try? request(.delete, url(c, name))
            }
            _ = try? request(.delete, url(c))
        }
    }
}

extension Sandbox {
    /// A container name of this test's own.
    var swiftContainer: String { "dvb-" + URL(fileURLWithPath: root).lastPathComponent.lowercased() }

    /// A config.ini for StorageType swift; `keys` replace the default credentials.
    @discardableResult
    func writeSwiftConfig(authURL: String, container: String, keys: [String]? = nil, extra: [String] = [],
                          workers: Int = 2, name: String = "swift.ini") throws -> String {
        try writeConfig(backupLines: [
            "StorageType = swift",
            "Workers = \(workers)",
        ] + (keys ?? [
            "SwiftAuthUrl = \(authURL)",
            "SwiftAuthVersion = 1",
            "SwiftUser = \(TestSwift.user)",
            "SwiftKey = \(TestSwift.key)",
        ]) + ["SwiftContainer = \(container)", "SwiftRetryDelays = 0.2 0.4"] + extra, name: name)
    }
}

/// Faults between dvbackup and Swift, injected with an LD_PRELOAD shim (nothing in dvbackup
/// knows of it), each switched on by its environment variable:
///
///   DVB_SHIM_CORRUPT_PORT=P   every send(2) of at least 64 KiB to port P (a request body)
///                             goes out with one bit flipped, after dvbackup hashed it
///   DVB_SHIM_CUT_PORT=P       the first send(2) of at least 64 KiB to port P fails with
///                             ECONNRESET and the socket is shut down (a cut connection)
///   DVB_SHIM_SLOW_READ=NAME   read(2) of a file whose name ends in NAME pauses once, for
///   DVB_SHIM_SLOW_SECONDS=S   S seconds, when the file offset reaches
///   DVB_SHIM_SLOW_AFTER=N     N bytes (a slow disk, or a run to be killed mid-file)
enum FaultShim {
    static let source = #"""
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <errno.h>
        #include <netinet/in.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/socket.h>
        #include <unistd.h>

        static int peer_port(int fd) {
            struct sockaddr_storage ss; socklen_t len = sizeof ss;
            if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
            if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
            if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
            return -1;
        }
        static int env_int(const char *name) { const char *v = getenv(name); return v ? atoi(v) : -1; }

        ssize_t send(int fd, const void *buf, size_t len, int flags) {
            static ssize_t (*real)(int, const void *, size_t, int);
            static int cut_done;
            if (!real) real = (ssize_t (*)(int, const void *, size_t, int))dlsym(RTLD_NEXT, "send");
            if (len >= 65536) {
                int corrupt = env_int("DVB_SHIM_CORRUPT_PORT"), cut = env_int("DVB_SHIM_CUT_PORT");
                int port = (corrupt > 0 || cut > 0) ? peer_port(fd) : -1;
                if (cut > 0 && port == cut && !__atomic_exchange_n(&cut_done, 1, __ATOMIC_SEQ_CST)) {
                    shutdown(fd, SHUT_RDWR);
                    errno = ECONNRESET;
                    return -1;
                }
                if (corrupt > 0 && port == corrupt) {
                    /* Flip a bit inside the data, away from any CR or LF (chunk framing). */
                    const char *p = buf;
                    size_t at = 4096;
                    while (at + 4096 < len && (memchr(p + at - 16, '\r', 32) || memchr(p + at - 16, '\n', 32))) at += 997;
                    if (at + 4096 < len) {
                        char *copy = malloc(len);
                        memcpy(copy, buf, len);
                        copy[at] ^= 0x10;
                        ssize_t n = real(fd, copy, len, flags);
                        free(copy);
                        return n;
                    }
                }
            }
            return real(fd, buf, len, flags);
        }

        ssize_t read(int fd, void *buf, size_t count) {
            static ssize_t (*real)(int, void *, size_t);
            static int slept;
            if (!real) real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
            const char *name = getenv("DVB_SHIM_SLOW_READ");
            if (name && !slept) {
                char link[64], path[4096];
                snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
                ssize_t n = readlink(link, path, sizeof path - 1);
                if (n > 0) {
                    path[n] = 0;
                    size_t l = strlen(path), s = strlen(name);
                    off_t off = lseek(fd, 0, SEEK_CUR);
                    if (l >= s && strcmp(path + l - s, name) == 0 && off >= env_int("DVB_SHIM_SLOW_AFTER")) {
                        slept = 1;
                        sleep(env_int("DVB_SHIM_SLOW_SECONDS"));
                    }
                }
            }
            return real(fd, buf, count);
        }
        """#

    /// Compiles the shim into the sandbox; returns the library's path.
    static func build(in s: Sandbox) throws -> String {
        let src = s.root + "/fault_shim.c"
        let lib = s.root + "/fault_shim.so"
        try source.write(toFile: src, atomically: true, encoding: .utf8)
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["cc", "-shared", "-fPIC", "-O2", "-o", lib, src, "-ldl"]
        try cc.run()
        cc.waitUntilExit()
        guard cc.terminationStatus == 0 else { throw TestFailure("cannot compile the fault shim") }
        return lib
    }

    /// The port of an http URL.
    static func port(of url: String) -> String {
        let u = URLComponents(string: url)
        return String(u?.port ?? (u?.scheme == "https" ? 443 : 80))
    }
}
