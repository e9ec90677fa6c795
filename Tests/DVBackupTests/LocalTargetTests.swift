import Foundation
import Testing
@testable import DVBackup

@Suite struct LocalTargetTests {
    /// Runs `body` with a backup root and a session on it.
    private func withSession(_ body: (TempDirectory, LocalTarget, any TargetSession) throws -> Void) throws {
        try withTempDirectory { dir in
            let target = LocalTarget(root: dir.path)
            try body(dir, target, try target.makeSession())
        }
    }

    private func write(_ bytes: [UInt8], to upload: any TargetUpload) throws {
        try bytes.withUnsafeBytes { try upload.write($0) }
    }

    /// The FileFailure `body` throws, or nil.
    private func failure(_ body: () throws(FileFailure) -> Void) -> FileFailure? {
        do throws(FileFailure) {
            try body()
            return nil
        } catch {
            return error
        }
    }

    // MARK: checkUsable

    @Test func checkUsableAcceptsAWritableDirectoryAndLeavesNothing() throws {
        try withTempDirectory { dir in
            try LocalTarget(root: dir.path).checkUsable()
            #expect(dir.allFiles().isEmpty)
        }
    }

    @Test func checkUsableThrowsForAMissingDirectory() throws {
        try withTempDirectory { dir in
            let missing = dir.join("not-mounted")
            let e = try #require(throws: TargetUnavailable.self) { try LocalTarget(root: missing).checkUsable() }
            #expect(e.message.contains(missing), "\(e)")
            // It does not create it.
            #expect(!dir.exists("not-mounted"))
        }
    }

    @Test func checkUsableThrowsForAFile() throws {
        try withTempDirectory { dir in
            let file = try dir.write("plain-file", text: "x")
            let e = try #require(throws: TargetUnavailable.self) { try LocalTarget(root: file).checkUsable() }
            #expect(e.message.contains(file), "\(e)")
            #expect(e.message.contains("not a directory"), "\(e)")
        }
    }

    @Test func trailingSlashOfTheRootIsDropped() {
        #expect(LocalTarget(root: "/backup/").root == "/backup")
        #expect(LocalTarget(root: "/").root == "/")
        #expect(LocalTarget(root: "/backup").method == "local")
        #expect(LocalTarget(root: "/backup").displayName.contains("/backup"))
    }

    // MARK: uploads

    @Test func uploadIsInvisibleUntilPublished() throws {
        try withSession { dir, _, session in
            let data = sampleBytes(100_000)
            let upload = try session.beginUpload(relativePath: "10.5072/FK2/ABCDEF/18b-50e")
            #expect(upload.location == dir.join("10.5072/FK2/ABCDEF/18b-50e"))
            try write(data, to: upload)
            #expect(!dir.exists("10.5072/FK2/ABCDEF/18b-50e"))
            // The temporary name is hidden, in the same directory.
            #expect(dir.read("10.5072/FK2/ABCDEF/.18b-50e.dvbackup-partial") != nil)
            let proof = try upload.verify(algorithm: .sha256, expectedHex: Digest.hex(.sha256, of: data))
            #expect(proof.contains("SHA256"))
            #expect(!dir.exists("10.5072/FK2/ABCDEF/18b-50e"))
            try upload.publish()
            #expect(dir.read("10.5072/FK2/ABCDEF/18b-50e").map { Digest.hex(.sha256, of: $0) } == Digest.hex(.sha256, of: data))
            #expect(!dir.exists("10.5072/FK2/ABCDEF/.18b-50e.dvbackup-partial"))
            #expect(dir.allFiles() == ["10.5072/FK2/ABCDEF/18b-50e"])
        }
    }

    @Test func verifyWithAWrongDigestThrowsFailVerify() throws {
        try withSession { dir, _, session in
            let data = sampleBytes(5_000)
            let upload = try session.beginUpload(relativePath: "a/b/name")
            try write(data, to: upload)
            var wrong = data
            wrong[0] ^= 0x80
            let f = failure { () throws(FileFailure) in
                _ = try upload.verify(algorithm: .md5, expectedHex: Digest.hex(.md5, of: wrong))
            }
            #expect(f?.status == .failVerify)
            #expect(f?.reason.contains(Digest.hex(.md5, of: data)) == true)
            upload.abort()
            #expect(dir.allFiles().isEmpty)
        }
    }

