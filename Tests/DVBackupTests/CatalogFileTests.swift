import Testing
@testable import DVBackup

@Suite struct CatalogFileTests {
    @Test(arguments: [
        ("MD5", ""),
        ("MD5", "Unknown"),
        ("MD5", "unknown"),
        ("MD5", "UNKNOWN"),
        ("MD5", "   "),
    ] as [(String, String)])
    func unusableChecksumValue(type: String, value: String) {
        #expect(CatalogFile.sample(checksumType: type, checksumValue: value).catalogChecksum == nil)
    }

    @Test func nullValueOrTypeOrUnknownType() {
        #expect(CatalogFile.sample(checksumType: "MD5", checksumValue: nil).catalogChecksum == nil)
        #expect(CatalogFile.sample(checksumType: nil, checksumValue: "900150983cd24fb0d6963f7d28e17f72").catalogChecksum == nil)
        #expect(CatalogFile.sample(checksumType: "CRC32", checksumValue: "352441c2").catalogChecksum == nil)
        #expect(CatalogFile.sample(checksumType: "", checksumValue: "352441c2").catalogChecksum == nil)
    }

    @Test(arguments: [
        ("MD5", ChecksumAlgorithm.md5), ("SHA1", .sha1), ("SHA256", .sha256), ("SHA512", .sha512),
        ("SHA-1", .sha1), ("SHA-256", .sha256), ("SHA-512", .sha512), ("md5", .md5), ("sha-256", .sha256),
    ])
    func parsesAlgorithms(type: String, algorithm: ChecksumAlgorithm) throws {
        let value = String(String(repeating: "ABCdef0123", count: 13).prefix(algorithm.hexLength))
        let c = try #require(CatalogFile.sample(checksumType: type, checksumValue: value).catalogChecksum)
        #expect(c.algorithm == algorithm)
        #expect(c.hex == value.lowercased())
    }

    /// Issue 15: a checksum the catalog has but dvbackup cannot use is told apart from none.
    @Test func unusableChecksumsSayWhy() {
        #expect(CatalogFile.sample(checksumType: "MD5", checksumValue: "").catalogChecksumState.problem == nil)
        #expect(CatalogFile.sample(checksumType: "SHA3-256", checksumValue: String(repeating: "a", count: 64)).catalogChecksumState.problem
                == "catalog algorithm SHA3-256 is not supported")
        #expect(CatalogFile.sample(checksumType: "MD5", checksumValue: String(repeating: "a", count: 31)).catalogChecksumState.problem
                == "the catalog's MD5 value 'aaaaaaaaaaaaaaaa…' is malformed: 31 hex digits, 32 expected")
        #expect(CatalogFile.sample(checksumType: "SHA256", checksumValue: String(repeating: "0", count: 32)).catalogChecksum == nil)
        let notHex = CatalogFile.sample(checksumType: "SHA1", checksumValue: "g" + String(repeating: "0", count: 39))
        #expect(notHex.catalogChecksum == nil)
        #expect(notHex.catalogChecksumState.problem?.contains("is malformed: not hexadecimal") == true)
        // A control character in the value is not echoed.
        let odd = CatalogFile.sample(checksumType: "MD5", checksumValue: "ab\ncd")
        #expect(odd.catalogChecksumState.problem?.contains("\n") == false)
    }

    @Test func valueIsTrimmedAndLowercased() throws {
        let c = try #require(CatalogFile.sample(checksumType: "MD5", checksumValue: " 900150983CD24FB0D6963F7D28E17F72 ").catalogChecksum)
        #expect(c.hex == "900150983cd24fb0d6963f7d28e17f72")
    }

    @Test func expectedSourceSize() {
        // A plain file: the catalog's filesize.
        #expect(CatalogFile.sample(fileSize: 1234).expectedSourceSize == 1234)
        #expect(CatalogFile.sample(fileSize: nil).expectedSourceSize == nil)
        // A tabular file: the .orig size, only when the catalog knows it (> 0).
        #expect(CatalogFile.sample(fileSize: 1234, isTabular: true, originalFileSize: 999).expectedSourceSize == 999)
        #expect(CatalogFile.sample(fileSize: 1234, isTabular: true, originalFileSize: nil).expectedSourceSize == nil)
        #expect(CatalogFile.sample(fileSize: 1234, isTabular: true, originalFileSize: -1).expectedSourceSize == nil)
        #expect(CatalogFile.sample(fileSize: 1234, isTabular: true, originalFileSize: 0).expectedSourceSize == nil)
        // originalFileSize is ignored for a file that is not tabular.
        #expect(CatalogFile.sample(fileSize: 1234, isTabular: false, originalFileSize: 999).expectedSourceSize == 1234)
    }

    @Test(arguments: [("A", false), ("B", true), ("C", true), ("D", false), ("", false)] as [(String, Bool)])
    func ingestInProgress(status: String, inProgress: Bool) {
        #expect(CatalogFile.sample(ingestStatus: status).ingestInProgress == inProgress)
    }

    @Test func ingestStatusNull() {
        #expect(CatalogFile.sample(ingestStatus: nil).ingestInProgress == false)
    }

    @Test func datasetPIDAndIdentifierColumn() {
        let f = CatalogFile.sample(authority: "10.5072", identifier: "FK2/ABCDEF")
        #expect(f.datasetPID == "doi:10.5072/FK2/ABCDEF")
        #expect(f.datasetIdentifierColumn == "10.5072/FK2/ABCDEF")
        var h = CatalogFile.sample(authority: "1902.1", identifier: "10001")
        h.datasetProtocol = "hdl"
        #expect(h.datasetPID == "hdl:1902.1/10001")
        #expect(h.datasetIdentifierColumn == "1902.1/10001")
    }
}

