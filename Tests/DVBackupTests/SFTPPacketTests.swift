import Testing
@testable import DVBackup

/// The SFTP v3 framing dvbackup writes itself (draft-ietf-secsh-filexfer-02, section 3).
struct SFTPPacketTests {
    @Test func aWriteRequestCountsTheDataSentAfterItsHeader() throws {
        var p = SFTPPacketWriter(type: .write, trailing: 131_072)
        p.uint32(7)
        p.blob([0xAA, 0xBB])
        p.uint64(0x1_0000_0002)
        p.uint32(131_072)
        let header = p.finish()
        // uint32 length, byte 6, uint32 id, string handle, uint64 offset, uint32 data length
        #expect(header == [0, 2, 0, 0x17,  // 1 + 4 + 6 + 8 + 4 = 23 bytes after the length, + 131072 of data = 0x20017
                           6,
                           0, 0, 0, 7,
                           0, 0, 0, 2, 0xAA, 0xBB,
                           0, 0, 0, 1, 0, 0, 0, 2,
                           0, 2, 0, 0])
    }

    @Test func aPacketWithNothingAfterItCountsItsOwnBytes() {
        var p = SFTPPacketWriter(type: .close)
        p.uint32(1)
        p.string("ab")
        #expect(p.finish() == [0, 0, 0, 11, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0x61, 0x62])
    }

    /// limits@openssh.com: uint64 max-packet-length, max-read-length, max-write-length,
    /// max-open-handles.
    @Test(arguments: [
        (packet: 262_144, write: 261_120, expected: 261_120),  // OpenSSH 9
        (packet: 262_144, write: 262_144, expected: 261_120),  // the header must fit in the packet
        (packet: 0, write: 65_536, expected: 65_536),          // no packet limit given
        (packet: 262_144, write: 0, expected: nil),            // no write limit known
        (packet: 512, write: 65_536, expected: nil),           // no room for data
    ] as [(packet: UInt64, write: UInt64, expected: Int?)])
    func theWriteLimitComesFromTheLimitsReply(packet: UInt64, write: UInt64, expected: Int?) throws {
        var p = SFTPPacketWriter(type: SFTPPacketType(rawValue: 0))
        for v in [packet, 261_120, write, 1024] as [UInt64] { p.uint64(v) }
        var reader = SFTPPacketReader(Array(p.finish().dropFirst(5)))
        #expect(try SFTPExtensionChannel.writeLimit(&reader) == expected)
    }

    @Test func theReaderTakesUInt64sAndHandles() throws {
        var r = SFTPPacketReader([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 9, 8, 7, 0, 0, 0, 1])
        #expect(try r.uint64() == 0x1_0000_0002)
        #expect(try r.blob() == [9, 8, 7])
        #expect(!r.atEnd)
        #expect(throws: SSHError.self) { try r.uint64() }
        var short = SFTPPacketReader([0, 0, 0, 9, 1])
        #expect(throws: SSHError.self) { try short.blob() }
    }
}
