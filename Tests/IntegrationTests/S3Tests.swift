import DVBackup
import Foundation
import Testing

/// The S3 API servers that `scripts/test.sh` starts: moto (DVBACKUP_TEST_S3_*, signatures
/// enforced) and OpenStack Swift's s3api middleware (DVBACKUP_TEST_SWIFT_S3_*, which also
/// insists on x-amz-content-sha256 and has an access key with a ':').
struct TestS3Server: Sendable {
    let name: String
    let endpoint: String
    let region: String
    let accessKey: String
    let secretKey: String

    static let env = ProcessInfo.processInfo.environment
    static let moto: TestS3Server? = env["DVBACKUP_TEST_S3_ENDPOINT"].map {
        TestS3Server(name: "moto", endpoint: $0, region: env["DVBACKUP_TEST_S3_REGION"] ?? "us-east-1",
                     accessKey: env["DVBACKUP_TEST_S3_ACCESS_KEY"] ?? "", secretKey: env["DVBACKUP_TEST_S3_SECRET_KEY"] ?? "")
    }
    static let swiftS3: TestS3Server? = env["DVBACKUP_TEST_SWIFT_S3_ENDPOINT"].map {
        TestS3Server(name: "swift-s3api", endpoint: $0, region: "us-east-1",
                     accessKey: env["DVBACKUP_TEST_SWIFT_S3_ACCESS_KEY"] ?? "test:tester",
                     secretKey: env["DVBACKUP_TEST_SWIFT_S3_SECRET_KEY"] ?? "testing")
    }

    static var enabled: Bool { (moto != nil || TestPostgres.required) && TestPostgres.enabled }

    static func requireMoto() throws -> TestS3Server {
        guard let moto else {
            throw TestFailure("the S3 server is required (DVBACKUP_TEST_REQUIRE_SERVERS=1) but DVBACKUP_TEST_S3_ENDPOINT is not set: run the tests with scripts/test.sh")
        }
        return moto
    }

    static func requireSwiftS3() throws -> TestS3Server {
        guard let swiftS3 else {
            throw TestFailure("Swift's S3 API is required (DVBACKUP_TEST_REQUIRE_SERVERS=1) but DVBACKUP_TEST_SWIFT_S3_ENDPOINT is not set: run the tests with scripts/test.sh")
        }
        return swiftS3
    }

    var credentials: SigV4Credentials { SigV4Credentials(accessKey: accessKey, secretKey: secretKey, region: region) }

    private func send(_ method: HTTPMethod, _ path: String, body: [UInt8] = []) throws -> HTTPResponse {
        let client = try HTTPClient()
        let hash = Digest.hex(.sha256, of: body)
        var offset = 0
        let response = try client.perform(
            HTTPRequest(method: method, url: endpoint + path, headers: [("x-amz-content-sha256", hash)], sigV4: credentials),
            upload: method == .put ? { out in
                let n = min(out.count, body.count - offset)
                if n > 0 { body.withUnsafeBytes { out.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) } }
                offset += n
                return n
            } : nil,
            uploadLength: method == .put ? Int64(body.count) : nil)
        guard response.isSuccess else {
            throw TestFailure("\(name): \(method.rawValue) \(path): HTTP \(response.status) \(response.bodyText.prefix(300))")
        }
        return response
    }

    /// Creates a bucket with a fresh name (random for every run: the servers outlive a test
    /// run, and a name drawn from the sandbox's seed would be taken the second time).
    func makeBucket(_ sandbox: Sandbox) throws -> String {
        let bucket = "dvb-" + Hex.random((0..<6).map { _ in UInt8.random(in: .min ... .max) })
        _ = try send(.put, "/" + bucket)
        return bucket
    }

    func put(bucket: String, key: String, _ bytes: [UInt8]) throws {
        let path = key.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_.~"))) ?? "" }
            .joined(separator: "/")
        _ = try send(.put, "/\(bucket)/\(path)", body: bytes)
    }
}

extension Sandbox {
    /// A datafile whose bytes are in S3 under `<authority>/<identifier>/<name>` (its original
    /// at `.orig` when tabular), with storage identifier `<store>://<bucket>:<name>`.
    @discardableResult
    func addS3File(_ server: TestS3Server?, dataset: Int64, bucket: String, store: String = "s3", size: Int = 5000,
                   bytes: [UInt8]? = nil, tabular: Bool = false, upload: Bool = true) throws -> TestFile {
        let name = newStorageName()
        let f = try addFile(dataset: dataset, size: size, bytes: bytes, storageIdentifier: "\(store)://\(bucket):\(name)",
                            tabular: tabular, writeBytes: false)
        if upload, let server {
            try server.put(bucket: bucket, key: f.relativePath + (tabular ? ".orig" : ""), f.bytes)
            if tabular { try server.put(bucket: bucket, key: f.relativePath, Array("tab\tseparated\n".utf8)) }
        }
        return f
    }

