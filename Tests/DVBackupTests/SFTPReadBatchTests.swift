import Testing
@testable import DVBackup

/// Reading many small files at once on dvbackup's SFTP channel, against a scripted server:
/// each answer goes to its own file whatever the order, a refused OPEN fails only its file,
/// a short READ or EOF ends a file, a hole is told apart, and every kind of request of a
/// batch costs one round trip.
struct SFTPReadBatchTests {
    /// The requests the channel sent after INIT: type, id, and for a READ its offset and length.
    private func requests(_ sent: [UInt8]) throws -> [(type: SFTPPacketType, id: UInt32, offset: UInt64, length: UInt32)] {
        var out: [(SFTPPacketType, UInt32, UInt64, UInt32)] = []
        var at = 9  // INIT
        while at < sent.count {
            let n = Int(sent[at]) << 24 | Int(sent[at + 1]) << 16 | Int(sent[at + 2]) << 8 | Int(sent[at + 3])
            let type = SFTPPacketType(rawValue: sent[at + 4])
            var r = SFTPPacketReader(Array(sent[at + 5..<at + 4 + n]))
            let id = try r.uint32()
            if type == .read {
                _ = try r.blob()
                out.append((type, id, try r.uint64(), try r.uint32()))
            } else {
                out.append((type, id, 0, 0))
            }
            at += 4 + n
        }
        return out
    }

    private func handle(_ id: UInt32, _ h: String) -> [UInt8] {
        var p = SFTPPacketWriter(type: .handle)
        p.uint32(id)
        p.string(h)
        return p.finish()
    }

    private func data(_ id: UInt32, _ bytes: [UInt8]) -> [UInt8] {
        var p = SFTPPacketWriter(type: .data)
        p.uint32(id)
        p.blob(bytes)
        return p.finish()
    }

    private func attributes(_ id: UInt32, size: UInt64, mode: UInt32) -> [UInt8] {
        var p = SFTPPacketWriter(type: .attributes)
        p.uint32(id)
        p.uint32(0x1 | 0x4)
        p.uint64(size)
        p.uint32(mode)
        return p.finish()
    }

    @Test func statSaysSizeAndKindAndMissingInOneRoundTrip() throws {
        let transport = ScriptedTransport()
        let c = try SFTPExtensionChannel(transport: transport)
        transport.queueStatus(id: 2, .noSuchFile, "No such file")
        transport.queue(attributes(3, size: 0, mode: 0o040755))
        transport.queue(attributes(1, size: 4097, mode: 0o100644))
        transport.queueStatus(id: 4, .permissionDenied, "Permission denied")
        let states = try c.inspect(["/b/a", "/b/gone", "/b/dir", "/b/secret"])
        #expect(states[0] == .found(size: 4097, kind: .regular))
        guard case .missing = states[1] else { Issue.record("\(states[1])"); return }
        #expect(states[2] == .found(size: 0, kind: .directory))
        #expect(states[3] == .refused(SFTPReadRefusal(status: .permissionDenied, words: "permission denied")))
        #expect(c.roundTrips == 1)
    }

    @Test func answersOutOfOrderARefusedOpenInTheMiddleAndShortReads() throws {
        let transport = ScriptedTransport()
        let c = try SFTPExtensionChannel(transport: transport)
        // OPEN of four files (ids 1–4), answered last first; the second is refused.
        transport.queue(handle(4, "h4"))
        transport.queue(handle(3, "h3"))
        transport.queueStatus(id: 2, .permissionDenied, "Permission denied")
        transport.queue(handle(1, "h1"))
        let opened = try c.openToRead(["/b/big", "/b/locked", "/b/short", "/b/holed"])
        #expect((try? opened[0].get()) == Array("h1".utf8))
        #expect(opened[1] == .failure(SFTPReadRefusal(status: .permissionDenied, words: "permission denied")))
        #expect((try? opened[3].get()) == Array("h4".utf8))

        let big = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        // big, 40,000 bytes expected: READs 5 (0, 32 KiB) and 6 (32 KiB, the rest and one
        // byte more), CLOSE 7; short, 10 expected: READ 8, CLOSE 9; holed, 40,000
        // expected: READs 10 and 11, CLOSE 12. Answered in a scrambled order.
        transport.queue(data(11, [9, 9, 9]))
        transport.queueStatus(id: 12, .ok)
        transport.queue(data(6, Array(big[32_768...])))  // short by the extra byte: the end
        transport.queue(data(8, [1, 2, 3, 4, 5, 6]))  // 6 of 11: the file ends early
        transport.queueStatus(id: 9, .ok)
        transport.queue(data(10, [7, 7]))  // short, and then more data: a hole
        transport.queueStatus(id: 7, .ok)
        transport.queue(data(5, Array(big[..<32_768])))
        let reads = try c.readWhole([(handle: Array("h1".utf8), size: 40_000), (handle: Array("h3".utf8), size: 10),
                                     (handle: Array("h4".utf8), size: 40_000)])
        #expect(reads == [.bytes(big), .bytes([1, 2, 3, 4, 5, 6]), .hole(at: 2)])
        #expect(c.roundTrips == 2, "one round trip for the OPENs, one for every READ and CLOSE")

        let sent = try requests(transport.sent)
        let readRequests = sent.filter { $0.type == .read }
        #expect(readRequests.map(\.offset) == [0, 32_768, 0, 0, 32_768])
        #expect(readRequests.map(\.length) == [32_768, 40_001 - 32_768, 11, 32_768, 40_001 - 32_768],
                "the expected size and one byte more: a longer file would show")
        #expect(sent.filter { $0.type == .close }.map(\.id) == [7, 9, 12])
    }

    @Test func aRefusedReadFailsItsFileAndALongerFileShows() throws {
        let transport = ScriptedTransport()
        let c = try SFTPExtensionChannel(transport: transport)
        transport.queueStatus(id: 1, .failure, "Failure")
        transport.queueStatus(id: 2, .ok)
        transport.queue(data(3, [1, 2, 3, 4]))  // 3 expected, 4 there
        transport.queueStatus(id: 4, .ok)
        let reads = try c.readWhole([(handle: Array("a".utf8), size: 100), (handle: Array("b".utf8), size: 3)])
        #expect(reads[0] == .refused(SFTPReadRefusal(status: .failure, words: "failure (the server gave no reason)")))
        #expect(reads[1] == .bytes([1, 2, 3, 4]))
    }

    @Test func aLostConnectionMidBatchThrows() throws {
        let transport = ScriptedTransport()
        let c = try SFTPExtensionChannel(transport: transport)
        transport.queue(data(1, [1, 2]))  // then nothing: the channel ends
        #expect(throws: SSHError.self) {
            _ = try c.readWhole([(handle: Array("a".utf8), size: 2), (handle: Array("b".utf8), size: 2)])
        }
        #expect(throws: SSHError.self) { _ = try c.inspect(["/x"]) }
    }
}
