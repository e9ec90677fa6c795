internal import CLibSSH2
import Foundation

/// The server's host key as received in the key exchange.
public struct SSHHostKey: Sendable, Equatable {
    /// The key's type as OpenSSH names it: `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`.
    public let typeName: String
    /// The key blob, as it appears base64-encoded in known_hosts.
    public let blob: [UInt8]
    let libssh2Type: Int32

    init(session: OpaquePointer) throws(SSHError) {
        var length = 0
        var type: Int32 = 0
        guard let key = libssh2_session_hostkey(session, &length, &type), length > 4 else {
            throw SSHError(code: LIBSSH2_ERROR_HOSTKEY_INIT, message: "the server sent no host key", connectionLost: true)
        }
        blob = key.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
        libssh2Type = type
        // The blob starts with the type name as an SSH string (uint32 length, bytes).
        let n = Int(blob[0]) << 24 | Int(blob[1]) << 16 | Int(blob[2]) << 8 | Int(blob[3])
        typeName = n > 0 && 4 + n <= blob.count ? String(decoding: blob[4..<(4 + n)], as: UTF8.self) : "unknown"
    }

    /// `SHA256:…` as `ssh-keygen -l` and ssh print it (base64 without padding).
    public var fingerprint: String {
        let digest = Digest(.sha256)
        digest.update(blob)
        let hex = digest.finalizeHex()
        var bytes = [UInt8]()
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            bytes.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        var b64 = Data(bytes).base64EncodedString()
        while b64.hasSuffix("=") { b64.removeLast() }
        return "SHA256:" + b64
    }

    /// The known_hosts line that trusts this key for `name` (`host` or `[host]:port`).
    public func knownHostsLine(for name: String) -> String {
        "\(name) \(typeName) \(Data(blob).base64EncodedString())"
    }

    /// libssh2's known-host key type bit for this key.
    var knownHostKeyBit: Int32 {
        switch libssh2Type {
        case LIBSSH2_HOSTKEY_TYPE_RSA: LIBSSH2_KNOWNHOST_KEY_SSHRSA
        case LIBSSH2_HOSTKEY_TYPE_DSS: LIBSSH2_KNOWNHOST_KEY_SSHDSS
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: LIBSSH2_KNOWNHOST_KEY_ECDSA_256
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: LIBSSH2_KNOWNHOST_KEY_ECDSA_384
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: LIBSSH2_KNOWNHOST_KEY_ECDSA_521
        case LIBSSH2_HOSTKEY_TYPE_ED25519: LIBSSH2_KNOWNHOST_KEY_ED25519
        default: LIBSSH2_KNOWNHOST_KEY_UNKNOWN
        }
    }
}

/// Checks a server's host key against an OpenSSH known_hosts file: plain and hashed
/// (`|1|…`) names, `[host]:port` entries. There is deliberately no way to accept an
/// unknown key: the administrator adds the line after checking the fingerprint.
enum KnownHosts {
    static func verify(_ key: SSHHostKey, config: SSHConnectionConfig, session: OpaquePointer) throws {
        let name = config.knownHostsName
        let addLine = key.knownHostsLine(for: name)
        guard let text = try? String(contentsOfFile: config.knownHostsPath, encoding: .utf8) else {
            throw HostKeyRejected(reason: .unreadableKnownHosts, message: """
                cannot read the known hosts file \(config.knownHostsPath) (SshKnownHosts), so the host key of \(name) \
                cannot be checked; no file was transferred. The server offered the \(key.typeName) key \(key.fingerprint). \
                After checking that fingerprint with the server's administrator, add this line to \(config.knownHostsPath): \(addLine)
                """)
        }
        guard let hosts = libssh2_knownhost_init(session) else {
            throw SSHError(code: LIBSSH2_ERROR_ALLOC, message: "libssh2 cannot check known hosts", connectionLost: false)
        }
        defer { libssh2_knownhost_free(hosts) }
        // Line by line: libssh2 1.10 gives up on the whole file at the first line it cannot
        // parse (a key type it does not know, a @cert-authority marker); those lines are
        // skipped here and the others still count.
        for line in text.split(separator: "\n") {
            let l = line.trimmingWhitespace()
            if l.isEmpty || l.hasPrefix("#") || l.hasPrefix("@") { continue }
            _ = libssh2_knownhost_readline(hosts, l, l.utf8.count, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
        }
        var found: UnsafeMutablePointer<libssh2_knownhost>? = nil
        let typeMask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | key.knownHostKeyBit
        let result = key.blob.withUnsafeBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { p in
                libssh2_knownhost_checkp(hosts, config.host, Int32(config.port), p, b.count, typeMask, &found)
            }
        }
        switch result {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            throw HostKeyRejected(reason: .changed, message: """
                the host key of \(name) has CHANGED: the server offered the \(key.typeName) key \(key.fingerprint), \
                which differs from the one recorded in \(config.knownHostsPath). This can mean that someone is \
                intercepting the connection, or that the server was reinstalled. No file was transferred. \
                If the server's administrator confirms the new fingerprint, replace the line for \(name) in \
                \(config.knownHostsPath) with: \(addLine)
                """)
        default:
            throw HostKeyRejected(reason: .unknown, message: """
                the host key of \(name) is not in \(config.knownHostsPath): the server offered the \(key.typeName) key \
                \(key.fingerprint). No file was transferred. After checking that fingerprint with the server's \
                administrator (for instance with `ssh-keygen -lf` on the server's host key), add this line to \
                \(config.knownHostsPath): \(addLine)
                """)
        }
    }
}