    /// `[Stores]` lines of an S3 store; `keys: false` leaves the credentials to the chain.
    func s3StoreLines(_ server: TestS3Server, id: String = "s3", bucket: String, endpoint: String? = nil,
                      keys: Bool = true, secret: String? = nil, extra: [String] = []) -> [String] {
        var lines = [
            "dataverse.files.\(id).type = s3",
            "dataverse.files.\(id).label = S3",
            "dataverse.files.\(id).bucket-name = \(bucket)",
            "dataverse.files.\(id).custom-endpoint-url = \(endpoint ?? server.endpoint)",
            "dataverse.files.\(id).custom-endpoint-region = \(server.region)",
            "dataverse.files.\(id).path-style-access = true",
        ]
        if keys {
            lines += ["dataverse.files.\(id).access-key = \(server.accessKey)",
                      "dataverse.files.\(id).secret-key = \(secret ?? server.secretKey)"]
        }
        return lines + extra
    }
}

/// A TCP proxy in front of an S3 server that cuts the connection after a number of response
/// bytes: on the first connection only (`once`), or on every one; or (`slowdown`) answers
/// the first request with S3's 503 SlowDown itself.
final class CuttingProxy {
    let port: Int
    private let process: Process

    init(upstreamPort: Int, cutAfter: Int, once: Bool, slowDown: Bool = false, directory: String) throws {
        let script = directory + "/cutting-proxy.py"
        try Self.source.write(toFile: script, atomically: true, encoding: .utf8)
        let portFile = directory + "/cutting-proxy-\(UInt32.random(in: 0...UInt32.max)).port"
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, String(upstreamPort), String(cutAfter), slowDown ? "slowdown" : once ? "once" : "always", portFile]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var found: Int? = nil
        for _ in 0..<100 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
               let p = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) { found = p; break }
            usleep(50_000)
        }
        guard let found else { process.terminate(); throw TestFailure("the cutting proxy did not start") }
        port = found
    }

    deinit {
        process.terminate()
        process.waitUntilExit()
    }

    static let source = """
        import ctypes, os, signal, socket, sys, threading
        # The test process's blocked signals are inherited: let SIGTERM end this one.
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        ctypes.CDLL("libc.so.6").prctl(1, 15)  # PR_SET_PDEATHSIG: SIGTERM when the test process ends
        upstream, cut_after, mode, port_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
        srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0)); srv.listen(16)
        tmp = port_file + ".tmp"; open(tmp, "w").write(str(srv.getsockname()[1])); os.rename(tmp, port_file)
        state = {"cut": 0}
        lock = threading.Lock()
        def cut(s):
            # shutdown, not just close: close does not wake the thread blocked in recv on it,
            # and the connection would stay open.
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
            s.close()
        def handle(c):
            if mode == "slowdown":
                with lock:
                    first = state["cut"] == 0
                    state["cut"] += 1
                if first:
                    data = b""
                    while b"\\r\\n\\r\\n" not in data:
                        d = c.recv(65536)
                        if not d: break
                        data += d
                    body = b"<?xml version='1.0'?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                    c.sendall(b"HTTP/1.1 503 Slow Down\\r\\nContent-Type: application/xml\\r\\nContent-Length: " + str(len(body)).encode() + b"\\r\\nConnection: close\\r\\n\\r\\n" + body)
                    cut(c); return
            u = socket.create_connection(("127.0.0.1", upstream))
            def up():
                try:
                    while True:
                        d = c.recv(65536)
                        if not d: break
                        u.sendall(d)
                except OSError: pass
            threading.Thread(target=up, daemon=True).start()
            sent = 0
            try:
                while True:
                    d = u.recv(65536)
                    if not d: break
                    with lock:
                        armed = mode == "always" or (mode == "once" and state["cut"] == 0)
                    if armed and sent + len(d) > cut_after:
                        c.sendall(d[:max(0, cut_after - sent)])
                        with lock: state["cut"] += 1
                        cut(c); cut(u); return
                    c.sendall(d); sent += len(d)
            except OSError: pass
            cut(c); cut(u)
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()
        """
}

