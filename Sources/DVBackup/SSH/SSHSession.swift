internal import CLibSSH2
internal import CSSHCipher
import Foundation

/// How to reach and log in to an SSH server.
public struct SSHConnectionConfig: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    /// Private key files to try in order (the configured one, or ~/.ssh/id_ed25519, id_ecdsa,
    /// id_rsa that exist).
    public var privateKeys: [String]
    /// The passphrase of the private keys, read from the environment variable the
    /// configuration names; never logged.
    public var passphrase: String?
    /// Try the keys of ssh-agent first (when SSH_AUTH_SOCK is set).
    public var useAgent: Bool
    public var knownHostsPath: String
    public var timeoutSeconds: Int

    public init(host: String, port: Int, user: String, privateKeys: [String], passphrase: String?,
                useAgent: Bool, knownHostsPath: String, timeoutSeconds: Int = 60) {
        self.host = host
        self.port = port
        self.user = user
        self.privateKeys = privateKeys
        self.passphrase = passphrase
        self.useAgent = useAgent
        self.knownHostsPath = knownHostsPath
        self.timeoutSeconds = timeoutSeconds
    }

    /// `user@host:port`, for messages.
    public var display: String { "\(user)@\(host):\(port)" }

    /// How OpenSSH names the host in known_hosts: `host`, or `[host]:port` off port 22.
    public var knownHostsName: String { port == 22 ? host : "[\(host)]:\(port)" }

    public static func == (a: SSHConnectionConfig, b: SSHConnectionConfig) -> Bool {
        a.host == b.host && a.port == b.port && a.user == b.user && a.privateKeys == b.privateKeys
            && a.useAgent == b.useAgent && a.knownHostsPath == b.knownHostsPath
    }
}

/// Calls `libssh2_init` once, before any session exists.
enum LibSSH2 {
    static let initialized: Bool = { libssh2_init(0) == 0 }()
    /// The library's version, e.g. `1.10.0`.
    static var version: String { libssh2_version(0).map { String(cString: $0) } ?? "?" }
    /// Bytes whose AES-CTR keystream came from the 8 KiB batches of CSSHCipher (zero when the
    /// link-time wrap is missing or no AES-CTR was negotiated).
    static var batchedCipherBytes: UInt64 { dv_ctr_batched_bytes() }
}

/// One SSH connection (a socket and a `LIBSSH2_SESSION`), authenticated, with the server's
/// host key checked against known_hosts. Closed in `deinit`.
///
/// Not `Sendable`: libssh2 forbids using one session from two threads at once. Each worker
/// opens its own.
public final class SSHSession {
    let handle: OpaquePointer
    private let socket: Int32
    public let config: SSHConnectionConfig
    /// The server's host key as checked.
    public var hostKey: SSHHostKey { checkedHostKey! }
    private var checkedHostKey: SSHHostKey?

    /// Connects, checks the host key (before authenticating: nothing is sent to an
    /// unknown server but the key exchange), and logs in.
    public init(_ config: SSHConnectionConfig) throws {
        precondition(LibSSH2.initialized, "libssh2_init failed")
        self.config = config
        socket = try Self.connect(host: config.host, port: config.port, timeoutSeconds: config.timeoutSeconds)
        guard let session = dv_ssh2_session_init() else {
            close(socket)
            throw SSHError(code: LIBSSH2_ERROR_ALLOC, message: "libssh2 cannot create a session", connectionLost: true)
        }
        handle = session
        // Every stored property is set from here on, so a throw below runs deinit, which
        // frees the session and closes the socket (exactly once).
        libssh2_session_set_blocking(session, 1)
        libssh2_session_set_timeout(session, config.timeoutSeconds * 1000)
        // Prefer the host key types OpenSSH prefers, so the key a user accepted with ssh is
        // the one negotiated here.
        _ = libssh2_session_method_pref(session, LIBSSH2_METHOD_HOSTKEY,
            "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256,ssh-rsa")
        let rc = libssh2_session_handshake(session, socket)
        guard rc == 0 else { throw Self.error(session, rc, "SSH handshake with \(config.host):\(config.port) failed") }
        let key = try SSHHostKey(session: session)
        checkedHostKey = key
        try KnownHosts.verify(key, config: config, session: session)
        try authenticate()
    }

    /// The negotiated cipher and MAC, client to server (e.g. `aes128-ctr`, `hmac-sha2-256`).
    public var cipher: String { method(LIBSSH2_METHOD_CRYPT_CS) }
    public var mac: String { method(LIBSSH2_METHOD_MAC_CS) }

    private func method(_ type: Int32) -> String {
        libssh2_session_methods(handle, type).map { String(cString: $0) } ?? "?"
    }

