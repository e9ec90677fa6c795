@testable import DVBackup
import Foundation
import Logging
import Testing

/// Storage names near the file system's limit (255 bytes on ext4): the temporary name a copy
/// is written under must fit whenever the final name does, a crashed run's temporaries are
/// removed when their file is copied again, and a name the server refuses as too long is
/// reported as such.
@Suite(.enabled(if: TestPostgres.enabled), .serialized)
struct LongNameTests {
    /// A storage name of `length` bytes, as Dataverse could make one.
    static func longName(_ length: Int) -> String {
        let head = "19abcdef012-"
        return head + String(repeating: "a", count: length - head.count)
    }

    @Test func aNameOf250BytesIsCopiedToALocalDirectory() throws {
        let s = try Sandbox(seed: 1541)
        let ds = try s.addDataset()
        let f = try s.addFile(dataset: ds, size: 5000, storageIdentifier: Self.longName(250))
        #expect(f.name.utf8.count == 250)
        let r = try s.dvbackup("run")
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(try s.statusRows()[f.id]?.status == "OK")
        #expect(s.backupBytes(f) == f.bytes)
        #expect(s.backupTree() == [f.relativePath], "no temporary left")
    }

    /// Temporaries a crash left behind, of the current form (`.<datafile id>.dvbackup-partial`)
    /// and of the form earlier versions used (`.<name>.dvbackup-partial`), are gone once
    /// their file is copied again; those of other files are not touched.
    @Test func aRerunRemovesTheTemporariesOfTheFilesItCopiesAgain() throws {
        let s = try Sandbox(seed: 1542)
        let ds = try s.addDataset()
        let a = try s.addFile(dataset: ds, size: 20_000)
        let b = try s.addFile(dataset: ds, size: 30_000)
        let dir = s.backupDir + "/" + (a.relativePath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for junk in [".\(a.id).dvbackup-partial", "." + a.name + ".dvbackup-partial", "." + b.name + ".dvbackup-partial"] {
            _ = FileManager.default.createFile(atPath: dir + "/" + junk, contents: Data(count: 7))
        }
        // Not a file of this catalog: left alone.
        _ = FileManager.default.createFile(atPath: dir + "/.99999999.dvbackup-partial", contents: Data(count: 3))
        let r = try s.dvbackup("run")
        #expect(r.code == 0, "\(r.stderr)")
        let other = (a.relativePath as NSString).deletingLastPathComponent + "/.99999999.dvbackup-partial"
        #expect(s.backupTree() == [a.relativePath, b.relativePath, other].sorted())
        #expect(s.backupBytes(a) == a.bytes)
        #expect(s.backupBytes(b) == b.bytes)
    }

    @Test(.enabled(if: TestSSH.enabled)) func aNameOf250BytesIsCopiedOverSFTP() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 1543)
        let ds = try s.addDataset()
        let f = try s.addFile(dataset: ds, size: 5000, storageIdentifier: Self.longName(250))
        let dirs = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        // A temporary of the earlier form, left by a crash, whose name fits.
        let g = try s.addFile(dataset: ds, size: 900)
        let gDir = dirs.local + "/" + (g.relativePath as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: gDir, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: gDir + "/." + g.name + ".dvbackup-partial", contents: Data(count: 5))
        var path = dirs.local
        for c in (g.relativePath as NSString).deletingLastPathComponent.split(separator: "/") {
            path += "/" + c
            if let pw = getpwnam(TestSSH.user) { chown(path, pw.pointee.pw_uid, pw.pointee.pw_gid) }
        }
        if let pw = getpwnam(TestSSH.user) { chown(gDir + "/." + g.name + ".dvbackup-partial", pw.pointee.pw_uid, pw.pointee.pw_gid) }
        let config = try s.writeSSHConfig(backupDirectory: dirs.remote)
        let r = try s.dvbackup("run", config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        let rows = try s.statusRows()
        #expect(rows[f.id]?.status == "OK", "\(String(describing: rows[f.id]?.lastError))")
        #expect(FileManager.default.contents(atPath: dirs.local + "/" + f.relativePath).map { [UInt8]($0) } == f.bytes)
        #expect(rows[g.id]?.status == "OK")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: gDir)) ?? []
        #expect(!left.contains { $0.contains("dvbackup-partial") }, "\(left)")
    }

    /// OpenSSH's sftp-server answers ENAMETOOLONG with "bad message": the failure says what
    /// it means, with the name's length and the server's limit.
    @Test(.enabled(if: TestSSH.enabled)) func aNameTooLongForTheServerIsSaidSo() throws {
        try TestSSH.requireServer()
        let s = try Sandbox(seed: 1544)
        let dirs = try s.remoteDirectory(account: TestSSH.user, serverRoot: TestSSH.backupDir, localRoot: TestSSH.backupDir)
        let config = try s.writeSSHConfig(backupDirectory: dirs.remote)
        let settings = try Settings.load(path: config)
        let ssh = try #require(settings.backup.ssh)
        let target = SFTPTarget(connection: ssh.connection(), root: dirs.remote, logger: Logger(label: "test"))
        try target.checkUsable()
        let session = try target.makeSession()
        let name = Self.longName(300)
        let expected = "name too long: 300 bytes, the server's file system allows 255"
        let begun = Result { () throws(FileFailure) in
            try session.beginUpload(UploadDescription(relativePath: "10.5072/FK2/LONG/" + name, datafileId: 77,
                                                      expectedSize: nil, catalogChecksum: nil))
        }
        var reason = ""
        switch begun {
        case .failure(let failure):
            #expect(failure.status == .failWrite)
            reason = failure.reason
        case .success(let upload):
            // The temporary name fits: the server refuses the final name when it is published.
            let bytes: [UInt8] = [1, 2, 3]
            let written: Void? = try? bytes.withUnsafeBytes { try upload.write($0) }
            #expect(written != nil)
            let results = session.settle([WrittenCopy(upload: upload, algorithm: .sha256,
                                                      expectedHex: Digest.hex(.sha256, of: bytes), bytes: 3)])
            if case .failure(let failure) = results[0] {
                let diagnosed = (upload as? any DiagnosingUpload)?.diagnose(failure) ?? failure
                #expect(diagnosed.status == .failWrite)
                reason = diagnosed.reason
            } else {
                Issue.record("a 300-byte name was published")
            }
        }
        #expect(reason.contains(expected), "\(reason)")
        #expect(!reason.contains("bad message"), "\(reason)")
        // A directory component too long is said so too.
        let dirName = Self.longName(260)
        let dir = Result { () throws(FileFailure) in
            try session.beginUpload(UploadDescription(relativePath: "10.5072/" + dirName + "/x", datafileId: 78,
                                                      expectedSize: nil, catalogChecksum: nil))
        }
        if case .failure(let failure) = dir {
            #expect(failure.reason.contains("name too long: 260 bytes, the server's file system allows 255"), "\(failure.reason)")
        } else {
            Issue.record("a 260-byte directory name was accepted")
        }
    }
}
