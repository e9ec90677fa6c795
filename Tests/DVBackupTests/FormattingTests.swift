import Testing
@testable import DVBackup

@Suite struct FormattingTests {
    @Test(arguments: [
        (Int64(0), "0 B"), (999, "999 B"), (1_000, "1.0 kB"), (1_499, "1.5 kB"), (1_500_000, "1.5 MB"),
        (3_100_000, "3.1 MB"), (2_000_000_000, "2.0 GB"), (1_234_567_890_123, "1.2 TB"),
        (5_000_000_000_000_000, "5.0 PB"), (50_000_000_000_000_000, "50.0 PB"),
    ])
    func bytes(value: Int64, text: String) {
        #expect(formatBytes(value) == text)
    }

    @Test(arguments: [Int64(999_950), 999_999, 999_950_000])
    func bytesJustBelowTheNextUnit(value: Int64) {
        // 999,999 bytes is 1.0 MB as `df -H` would show it, not "1000.0 kB".
        #expect(!formatBytes(value).hasPrefix("1000.0"), "\(formatBytes(value))")
    }

    @Test(arguments: [
        (Int64(0), "0"), (7, "7"), (999, "999"), (1_000, "1,000"), (12_345, "12,345"), (1_234_567, "1,234,567"),
        (-1_234_567, "-1,234,567"), (-12, "-12"), (Int64.max, "9,223,372,036,854,775,807"),
        (Int64.min, "-9,223,372,036,854,775,808"),
    ])
    func count(value: Int64, text: String) {
        #expect(formatCount(value) == text)
    }

    @Test func countOfOtherIntegerTypes() {
        #expect(formatCount(1_000_000 as Int) == "1,000,000")
        #expect(formatCount(UInt8(255)) == "255")
    }

    @Test(arguments: [
        (0.0, 1, "0.0"), (1.25, 1, "1.3"), (1.24, 1, "1.2"), (12.0, 2, "12.00"), (0.07, 2, "0.07"),
        (3.14159, 3, "3.142"), (2.5, 0, "3"), (-1.5, 1, "-1.5"), (-0.04, 1, "0.0"), (9.96, 1, "10.0"),
        (1234.5678, 2, "1234.57"), (Double.nan, 1, "0"), (Double.infinity, 2, "0"),
    ])
    func decimal(value: Double, places: Int, text: String) {
        #expect(formatDecimal(value, places: places) == text)
    }
}

@Suite struct BackupStatusTests {
    @Test func severityOrder() {
        #expect(BackupStatus.allCases.sorted() == [.failSourceChecksum, .failAuditCorrupt, .failAuditMissing, .failVerify,
                                                   .failWrite, .failRead, .okNoChecksum, .ok])
        #expect(BackupStatus.failSourceChecksum < .failRead)
        #expect(!(BackupStatus.ok < .failRead))
    }

    @Test func failuresMostSeriousFirst() {
        #expect(BackupStatus.failures == [.failSourceChecksum, .failAuditCorrupt, .failAuditMissing, .failVerify, .failWrite, .failRead])
    }

    @Test func rawValuesAreTheOriginalColumnValues() {
        #expect(BackupStatus.allCases.map(\.rawValue).sorted()
                == ["FAIL_AUDIT_CORRUPT", "FAIL_AUDIT_MISSING", "FAIL_READ", "FAIL_SOURCE_CHECKSUM", "FAIL_VERIFY", "FAIL_WRITE",
                    "OK", "OK_NO_CHECKSUM"])
        #expect(BackupStatus.ok.isOK && BackupStatus.okNoChecksum.isOK)
        #expect(BackupStatus.failures.allSatisfy { !$0.isOK })
    }

    @Test func runCountsAddUpFailures() {
        var c = RunCounts()
        c[.ok] = 5
        c[.okNoChecksum] = 2
        c[.failRead] = 3
        c[.failSourceChecksum] = 1
        #expect(c.failed == 4)
        #expect(c.succeeded == 7)
        #expect(c[.failVerify] == 0)
    }

    @Test func fileFailureDescription() {
        let f = FileFailure(.failWrite, "disk full")
        #expect(f.description == "FAIL_WRITE: disk full")
    }
}
