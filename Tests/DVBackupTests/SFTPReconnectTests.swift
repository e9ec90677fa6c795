import Foundation
import Logging
import Testing
@testable import DVBackup

/// The SFTP session's reconnection, against a port where nothing listens.
struct SFTPReconnectTests {
    private func target(reconnect: RetryPolicy, stopped: @escaping @Sendable () -> Bool) -> SFTPTarget {
        let connection = SSHConnectionConfig(host: "127.0.0.1", port: 1, user: "nobody", privateKeys: [], passphrase: nil,
                                             useAgent: false, knownHostsPath: "/nonexistent", timeoutSeconds: 2)
        return SFTPTarget(connection: connection, root: "/backup", logger: Logger(label: "test"),
                          reconnect: reconnect, stopRequested: stopped)
    }

    @Test func aStopWhileWaitingToReconnectFailsTheFileAtOnceForGood() throws {
        let t = target(reconnect: RetryPolicy(delays: [60, 60]), stopped: { true })
        let session = try t.makeSession()
        let started = MonotonicClock.now()
        let failure = try #require(throws: FileFailure.self) { _ = try session.beginUpload(relativePath: "a/b/c") }
        #expect(MonotonicClock.now() - started < 10, "the 60 s wait ended at once")
        #expect(failure.status == .failWrite)
        #expect(!failure.connectionLost, "not tried again")
        #expect(failure.reason.contains("stopped while waiting to reconnect"))
    }

    @Test func withoutAStopEveryAttemptIsMade() throws {
        let t = target(reconnect: RetryPolicy(delays: [0.01, 0.01]), stopped: { false })
        let session = try t.makeSession()
        let failure = try #require(throws: FileFailure.self) { _ = try session.beginUpload(relativePath: "a/b/c") }
        #expect(failure.reason.contains("after 3 attempts"))
        #expect(failure.status == .failWrite)
    }
}
