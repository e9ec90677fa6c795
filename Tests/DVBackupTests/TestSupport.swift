import Foundation
@testable import DVBackup

/// A fresh directory under /tmp made with mkdtemp(3); `remove()` deletes it and all inside.
final class TempDirectory {
    let path: String

    init(_ label: String = "dvbackup-unit") {
        var template = Array("/tmp/\(label).XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            mkdtemp(buffer.baseAddress!) != nil
        }
        precondition(made, "mkdtemp failed: \(String(cString: strerror(errno)))")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `path/relative`
    func join(_ relative: String) -> String { path + "/" + relative }

    /// Writes `bytes` to `relative`, creating parent directories.
    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8]) throws -> String {
        let full = join(relative)
        let parent = (full as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: full, contents: Data(bytes)) else {
            throw TestSupportError("cannot create \(full)")
        }
        return full
    }

    @discardableResult
    func write(_ relative: String, text: String) throws -> String {
        try write(relative, Array(text.utf8))
    }

    func mkdir(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: join(relative), withIntermediateDirectories: true)
    }

    /// The bytes of `relative`, or nil when there is no such file.
    func read(_ relative: String) -> [UInt8]? {
        FileManager.default.contents(atPath: join(relative)).map { Array($0) }
    }

    func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: join(relative))
    }

    /// Every file name found below the directory (relative paths), sorted.
    func allFiles() -> [String] {
        guard let e = FileManager.default.enumerator(atPath: path) else { return [] }
        var out: [String] = []
        while let item = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: join(item), isDirectory: &isDir), !isDir.boolValue {
                out.append(item)
            }
        }
        return out.sorted()
    }
}

struct TestSupportError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Runs `body` with a fresh temporary directory and removes it afterwards.
func withTempDirectory<T>(_ body: (TempDirectory) throws -> T) rethrows -> T {
    let dir = TempDirectory()
    defer { dir.remove() }
    return try body(dir)
}

/// Deterministic pseudo-random bytes (so failures are reproducible).
func sampleBytes(_ count: Int, seed: UInt64 = 0x1234_5678) -> [UInt8] {
    var state = seed
    var out = [UInt8]()
    out.reserveCapacity(count)
    for _ in 0..<count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        out.append(UInt8(truncatingIfNeeded: state >> 33))
    }
    return out
}

extension CatalogFile {
    /// A regular (non-tabular) file of dataset doi:10.5072/FK2/ABCDEF.
    static func sample(id: Int64 = 42,
                       storageIdentifier: String = "file://18b39722140-50eb7d3c5ece",
                       authority: String = "10.5072",
                       identifier: String = "FK2/ABCDEF",
                       checksumType: String? = "MD5",
                       checksumValue: String? = nil,
                       fileSize: Int64? = nil,
                       ingestStatus: String? = "A",
                       isTabular: Bool = false,
                       originalFileSize: Int64? = nil) -> CatalogFile {
        CatalogFile(id: id, createdate: "2024-03-01 10:11:12.123456", datasetProtocol: "doi",
                    datasetAuthority: authority, datasetIdentifier: identifier,
                    storageAuthority: authority, storageIdentifierPath: identifier,
                    storageIdentifier: storageIdentifier, checksumType: checksumType,
                    checksumValue: checksumValue, fileSize: fileSize, ingestStatus: ingestStatus,
                    isTabular: isTabular, originalFileSize: originalFileSize)
    }
}

/// Reads everything an `OutputWriter` wrote, through a temporary file.
func captureOutput(_ body: (OutputWriter) -> Void) throws -> String {
    let dir = TempDirectory()
    defer { dir.remove() }
    let path = dir.join("out.txt")
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw TestSupportError("cannot open \(path)") }
    do {
        let out = OutputWriter(fd: fd)
        body(out)
        out.flush()
    }
    close(fd)
    guard let data = FileManager.default.contents(atPath: path) else { throw TestSupportError("cannot read \(path)") }
    return String(decoding: data, as: UTF8.self)
}
