@testable import DVBackup
import Testing

/// The SFTP audit's batch script and the parsing of its answer (the server side is tested in
/// AuditRemoteTests): no command per copy where the server has python3 (which drops the
/// cached pages of the batch), one `stat` and one checksum command per algorithm.
struct AuditScriptTests {
    @Test func oneStatAndOneChecksumCommandPerAlgorithmForTheBatch() {
        let paths = (0..<400).map { "/backup/10.5072/FK2/A/file \($0)" }
        let script = SFTPProver.script(paths, paths.indices.map { $0 % 2 == 0 ? .md5 : .sha256 })
        #expect(script.components(separatedBy: "stat -c").count == 2)
        #expect(script.components(separatedBy: "md5sum --").count == 2)
        #expect(script.components(separatedBy: "sha256sum --").count == 2)
        #expect(!script.contains("wc -c"), "no command per copy for its size")
        #expect(script.components(separatedBy: "python3 -c").count == 2, "one process drops the cached pages of the batch")
        #expect(script.components(separatedBy: "dvbackup_drop '/backup").count == 2, "called once, over the batch")
        #expect(script.contains("'/backup/10.5072/FK2/A/file 7'"), "paths are quoted")
    }

    @Test func statesAndSizesAreMatchedByIndexAndPath() {
        let paths = ["/b/x y", "/b/gone", "/b/dir", "/b/z"]
        let out = """
            dvbackup-audit 0 ok
            dvbackup-audit 1 missing
            dvbackup-audit 2 notfile
            dvbackup-audit 3 ok
            dvbackup-audit-size 4096 /b/x y
            dvbackup-audit-size 100 /b/z
            dvbackup-audit-size 4096 /b/dir
            0123456789abcdef0123456789abcdef  /b/x y
            """
        let states = SFTPProver.parseStates(out, paths)
        #expect(states[0]?.state == "ok" && states[0]?.size == 4096)
        #expect(states[1]?.state == "missing" && states[1]?.size == nil)
        #expect(states[2]?.state == "notfile")
        #expect(states[3]?.state == "ok" && states[3]?.size == 100)
        #expect(states.count == 4)
    }
}
