import Foundation
import Logging
import Synchronization

/// A backup directory on an SFTP server (StorageType `ssh`), through libssh2.
///
/// Layout as the original script wrote it: `<BackupDirectory>/<authority>/<identifier>/<name>`.
/// Each copy is written to `.<datafile id>.dvbackup-partial` beside its final name, flushed
/// (fsync@openssh.com), proven, and only then renamed over the final name.
public final class SFTPTarget: BackupTarget, Sendable {
    public let connection: SSHConnectionConfig
    public let root: String
    let logger: Logger
    let directories = DirectoryCache()
    private let proofMode = Mutex<SFTPProof?>(nil)
    private let posixRenameAllowed = Mutex(false)
    /// How a lost connection is re-established: the waits between attempts.
    let reconnect: RetryPolicy
    /// Whether the run was asked to stop (SIGINT, SIGTERM; tests pass their own): a
    /// reconnection wait then ends at once.
    let stopRequested: @Sendable () -> Bool
    /// Copies proven together in one remote command.
    static let batchSize = 64

    public init(connection: SSHConnectionConfig, root: String, logger: Logger, hashDuringUpload: Bool? = nil,
                reconnect: RetryPolicy = RetryPolicy(delays: [1, 2, 4, 8, 16]),
                stopRequested: @escaping @Sendable () -> Bool = { StopSignal.isRequested }) {
        self.connection = connection
        self.hashDuringUpload = hashDuringUpload
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        self.logger = logger
        self.reconnect = reconnect
        self.stopRequested = stopRequested
    }

    /// Whether the server hashes large copies while they are written, in parallel with the
    /// upload, rather than after it (SshHashDuringUpload, default yes). On a loopback server
    /// the two share the same cores and it still pays (measured on 2 cores: 2 GiB in 10.1-10.9 s
    /// instead of 11.0-11.9 s), because the hash and the flush no longer wait for the last byte.
    var hashWhileWriting: Bool { hashDuringUpload ?? true }
    let hashDuringUpload: Bool?

    public var method: String { "ssh" }
    public var displayName: String { "sftp://\(connection.user)@\(connection.host):\(connection.port)\(root)" }
    public var proof: SFTPProof { proofMode.withLock { $0 } ?? .readBack }
    /// Whether copies are published with posix-rename@openssh.com: the server offered it and
    /// allowed it on a scratch file (checkUsable).
    var publishesByPosixRename: Bool { posixRenameAllowed.withLock { $0 } }

    /// A new connection whose backup directory exists and is a directory; whatever fails is
    /// `TargetUnavailable` (the run, audit or restore cannot go on with this target).
    func connectToRoot() throws(TargetUnavailable) -> (session: SSHSession, sftp: SFTPClient) {
        do {
            let session = try SSHSession(connection)
            let sftp = try SFTPClient(session: session)
            guard let attrs = try sftp.stat(root) else {
                throw TargetUnavailable("the backup directory \(root) does not exist on \(connection.display) (dvbackup does not create it)")
            }
            guard attrs.isDirectory else {
                throw TargetUnavailable("the backup directory \(root) on \(connection.display) is not a directory")
            }
            return (session, sftp)
        } catch let e as TargetUnavailable {
            throw e
        } catch let e as HostKeyRejected {
            throw TargetUnavailable(e.message)
        } catch {
            throw TargetUnavailable("cannot use \(displayName): \(error)")
        }
    }

    public func checkUsable() throws(TargetUnavailable) {
        let (session, sftp) = try connectToRoot()
        let probe = root + "/.dvbackup-probe-\(getpid())"
        do {
            let f = try sftp.openForWriting(probe)
            try f.close()
        } catch {
            throw TargetUnavailable("the backup directory \(root) on \(connection.display) is not writable: \(error)")
        }
        let rename = probePosixRename(session, sftp, probe)
        let mode = Self.detectProof(session)
        proofMode.withLock { $0 = mode }
        logger.info("connected to \(connection.display) (host key \(session.hostKey.typeName) \(session.hostKey.fingerprint), \(session.cipher) with \(session.mac)); copies are proven by \(mode.rawValue) and \(rename)")
        logger.debug("libssh2 \(LibSSH2.version), linked statically; AES-CTR keystream drawn in 8 KiB batches: \(LibSSH2.batchedCipherBytes) bytes so far")
    }

    /// Which rename publishes the copies: posix-rename, where the server both offers it and
    /// allows it on the scratch file `probe` (a server may announce it and refuse it by
    /// policy). Removes the scratch file; returns how copies are published, for the log.
    private func probePosixRename(_ session: SSHSession, _ sftp: SFTPClient, _ probe: String) -> String {
        var rename = "published by SFTP rename (the server offers no posix-rename@openssh.com)"
        var leftOver = probe
        var allowed = false
        if let channel = try? SFTPExtensionChannel(session: session), channel.offersPosixRename {
            let renamed = probe + ".renamed"
            switch try? channel.posixRename([(probe, renamed)]).first {
            case .some(.none):
                leftOver = renamed
                allowed = true
                rename = "published by posix-rename@openssh.com (an atomic replace)"
            case .some(.some(let refusal)):
                rename = "published by SFTP rename (the server refuses posix-rename@openssh.com: \(refusal))"
            case .none:
                break
            }
        }
        try? sftp.remove(leftOver)
        posixRenameAllowed.withLock { $0 = allowed }
        return rename
    }

    /// Whether the account may run commands (`RemoteCommands.execProbe`).
    static func detectProof(_ session: SSHSession) -> SFTPProof {
        guard let r = try? session.run(RemoteCommands.execProbe),
              RemoteCommands.answersExecProbe(status: r.status, stdout: r.stdout) else { return .readBack }
        return .remoteCommand
    }

    public func makeSession() throws(TargetUnavailable) -> any TargetSession {
        SFTPTargetSession(target: self)
    }
}
