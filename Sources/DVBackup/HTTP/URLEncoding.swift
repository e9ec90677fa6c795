/// Percent-encoding of URL parts (RFC 3986), over the UTF-8 bytes of the text.
public enum URLEncoding {
    private static let hex = Array("0123456789ABCDEF".utf8)

    /// Unreserved characters, never encoded.
    static func isUnreserved(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
            || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
    }

    /// A path made of segments: every byte but the unreserved ones and `/` is encoded, so a
    /// name with spaces, `?`, `#`, `%`, `+`, `;` or non-ASCII letters reaches the server as
    /// it is, and its slashes stay path separators.
    public static func path(_ text: String) -> String {
        encode(text) { isUnreserved($0) || $0 == 0x2F }
    }

    /// A query parameter's name or value: everything but the unreserved characters is
    /// encoded (`/` becomes `%2F`).
    public static func queryComponent(_ text: String) -> String {
        encode(text, keep: isUnreserved)
    }

    static func encode(_ text: String, keep: (UInt8) -> Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for b in text.utf8 {
            if keep(b) {
                out.append(b)
            } else {
                out.append(0x25)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