@Suite(.enabled(if: TestS3Server.enabled), .serialized)
struct S3Tests {
    /// Files from S3, a tabular original among them, land on the target with the bytes of
    /// the objects, proven against the catalog checksums.
    @Test func copiesObjectsFromAnS3Store() throws {
        let server = try TestS3Server.requireMoto()
        let sandbox = try Sandbox(seed: 41)
        let bucket = try server.makeBucket(sandbox)
        let ds = try sandbox.addDataset(identifier: "FK2/S3ONE")
        let plain = try sandbox.addS3File(server, dataset: ds, bucket: bucket, size: 70_000)
        let tabular = try sandbox.addS3File(server, dataset: ds, bucket: bucket, size: 3000, tabular: true)
        let empty = try sandbox.addS3File(server, dataset: ds, bucket: bucket, bytes: [])
        let local = try sandbox.addFile(dataset: ds, size: 1234)
        let config = try sandbox.writeConfig(stores: sandbox.s3StoreLines(server, bucket: bucket))

        let result = try sandbox.dvbackup("run", config: config)
        #expect(result.code == 0, "\(result.stderr)")
        let rows = try sandbox.statusRows()
        for f in [plain, tabular, empty, local] {
            #expect(rows[f.id]?.status == "OK", "\(f.storageIdentifier): \(rows[f.id].map { "\($0.status) \($0.lastError ?? "")" } ?? "no row")")
            let same = sandbox.backupBytes(f) == f.bytes
            #expect(same, "the copy of \(f.storageIdentifier) differs from the object")
        }
        // The original of the tabular file, not the ingested .tab.
        #expect(sandbox.backupBytes(tabular) != Array("tab\tseparated\n".utf8) ? true : false)
    }

    /// `s3` and `s3direct` name the same bucket: files of both ids are read from it, whatever
    /// bucket text their identifiers carry.
    @Test func twoStoreIdsOnOneBucket() throws {
        let server = try TestS3Server.requireMoto()
        let sandbox = try Sandbox(seed: 42)
        let bucket = try server.makeBucket(sandbox)
        let ds = try sandbox.addDataset()
        let a = try sandbox.addS3File(server, dataset: ds, bucket: bucket, store: "s3")
        let b = try sandbox.addS3File(server, dataset: ds, bucket: bucket, store: "s3direct")
        let config = try sandbox.writeConfig(stores: sandbox.s3StoreLines(server, id: "s3", bucket: bucket)
                                             + sandbox.s3StoreLines(server, id: "s3direct", bucket: bucket))
        let result = try sandbox.dvbackup("run", config: config)
        #expect(result.code == 0, "\(result.stderr)")
        let rows = try sandbox.statusRows()
        #expect(rows[a.id]?.status == "OK")
        #expect(rows[b.id]?.status == "OK")
        #expect(sandbox.backupBytes(a) == a.bytes ? true : false)
        #expect(sandbox.backupBytes(b) == b.bytes ? true : false)
    }

    /// A missing object is FAIL_READ with the HTTP status and S3's error code; the others are
    /// copied and the run exits 1.
    @Test func aMissingObjectIsFailReadWithTheS3ErrorCode() throws {
        let server = try TestS3Server.requireMoto()
        let sandbox = try Sandbox(seed: 43)
        let bucket = try server.makeBucket(sandbox)
        let ds = try sandbox.addDataset()
        let good = try sandbox.addS3File(server, dataset: ds, bucket: bucket)
        let missing = try sandbox.addS3File(server, dataset: ds, bucket: bucket, upload: false)
        let config = try sandbox.writeConfig(stores: sandbox.s3StoreLines(server, bucket: bucket))
        let result = try sandbox.dvbackup("run", config: config)
        #expect(result.code == 1)
        let rows = try sandbox.statusRows()
        #expect(rows[good.id]?.status == "OK")
        #expect(rows[missing.id]?.status == "FAIL_READ")
        let reason = rows[missing.id]?.lastError ?? ""
        #expect(reason.contains("HTTP 404"), "\(reason)")
        #expect(reason.contains("NoSuchKey"), "\(reason)")
        #expect(reason.contains("s3://\(bucket)/\(missing.relativePath)"), "\(reason)")
        let noCopy = sandbox.backupBytes(missing) == nil
        #expect(noCopy)
        #expect(result.stdout.contains("FAIL_READ"))
    }

