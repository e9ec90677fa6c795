import Foundation
import Logging
import Testing
@testable import DVBackup

/// A restore's GETs from Swift go through the run's `RetryPolicy` like its uploads: a 5xx or
/// 429/498 is tried again, a body cut after some bytes is resumed from the byte reached with
/// `Range` on condition that the object did not change (`If-Match` its ETag), and a stop
/// during a wait ends the read at once. Against a scripted stand-in (Python's http.server)
/// holding one object; each GET of the object takes the next step of `FAKE_SCRIPT`:
/// `503`, `429`, `cut:<n>` (the full length announced, `n` bytes sent, the connection closed),
/// `change` (the object is replaced, then served), or `ok`.
@Suite struct SwiftReaderRetryTests {
    static let source = #"""
        import hashlib, os, sys
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        script = [s for s in os.environ.get("FAKE_SCRIPT", "").split(",") if s]
        state = {"data": bytes((i * 7 + 3) % 251 for i in range(300000))}
        log = open(sys.argv[1], "a", buffering=1)
        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *a): pass
            def send(self, status, headers=(), body=b"", length=None):
                self.send_response(status)
                for k, v in headers: self.send_header(k, v)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                if self.command != "HEAD": self.wfile.write(body)
            def do_HEAD(self): self.do_GET()
            def do_GET(self):
                log.write("%s %s range=%s if-match=%s\n" % (self.command, self.path, self.headers.get("Range"), self.headers.get("If-Match")))
                if self.path == "/auth/v1.0":
                    return self.send(200, [("X-Auth-Token", "tk"), ("X-Storage-Url", "http://127.0.0.1:%d/v1/AUTH_fake" % self.server.server_port)])
                if self.path.count("/") < 4 or self.command == "HEAD":
                    return self.send(204)
                step = script.pop(0) if script else "ok"
                if step in ("503", "429"):
                    return self.send(int(step), body=b"busy")
                if step == "change":
                    state["data"] = b"replaced" + state["data"][8:]
                data = state["data"]
                etag = hashlib.md5(data).hexdigest()
                if self.headers.get("If-Match") and self.headers["If-Match"].strip('"') != etag:
                    return self.send(412, body=b"Precondition Failed")
                start = 0
                if self.headers.get("Range"):
                    start = int(self.headers["Range"].split("=")[1].rstrip("-"))
                body = data[start:]
                headers = [("Etag", etag)]
                status = 200
                if start:
                    status = 206
                    headers.append(("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data))))
                if step.startswith("cut:"):
                    self.send_response(status)
                    for k, v in headers: self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[:int(step[4:])]); self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send(status, headers, body)
        server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        print(server.server_port, flush=True)
        server.serve_forever()
        """#

    static let object = (0..<300_000).map { UInt8(($0 * 7 + 3) % 251) }

    final class FakeSwift {
        let process = Process()
        let port: Int
        let logPath: String

        init(script: String) throws {
            let dir = NSTemporaryDirectory() + "dvb-swift-get-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let path = dir + "/fake.py"
            logPath = dir + "/requests.log"
            try SwiftReaderRetryTests.source.write(toFile: path, atomically: true, encoding: .utf8)
            let out = Pipe()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [path, logPath]
            process.environment = ["FAKE_SCRIPT": script, "PATH": "/usr/bin:/bin"]
            process.standardOutput = out
            try process.run()
            let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            guard let p = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw CocoaError(.fileReadCorruptFile)
            }
            port = p
        }

        deinit {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        /// The GETs of the object, as logged (`GET <path> range=… if-match=…`).
        var objectGets: [String] {
            ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
                .filter { $0.hasPrefix("GET /v1/AUTH_fake/backup/") }
        }
    }

    func reader(_ fake: FakeSwift, retry: RetryPolicy = RetryPolicy(delays: [0.01, 0.01, 0.01]),
                stopped: @escaping @Sendable () -> Bool = { false }) throws -> SwiftReader {
        let credentials = SwiftCredentials(authURL: "http://127.0.0.1:\(fake.port)/auth/v1.0", version: .v1, user: "test:tester", key: "testing")
        let access = SwiftAccess(credentials: credentials, retry: retry, logger: Logger(label: "test"), stopped: stopped)
        return SwiftReader(layout: SwiftLayout(container: "backup"), connection: try SwiftConnection(access: access))
    }

    /// Reads the object; returns its bytes, or the failure.
    func read(_ reader: SwiftReader) -> Result<[UInt8], ReadFailure> {
        var bytes: [UInt8] = []
        do throws(ReadFailure) {
            try reader.read(CopyReference(datafileId: 1, relativePath: "10.5072/FK2/A/f1", expectedSize: 300_000)) { chunk in
                bytes += chunk
            }
            return .success(bytes)
        } catch {
            return .failure(error)
        }
    }

    @Test func busyAnswersAreTriedAgainUntilTheObjectComes() throws {
        let fake = try FakeSwift(script: "503,429,ok")
        let got = read(try reader(fake))
        #expect(try got.get() == Self.object)
        #expect(fake.objectGets.count == 3)
    }

    @Test func aBodyCutAfterSomeBytesIsResumedFromTheByteReachedIfTheObjectIsUnchanged() throws {
        let fake = try FakeSwift(script: "cut:100000,503,cut:50000,ok")
        let got = read(try reader(fake))
        #expect(try got.get() == Self.object, "every byte once, in order")
        let gets = fake.objectGets
        #expect(gets.count == 4)
        #expect(gets.first?.hasSuffix("range=None if-match=None") == true)
        #expect(gets[1].contains("range=bytes=100000- if-match="), "\(gets)")
        #expect(gets[3].contains("range=bytes=150000- if-match="), "\(gets)")
        #expect(!gets[3].hasSuffix("if-match=None"))
    }

    @Test func anObjectReplacedBeforeTheRestIsReadIsNotStitchedFromTwoVersions() throws {
        let fake = try FakeSwift(script: "cut:100000,change")
        guard case .failure(.cut(let why)) = read(try reader(fake)) else {
            Issue.record("a changed object must end the read as cut")
            return
        }
        #expect(why.contains("the object changed"), "\(why)")
        #expect(why.contains("after 100000 bytes"), "\(why)")
    }

    @Test func whenTheAttemptsAreSpentTheLastAnswerIsReported() throws {
        let fake = try FakeSwift(script: "503,503,503,503,503")
        guard case .failure(let failure) = read(try reader(fake)) else {
            Issue.record("four 503 answers with three retries must fail")
            return
        }
        #expect(failure.description.contains("503"), "\(failure)")
        #expect(fake.objectGets.count == 4)
    }

    @Test func aStopDuringTheWaitEndsTheReadAtOnce() throws {
        let fake = try FakeSwift(script: "503,ok")
        let start = MonotonicClock.now()
        guard case .failure(.unavailable(let why)) = read(try reader(fake, retry: RetryPolicy(delays: [30]), stopped: { true })) else {
            Issue.record("a stop must end the read as unavailable (the restore stops)")
            return
        }
        #expect(why.contains(SwiftAccess.stoppedWhileWaiting))
        #expect(MonotonicClock.now() - start < 10)
        #expect(fake.objectGets.count == 1)
    }
}
