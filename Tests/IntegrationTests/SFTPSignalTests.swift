import DVBackup
import Foundation
import Testing

/// SIGTERM while the SFTP server has gone away: the run is waiting to reconnect, and must
/// end at once as interrupted. The server is reached through a relay of the test's own
/// (scripts/services' delay_relay.py copied from the bench anchors, or an equivalent), which
/// the test kills; the shared sshd is never stopped.
@Suite(.enabled(if: TestSSH.enabled), .serialized)
struct SFTPSignalTests {
    /// A TCP relay 127.0.0.1:port → the test sshd, with `delayMs` each way (so that the run
    /// is still copying when the relay is killed).
    static let relayScript = """
        import asyncio, sys
        async def pump(r, w, delay):
            try:
                while True:
                    data = await r.read(1 << 16)
                    if not data:
                        break
                    if delay:
                        await asyncio.sleep(delay)
                    w.write(data)
                    await w.drain()
            except Exception:
                pass
            finally:
                try:
                    w.close()
                except Exception:
                    pass
        async def main():
            port, host, target, delay = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]) / 1000
            async def handle(r, w):
                try:
                    tr, tw = await asyncio.open_connection(host, target)
                except OSError:
                    w.close()
                    return
                await asyncio.gather(pump(r, tw, delay), pump(tr, w, delay))
            server = await asyncio.start_server(handle, '127.0.0.1', port)
            print('ready', flush=True)
            async with server:
                await server.serve_forever()
        asyncio.run(main())
        """

    final class Relay {
        let process = Process()
        init(script: String, port: Int, delayMs: Int) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, String(port), TestSSH.host ?? "127.0.0.1", String(TestSSH.port), String(delayMs)]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            // Wait for "ready".
            _ = out.fileHandleForReading.availableData
        }
        func kill() {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        deinit { if process.isRunning { kill() } }
    }

    /// Waits up to `seconds` for `condition`.
    static func waitFor(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    @Test func sigtermWhileWaitingToReconnectEndsTheRunAtOnceAsInterrupted() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 1561)
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/SIGTERM")
        var files: [TestFile] = []
        for i in 0..<200 { files.append(try s.addFile(dataset: ds, size: 40_000 + i)) }
        let dirs = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        let script = s.root + "/relay.py"
        try Self.relayScript.write(toFile: script, atomically: true, encoding: .utf8)
        let port = try freeTCPPort()
        // The server's host key, for the relay's address.
        let known = try String(contentsOfFile: TestSSH.knownHosts, encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("[127.0.0.1]:\(TestSSH.port) ") }
        let keyPart = try #require(known).split(separator: " ", maxSplits: 1)[1]
        let knownHosts = s.root + "/known_hosts_relay"
        try "[127.0.0.1]:\(port) \(keyPart)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let config = try s.writeConfig(backupLines: [
            "StorageType = ssh", "SshHost = 127.0.0.1", "SshPort = \(port)", "SshUsername = \(TestSSH.user)",
            "BackupDirectory = \(dirs.remote)", "SshPrivateKey = \(TestSSH.key)", "SshKnownHosts = \(knownHosts)",
            "SshConnections = 2",
        ], name: "relay.ini")

        var relay: Relay? = try Relay(script: script, port: port, delayMs: 4)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Sandbox.binary)
        process.arguments = ["run", "--config", config]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "PGPASSWORD")
        process.environment = env
        let errPath = s.root + "/run.stderr", outPath = s.root + "/run.stdout"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let db = try s.backupConnection()
        // Copies published on the server so far (statuses are committed in batches).
        func published() -> Int {
            let dir = dirs.local + "/10.5072/FK2/SIGTERM"
            return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.count
        }
        // The run is copying: a few files are on the server, most are still to come.
        let copying = Self.waitFor(60) { published() >= 3 || !process.isRunning }
        #expect(copying && process.isRunning, "the run went through before the server went away")
        guard process.isRunning else { return }
        relay?.kill()
        relay = nil
        let stderr = { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
        let waiting = Self.waitFor(20) { stderr().contains("reconnecting to") || !process.isRunning }
        #expect(waiting && process.isRunning, "the run waits to reconnect: \(stderr()) \((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "")")
        guard process.isRunning else { return }
        usleep(300_000)  // well inside the wait
        let signalled = Date()
        process.terminate()  // SIGTERM
        let ended = Self.waitFor(5) { !process.isRunning }
        let took = Date().timeIntervalSince(signalled)
        #expect(ended, "the run ignored SIGTERM for \(took) s: \(stderr())")
        if !ended { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "an interrupted run exits 1 (README: Exit codes): \(stderr())")

        let run = try db.query("SELECT state FROM dvbackup_run ORDER BY id DESC LIMIT 1")
        #expect(run.string(0, 0) == "interrupted")
        let rows = try s.statusRows()
        var ok = 0
        for f in files {
            guard let row = rows[f.id] else { continue }
            let copy = FileManager.default.contents(atPath: dirs.local + "/" + f.relativePath).map { [UInt8]($0) }
            if row.status == "OK" {
                ok += 1
                #expect(copy == f.bytes, "datafile \(f.id) is OK only with a proven copy")
            }
        }
        #expect(ok < files.count)
        // The file whose reconnection was abandoned is a failure, not OK.
        let abandoned = files.filter { rows[$0.id]?.lastError?.contains("stopped while waiting to reconnect") == true }
        #expect(!abandoned.isEmpty, "\(stderr())")
        for f in abandoned { #expect(rows[f.id]?.status == "FAIL_WRITE") }

        // The server is back: the next run copies what is left, the abandoned file included.
        relay = try Relay(script: script, port: port, delayMs: 0)
        let next = try s.dvbackup("run", config: config)
        #expect(next.code == 0, "\(next.stdout)\n\(next.stderr)")
        let after = try s.statusRows()
        for f in files {
            #expect(after[f.id]?.status == "OK")
            #expect(FileManager.default.contents(atPath: dirs.local + "/" + f.relativePath).map { [UInt8]($0) } == f.bytes)
        }
        relay?.kill()
    }
}
