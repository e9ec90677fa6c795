import Foundation

extension StringProtocol {
    /// The string without leading and trailing spaces, tabs and line ends.
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\n" || c == "\r" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" || c == "\r" { s.removeLast() }
        return String(s)
    }
}

/// Formats a byte count as `3.1 MB` (decimal units, as `df -H` and rates use).
public func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"]
    var value = Double(bytes)
    var unit = 0
    // Choose the unit after rounding to one decimal: 999,950 B is 1.0 MB, not 1000.0 kB.
    while value >= 999.95, unit < units.count - 1 {
        value /= 1000
        unit += 1
    }
    if unit == 0 { return "\(bytes) B" }
    return formatDecimal(value, places: 1) + " " + units[unit]
}

/// `1234567` → `1,234,567`.
public func formatCount<I: BinaryInteger>(_ n: I) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return n < 0 ? "-" + out : out
}

/// A fixed-point rendering without Foundation's locale-dependent formatters.
public func formatDecimal(_ value: Double, places: Int) -> String {
    guard value.isFinite else { return "0" }
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int64(scaled / scale)
    let frac = Int64(scaled) - whole * Int64(scale)
    let sign = value < 0 && scaled != 0 ? "-" : ""
    if places == 0 { return sign + String(whole) }
    var f = String(frac)
    while f.count < places { f = "0" + f }
    return sign + String(whole) + "." + f
}

/// Whether `host` names this machine: `localhost`, `ip6-localhost`, `127.x.y.z` or `::1`
/// (also in brackets, as URLs write it).
func isLoopbackHost(_ host: String) -> Bool {
    let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    return h == "localhost" || h == "ip6-localhost" || h == "::1" || h.hasPrefix("127.")
}