@Suite struct RecordedStatusTests {
    private let file = CatalogFile.sample(checksumType: "MD5", checksumValue: "900150983cd24fb0d6963f7d28e17f72")

    @Test(arguments: ["OK", "OK_NO_CHECKSUM"])
    func okWithTheSameChecksumIsCurrent(status: String) {
        let r = RecordedStatus(status: status, checksumType: "MD5", checksumValue: "900150983cd24fb0d6963f7d28e17f72")
        #expect(r.isCurrentCopy(of: file))
    }

    @Test func sameChecksumInOtherCaseIsCurrent() {
        let r = RecordedStatus(status: "OK", checksumType: "md5", checksumValue: "900150983CD24FB0D6963F7D28E17F72")
        #expect(r.isCurrentCopy(of: file))
    }

    @Test func rowOfTheOriginalScriptWithoutChecksumIsCurrent() {
        let r = RecordedStatus(status: "OK", checksumType: nil, checksumValue: nil)
        #expect(r.isCurrentCopy(of: file))
    }

    @Test func changedChecksumIsNotCurrent() {
        let r = RecordedStatus(status: "OK", checksumType: "MD5", checksumValue: "d41d8cd98f00b204e9800998ecf8427e")
        #expect(!r.isCurrentCopy(of: file))
        let typeChanged = RecordedStatus(status: "OK", checksumType: "SHA1", checksumValue: "900150983cd24fb0d6963f7d28e17f72")
        #expect(!typeChanged.isCurrentCopy(of: file))
    }

    @Test func okNoChecksumWithAnEmptyCatalogChecksumIsCurrent() {
        let f = CatalogFile.sample(checksumType: "MD5", checksumValue: "")
        #expect(RecordedStatus(status: "OK_NO_CHECKSUM", checksumType: "MD5", checksumValue: "").isCurrentCopy(of: f))
        // The catalog got a checksum since: copy again and prove it.
        #expect(!RecordedStatus(status: "OK_NO_CHECKSUM", checksumType: "MD5", checksumValue: "").isCurrentCopy(of: file))
    }

    @Test(arguments: ["FAIL_SOURCE_CHECKSUM", "FAIL_VERIFY", "FAIL_WRITE", "FAIL_READ", "", "ok", "SOMETHING"])
    func anythingElseIsNotCurrent(status: String) {
        let r = RecordedStatus(status: status, checksumType: "MD5", checksumValue: "900150983cd24fb0d6963f7d28e17f72")
        #expect(!r.isCurrentCopy(of: file))
    }
}

@Suite struct WindowBoundTests {
    private let cursor = CatalogCursor(createdate: "2024-03-01 10:11:12.123456", id: 987)

    @Test func noOverlapKeepsTheCursorId() {
        let b = WindowBound(cursor: cursor, overlapSeconds: 0)
        #expect(b.createdate == "2024-03-01 10:11:12.123456")
        #expect(b.id == 987)
        #expect(b.parameters == ["2024-03-01 10:11:12.123456", "0", "987"])
    }

    @Test func overlapUsesIdZero() {
        let b = WindowBound(cursor: cursor, overlapSeconds: 86_400)
        #expect(b.id == 0)
        #expect(b.overlapSeconds == 86_400)
        #expect(b.parameters == ["2024-03-01 10:11:12.123456", "86400", "0"])
    }

    @Test func sqlText() {
        #expect(WindowBound.sql(timestamp: "$1", seconds: "$2", id: "$3")
                == "($1::timestamp - ($2 || ' seconds')::interval, $3::bigint)")
    }

    @Test func cursorDescription() {
        #expect(cursor.description == "(2024-03-01 10:11:12.123456, 987)")
    }
}