    deinit {
        _ = dv_ssh2_session_disconnect(handle, "dvbackup done")
        libssh2_session_free(handle)
        close(socket)
    }

    // MARK: socket

    static func connect(host: String, port: Int, timeoutSeconds: Int) throws(SSHError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let gai = getaddrinfo(host, String(port), &hints, &result)
        guard gai == 0, let first = result else {
            throw SSHError(code: 0, message: "cannot resolve \(host): \(String(cString: gai_strerror(gai)))", connectionLost: true)
        }
        defer { freeaddrinfo(result) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = Foundation.socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if fd < 0 { lastError = errorText(errno); continue }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var rc = Foundation.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen)
            if rc != 0, errno == EINPROGRESS {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let n = poll(&p, 1, Int32(timeoutSeconds * 1000))
                if n == 1 {
                    var soError: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
                    rc = soError == 0 ? 0 : -1
                    errno = soError
                } else {
                    rc = -1
                    errno = n == 0 ? ETIMEDOUT : errno
                }
            }
            if rc != 0 {
                lastError = errorText(errno)
                close(fd)
                continue
            }
            _ = fcntl(fd, F_SETFL, flags)
            // Nagle's algorithm and delayed ACKs cost small files dearly.
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
            return fd
        }
        throw SSHError(code: 0, message: "cannot connect to \(host):\(port): \(lastError)", connectionLost: true)
    }

    // MARK: authentication

    private func authenticate() throws {
        var attempts: [String] = []
        let user = config.user
        if config.useAgent, ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"] != nil {
            if try authenticateWithAgent(&attempts) { return }
        }
        for path in config.privateKeys {
            guard FileManager.default.isReadableFile(atPath: path) else {
                attempts.append("\(path): not readable")
                continue
            }
            let rc = libssh2_userauth_publickey_fromfile_ex(handle, user, UInt32(user.utf8.count), nil, path, config.passphrase)
            if rc == 0 { return }
            let e = lastError(rc, "")
            if e.connectionLost, rc != LIBSSH2_ERROR_FILE, rc != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED,
               rc != LIBSSH2_ERROR_AUTHENTICATION_FAILED {
                throw e
            }
            var why = e.message
            if rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED {
                why += config.passphrase == nil ? " (is the key protected by a passphrase? name the environment variable that holds it with SshPrivateKeyPassphraseEnv)" : " (wrong passphrase, or a key format libssh2 cannot read)"
            }
            if rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED, Self.isRSAKey(path) {
                // libssh2 1.10 signs RSA logins with SHA-1 ("ssh-rsa"), which OpenSSH 8.8
                // and later refuse unless the server allows it.
                why += " (this is an RSA key: the libssh2 1.10 that dvbackup uses signs RSA logins with SHA-1, which OpenSSH 8.8 and later refuse by default; use an ed25519 or ECDSA key (ssh-keygen -t ed25519), or allow it on the server with PubkeyAcceptedAlgorithms +ssh-rsa)"
            }
            attempts.append("\(path): \(why)")
        }
        if attempts.isEmpty { attempts.append("no private key found (set SshPrivateKey, or start ssh-agent)") }
        throw SSHError(code: LIBSSH2_ERROR_AUTHENTICATION_FAILED,
                       message: "cannot log in to \(config.display) with a key: " + attempts.joined(separator: "; "),
                       connectionLost: false)
    }

    /// Whether a private key file holds an RSA key (PEM, or OpenSSH format whose public
    /// part names ssh-rsa).
    static func isRSAKey(_ path: String) -> Bool {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        if text.contains("BEGIN RSA PRIVATE KEY") { return true }
        guard text.contains("BEGIN OPENSSH PRIVATE KEY") else { return false }
        let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let data = Data(base64Encoded: body) else { return false }
        return data.range(of: Data("ssh-rsa".utf8)) != nil
    }

    private func authenticateWithAgent(_ attempts: inout [String]) throws -> Bool {
        guard let agent = libssh2_agent_init(handle) else { return false }
        defer {
            libssh2_agent_disconnect(agent)
            libssh2_agent_free(agent)
        }
        guard libssh2_agent_connect(agent) == 0, libssh2_agent_list_identities(agent) == 0 else {
            attempts.append("ssh-agent: cannot list its keys")
            return false
        }
        var previous: UnsafeMutablePointer<libssh2_agent_publickey>? = nil
        var identity: UnsafeMutablePointer<libssh2_agent_publickey>? = nil
        while libssh2_agent_get_identity(agent, &identity, previous) == 0, let id = identity {
            if libssh2_agent_userauth(agent, config.user, id) == 0 { return true }
            previous = id
        }
        attempts.append("ssh-agent: no key accepted")
        return false
    }

    // MARK: errors

    func lastError(_ rc: Int32, _ what: String) -> SSHError { Self.error(handle, rc, what) }

    static func error(_ handle: OpaquePointer, _ rc: Int32, _ what: String) -> SSHError {
        var msg: UnsafeMutablePointer<CChar>? = nil
        var len: Int32 = 0
        _ = libssh2_session_last_error(handle, &msg, &len, 0)
        let text = msg.map { String(cString: $0) } ?? "libssh2 error \(rc)"
        let lost: Bool = switch rc {
        case LIBSSH2_ERROR_SFTP_PROTOCOL, LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED, LIBSSH2_ERROR_CHANNEL_FAILURE,
             LIBSSH2_ERROR_AUTHENTICATION_FAILED, LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED, LIBSSH2_ERROR_FILE,
             LIBSSH2_ERROR_METHOD_NOT_SUPPORTED, LIBSSH2_ERROR_REQUEST_DENIED:
            false
        default:
            true
        }
        return SSHError(code: rc, message: what.isEmpty ? text : "\(what): \(text)", connectionLost: lost)
    }

    // MARK: exec

    /// A running remote command whose standard input is written bit by bit.
    public final class CommandChannel {
        let session: SSHSession
        let channel: OpaquePointer

        init(session: SSHSession, channel: OpaquePointer) {
            self.session = session
            self.channel = channel
        }

        deinit { libssh2_channel_free(channel) }

        public func send(_ text: String) throws(SSHError) {
            try session.write(Array(text.utf8), to: channel, "cannot send to the remote command")
        }

        /// Closes standard input and collects the output and the exit status.
        public func finish() throws(SSHError) -> (stdout: String, stderr: String, status: Int32) {
            _ = libssh2_channel_send_eof(channel)
            return try session.collect(channel)
        }
    }

    /// Writes all of `bytes` to a channel of this session (its standard input, or an SFTP
    /// subsystem's requests).
    func write(_ bytes: [UInt8], to channel: OpaquePointer, _ what: String) throws(SSHError) {
        var failure: SSHError?
        bytes.withUnsafeBytes { raw in
            do throws(SSHError) { try write(raw, to: channel, what) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    func write(_ bytes: UnsafeRawBufferPointer, to channel: OpaquePointer, _ what: String) throws(SSHError) {
        var offset = 0
        while offset < bytes.count {
            let n = libssh2_channel_write_ex(channel, 0, bytes.baseAddress!.assumingMemoryBound(to: CChar.self) + offset, bytes.count - offset)
            if n < 0 { throw lastError(Int32(n), what) }
            offset += n
        }
    }

    /// Starts `command` over an exec channel, its standard input left open.
    public func startCommand(_ command: String) throws(SSHError) -> CommandChannel {
        guard let channel = dv_ssh2_channel_open_session(handle) else {
            throw lastError(libssh2_session_last_errno(handle), "cannot open an SSH channel")
        }
        let rc = dv_ssh2_channel_exec(channel, command)
        guard rc == 0 else {
            libssh2_channel_free(channel)
            throw lastError(rc, "the server refused to run a command")
        }
        return CommandChannel(session: self, channel: channel)
    }

    /// Runs `command` over an exec channel, writes `input` to its standard input, and
    /// returns what it printed and its exit status. The command goes through the user's
    /// login shell on the server.
    public func run(_ command: String, input: String = "") throws(SSHError) -> (stdout: String, stderr: String, status: Int32) {
        let channel = try startCommand(command)
        try channel.send(input)
        return try channel.finish()
    }

    /// Reads a channel's output to its end (stdout first: the commands run here write
    /// little to stderr, so it cannot fill the channel window), closes it, and returns the
    /// exit status.
    func collect(_ channel: OpaquePointer) throws(SSHError) -> (stdout: String, stderr: String, status: Int32) {
        func drain(_ stream: Int32, _ what: String) throws(SSHError) -> [UInt8] {
            var collected = [UInt8]()
            var buffer = [CChar](repeating: 0, count: 32_768)
            while true {
                let n = libssh2_channel_read_ex(channel, stream, &buffer, buffer.count)
                if n == 0 { return collected }
                if n < 0 { throw lastError(Int32(n), "cannot read the remote command's \(what)") }
                collected += buffer[0..<n].map { UInt8(bitPattern: $0) }
            }
        }
        let out = try drain(0, "output")
        let err = try drain(Int32(SSH_EXTENDED_DATA_STDERR), "errors")
        _ = libssh2_channel_close(channel)
        _ = libssh2_channel_wait_closed(channel)
        let status = libssh2_channel_get_exit_status(channel)
        return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self), status)
    }
}
