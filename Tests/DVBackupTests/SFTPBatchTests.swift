import Testing
@testable import DVBackup

/// A batch of small files over dvbackup's own SFTP channel, against an SFTP server in memory
/// (`FakeSFTPServer`): many requests in flight, answers matched by id, each refusal its own
/// file's, and a number of round trips that does not grow with the batch.
struct SFTPBatchTests {
    private func batch(_ count: Int, in directory: String = "/b/10.5072/FK2/A", size: Int = 5000)
        -> [(path: String, directories: [String], bytes: [UInt8])] {
        var dirs: [String] = []
        var d = ""
        for c in directory.split(separator: "/") {
            d += "/" + c
            if d != "/b" { dirs.append(d) }
        }
        return (0..<count).map { i in
            (path: "\(directory)/.f\(i).dvbackup-partial", directories: dirs,
             bytes: (0..<(size + i * 997)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) })
        }
    }

    @Test func aBatchIsWrittenWholeAndItsRoundTripsDoNotGrowWithIt() throws {
        var trips: [Int] = []
        for count in [3, 64] {
            let server = FakeSFTPServer(directories: ["/b"])
            let channel = try SFTPExtensionChannel(transport: server)
            let files = batch(count)
            let (refusals, created, made) = try channel.createFiles(files, sync: false)
            #expect(created.allSatisfy { $0 })
            #expect(refusals.allSatisfy { $0 == nil }, "\(refusals)")
            #expect(made == ["/b/10.5072", "/b/10.5072/FK2", "/b/10.5072/FK2/A"])
            for f in files { #expect(server.files[f.path] == f.bytes, "\(f.path) holds its bytes") }
            // One MKDIR flight per depth (3), one of OPENs, one of WRITEs and CLOSEs.
            #expect(channel.roundTrips == 5)
            #expect(server.flights == channel.roundTrips, "the channel counts every wait for answers")
            trips.append(channel.roundTrips)
        }
        #expect(trips[0] == trips[1], "64 files cost the round trips of 3")
    }

    @Test func aFileLargerThanOneRequestGoesInSeveralWrites() throws {
        let server = FakeSFTPServer(directories: ["/b", "/b/d"])
        let channel = try SFTPExtensionChannel(transport: server)
        let bytes = (0..<(64 << 10)).map { UInt8(truncatingIfNeeded: $0 / 7) }
        let (refusals, _, _) = try channel.createFiles([(path: "/b/d/.x", directories: [], bytes: bytes)], sync: true)
        #expect(refusals == [nil])
        #expect(server.files["/b/d/.x"] == bytes)
        #expect(server.requests.filter { $0 == .write }.count == 2, "two WRITEs of 32 KiB")
        #expect(server.requests.contains(.extended), "fsync@openssh.com before CLOSE")
        #expect(channel.roundTrips == 2)
    }

    @Test func aFailingFileInTheMiddleFailsAloneWithTheServersWords() throws {
        let server = FakeSFTPServer(directories: ["/b"])
        let channel = try SFTPExtensionChannel(transport: server)
        let files = batch(5)
        server.refusals[files[2].path] = (.permissionDenied, "Permission denied")
        let (refusals, created, _) = try channel.createFiles(files, sync: false)
        #expect(refusals[2] == "cannot create \(files[2].path): permission denied")
        #expect(created == [true, true, false, true, true])
        for i in [0, 1, 3, 4] {
            #expect(refusals[i] == nil)
            #expect(server.files[files[i].path] == files[i].bytes)
        }
        #expect(server.files[files[2].path] == nil)
        // The channel goes on: the next batch is written.
        let next = batch(2, in: "/b/10.5072/FK2/B")
        #expect(try channel.createFiles(next, sync: false).refusals == [nil, nil])
    }

    @Test func aRefusedDirectoryFailsOnlyTheFilesBelowIt() throws {
        let server = FakeSFTPServer(directories: ["/b"])
        let channel = try SFTPExtensionChannel(transport: server)
        let good = batch(2, in: "/b/10.5072/FK2/A")
        let bad = batch(2, in: "/b/10.5072/FK2/LOCKED")
        server.refusals["/b/10.5072/FK2/LOCKED"] = (.permissionDenied, "Permission denied")
        let (refusals, _, made) = try channel.createFiles(good + bad, sync: false)
        #expect(refusals[0] == nil && refusals[1] == nil)
        #expect(refusals[2] == "cannot create directory /b/10.5072/FK2/LOCKED: permission denied")
        #expect(refusals[3] == refusals[2])
        #expect(!made.contains("/b/10.5072/FK2/LOCKED"))
        #expect(server.files[good[1].path] == good[1].bytes)
    }

    @Test func existingDirectoriesAreFineAndAFileInTheWayIsNot() throws {
        let server = FakeSFTPServer(directories: ["/b", "/b/10.5072", "/b/10.5072/FK2"])
        server.files["/b/10.5072/FK2/A"] = [1]  // a file where a directory should be
        let channel = try SFTPExtensionChannel(transport: server)
        let made = try channel.makeDirectories(["/b/10.5072", "/b/10.5072/FK2", "/b/10.5072/FK2/A", "/b/10.5072/FK2/C"])
        #expect(made == ["/b/10.5072/FK2/A": "failure (the server gave no reason)"], "OpenSSH's bare failure, checked by STAT")
        #expect(server.directories.contains("/b/10.5072/FK2/C"))
        #expect(channel.roundTrips == 4, "three depths, then one STAT of the refused ones")
    }

    @Test func aTreeCopiedToBeforeCostsOneRoundTrip() throws {
        let server = FakeSFTPServer(directories: ["/b", "/b/10.5072", "/b/10.5072/FK2", "/b/10.5072/FK2/A", "/b/10.5072/FK2/B"])
        let channel = try SFTPExtensionChannel(transport: server)
        let made = try channel.makeDirectories(["/b/10.5072", "/b/10.5072/FK2", "/b/10.5072/FK2/A", "/b/10.5072/FK2/B"])
        #expect(made.isEmpty)
        #expect(channel.roundTrips == 1, "the outermost MKDIR and a STAT of the deepest directories")
        #expect(server.requests.filter { $0 == .mkdir }.count == 1, "only the outermost MKDIR")
        // One directory new beside an existing one: only the new one is made below.
        let more = try channel.makeDirectories(["/b/10.5072", "/b/10.5072/FK2", "/b/10.5072/FK2/C"])
        #expect(more.isEmpty)
        #expect(server.directories.contains("/b/10.5072/FK2/C"))
    }

    @Test func answersOutOfOrderGoToTheirOwnFiles() throws {
        let server = FakeSFTPServer(directories: ["/b"])
        server.reverseAnswers = true
        let channel = try SFTPExtensionChannel(transport: server)
        let files = batch(6)
        server.refusals[files[4].path] = (.noSpaceOnFilesystem, "")
        let (refusals, _, _) = try channel.createFiles(files, sync: false)
        #expect(refusals[4] == "cannot create \(files[4].path): no space left on the file system")
        for i in [0, 1, 2, 3, 5] { #expect(server.files[files[i].path] == files[i].bytes, "file \(i)") }
        // Read back, the answers reversed as well: each file gets its own bytes, in order.
        let written = files.filter { server.files[$0.path] != nil }
        #expect(written.count == 5)
        let handles = try channel.open(written.map(\.path), .read).map { try $0.get() }
        let reads = try channel.readWhole(zip(handles, written).map { (handle: $0, size: $1.bytes.count) })
        for (read, file) in zip(reads, written) { #expect(read == .bytes(file.bytes), "\(file.path) read back") }
    }

    @Test func aReadBackFindsACopyLongerOrShorterThanSent() throws {
        let server = FakeSFTPServer(directories: ["/b"])
        server.files["/b/long"] = Array(repeating: 7, count: 101)
        server.files["/b/short"] = Array(repeating: 7, count: 99)
        let channel = try SFTPExtensionChannel(transport: server)
        let handles = try channel.open(["/b/long", "/b/short", "/b/missing"], .read)
        #expect(handles[2].failure == SFTPRefusal("no such file or directory"))
        let reads = try channel.readWhole([(try handles[0].get(), 100), (try handles[1].get(), 100)])
        #expect(reads[0] == .bytes(Array(repeating: 7, count: 101)), "the READ past the end finds the extra byte")
        #expect(reads[1] == .bytes(Array(repeating: 7, count: 99)))
        #expect(channel.roundTrips == 2)
    }

    @Test func renamesRefuseToReplaceAndEachAnswerIsItsOwn() throws {
        let server = FakeSFTPServer(directories: ["/b"])
        server.files = ["/b/.a": [1], "/b/.b": [2], "/b/b": [0], "/b/.c": [3]]
        let channel = try SFTPExtensionChannel(transport: server)
        let refusals = try channel.rename([("/b/.a", "/b/a"), ("/b/.b", "/b/b"), ("/b/.c", "/b/c")])
        #expect(refusals == [nil, "failure (the server gave no reason)", nil])
        #expect(server.files["/b/a"] == [1] && server.files["/b/c"] == [3] && server.files["/b/b"] == [0])
        #expect(try channel.stat(["/b/b", "/b/zz", "/b"]) == [false, nil, true])
        #expect(try channel.remove(["/b/.b", "/b/.b"]) == [nil, "no such file or directory"])
        #expect(channel.roundTrips == 3)
    }

    @Test func aLostConnectionMidBatchThrowsAndTheChannelIsNotUsedAgain() throws {
        let transport = ScriptedTransport()
        let channel = try SFTPExtensionChannel(transport: transport)
        // Two OPENs go out; one answer comes, then the channel ends.
        var handle = SFTPPacketWriter(type: .handle)
        handle.uint32(2)
        handle.string("h")
        transport.queue(handle.finish())
        let error = try #require(throws: SSHError.self) { _ = try channel.open(["/b/.x", "/b/.y"], [.write, .create]) }
        #expect(error.connectionLost)
        #expect(throws: SSHError.self) { _ = try channel.rename([("/b/.x", "/b/x")]) }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}
