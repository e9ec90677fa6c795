import Foundation
import Testing
@testable import DVBackup

/// A session that hands the real LocalUpload bytes with one bit flipped, as a faulty
/// network or disk would: the LocalUpload's own read-back must catch it.
final class BitFlippingSession: TargetSession {
    let inner: any TargetSession
    private(set) var uploads: [BitFlippingUpload] = []

    init(_ inner: any TargetSession) { self.inner = inner }

    func beginUpload(relativePath: String) throws(FileFailure) -> any TargetUpload {
        let u = BitFlippingUpload(try inner.beginUpload(relativePath: relativePath))
        uploads.append(u)
        return u
    }
}

final class BitFlippingUpload: TargetUpload {
    let inner: any TargetUpload
    private var flipped = false
    private(set) var published = false
    private(set) var aborted = false
    private(set) var verifyFailure: FileFailure?

    init(_ inner: any TargetUpload) { self.inner = inner }

    var location: String { inner.location }

    func write(_ chunk: UnsafeRawBufferPointer) throws(FileFailure) {
        guard !flipped, chunk.count > 0 else { return try inner.write(chunk) }
        var copy = Array(chunk)
        copy[copy.count / 2] ^= 0x01
        flipped = true
        let result: Result<Void, FileFailure> = copy.withUnsafeBytes { b in
            do throws(FileFailure) {
                try inner.write(b)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    func verify(algorithm: ChecksumAlgorithm, expectedHex: String) throws(FileFailure) -> String {
        do throws(FileFailure) {
            return try inner.verify(algorithm: algorithm, expectedHex: expectedHex)
        } catch {
            verifyFailure = error
            throw error
        }
    }

    func publish() throws(FileFailure) {
        published = true
        try inner.publish()
    }

    func abort() {
        aborted = true
        inner.abort()
    }
}

/// A file store in one temporary directory and a local backup target in another.
final class TransferFixture {
    let store = TempDirectory("dvbackup-store")
    let backup = TempDirectory("dvbackup-target")
    let transfer: Transfer
    let session: any TargetSession

    init(extraStores: [StoreConfig] = [], defaultStoreId: String = "file") throws {
        let file = StoreConfig(id: "file", type: "file", directory: store.path, parameters: [:], origin: "test")
        let registry = StoreRegistry(stores: [file] + extraStores, defaultStoreId: defaultStoreId)
        transfer = Transfer(stores: SourceStores(registry: registry))
        session = try LocalTarget(root: backup.path).makeSession()
    }

    deinit {
        store.remove()
        backup.remove()
    }

    /// Puts `bytes` in the store for dataset 10.5072/FK2/ABCDEF under `name`.
    func put(_ name: String, _ bytes: [UInt8]) throws {
        try store.write("10.5072/FK2/ABCDEF/\(name)", bytes)
    }

    func copy(_ file: CatalogFile) -> FileOutcome { transfer.copy(file, to: session) }

    /// The copy on the target, if any.
    func backedUp(_ name: String) -> [UInt8]? { backup.read("10.5072/FK2/ABCDEF/\(name)") }

    /// SHA-256 of the copy on the target (compact in failure messages), nil when absent.
    func backedUpDigest(_ name: String) -> String? { backedUp(name).map { Digest.hex(.sha256, of: $0) } }
}

@Suite struct TransferTests {
    let name = "18b39722140-50eb7d3c5ece"

    @Test(arguments: ChecksumAlgorithm.allCases)
    func okCopiesTheBytes(algorithm: ChecksumAlgorithm) throws {
        let fx = try TransferFixture()
        let data = sampleBytes(FileStore.chunkSize * 2 + 321)
        try fx.put(name, data)
        let hex = Digest.hex(algorithm, of: data)
        let file = CatalogFile.sample(storageIdentifier: "file://\(name)", checksumType: algorithm.rawValue,
                                      checksumValue: hex.uppercased(), fileSize: Int64(data.count))
        let o = fx.copy(file)
        #expect(o.status == .ok, "\(o.detail)")
        #expect(o.bytes == Int64(data.count))
        #expect(o.location == fx.backup.join("10.5072/FK2/ABCDEF/\(name)"))
        #expect(o.provenChecksum == "\(algorithm.rawValue):\(hex)")
        #expect(fx.backedUpDigest(name) == Digest.hex(.sha256, of: data))
        #expect(fx.backup.allFiles() == ["10.5072/FK2/ABCDEF/\(name)"])
        #expect(o.file == file)
    }

    @Test func bareLegacyNameUsesTheDefaultStore() throws {
        let fx = try TransferFixture()
        let data = Array("legacy".utf8)
        try fx.put("14a4ac1b6a2-63b0d4d4bbb8", data)
        let o = fx.copy(.sample(storageIdentifier: "14a4ac1b6a2-63b0d4d4bbb8", checksumType: "MD5",
                                checksumValue: Digest.hex(.md5, of: data)))
        #expect(o.status == .ok, "\(o.detail)")
        #expect(fx.backedUpDigest("14a4ac1b6a2-63b0d4d4bbb8") == Digest.hex(.sha256, of: data))
    }

    @Test func storeIdOfTheIdentifierIsCaseInsensitive() throws {
        let fx = try TransferFixture()
        let data = Array("x".utf8)
        try fx.put(name, data)
        let o = fx.copy(.sample(storageIdentifier: "FILE://\(name)", checksumType: "SHA1",
                                checksumValue: Digest.hex(.sha1, of: data)))
        #expect(o.status == .ok, "\(o.detail)")
    }

    @Test(arguments: ["", "Unknown", nil] as [String?])
    func noCatalogChecksumIsOkNoChecksumProvenWithSHA256(value: String?) throws {
        let fx = try TransferFixture()
        let data = sampleBytes(4_321)
        try fx.put(name, data)
        let o = fx.copy(.sample(storageIdentifier: "file://\(name)", checksumType: "MD5", checksumValue: value))
        #expect(o.status == .okNoChecksum, "\(o.detail)")
        #expect(o.provenChecksum == "SHA256:\(Digest.hex(.sha256, of: data))")
        #expect(fx.backedUpDigest(name) == Digest.hex(.sha256, of: data))
    }

    @Test func tabularFileReadsTheOrig() throws {
        let fx = try TransferFixture()
        let orig = Array("a,b\n1,2\n".utf8)
        let tab = Array("a\tb\n1\t2\n-- ingested, different bytes --\n".utf8)
        try fx.put(name + ".orig", orig)
        try fx.put(name, tab)
        let file = CatalogFile.sample(storageIdentifier: "file://\(name)", checksumType: "MD5",
                                      checksumValue: Digest.hex(.md5, of: orig), fileSize: Int64(tab.count),
                                      isTabular: true, originalFileSize: Int64(orig.count))
        let o = fx.copy(file)
        #expect(o.status == .ok, "\(o.detail)")
        // The copy holds the original's bytes, under the storage name.
        #expect(fx.backedUpDigest(name) == Digest.hex(.sha256, of: orig))
        #expect(o.bytes == Int64(orig.count))
    }

    @Test func tabularFileWithUnknownOriginalSizeIsNotCheckedAgainstTheTabSize() throws {
        let fx = try TransferFixture()
        let orig = sampleBytes(300)
        try fx.put(name + ".orig", orig)
        let file = CatalogFile.sample(storageIdentifier: "file://\(name)", checksumType: "MD5",
                                      checksumValue: Digest.hex(.md5, of: orig), fileSize: 99,
                                      isTabular: true, originalFileSize: -1)
        #expect(fx.copy(file).status == .ok)
    }

    @Test func damagedSourceIsFailSourceChecksumAndTheGoodCopyStays() throws {
        let fx = try TransferFixture()
        let deposited = sampleBytes(10_000)
        var damaged = deposited
        damaged[5_000] ^= 0x10
        try fx.put(name, damaged)
        // An earlier run made a good copy.
        try fx.backup.write("10.5072/FK2/ABCDEF/\(name)", deposited)
        let o = fx.copy(.sample(storageIdentifier: "file://\(name)", checksumType: "SHA256",
                                checksumValue: Digest.hex(.sha256, of: deposited), fileSize: Int64(deposited.count)))
        #expect(o.status == .failSourceChecksum)
        #expect(o.provenChecksum == nil)
        #expect(o.detail.contains(Digest.hex(.sha256, of: damaged)))
        #expect(o.detail.contains(Digest.hex(.sha256, of: deposited)))
        #expect(fx.backedUpDigest(name) == Digest.hex(.sha256, of: deposited))
        #expect(fx.backup.allFiles() == ["10.5072/FK2/ABCDEF/\(name)"])
    }

    @Test func sizeMismatchIsFailSourceChecksum() throws {
        let fx = try TransferFixture()
        let data = sampleBytes(1_000)
        try fx.put(name, data)
        // No usable checksum, but the catalog knows the size.
        let o = fx.copy(.sample(storageIdentifier: "file://\(name)", checksumType: "MD5", checksumValue: "",
                                fileSize: 1_001))
        #expect(o.status == .failSourceChecksum)
        #expect(o.detail.contains("1000"))
        #expect(o.detail.contains("1001"))
        #expect(fx.backup.allFiles().isEmpty)
        // With a matching checksum but a wrong size, too.
        let o2 = fx.copy(.sample(storageIdentifier: "file://\(name)", checksumType: "MD5",
                                 checksumValue: Digest.hex(.md5, of: data), fileSize: 999))
        #expect(o2.status == .failSourceChecksum)
        #expect(fx.backup.allFiles().isEmpty)
    }

    @Test func missingSourceIsFailRead() throws {
        let fx = try TransferFixture()
        let o = fx.copy(.sample(storageIdentifier: "file://\(name)", checksumValue: "900150983cd24fb0d6963f7d28e17f72"))
        #expect(o.status == .failRead)
        #expect(o.detail.contains(fx.store.join("10.5072/FK2/ABCDEF/\(name)")), "\(o.detail)")
        #expect(fx.backup.allFiles().isEmpty)
    }

    @Test func sourceThatIsADirectoryIsFailRead() throws {
        let fx = try TransferFixture()
        try fx.store.mkdir("10.5072/FK2/ABCDEF/\(name)")
        let o = fx.copy(.sample(storageIdentifier: "file://\(name)", checksumValue: ""))
        #expect(o.status == .failRead)
        #expect(fx.backup.allFiles().isEmpty)
    }

    @Test func unconfiguredStoreIsFailRead() throws {
        let fx = try TransferFixture()
        try fx.put(name, [1, 2, 3])
        let o = fx.copy(.sample(storageIdentifier: "archive://\(name)", checksumValue: ""))
        #expect(o.status == .failRead)
        #expect(o.detail.contains("archive"))
        #expect(fx.backup.allFiles().isEmpty)
    }

    @Test func unconfiguredDefaultStoreIsFailReadForBareNames() throws {
        let fx = try TransferFixture(defaultStoreId: "local")
        try fx.put(name, [1, 2, 3])
        let o = fx.copy(.sample(storageIdentifier: name, checksumValue: ""))
        #expect(o.status == .failRead)
        #expect(o.detail.contains("local"))
    }

    @Test func aSwiftStoreIsFailRead() throws {
        let swift = StoreConfig(id: "swift", type: "swift", directory: nil, parameters: [:], origin: "test")
        let fx = try TransferFixture(extraStores: [swift])
        let o = fx.copy(.sample(storageIdentifier: "swift://ep:doi-10-5072:\(name)", checksumValue: ""))
        #expect(o.status == .failRead)
        #expect(o.detail.contains("of type swift"))
        #expect(fx.backup.allFiles().isEmpty)
    }

    @Test func absoluteStorageNameIsFailRead() throws {
        let fx = try TransferFixture()
        let o = fx.copy(.sample(storageIdentifier: "file:///etc/passwd", checksumValue: ""))
        #expect(o.status == .failRead)
        #expect(o.detail.contains("absolute"))
        #expect(o.bytes == 0)
        #expect(fx.backup.allFiles().isEmpty)
    }

    @Test(arguments: ["FK2/../../../etc", "..", "FK2//X", "/FK2"])
    func unsafeDatasetIdentifierIsFailRead(identifier: String) throws {
        let fx = try TransferFixture()
        let o = fx.copy(.sample(storageIdentifier: "file://passwd", identifier: identifier, checksumValue: ""))
        #expect(o.status == .failRead)
        #expect(o.detail.contains("dataset identifier"), "\(o.detail)")
        #expect(fx.backup.allFiles().isEmpty)
    }

    @Test func storageNameWithDotDotIsFailRead() throws {
        let fx = try TransferFixture()
        let o = fx.copy(.sample(storageIdentifier: "file://../../x", checksumValue: ""))
        #expect(o.status == .failRead)
        #expect(o.detail.contains("storage name"))
    }

    @Test func bitFlipOnTheWayIsFailVerifyAndNothingIsPublished() throws {
        let fx = try TransferFixture()
        let data = sampleBytes(FileStore.chunkSize + 77)
        try fx.put(name, data)
        let session = BitFlippingSession(fx.session)
        let o = fx.transfer.copy(.sample(storageIdentifier: "file://\(name)", checksumType: "MD5",
                                         checksumValue: Digest.hex(.md5, of: data), fileSize: Int64(data.count)),
                                 to: session)
        #expect(o.status == .failVerify, "\(o.detail)")
        #expect(o.provenChecksum == nil)
        let upload = try #require(session.uploads.first)
        #expect(upload.verifyFailure?.status == .failVerify)
        #expect(!upload.published)
        #expect(upload.aborted)
        #expect(!fx.backup.exists("10.5072/FK2/ABCDEF/\(name)"))
        #expect(fx.backup.allFiles().isEmpty)
    }

    @Test func bitFlipKeepsAnOlderGoodCopy() throws {
        let fx = try TransferFixture()
        let data = sampleBytes(2_000)
        try fx.put(name, data)
        try fx.backup.write("10.5072/FK2/ABCDEF/\(name)", data)
        let o = fx.transfer.copy(.sample(storageIdentifier: "file://\(name)", checksumValue: ""),
                                 to: BitFlippingSession(fx.session))
        #expect(o.status == .failVerify)
        #expect(fx.backedUpDigest(name) == Digest.hex(.sha256, of: data))
        #expect(fx.backup.allFiles() == ["10.5072/FK2/ABCDEF/\(name)"])
    }

    @Test func targetThatCannotCreateTheDirectoryIsFailWrite() throws {
        let fx = try TransferFixture()
        try fx.put(name, [1, 2, 3])
        try fx.backup.write("10.5072", text: "a file in the way")
        let o = fx.copy(.sample(storageIdentifier: "file://\(name)", checksumValue: ""))
        #expect(o.status == .failWrite)
        #expect(o.detail.contains(fx.backup.join("10.5072")))
    }

    @Test func storageDesignatingAlternativeIdentifierIsUsedForPaths() throws {
        let fx = try TransferFixture()
        let data = Array("alt".utf8)
        try fx.store.write("10.5072/FK2/ALTDIR/\(name)", data)
        var file = CatalogFile.sample(storageIdentifier: "file://\(name)", checksumType: "MD5",
                                      checksumValue: Digest.hex(.md5, of: data))
        file.storageIdentifierPath = "FK2/ALTDIR"
        let o = fx.copy(file)
        #expect(o.status == .ok, "\(o.detail)")
        #expect(fx.backup.read("10.5072/FK2/ALTDIR/\(name)") == data)
    }
}

@Suite struct SourceStoresTests {
    @Test func registryFromPublicInitFindsMixedCaseIds() {
        let local = StoreConfig(id: "Local", type: "file", directory: "/srv", parameters: [:], origin: "test")
        let registry = StoreRegistry(stores: [local], defaultStoreId: "Local")
        #expect(registry.store(for: "Local") == local)
        #expect(registry.store(for: nil) == local)
        // The lowercase spelling is found.
        let lower = StoreRegistry(stores: [StoreConfig(id: "local", type: "file", directory: "/srv", parameters: [:], origin: "t")],
                                  defaultStoreId: "LOCAL")
        #expect(lower.store(for: "LoCaL")?.directory == "/srv")
        #expect(lower.store(for: nil)?.directory == "/srv")
    }

    @Test func locateBuildsThePathBelowTheStoreDirectory() throws {
        let config = StoreConfig(id: "file", type: "file", directory: "/srv/files/", parameters: [:], origin: "t")
        let store = FileStore(config: config)
        let o = try store.locate(.sample(storageIdentifier: "file://abc"))
        #expect(o.address == "/srv/files/10.5072/FK2/ABCDEF/abc")
        #expect(o.name == "abc")
        #expect(o.storeId == "file")
        let tab = try store.locate(.sample(storageIdentifier: "abc", isTabular: true))
        #expect(tab.address == "/srv/files/10.5072/FK2/ABCDEF/abc.orig")
        #expect(tab.name == "abc")
    }
}
