import Testing
@testable import DVBackup

@Suite struct DurationParserTests {
    @Test(arguments: [
        ("24h", Int64(86_400)), ("90m", 5_400), ("2d", 172_800), ("1h30m", 5_400), ("45s", 45),
        ("1w", 604_800), ("0", 0), (" 24H ", 86_400), ("1h 30m", 5_400), ("2 days", 172_800),
        ("1d12h", 129_600), ("0h", 0),
    ])
    func valid(text: String, seconds: Int64) {
        #expect(DurationParser.seconds(text) == seconds)
    }

    @Test(arguments: ["24", "h", "24x", "-1h", "", "   ", "1h30", "1.5h", "h24", "99999999999999999999w"])
    func invalid(text: String) {
        #expect(DurationParser.seconds(text) == nil)
    }

    @Test(arguments: [Int64(0), 1, 45, 60, 90, 3_600, 5_400, 86_400, 86_401, 172_800, 604_800, 1_000_000])
    func formatRoundTrips(seconds: Int64) throws {
        let text = DurationParser.format(seconds)
        #expect(!text.isEmpty)
        #expect(DurationParser.seconds(text) == seconds, "format(\(seconds)) = \(text)")
    }

    @Test func formatUsesTheLargestUnitsFirst() {
        #expect(DurationParser.format(0) == "0")
        #expect(DurationParser.format(45) == "45s")
        #expect(DurationParser.format(5_400) == "1h30m")
        #expect(DurationParser.format(90_061) == "1d1h1m1s")
    }
}
