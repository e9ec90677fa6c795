/// What the catalog's checksum of a file is good for, judged before its bytes are read.
public enum CatalogChecksumState: Sendable, Equatable {
    /// An algorithm dvbackup hashes and a value of the right form: the copy is proven
    /// against it.
    case usable(algorithm: ChecksumAlgorithm, hex: String)
    /// No checksum ('', 'Unknown', 'unknown', NULL, no type): Dataverse recorded none.
    case absent
    /// An algorithm dvbackup does not hash (`SHA3-256`, `CRC32`, …).
    case unsupported(type: String)
    /// An algorithm dvbackup knows with a value that cannot be one of its digests (wrong
    /// length, not hexadecimal): the catalog is wrong, not necessarily the file.
    case malformed(type: String, algorithm: ChecksumAlgorithm, value: String, problem: String)

    /// Judges `datafile.checksumtype` and `checksumvalue` as stored.
    public init(type: String?, value: String?) {
        guard let value = value?.trimmingWhitespace(), !value.isEmpty, value.lowercased() != "unknown",
              let type = type?.trimmingWhitespace(), !type.isEmpty else {
            self = .absent
            return
        }
        guard let algorithm = ChecksumAlgorithm(catalogName: type) else {
            self = .unsupported(type: type)
            return
        }
        if let bad = value.unicodeScalars.first(where: { !("0"..."9").contains($0) && !("a"..."f").contains($0) && !("A"..."F").contains($0) }) {
            self = .malformed(type: type, algorithm: algorithm, value: value,
                              problem: "not hexadecimal ('\(Self.shown(String(bad)))' is no hex digit)")
        } else if value.count != algorithm.hexLength {
            self = .malformed(type: type, algorithm: algorithm, value: value,
                              problem: "\(value.count) hex digits, \(algorithm.hexLength) expected")
        } else {
            self = .usable(algorithm: algorithm, hex: value.lowercased())
        }
    }

    /// Why the copy can only be proven against the bytes read although the catalog has a
    /// checksum; nil when it is usable or there is none.
    public var problem: String? {
        switch self {
        case .usable, .absent: nil
        case .unsupported(let type): "catalog algorithm \(Self.shown(type)) is not supported"
        case .malformed(let type, _, let value, let problem):
            "the catalog's \(Self.shown(type)) value '\(Self.shown(value, max: 16))' is malformed: \(problem)"
        }
    }

    /// `s` safe for a one-line message, cut after `max` characters.
    static func shown(_ s: String, max: Int = 40) -> String {
        let clean = String(s.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
        return clean.count > max ? String(clean.prefix(max)) + "…" : clean
    }
}