    /// A wrong secret: every file is FAIL_READ with 403 SignatureDoesNotMatch, and neither the
    /// secret nor a signature appears anywhere; check-config says the bucket cannot be
    /// reached (exit 3), and with the right secret that it can (exit 0).
    @Test func aWrongSecretIsRefusedAndNeverShown() throws {
        let server = try TestS3Server.requireMoto()
        let sandbox = try Sandbox(seed: 44)
        let bucket = try server.makeBucket(sandbox)
        let ds = try sandbox.addDataset()
        let f = try sandbox.addS3File(server, dataset: ds, bucket: bucket)
        let wrongSecret = "WRONGwrongWRONGwrongWRONGwrong1234567890"
        let config = try sandbox.writeConfig(stores: sandbox.s3StoreLines(server, bucket: bucket, secret: wrongSecret))
        let result = try sandbox.dvbackup("run", config: config)
        #expect(result.code == 1)
        let row = try sandbox.statusRows()[f.id]
        #expect(row?.status == "FAIL_READ")
        #expect(row?.lastError?.contains("HTTP 403 SignatureDoesNotMatch") == true, "\(row?.lastError ?? "")")
        for text in [result.stdout, result.stderr, row?.lastError ?? ""] {
            #expect(!text.contains(wrongSecret))
            #expect(!text.contains("Signature="))
            #expect(!text.contains("StringToSign"))
        }

        let check = try sandbox.dvbackup("check-config", config: config)
        #expect(check.code == 3, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("bucket \(bucket) cannot be reached: HTTP 403"), "\(check.stdout)")
        #expect(!check.stdout.contains(wrongSecret))
        #expect(check.stdout.contains("secret-key = ***"))

        let good = try sandbox.writeConfig(stores: sandbox.s3StoreLines(server, bucket: bucket), name: "good.ini")
        let ok = try sandbox.dvbackup("check-config", config: good)
        #expect(ok.code == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("bucket \(bucket) reachable with its credentials"))
    }

    /// Credentials from the environment, from a shared credentials file named by
    /// AWS_SHARED_CREDENTIALS_FILE with the store's profile, from ~/.aws/credentials with
    /// AWS_PROFILE; and none at all is a configuration error naming the store (exit 2).
    @Test func theCredentialChain() throws {
        let server = try TestS3Server.requireMoto()
        let sandbox = try Sandbox(seed: 45)
        let bucket = try server.makeBucket(sandbox)
        let ds = try sandbox.addDataset()
        let f = try sandbox.addS3File(server, dataset: ds, bucket: bucket, store: "s3main")
        let home = sandbox.root + "/home"
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)

        // 1. No keys anywhere: exit 2 naming the store, before anything is copied.
        let chain = try sandbox.writeConfig(stores: sandbox.s3StoreLines(server, id: "S3main", bucket: bucket, keys: false),
                                            name: "chain.ini")
        let none = try sandbox.dvbackup("run", config: chain, environment: ["HOME": home])
        #expect(none.code == 2, "\(none.stderr)")
        #expect(none.stderr.contains("no credentials for S3 store 'S3main'"), "\(none.stderr)")
        #expect(sandbox.backupTree().isEmpty)
        let checked = try sandbox.dvbackup("check-config", config: chain, environment: ["HOME": home])
        #expect(checked.code == 2, "\(checked.stderr)")
        #expect(checked.stderr.contains("no credentials for S3 store 'S3main'"), "\(checked.stderr)")

        // 2. The environment.
        let env = try sandbox.dvbackup("check-config", config: chain, environment: [
            "HOME": home, "AWS_ACCESS_KEY_ID": server.accessKey, "AWS_SECRET_ACCESS_KEY": server.secretKey])
        #expect(env.code == 0, "\(env.stdout)\(env.stderr)")
        #expect(env.stdout.contains("credentials from the environment (AWS_ACCESS_KEY_ID)"))

        // 3. ~/.aws/credentials, profile from AWS_PROFILE.
        try "[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n[backup]\naws_access_key_id = \(server.accessKey)\naws_secret_access_key = \(server.secretKey)\n"
            .write(toFile: home + "/.aws/credentials", atomically: true, encoding: .utf8)
        let profiled = try sandbox.dvbackup("run", config: chain, environment: ["HOME": home, "AWS_PROFILE": "backup"])
        #expect(profiled.code == 0, "\(profiled.stderr)")
        #expect(try sandbox.statusRows()[f.id]?.status == "OK")
        // The backup database's commands need no S3 credentials (an operator's own account).
        let bare = sandbox.root + "/bare-home"
        try FileManager.default.createDirectory(atPath: bare, withIntermediateDirectories: true)
        let status = try sandbox.dvbackup("status", config: chain, environment: ["HOME": bare])
        #expect(status.code == 0, "\(status.stderr)")
        #expect(status.stdout.contains("OK"), "\(status.stdout)")
        #expect(!status.stderr.contains("no credentials"), "\(status.stderr)")

