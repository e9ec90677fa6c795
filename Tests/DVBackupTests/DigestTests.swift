import Testing
@testable import DVBackup

@Suite struct DigestTests {
    static let vectors: [(ChecksumAlgorithm, String, String)] = [
        (.md5, "abc", "900150983cd24fb0d6963f7d28e17f72"),
        (.md5, "", "d41d8cd98f00b204e9800998ecf8427e"),
        (.sha1, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (.sha1, "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        (.sha256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (.sha256, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (.sha512, "abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
        (.sha512, "", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
    ]

    @Test(arguments: vectors)
    func knownVectors(algorithm: ChecksumAlgorithm, input: String, hex: String) {
        #expect(Digest.hex(algorithm, of: Array(input.utf8)) == hex)
        #expect(hex.count == algorithm.hexLength)
    }

    @Test(arguments: ChecksumAlgorithm.allCases)
    func incrementalEqualsOneShot(algorithm: ChecksumAlgorithm) {
        let data = sampleBytes(3 * 65_536 + 17)
        let oneShot = Digest.hex(algorithm, of: data)
        let d = Digest(algorithm)
        var offset = 0
        var step = 1
        while offset < data.count {
            let end = min(data.count, offset + step)
            d.update(Array(data[offset..<end]))
            offset = end
            step = step * 3 + 1
        }
        d.update([])  // an empty update changes nothing
        #expect(d.finalizeHex() == oneShot)
        // And a different input gives a different digest.
        var other = data
        other[other.count / 2] ^= 1
        #expect(Digest.hex(algorithm, of: other) != oneShot)
    }

    @Test func millionAs() {
        let d = Digest(.sha256)
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { d.update(chunk) }
        #expect(d.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func rawBufferUpdate() {
        let d = Digest(.md5)
        Array("abc".utf8).withUnsafeBytes { d.update($0) }
        #expect(d.finalizeHex() == "900150983cd24fb0d6963f7d28e17f72")
    }

    @Test(arguments: [
        ("MD5", ChecksumAlgorithm.md5), ("SHA1", .sha1), ("SHA256", .sha256), ("SHA512", .sha512),
        ("SHA-1", .sha1), ("SHA-256", .sha256), ("SHA-512", .sha512), ("sha256", .sha256), ("Md5", .md5),
    ])
    func catalogNames(name: String, algorithm: ChecksumAlgorithm) {
        #expect(ChecksumAlgorithm(catalogName: name) == algorithm)
    }

    @Test(arguments: ["", "CRC32", "SHA3-256", "UNF", "SHA224", "MD-5-5", "Unknown"])
    func unknownCatalogNames(name: String) {
        #expect(ChecksumAlgorithm(catalogName: name) == nil)
    }

    @Test func coreutilsCommands() {
        #expect(ChecksumAlgorithm.allCases.map(\.coreutilsCommand) == ["md5sum", "sha1sum", "sha256sum", "sha512sum"])
    }
}
