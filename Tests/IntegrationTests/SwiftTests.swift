import DVBackup
import Foundation
import Testing

/// StorageType swift against a real one-node OpenStack Swift with tempauth.
/// Serialized: some tests time their steps (a kill, an expiring token, peak memory).
@Suite(.enabled(if: TestSwift.enabled), .serialized)
struct SwiftTests {
    /// The metadata a HEAD audit reads.
    func expectMetadata(_ r: HTTPResponse, _ f: TestFile, type: ChecksumAlgorithm, value: String,
                        sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.headers["X-Object-Meta-Dv-Checksum-Type"] == type.rawValue, sourceLocation: sourceLocation)
        #expect(r.headers["X-Object-Meta-Dv-Checksum-Value"] == value, sourceLocation: sourceLocation)
        #expect(r.headers["X-Object-Meta-Dv-Datafile-Id"] == String(f.id), sourceLocation: sourceLocation)
    }

    @Test func smallFilesAreSingleObjectsProvenByTheirETags() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 201)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/SWIFT1")
        let md5 = try s.addFile(dataset: ds, size: 5000, checksumType: .md5)
        let sha1 = try s.addFile(dataset: ds, size: 70_000, checksumType: .sha1)
        let sha256 = try s.addFile(dataset: ds, size: 1_500_000, checksumType: .sha256)
        let sha512 = try s.addFile(dataset: ds, size: 3, checksumType: .sha512)
        let empty = try s.addFile(dataset: ds, size: 0, checksumType: .md5)
        let none = try s.addFile(dataset: ds, size: 800, checksum: "")
        // Above the in-memory limit, no MD5 in the catalog: sent to a temporary object, copied
        // into place by the cluster.
        let large = try s.addFile(dataset: ds, size: 6 << 20, checksumType: .sha256)
        let tabular = try s.addFile(dataset: ds, size: 4000, tabular: true, fileSize: 14)
        let files = [md5, sha1, sha256, sha512, empty, none, large, tabular]

        let config = try s.writeSwiftConfig(authURL: authURL, container: container)
        let r = try s.dvbackup("run", "--log-level", "debug", config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("created container \(container)"))
        let rows = try s.statusRows()
        for f in files {
            #expect(try probe.get(container, f.relativePath) == f.bytes, "the object of datafile \(f.id) holds the source bytes")
            let head = try probe.head(container, f.relativePath)
            #expect(head.headers["Etag"] == Digest.hex(.md5, of: f.bytes), "a single object's ETag is the MD5 of its bytes")
            #expect(head.headers["X-Static-Large-Object"] == nil)
            #expect(rows[f.id]?.method == "swift")
            #expect(rows[f.id]?.location == probe.url(container, f.relativePath), "\(rows[f.id]?.location ?? "")")
        }
        for f in [md5, sha1, sha256, sha512, empty, large, tabular] {
            #expect(rows[f.id]?.status == "OK", "datafile \(f.id): \(rows[f.id]?.lastError ?? "")")
        }
        #expect(rows[none.id]?.status == "OK_NO_CHECKSUM")
        expectMetadata(try probe.head(container, md5.relativePath), md5, type: .md5, value: Digest.hex(.md5, of: md5.bytes))
        expectMetadata(try probe.head(container, sha512.relativePath), sha512, type: .sha512, value: Digest.hex(.sha512, of: sha512.bytes))
        expectMetadata(try probe.head(container, large.relativePath), large, type: .sha256, value: Digest.hex(.sha256, of: large.bytes))
        expectMetadata(try probe.head(container, none.relativePath), none, type: .sha256, value: Digest.hex(.sha256, of: none.bytes))
        #expect(r.stderr.contains("Swift ETag = MD5 sent"))
        #expect(try probe.list(container).sorted() == files.map(\.relativePath).sorted(), "nothing but the copies")
        #expect(try probe.list(container + "_segments").isEmpty, "the temporary copy was removed")
        // The incremental run after it copies nothing.
        let again = try s.dvbackup("run", config: config)
        #expect(again.code == 0)
        #expect(again.stdout.contains("skipped (already OK)    \(files.count)"), "\(again.stdout)")
    }

    @Test func aFileAboveTheSegmentSizeIsAStaticLargeObject() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 202)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/SLO1")
        let size = 5 * (1 << 20) + 123_457
        let big = try s.addFile(dataset: ds, size: size, checksumType: .sha256)
        let bigMD5 = try s.addFile(dataset: ds, size: 3 << 20, checksumType: .md5)
        let config = try s.writeSwiftConfig(authURL: authURL, container: container, extra: ["SwiftSegmentSize = 1MiB"])
        let r = try s.dvbackup("run", "--log-level", "debug", config: config)
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderr.contains("SLO: 6 segment ETags = MD5s sent + manifest ETag"), "\(r.stderr)")
        let rows = try s.statusRows()
        #expect(rows[big.id]?.status == "OK")
        #expect(rows[bigMD5.id]?.status == "OK")

        // What the user downloads is the catalog's bytes.
        let got = try #require(try probe.digest(container, big.relativePath, .sha256))
        #expect(got.hex == Digest.hex(.sha256, of: big.bytes))
        #expect(got.bytes == Int64(size))
        let head = try probe.head(container, big.relativePath)
        #expect(head.headers["X-Static-Large-Object"]?.lowercased() == "true")
        expectMetadata(head, big, type: .sha256, value: Digest.hex(.sha256, of: big.bytes))
        // The SLO ETag is the MD5 of the segments' MD5s, recomputed from the source.
        var md5s = ""
        for start in stride(from: 0, to: size, by: 1 << 20) {
            md5s += Digest.hex(.md5, of: Array(big.bytes[start..<min(size, start + (1 << 20))]))
        }
        #expect(head.headers["Etag"] == "\"" + Digest.hex(.md5, of: Array(md5s.utf8)) + "\"")
        let segments = try probe.manifestSegments(container, big.relativePath)
        #expect(segments.count == 6)
        #expect(segments.allSatisfy { $0.hasPrefix(container + "_segments/" + big.relativePath + "/slo/") })
        let stored = try probe.list(container + "_segments").map { container + "_segments/" + $0 }
        #expect(Set(stored) == Set(segments + (try probe.manifestSegments(container, bigMD5.relativePath))),
                "the segments container holds the manifests' segments and nothing else")
    }

    @Test func namesWithSpacesQueryAndFragmentCharactersAndUnicode() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 203)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/it's a ?#% ü dir")
        let files = [
            try s.addFile(dataset: ds, size: 3000, checksumType: .md5, storageIdentifier: "file://name with spaces?and#hash%20"),
            try s.addFile(dataset: ds, size: 2 << 20, checksumType: .sha256, storageIdentifier: "file://données+plus;semi=é 日本"),
        ]
        let r = try s.dvbackup("run", config: try s.writeSwiftConfig(authURL: authURL, container: container,
                                                                     extra: ["SwiftSegmentSize = 1MiB"]))
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        for f in files {
            #expect(try probe.get(container, f.relativePath) == f.bytes, "\(f.relativePath)")
        }
        // The listing holds the names exactly as the catalog has them.
        #expect(try probe.list(container).sorted() == files.map(\.relativePath).sorted())
        #expect(try probe.manifestSegments(container, files[1].relativePath).count == 2)
        let rows = try s.statusRows()
        #expect(rows[files[0].id]?.location == probe.url(container, files[0].relativePath))
    }

    @Test func filesOfUnknownSizeAreHeldInMemoryOrBecomeLargeObjects() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 204)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/UNKNOWN")
        // Tabular files of old Dataverse versions have no original size in the catalog.
        let small = try s.addFile(dataset: ds, size: 50_000, checksumType: .md5, tabular: true)
        let large = try s.addFile(dataset: ds, size: 5 << 20, checksumType: .md5, tabular: true)
        try s.catalog.query("UPDATE datatable SET originalfilesize = NULL")
        let r = try s.dvbackup("run", config: try s.writeSwiftConfig(authURL: authURL, container: container,
                                                                     extra: ["SwiftSegmentSize = 2MiB"]))
        #expect(r.code == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(try probe.get(container, small.relativePath) == small.bytes)
        #expect(try probe.head(container, small.relativePath).headers["X-Static-Large-Object"] == nil)
        #expect(try probe.get(container, large.relativePath) == large.bytes)
        #expect(try probe.manifestSegments(container, large.relativePath).count == 3)
        for f in [small, large] { #expect(try s.statusRows()[f.id]?.status == "OK") }
    }

    @Test func aSourceThatDiffersFromTheCatalogIsNeverStored() throws {
        let authURL = try TestSwift.requireServer()
        let s = try Sandbox(seed: 205)
        let probe = try SwiftProbe(authURL: authURL)
        let container = s.swiftContainer
        defer { probe.destroy(container) }
        let ds = try s.addDataset(authority: "10.5072", identifier: "FK2/DAMAGED")
        let wrongMD5 = String(repeating: "0", count: 32)
        let files = [
            try s.addFile(dataset: ds, size: 300_000, checksumType: .md5, checksum: wrongMD5),
            try s.addFile(dataset: ds, size: 3 << 20, checksumType: .md5, checksum: wrongMD5),
            try s.addFile(dataset: ds, size: 3 << 20, checksumType: .sha1, checksum: String(repeating: "1", count: 40)),
            try s.addFile(dataset: ds, size: 6 << 20, checksumType: .sha256, checksum: String(repeating: "2", count: 64)),
        ]
        let r = try s.dvbackup("run", config: try s.writeSwiftConfig(authURL: authURL, container: container,
                                                                     extra: ["SwiftSegmentSize = 1MiB"]))
        #expect(r.code == 1, "\(r.stdout)\n\(r.stderr)")
        let rows = try s.statusRows()
        for f in files {
            #expect(rows[f.id]?.status == "FAIL_SOURCE_CHECKSUM", "datafile \(f.id): \(rows[f.id]?.lastError ?? "")")
        }
        #expect(try probe.list(container).isEmpty, "nothing under a final name")
        #expect(try probe.list(container + "_segments").isEmpty, "no segment left")
    }
}
