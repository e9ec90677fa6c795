/// Parses the output of `md5sum -- a b …` (and sha1sum, sha256sum, sha512sum): one line per
/// file, `<hex>  <name>`, or `\<hex>  <escaped name>` when the name holds a backslash or a
/// line end.
enum RemoteChecksumOutput {
    static func parse(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            var l = Substring(line)
            let escaped = l.hasPrefix("\\")
            if escaped { l = l.dropFirst() }
            guard let space = l.firstIndex(of: " ") else { continue }
            let hex = l[..<space].lowercased()
            guard [32, 40, 64, 128].contains(hex.count), hex.allSatisfy(\.isHexDigit) else { continue }
            var name = l[l.index(after: space)...]
            // "<hex>  name" (text mode) or "<hex> *name" (binary mode).
            if name.hasPrefix(" ") || name.hasPrefix("*") { name = name.dropFirst() }
            result[escaped ? unescape(String(name)) : String(name)] = hex
        }
        return result
    }

    static func unescape(_ s: String) -> String {
        var out = ""
        var it = s.makeIterator()
        while let c = it.next() {
            if c == "\\", let n = it.next() {
                out.append(n == "n" ? "\n" : n == "r" ? "\r" : n)
            } else {
                out.append(c)
            }
        }
        return out
    }
}
