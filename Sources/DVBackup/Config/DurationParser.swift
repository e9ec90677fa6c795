/// Durations as administrators write them: `24h`, `90m`, `2d`, `1h30m`, `45s`, `1w`, `0`.
public enum DurationParser {
    /// Seconds, or `nil` when the text is not a duration.
    public static func seconds(_ text: String) -> Int64? {
        let s = text.trimmingWhitespace().lowercased()
        if s == "0" { return 0 }
        guard !s.isEmpty else { return nil }
        var total: Int64 = 0
        var number = ""
        var sawUnit = false
        var index = s.startIndex
        while index < s.endIndex {
            let c = s[index]
            if c.isASCII, c.isNumber {
                number.append(c)
                index = s.index(after: index)
                continue
            }
            if c == " " { index = s.index(after: index); continue }
            // Read a unit word.
            var unit = ""
            while index < s.endIndex, s[index].isLetter {
                unit.append(s[index])
                index = s.index(after: index)
            }
            guard let n = Int64(number), let factor = unitSeconds(unit) else { return nil }
            let (product, o1) = n.multipliedReportingOverflow(by: factor)
            let (sum, o2) = total.addingReportingOverflow(product)
            if o1 || o2 { return nil }
            total = sum
            number = ""
            sawUnit = true
        }
        guard number.isEmpty, sawUnit else { return nil }
        return total
    }

    private static func unitSeconds(_ unit: String) -> Int64? {
        switch unit {
        case "s", "sec", "secs", "second", "seconds": 1
        case "m", "min", "mins", "minute", "minutes": 60
        case "h", "hr", "hrs", "hour", "hours": 3600
        case "d", "day", "days": 86_400
        case "w", "week", "weeks": 604_800
        default: nil
        }
    }

    /// `86400` → `1d`, `5400` → `1h30m`, `0` → `0`.
    public static func format(_ seconds: Int64) -> String {
        if seconds == 0 { return "0" }
        var rest = seconds
        var out = ""
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }
}
