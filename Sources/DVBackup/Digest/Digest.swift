import Foundation
internal import CLibCrypto

/// A checksum algorithm as the Dataverse catalog names it (`datafile.checksumtype`).
///
/// Dataverse stores the enum names `MD5`, `SHA1`, `SHA256` and `SHA512`; the hyphenated
/// spellings (`SHA-1`, …) are display text and are accepted too.
public enum ChecksumAlgorithm: String, Sendable, CaseIterable, Codable {
    case md5 = "MD5"
    case sha1 = "SHA1"
    case sha256 = "SHA256"
    case sha512 = "SHA512"

    /// Parses a catalog `checksumtype` value; `nil` for anything else.
    public init?(catalogName: String) {
        let normalized = catalogName.uppercased().replacingOccurrences(of: "-", with: "")
        self.init(rawValue: normalized)
    }

    /// The name OpenSSL's `EVP_MD_fetch` knows the algorithm by.
    var openSSLName: String {
        switch self {
        case .md5: "MD5"
        case .sha1: "SHA1"
        case .sha256: "SHA256"
        case .sha512: "SHA512"
        }
    }

    /// Length of the digest in hex characters.
    public var hexLength: Int {
        switch self {
        case .md5: 32
        case .sha1: 40
        case .sha256: 64
        case .sha512: 128
        }
    }

    /// The coreutils command that prints this digest (`md5sum`, …).
    public var coreutilsCommand: String {
        switch self {
        case .md5: "md5sum"
        case .sha1: "sha1sum"
        case .sha256: "sha256sum"
        case .sha512: "sha512sum"
        }
    }
}

/// A fetched `EVP_MD`. OpenSSL documents fetched method objects as immutable and safe to
/// share between threads once fetched, hence `@unchecked Sendable`.
struct MessageDigestMethod: @unchecked Sendable {
    let pointer: OpaquePointer

    static let md5 = MessageDigestMethod(fetching: "MD5")
    static let sha1 = MessageDigestMethod(fetching: "SHA1")
    static let sha256 = MessageDigestMethod(fetching: "SHA256")
    static let sha512 = MessageDigestMethod(fetching: "SHA512")

    private init(fetching name: String) {
        guard let md = EVP_MD_fetch(nil, name, nil) else {
            fatalError("OpenSSL cannot provide \(name): \(OpenSSLError.lastMessage())")
        }
        pointer = md
    }

    static func method(for algorithm: ChecksumAlgorithm) -> MessageDigestMethod {
        switch algorithm {
        case .md5: .md5
        case .sha1: .sha1
        case .sha256: .sha256
        case .sha512: .sha512
        }
    }
}

enum OpenSSLError {
    /// The text of the newest error on OpenSSL's thread-local queue, which it then clears.
    static func lastMessage() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown OpenSSL error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// An incremental message digest over libcrypto's EVP interface.
///
/// Owns its `EVP_MD_CTX` and frees it in `deinit`. Not `Sendable`: one thread feeds it.
/// The corresponding C functions are `EVP_DigestInit_ex`, `EVP_DigestUpdate` and
/// `EVP_DigestFinal_ex`.
public final class Digest {
    public let algorithm: ChecksumAlgorithm
    private let context: OpaquePointer
    private var finished = false

    public init(_ algorithm: ChecksumAlgorithm) {
        self.algorithm = algorithm
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        context = ctx
        guard EVP_DigestInit_ex(ctx, MessageDigestMethod.method(for: algorithm).pointer, nil) == 1 else {
            fatalError("EVP_DigestInit_ex(\(algorithm.rawValue)) failed: \(OpenSSLError.lastMessage())")
        }
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Feeds bytes into the digest.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        precondition(!finished, "Digest.update after finalize")
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // EVP_DigestUpdate fails only on programming errors (wrong state).
        let rc = EVP_DigestUpdate(context, base, bytes.count)
        precondition(rc == 1, "EVP_DigestUpdate failed")
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes the digest and returns it as lowercase hex, the form Dataverse stores.
    public func finalizeHex() -> String {
        precondition(!finished, "Digest.finalize called twice")
        finished = true
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let rc = EVP_DigestFinal_ex(context, &out, &length)
        precondition(rc == 1, "EVP_DigestFinal_ex failed")
        return Hex.encode(out.prefix(Int(length)))
    }

    /// The digest of a whole buffer, in hex.
    public static func hex(_ algorithm: ChecksumAlgorithm, of bytes: [UInt8]) -> String {
        let d = Digest(algorithm)
        d.update(bytes)
        return d.finalizeHex()
    }

    /// The linked OpenSSL's version text.
    public static var libraryVersion: String { String(cString: OpenSSL_version(OPENSSL_VERSION)) }
}

enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var chars: [UInt8] = []
        chars.reserveCapacity(128)
        for b in bytes {
            chars.append(digits[Int(b >> 4)])
            chars.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: chars, as: UTF8.self)
    }
}
