import Testing
@testable import DVBackup

/// A scripted SFTP server: records what the channel sends and plays back the packets the
/// test queued, byte by byte as the channel asks for them.
final class ScriptedTransport: SFTPTransport {
    private(set) var sent: [UInt8] = []
    private var incoming: [UInt8] = []

    /// The server's VERSION 3 packet offering posix-rename.
    init() {
        var version = SFTPPacketWriter(type: .version)
        version.uint32(3)
        version.string(SFTPExtensionChannel.posixRename)
        version.string("1")
        incoming = version.finish()
    }

    func queueStatus(id: UInt32, _ status: SFTPStatus, _ message: String = "") {
        var p = SFTPPacketWriter(type: .status)
        p.uint32(id)
        p.uint32(status.rawValue)
        p.string(message)
        p.string("")
        incoming += p.finish()
    }

    func queue(_ bytes: [UInt8]) { incoming += bytes }

    func send(_ bytes: UnsafeRawBufferPointer, _ what: String) throws(SSHError) { sent += bytes }

    func read(_ count: Int) throws(SSHError) -> [UInt8] {
        guard incoming.count >= count else {
            throw SSHError(code: 0, message: "the SFTP channel closed", connectionLost: true)
        }
        defer { incoming.removeFirst(count) }
        return Array(incoming.prefix(count))
    }
}

/// The extension channel matches each answer to its request by id (SFTP v3 lets a server
/// answer in any order), and treats an answer to no waiting request as a protocol error.
struct SFTPExtensionChannelTests {
    /// The INIT packet, then the requests: the ids of posix-rename requests are 1, 2, 3, …
    private func channel(_ transport: ScriptedTransport) throws -> SFTPExtensionChannel {
        try SFTPExtensionChannel(transport: transport)
    }

    @Test func theVersionPacketListsTheExtensions() throws {
        let transport = ScriptedTransport()
        let c = try channel(transport)
        #expect(c.offersPosixRename)
        #expect(transport.sent == [0, 0, 0, 5, 1, 0, 0, 0, 3], "INIT asks for version 3")
    }

    @Test func answersOutOfOrderGoToTheirOwnRequests() throws {
        let transport = ScriptedTransport()
        let c = try channel(transport)
        transport.queueStatus(id: 3, .ok)
        transport.queueStatus(id: 1, .permissionDenied, "Permission denied")
        transport.queueStatus(id: 2, .ok)
        let refusals = try c.posixRename([("/a", "/A"), ("/b", "/B"), ("/c", "/C")])
        #expect(refusals == ["permission denied", nil, nil])
    }

    @Test func aRefusalKeepsTheServersWordsAndTheStatusMeaning() throws {
        let transport = ScriptedTransport()
        let c = try channel(transport)
        transport.queueStatus(id: 1, .noSpaceOnFilesystem, "disk says no")
        #expect(try c.posixRename([("/a", "/A")]) == ["disk says no (no space left on the file system)"])
    }

    @Test func aDuplicatedAnswerIsAProtocolError() throws {
        let transport = ScriptedTransport()
        let c = try channel(transport)
        transport.queueStatus(id: 1, .ok)
        transport.queueStatus(id: 1, .ok)  // a second answer to request 1, none to request 2
        transport.queueStatus(id: 2, .ok)
        let error = try #require(throws: SSHError.self) { try c.posixRename([("/a", "/A"), ("/b", "/B")]) }
        #expect(error.connectionLost, "the channel is out of step with the server")
        #expect(error.message.contains("id 1"))
        // The channel is not trusted again.
        transport.queueStatus(id: 3, .ok)
        #expect(throws: SSHError.self) { try c.posixRename([("/c", "/C")]) }
    }

    @Test func anAnswerToNoRequestIsAProtocolError() throws {
        let transport = ScriptedTransport()
        let c = try channel(transport)
        transport.queueStatus(id: 99, .ok)
        transport.queueStatus(id: 1, .ok)
        let error = try #require(throws: SSHError.self) { try c.posixRename([("/a", "/A")]) }
        #expect(error.connectionLost)
        #expect(error.message.contains("id 99"))
    }

    @Test func aShortPacketIsAProtocolError() throws {
        let transport = ScriptedTransport()
        let c = try channel(transport)
        transport.queue([0, 0, 0, 3, SFTPPacketType.status.rawValue, 0, 0])  // no room for an id
        let error = try #require(throws: SSHError.self) { try c.posixRename([("/a", "/A")]) }
        #expect(error.connectionLost)
        #expect(error.message.contains("truncated"))
    }

    @Test func anAnswerOfAnotherTypeIsAProtocolError() throws {
        let transport = ScriptedTransport()
        let c = try channel(transport)
        var handle = SFTPPacketWriter(type: .handle)
        handle.uint32(1)
        handle.blob([1, 2])
        transport.queue(handle.finish())
        let error = try #require(throws: SSHError.self) { try c.posixRename([("/a", "/A")]) }
        #expect(error.connectionLost)
    }

    @Test func theRequestsCarryTheirIdsAndNames() throws {
        let transport = ScriptedTransport()
        let c = try channel(transport)
        let before = transport.sent.count
        transport.queueStatus(id: 1, .ok)
        _ = try c.posixRename([("/x", "/y")])
        var expected = SFTPPacketWriter(type: .extended)
        expected.uint32(1)
        expected.string(SFTPExtensionChannel.posixRename)
        expected.string("/x")
        expected.string("/y")
        #expect(Array(transport.sent[before...]) == expected.finish())
    }

    @Test func statusCodesHaveNamesAndMeanings() {
        #expect(SFTPStatus(rawValue: 2) == .noSuchFile)
        #expect(SFTPStatus.noSuchFile.meansMissing && SFTPStatus.noSuchPath.meansMissing && !SFTPStatus.failure.meansMissing)
        #expect(SFTPStatus.quotaExceeded.description == "quota exceeded")
        #expect(SFTPStatus(rawValue: 42).description == "SFTP status 42")
        #expect(([.write, .create, .truncate] as SFTPOpenFlags).rawValue == 0x1A)
    }
}