    @Test func abortRemovesTheTemporaryFileAndKeepsTheOldCopy() throws {
        try withSession { dir, _, session in
            let old = Array("the good old copy".utf8)
            try dir.write("a/b/name", old)
            let upload = try session.beginUpload(relativePath: "a/b/name")
            try write(sampleBytes(1_000), to: upload)
            #expect(dir.exists("a/b/.name.dvbackup-partial"))
            upload.abort()
            #expect(!dir.exists("a/b/.name.dvbackup-partial"))
            #expect(dir.read("a/b/name").map { Digest.hex(.sha256, of: $0) } == Digest.hex(.sha256, of: old))
        }
    }

    @Test func abortBeforeAnyWriteAndAfterVerify() throws {
        try withSession { dir, _, session in
            let u1 = try session.beginUpload(relativePath: "x/one")
            u1.abort()
            let data = Array("two".utf8)
            let u2 = try session.beginUpload(relativePath: "x/two")
            try write(data, to: u2)
            _ = try u2.verify(algorithm: .sha1, expectedHex: Digest.hex(.sha1, of: data))
            u2.abort()
            #expect(dir.allFiles().isEmpty)
        }
    }

    @Test func publishReplacesAnExistingCopy() throws {
        try withSession { dir, _, session in
            try dir.write("a/b/name", Array("old old old old".utf8))
            let data = Array("new".utf8)
            let upload = try session.beginUpload(relativePath: "a/b/name")
            try write(data, to: upload)
            _ = try upload.verify(algorithm: .sha512, expectedHex: Digest.hex(.sha512, of: data))
            try upload.publish()
            #expect(dir.read("a/b/name").map { Digest.hex(.sha256, of: $0) } == Digest.hex(.sha256, of: data))
            #expect(dir.allFiles() == ["a/b/name"])
        }
    }

    @Test func emptyFileIsCopied() throws {
        try withSession { dir, _, session in
            let upload = try session.beginUpload(relativePath: "a/empty")
            _ = try upload.verify(algorithm: .md5, expectedHex: "d41d8cd98f00b204e9800998ecf8427e")
            try upload.publish()
            #expect(dir.read("a/empty") == [])
        }
    }

    @Test func regularFileWhereADirectoryShouldBeIsFailWrite() throws {
        try withSession { dir, _, session in
            try dir.write("10.5072/FK2", text: "I am a file")
            let f = failure { () throws(FileFailure) in
                _ = try session.beginUpload(relativePath: "10.5072/FK2/ABCDEF/name")
            }
            #expect(f?.status == .failWrite)
            #expect(f?.reason.contains(dir.join("10.5072/FK2")) == true, "\(f?.reason ?? "")")
            #expect(dir.read("10.5072/FK2") == Array("I am a file".utf8))
        }
    }

    @Test(arguments: ["/abs/path", "a/../../escape", "", "a//b", "./a"])
    func unsafeTargetPathIsFailWrite(path: String) throws {
        try withSession { dir, _, session in
            let f = failure { () throws(FileFailure) in
                _ = try session.beginUpload(relativePath: path)
            }
            #expect(f?.status == .failWrite)
            #expect(dir.allFiles().isEmpty)
        }
    }

    @Test func leftoverPartialFromACrashIsOverwrittenAndGone() throws {
        try withSession { dir, _, session in
            // A crash left a bigger partial file behind.
            try dir.write("a/b/.x.dvbackup-partial", sampleBytes(50_000, seed: 7))
            let data = sampleBytes(1_234)
            let upload = try session.beginUpload(relativePath: "a/b/x")
            try write(data, to: upload)
            _ = try upload.verify(algorithm: .sha256, expectedHex: Digest.hex(.sha256, of: data))
            try upload.publish()
            #expect(dir.read("a/b/x").map { Digest.hex(.sha256, of: $0) } == Digest.hex(.sha256, of: data))
            #expect(!dir.exists("a/b/.x.dvbackup-partial"))
        }
    }

    @Test func manyUploadsInOneSessionShareDirectories() throws {
        try withSession { dir, _, session in
            for i in 0..<5 {
                let data = sampleBytes(10 + i, seed: UInt64(i))
                let upload = try session.beginUpload(relativePath: "auth/ds\(i % 2)/f\(i)")
                try write(data, to: upload)
                _ = try upload.verify(algorithm: .md5, expectedHex: Digest.hex(.md5, of: data))
                try upload.publish()
                #expect(dir.read("auth/ds\(i % 2)/f\(i)").map { Digest.hex(.sha256, of: $0) } == Digest.hex(.sha256, of: data))
            }
            #expect(dir.allFiles().count == 5)
        }
    }
}
