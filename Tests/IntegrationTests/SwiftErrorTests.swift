import DVBackup
import Foundation
import Testing

/// Answers a one-node Swift cannot be made to give on demand (a 503 from a busy cluster, a
/// 413, a token refused again right after renewal, a 500 after the body), from a scripted
/// stand-in that speaks the same protocol (tempauth, Expect: 100-continue, chunked bodies,
/// ETag checks). Everything else is tested against the real Swift in SwiftTests.
@Suite(.enabled(if: TestPostgres.enabled))
struct SwiftErrorTests {
    static let fakeSource = #"""
        import hashlib, json, os, sys, threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        FAIL = os.environ.get("FAKE_PUT_FAIL", "")      # "<status>[body]:<count>" (-1: always)
        kind, count = (FAIL.split(":") + ["0"])[:2] if FAIL else ("", "0")
        state = {"left": int(count), "tokens": 0}
        store, lock = {}, threading.Lock()
        log = open(sys.argv[1], "a", buffering=1)

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *a): pass
            def handle_expect_100(self): return True     # decided per request below
            def reply(self, status, headers=(), body=b""):
                self.send_response(status)
                for k, v in headers: self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD": self.wfile.write(body)
            def body(self):
                if self.headers.get("Expect", "").lower() == "100-continue":
                    self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n"); self.wfile.flush()
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        n = int(self.rfile.readline().split(b";")[0], 16)
                        if n == 0:
                            self.rfile.readline(); return out
                        out += self.rfile.read(n); self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))
            def authorized(self):
                t = self.headers.get("X-Auth-Token", "")
                return t == "tk%d" % state["tokens"]
            def do_GET(self): self.handle_any()
            def do_HEAD(self): self.handle_any()
            def do_PUT(self): self.handle_any()
            def do_DELETE(self): self.handle_any()
            def handle_any(self):
                path = self.path.split("?")[0]
                log.write("%s %s\n" % (self.command, path))
                if path == "/auth/v1.0":
                    with lock: state["tokens"] += 1
                    return self.reply(200, [("X-Auth-Token", "tk%d" % state["tokens"]),
                                            ("X-Storage-Url", "http://127.0.0.1:%d/v1/AUTH_fake" % self.server.server_port)])
                if not self.authorized():
                    self.close_connection = True
                    return self.reply(401, body=b"<html><h1>Unauthorized</h1><p>This server could not verify that you are authorized.</p></html>")
                parts = path.split("/", 4)              # '', v1, AUTH_fake, container, object
                if len(parts) < 5:                        # account or container
                    return self.reply(201 if self.command == "PUT" else 204)
                if self.command == "PUT":
                    with lock:
                        fail = kind and state["left"] != 0
                        if fail and state["left"] > 0: state["left"] -= 1
                    if fail and kind == "500body":
                        self.body()
                        return self.reply(500, body=b"An error occurred while the object server wrote the object")
                    if fail:
                        self.close_connection = True
                        text = {"503": b"<html><h1>Service Unavailable</h1><p>The server is currently unavailable. Please try again at a later time.</p></html>",
                                "413": b"<html><h1>Request Entity Too Large</h1><p>The body of your request was too large for this server.</p></html>",
                                "401": b"<html><h1>Unauthorized</h1><p>This server could not verify that you are authorized.</p></html>"}[kind]
                        return self.reply(int(kind), body=text)
                    data = self.body()
                    md5 = hashlib.md5(data).hexdigest()
                    if self.headers.get("ETag") and self.headers["ETag"].strip('"') != md5:
                        return self.reply(422, body=b"Unprocessable Entity")
                    store[path] = data
                    return self.reply(201, [("Etag", md5)])
                if self.command == "DELETE":
                    return self.reply(204 if store.pop(path, None) is not None else 404)
                if path in store:
                    return self.reply(200, [("Etag", hashlib.md5(store[path]).hexdigest())], store[path])
                return self.reply(404)

        server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        print(server.server_port, flush=True)
        server.serve_forever()
        """#

    /// A running stand-in; stopped on deinit.
    final class FakeSwift {
        let process = Process()
        let port: Int
        let logPath: String

        init(in s: Sandbox, fail: String) throws {
            let script = s.root + "/fake_swift.py"
            logPath = s.root + "/fake_swift.log"
            try SwiftErrorTests.fakeSource.write(toFile: script, atomically: true, encoding: .utf8)
            let out = Pipe()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [script, logPath]
            process.environment = ["FAKE_PUT_FAIL": fail, "PATH": "/usr/bin:/bin"]
            process.standardOutput = out
            try process.run()
            let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            guard let p = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw TestFailure("the fake Swift did not start: '\(line)'")
            }
            port = p
        }

        deinit {
            // SIGKILL: a child of the test process may inherit a mask that blocks SIGTERM.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        var authURL: String { "http://127.0.0.1:\(port)/auth/v1.0" }
        var requests: [String] { ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
    }

    func world(_ seed: UInt64, fail: String, size: Int = 300_000) throws -> (Sandbox, TestFile, FakeSwift, String) {
        let s = try Sandbox(seed: seed)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/FAKE")
        let f = try s.addFile(dataset: ds, size: size, checksumType: .md5)
        let fake = try FakeSwift(in: s, fail: fail)
        let config = try s.writeSwiftConfig(authURL: fake.authURL, container: "backup", workers: 1)
        return (s, f, fake, config)
    }

    func objectPuts(_ fake: FakeSwift, _ f: TestFile) -> Int {
        fake.requests.filter { $0 == "PUT /v1/AUTH_fake/backup/\(f.relativePath)" }.count
    }

    @Test func a503IsRetriedWithBackoff() throws {
        let (s, f, fake, config) = try world(241, fail: "503:2")
        let r = try s.dvbackup("run", config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("answered 503 Service Unavailable; trying again in"), "\(r.stderr)")
        #expect(r.stderr.contains("(attempt 3 of 3)"))
        #expect(objectPuts(fake, f) == 3)
        #expect(try s.statusRows()[f.id]?.status == "OK")
    }

    @Test func a503ThatLastsFailsTheFileWithTheStatusAndSwiftsWords() throws {
        let (s, f, fake, config) = try world(242, fail: "503:-1")
        let r = try s.dvbackup("run", config: config)
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        let row = try #require(try s.statusRows()[f.id])
        #expect(row.status == "FAIL_WRITE")
        let e = row.lastError ?? ""
        #expect(e.contains("PUT http://127.0.0.1:\(fake.port)/v1/AUTH_fake/backup/\(f.relativePath): 503 Service Unavailable: Service Unavailable The server is currently unavailable."), "\(e)")
        #expect(!e.contains("tk"), "no token in the reason")
        // Three attempts (SwiftRetryDelays 0.2 0.4), each refused before its body: final, the
        // file is not sent again on top of them.
        #expect(objectPuts(fake, f) == 3)
    }

    @Test func a401RightAfterRenewalFailsTheFile() throws {
        let (s, f, fake, config) = try world(243, fail: "401:-1")
        let r = try s.dvbackup("run", config: config)
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        let e = try s.statusRows()[f.id]?.lastError ?? ""
        #expect(e.contains("401 Unauthorized again after the token was renewed"), "\(e)")
        #expect(r.stderr.contains("authenticating again at \(fake.authURL)"))
        #expect(fake.requests.filter { $0.hasPrefix("GET /auth/v1.0") }.count == 2, "one renewal: \(fake.requests)")
        #expect(try s.statusRows()[f.id]?.status == "FAIL_WRITE")
    }

    @Test func a413IsExplained() throws {
        let (s, f, fake, config) = try world(244, fail: "413:-1")
        let r = try withExtendedLifetime(fake) { try s.dvbackup("run", config: config) }
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        let e = try s.statusRows()[f.id]?.lastError ?? ""
        #expect(e.contains("413 Request Entity Too Large (larger than the cluster accepts, or the account's quota is used up): Request Entity Too Large The body of your request was too large"), "\(e)")
        #expect(try s.statusRows()[f.id]?.status == "FAIL_WRITE")
    }

    @Test func a500AfterTheBodyHasTheFileSentAgain() throws {
        let (s, f, fake, config) = try world(245, fail: "500body:1")
        let r = try s.dvbackup("run", config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("500 Internal Server Error"), "\(r.stderr)")
        #expect(r.stderr.contains("trying again (attempt 2 of 3)"))
        #expect(objectPuts(fake, f) == 2)
        #expect(try s.statusRows()[f.id]?.status == "OK")
    }
}
