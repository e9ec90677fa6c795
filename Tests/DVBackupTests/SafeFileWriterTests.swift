@testable import DVBackup
import Foundation
import Testing

/// The restore's writer: nothing under a final name unless committed, and files committed
/// together (`commitAll`) each with the same guarantee as one committed alone.
struct SafeFileWriterTests {
    private func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "dvbackup-sfw-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    private func write(_ base: String, _ relative: String, _ bytes: [UInt8]) throws -> SafeFileWriter {
        let w = try SafeFileWriter(base: base, relative: relative)
        var failure: ReadFailure?
        bytes.withUnsafeBytes { raw in
            do throws(ReadFailure) { try w.write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
        return w
    }

    private func files(_ base: String) -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: base)) ?? []).sorted()
    }

    @Test func filesCommittedTogetherAppearWhileOneThatCannotBeRenamedLeavesNothing() throws {
        let base = try scratch()
        defer { try? FileManager.default.removeItem(atPath: base) }
        // The third file's final name is taken by a directory that is not empty: its rename fails.
        try FileManager.default.createDirectory(atPath: base + "/a/B/c", withIntermediateDirectories: true)
        let writers = [
            try write(base, "a/A/one", [1, 2, 3]),
            try write(base, "a/B/two", [4, 5]),
            try write(base, "a/B/c", [6]),
            try write(base, "a/A/four", []),
        ]
        #expect(!FileManager.default.fileExists(atPath: base + "/a/A/one"), "nothing under a final name before the commit")
        let failures = SafeFileWriter.commitAll(writers)
        #expect(failures[0] == nil && failures[1] == nil && failures[3] == nil)
        #expect(failures[2]?.description.hasPrefix("cannot rename \(base)/a/B/.c.dvbackup-restore-") == true, "\(String(describing: failures[2]))")
        #expect(FileManager.default.contents(atPath: base + "/a/A/one") == Data([1, 2, 3]))
        #expect(FileManager.default.contents(atPath: base + "/a/B/two") == Data([4, 5]))
        #expect(FileManager.default.contents(atPath: base + "/a/A/four") == Data())
        #expect(files(base) == ["a", "a/A", "a/A/four", "a/A/one", "a/B", "a/B/c", "a/B/two"], "no temporary is left")
        for w in writers { w.abort() }  // after a commit, abort touches nothing
        #expect(files(base) == ["a", "a/A", "a/A/four", "a/A/one", "a/B", "a/B/c", "a/B/two"])
    }

    @Test func anAbortedFileLeavesNothing() throws {
        let base = try scratch()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let w = try write(base, "x/y", [9, 9])
        #expect(files(base).count == 2, "the directory and the temporary")
        w.abort()
        #expect(files(base) == ["x"])
    }
}
