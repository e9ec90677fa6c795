internal import CCurl
internal import CLibCrypto
internal import CLibPQ
internal import CLibSSH2

/// The versions of the C libraries dvbackup runs with, as each reports itself at run time
/// (for `dvbackup --version`). libpq, libcurl and OpenSSL are shared libraries, so these are
/// the ones the system loaded; libssh2 is linked statically (Package.swift, CSSHCipher), so
/// its version is the one built in: a libssh2 security update needs a rebuild.
public enum LibraryVersions {
    /// `15.4` from `PQlibVersion()` (major × 10000 + minor since PostgreSQL 10).
    public static var libpq: String {
        let v = Int(PQlibVersion())
        return v >= 100_000 ? "\(v / 10_000).\(v % 10_000)" : "\(v / 10_000).\(v / 100 % 100).\(v % 100)"
    }

    /// `8.14.1` from `curl_version_info()`, with the TLS library libcurl uses.
    public static var libcurl: String {
        // CURLVERSION_FIRST: the `version` and `ssl_version` fields are in every age of the struct.
        guard let info = curl_version_info(CURLVERSION_FIRST) else { return "unknown" }
        let version = info.pointee.version.map { String(cString: $0) } ?? "unknown"
        let tls = info.pointee.ssl_version.map { " (" + String(cString: $0) + ")" } ?? ""
        return version + tls
    }

    /// `OpenSSL 3.0.17 1 Jul 2025` from `OpenSSL_version(OPENSSL_VERSION)`.
    public static var openssl: String {
        OpenSSL_version(Int32(OPENSSL_VERSION)).map { String(cString: $0) } ?? "unknown"
    }

    /// `1.10.0` from `libssh2_version(0)`: the statically linked copy.
    public static var libssh2: String {
        libssh2_version(0).map { String(cString: $0) } ?? "unknown"
    }

    /// The lines `dvbackup --version` prints after its own version.
    public static var lines: [String] {
        ["libpq \(libpq)", "libcurl \(libcurl)", "OpenSSL: \(openssl)",
         "libssh2 \(libssh2) (linked statically: rebuild dvbackup after a libssh2 security update)"]
    }
}
