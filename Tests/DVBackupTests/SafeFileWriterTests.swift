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

    /// Whether the file system under `dir` takes O_DIRECT (tmpfs does not).
    private func takesDirect(_ dir: String) -> Bool {
        let fd = open(dir + "/.probe", O_WRONLY | O_CREAT | SafeFileWriter.oDirect, 0o644)
        defer { if fd >= 0 { close(fd) }; unlink(dir + "/.probe") }
        return fd >= 0 && SafeFileWriter.oDirect != 0
    }

    /// A large file goes past the page cache while its chunks are aligned blocks, then the
    /// rest through it; the bytes are the same either way.
    @Test func alignedChunksAreWrittenDirectAndTheTailThroughThePageCache() throws {
        let base = try scratch()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let block = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: block, alignment: SafeFileWriter.directAlignment)
        defer { buffer.deallocate() }
        var expected: [UInt8] = []
        let w = try SafeFileWriter(base: base, relative: "d/big", direct: true)
        let direct = takesDirect(base + "/d")
        #expect(w.direct == direct)
        for round in 0..<3 {
            for i in 0..<block { buffer[i] = UInt8(truncatingIfNeeded: i &* 7 &+ round) }
            try w.write(UnsafeRawBufferPointer(buffer))
            expected += buffer
            #expect(w.direct == direct, "aligned chunks stay direct")
        }
        try w.write(UnsafeRawBufferPointer(rebasing: buffer[0..<1000]))
        expected += buffer[0..<1000]
        #expect(!w.direct, "an unaligned chunk goes through the page cache")
        try w.write(UnsafeRawBufferPointer(buffer))
        expected += buffer
        try w.commit()
        #expect(FileManager.default.contents(atPath: base + "/d/big") == Data(expected))

        // A chunk at an address that is not aligned leaves direct writing at once.
        let v = try SafeFileWriter(base: base, relative: "d/odd", direct: true)
        try v.write(UnsafeRawBufferPointer(rebasing: buffer[1..<(1 + 8192)]))
        #expect(!v.direct)
        try v.commit()
        #expect(FileManager.default.contents(atPath: base + "/d/odd") == Data(buffer[1..<(1 + 8192)]))
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
