import DVBackup
import Testing

@Suite struct RestoreNamingTests {
    @Test func labelsAreMadeSafeAndUnique() {
        var paths = LabelPaths()
        let dir = "10.5072/FK2/ABC"
        #expect(paths.unique(datasetDirectory: dir, label: "data.csv", directoryLabel: nil) == "data.csv")
        #expect(paths.unique(datasetDirectory: dir, label: "data.csv", directoryLabel: nil) == "data (2).csv")
        #expect(paths.unique(datasetDirectory: dir, label: "DATA.csv", directoryLabel: nil) == "DATA (3).csv",
                "names that differ only in case collide on case-insensitive file systems")
        #expect(paths.unique(datasetDirectory: "other", label: "data.csv", directoryLabel: nil) == "data.csv")
        #expect(paths.unique(datasetDirectory: dir, label: "README", directoryLabel: nil) == "README")
        #expect(paths.unique(datasetDirectory: dir, label: "README", directoryLabel: nil) == "README (2)")
        #expect(LabelPaths.safePath(label: "../../etc/passwd", directoryLabel: "/../a/./b/") == "a/b/.._.._etc_passwd")
        #expect(LabelPaths.safePath(label: "..", directoryLabel: nil) == "_")
        #expect(LabelPaths.safePath(label: "a\u{0}b\\c", directoryLabel: nil) == "a_b_c")
        #expect(LabelPaths.safePath(label: String(repeating: "é", count: 200), directoryLabel: nil).utf8.count <= 255)
        #expect(PathSafety.problem(in: LabelPaths.safePath(label: "/abs", directoryLabel: "//x//"), what: "p") == nil)
    }

    @Test func manifestCellsAreEscapedAndFormulasDefused() {
        #expect(RestoreManifest.cell("plain") == "plain")
        #expect(RestoreManifest.cell("a,b") == "\"a,b\"")
        #expect(RestoreManifest.cell("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(RestoreManifest.cell("=1+2") == "'=1+2")
        #expect(RestoreManifest.cell("+x") == "'+x")
        #expect(RestoreManifest.cell("-x") == "'-x")
        #expect(RestoreManifest.cell("@x") == "'@x")
        #expect(RestoreManifest.line(["1", "a\nb"]) == "1,\"a\nb\"\r\n")
    }

    @Test func leftoverNamesAreRecognisedAndCopiesAreNot() {
        #expect(LeftoverNames.why(".18b39722140-50eb7d3c5ece.dvbackup-partial") != nil)
        #expect(LeftoverNames.why(".dvbackup-1234.partial") != nil)
        #expect(LeftoverNames.why(".dvbackup-probe-4242") != nil)
        #expect(LeftoverNames.why("18b39722140-50eb7d3c5ece") == nil)
        #expect(LeftoverNames.why("report.dvbackup-partial") == nil, "not hidden: not a temporary of ours")
        #expect(LeftoverNames.why(".dvbackup-partial") == nil)
    }

    @Test func datasetPIDsAreParsed() {
        #expect(DatasetPID(parsing: "doi:10.5072/FK2/ABC") == DatasetPID(parsing: "https://doi.org/10.5072/FK2/ABC"))
        let p = DatasetPID(parsing: "doi:10.5072/FK2/ABC")
        #expect(p?.protocol_ == "doi" && p?.authority == "10.5072" && p?.identifier == "FK2/ABC")
        let bare = DatasetPID(parsing: "1902.1/10001")
        #expect(bare?.protocol_ == nil && bare?.authority == "1902.1" && bare?.identifier == "10001")
        #expect(DatasetPID(parsing: "nonsense") == nil)
        #expect(DatasetPID(parsing: "doi:10.5072/") == nil)
    }
}
