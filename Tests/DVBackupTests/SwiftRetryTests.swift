import Foundation
import Logging
import Synchronization
import Testing
@testable import DVBackup

/// Swift's retries go through the run's `RetryPolicy`: a stop during a wait ends the request at
/// once, with no further attempt. Against a stand-in on 127.0.0.1 that gives a v1 token and
/// then answers every request with `status`.
@Suite struct SwiftRetryTests {
    /// A minimal HTTP/1.1 server on a loopback port: one thread per connection, requests
    /// without bodies, each answered at once.
    struct CannotListen: Error {}

    /// `@unchecked Sendable`: `requests` is a `Mutex`; the rest is set in `init`.
    final class StubServer: @unchecked Sendable {
        let port: Int
        private let listener: Int32
        let requests = Mutex<[String]>([])

        init(answer status: Int) throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = 0
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
            }
            guard bound, listen(fd, 8) == 0 else {
                close(fd)
                throw CannotListen()
            }
            listener = fd
            port = Int(UInt16(bigEndian: addr.sin_port))
            let listener = self.listener, port = self.port
            _ = WorkerThread(name: "stub-swift") { [self] in
                while true {
                    let fd = accept(listener, nil, nil)
                    if fd < 0 { return }
                    _ = WorkerThread(name: "stub-swift-conn") { [self] in serve(fd, status: status, port: port) }
                }
            }
        }

        deinit {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }

        private func serve(_ fd: Int32, status: Int, port: Int) {
            defer { close(fd) }
            var pending = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { return }
                pending += buffer[0..<n]
                while let end = String(decoding: pending, as: UTF8.self).range(of: "\r\n\r\n") {
                    let head = String(String(decoding: pending, as: UTF8.self)[..<end.lowerBound])
                    pending = Array(String(decoding: pending, as: UTF8.self)[end.upperBound...].utf8)
                    let line = String(head.prefix { $0 != "\r" })
                    requests.withLock { $0.append(line) }
                    let reply = line.contains("/auth/v1.0")
                        ? "HTTP/1.1 200 OK\r\nX-Auth-Token: AUTH_tkstub\r\nX-Storage-Url: http://127.0.0.1:\(port)/v1/AUTH_stub\r\nContent-Length: 0\r\n\r\n"
                        : "HTTP/1.1 \(status) Busy\r\nContent-Length: 0\r\n\r\n"
                    _ = Array(reply.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                }
            }
        }
    }

    func access(_ server: StubServer, retry: RetryPolicy, stopped: @escaping @Sendable () -> Bool) -> SwiftAccess {
        let credentials = SwiftCredentials(authURL: "http://127.0.0.1:\(server.port)/auth/v1.0", version: .v1, user: "test:tester", key: "testing")
        return SwiftAccess(credentials: credentials, retry: retry, logger: Logger(label: "test"), stopped: stopped)
    }

    @Test func aStopDuringTheWaitEndsTheRequestWithoutAnotherAttempt() throws {
        let server = try StubServer(answer: 503)
        let connection = try SwiftConnection(access: access(server, retry: RetryPolicy(delays: [30, 30]), stopped: { true }))
        let start = MonotonicClock.now()
        #expect {
            _ = try connection.send(.head, "")
        } throws: { error in
            let e = error as? SwiftRequestError
            return e?.message.hasSuffix("503 Service Unavailable; the run was stopped while waiting to try again") == true
                && e?.connectionLost == false
        }
        #expect(MonotonicClock.now() - start < 10, "no 30 s wait")
        #expect(server.requests.withLock { $0 }.filter { $0.hasPrefix("HEAD /v1/AUTH_stub") }.count == 1, "one attempt only")
    }

    @Test func withoutAStopEveryAttemptOfThePolicyIsMade() throws {
        let server = try StubServer(answer: 503)
        let connection = try SwiftConnection(access: access(server, retry: RetryPolicy(delays: [0.01, 0.01]), stopped: { false }))
        let response = try connection.send(.head, "")
        #expect(response.status == 503, "the last answer, once the attempts are spent")
        #expect(server.requests.withLock { $0 }.filter { $0.hasPrefix("HEAD /v1/AUTH_stub") }.count == 3)
    }
}
