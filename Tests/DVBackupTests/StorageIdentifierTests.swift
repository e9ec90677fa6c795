import Testing
@testable import DVBackup

@Suite struct StorageIdentifierTests {
    @Test func fileIdentifier() {
        let s = StorageIdentifier(parsing: "file://18b39722140-50eb7d3c5ece")
        #expect(s.storeId == "file")
        #expect(s.rest == "18b39722140-50eb7d3c5ece")
        #expect(s.objectName(lastColonSegment: false) == "18b39722140-50eb7d3c5ece")
        #expect(s.objectName(lastColonSegment: true) == "18b39722140-50eb7d3c5ece")
    }

    @Test func s3Identifier() {
        let s = StorageIdentifier(parsing: "s3://dv-bucket:18b39722140-50eb7d3c5ece")
        #expect(s.storeId == "s3")
        #expect(s.rest == "dv-bucket:18b39722140-50eb7d3c5ece")
        #expect(s.objectName(lastColonSegment: true) == "18b39722140-50eb7d3c5ece")
        #expect(s.objectName(lastColonSegment: false) == "dv-bucket:18b39722140-50eb7d3c5ece")
    }

    @Test func bareLegacyName() {
        let s = StorageIdentifier(parsing: "14a4ac1b6a2-63b0d4d4bbb8")
        #expect(s.storeId == nil)
        #expect(s.rest == "14a4ac1b6a2-63b0d4d4bbb8")
        #expect(s.objectName(lastColonSegment: true) == "14a4ac1b6a2-63b0d4d4bbb8")
    }

    @Test func otherStoreId() {
        let s = StorageIdentifier(parsing: "file2://x")
        #expect(s.storeId == "file2")
        #expect(s.rest == "x")
    }

    @Test func absolutePathAfterTheScheme() {
        let s = StorageIdentifier(parsing: "file:///etc/passwd")
        #expect(s.storeId == "file")
        #expect(s.rest == "/etc/passwd")
    }
}

@Suite struct PathSafetyTests {
    @Test(arguments: ["FK2/ABCDEF", "10.5072", "a", "18b39722140-50eb7d3c5ece", "a/b/c", ".hidden", "a..b"])
    func accepted(path: String) {
        #expect(PathSafety.problem(in: path, what: "x") == nil)
    }

    @Test(arguments: [
        ("/etc/passwd", "absolute"), ("", "empty"), ("..", ".."), ("FK2/../..", ".."), ("../x", ".."),
        (".", "'.'"), ("a/./b", "'.'"), ("a//b", "empty"), ("a/", "empty"), ("a\0b", "NUL"),
    ])
    func refused(path: String, word: String) throws {
        let p = try #require(PathSafety.problem(in: path, what: "dataset identifier"))
        #expect(p.contains("dataset identifier"))
        #expect(p.contains(word), "\(p)")
    }

    @Test func datasetRelativePathJoinsSafeParts() throws {
        let r = try PathSafety.datasetRelativePath(authority: "10.5072", identifier: "FK2/ABCDEF", name: "18b-50e").get()
        #expect(r == "10.5072/FK2/ABCDEF/18b-50e")
    }

    @Test(arguments: [
        ("10.5072", "FK2/../../etc", "n", "dataset identifier"),
        ("/abs", "FK2/ABCDEF", "n", "dataset authority"),
        ("10.5072", "FK2/ABCDEF", "/etc/passwd", "storage name"),
        ("10.5072", "FK2/ABCDEF", "", "storage name"),
        ("", "FK2/ABCDEF", "n", "dataset authority"),
    ])
    func datasetRelativePathFailsRead(authority: String, identifier: String, name: String, what: String) {
        switch PathSafety.datasetRelativePath(authority: authority, identifier: identifier, name: name) {
        case .success(let p):
            Issue.record("accepted \(p)")
        case .failure(let f):
            #expect(f.status == .failRead)
            #expect(f.reason.contains(what), "\(f.reason)")
        }
    }
}