        // 4. AWS_SHARED_CREDENTIALS_FILE and the store's own profile; the default profile's
        //    wrong keys are not used.
        let shared = sandbox.root + "/aws-shared"
        try "[archive]\naws_access_key_id = \(server.accessKey)\naws_secret_access_key = \(server.secretKey)\n"
            .write(toFile: shared, atomically: true, encoding: .utf8)
        let withProfile = try sandbox.writeConfig(stores: sandbox.s3StoreLines(server, id: "S3main", bucket: bucket, keys: false,
                                                                             extra: ["dataverse.files.S3main.profile = archive"]),
                                                  name: "profile.ini")
        let file = try sandbox.dvbackup("check-config", config: withProfile,
                                        environment: ["HOME": home, "AWS_SHARED_CREDENTIALS_FILE": shared])
        #expect(file.code == 0, "\(file.stdout)\(file.stderr)")
        #expect(file.stdout.contains("credentials from \(shared) [archive]"))
        // A profile that is not in the file names the profile and the file.
        let missingProfile = try sandbox.dvbackup("check-config", config: withProfile, environment: ["HOME": home])
        #expect(missingProfile.code == 2)
        #expect(missingProfile.stderr.contains("profile 'archive'"), "\(missingProfile.stderr)")
        #expect(missingProfile.stderr.contains(home + "/.aws/credentials"))
    }

    /// A connection cut in the middle of a body is resumed where it stopped (the copy is
    /// complete and proven); one that is cut every time ends as FAIL_READ with nothing under
    /// the final name.
    @Test func anInterruptedBodyIsResumedOrFails() throws {
        let server = try TestS3Server.requireMoto()
        let sandbox = try Sandbox(seed: 46)
        let bucket = try server.makeBucket(sandbox)
        let ds = try sandbox.addDataset()
        let f = try sandbox.addS3File(server, dataset: ds, bucket: bucket, size: 3 << 20)
        let upstream = Int(server.endpoint.split(separator: ":").last!)!

        let once = try CuttingProxy(upstreamPort: upstream, cutAfter: 1 << 20, once: true, directory: sandbox.root)
        let resumed = try sandbox.writeConfig(stores: sandbox.s3StoreLines(server, bucket: bucket,
                                                                          endpoint: "http://127.0.0.1:\(once.port)"),
                                              name: "once.ini")
        let first = try sandbox.dvbackup("run", config: resumed)
        #expect(first.code == 0, "\(first.stderr)")
        #expect(first.stderr.contains("resuming at byte"), "\(first.stderr)")
        #expect(try sandbox.statusRows()[f.id]?.status == "OK")
        #expect(sandbox.backupBytes(f) == f.bytes ? true : false)

        // Every connection cut: FAIL_READ after the retries, no copy, no temporary file.
        let g = try sandbox.addS3File(server, dataset: ds, bucket: bucket, size: 3 << 20)
        // 64 KiB per connection: five attempts cannot finish 3 MiB.
        let always = try CuttingProxy(upstreamPort: upstream, cutAfter: 64 << 10, once: false, directory: sandbox.root)
        let cut = try sandbox.writeConfig(stores: sandbox.s3StoreLines(server, bucket: bucket,
                                                                      endpoint: "http://127.0.0.1:\(always.port)"),
                                          name: "always.ini")
        let second = try sandbox.dvbackup("run", config: cut)
        #expect(second.code == 1, "\(second.stderr)")
        let row = try sandbox.statusRows()[g.id]
        #expect(row?.status == "FAIL_READ")
        #expect(row?.lastError?.contains("after 5 attempts") == true, "\(row?.lastError ?? "")")
        let noCopy = sandbox.backupBytes(g) == nil
        #expect(noCopy)
        #expect(!sandbox.backupTree().contains { $0.contains("dvbackup-partial") }, "\(sandbox.backupTree())")
        _ = once
    }

    /// 503 SlowDown is retried after a backoff, and the file is copied.
    @Test func aThrottledRequestIsRetried() throws {
        let server = try TestS3Server.requireMoto()
        let sandbox = try Sandbox(seed: 49)
        let bucket = try server.makeBucket(sandbox)
        let ds = try sandbox.addDataset()
        let f = try sandbox.addS3File(server, dataset: ds, bucket: bucket, size: 10_000)
        let upstream = Int(server.endpoint.split(separator: ":").last!)!
        let proxy = try CuttingProxy(upstreamPort: upstream, cutAfter: 0, once: true, slowDown: true, directory: sandbox.root)
        let config = try sandbox.writeConfig(stores: sandbox.s3StoreLines(server, bucket: bucket,
                                                                          endpoint: "http://127.0.0.1:\(proxy.port)"))
        let result = try sandbox.dvbackup("run", config: config)
        #expect(result.code == 0, "\(result.stderr)")
        #expect(result.stderr.contains("HTTP 503 SlowDown: Please reduce your request rate.; retrying (attempt 2 of 5)"), "\(result.stderr)")
        #expect(try sandbox.statusRows()[f.id]?.status == "OK")
        #expect(sandbox.backupBytes(f) == f.bytes ? true : false)
    }

    /// Swift's s3api: an access key with ':' (account:user), and a server that insists on
    /// x-amz-content-sha256.
    @Test func readsThroughSwiftsS3API() throws {
        let server = try TestS3Server.requireSwiftS3()
        let sandbox = try Sandbox(seed: 47)
        let bucket = try server.makeBucket(sandbox)
        let ds = try sandbox.addDataset(identifier: "FK2/SWIFTS3")
        let a = try sandbox.addS3File(server, dataset: ds, bucket: bucket, size: 100_000)
        let b = try sandbox.addS3File(server, dataset: ds, bucket: bucket, size: 10, tabular: true)
        let config = try sandbox.writeConfig(stores: sandbox.s3StoreLines(server, bucket: bucket))
        let result = try sandbox.dvbackup("run", config: config)
        #expect(result.code == 0, "\(result.stderr)")
        let rows = try sandbox.statusRows()
        #expect(rows[a.id]?.status == "OK", "\(rows[a.id]?.lastError ?? "")")
        #expect(rows[b.id]?.status == "OK", "\(rows[b.id]?.lastError ?? "")")
        #expect(sandbox.backupBytes(a) == a.bytes ? true : false)
        #expect(sandbox.backupBytes(b) == b.bytes ? true : false)
    }

    /// A 200 MiB object is streamed: the process's peak RSS stays far below the file's size.
    @Test func aLargeObjectIsStreamedWithFlatMemory() throws {
        let server = try TestS3Server.swiftS3 ?? TestS3Server.requireMoto()
        let sandbox = try Sandbox(seed: 48)
        let bucket = try server.makeBucket(sandbox)
        let ds = try sandbox.addDataset()
        let size = 200 << 20
        var bytes = [UInt8](repeating: 0, count: size)
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        bytes.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in words.indices { x ^= x << 13; x ^= x >> 7; x ^= x << 17; words[i] = x }
        }
        let f = try sandbox.addS3File(server, dataset: ds, bucket: bucket, bytes: bytes)
        bytes = []
        let config = try sandbox.writeConfig(stores: sandbox.s3StoreLines(server, bucket: bucket))
        // Peak RSS of the dvbackup process alone, as the kernel counts it for a child.
        let measure = sandbox.root + "/maxrss.py"
        try "import resource, subprocess, sys\nrc = subprocess.call(sys.argv[1:])\nprint(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\nsys.exit(rc)\n"
            .write(toFile: measure, atomically: true, encoding: .utf8)
        let result = try sandbox.run([measure, Sandbox.binary, "run", "--config", config], executable: "/usr/bin/python3")
        #expect(result.code == 0, "\(result.stderr)")
        let peakKiB = Int(result.stderr.split(separator: "\n").last.map(String.init) ?? "") ?? -1
        #expect(peakKiB > 0 && peakKiB < 64 * 1024, "peak RSS \(peakKiB) KiB for a 200 MiB object")
        print("S3 200 MiB object (\(server.name)): dvbackup peak RSS \(peakKiB / 1024) MiB")
        #expect(try sandbox.statusRows()[f.id]?.status == "OK")
        let copy = sandbox.backupDir + "/" + f.relativePath
        let attributes = try FileManager.default.attributesOfItem(atPath: copy)
        #expect((attributes[.size] as? NSNumber)?.intValue == size)
        #expect(try sandbox.statusRows()[f.id]?.provenChecksum == "MD5:" + Digest.hex(.md5, of: f.bytes))
    }
}
